import type { DeviceModel } from '../hw/deviceModel.js';
import type { Hardware } from '../hw/hardware.js';
import type { PciBus } from '../hw/pciBus.js';
import type { DecodedBar, ResetKind } from '../hw/pciFunction.js';
import { PciFunction } from '../hw/pciFunction.js';

/**
 * What serves an assigned function's config space, BARs and resets on the guest bus: the VMM's
 * vfio-pci device (vfioPciDevice.ts).
 */
export interface PassthroughBackend extends DeviceModel {
  configRead(fn: PciFunction, offset: number, size: 1 | 2 | 4): number;
  configWrite(fn: PciFunction, offset: number, size: 1 | 2 | 4, value: number): void;
  /** a device-internal register update from the bus model (Header Type's multi-function bit) */
  setRegister(offset: number, size: 1 | 2 | 4, value: number): void;
  decodedBars(io: boolean): DecodedBar[];
  reset(fn: PciFunction, kind?: ResetKind): void;
}

/**
 * A function on the guest bus whose config space is not in its wasm slot but served by the VMM
 * (QEMU's VFIOPCIDevice as a PCIDevice): config cycles, BAR accesses, the address map's view of its
 * BARs and resets (a guest bus reset) all go to the backend. The slot only holds a placeholder
 * header that nothing reads.
 */
export class PassthroughFunction extends PciFunction {
  override readonly barsToModel = true;

  constructor(
    hw: Hardware,
    bdf: string,
    bus: PciBus,
    device: number,
    fn: number,
    readonly backend: PassthroughBackend,
    slot: number,
  ) {
    super(hw, bdf, bus, device, fn, backend, slot);
  }

  override configRead(off: number, size: 1 | 2 | 4): number {
    return this.backend.configRead(this, off, size);
  }

  override configWrite(off: number, size: 1 | 2 | 4, value: number): void {
    this.backend.configWrite(this, off, size, value);
  }

  override setRegister(off: number, size: 1 | 2 | 4, value: number): void {
    this.backend.setRegister(off, size, value);
  }

  override decodedBars(io: boolean): DecodedBar[] {
    return this.alive ? this.backend.decodedBars(io) : [];
  }

  override barRead(bar: number, offset: number, size: 1 | 2 | 4): number {
    return this.backend.barRead(this, bar, offset, size) >>> 0;
  }

  override barWrite(bar: number, offset: number, size: 1 | 2 | 4, value: number): void {
    this.backend.barWrite(this, bar, offset, size, value);
  }

  override reset(kind: ResetKind): void {
    this.backend.reset(this, kind);
  }
}
