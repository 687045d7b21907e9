import { checkInt } from './spec.js';

/** Where a GuestMemory's bytes come from: a fixed array, or a function giving the current one. */
export type GuestMemorySource = Uint8Array | (() => Uint8Array);

/** What GuestMemory.wrap may be told besides where the bytes are. */
export interface GuestMemoryOptions {
  /**
   * Called with [offset, offset + length) right before pcisim writes the embedder's memory: device
   * DMA (a received frame, a used ring, a DMA engine's copy) or a store through the GuestMemory's
   * write methods (`write`, `fill`, `writeU8`...`writeU64`; whoever writes `bytes` or `view` itself
   * is storing as the CPU). An emulator that keeps translated code for its guest's pages (v86's JIT)
   * drops what it compiled there, as it does when its own devices write. No guest instruction runs
   * between the call and the write.
   */
  onWrite?: (offset: number, length: number) => void;
}

/**
 * DMA-visible memory: a host's own memory, or a guest's RAM owned by an embedder. Addresses are
 * offsets into the current byte array. `bytes` and `view` are looked up on every use: an embedder's
 * buffer may be replaced at any time (a wasm memory that grows detaches every view over the old
 * buffer), so no caller keeps them across calls.
 */
export class GuestMemory {
  private readonly source: (() => Uint8Array) | null;
  private bytes_: Uint8Array;
  private view_: DataView;
  /**
   * Offset from which the host keeps this memory for itself (HostDmaAllocator: admin queues,
   * command buffers). A device owned by a VMM never reaches it, even through a mapping that covers
   * it. Infinity when nothing is reserved.
   */
  hostReservedFrom = Infinity;
  /** The embedder's write listener (GuestMemoryOptions.onWrite), or null. */
  readonly onWrite: ((offset: number, length: number) => void) | null = null;

  /** `size` bytes of zeroed memory that pcisim owns. */
  constructor(size: number);
  constructor(size: number, source: GuestMemorySource);
  constructor(size: number, source?: GuestMemorySource) {
    if (source === undefined) {
      checkInt(size, 4096, 2 ** 32, 'memoryBytes');
      this.source = null;
      this.bytes_ = new Uint8Array(size);
    } else {
      this.source = typeof source === 'function' ? source : null;
      this.bytes_ = typeof source === 'function' ? checkSource(source()) : checkSource(source);
    }
    this.view_ = new DataView(this.bytes_.buffer, this.bytes_.byteOffset, this.bytes_.byteLength);
  }

  /**
   * Memory owned by an embedder (e.g. v86's guest RAM): `source` is the Uint8Array itself, or a
   * function returning the current one. The function form may return a different array (of any
   * length) at any time; pcisim calls it on each access and rebuilds its DataView only when the
   * array changed. Nothing is copied.
   */
  static wrap(source: GuestMemorySource, options: GuestMemoryOptions = {}): GuestMemory {
    if (!(source instanceof Uint8Array) && typeof source !== 'function') throw new TypeError('GuestMemory.wrap takes a Uint8Array or a function returning one');
    const onWrite = options?.onWrite;
    if (onWrite !== undefined && typeof onWrite !== 'function') throw new TypeError(`GuestMemory.wrap: onWrite must be a function (got ${typeof onWrite})`);
    const m = new GuestMemory(0, source);
    (m as { onWrite: GuestMemoryOptions['onWrite'] | null }).onWrite = onWrite ?? null;
    return m;
  }

  /** The current bytes (do not keep the array across calls: it may be replaced). */
  get bytes(): Uint8Array {
    const s = this.source;
    if (s === null) return this.bytes_;
    const b = s();
    if (b !== this.bytes_) this.swap(b);
    return this.bytes_;
  }

  /** A DataView over the current bytes (same lifetime rule as `bytes`). */
  get view(): DataView {
    const s = this.source;
    if (s !== null) {
      const b = s();
      if (b !== this.bytes_) this.swap(b);
    }
    return this.view_;
  }

  /** Current size in bytes. */
  get size(): number {
    return this.bytes.length;
  }

  private swap(b: Uint8Array): void {
    checkSource(b);
    this.bytes_ = b;
    this.view_ = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }

  /** Whether [addr, addr+len) lies inside memory. */
  contains(addr: number, len: number): boolean {
    return Number.isInteger(addr) && Number.isInteger(len) && addr >= 0 && len >= 0 && addr + len <= this.size;
  }

  private check(addr: number, len: number): void {
    if (!this.contains(addr, len)) {
      throw new RangeError(`guest memory access [0x${addr.toString(16)}, +${len}) is outside the ${this.size}-byte memory`);
    }
  }

  /** A copy of [addr, addr+len). */
  read(addr: number, len: number): Uint8Array {
    this.check(addr, len);
    return this.bytes.slice(addr, addr + len);
  }

  /** Copies `data` to [addr, addr+data.length); RangeError when that leaves the memory. */
  write(addr: number, data: Uint8Array): void {
    this.check(addr, data.length);
    if (data.length > 0) this.onWrite?.(addr, data.length);
    this.bytes.set(data, addr);
  }

  /** Sets [addr, addr+len) to `value`. */
  fill(addr: number, len: number, value = 0): void {
    this.check(addr, len);
    if (len > 0) this.onWrite?.(addr, len);
    this.bytes.fill(value, addr, addr + len);
  }

  /** Little-endian loads at `addr`; RangeError when the access leaves the memory. */
  readU8(addr: number): number {
    this.check(addr, 1);
    return this.bytes[addr];
  }
  /** Little-endian 16-bit load. */
  readU16(addr: number): number {
    this.check(addr, 2);
    return this.view.getUint16(addr, true);
  }
  /** Little-endian 32-bit load (unsigned). */
  readU32(addr: number): number {
    this.check(addr, 4);
    return this.view.getUint32(addr, true);
  }
  /** Little-endian 64-bit load. */
  readU64(addr: number): bigint {
    this.check(addr, 8);
    return this.view.getBigUint64(addr, true);
  }
  /** Little-endian stores at `addr`; RangeError when the access leaves the memory. */
  writeU8(addr: number, v: number): void {
    this.check(addr, 1);
    this.onWrite?.(addr, 1);
    this.bytes[addr] = v;
  }
  /** Little-endian 16-bit store. */
  writeU16(addr: number, v: number): void {
    this.check(addr, 2);
    this.onWrite?.(addr, 2);
    this.view.setUint16(addr, v, true);
  }
  /** Little-endian 32-bit store. */
  writeU32(addr: number, v: number): void {
    this.check(addr, 4);
    this.onWrite?.(addr, 4);
    this.view.setUint32(addr, v >>> 0, true);
  }
  /** Little-endian 64-bit store. */
  writeU64(addr: number, v: bigint): void {
    this.check(addr, 8);
    this.onWrite?.(addr, 8);
    this.view.setBigUint64(addr, v, true);
  }
}

function checkSource(b: unknown): Uint8Array {
  if (!(b instanceof Uint8Array)) throw new TypeError('a GuestMemory source must give a Uint8Array');
  return b;
}
