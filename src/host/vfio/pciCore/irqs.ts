import { L } from '../../../core/wasm.js';
import { Eventfd } from '../../fileTable.js';
import { MSI_ADDRESS_BASE } from '../../irqDomain.js';
import { VFIO } from '../uapi/constants.js';
import { VfioError } from '../vfioError.js';
import type { VfioPciCoreDevice } from './vfioPciCoreDevice.js';
import { virqfdEnable } from './virqfd.js';
import {
  PCI_COMMAND, PCI_COMMAND_INTX_DISABLE, PCI_MSI_ADDRESS_HI, PCI_MSI_ADDRESS_LO, PCI_MSI_DATA_32, PCI_MSI_DATA_64, PCI_MSI_FLAGS,
  PCI_MSI_FLAGS_64BIT, PCI_MSI_FLAGS_ENABLE, PCI_MSIX_ENTRY_SIZE, PCI_MSIX_ENTRY_VECTOR_CTRL, PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE,
  PCI_MSIX_FLAGS_MASKALL, PCI_STATUS, PCI_STATUS_INTERRUPT,
} from '../../../hw/pciRegs.js';

// Interrupts of a vfio-pci-core device (vfio_pci_intrs.c): INTx with automasking, MSI and MSI-X
// vectors wired to eventfds, ERR and REQ triggers. The host programs the hardware's MSI/MSI-X
// registers with messages from its interrupt domain, as the kernel's MSI code does.

export type IrqType = 'none' | 'intx' | 'msi' | 'msix';

const INDEX_TYPE: Record<number, IrqType> = {
  [VFIO.PCI_INTX_IRQ_INDEX]: 'intx',
  [VFIO.PCI_MSI_IRQ_INDEX]: 'msi',
  [VFIO.PCI_MSIX_IRQ_INDEX]: 'msix',
};

/** struct vfio_pci_irq_ctx: one vector's eventfd and host vector. */
export interface IrqCtx {
  trigger: Eventfd | null;
  hostVector: number;
  /** INTx: masked by the automask or by the user */
  masked: boolean;
}

export class VfioPciIrqs {
  type: IrqType = 'none';
  ctx = new Map<number, IrqCtx>();
  /** MSI: the power-of-two vector count enabled (msi_qmax is log2 of it) */
  msiQmax = 0;
  /** MSI: vectors allocated at enable (the descriptor's nvec_used); no more can be added */
  msiNvec = 0;
  /** INTx Disable as the user sees it in vconfig (virq_disabled) */
  virqDisabled = false;
  /** eventfd that unmasks INTx when signalled (an irqfd resampler) */
  intxUnmaskFd: Eventfd | null = null;
  private intxUnmaskOff: (() => void) | null = null;
  errTrigger: Eventfd | null = null;
  reqTrigger: Eventfd | null = null;

  constructor(private readonly vdev: VfioPciCoreDevice) {}

  get fn() {
    return this.vdev.fn;
  }

  count(index: number): number {
    const fn = this.fn;
    switch (index) {
      case VFIO.PCI_INTX_IRQ_INDEX:
        return this.vdev.nointx || this.vdev.pdev.isVirtfn ? 0 : fn.interruptPin ? 1 : 0;
      case VFIO.PCI_MSI_IRQ_INDEX: {
        const cap = fn.capOffset(L.M_MSI_CAP);
        return cap ? 1 << ((fn.configRead(cap + PCI_MSI_FLAGS, 2) >> 1) & 7) : 0;
      }
      case VFIO.PCI_MSIX_IRQ_INDEX: {
        const cap = fn.capOffset(L.M_MSIX_CAP);
        return cap ? (fn.configRead(cap + PCI_MSIX_FLAGS, 2) & 0x7ff) + 1 : 0;
      }
      case VFIO.PCI_ERR_IRQ_INDEX:
        return fn.capOffset(L.M_PCIE_CAP) ? 1 : 0;
      case VFIO.PCI_REQ_IRQ_INDEX:
        return 1;
      default:
        return 0;
    }
  }

