/**
 * The guest OS's allocator for DMA-able memory (rings, buffers): guest-physical ranges inside guest
 * RAM, naturally aligned. The IOMMU maps guest RAM 1:1, so a guest-physical address is the bus
 * address a device is given. Page 0 is never handed out, so 0 never names a buffer.
 */
export class DmaAllocator {
  private next: number;
  private readonly end: number;

  constructor(base: number, size: number) {
    this.next = Math.max(base, 4096);
    this.end = base + size;
  }

  /** `size` bytes aligned to `align` (a power of two, default 64); throws when guest RAM is full. */
  alloc(size: number, align = 64): number {
    if (!Number.isInteger(size) || size <= 0) throw new RangeError(`allocation of ${size} bytes`);
    if (!Number.isInteger(align) || align <= 0 || (align & (align - 1)) !== 0) throw new RangeError(`alignment ${align} is not a power of two`);
    const at = Math.ceil(this.next / align) * align;
    if (at + size > this.end) throw new RangeError(`guest RAM exhausted: ${size} bytes do not fit below 0x${this.end.toString(16)}`);
    this.next = at + size;
    return at;
  }

  /** Bytes still free (ignoring alignment). */
  get free(): number {
    return this.end - this.next;
  }
}
