import type { DeviceModel } from '../deviceModel.js';
import type { PciFunction } from '../pciFunction.js';

const PAGE_SHIFT = 12;
const PAGE = 1 << PAGE_SHIFT;
/** BARs up to this many pages get a dense page array; pages of larger ones (and beyond a BAR) go in a Map. */
const DENSE_PAGES = 1 << 16;
const NO_PAGES: (Page | null)[] = [];

/** One 4 KiB page of BAR memory with the views an aligned access of each size reads through. */
class Page {
  readonly u8 = new Uint8Array(PAGE);
  readonly u16 = new Uint16Array(this.u8.buffer);
  readonly u32 = new Uint32Array(this.u8.buffer);
}

/**
 * The model behind `addEndpoint`: each memory or I/O BAR is plain device memory (sparse, zero until
 * written), so drivers and tests can see their accesses land. Reset clears it. An aligned access is
 * two array loads and one typed-array load (no Map keyed by a heap number, no byte assembly).
 */
export class GenericEndpoint implements DeviceModel {
  /** per BAR index (0-6): pages by page number, sized to the BAR on its first write (empty before) */
  private dense: (Page | null)[][] = [NO_PAGES, NO_PAGES, NO_PAGES, NO_PAGES, NO_PAGES, NO_PAGES, NO_PAGES];
  /** pages the dense arrays do not cover (huge BARs, offsets past a BAR), keyed by bar * 2^32 + page number */
  private sparse: Map<number, Page> | null = null;

  private page(bar: number, offset: number): Page | null | undefined {
    const d = this.dense[bar];
    if (d !== undefined && offset >= 0 && offset < d.length * PAGE) return d[offset >>> PAGE_SHIFT];
    return this.sparse?.get(bar * 2 ** 32 + Math.floor(offset / PAGE));
  }

  private createPage(fn: PciFunction, bar: number, offset: number): Page {
    const p = new Page();
    let d = this.dense[bar];
    if (d === NO_PAGES) {
      const pages = Math.ceil(fn.barSize(bar) / PAGE);
      if (pages > 0 && pages <= DENSE_PAGES) d = this.dense[bar] = new Array<Page | null>(pages).fill(null);
    }
    if (d !== undefined && offset >= 0 && offset < d.length * PAGE) d[offset >>> PAGE_SHIFT] = p;
    else (this.sparse ??= new Map()).set(bar * 2 ** 32 + Math.floor(offset / PAGE), p);
    return p;
  }

  barRead(_fn: PciFunction, bar: number, offset: number, size: 1 | 2 | 4): number {
    if ((offset & (size - 1)) !== 0) return this.readBytes(bar, offset, size);
    const p = this.page(bar, offset);
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
    const p = this.page(bar, offset) ?? this.createPage(fn, bar, offset);
    const o = offset & (PAGE - 1);
    if (size === 4) p.u32[o >> 2] = value;
    else if (size === 2) p.u16[o >> 1] = value;
    else p.u8[o] = value;
  }

  /** A misaligned access (callers other than the bus, which splits them): byte by byte, little-endian. */
  private readBytes(bar: number, offset: number, size: number): number {
    let v = 0;
    for (let i = size - 1; i >= 0; i--) {
      const p = this.page(bar, offset + i);
      v = (v << 8) | (p ? p.u8[(offset + i) & (PAGE - 1)] : 0);
    }
    return v >>> 0;
  }

  reset(): void {
    this.dense = [NO_PAGES, NO_PAGES, NO_PAGES, NO_PAGES, NO_PAGES, NO_PAGES, NO_PAGES];
    this.sparse = null;
  }
}
