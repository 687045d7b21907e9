import type { PciFunction } from './pciFunction.js';

/**
 * Where the hardware's interrupts go: the embedding code (an interrupt controller model, a VMM, a
 * test) supplies it. MSI and MSI-X arrive as memory writes of `data` to a 64-bit address given in
 * two halves so no bit is lost; INTx as level changes of the function's pin (after INTx Disable).
 */
export interface InterruptSink {
  msi(addressLo: number, addressHi: number, data: number, source: PciFunction): void;
  intx(source: PciFunction, asserted: boolean): void;
}

export const nullSink: InterruptSink = {
  msi() {},
  intx() {},
};

/** Records every message; handy for tests and for embedding code that polls. */
export class InterruptLog implements InterruptSink {
  readonly messages: { addressLo: number; addressHi: number; data: number; source: string }[] = [];
  readonly intxLevels = new Map<string, boolean>();
  msi(addressLo: number, addressHi: number, data: number, source: PciFunction): void {
    this.messages.push({ addressLo, addressHi, data, source: source.bdf });
  }
  intx(source: PciFunction, asserted: boolean): void {
    this.intxLevels.set(source.bdf, asserted);
  }
  clear(): void {
    this.messages.length = 0;
    this.intxLevels.clear();
  }
}