  /** eventfd_ctx_fdget: EBADF when nothing is open at `fd`, EINVAL when the file is no eventfd. */
  private eventfd(fd: number): Eventfd {
    const f = this.vdev.files.get(fd);
    if (!f) throw new VfioError('EBADF', `fd ${fd} is not open`);
    if (!(f instanceof Eventfd)) throw new VfioError('EINVAL', `fd ${fd} is not an eventfd`);
    return f;
  }

  // ---- SET_IRQS dispatch (vfio_pci_set_irqs_ioctl) ----------------------------------------

  setIrqs(flags: number, index: number, start: number, count: number, data: number[] | null): void {
    const action = flags & VFIO.IRQ_SET_ACTION_TYPE_MASK;
    const dataType = flags & VFIO.IRQ_SET_DATA_TYPE_MASK;
    // each index/action pair that has a handler returns from its branch; the rest is ENOTTY (no
    // closures here: this is the SET_IRQS trigger round trip's hot path)
    switch (index) {
      case VFIO.PCI_INTX_IRQ_INDEX:
        if (action === VFIO.IRQ_SET_ACTION_MASK) return this.setIntxMask(dataType, start, count, data);
        if (action === VFIO.IRQ_SET_ACTION_UNMASK) return this.setIntxUnmask(dataType, start, count, data);
        if (action === VFIO.IRQ_SET_ACTION_TRIGGER) return this.setIntxTrigger(dataType, start, count, data);
        break;
      case VFIO.PCI_MSI_IRQ_INDEX:
      case VFIO.PCI_MSIX_IRQ_INDEX:
        // masking of MSI/MSI-X vectors is not exported by vfio-pci (the kernel's "XXX")
        if (action === VFIO.IRQ_SET_ACTION_TRIGGER) return this.setMsiTrigger(index, dataType, start, count, data);
        break;
      case VFIO.PCI_ERR_IRQ_INDEX:
        if (action === VFIO.IRQ_SET_ACTION_TRIGGER && this.fn.capOffset(L.M_PCIE_CAP)) {
          if (start !== 0 || count > 1) throw new VfioError('EINVAL', 'ERR irq takes start 0 and at most one vector');
          this.errTrigger = this.setSingleTrigger(this.errTrigger, dataType, count, data);
          return;
        }
        break;
      case VFIO.PCI_REQ_IRQ_INDEX:
        if (action === VFIO.IRQ_SET_ACTION_TRIGGER) {
          if (start !== 0 || count > 1) throw new VfioError('EINVAL', 'REQ irq takes start 0 and at most one vector');
          this.reqTrigger = this.setSingleTrigger(this.reqTrigger, dataType, count, data);
          return;
        }
        break;
    }
    throw new VfioError('ENOTTY', `SET_IRQS action 0x${action.toString(16)} is not supported on irq index ${index}`);
  }

  /** vfio_pci_set_ctx_trigger_single: ERR and REQ. */
  private setSingleTrigger(cur: Eventfd | null, dataType: number, count: number, data: number[] | null): Eventfd | null {
    if (dataType === VFIO.IRQ_SET_DATA_NONE) {
      if (cur) {
        if (count) cur.signal();
        else return null;
        return cur;
      }
    } else if (dataType === VFIO.IRQ_SET_DATA_BOOL) {
      if (!count) throw new VfioError('EINVAL', 'DATA_BOOL needs count 1');
      if (data![0] && cur) cur.signal();
      return cur;
    } else if (dataType === VFIO.IRQ_SET_DATA_EVENTFD) {
      if (!count) throw new VfioError('EINVAL', 'DATA_EVENTFD needs count 1');
      const fd = data![0];
      if (fd === -1) return null;
      if (fd >= 0) return this.eventfd(fd);
      return cur;
    }
    throw new VfioError('EINVAL', 'no trigger to signal');
  }

