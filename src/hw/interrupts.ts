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
  /** An MSI or MSI-X message: `source` writes `data` to the 64-bit address addressHi:addressLo. */
  msi(addressLo: number, addressHi: number, data: number, source: PciFunction): void;
  /** `source`'s INTx line changed level (after INTx Disable and MSI/MSI-X gating). */
  intx(source: PciFunction, asserted: boolean): void;
  /** `source` sent a PCIe error message (ERR_COR, ERR_NONFATAL or ERR_FATAL); optional. */
  aer?(source: PciFunction, severity: AerSeverity): void;
  /** `source` sent a power management event (PM_PME / PME#); optional. */
  pme?(source: PciFunction): void;
}

/** An interrupt sink that drops every message and level change (the default until one is set). */
export const nullSink: InterruptSink = {
  msi() {},
  intx() {},
};

/** Records every message; handy for tests and for embedding code that polls. */
export class InterruptLog implements InterruptSink {
  /** Every MSI/MSI-X message in arrival order, with the sender's BDF. */
  readonly messages: {
    /** Low 32 bits of the message address. */
    addressLo: number;
    /** High 32 bits of the message address (0 for 32-bit MSI). */
    addressHi: number;
    /** The message data written. */
    data: number;
    /** BDF of the function that sent it. */
    source: string;
  }[] = [];
  /** The current INTx level of each function that ever changed it, by BDF. */
  readonly intxLevels = new Map<string, boolean>();
  /** Every AER error message in arrival order, with the sender's BDF. */
  readonly errors: {
    /** BDF of the function that sent the error message. */
    source: string;
    /** ERR_COR, ERR_NONFATAL or ERR_FATAL. */
    severity: AerSeverity;
  }[] = [];
  /** the functions that sent a PME, in order */
  readonly pmes: string[] = [];
  /** Records the message in `messages`. */
  msi(addressLo: number, addressHi: number, data: number, source: PciFunction): void {
    this.messages.push({ addressLo, addressHi, data, source: source.bdf });
  }
  /** Records the level in `intxLevels`. */
  intx(source: PciFunction, asserted: boolean): void {
    this.intxLevels.set(source.bdf, asserted);
  }
  /** Records the error message in `errors`. */
  aer(source: PciFunction, severity: AerSeverity): void {
    this.errors.push({ source: source.bdf, severity });
  }
  /** Records the sender in `pmes`. */
  pme(source: PciFunction): void {
    this.pmes.push(source.bdf);
  }
  /** Forgets everything recorded so far (INTx levels included). */
  clear(): void {
    this.messages.length = 0;
    this.errors.length = 0;
    this.pmes.length = 0;
    this.intxLevels.clear();
  }
}
