import type { DeviceModel } from '../deviceModel.js';
import type { PciFunction } from '../pciFunction.js';

const PAGE_SHIFT = 12;
const PAGE = 1 << PAGE_SHIFT;
/** BARs up to this many pages get a dense page array; larger ones a Map keyed by page number. */
const DENSE_PAGES = 1 << 16;

/** One 4 KiB page of BAR memory with the views an aligned access of each size reads through. */
class Page {
  readonly u8 = new Uint8Array(PAGE);
  readonly u16 = new Uint16Array(this.u8.buffer);
  readonly u32 = new Uint32Array(this.u8.buffer);
}

/** The pages of one BAR: a dense array indexed by page number, or a Map for a huge BAR. */
type PageDir = (Page | null)[] | Map<number, Page>;

/**
 * The model behind `addEndpoint`: each memory or I/O BAR is plain device memory (sparse, zero until
 * written), so drivers and tests can see their accesses land. Reset clears it. An aligned access is
 * two array loads and one typed-array load (no Map keyed by a heap number, no byte assembly).
 */
export class GenericEndpoint implements DeviceModel {
  /** per BAR index (0-5), created on the BAR's first write */
  private dirs: (PageDir | null)[] = [null, null, null, null, null, null, null];

  private page(bar: number, index: number): Page | null | undefined {
    const d = this.dirs[bar];
    if (d === null || d === undefined) return null;
    return Array.isArray(d) ? d[index] : d.get(index);
  }

  private createPage(fn: PciFunction, bar: number, index: number): Page {
    let d = this.dirs[bar];
    if (d === null || d === undefined) {
      const pages = Math.ceil(fn.barSize(bar) / PAGE);
      d = pages > 0 && pages <= DENSE_PAGES ? new Array<Page | null>(pages).fill(null) : new Map<number, Page>();
      this.dirs[bar] = d;
    }
    const p = new Page();
    if (Array.isArray(d) && index < d.length) d[index] = p;
    else if (Array.isArray(d)) {
      // an offset past the BAR's size (a caller beyond the bus): keep it without growing the array
      const m = new Map<number, Page>();
      d.forEach((q, i) => q !== null && m.set(i, q));
      m.set(index, p);
      this.dirs[bar] = m;
    } else d.set(index, p);
    return p;
  }

  barRead(_fn: PciFunction, bar: number, offset: number, size: 1 | 2 | 4): number {
    if ((offset & (size - 1)) !== 0) return this.readBytes(bar, offset, size);
    const p = this.page(bar, Math.floor(offset / PAGE));
    if (p === null || p === undefined) return 0;
    const o = offset & (PAGE - 1);
    if (size === 4) return p.u32[o >> 2];
    if (size === 2) return p.u16[o >> 1];
    return p.u8[o];
  }

  barWrite(fn: PciFunction, bar: number, offset: number, size: 1 | 2 | 4, value: number): void {
    if ((offset & (size - 1)) !== 0) {
      for (let i = 0; i < size; i++) this.barWrite(fn, bar, offset + i, 1, (value >>> (8 * i)) & 0xff);
      return;
    }
    const index = Math.floor(offset / PAGE);
    const p = this.page(bar, index) ?? this.createPage(fn, bar, index);
    const o = offset & (PAGE - 1);
    if (size === 4) p.u32[o >> 2] = value;
    else if (size === 2) p.u16[o >> 1] = value;
    else p.u8[o] = value;
  }

  /** A misaligned access (callers other than the bus, which splits them): byte by byte, little-endian. */
  private readBytes(bar: number, offset: number, size: number): number {
    let v = 0;
    for (let i = size - 1; i >= 0; i--) {
      const p = this.page(bar, Math.floor((offset + i) / PAGE));
      v = (v << 8) | (p ? p.u8[(offset + i) & (PAGE - 1)] : 0);
    }
    return v >>> 0;
  }

  reset(): void {
    this.dirs = [null, null, null, null, null, null, null];
  }
}
