import type { VfioDeviceFile } from '../host/vfio/deviceFile.js';
import type { VmmLog } from './vmmLog.js';

const ALL_ONES = [0, 0xff, 0xffff, 0, 0xffffffff];
/** the bytes an access of each size carries (the file takes at most 32-bit integers) */
const SIZE_MASK = [0, 0xff, 0xffff, 0, 0xffffffff];
const PAGE = 4096;
/** Offsets below this get a cached bigint file offset (registers live at the start of a BAR). */
const CACHED_BYTES = 0x10000;

/** A byte range [start, end) of a region. */
export interface Span {
  start: number;
  end: number;
}

/** What GET_REGION_INFO said about one region. */
export interface RegionDesc {
  index: number;
  size: number;
  flags: number;
  /** where the region starts in the device file */
  offset: bigint;
  /** what region info offers to mmap (the whole region, or the sparse areas); empty: nothing */
  mmap: Span[];
}

/**
 * Guest accesses to one BAR that are not the VMM's own (the MSI-X table and PBA are), sent to the
 * device file's region read/write. Where region info offers an mmap and the area is not a page of
 * the MSI-X table or PBA, QEMU maps the BAR straight into the guest; here that "direct mapping" is
 * a fast path with precomputed file offsets and no per-access checks, which still goes through the
 * device file. Everything else traps into a checked region read/write, as QEMU's slow path does.
 */
export class BarRegion {
  /** the parts of the BAR served by the direct mapping */
  readonly direct: Span[];
  /** accesses that took the direct mapping / the trapped path */
  directAccesses = 0;
  trappedAccesses = 0;
  private readonly cache: bigint[] = [];

  constructor(
    private readonly file: VfioDeviceFile,
    readonly desc: RegionDesc,
    /** the MSI-X table and PBA ranges in this BAR (the VMM's, never mapped) */
    trapped: Span[],
    private readonly log: VmmLog,
    private readonly name: string,
  ) {
    this.direct = subtractPages(desc.mmap, trapped);
  }

  get size(): number {
    return this.desc.size;
  }

  private inDirect(off: number, size: number): boolean {
    const d = this.direct;
    for (let i = 0; i < d.length; i++) if (off >= d[i].start && off + size <= d[i].end) return true;
    return false;
  }

  private fileOffset(off: number): bigint {
    if (off < CACHED_BYTES) {
      const c = this.cache[off];
      if (c !== undefined) return c;
      return (this.cache[off] = this.desc.offset + BigInt(off));
    }
    return this.desc.offset + BigInt(off);
  }

  read(off: number, size: 1 | 2 | 4): number {
    if (this.inDirect(off, size)) {
      this.directAccesses++;
    } else {
      this.trappedAccesses++;
      if (off < 0 || off + size > this.desc.size) return ALL_ONES[size];
    }
    try {
      return this.file.readValue(this.fileOffset(off), size);
    } catch (e) {
      this.failed('read', e);
      return ALL_ONES[size];
    }
  }

  write(off: number, size: 1 | 2 | 4, value: number): void {
    if (this.inDirect(off, size)) {
      this.directAccesses++;
    } else {
      this.trappedAccesses++;
      if (off < 0 || off + size > this.desc.size) return;
    }
    try {
      this.file.writeValue(this.fileOffset(off), size, value & SIZE_MASK[size]);
    } catch (e) {
      this.failed('write', e);
    }
  }

  /** A failed region access (EIO with memory decode off, a closed file): logged once, contained. */
  private failed(op: string, e: unknown): void {
    const code = (e as { code?: string }).code ?? 'error';
    this.log.once(`${this.name}:${op}:${code}`, `${this.name}: region ${op} failed (${code}): ${e instanceof Error ? e.message : String(e)}; ${op === 'read' ? 'reads return all-ones' : 'writes are dropped'}`);
  }
}

/** `areas` minus every page that holds part of a range in `trapped`. */
export function subtractPages(areas: Span[], trapped: Span[]): Span[] {
  let out = areas.map((a) => ({ ...a }));
  for (const t of trapped) {
    if (t.end <= t.start) continue;
    const s = Math.floor(t.start / PAGE) * PAGE;
    const e = Math.ceil(t.end / PAGE) * PAGE;
    const next: Span[] = [];
    for (const a of out) {
      if (e <= a.start || s >= a.end) {
        next.push(a);
        continue;
      }
      if (a.start < s) next.push({ start: a.start, end: s });
      if (e < a.end) next.push({ start: e, end: a.end });
    }
    out = next;
  }
  return out;
}
