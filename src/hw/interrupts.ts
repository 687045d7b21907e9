import type { PciFunction } from './pciFunction.js';

/** The PCIe error message a function sends: ERR_COR, ERR_NONFATAL or ERR_FATAL. */
export type AerSeverity = 'correctable' | 'nonfatal' | 'fatal';

/**
 * Where the hardware's interrupts go: the embedding code (an interrupt controller model, a VMM, a
 * test) supplies it. MSI and MSI-X arrive as memory writes of `data` to a 64-bit address given in
 * two halves so no bit is lost; INTx as level changes of the function's pin (after INTx Disable).
 * `aer` receives the PCIe error messages (ERR_COR/ERR_NONFATAL/ERR_FATAL) a function sends upstream;
 * the root port's AER capability (Root Error Status, Error Source Identification, the root port's
 * interrupt) is not modelled: the message goes straight to the sink, tagged with its source.
 * `pme` receives a function's power management event (PCIe PM_PME message, or PME# on conventional
 * PCI) the same way: the root port's PME service registers (Root Status PME Status and Requester
 * ID, PME Interrupt Enable) are not modelled either.
 */
export interface InterruptSink {
  msi(addressLo: number, addressHi: number, data: number, source: PciFunction): void;
  intx(source: PciFunction, asserted: boolean): void;
  aer?(source: PciFunction, severity: AerSeverity): void;
  pme?(source: PciFunction): void;
}

/** An interrupt sink that drops every message and level change (the default until one is set). */
export const nullSink: InterruptSink = {
  msi() {},
  intx() {},
};

/** Records every message; handy for tests and for embedding code that polls. */
export class InterruptLog implements InterruptSink {
  readonly messages: { addressLo: number; addressHi: number; data: number; source: string }[] = [];
  readonly intxLevels = new Map<string, boolean>();
  readonly errors: { source: string; severity: AerSeverity }[] = [];
  /** the functions that sent a PME, in order */
  readonly pmes: string[] = [];
  msi(addressLo: number, addressHi: number, data: number, source: PciFunction): void {
    this.messages.push({ addressLo, addressHi, data, source: source.bdf });
  }
  intx(source: PciFunction, asserted: boolean): void {
    this.intxLevels.set(source.bdf, asserted);
  }
  aer(source: PciFunction, severity: AerSeverity): void {
    this.errors.push({ source: source.bdf, severity });
  }
  pme(source: PciFunction): void {
    this.pmes.push(source.bdf);
  }
  clear(): void {
    this.messages.length = 0;
    this.errors.length = 0;
    this.pmes.length = 0;
    this.intxLevels.clear();
  }
}
