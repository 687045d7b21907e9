import type { GuestMemory } from '../guestMemory.js';
import type { PciFunction } from '../pciFunction.js';
import type { DmaDirection, IommuDomain, IommuMapping } from './iommu.js';

/**
 * A function's bus-master view of memory: every device model reaches memory through this, never
 * through a cached array. Without an IOMMU domain (a device the host drives) an address is an
 * offset into the host's memory; with one (a device assigned to a VMM) it is an IOVA, translated
 * through the domain's mappings, and a miss is an IOMMU fault: reads fail, writes are dropped.
 *
 * Each call translates; the last mapping hit is remembered (with the domain's generation), so the
 * common case is two compares and an array access.
 */
export class DeviceDma {
  private domain_: IommuDomain | null = null;
  // translation cache: IOVA [lo, hi) is memory `mem` at iova - delta; valid while gen matches
  private lo = 0;
  private hi = 0;
  private delta = 0;
  private mem: GuestMemory;
  private gen = -1;

  /** @param fn the bus master this port belongs to (deviceDma(fn) makes it) */
  constructor(readonly fn: PciFunction) {
    this.mem = fn.hw.memory;
  }

  /** The domain DMA is translated through (null: the host's memory, untranslated). */
  get domain(): IommuDomain | null {
    return this.domain_;
  }

  /** Puts DMA behind `d` (setIommuDomain: a VMM attaching the function), or back on host memory. */
  set domain(d: IommuDomain | null) {
    this.domain_ = d;
    this.mem = this.fn.hw.memory;
    this.gen = -1;
  }

  /**
   * Where [addr, addr+len) lands in `this.mem`, or -1 (a fault is reported for a domain miss; a
   * miss of the host's memory is a master abort the caller handles).
   */
  at(addr: number, len: number, dir: DmaDirection): number {
    const d = this.domain_;
    if (d === null) {
      const m = this.mem;
      return addr >= 0 && len >= 0 && addr + len <= m.size ? addr : -1;
    }
    if (this.gen === d.generation && addr >= this.lo && addr + len <= this.hi) {
      const o = addr - this.delta;
      const m = this.mem;
      if (o + len <= m.hostReservedFrom && o + len <= m.size) return o;
    }
    return this.slow(d, addr, len, dir);
  }

  private slow(d: IommuDomain, addr: number, len: number, dir: DmaDirection): number {
    const m: IommuMapping | undefined = Number.isInteger(addr) && addr >= 0 && len >= 0 ? d.find(addr, len) : undefined;
    if (m !== undefined) {
      const o = m.offset + (addr - m.iova);
      // a mapping may outlive a shrunk embedder buffer; the host's reserved memory is never reachable
      if (o + len <= m.memory.size && o + len <= m.memory.hostReservedFrom) {
        this.mem = m.memory;
        this.lo = m.iova;
        this.hi = Math.min(m.iova + m.size, m.iova - m.offset + m.memory.size);
        this.delta = m.iova - m.offset;
        this.gen = d.generation;
        return o;
      }
    }
    d.fault({ device: this.fn.bdf, iova: addr, length: len, direction: dir });
    return -1;
  }

  /** The memory the last successful `at` translated into (use its bytes at once, do not keep them). */
  get memory(): GuestMemory {
    return this.mem;
  }

  /** Whether [addr, addr+len) is reachable now (reports a fault when it is not). */
  reach(addr: number, len: number, dir: DmaDirection): boolean {
    return this.at(addr, len, dir) >= 0;
  }

  /** Little-endian u16 DMA read; all-ones on a fault or master abort. */
  u16(addr: number): number {
    const o = this.at(addr, 2, 'read');
    return o < 0 ? 0xffff : this.mem.view.getUint16(o, true);
  }

  /** Little-endian u32 DMA read; all-ones on a fault or master abort. */
  u32(addr: number): number {
    const o = this.at(addr, 4, 'read');
    return o < 0 ? 0xffffffff : this.mem.view.getUint32(o, true);
  }

  /** Little-endian u16 DMA write; false (nothing written) on a fault or master abort. */
  setU16(addr: number, v: number): boolean {
    const o = this.at(addr, 2, 'write');
    if (o < 0) return false;
    const m = this.mem;
    if (m.onWrite !== null) m.onWrite(o, 2);
    m.view.setUint16(o, v, true);
    return true;
  }

