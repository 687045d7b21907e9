import type { PciFunction } from './pciFunction.js';

/**
 * What a device model supplies to its function: the behaviour behind its BARs and ROM, and hooks
 * for device-specific config registers (bytes marked EV_DEVICE) and for reset. The function serves
 * the MSI-X table and PBA itself before asking the model.
 */
export interface DeviceModel {
  /** A read of `size` bytes at `offset` in BAR `bar` (0-5) of `fn` that the function does not serve itself; returns the value. */
  barRead(fn: PciFunction, bar: number, offset: number, size: 1 | 2 | 4): number;
  /** A write of `size` bytes at `offset` in BAR `bar` (0-5) of `fn` (MSI-X table and PBA excluded). */
  barWrite(fn: PciFunction, bar: number, offset: number, size: 1 | 2 | 4, value: number): void;
  /** Expansion ROM read at `offset`; without it the function serves PciFunction.rom. */
  romRead?(fn: PciFunction, offset: number, size: 1 | 2 | 4): number;
  /** Called after a config write that touched device-specific bytes (EV_DEVICE), to apply side effects. */
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
