import type { PciFunction } from './pciFunction.js';
import type { Bridge } from './bridge.js';

/**
 * A physical bus segment: the functions on it by devfn, and the bridge above it (null for the root
 * bus). `number` is the bus number the topology was built with; config cycles route by the bus
 * numbers currently programmed into the bridges.
 */
export class PciBus {
  /** The functions on this bus, by devfn (device << 3 | function). */
  readonly functions = new Map<number, PciFunction>();

  constructor(
    /** The bus number the topology was built with (0 for the root bus). */
    readonly number: number,
    /** The bridge whose secondary side this bus is; null for the root bus. */
    readonly bridge: Bridge | null,
  ) {}

  /** Functions in devfn order (the order a scan meets them). */
  ordered(): PciFunction[] {
    return [...this.functions.values()].sort((a, b) => a.devfn - b.devfn);
  }
}