  /** Little-endian u32 DMA write; false (nothing written) on a fault or master abort. */
  setU32(addr: number, v: number): boolean {
    const o = this.at(addr, 4, 'write');
    if (o < 0) return false;
    const m = this.mem;
    if (m.onWrite !== null) m.onWrite(o, 4);
    m.view.setUint32(o, v >>> 0, true);
    return true;
  }

  /**
   * A view of [addr, addr+len) valid until the next call into pcisim, or null (fault / abort). A
   * 'write' window is announced to the memory's write listener when it is handed out.
   */
  window(addr: number, len: number, dir: DmaDirection): Uint8Array | null {
    const o = this.at(addr, len, dir);
    if (o < 0) return null;
    const m = this.mem;
    if (dir === 'write' && m.onWrite !== null && len > 0) m.onWrite(o, len);
    return m.bytes.subarray(o, o + len);
  }

  /** Copies `len` bytes from [addr] into dst at dstOff; false (nothing copied) on a fault. */
  readInto(addr: number, dst: Uint8Array, dstOff: number, len: number): boolean {
    const o = this.at(addr, len, 'read');
    if (o < 0) return false;
    const b = this.mem.bytes;
    if (len <= 64) for (let j = 0; j < len; j++) dst[dstOff + j] = b[o + j];
    else dst.set(b.subarray(o, o + len), dstOff);
    return true;
  }

  /** Copies `len` bytes of src from srcOff to [addr]; false (nothing written) on a fault. */
  writeFrom(addr: number, src: Uint8Array, srcOff: number, len: number): boolean {
    const o = this.at(addr, len, 'write');
    if (o < 0) return false;
    const m = this.mem;
    if (m.onWrite !== null && len > 0) m.onWrite(o, len);
    const b = m.bytes;
    if (len <= 64) for (let j = 0; j < len; j++) b[o + j] = src[srcOff + j];
    else b.set(src.subarray(srcOff, srcOff + len), o);
    return true;
  }
}

const ports = new WeakMap<PciFunction, DeviceDma>();

/** The bus-master port of `fn` (one per function, made on first use). */
export function deviceDma(fn: PciFunction): DeviceDma {
  let p = ports.get(fn);
  if (p === undefined) ports.set(fn, (p = new DeviceDma(fn)));
  return p;
}

/**
 * Puts `fn`'s DMA behind `domain` (a VMM attaching an assigned device to its IOAS), or back on the
 * host's memory with null.
 */
export function setIommuDomain(fn: PciFunction, domain: IommuDomain | null): void {
  deviceDma(fn).domain = domain;
}

/** What a device model needs of its DMA port (DeviceDma, or plain memory for a bare model). */
export type DmaAccess = Pick<DeviceDma, 'reach' | 'u16' | 'u32' | 'setU16' | 'setU32' | 'window' | 'readInto' | 'writeFrom'>;

/** Untranslated access to `memory` (a device model not yet attached to a function, tests). */
export function flatDma(memory: GuestMemory): DmaAccess {
  const ok = (a: number, n: number) => a >= 0 && n >= 0 && a + n <= memory.size;
  return {
    reach: (a, n) => ok(a, n),
    u16: (a) => (ok(a, 2) ? memory.view.getUint16(a, true) : 0xffff),
    u32: (a) => (ok(a, 4) ? memory.view.getUint32(a, true) : 0xffffffff),
    setU16: (a, v) => ok(a, 2) && (memory.onWrite?.(a, 2), memory.view.setUint16(a, v, true), true),
    setU32: (a, v) => ok(a, 4) && (memory.onWrite?.(a, 4), memory.view.setUint32(a, v >>> 0, true), true),
    window: (a, n, dir) => (ok(a, n) ? (dir === 'write' && n > 0 && memory.onWrite?.(a, n), memory.bytes.subarray(a, a + n)) : null),
    readInto: (a, dst, off, n) => ok(a, n) && (dst.set(memory.bytes.subarray(a, a + n), off), true),
    writeFrom: (a, src, off, n) => ok(a, n) && (n > 0 && memory.onWrite?.(a, n), memory.bytes.set(src.subarray(off, off + n), a), true),
  };
}
