import type { VfioDeviceFile } from '../host/vfio/deviceFile.js';
import type { VfioMapping } from '../host/vfio/mapping.js';
import type { VmmLog } from './vmmLog.js';
import { MMAP_PAGE as PAGE } from '../host/vfio/mapping.js';

const ALL_ONES = [0, 0xff, 0xffff, 0, 0xffffffff];
/** the bytes an access of each size carries (the file takes at most 32-bit integers) */
const SIZE_MASK = [0, 0xff, 0xffff, 0, 0xffffffff];
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
 * Guest accesses to one BAR that are not the VMM's own (the MSI-X table and PBA are). Where region
 * info offers an mmap and the area is not a page of the MSI-X table or PBA, the VMM maps it
 * (VfioDeviceFile.mmap) and the guest's accesses are loads and stores through the mapping, straight
 * to the device, as QEMU maps such areas into the guest. Everything else, and an area the file would
 * not map, traps into the device file's region read/write, as QEMU's slow path does.
 */
export class BarRegion {
  /** the parts of the BAR served by the direct mapping */
  readonly direct: Span[];
  /** the mapping of each direct span, or null where the file did not map it (the file then serves it) */
  private readonly maps: (VfioMapping | null)[];
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
    this.maps = this.direct.map((d) => {
      if (typeof file.mmap !== 'function') return null;
      try {
        return file.mmap(desc.offset + BigInt(d.start), d.end - d.start);
      } catch (e) {
        log.once(`${name}:mmap:${d.start}`, `${name}: mmap of 0x${d.start.toString(16)}-0x${d.end.toString(16)} failed (${(e as { code?: string }).code ?? 'error'}): ${e instanceof Error ? e.message : String(e)}; accesses there go through the device file (slower)`);
        return null;
      }
    });
  }

  get size(): number {
    return this.desc.size;
  }

  /** The direct span holding [off, off+size), or -1. */
  private directSpan(off: number, size: number): number {
    const d = this.direct;
    for (let i = 0; i < d.length; i++) if (off >= d[i].start && off + size <= d[i].end) return i;
    return -1;
  }

  /** Spans the file mapped (the rest of the direct spans go through the file). */
  get mappedSpans(): Span[] {
    return this.direct.filter((_, i) => this.maps[i] !== null);
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
    const i = this.directSpan(off, size);
    if (i >= 0) {
      this.directAccesses++;
      const m = this.maps[i];
      if (m !== null) {
        try {
          return m.read(off - this.direct[i].start, size);
        } catch (e) {
          this.failed('read', e);
          return ALL_ONES[size];
        }
      }
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
    const i = this.directSpan(off, size);
    if (i >= 0) {
      this.directAccesses++;
      const m = this.maps[i];
      if (m !== null) {
        try {
          m.write(off - this.direct[i].start, size, value & SIZE_MASK[size]);
        } catch (e) {
          this.failed('write', e);
        }
        return;
      }
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

  /** munmap of every mapping (before the file is closed, as QEMU unmaps its regions). */
  close(): void {
    for (let i = 0; i < this.maps.length; i++) {
      this.maps[i]?.munmap();
      this.maps[i] = null;
    }
  }

  /**
   * A failed region access (EIO with memory decode off, a closed file; through a mapping, the
   * SIGBUS a process would take, which QEMU does not survive): logged once, contained.
   */
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
