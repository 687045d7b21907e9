/** One register of a block: `size` bytes at `off`, read and (unless read-only) written whole. */
export interface RegisterField {
  name: string;
  off: number;
  size: 1 | 2 | 4;
  read(): number;
  /** absent: read-only, writes are ignored */
  write?(value: number): void;
}

/**
 * A block of little-endian registers (virtio common configuration, the legacy register layout)
 * reachable with accesses of any offset and width: an access that matches a register exactly
 * reads or writes it; a narrower one reads its bytes or merges its bytes into the current value;
 * one straddling registers touches each; bytes of no register read 0 and ignore writes.
 */
export class RegisterView {
  private readonly byByte: (RegisterField | undefined)[];

  constructor(
    readonly fields: RegisterField[],
    readonly length: number,
    /** told of every write that covers only part of a register (the register gets the merged value) */
    private readonly partialWrite: ((field: RegisterField, off: number, size: number) => void) | null = null,
  ) {
    this.byByte = new Array(length).fill(undefined);
    for (const f of fields) {
      for (let i = 0; i < f.size; i++) {
        if (f.off + i >= length || this.byByte[f.off + i]) throw new Error(`register ${f.name} overlaps another or runs past the block`);
        this.byByte[f.off + i] = f;
      }
    }
  }

  /** The register holding the whole of [off, off+size), or undefined (none, or more than one). */
  single(off: number, size: number): RegisterField | undefined {
    if (!(off >= 0 && size > 0 && off + size <= this.length)) return undefined;
    const f = this.byByte[off];
    return f !== undefined && off + size <= f.off + f.size ? f : undefined;
  }

  read(off: number, size: number): number {
    const f = off >= 0 && off < this.length ? this.byByte[off] : undefined;
    if (f !== undefined && f.off === off && f.size === size) return f.read() >>> 0;
    let v = 0;
    let cur: RegisterField | undefined;
    let curVal = 0;
    for (let i = size - 1; i >= 0; i--) {
      const at = off + i;
      const g = at >= 0 && at < this.length ? this.byByte[at] : undefined;
      let byte = 0;
      if (g !== undefined) {
        if (g !== cur) {
          cur = g;
          curVal = g.read();
        }
        byte = (curVal >>> (8 * (at - g.off))) & 0xff;
      }
      v = v * 256 + byte;
    }
    return v >>> 0;
  }

  write(off: number, size: number, value: number): void {
    const f = off >= 0 && off < this.length ? this.byByte[off] : undefined;
    if (f !== undefined && f.off === off && f.size === size) {
      f.write?.(value >>> 0);
      return;
    }
    let i = 0;
    while (i < size) {
      const at = off + i;
      const g = at >= 0 && at < this.length ? this.byByte[at] : undefined;
      if (g === undefined || g.write === undefined) {
        i++;
        continue;
      }
      let merged = g.read();
      if (this.partialWrite !== null && (at !== g.off || off + size < g.off + g.size)) this.partialWrite(g, off, size);
      while (i < size && off + i < g.off + g.size) {
        const sh = 8 * (off + i - g.off);
        const byte = Math.floor(value / 2 ** (8 * i)) & 0xff;
        merged = (merged & ~(0xff << sh)) | (byte << sh);
        i++;
      }
      g.write((merged & (g.size === 4 ? 0xffffffff : g.size === 2 ? 0xffff : 0xff)) >>> 0);
    }
  }
}
