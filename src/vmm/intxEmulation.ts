import type { Eventfd } from '../host/fileTable.js';
import { VFIO } from '../host/vfio/uapi/constants.js';
import type { IrqHost } from './irqHost.js';
import { trySetIrqs } from './irqHost.js';

/**
 * INTx of an assigned function, as QEMU wires it with a KVM irqfd and resampler: the host signals
 * the trigger eventfd when the device's line rises (vfio-pci masks the line at the device, it is
 * level triggered), the VMM asserts the guest function's pin, and it stays asserted until the
 * guest's interrupt controller reports the EOI; then the VMM lowers the pin and signals the unmask
 * eventfd, so vfio-pci unmasks and, if the device still asserts, triggers again.
 */
export class IntxEmulation {
  trigger: Eventfd | null = null;
  unmask: Eventfd | null = null;
  /** SET_IRQS INTx is set up on the host */
  active = false;
  /** the VMM holds the guest pin asserted until the EOI */
  asserted = false;
  /** triggers received / EOIs that resampled */
  triggers = 0;
  resamples = 0;
  private line = false;

  constructor(private readonly host: IrqHost) {}

  enable(): boolean {
    if (this.active) return true;
    const h = this.host;
    if (!this.trigger || this.trigger.closed) {
      this.trigger = h.eventfd();
      this.trigger.onSignal((e) => {
        e.read();
        this.fired();
      });
    }
    if (!this.unmask || this.unmask.closed) this.unmask = h.eventfd();
    const trig = this.trigger;
    const unmask = this.unmask;
    if (!trySetIrqs(h, 'INTx trigger', () => h.client.setIrqs(VFIO.PCI_INTX_IRQ_INDEX, VFIO.IRQ_SET_ACTION_TRIGGER, 0, { kind: 'eventfd', fds: [trig.fd] }))) return false;
    trySetIrqs(h, 'INTx unmask', () => h.client.setIrqs(VFIO.PCI_INTX_IRQ_INDEX, VFIO.IRQ_SET_ACTION_UNMASK, 0, { kind: 'eventfd', fds: [unmask.fd] }));
    this.active = true;
    return true;
  }

  disable(): void {
    if (this.active) {
      const h = this.host;
      trySetIrqs(h, 'INTx disable', () => h.client.setIrqs(VFIO.PCI_INTX_IRQ_INDEX, VFIO.IRQ_SET_ACTION_TRIGGER, 0, { kind: 'none' }, 0));
      this.active = false;
    }
    this.asserted = false;
    this.update();
  }

  private fired(): void {
    if (!this.active) return;
    this.triggers++;
    this.asserted = true;
    this.update();
  }

  /** The guest acknowledged the interrupt: lower the pin, let the host unmask. Returns whether it did. */
  eoi(): boolean {
    if (!this.asserted) return false;
    this.asserted = false;
    this.resamples++;
    this.update();
    this.unmask?.signal();
    return true;
  }

  /** Pin level = held by the VMM and not disabled by the guest's Command.INTx Disable. */
  update(): void {
    const level = this.asserted && !this.host.guestIntxDisabled();
    if (level === this.line) return;
    this.line = level;
    this.host.setIntxLine(level);
  }

  get level(): boolean {
    return this.line;
  }

  close(): void {
    this.trigger?.close();
    this.unmask?.close();
    this.trigger = null;
    this.unmask = null;
  }
}
