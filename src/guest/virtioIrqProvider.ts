import { PCI_CAP_ID_MSIX, PCI_INTERRUPT_LINE, PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_QSIZE } from '../hw/pciRegs.js';
import { findCapability } from './capabilityWalk.js';
import type { EnumeratedFunction } from './enumerator.js';
import type { Guest } from './guest.js';
import type { IrqMode } from './interruptSetup.js';
import { setupInterrupts } from './interruptSetup.js';

/** An interrupt a driver holds; free() is free_irq (and pci_free_irq_vectors for MSI-X). */
export interface IrqHandle {
  free(): void;
}

/** What the PCI layer offers a virtio driver for interrupts (pci_alloc_irq_vectors + request_irq). */
export interface VirtioIrqProvider {
  /**
   * Enables MSI-X with exactly `n` vectors and requests each (the handler gets the vector index), or
   * returns null when the function has no MSI-X or fewer than `n` vectors.
   */
  allocMsix(n: number, handler: (index: number) => void): IrqHandle | null;
  /** Requests the function's INTx line (shared: the handler says whether it was ours); null without one. */
  requestIntx(handler: () => boolean): IrqHandle | null;
}

/**
 * Interrupts for a virtio driver on a guest PCI function: MSI-X through the guest's
 * pci_alloc_irq_vectors (exactly n vectors, or none), INTx through request_irq on the line firmware
 * routed. `modes` limits what the driver may use (['intx'] is a guest booted with pci=nomsi).
 */
export function guestIrqProvider(guest: Guest, f: EnumeratedFunction, modes: IrqMode[] = ['msix', 'intx']): VirtioIrqProvider {
  const rd = (reg: number, size: 1 | 2 | 4) => guest.config.read(f.bus, f.device, f.function, reg, size);
  return {
    allocMsix(n, handler) {
      if (!modes.includes('msix')) return null;
      const cap = findCapability(f.capabilities, PCI_CAP_ID_MSIX);
      if (cap === 0) return null;
      const size = (rd(cap + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_QSIZE) + 1;
      if (size < n) return null;
      const v = setupInterrupts(guest, f, ['msix'], Array.from({ length: n }, () => handler));
      return { free: () => v.free() };
    },
    requestIntx(handler) {
      if (!modes.includes('intx') || f.interruptPin === 0 || rd(PCI_INTERRUPT_LINE, 1) === 0xff) return null;
      const v = setupInterrupts(guest, f, ['intx'], [], handler);
      return { free: () => v.free() };
    },
  };
}
