const SIZE_MASK = [0, 0xff, 0xffff, 0, 0xffffffff];

/**
 * The config bits the VMM emulates for an assigned function, as QEMU keeps them for vfio-pci:
 * `bytes` is pdev->config for the emulated bits, `emulated` is vdev->emulated_config_bits (a set
 * bit: the guest sees the VMM's value, not the device's), `wmask` the guest-writable emulated bits
 * and `w1c` the emulated bits a guest write of 1 clears. Bits not emulated are read from the vfio
 * config region. `dwordEmulated` says per dword whether any bit is emulated, so a read of a plain
 * register goes straight to the device file.
 */
export class EmulatedConfig {
  readonly bytes: Uint8Array;
  readonly emulated: Uint8Array;
  readonly wmask: Uint8Array;
  readonly w1c: Uint8Array;
  readonly dwordEmulated: Uint8Array;
  /** per dword: 1 if every bit is emulated (a dword read never reaches the device file) */
  readonly dwordFull: Uint8Array;
  /** the bytes as dwords (little-endian, as the wasm core assumes too) */
  readonly u32: Uint32Array;

  constructor(readonly size: number) {
    this.bytes = new Uint8Array(size);
    this.emulated = new Uint8Array(size);
    this.wmask = new Uint8Array(size);
    this.w1c = new Uint8Array(size);
    this.dwordEmulated = new Uint8Array(size >> 2);
    this.dwordFull = new Uint8Array(size >> 2);
    this.u32 = new Uint32Array(this.bytes.buffer);
  }

  /**
   * Takes over `bits` of the `size`-byte register at `off` with `value` (only the emulated bits are
   * kept); `wmask` of them become guest-writable.
   */
  emulate(off: number, size: number, value: number, wmask = 0, bits = 0xffffffff, w1c = 0): void {
    for (let i = 0; i < size; i++) {
      const at = off + i;
      const m = (bits >>> (8 * i)) & 0xff;
      this.emulated[at] |= m;
      this.bytes[at] = (this.bytes[at] & ~m) | ((value >>> (8 * i)) & m);
      this.wmask[at] = (this.wmask[at] & ~m) | ((wmask >>> (8 * i)) & m);
      this.w1c[at] = (this.w1c[at] & ~m) | ((w1c >>> (8 * i)) & m);
      if (m !== 0) this.dwordEmulated[at >> 2] = 1;
      const d = at & ~3;
      this.dwordFull[at >> 2] = (this.emulated[d] & this.emulated[d + 1] & this.emulated[d + 2] & this.emulated[d + 3]) === 0xff ? 1 : 0;
    }
  }

  /** The emulated value of [off, off+size) (bits not emulated read 0). */
  read(off: number, size: number): number {
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = (v << 8) | (this.bytes[off + i] & this.emulated[off + i]);
    return v >>> 0;
  }

  /** Which bits of [off, off+size) are emulated. */
  mask(off: number, size: number): number {
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = (v << 8) | this.emulated[off + i];
    return v >>> 0;
  }

  /** The guest's view: emulated bits from here, the rest from `phys` (the device's value). */
  merge(off: number, size: number, phys: number): number {
    const m = this.mask(off, size);
    return (((phys & ~m) | (this.read(off, size) & m)) & SIZE_MASK[size]) >>> 0;
  }

  /** A guest write: writable emulated bits take the value, write-1-to-clear bits clear. */
  write(off: number, size: number, value: number): void {
    for (let i = 0; i < size; i++) {
      const at = off + i;
      const v = (value >>> (8 * i)) & 0xff;
      const w = this.wmask[at];
      const c = this.w1c[at] & v;
      this.bytes[at] = ((this.bytes[at] & ~w) | (v & w)) & ~c;
    }
  }

  /** A VMM-internal update of emulated bits, ignoring the write mask (pending bits, relocations). */
  set(off: number, size: number, value: number): void {
    for (let i = 0; i < size; i++) {
      const at = off + i;
      const m = this.emulated[at];
      this.bytes[at] = (this.bytes[at] & ~m) | ((value >>> (8 * i)) & m);
    }
  }

  /** Any emulated bit in [off, off+size)? */
  touches(off: number, size: number): boolean {
    for (let i = 0; i < size; i++) if (this.emulated[off + i] !== 0) return true;
    return false;
  }
}

/** Do [a, a+alen) and [b, b+blen) overlap? (QEMU's ranges_overlap) */
export function rangesOverlap(a: number, alen: number, b: number, blen: number): boolean {
  return a < b + blen && b < a + alen;
}