  // ---- INTx --------------------------------------------------------------------------------

  private requireIntx(start: number, count: number): void {
    if (this.type !== 'intx' || start !== 0 || count !== 1) throw new VfioError('EINVAL', 'INTx mask/unmask needs INTx enabled, start 0, count 1');
  }

  private setIntxMask(dataType: number, start: number, count: number, data: number[] | null): void {
    this.requireIntx(start, count);
    if (dataType === VFIO.IRQ_SET_DATA_NONE) this.intxMask();
    else if (dataType === VFIO.IRQ_SET_DATA_BOOL) {
      if (data![0]) this.intxMask();
    } else throw new VfioError('ENOTTY', 'INTx mask by eventfd is not implemented (as in Linux)');
  }

  private setIntxUnmask(dataType: number, start: number, count: number, data: number[] | null): void {
    this.requireIntx(start, count);
    if (dataType === VFIO.IRQ_SET_DATA_NONE) this.intxUnmask();
    else if (dataType === VFIO.IRQ_SET_DATA_BOOL) {
      if (data![0]) this.intxUnmask();
    } else {
      const fd = data![0];
      if (fd >= 0) {
        // vfio_virqfd_enable: the fd is checked first, then one irqfd at a time (a closed one is gone)
        const efd = this.eventfd(fd);
        if (this.intxUnmaskFd && !this.intxUnmaskFd.closed) throw new VfioError('EBUSY', 'an INTx unmask eventfd is already installed');
        this.intxUnmaskOff?.();
        this.intxUnmaskFd = efd;
        this.intxUnmaskOff = virqfdEnable(efd, () => this.intxUnmask());
      } else {
        this.intxUnmaskOff?.();
        this.intxUnmaskOff = null;
        this.intxUnmaskFd = null;
      }
    }
  }

  private setIntxTrigger(dataType: number, start: number, count: number, data: number[] | null): void {
    if (this.type === 'intx' && count === 0 && dataType === VFIO.IRQ_SET_DATA_NONE) {
      this.intxDisable();
      return;
    }
    if (!(this.type === 'intx' || this.type === 'none') || start !== 0 || count !== 1) {
      throw new VfioError('EINVAL', 'INTx trigger needs start 0, count 1, and no MSI/MSI-X enabled');
    }
    if (dataType === VFIO.IRQ_SET_DATA_EVENTFD) {
      const fd = data![0];
      const efd = fd >= 0 ? this.eventfd(fd) : null;
      if (this.type !== 'intx') this.intxEnable();
      this.ctx.get(0)!.trigger = efd;
      return;
    }
    if (this.type !== 'intx') throw new VfioError('EINVAL', 'INTx is not enabled');
    // vfio_send_intx_eventfd: nothing while the user has INTx disabled
    if (dataType === VFIO.IRQ_SET_DATA_NONE || (dataType === VFIO.IRQ_SET_DATA_BOOL && data![0])) this.sendIntxEventfd();
  }

  /** vfio_send_intx_eventfd */
  private sendIntxEventfd(): void {
    if (this.type === 'intx' && !this.virqDisabled) this.ctx.get(0)?.trigger?.signal();
  }

  private intxEnable(): void {
    if (this.count(VFIO.PCI_INTX_IRQ_INDEX) === 0) throw new VfioError('ENODEV', 'device has no INTx pin');
    this.type = 'intx';
    // the user-visible INTx Disable decides the initial mask
    this.ctx.set(0, { trigger: null, hostVector: -1, masked: this.virqDisabled });
    this.vdev.vfio.irqs.setIntxHandler(this.fn, (asserted) => this.intxHandler(asserted));
    this.setHwIntxDisable(this.virqDisabled);
    if (!this.virqDisabled && this.fn.intxAsserted) this.intxHandler(true);
  }

