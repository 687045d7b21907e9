import type { Eventfd } from '../host/fileTable.js';
import { VFIO } from '../host/vfio/uapi/constants.js';
import {
  PCI_MSI_ADDRESS_HI, PCI_MSI_ADDRESS_LO, PCI_MSI_DATA_32, PCI_MSI_DATA_64, PCI_MSI_FLAGS, PCI_MSI_FLAGS_64BIT, PCI_MSI_FLAGS_ENABLE,
  PCI_MSI_FLAGS_MASKBIT, PCI_MSI_FLAGS_QMASK, PCI_MSI_FLAGS_QSIZE, PCI_MSI_MASK_32, PCI_MSI_MASK_64, PCI_MSI_PENDING_32,
  PCI_MSI_PENDING_64,
} from '../hw/pciRegs.js';
import type { IrqHost } from './irqHost.js';
import { trySetIrqs } from './irqHost.js';

/** Length of an MSI capability by its Message Control: 10, 14, 20 or 24 bytes. */
export function msiCapSize(flags: number): number {
  return 10 + (flags & PCI_MSI_FLAGS_64BIT ? 4 : 0) + (flags & PCI_MSI_FLAGS_MASKBIT ? 10 : 0);
}

/**
 * The MSI capability of an assigned function, emulated in the VMM as QEMU's msi.c does for vfio-pci:
 * the guest's Message Control, address, data and per-vector mask live here; enabling becomes
 * SET_IRQS MSI with one eventfd per vector (1 << Multiple Message Enable of them), disabling a
 * SET_IRQS with count 0. A vector whose eventfd fires while the guest masks it sets its pending bit
 * here, and is sent when the guest unmasks it.
 */
export class MsiEmulation {
  readonly is64: boolean;
  readonly perVectorMask: boolean;
  /** log2 of the vectors the function can use (Multiple Message Capable) */
  readonly mmc: number;
  readonly size: number;
  readonly dataOff: number;
  readonly maskOff: number;
  readonly pendingOff: number;
  /** vectors set up on the host (0: MSI off there) */
  hostVectors = 0;
  private eventfds: Eventfd[] = [];
  /** messages sent to the guest / vectors that fired while masked */
  sent = 0;
  maskedFires = 0;

  constructor(
    private readonly host: IrqHost,
    readonly cap: number,
    flags: number,
  ) {
    this.is64 = (flags & PCI_MSI_FLAGS_64BIT) !== 0;
    this.perVectorMask = (flags & PCI_MSI_FLAGS_MASKBIT) !== 0;
    this.mmc = (flags & PCI_MSI_FLAGS_QMASK) >> 1;
    this.size = msiCapSize(flags);
    this.dataOff = cap + (this.is64 ? PCI_MSI_DATA_64 : PCI_MSI_DATA_32);
    this.maskOff = cap + (this.is64 ? PCI_MSI_MASK_64 : PCI_MSI_MASK_32);
    this.pendingOff = cap + (this.is64 ? PCI_MSI_PENDING_64 : PCI_MSI_PENDING_32);
    const emu = host.emu;
    // msi_init: Enable and Multiple Message Enable writable, the rest of Message Control read-only
    emu.emulate(cap + PCI_MSI_FLAGS, 2, flags & (PCI_MSI_FLAGS_QMASK | PCI_MSI_FLAGS_64BIT | PCI_MSI_FLAGS_MASKBIT), PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE);
    emu.emulate(cap + PCI_MSI_ADDRESS_LO, 4, 0, 0xfffffffc);
    if (this.is64) emu.emulate(cap + PCI_MSI_ADDRESS_HI, 4, 0, 0xffffffff);
    emu.emulate(this.dataOff, 2, 0, 0xffff);
    if (this.perVectorMask) {
      const vecMask = 0xffffffff >>> (32 - (1 << this.mmc));
      emu.emulate(this.maskOff, 4, 0, vecMask);
      emu.emulate(this.pendingOff, 4, 0, 0);
    }
  }

  get flags(): number {
    return this.host.emu.read(this.cap + PCI_MSI_FLAGS, 2);
  }

  get enabled(): boolean {
    return (this.flags & PCI_MSI_FLAGS_ENABLE) !== 0;
  }

