import type { GuestMemory } from '../hw/guestMemory.js';
import {
  VIRTIO_CONFIG_S_ACKNOWLEDGE, VIRTIO_CONFIG_S_DRIVER, VIRTIO_CONFIG_S_DRIVER_OK, VIRTIO_CONFIG_S_FAILED, VIRTIO_F_RING_INDIRECT_DESC,
  VIRTIO_MSI_NO_VECTOR, VIRTIO_PCI_ISR_CONFIG, VIRTIO_PCI_QUEUE_ADDR_SHIFT, VIRTIO_PCI_VRING_ALIGN,
} from '../hw/devices/virtio/virtioSpec.js';
import { DriverError } from './driverError.js';
import type { LegacyIo } from './legacyIo.js';
import type { IrqHandle, VirtioIrqProvider } from './virtioIrqProvider.js';
import { VirtioPciLegacyTransport } from './virtioPciLegacyTransport.js';
import { indirectBytes, Vring, vringBytes } from './vring.js';

/** The DMA-able memory allocator of the guest OS (guest-physical = bus addresses). */
export interface DmaAlloc {
  alloc(size: number, align?: number): number;
}

/** One queue a driver asks for (struct virtqueue_info): no name = no queue at that position. */
export interface VqInfo {
  name: string | null;
  /** called when the device used buffers (vring_interrupt); null: the queue needs no interrupts */
  callback: (() => void) | null;
  /** the most pieces one buffer has (sizes the indirect tables); default 4 */
  maxSg?: number;
}

/** How find_vqs wired interrupts (vp_vq_vector_policy, or INTx). */
export type VqIrqMode = 'msix-each' | 'msix-shared-slow' | 'msix-shared' | 'intx';

const MSIX_POLICIES: VqIrqMode[] = ['msix-each', 'msix-shared-slow', 'msix-shared'];
/** VP_MSIX_CONFIG_VECTOR, VP_MSIX_VQ_VECTOR */
const CONFIG_VECTOR = 0;
const VQ_VECTOR = 1;
/** the transport feature bits (VIRTIO_TRANSPORT_F_START..END) this guest's virtio ring implements */
const RING_FEATURES = (1 << VIRTIO_F_RING_INDIRECT_DESC) >>> 0;
const TRANSPORT_F_MASK = 0xf0000000; // bits 28-31 of the legacy 32 (the rest of 28..41 is above bit 31)

interface RingMemory {
  base: number;
  num: number;
  indirect: number;
  maxSg: number;
}

/**
 * A virtio device on the legacy PCI transport as Linux's virtio core (virtio.c) and virtio_pci
 * (virtio_pci_common.c + virtio_pci_legacy.c) drive it: status handshake, 32-bit feature
 * negotiation, find_vqs with the MSI-X vector policies and the INTx fallback, del_vqs, and the
 * interrupt handlers (vp_interrupt reading the ISR, vp_config_changed, vp_vring_interrupt). A device
 * driver (virtio-net) sits on top and sees only this object.
 *
 * Ring memory comes from `dma` once per queue and is reused when the queue is set up again (after
 * a reset or recovery), so a bump allocator never runs dry.
 */
export class VirtioPciLegacyDevice {
  readonly transport: VirtioPciLegacyTransport;
  /** the device's feature bits 0-31 as last read */
  deviceFeatures = 0;
  /** the negotiated feature bits (vdev->features) */
  features = 0;
  irqMode: VqIrqMode | null = null;
  /** queues by position in the last find_vqs (null where the driver asked for none) */
  vqs: (Vring<number> | null)[] = [];
  /** the driver's config_changed (virtio_driver.config_changed) */
  configChangedHandler: (() => void) | null = null;
  /** a configuration-change interrupt arrived since the driver last looked (see takeConfigInterrupt) */
  private configIrq = false;
  private configCoreEnabled = false;
  private configDriverDisabled = false;
  private configChangePending = false;
  private msix: IrqHandle | null = null;
  private intx: IrqHandle | null = null;
  private perVqVectors = false;
  private msixHandlers: ((() => void) | null)[] = [];
  /** created queues in creation order (vdev->vqs) with their callbacks */
  private created: { vq: Vring<number>; callback: (() => void) | null; vector: number }[] = [];
  private readonly rings = new Map<number, RingMemory>();
  /** interrupts that found nothing to do (IRQ_NONE) and interrupts handled */
  stats = { intxNone: 0, intxHandled: 0, msix: 0, configInterrupts: 0 };