  intxDisable(): void {
    this.vdev.vfio.irqs.setIntxHandler(this.fn, null);
    this.intxUnmaskOff?.();
    this.intxUnmaskOff = null;
    this.intxUnmaskFd = null;
    this.ctx.delete(0);
    this.type = 'none';
    this.setHwIntxDisable(true);
  }

  /** vfio_intx_handler: the line rose; mask it at the device (PCI 2.3 INTx Disable) and signal. */
  private intxHandler(asserted: boolean): void {
    const c = this.ctx.get(0);
    if (!asserted || !c || c.masked) return;
    c.masked = true;
    this.setHwIntxDisable(true);
    this.sendIntxEventfd();
  }

  /** vfio_pci_intx_mask */
  intxMask(): void {
    const c = this.ctx.get(0);
    if (this.type !== 'intx' || !c) {
      // masking from config space (INTx Disable) when INTx is not in use: the physical bit follows
      // (pci_2_3 devices; a nointx device keeps it set)
      if (!this.vdev.nointx) this.setHwIntxDisable(true);
      return;
    }
    if (!c.masked) {
      c.masked = true;
      this.setHwIntxDisable(true);
    }
  }

  /** vfio_pci_intx_unmask: unmask unless the user disabled INTx; a still-pending line fires again. */
  intxUnmask(): void {
    const c = this.ctx.get(0);
    if (this.type !== 'intx' || !c) {
      if (!this.vdev.nointx) this.setHwIntxDisable(false);
      return;
    }
    if (!c.masked || this.virqDisabled) return;
    c.masked = false;
    this.setHwIntxDisable(false);
    const st = this.fn.configRead(PCI_STATUS, 2);
    if (st & PCI_STATUS_INTERRUPT) this.intxHandler(true);
  }

  /** Called by the config virtualization when the user toggles INTx Disable. */
  setVirqDisabled(disabled: boolean): void {
    if (disabled === this.virqDisabled) return;
    this.virqDisabled = disabled;
    if (disabled) this.intxMask();
    else this.intxUnmask();
  }

  private setHwIntxDisable(disable: boolean): void {
    const cmd = this.fn.configRead(PCI_COMMAND, 2);
    const next = disable ? cmd | PCI_COMMAND_INTX_DISABLE : cmd & ~PCI_COMMAND_INTX_DISABLE;
    if (next !== cmd) this.vdev.hwConfigWrite(PCI_COMMAND, 2, next);
  }

  // ---- MSI / MSI-X -------------------------------------------------------------------------

  private setMsiTrigger(index: number, dataType: number, start: number, count: number, data: number[] | null): void {
    const type = INDEX_TYPE[index];
    if (this.type === type && count === 0 && dataType === VFIO.IRQ_SET_DATA_NONE) {
      this.msiDisable();
      return;
    }
    if (!(this.type === type || this.type === 'none')) throw new VfioError('EINVAL', `another interrupt type (${this.type}) is enabled`);
    if (dataType === VFIO.IRQ_SET_DATA_EVENTFD) {
      const fds = data!;
      const enabling = this.type !== type;
      // pci_alloc_irq_vectors(pdev, 1, start + count): no vectors at all is -ERANGE
      if (enabling && start + count < 1) throw new VfioError('ERANGE', `cannot enable ${type} with 0 vectors`);
      if (enabling) this.msiEnable(type, start + count);
      this.msiSetBlock(start, fds, enabling);
      return;
    }
    if (this.type !== type) throw new VfioError('EINVAL', `${type} is not enabled`);
    for (let i = start; i < start + count; i++) {
      const c = this.ctx.get(i);
      if (!c) continue;
      if (dataType === VFIO.IRQ_SET_DATA_NONE || data![i - start]) c.trigger?.signal();
    }
  }