  /** 1 << Multiple Message Enable: the vectors the guest enabled. */
  get vectors(): number {
    return 1 << ((this.flags & PCI_MSI_FLAGS_QSIZE) >> 4);
  }

  overlaps(off: number, size: number): boolean {
    return off < this.cap + this.size && this.cap < off + size;
  }

  /**
   * After a guest write to the capability (msi_write_config): Multiple Message Enable above Multiple
   * Message Capable is clamped; unmasked vectors that are pending are sent. Returns the enable
   * transition for the device to act on.
   */
  written(wasEnabled: boolean): 'enable' | 'disable' | 'update' {
    const h = this.host;
    const flags = this.flags;
    const mme = (flags & PCI_MSI_FLAGS_QSIZE) >> 4;
    if (mme > this.mmc) {
      h.emu.set(this.cap + PCI_MSI_FLAGS, 2, (flags & ~PCI_MSI_FLAGS_QSIZE) | (this.mmc << 4));
      h.log.once(`${h.name}:msi:mme`, `${h.name}: guest asked for ${1 << mme} MSI vectors, the function has ${1 << this.mmc}; Multiple Message Enable clamped`);
    }
    const now = this.enabled;
    if (!wasEnabled && now) return 'enable';
    if (wasEnabled && !now) return 'disable';
    if (now) this.sendUnmaskedPending();
    return 'update';
  }

  /** SET_IRQS MSI with an eventfd per enabled vector (vfio_msi_enable). */
  enableHost(): boolean {
    const h = this.host;
    const n = this.vectors;
    while (this.eventfds.length < n) {
      const v = this.eventfds.length;
      const e = h.eventfd();
      e.onSignal((ev) => {
        ev.read();
        this.fire(v);
      });
      this.eventfds.push(e);
    }
    const fds = this.eventfds.slice(0, n).map((e) => e.fd);
    if (!trySetIrqs(h, 'MSI enable', () => h.client.setIrqs(VFIO.PCI_MSI_IRQ_INDEX, VFIO.IRQ_SET_ACTION_TRIGGER, 0, { kind: 'eventfd', fds }))) return false;
    this.hostVectors = n;
    return true;
  }

  disableHost(): void {
    if (this.hostVectors === 0) return;
    const h = this.host;
    trySetIrqs(h, 'MSI disable', () => h.client.setIrqs(VFIO.PCI_MSI_IRQ_INDEX, VFIO.IRQ_SET_ACTION_TRIGGER, 0, { kind: 'none' }, 0));
    this.hostVectors = 0;
  }

  private masked(v: number): boolean {
    return this.perVectorMask && ((this.host.emu.read(this.maskOff, 4) >>> v) & 1) === 1;
  }

  /** Vector `v`'s eventfd fired (msi_notify). */
  fire(v: number): void {
    if (!this.enabled || v >= this.vectors) return;
    if (this.masked(v)) {
      this.maskedFires++;
      this.host.emu.set(this.pendingOff, 4, this.host.emu.read(this.pendingOff, 4) | (1 << v));
      return;
    }
    this.send(v);
  }

  /** msi_get_message: the guest's address, the data with the vector number in its low bits. */
  message(v: number): [number, number, number] {
    const emu = this.host.emu;
    const lo = emu.read(this.cap + PCI_MSI_ADDRESS_LO, 4);
    const hi = this.is64 ? emu.read(this.cap + PCI_MSI_ADDRESS_HI, 4) : 0;
    const n = this.vectors;
    const data = ((emu.read(this.dataOff, 2) & ~(n - 1)) | v) & 0xffff;
    return [lo, hi, data];
  }

  private send(v: number): void {
    const [lo, hi, data] = this.message(v);
    this.sent++;
    this.host.sendMsi(lo, hi, data);
  }

  private sendUnmaskedPending(): void {
    if (!this.perVectorMask) return;
    const emu = this.host.emu;
    let pending = emu.read(this.pendingOff, 4);
    for (let v = 0; v < this.vectors; v++) {
      if (((pending >>> v) & 1) === 0 || this.masked(v)) continue;
      pending &= ~(1 << v);
      emu.set(this.pendingOff, 4, pending);
      this.send(v);
    }
  }

  close(): void {
    for (const e of this.eventfds) e.close();
    this.eventfds = [];
  }
}