  constructor(
    io: LegacyIo,
    readonly memory: GuestMemory,
    readonly dma: DmaAlloc,
    readonly irq: VirtioIrqProvider,
  ) {
    this.transport = new VirtioPciLegacyTransport(io);
  }

  get msixEnabled(): boolean {
    return this.transport.msixEnabled;
  }

  // ---- virtio.c: status and features ----------------------------------------------------------

  getStatus(): number {
    return this.transport.getStatus();
  }

  /** virtio_reset_device */
  reset(): void {
    this.transport.reset();
  }

  /** virtio_add_status: read, OR, write back. */
  addStatus(bits: number): void {
    this.transport.setStatus(this.transport.getStatus() | bits);
  }

  /** register_virtio_device: reset whatever a previous driver left, then ACKNOWLEDGE. */
  register(): void {
    this.configCoreEnabled = false;
    this.configDriverDisabled = false;
    this.configChangePending = false;
    this.reset();
    this.addStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE);
  }

  /**
   * virtio_dev_probe up to the driver's probe: DRIVER, the device's features, the driver's table
   * masked by them plus the transport bits the device offers and the ring implements
   * (vring_transport_features), written with vp_finalize_features. A legacy device has no
   * FEATURES_OK step. Returns the negotiated bits.
   */
  negotiate(driverFeatures: number): number {
    this.addStatus(VIRTIO_CONFIG_S_DRIVER);
    this.deviceFeatures = this.transport.getFeatures();
    let f = (driverFeatures & this.deviceFeatures & ~TRANSPORT_F_MASK) >>> 0;
    f = (f | (this.deviceFeatures & TRANSPORT_F_MASK & RING_FEATURES)) >>> 0;
    this.features = f;
    this.transport.setFeatures(f);
    return f;
  }

  /** vp_finalize_features again with the features already negotiated (virtio_device_restore). */
  finalizeFeatures(): void {
    this.transport.setFeatures(this.features);
  }

  hasFeature(bit: number): boolean {
    return bit < 32 && ((this.features >>> bit) & 1) === 1;
  }

  /** virtio_device_ready: DRIVER_OK on top of what the status holds. */
  deviceReady(): void {
    const s = this.transport.getStatus();
    this.transport.setStatus(s | VIRTIO_CONFIG_S_DRIVER_OK);
  }

  /** virtio_dev_probe's tail: DRIVER_OK if the driver did not set it, then config changes flow. */
  probeDone(): void {
    if ((this.transport.getStatus() & VIRTIO_CONFIG_S_DRIVER_OK) === 0) this.deviceReady();
    this.configCoreEnable();
  }

  /** virtio_dev_probe's error path: FAILED. */
  fail(): void {
    this.addStatus(VIRTIO_CONFIG_S_FAILED);
  }

  // ---- configuration-change delivery (virtio_config_changed and its enable bits) ---------------------

  /** virtio_config_changed: to the driver now, or pending until core and driver both allow it. */
  configChanged(): void {
    if (!this.configCoreEnabled || this.configDriverDisabled) {
      this.configChangePending = true;
      return;
    }
    this.configChangePending = false;
    this.configChangedHandler?.();
  }

  configCoreEnable(): void {
    this.configCoreEnabled = true;
    if (this.configChangePending) this.configChanged();
  }

  configCoreDisable(): void {
    this.configCoreEnabled = false;
  }

  configDriverEnable(): void {
    this.configDriverDisabled = false;
    if (this.configChangePending) this.configChanged();
  }

  configDriverDisable(): void {
    this.configDriverDisabled = true;
  }

  /** Whether a configuration-change interrupt came in since the last call (then clears it). */
  takeConfigInterrupt(): boolean {
    const v = this.configIrq;
    this.configIrq = false;
    return v;
  }

  // ---- interrupts (virtio_pci_common.c) ---------------------------------------------------------------

  /** vp_config_changed: the configuration-change vector (or the ISR's config bit). */
  private vpConfigChanged(): void {
    this.stats.configInterrupts++;
    this.configIrq = true;
    this.configChanged();
  }

  /** vp_vring_interrupt: every queue with a callback (most recently set up first, as the list is built). */
  private vpVringInterrupt(): boolean {
    let handled = false;
    for (let i = this.created.length - 1; i >= 0; i--) {
      const c = this.created[i];
      if (c.callback !== null && c.vector !== CONFIG_VECTOR && c.vq.interrupt(c.callback)) handled = true;
    }
    return handled;
  }

  /** vp_interrupt: INTx. Reading the ISR clears it; 0 means another device on the shared line. */
  intxInterrupt(): boolean {
    const isr = this.transport.readIsr();
    if (isr === 0) {
      this.stats.intxNone++;
      return false;
    }
    this.stats.intxHandled++;
    if (isr & VIRTIO_PCI_ISR_CONFIG) this.vpConfigChanged();
    this.vpVringInterrupt();
    return true;
  }

  private msixInterrupt(index: number): void {
    this.stats.msix++;
    this.msixHandlers[index]?.();
  }

  // ---- queues ---------------------------------------------------------------------------------------

  private ringFor(index: number, num: number, maxSg: number): RingMemory {
    const have = this.rings.get(index);
    if (have && have.num >= num && have.maxSg >= maxSg) return have;
    const base = this.dma.alloc(vringBytes(num), VIRTIO_PCI_VRING_ALIGN);
    const indirect = this.dma.alloc(indirectBytes(num, maxSg), 16);
    const r = { base, num, indirect, maxSg };
    this.rings.set(index, r);
    return r;
  }

  /** setup_vq (virtio_pci_legacy.c): size, not already active, ring, Queue Address, vector. */
  private setupVq(index: number, info: VqInfo, vector: number): Vring<number> {
    const t = this.transport;
    const num = t.getQueueSize(index);
    if (num === 0 || t.getQueueEnable(index)) throw new DriverError('ENOENT', `virtqueue ${index} (${info.name}) is not available or already active`);
    if ((num & (num - 1)) !== 0) throw new DriverError('EINVAL', `virtqueue ${index} size ${num} is not a power of two`);
    const maxSg = info.maxSg ?? 4;
    const mem = this.ringFor(index, num, maxSg);
    const vq = new Vring<number>(this.memory, index, mem.base, num, {
      indirect: this.hasFeature(VIRTIO_F_RING_INDIRECT_DESC),
      indirectArea: mem.indirect,
      indirectMax: maxSg,
      noCallback: info.callback === null,
    });
    const pfn = Math.floor(mem.base / 2 ** VIRTIO_PCI_QUEUE_ADDR_SHIFT);
    if (pfn >= 2 ** 32) throw new DriverError('E2BIG', 'legacy virtio-pci cannot address a ring above 16 TiB');
    t.setQueueAddress(index, pfn);
    if (vector !== VIRTIO_MSI_NO_VECTOR) {
      const got = t.queueVector(index, vector);
      if (got === VIRTIO_MSI_NO_VECTOR) {
        t.setQueueAddress(index, 0);
        throw new DriverError('EBUSY', `the device took no MSI-X vector for virtqueue ${index}`);
      }
    }
    return vq;
  }

  /** del_vq: vector off (flushed with an ISR read) under MSI-X, then the Queue Address cleared. */
  private delVq(vq: Vring<number>): void {
    const t = this.transport;
    if (t.msixEnabled) {
      t.queueVector(vq.index, VIRTIO_MSI_NO_VECTOR);
      t.readIsr();
    }
    t.setQueueAddress(vq.index, 0);
  }

  /**
   * vp_find_vqs: MSI-X with a vector per queue, then the same with the slow-path share, then one
   * vector shared by all queues, then INTx; each failed attempt is undone with del_vqs. Throws the
   * last attempt's error when nothing works.
   */
  findVqs(infos: VqInfo[]): (Vring<number> | null)[] {
    let err: unknown = new DriverError('ENODEV', 'no interrupt available');
    for (const policy of MSIX_POLICIES) {
      try {
        return this.findVqsMsix(infos, policy);
      } catch (e) {
        if (!(e instanceof DriverError)) throw e;
        err = e;
      }
    }
    try {
      return this.findVqsIntx(infos);
    } catch (e) {
      if (!(e instanceof DriverError)) throw e;
      // keep the MSI-X attempt's reason when INTx is simply absent
      if (e.code !== 'ENODEV' || !(err instanceof DriverError)) err = e;
      throw err;
    }
  }

  private findVqsMsix(infos: VqInfo[], policy: VqIrqMode): (Vring<number> | null)[] {
    const perVq = policy !== 'msix-shared';
    const nvectors = perVq ? 1 + infos.filter((i) => i.name !== null && i.callback !== null).length : 2;
    const handle = this.irq.allocMsix(nvectors, (i) => this.msixInterrupt(i));
    if (handle === null) throw new DriverError('ENOSPC', `no MSI-X with ${nvectors} vectors`);
    this.msix = handle;
    this.transport.msixEnabled = true;
    this.irqMode = policy;
    this.perVqVectors = perVq;
    this.vqs = [];
    this.msixHandlers = new Array(nvectors).fill(null);
    try {
      this.msixHandlers[CONFIG_VECTOR] = () => this.vpConfigChanged();
      if (this.transport.configVector(CONFIG_VECTOR) === VIRTIO_MSI_NO_VECTOR) throw new DriverError('EBUSY', 'the device took no MSI-X vector for configuration changes');
      let allocated = 1;
      if (!perVq) {
        this.msixHandlers[VQ_VECTOR] = () => void this.vpVringInterrupt();
        allocated = 2;
      }
      let queueIdx = 0;
      for (const info of infos) {
        if (info.name === null) {
          this.vqs.push(null);
          continue;
        }
        const vector = info.callback === null ? VIRTIO_MSI_NO_VECTOR : perVq ? allocated++ : VQ_VECTOR;
        const vq = this.setupVq(queueIdx++, info, vector);
        this.created.push({ vq, callback: info.callback, vector });
        this.vqs.push(vq);
        if (perVq && vector !== VIRTIO_MSI_NO_VECTOR) {
          const cb = info.callback!;
          this.msixHandlers[vector] = () => void vq.interrupt(cb);
        }
      }
      return this.vqs;
    } catch (e) {
      this.delVqs();
      throw e;
    }
  }

  private findVqsIntx(infos: VqInfo[]): (Vring<number> | null)[] {
    const handle = this.irq.requestIntx(() => this.intxInterrupt());
    if (handle === null) throw new DriverError('ENODEV', 'the function has no INTx line');
    this.intx = handle;
    this.irqMode = 'intx';
    this.perVqVectors = false;
    this.vqs = [];
    try {
      let queueIdx = 0;
      for (const info of infos) {
        if (info.name === null) {
          this.vqs.push(null);
          continue;
        }
        const vq = this.setupVq(queueIdx++, info, VIRTIO_MSI_NO_VECTOR);
        this.created.push({ vq, callback: info.callback, vector: VIRTIO_MSI_NO_VECTOR });
        this.vqs.push(vq);
      }
      return this.vqs;
    } catch (e) {
      this.delVqs();
      throw e;
    }
  }

  /**
   * vp_del_vqs: every queue deactivated in creation order, the INTx handler freed, the config vector
   * set to none and MSI-X disabled.
   */
  delVqs(): void {
    for (const c of this.created) this.delVq(c.vq);
    this.created = [];
    this.vqs = [];
    this.perVqVectors = false;
    if (this.intx !== null) {
      this.intx.free();
      this.intx = null;
    }
    if (this.transport.msixEnabled) {
      this.transport.configVector(VIRTIO_MSI_NO_VECTOR);
      this.msix?.free();
      this.msix = null;
      this.transport.msixEnabled = false;
    }
    this.msixHandlers = [];
    this.irqMode = null;
  }

  /** Queues currently set up (vdev->vqs), in creation order. */
  get activeQueues(): Vring<number>[] {
    return this.created.map((c) => c.vq);
  }

  /** Whether find_vqs gave every queue its own vector. */
  get perVqMsix(): boolean {
    return this.perVqVectors;
  }
}