  /**
   * vfio_msi_set_block on an enabled MSI/MSI-X: vector by vector in order; the first failure (an fd
   * that is no eventfd, an MSI vector past the allocated block) stops it and every vector from
   * `start` through the failing one is left without a trigger, as the kernel unwinds. A call that
   * enabled the interrupt type disables it again (vfio_pci_set_msi_trigger).
   */
  private msiSetBlock(start: number, fds: number[], enabling: boolean): void {
    // Linux 6.1: a block outside the vectors enabled (num_ctx) is refused before any change; only
    // dynamic MSI-X (6.5+) may reach past them
    if ((this.type === 'msi' || !this.vdev.hasDynMsix) && (start >= this.msiNvec || start + fds.length > this.msiNvec)) {
      throw new VfioError('EINVAL', `vectors [${start}, ${start + fds.length}) are outside the ${this.msiNvec} enabled`);
    }
    let v = start;
    try {
      for (let i = 0; i < fds.length; i++, v++) this.setVectorSignal(v, fds[i]);
    } catch (e) {
      for (let k = start; k <= v && k < start + fds.length; k++) this.setVector(k, null);
      if (enabling) this.msiDisable();
      throw e;
    }
  }

  /** vfio_msi_set_vector_signal: the vector's old trigger goes first; fd < 0 leaves it without one. */
  private setVectorSignal(vector: number, fd: number): void {
    this.setVector(vector, null);
    if (fd < 0) return;
    // pci_irq_vector: an MSI block cannot grow past the vectors enabled with it, nor can MSI-X
    // without dynamic allocation (Linux 6.1 has none: vfio_msi_set_block's num_ctx check)
    if ((this.type === 'msi' || !this.vdev.hasDynMsix) && vector >= this.msiNvec) {
      throw new VfioError('EINVAL', `${this.type === 'msi' ? 'MSI' : 'MSI-X'} vector ${vector} was not allocated (${this.msiNvec} enabled)`);
    }
    this.setVector(vector, this.eventfd(fd));
  }

