/** Granularity of the device's own device-memory dirty tracking. */
export const DEVMEM_PAGE_SIZE = 4096;
export const DEVMEM_MIN_BYTES = 4096;
export const DEVMEM_MAX_BYTES = 2 ** 30;

/**
 * The DMA engine's on-board memory (exposed through BAR2) and the dirty tracker the device keeps
 * over it: while tracking is on, every write by any path (descriptors, BAR2 MMIO, the migration
 * driver's restore writes, a reset clearing it) sets the bit of each 4 KiB page it touches;
 * `takeDirtyPages` reads and clears them.
 */
export class DeviceMemory {
  readonly bytes: Uint8Array;
  readonly pages: number;
  private readonly dirty: Uint32Array;
  private tracking = false;

  constructor(readonly size: number) {
    this.bytes = new Uint8Array(size);
    this.pages = size / DEVMEM_PAGE_SIZE;
    this.dirty = new Uint32Array(Math.ceil(this.pages / 32));
  }

  /** Whether [off, off+len) lies inside device memory. */
  contains(off: number, len: number): boolean {
    return off >= 0 && len >= 0 && off + len <= this.size;
  }

  /** Records a write of [off, off+len) (already inside memory). */
  markDirty(off: number, len: number): void {
    if (!this.tracking || len <= 0) return;
    const first = Math.floor(off / DEVMEM_PAGE_SIZE);
    const last = Math.floor((off + len - 1) / DEVMEM_PAGE_SIZE);
    const d = this.dirty;
    let p = first;
    for (; p <= last && (p & 31) !== 0; p++) d[p >>> 5] |= 1 << (p & 31);
    for (; p + 31 <= last; p += 32) d[p >>> 5] = 0xffffffff;
    for (; p <= last; p++) d[p >>> 5] |= 1 << (p & 31);
  }

  write(off: number, data: Uint8Array): void {
    this.bytes.set(data, off);
    this.markDirty(off, data.length);
  }

  fill32(off: number, len: number, pattern: number): void {
    const b = this.bytes;
    for (let i = 0; i < len && i < 4; i++) b[off + i] = (pattern >>> (8 * i)) & 0xff;
    // doubling copy: the pattern repeats every 4 bytes from `off`
    for (let have = Math.min(len, 4); have < len; have *= 2) b.copyWithin(off + have, off, off + Math.min(have, len - have));
    this.markDirty(off, len);
  }

  copyWithin(dst: number, src: number, len: number): void {
    this.bytes.copyWithin(dst, src, src + len);
    this.markDirty(dst, len);
  }

  clear(): void {
    this.bytes.fill(0);
    this.markDirty(0, this.size);
  }

  // ---- dirty tracking ---------------------------------------------------------------------------

  get isTracking(): boolean {
    return this.tracking;
  }

  /** Starts tracking with every page clean. */
  startTracking(): void {
    this.dirty.fill(0);
    this.tracking = true;
  }

  stopTracking(): void {
    this.tracking = false;
    this.dirty.fill(0);
  }

  /** Pages written since tracking started or since the last `takeDirtyPages`, without clearing. */
  dirtyPageCount(): number {
    let n = 0;
    for (const w of this.dirty) {
      let x = w;
      while (x !== 0) {
        x &= x - 1;
        n++;
      }
    }
    return n;
  }

  /** Indices of the dirty pages in ascending order; clears them (read-and-clear). */
  takeDirtyPages(): number[] {
    const out: number[] = [];
    const d = this.dirty;
    for (let w = 0; w < d.length; w++) {
      let x = d[w];
      if (x === 0) continue;
      d[w] = 0;
      while (x !== 0) {
        const bit = 31 - Math.clz32(x & -x);
        out.push(w * 32 + bit);
        x &= x - 1;
      }
    }
    return out;
  }
}
