import type { PciFunction } from './pciFunction.js';

/**
 * What a device model supplies to its function: the behaviour behind its BARs and ROM, and hooks
 * for device-specific config registers (bytes marked EV_DEVICE) and for reset. The function serves
 * the MSI-X table and PBA itself before asking the model.
 */
export interface DeviceModel {
  barRead(fn: PciFunction, bar: number, offset: number, size: 1 | 2 | 4): number;
  barWrite(fn: PciFunction, bar: number, offset: number, size: 1 | 2 | 4, value: number): void;
  romRead?(fn: PciFunction, offset: number, size: 1 | 2 | 4): number;
  configWritten?(fn: PciFunction, offset: number, size: 1 | 2 | 4, value: number): void;
  /** Answers config reads of the dword at PciFunction.readTrap (registers whose reads have side effects). */
  configRead?(fn: PciFunction, offset: number, size: 1 | 2 | 4): number;
  /** The function was reset (FLR, D3hot->D0, bus reset): drop internal state to power-on. */
  reset?(fn: PciFunction): void;
  /**
   * Lets the device do up to `budget` units of queued work (DMA engine: descriptors); returns the
   * units done. Devices work only when ticked, never on timers, so a VMM or test drives every
   * function in `hw.functions()` whose model has this hook.
   */
  tick?(fn: PciFunction, budget: number): number;
}
