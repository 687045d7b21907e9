import { checkInt } from './spec.js';

/** DMA-visible memory of the emulated machine: what virtqueues and descriptor rings live in. */
export class GuestMemory {
  readonly bytes: Uint8Array;
  readonly view: DataView;

  constructor(readonly size: number) {
    checkInt(size, 4096, 2 ** 32, 'memoryBytes');
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
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

  read(addr: number, len: number): Uint8Array {
    this.check(addr, len);
    return this.bytes.slice(addr, addr + len);
  }

  write(addr: number, data: Uint8Array): void {
    this.check(addr, data.length);
    this.bytes.set(data, addr);
  }

  readU16(addr: number): number {
    this.check(addr, 2);
    return this.view.getUint16(addr, true);
  }
  readU32(addr: number): number {
    this.check(addr, 4);
    return this.view.getUint32(addr, true);
  }
  readU64(addr: number): bigint {
    this.check(addr, 8);
    return this.view.getBigUint64(addr, true);
  }
  writeU16(addr: number, v: number): void {
    this.check(addr, 2);
    this.view.setUint16(addr, v, true);
  }
  writeU32(addr: number, v: number): void {
    this.check(addr, 4);
    this.view.setUint32(addr, v >>> 0, true);
  }
  writeU64(addr: number, v: bigint): void {
    this.check(addr, 8);
    this.view.setBigUint64(addr, v, true);
  }
}
