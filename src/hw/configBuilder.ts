import { L } from '../core/wasm.js';
import type { Core } from '../core/wasm.js';
import { PCI_CAPABILITY_LIST, PCI_STATUS, PCI_STATUS_CAP_LIST } from './pciRegs.js';

/**
 * Writes a function's power-on config space into its slot: register values, the writable and RW1C
 * masks that give hardware semantics, and the event classes of registers with side effects.
 * Capabilities are placed in the order they are added, dword aligned, from 0x40 (standard) and
 * 0x100 (extended), and chained as they are placed; later issues add capabilities (SR-IOV, virtio
 * vendor capabilities) through the same two calls.
 */
export class ConfigBuilder {
  private capTail = PCI_CAPABILITY_LIST;
  private nextCap = 0x40;
  private extTail = -1;
  private nextExt = 0x100;
  private readonly base: number;

  constructor(
    readonly core: Core,
    readonly slot: number,
  ) {
    this.base = core.mem.base(slot);
  }

  /**
   * Sets `size` bytes at `off`: value, writable bits, RW1C bits, event classes. Sizes up to 4 take
   * numbers; wider registers are set in pieces.
   */
  reg(off: number, size: 1 | 2 | 3 | 4, value: number, writable = 0, w1c = 0, events = 0): void {
    if (off < 0 || off + size > L.CFG_SIZE) throw new RangeError(`config register 0x${off.toString(16)} is outside config space`);
    const u8 = this.core.mem.u8;
    for (let i = 0; i < size; i++) {
      const sh = 8 * i;
      u8[this.base + L.CFG + off + i] = (value >>> sh) & 0xff;
      u8[this.base + L.WMASK + off + i] = (writable >>> sh) & 0xff;
      u8[this.base + L.W1C + off + i] = (w1c >>> sh) & 0xff;
      if (events) u8[this.base + L.EVMAP + off + i] |= events;
    }
  }

  /** Adds event classes to bytes without changing their value or masks. */
  events(off: number, size: number, events: number): void {
    for (let i = 0; i < size; i++) this.core.mem.u8[this.base + L.EVMAP + off + i] |= events;
  }

  read(off: number, size: 1 | 2 | 4): number {
    return this.core.raw.cfgRead(this.slot, off, size) >>> 0;
  }

  /** Reserves `length` bytes for a standard capability and links it into the list; returns its offset. */
  addCapability(id: number, length: number, what: string): number {
    const off = this.nextCap;
    if (length < 2 || off + length > 0x100) {
      throw new Error(`${what}: capability of ${length} bytes at 0x${off.toString(16)} overflows the 256-byte config header space`);
    }
    this.reg(off, 1, id);
    this.reg(off + 1, 1, 0);
    this.reg(this.capTail, 1, off);
    this.capTail = off + 1;
    this.nextCap = (off + length + 3) & ~3;
    this.reg(PCI_STATUS, 2, this.read(PCI_STATUS, 2) | PCI_STATUS_CAP_LIST, this.core.mem.u16[(this.base + L.WMASK + PCI_STATUS) >>> 1], this.core.mem.u16[(this.base + L.W1C + PCI_STATUS) >>> 1]);
    return off;
  }

  /** Reserves `length` bytes for an extended capability and links it in; returns its offset. */
  addExtCapability(id: number, version: number, length: number, what: string): number {
    const off = this.nextExt;
    if (length < 4 || off + length > L.CFG_SIZE) {
      throw new Error(`${what}: extended capability of ${length} bytes at 0x${off.toString(16)} overflows the 4096-byte config space`);
    }
    this.reg(off, 4, (id & 0xffff) | ((version & 0xf) << 16));
    if (this.extTail >= 0) {
      const h = this.read(this.extTail, 4);
      this.reg(this.extTail, 4, (h & 0xfffff) | (off << 20));
    }
    this.extTail = off;
    this.nextExt = (off + length + 3) & ~3;
    return off;
  }

  /** The current register values become the power-on image that reset restores. */
  commit(): void {
    this.core.raw.slotCommitInit(this.slot);
  }
}
