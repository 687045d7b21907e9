// struct perm_bits of vfio_pci_config.c as data: for each byte of a capability, which bits are
// virtualized (read from and written to vconfig), which bits a user write may change, and which
// vfio write handler (VEV_* class) must run after a write touching the byte.

export const NO_VIRT = 0;
export const ALL_VIRT = 0xffffffff;
export const NO_WRITE = 0;
export const ALL_WRITE = 0xffffffff;

/**
 * How the kernel reads and writes a region, before the per-byte masks apply:
 * - 'table': vfio_default_config_read/write through the virt and write bits (possibly with a
 *   capability writefn after it, given here as per-byte event classes);
 * - 'direct': vfio_direct_config_read (hardware, except a standard capability's ID/next bytes or an
 *   extended capability's header, which come from vconfig), no writefn: writes are dropped;
 * - 'directRawWrite': the same reads, and every write goes straight to hardware (vendor-specific
 *   capabilities, extended vendor-specific and DVSEC).
 */
export type PermKind = 'table' | 'direct' | 'directRawWrite';

export class PermBits {
  readonly virt: Uint8Array;
  readonly write: Uint8Array;
  readonly events: Uint8Array;

  /**
   * Zero state: all readable, nothing writable, nothing virtualized. Sizes round up to a dword, as
   * alloc_perm_bits does, so an access never runs past the table.
   */
  constructor(
    readonly name: string,
    size: number,
    readonly kind: PermKind = 'table',
  ) {
    const n = (size + 3) & ~3;
    this.virt = new Uint8Array(n);
    this.write = new Uint8Array(n);
    this.events = new Uint8Array(n);
  }

  get size(): number {
    return this.virt.length;
  }

  private set(off: number, bytes: number, virt: number, write: number): void {
    if (off < 0 || off + bytes > this.virt.length) throw new RangeError(`${this.name}: perm bits at ${off} (+${bytes}) outside ${this.virt.length} bytes`);
    for (let i = 0; i < bytes; i++) {
      this.virt[off + i] = (virt >>> (8 * i)) & 0xff;
      this.write[off + i] = (write >>> (8 * i)) & 0xff;
    }
  }

  /** p_setb / p_setw / p_setd: little-endian, as config space is. */
  setb(off: number, virt: number, write: number): this {
    this.set(off, 1, virt, write);
    return this;
  }

  setw(off: number, virt: number, write: number): this {
    this.set(off, 2, virt, write);
    return this;
  }

  setd(off: number, virt: number, write: number): this {
    this.set(off, 4, virt, write);
    return this;
  }

  /** Marks bytes whose writes run a vfio write handler (VEV_* classes). */
  on(off: number, bytes: number, events: number): this {
    for (let i = 0; i < bytes; i++) this.events[off + i] |= events;
    return this;
  }

  /** Reads the virt (or write) mask of `size` bytes at `off`, as a number (for tests and tools). */
  mask(which: 'virt' | 'write', off: number, size: 1 | 2 | 4): number {
    const a = which === 'virt' ? this.virt : this.write;
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = (v << 8) | (a[off + i] ?? 0);
    return v >>> 0;
  }
}