  private msiEnable(type: IrqType, nvec: number): void {
    const fn = this.fn;
    this.type = type;
    if (type === 'msi') {
      const cap = fn.capOffset(L.M_MSI_CAP);
      // the kernel allocates a power of two and records msi_qmax = log2
      const qmax = Math.ceil(Math.log2(Math.max(1, nvec)));
      this.msiQmax = qmax;
      // vdev->msi_qmax: clamps the user's Multiple Message Enable from now on (vconfig unchanged)
      this.vdev.config?.setMsiQmax(qmax);
      this.msiNvec = nvec;
      const flags = fn.configRead(cap + PCI_MSI_FLAGS, 2);
      const is64 = (flags & PCI_MSI_FLAGS_64BIT) !== 0;
      // one block of 2^qmax host vectors with consecutive data values, base aligned to the block
      const base = this.vdev.vfio.irqs.allocBlock(1 << qmax, (v) => this.msiFired(v));
      this.hwMsiBase = base;
      this.vdev.hwConfigWrite(cap + PCI_MSI_ADDRESS_LO, 4, MSI_ADDRESS_BASE);
      if (is64) this.vdev.hwConfigWrite(cap + PCI_MSI_ADDRESS_HI, 4, 0);
      this.vdev.hwConfigWrite(cap + (is64 ? PCI_MSI_DATA_64 : PCI_MSI_DATA_32), 2, base);
      this.vdev.hwConfigWrite(cap + PCI_MSI_FLAGS, 2, (flags & ~0x70) | (qmax << 4) | PCI_MSI_FLAGS_ENABLE);
    } else {
      this.msiNvec = nvec;
      const cap = fn.capOffset(L.M_MSIX_CAP);
      const flags = fn.configRead(cap + PCI_MSIX_FLAGS, 2);
      this.vdev.hwConfigWrite(cap + PCI_MSIX_FLAGS, 2, flags | PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
      this.vdev.hwConfigWrite(cap + PCI_MSIX_FLAGS, 2, (flags | PCI_MSIX_FLAGS_ENABLE) & ~PCI_MSIX_FLAGS_MASKALL);
    }
    // INTx is not used while MSI/MSI-X is on
    this.setHwIntxDisable(true);
  }

  private hwMsiBase = -1;

  private msiFired(vector: number): void {
    this.ctx.get(vector)?.trigger?.signal();
  }

  /** Attaches (or with null detaches) the eventfd of one vector, programming the hardware entry. */
  private setVector(vector: number, efd: Eventfd | null): void {
    let c = this.ctx.get(vector);
    if (this.type === 'msi') {
      if (efd === null) {
        this.ctx.delete(vector);
        return;
      }
      if (!c) this.ctx.set(vector, (c = { trigger: null, hostVector: this.hwMsiBase + vector, masked: false }));
      c.trigger = efd;
      return;
    }
    const fn = this.fn;
    const m = fn.msix!;
    const entry = m.tableOffset + vector * PCI_MSIX_ENTRY_SIZE;
    if (efd === null) {
      if (c) {
        this.vdev.hwBarWrite(m.tableBar, entry + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, 1);
        this.vdev.vfio.irqs.freeVector(c.hostVector);
        this.ctx.delete(vector);
      }
      return;
    }
    if (!c) {
      const hv = this.vdev.vfio.irqs.allocVector(() => this.ctx.get(vector)?.trigger?.signal());
      this.ctx.set(vector, (c = { trigger: null, hostVector: hv, masked: false }));
      this.vdev.hwBarWrite(m.tableBar, entry, 4, MSI_ADDRESS_BASE);
      this.vdev.hwBarWrite(m.tableBar, entry + 4, 4, 0);
      this.vdev.hwBarWrite(m.tableBar, entry + 8, 4, hv);
    }
    c.trigger = efd;
    this.vdev.hwBarWrite(m.tableBar, entry + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, 0);
  }

  msiDisable(): void {
    const fn = this.fn;
    if (this.type === 'msi') {
      const cap = fn.capOffset(L.M_MSI_CAP);
      this.vdev.hwConfigWrite(cap + PCI_MSI_FLAGS, 2, fn.configRead(cap + PCI_MSI_FLAGS, 2) & ~PCI_MSI_FLAGS_ENABLE);
      if (this.hwMsiBase >= 0) this.vdev.vfio.irqs.freeBlock(this.hwMsiBase, 1 << this.msiQmax);
      this.hwMsiBase = -1;
    } else if (this.type === 'msix') {
      for (const v of [...this.ctx.keys()]) this.setVector(v, null);
      const cap = fn.capOffset(L.M_MSIX_CAP);
      this.vdev.hwConfigWrite(cap + PCI_MSIX_FLAGS, 2, fn.configRead(cap + PCI_MSIX_FLAGS, 2) & ~PCI_MSIX_FLAGS_ENABLE);
    }
    this.ctx.clear();
    this.type = 'none';
    // back to INTx as the user last set it (vfio restores INTx Disable through pci_intx); a nointx
    // device keeps INTx Disable set
    this.setHwIntxDisable(this.virqDisabled || this.vdev.nointx);
  }

  /** Tear everything down (close_device). */
  disableAll(): void {
    if (this.type === 'intx') this.intxDisable();
    else if (this.type === 'msi' || this.type === 'msix') this.msiDisable();
    this.errTrigger = null;
    this.reqTrigger = null;
    this.virqDisabled = false;
  }

  /** Hardware message address/data of vector `v` as vfio programmed it (diagnostics, tests). */
  msixEntry(v: number): [number, number, number, number] {
    const m = this.fn.msix!;
    const at = m.tableOffset + v * 16;
    const word = (k: number) => this.fn.barRead(m.tableBar, at + 4 * k, 4);
    return [word(0), word(1), word(2), word(3)];
  }
}
