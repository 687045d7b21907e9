/** Most IOVA ranges the device's write tracker takes at once (the uapi's LOG_MAX_RANGES). */
export const DMA_LOG_MAX_RANGES = 256;
/** Tracking granularities the device supports: powers of two from 4 KiB to 1 GiB. */
export const DMA_LOG_MIN_PAGE = 4096;
/** Largest dirty-tracking page size the device supports: 1 GiB. */
export const DMA_LOG_MAX_PAGE = 2 ** 30;

/** One IOVA range whose DMA writes are logged (VFIO_DEVICE_FEATURE_DMA_LOGGING_START). */
export interface DmaLogRange {
  /** First IOVA of the range. */
  iova: bigint;
  /** Length of the range in bytes. */
  length: bigint;
}

const U64_END = 1n << 64n;

/**
 * The device's record of the guest-memory pages it wrote by DMA (what VFIO DMA logging reports;
 * the hardware tracker mlx5 and pds devices keep). Started over a set of IOVA ranges at a page
 * size; writes outside the ranges are not recorded. A report returns the dirty pages inside a
 * window and clears them.
 *
 * The bitmap covers only addresses the device can reach at all (guest memory, `reach` bytes): a
 * DMA anywhere else master-aborts and writes nothing, so its pages can never be dirty.
 */
export class DmaWriteLog {
  private active = false;
  private pageShift = 12;
  private ranges: { start: number; end: number }[] = [];
  private bitmap = new Uint32Array(0);

  constructor(private readonly reach: number) {}

  get isActive(): boolean {
    return this.active;
  }

  get pageSize(): number {
    return 2 ** this.pageShift;
  }

  /**
   * Starts logging. `pageSize` must be a power of two; the device tracks at it, raised to 4 KiB or
   * lowered to 1 GiB if outside what it supports, and returns the size it chose. Ranges must be
   * non-empty, at most DMA_LOG_MAX_RANGES, each non-empty, inside the 64-bit space and not
   * overlapping. Throws RangeError for bad input and Error when logging already runs; either way
   * nothing changes.
   */
  start(ranges: readonly DmaLogRange[], pageSize: bigint): bigint {
    if (this.active) throw new Error('DMA write logging is already started');
    if (typeof pageSize !== 'bigint' || pageSize <= 0n || (pageSize & (pageSize - 1n)) !== 0n) {
      throw new RangeError(`DMA logging page size must be a power of two, got ${String(pageSize)}`);
    }
    if (!Array.isArray(ranges) || ranges.length === 0) throw new RangeError('DMA logging needs at least one range');
    if (ranges.length > DMA_LOG_MAX_RANGES) throw new RangeError(`DMA logging takes at most ${DMA_LOG_MAX_RANGES} ranges, got ${ranges.length}`);
    const sorted: { iova: bigint; end: bigint }[] = [];
    ranges.forEach((r, i) => {
      if (r === null || typeof r !== 'object' || typeof r.iova !== 'bigint' || typeof r.length !== 'bigint') {
        throw new RangeError(`DMA logging range ${i} must have bigint iova and length`);
      }
      if (r.iova < 0n || r.length <= 0n || r.iova + r.length > U64_END) {
        throw new RangeError(`DMA logging range ${i} [0x${r.iova.toString(16)}, +0x${r.length.toString(16)}) is empty or leaves the 64-bit space`);
      }
      sorted.push({ iova: r.iova, end: r.iova + r.length });
    });
    sorted.sort((a, b) => (a.iova < b.iova ? -1 : a.iova > b.iova ? 1 : 0));
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i].iova < sorted[i - 1].end) {
        throw new RangeError(`DMA logging ranges overlap at 0x${sorted[i].iova.toString(16)}`);
      }
    }
    let chosen = pageSize;
    if (chosen < BigInt(DMA_LOG_MIN_PAGE)) chosen = BigInt(DMA_LOG_MIN_PAGE);
    if (chosen > BigInt(DMA_LOG_MAX_PAGE)) chosen = BigInt(DMA_LOG_MAX_PAGE);
    const reach = BigInt(this.reach);
    this.ranges = sorted
      .filter((r) => r.iova < reach)
      .map((r) => ({ start: Number(r.iova), end: Number(r.end < reach ? r.end : reach) }));
    this.pageShift = Math.log2(Number(chosen));
    this.bitmap = new Uint32Array(Math.ceil(Math.ceil(this.reach / Number(chosen)) / 32));
    this.active = true;
    return chosen;
  }

  stop(): void {
    this.active = false;
    this.ranges = [];
    this.bitmap = new Uint32Array(0);
  }

  /** The device wrote guest memory [addr, addr+len) (inside memory). */
  record(addr: number, len: number): void {
    if (!this.active || len <= 0) return;
    const end = addr + len;
    for (const r of this.ranges) {
      const s = addr > r.start ? addr : r.start;
      const e = end < r.end ? end : r.end;
      if (s < e) this.setPages(s, e);
    }
  }

  private setPages(start: number, end: number): void {
    const sz = this.pageSize;
    const last = Math.floor((end - 1) / sz);
    const b = this.bitmap;
    for (let p = Math.floor(start / sz); p <= last; p++) b[p >>> 5] |= 1 << (p & 31);
  }

  /**
   * IOVAs of the dirty tracker pages that intersect [iova, iova+length), ascending; the bits are
   * cleared (a report reads and clears what it reports). Empty when logging is off.
   */
  report(iova: bigint, length: bigint): number[] {
    const out: number[] = [];
    if (!this.active || typeof iova !== 'bigint' || typeof length !== 'bigint' || length <= 0n || iova < 0n) return out;
    const reach = BigInt(this.reach);
    if (iova >= reach) return out;
    const endBig = iova + length < reach ? iova + length : reach;
    const sz = this.pageSize;
    const first = Math.floor(Number(iova) / sz);
    const last = Math.floor((Number(endBig) - 1) / sz);
    const b = this.bitmap;
    let p = first;
    while (p <= last) {
      const w = p >>> 5;
      if (b[w] === 0) {
        p = (w + 1) * 32;
        continue;
      }
      const bit = 1 << (p & 31);
      if (b[w] & bit) {
        b[w] &= ~bit;
        out.push(p * sz);
      }
      p++;
    }
    return out;
  }
}
