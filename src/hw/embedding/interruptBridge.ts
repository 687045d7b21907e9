import type { InterruptSink } from '../interrupts.js';
import type { PciFunction } from '../pciFunction.js';

/** An MSI or MSI-X message a function sent: a 32-bit write of `data` to the 64-bit `addressHi:address`. */
export interface MsiMessage {
  /** Message Address, low 32 bits (0xfeeXXXXX on x86: the LAPIC destination) */
  address: number;
  /** Message Upper Address (0 for a 32-bit MSI capability) */
  addressHi: number;
  /** Message Data: the vector and delivery mode on x86 */
  data: number;
  /** the sending function and its routing ID (bus << 8 | devfn) */
  source: PciFunction;
  /** routing ID of `source`: bus << 8 | devfn (the MSI requester ID) */
  rid: number;
}

/**
 * A function's INTx pin changed level. `pin` is the function's own Interrupt Pin (1 = INTA# .. 4 =
 * INTD#); `rootDevice`/`rootPin` are where the pin arrives on the root bus after the standard swizzle
 * through every bridge above (what a chipset's PIRQ routing looks up: (rootDevice + rootPin - 1) & 3).
 */
export interface IntxLevel {
  /** the function whose pin changed */
  source: PciFunction;
  /** routing ID of `source`: bus << 8 | devfn */
  rid: number;
  /** the function's Interrupt Pin register: 1 = INTA# .. 4 = INTD# */
  pin: number;
  /** the device number on the root bus the pin arrives through (the top bridge's, or its own) */
  rootDevice: number;
  /** the pin (1..4) on the root bus after the swizzle (Linux's pci_swizzle_interrupt_pin) */
  rootPin: number;
  /** true: the line is asserted; false: deasserted */
  asserted: boolean;
}

/** What an embedder supplies to receive interrupts. */
export interface EmbedderInterruptSink {
  /** A function sent an MSI or MSI-X message (the embedder's APIC, or its interrupt router). */
  msi(message: MsiMessage): void;
  /** A function's INTx line changed level (level-triggered: it stays until deasserted). */
  intx(level: IntxLevel): void;
  /**
   * Optional: the interrupt line (IRQ or GSI) an INTx arrives on, so `eoi(line)` resamples only the
   * sources on that line. Without it, every EOI resamples every asserted source.
   */
  lineOf?(level: IntxLevel): number;
}

const ridOf = (f: PciFunction) => (f.bus.number << 8) | f.devfn;

/**
 * The interrupt seam for an embedder: MSI/MSI-X messages and INTx levels out, EOI in. Install it
 * with `hw.setInterruptSink(bridge)` on a bare Hardware, or `vmm.connectInterruptController(bridge)`
 * on a VMM's guest bus. The embedder's interrupt controller calls `eoi(line)` when the guest ends a
 * level-triggered interrupt: through a VMM this is vfio's INTx unmask (KVM's resample eventfd): the
 * VMM lowers the line and unmasks the host INTx, which fires again if the device still asserts it.
 */
export class InterruptBridge implements InterruptSink {
  private eoiListener: ((source: PciFunction) => void) | null = null;
  /** asserted INTx sources and their line (-1 without lineOf) */
  private readonly asserted = new Map<PciFunction, number>();

  /** @param sink where the messages and levels go; TypeError without msi() and intx() */
  constructor(readonly sink: EmbedderInterruptSink) {
    if (sink === null || typeof sink !== 'object' || typeof sink.msi !== 'function' || typeof sink.intx !== 'function') {
      throw new TypeError('an embedder interrupt sink needs msi(message) and intx(level) functions');
    }
  }

  /** InterruptSink side: a function's MSI write, passed on as an MsiMessage. */
  msi(addressLo: number, addressHi: number, data: number, source: PciFunction): void {
    this.sink.msi({ address: addressLo >>> 0, addressHi: addressHi >>> 0, data: data >>> 0, source, rid: ridOf(source) });
  }

  /** InterruptSink side: a function's INTx level, passed on as an IntxLevel with its root route. */
  intx(source: PciFunction, asserted: boolean): void {
    const [rootDevice, rootPin] = source.intxRoute();
    const level: IntxLevel = { source, rid: ridOf(source), pin: source.interruptPin, rootDevice, rootPin, asserted };
    if (asserted) this.asserted.set(source, this.sink.lineOf?.(level) ?? -1);
    else this.asserted.delete(source);
    this.sink.intx(level);
  }

  /** Called by a VMM (connectInterruptController): who takes the guest's EOIs. */
  setEoiListener(listener: ((source: PciFunction) => void) | null): void {
    this.eoiListener = listener;
  }

  /**
   * The guest ended a level-triggered interrupt on `line` (any line when omitted, or without
   * lineOf): each asserted INTx source on it is resampled. Returns how many were.
   */
  eoi(line?: number): number {
    let n = 0;
    for (const [source, at] of [...this.asserted]) {
      if (line !== undefined && at !== -1 && at !== line) continue;
      n++;
      this.eoiListener?.(source);
    }
    return n;
  }
}
