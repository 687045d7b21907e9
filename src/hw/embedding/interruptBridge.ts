import type { InterruptSink } from '../interrupts.js';
import type { PciFunction } from '../pciFunction.js';

/** An MSI or MSI-X message a function sent: a 32-bit write of `data` to the 64-bit `addressHi:address`. */
export interface MsiMessage {
  address: number;
  addressHi: number;
  data: number;
  /** the sending function and its routing ID (bus << 8 | devfn) */
  source: PciFunction;
  rid: number;
}

/**
 * A function's INTx pin changed level. `pin` is the function's own Interrupt Pin (1 = INTA# .. 4 =
 * INTD#); `rootDevice`/`rootPin` are where the pin arrives on the root bus after the standard swizzle
 * through every bridge above (what a chipset's PIRQ routing looks up: (rootDevice + rootPin - 1) & 3).
 */
export interface IntxLevel {
  source: PciFunction;
  rid: number;
  pin: number;
  rootDevice: number;
  rootPin: number;
  asserted: boolean;
}

/** What an embedder supplies to receive interrupts. */
export interface EmbedderInterruptSink {
  msi(message: MsiMessage): void;
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

  constructor(readonly sink: EmbedderInterruptSink) {
    if (sink === null || typeof sink !== 'object' || typeof sink.msi !== 'function' || typeof sink.intx !== 'function') {
      throw new TypeError('an embedder interrupt sink needs msi(message) and intx(level) functions');
    }
  }

  msi(addressLo: number, addressHi: number, data: number, source: PciFunction): void {
    this.sink.msi({ address: addressLo >>> 0, addressHi: addressHi >>> 0, data: data >>> 0, source, rid: ridOf(source) });
  }

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
