import type { AerSeverity, InterruptSink } from '../hw/interrupts.js';
import type { PciFunction } from '../hw/pciFunction.js';

/** The x86 MSI address window: writes to 0xFEExxxxx are interrupt messages. */
export const MSI_ADDRESS_BASE = 0xfee00000;

export type MsiHandler = () => void;

/** The first vector handed out (x86 reserves 0-0x1f for exceptions; Linux starts devices at 0x30). */
const FIRST_VECTOR = 0x30;
export type IntxHandler = (asserted: boolean) => void;
export type AerHandler = (source: PciFunction, severity: AerSeverity) => void;
export type PmeHandler = (source: PciFunction) => void;

/**
 * The host's interrupt controller as far as PCI devices see it: it hands out message address/data
 * pairs for MSI/MSI-X vectors (like the kernel's MSI domain writing a device's table) and turns the
 * messages and INTx levels the hardware raises into handler calls. It is the hw layer's
 * InterruptSink while a host owns the hardware.
 */
export class IrqDomain implements InterruptSink {
  private readonly msiHandlers = new Map<number, MsiHandler>();
  private readonly intxHandlers = new Map<PciFunction, IntxHandler>();
  /** messages that hit no handler (spurious), for diagnostics */
  spurious = 0;
  /** where PCIe error messages go (the host's AER recovery); null drops them */
  aerHandler: AerHandler | null = null;
  /** where PME messages go (the host's PCIe PME service); null drops them */
  pmeHandler: PmeHandler | null = null;

  /**
   * The lowest `n` free consecutive vectors from FIRST_VECTOR with the base aligned to `n`. Freed
   * vectors are found again, as the kernel's vector matrix gives them out again, so the message data
   * stays small however often devices enable and disable MSI.
   */
  private findFree(n: number): number {
    for (let base = FIRST_VECTOR; ; base += n) {
      let free = true;
      for (let i = 0; i < n && free; i++) free = !this.msiHandlers.has(base + i);
      if (free) return base;
    }
  }

  /** Reserves a host vector; its message is (MSI_ADDRESS_BASE, 0, vector). */
  allocVector(handler: MsiHandler): number {
    const v = this.findFree(1);
    this.msiHandlers.set(v, handler);
    return v;
  }

  freeVector(v: number): void {
    this.msiHandlers.delete(v);
  }

  /**
   * Reserves `n` (a power of two) consecutive vectors with the base aligned to `n`, for multi-message
   * MSI: the device folds the vector number into the low bits of the data. The handler gets the
   * vector index within the block.
   */
  allocBlock(n: number, handler: (index: number) => void): number {
    const base = this.findFree(n);
    for (let i = 0; i < n; i++) this.msiHandlers.set(base + i, () => handler(i));
    return base;
  }

  freeBlock(base: number, n: number): void {
    for (let i = 0; i < n; i++) this.msiHandlers.delete(base + i);
  }

  setIntxHandler(fn: PciFunction, handler: IntxHandler | null): void {
    if (handler) this.intxHandlers.set(fn, handler);
    else this.intxHandlers.delete(fn);
  }

  msi(addressLo: number, addressHi: number, data: number): void {
    const h = addressHi === 0 && (addressLo & 0xfff00000) >>> 0 === MSI_ADDRESS_BASE ? this.msiHandlers.get(data) : undefined;
    if (h) h();
    else this.spurious++;
  }

  intx(source: PciFunction, asserted: boolean): void {
    const h = this.intxHandlers.get(source);
    if (h) h(asserted);
  }

  /** An ERR_COR/ERR_NONFATAL/ERR_FATAL message (the root port's AER interrupt is not modelled). */
  aer(source: PciFunction, severity: AerSeverity): void {
    this.aerHandler?.(source, severity);
  }

  /** A PME message (the root port's PME interrupt is not modelled). */
  pme(source: PciFunction): void {
    this.pmeHandler?.(source);
  }
}
