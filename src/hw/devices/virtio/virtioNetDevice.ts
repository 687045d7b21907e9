import type { DeviceModel } from '../../deviceModel.js';
import { deviceDma, flatDma } from '../../embedding/deviceDma.js';
import type { GuestMemory } from '../../guestMemory.js';
import type { PciFunction } from '../../pciFunction.js';
import { PCI_COMMAND, PCI_COMMAND_MASTER } from '../../pciRegs.js';
import type { NetSwitch, SwitchPort } from './netSwitch.js';
import { formatMac } from './netSwitch.js';
import type { VirtioBarLayout, VirtioCapOffsets } from './pciCapabilities.js';
import { RegisterView } from './registerView.js';
import type { RegisterField } from './registerView.js';
import { SplitVirtqueue, VirtqueueError } from './virtqueue.js';
import {
  VIRTIO_CONFIG_S_DRIVER_OK, VIRTIO_CONFIG_S_FAILED, VIRTIO_CONFIG_S_FEATURES_OK, VIRTIO_CONFIG_S_NEEDS_RESET,
  VIRTIO_F_RING_INDIRECT_DESC, VIRTIO_F_RING_RESET, VIRTIO_F_VERSION_1, VIRTIO_MSI_NO_VECTOR, VIRTIO_NET_CFG_DUPLEX,
  VIRTIO_NET_CFG_MAC, VIRTIO_NET_CFG_MAX_VQ_PAIRS, VIRTIO_NET_CFG_MTU, VIRTIO_NET_CFG_SIZEOF, VIRTIO_NET_CFG_SPEED,
  VIRTIO_NET_CFG_STATUS, VIRTIO_NET_F_MRG_RXBUF, VIRTIO_NET_HDR_LEGACY_SIZE, VIRTIO_NET_HDR_SIZE, VIRTIO_NET_RX_QUEUE,
  VIRTIO_NET_S_LINK_UP, VIRTIO_NET_TX_QUEUE, VIRTIO_PCI_CAP_BAR, VIRTIO_PCI_CAP_LENGTH, VIRTIO_PCI_CAP_OFFSET,
  VIRTIO_PCI_CFG_CAP_DATA, VIRTIO_PCI_COMMON_CFG_SIZEOF, VIRTIO_PCI_ISR_CONFIG, VIRTIO_PCI_ISR_QUEUE,
} from './virtioSpec.js';

/** The part of the owner (PF) that serves the administration virtqueue. */
export interface AdminQueueService {
  /** Runs every available command of administration queue `q`; throws VirtqueueError on a broken ring. */
  process(q: SplitVirtqueue): number;
  /** The device was reset: the list of used commands goes back to LIST_QUERY + LIST_USE. */
  reset(): void;
}

/** Hooks into config writes that are not the virtio device's own (the PF's SR-IOV capability). */
export interface ConfigWriteHook {
  covers(off: number, size: number): boolean;
  configWritten(off: number, size: number): void;
  reset(): void;
}

export interface VirtioNetDeviceOptions {
  name: string;
  memory: GuestMemory;
  mac: Uint8Array;
  /** offered feature bits [0-31, 32-63] */
  features: [number, number];
  layout: VirtioBarLayout;
  queueSize: number;
  /** administration virtqueues after the data queues (the PF: 1) */
  adminQueues: number;
  netSwitch: NetSwitch;
}

export interface VirtioNetStats {
  txFrames: number;
  txBytes: number;
  txErrors: number;
  rxFrames: number;
  rxBytes: number;
  /** frames the switch offered that found no usable receive buffer (or a device not ready) */
  rxDropped: number;
  notifications: number;
  interrupts: number;
}

const MAX_FRAME = 65550;
const RX_HDR = new Uint8Array(VIRTIO_NET_HDR_SIZE);

/**
 * One virtio-net device behind one PCI function (the PF or a VF), modern virtio 1.x over PCI: the
 * common configuration, ISR, device configuration and notification structures in a memory BAR, the
 * device status handshake and feature negotiation, split virtqueues in guest memory (receiveq1,
 * transmitq1 and, on the PF, an administration queue), used-buffer and configuration-change
 * notifications by MSI-X or by INTx with the ISR status register. Its datapath is a port of the PF's
 * embedded switch.
 *
 * The same state is reachable through the legacy register layout (virtio 0.9.5: what the PF's
 * VIRTIO_ADMIN_CMD_LEGACY_* commands operate on for a VF): `legacyCommon` and `legacyDevice*`.
 *
 * A driver that breaks the virtqueue rules (rings or buffers outside guest memory, bad indices,
 * loops) puts the device in NEEDS_RESET with a configuration-change notification; it stays there,
 * processing nothing, until the driver resets it.
 */
export class VirtioNetDevice implements DeviceModel, SwitchPort {
  /** Name used in logs, errors and the switch's port list. */
  readonly name: string;
  /** The PCI function the device is attached to (null until attach, and again after detach). */
  fn: PciFunction | null = null;
  /** Config offsets of the virtio vendor capabilities (common, notify, ISR, device, pci_cfg) once attached. */
  caps: VirtioCapOffsets | null = null;
  /** Where each virtio structure (common, notify, ISR, device config) sits in the BAR. */
  readonly layout: VirtioBarLayout;
  /** Guest memory the device DMAs rings and packet buffers from and to. */
  readonly memory: GuestMemory;
  /** The split virtqueues: receiveq (0), transmitq (1), then the admin queues if any. */
  readonly queues: SplitVirtqueue[];
  /** Data virtqueues: one receiveq and one transmitq (no VIRTIO_NET_F_MQ). */
  readonly numQueues = 2;
  /** admin_queue_index in the common config (virtio 1.3 VIRTIO_F_ADMIN_VQ): first admin virtqueue, 0 when none. */
  readonly adminQueueIndex: number;
  /** admin_queue_num in the common config: number of admin virtqueues (0 unless the device is an SR-IOV PF). */
  readonly adminQueueNum: number;
  /** Device feature bits 0-31 the device offers. */
  readonly featuresLo: number;
  /** Device feature bits 32-63 the device offers (VIRTIO_F_VERSION_1 is bit 32). */
  readonly featuresHi: number;
  /** The admin command service behind the admin virtqueue (a PF's VIRTIO_ADMIN_CMD_*), null when none. */
  admin: AdminQueueService | null = null;
  /** Called on config-space writes to the function (e.g. the PF's SR-IOV capability); null when none. */
  configHook: ConfigWriteHook | null = null;
  /** The switch the device's frames go to and come from. */
  readonly netSwitch: NetSwitch;
  /** Frame, byte, error, notification and interrupt counters, for tests and status displays. */
  readonly stats: VirtioNetStats = { txFrames: 0, txBytes: 0, txErrors: 0, rxFrames: 0, rxBytes: 0, rxDropped: 0, notifications: 0, interrupts: 0 };
  /** why the device last set NEEDS_RESET */
  lastError = '';

  /** Feature bits 0-31 the driver accepted (driver_feature, select 0). */
  driverFeaturesLo = 0;
  /** Feature bits 32-63 the driver accepted (driver_feature, select 1). */
  driverFeaturesHi = 0;
  /** device_feature_select in the common config: which 32-bit half device_feature shows. */
  deviceFeatureSelect = 0;
  /** driver_feature_select in the common config: which 32-bit half driver_feature writes. */
  driverFeatureSelect = 0;
  /** device_status (VIRTIO_CONFIG_S_ACKNOWLEDGE, DRIVER, FEATURES_OK, DRIVER_OK, NEEDS_RESET, FAILED); 0 = reset. */
  status = 0;
  /** config_generation: bumped whenever the device config changes, so a driver can read it consistently. */
  configGeneration = 0;
  /** config_msix_vector: MSI-X vector for configuration changes (VIRTIO_MSI_NO_VECTOR = none). */
  configVector = VIRTIO_MSI_NO_VECTOR;
  /** queue_select in the common config: which virtqueue the queue_* registers address. */
  queueSelect = 0;
  /** ISR status (bit 0 queue interrupt, bit 1 config change); reading it clears it and deasserts INTx. */
  isr = 0;
  /** Link state reported in the device config status (VIRTIO_NET_S_LINK_UP). */
  linkUp = true;
  /** driven through the legacy register layout since the last reset (no FEATURES_OK, 10-byte header) */
  legacy = false;
  /** The MAC address in the device config (virtio_net_config.mac); only a legacy driver may write it (use setMac from the device side). */
  readonly mac = new Uint8Array(6);
  private readonly factoryMac: Uint8Array;
  private readonly deviceCfg = new Uint8Array(VIRTIO_NET_CFG_SIZEOF);
  private hdrLen = VIRTIO_NET_HDR_LEGACY_SIZE;
  private readonly busy: boolean[];
  /** a data queue's processing is with the scheduler */
  private readonly scheduled: boolean[];
  private readonly again: boolean[];
  /** The common configuration structure (struct virtio_pci_common_cfg) as registers. */
  readonly common: RegisterView;
  private readonly legacyNoMsix: RegisterView;
  private readonly legacyMsix: RegisterView;
  private readonly rxHeader = RX_HDR;

  constructor(o: VirtioNetDeviceOptions) {
    this.name = o.name;
    this.layout = o.layout;
    this.memory = o.memory;
    this.netSwitch = o.netSwitch;
    this.featuresLo = o.features[0] >>> 0;
    this.featuresHi = o.features[1] >>> 0;
    this.factoryMac = o.mac.slice();
    this.mac.set(o.mac);
    this.adminQueueNum = o.adminQueues;
    this.adminQueueIndex = o.adminQueues > 0 ? this.numQueues : 0;
    this.queues = [];
    for (let i = 0; i < this.numQueues + o.adminQueues; i++) this.queues.push(new SplitVirtqueue(i, o.queueSize, flatDma(o.memory)));
    this.busy = this.queues.map(() => false);
    this.scheduled = this.queues.map(() => false);
    this.again = this.queues.map(() => false);
    const partial = (f: RegisterField, off: number, size: number) => this.partialWrite(f.name, f.size, off, size, 'merged into the register');
    this.common = new RegisterView(this.commonFields(), VIRTIO_PCI_COMMON_CFG_SIZEOF, partial);
    this.legacyNoMsix = new RegisterView(this.legacyFields(false), 20, partial);
    this.legacyMsix = new RegisterView(this.legacyFields(true), 24, partial);
    this.refreshDeviceConfig();
  }

  /** Binds the device to its function (after the function exists). */
  attach(fn: PciFunction, caps: VirtioCapOffsets): void {
    this.fn = fn;
    this.caps = caps;
    // from now on the queues reach memory as this function's bus master (through its IOMMU domain)
    const dma = deviceDma(fn);
    for (const q of this.queues) q.dma = dma;
    fn.readTrap = caps.pciCfg + VIRTIO_PCI_CFG_CAP_DATA;
    this.netSwitch.connect(this, this.mac);
  }

  /** The function left the topology (VF disable): off the switch, nothing reaches it again. */
  detach(): void {
    this.netSwitch.disconnect(this);
    this.fn = null;
  }

  /** The current MAC address as "aa:bb:cc:dd:ee:ff". */
  get macAddress(): string {
    return formatMac(this.mac);
  }

  // ---- features and status ----------------------------------------------------------------------

  /** The driver negotiated feature `bit` (Linux virtio_has_feature). */
  has(bit: number): boolean {
    return bit < 32 ? ((this.driverFeaturesLo >>> bit) & 1) === 1 : ((this.driverFeaturesHi >>> (bit - 32)) & 1) === 1;
  }

  /** The device offers feature `bit`. */
  offers(bit: number): boolean {
    return bit < 32 ? ((this.featuresLo >>> bit) & 1) === 1 : ((this.featuresHi >>> (bit - 32)) & 1) === 1;
  }

  /** The negotiated features take effect (FEATURES_OK, or a legacy Guest Features write). */
  private applyFeatures(): void {
    this.hdrLen = this.has(VIRTIO_F_VERSION_1) || this.has(VIRTIO_NET_F_MRG_RXBUF) ? VIRTIO_NET_HDR_SIZE : VIRTIO_NET_HDR_LEGACY_SIZE;
    const indirect = this.has(VIRTIO_F_RING_INDIRECT_DESC);
    for (const q of this.queues) q.indirect = indirect;
  }

  /** struct virtio_net_hdr length in use: 12 with VERSION_1 (or MRG_RXBUF), 10 for a legacy driver. */
  get netHdrLen(): number {
    return this.hdrLen;
  }

  private featuresAcceptable(): boolean {
    if ((this.driverFeaturesLo & ~this.featuresLo) !== 0 || (this.driverFeaturesHi & ~this.featuresHi) !== 0) return false;
    // a device without a legacy interface only accepts drivers that accept VIRTIO_F_VERSION_1 (6.1)
    return this.legacy || this.has(VIRTIO_F_VERSION_1);
  }

  /** A device_status write (modern or legacy): 0 resets; FEATURES_OK sticks only for acceptable features. */
  writeStatus(value: number): void {
    value &= 0xff;
    if (value === 0) {
      this.resetDevice();
      return;
    }
    const old = this.status;
    let s = (value & ~VIRTIO_CONFIG_S_NEEDS_RESET) | (old & VIRTIO_CONFIG_S_NEEDS_RESET);
    if ((s & VIRTIO_CONFIG_S_FEATURES_OK) !== 0 && (old & VIRTIO_CONFIG_S_FEATURES_OK) === 0) {
      if (this.featuresAcceptable()) this.applyFeatures();
      else s &= ~VIRTIO_CONFIG_S_FEATURES_OK;
    }
    if ((s & VIRTIO_CONFIG_S_DRIVER_OK) !== 0 && (old & VIRTIO_CONFIG_S_DRIVER_OK) === 0 && this.legacy) this.applyFeatures();
    this.status = s;
  }

  /** Device reset (device_status = 0): everything the driver set up goes, the MAC stays. */
  resetDevice(): void {
    this.status = 0;
    this.driverFeaturesLo = this.driverFeaturesHi = 0;
    this.deviceFeatureSelect = this.driverFeatureSelect = 0;
    this.configVector = VIRTIO_MSI_NO_VECTOR;
    this.queueSelect = 0;
    this.legacy = false;
    this.hdrLen = VIRTIO_NET_HDR_LEGACY_SIZE;
    for (const q of this.queues) {
      q.reset();
      q.indirect = false;
    }
    this.busy.fill(false);
    this.again.fill(false);
    this.lastError = '';
    this.admin?.reset();
    this.isr = 0;
    this.fn?.setIntx(false);
  }

  private get ready(): boolean {
    const fn = this.fn;
    return (
      fn !== null &&
      (this.status & (VIRTIO_CONFIG_S_DRIVER_OK | VIRTIO_CONFIG_S_NEEDS_RESET | VIRTIO_CONFIG_S_FAILED)) === VIRTIO_CONFIG_S_DRIVER_OK &&
      fn.alive &&
      fn.powerState === 0 &&
      (fn.configRead(PCI_COMMAND, 2) & PCI_COMMAND_MASTER) !== 0
    );
  }

  /** The device hit a driver error it cannot recover from: NEEDS_RESET and a configuration-change notification. */
  needsReset(reason: string): void {
    this.lastError = reason;
    if (this.status & VIRTIO_CONFIG_S_NEEDS_RESET) return;
    this.status |= VIRTIO_CONFIG_S_NEEDS_RESET;
    this.configChanged();
  }

  // ---- notifications ---------------------------------------------------------------------------

  private get msixVectors(): number {
    const m = this.fn?.msix;
    return m ? m.tableBytes / 16 : 0;
  }

  private vectorOrNone(v: number): number {
    v &= 0xffff;
    return v !== VIRTIO_MSI_NO_VECTOR && v < this.msixVectors ? v : VIRTIO_MSI_NO_VECTOR;
  }

  /** Used-buffer notification for queue `q` (4.1.5.4). */
  queueInterrupt(q: SplitVirtqueue): void {
    const fn = this.fn;
    if (fn === null) return;
    this.stats.interrupts++;
    if (fn.msixEnabled) {
      if (q.msixVector !== VIRTIO_MSI_NO_VECTOR) fn.raiseMsix(q.msixVector);
      return;
    }
    this.isr |= VIRTIO_PCI_ISR_QUEUE;
    fn.setIntx(true);
  }

  /** Configuration-change notification (4.1.5.5); config_generation moves on. */
  configChanged(): void {
    this.configGeneration = (this.configGeneration + 1) & 0xff;
    const fn = this.fn;
    if (fn === null) return;
    if (fn.msixEnabled) {
      if (this.configVector !== VIRTIO_MSI_NO_VECTOR) fn.raiseMsix(this.configVector);
      return;
    }
    this.isr |= VIRTIO_PCI_ISR_CONFIG;
    fn.setIntx(true);
  }

  /** ISR status read: returns the bits and clears them, deasserting INTx (4.1.4.5). */
  readIsr(): number {
    const v = this.isr;
    this.isr = 0;
    this.fn?.setIntx(false);
    return v;
  }

  /** Link state change (VIRTIO_NET_S_LINK_UP in the device configuration). */
  setLink(up: boolean): void {
    if (this.linkUp === up) return;
    this.linkUp = up;
    this.refreshDeviceConfig();
    this.configChanged();
  }

  /** Sets the MAC address (the switch learns it) as a device-side change. */
  setMac(mac: Uint8Array): void {
    this.mac.set(mac.subarray(0, 6));
    this.netSwitch.setMac(this, this.mac);
    this.refreshDeviceConfig();
  }

  // ---- queue processing ----------------------------------------------------------------------------

  /**
   * Available-buffer notification for queue `index`. With a scheduler on the hardware
   * (hw.setScheduler) a data queue is processed later, once per batch of notifications; the
   * administration queue always completes inside the notification (its driver waits for it there).
   */
  kick(index: number): void {
    this.stats.notifications++;
    if (index < 0 || index >= this.queues.length) return;
    const hw = this.fn?.hw;
    if (hw !== undefined && hw.scheduler !== null && index < this.numQueues) {
      if (this.scheduled[index]) return;
      this.scheduled[index] = true;
      hw.defer(() => {
        this.scheduled[index] = false;
        this.process(index);
      });
      return;
    }
    this.process(index);
  }

  private process(index: number): void {
    const q = this.queues[index];
    if (!q.enabled || !this.ready) return;
    if (this.busy[index]) {
      this.again[index] = true;
      return;
    }
    this.busy[index] = true;
    try {
      do {
        this.again[index] = false;
        if (index === VIRTIO_NET_TX_QUEUE) this.transmit(q);
        else if (this.admin !== null && index >= this.adminQueueIndex && index < this.adminQueueIndex + this.adminQueueNum) {
          if (this.admin.process(q) > 0 && !q.noInterrupt) this.queueInterrupt(q);
        }
      } while (this.again[index] && this.ready);
    } catch (e) {
      if (!(e instanceof VirtqueueError)) throw e;
      this.needsReset(e.message);
    } finally {
      this.busy[index] = false;
    }
  }

  /** transmitq: each chain is a virtio_net_hdr and a frame for the switch. */
  private transmit(q: SplitVirtqueue): void {
    const n = q.pending();
    if (n === 0) return;
    const hdr = this.hdrLen;
    for (let k = 0; k < n; k++) {
      const head = q.pop();
      const total = q.readableBytes - hdr;
      let frame: Uint8Array | null = null;
      if (total >= 14 && total <= MAX_FRAME) {
        const a0 = q.segAddr[0];
        const l0 = q.segLen[0];
        // the switch borrows the frame: a view of the buffer when it is contiguous
        if (l0 >= hdr + total) frame = q.dma.window(a0 + hdr, total, 'read');
        else if (l0 === hdr && q.segCount > 1 && q.segLen[1] >= total) frame = q.dma.window(q.segAddr[1], total, 'read');
        else {
          frame = new Uint8Array(total);
          q.readChain(frame, hdr, total);
        }
      }
      q.pushUsed(head, 0);
      if (frame === null) {
        this.stats.txErrors++;
        continue;
      }
      this.stats.txFrames++;
      this.stats.txBytes += total;
      this.netSwitch.forward(this, frame);
    }
    q.publishUsed();
    if (!q.noInterrupt) this.queueInterrupt(q);
  }

  /** The switch hands a frame to this port: into the next receiveq buffer, or dropped. */
  receiveFrame(frame: Uint8Array): boolean {
    const q = this.queues[VIRTIO_NET_RX_QUEUE];
    if (!q.enabled || !this.ready) {
      this.stats.rxDropped++;
      return false;
    }
    try {
      if (q.pending() === 0) {
        this.stats.rxDropped++;
        return false;
      }
      const head = q.pop();
      const hdr = this.hdrLen;
      const need = hdr + frame.length;
      if (q.writableBytes < need) {
        q.lastAvailIdx = (q.lastAvailIdx - 1) & 0xffff; // leave the buffer for a frame that fits
        this.stats.rxDropped++;
        return false;
      }
      const header = this.rxHeader;
      header[10] = hdr === VIRTIO_NET_HDR_SIZE ? 1 : 0; // num_buffers = 1
      let s = 0;
      while (s < q.segCount && !q.segWrite[s]) s++;
      if (q.segLen[s] >= need) {
        const a = q.segAddr[s];
        q.dma.writeFrom(a, header, 0, hdr);
        q.dma.writeFrom(a + hdr, frame, 0, frame.length);
      } else {
        q.writeChain(hdr === VIRTIO_NET_HDR_SIZE ? header : header.subarray(0, hdr), 0);
        q.writeChain(frame, hdr);
      }
      q.pushUsed(head, need);
      q.publishUsed();
      this.stats.rxFrames++;
      this.stats.rxBytes += frame.length;
      if (!q.noInterrupt) this.queueInterrupt(q);
      return true;
    } catch (e) {
      if (!(e instanceof VirtqueueError)) throw e;
      this.needsReset(e.message);
      this.stats.rxDropped++;
      return false;
    }
  }

  // ---- register blocks ---------------------------------------------------------------------------

  private get selected(): SplitVirtqueue | undefined {
    return this.queues[this.queueSelect];
  }

  /** struct virtio_pci_common_cfg (4.1.4.3), every field of virtio 1.3. */
  private commonFields(): RegisterField[] {
    const q = () => this.selected;
    const idle = () => {
      const s = this.selected;
      return s !== undefined && !s.enabled ? s : undefined;
    };
    const addr = (name: string, off: number, key: 'descAddr' | 'availAddr' | 'usedAddr', hi: boolean): RegisterField => ({
      name,
      off,
      size: 4,
      read: () => {
        const v = q()?.[key] ?? 0;
        return hi ? Math.floor(v / 2 ** 32) : v % 2 ** 32;
      },
      write: (v) => {
        const s = idle();
        if (!s) return;
        const cur = s[key];
        s[key] = hi ? v * 2 ** 32 + (cur % 2 ** 32) : Math.floor(cur / 2 ** 32) * 2 ** 32 + v;
      },
    });
    const featuresFrozen = () => (this.status & VIRTIO_CONFIG_S_FEATURES_OK) !== 0;
    return [
      { name: 'device_feature_select', off: 0, size: 4, read: () => this.deviceFeatureSelect, write: (v) => (this.deviceFeatureSelect = v) },
      { name: 'device_feature', off: 4, size: 4, read: () => (this.deviceFeatureSelect === 0 ? this.featuresLo : this.deviceFeatureSelect === 1 ? this.featuresHi : 0) },
      { name: 'driver_feature_select', off: 8, size: 4, read: () => this.driverFeatureSelect, write: (v) => (this.driverFeatureSelect = v) },
      {
        name: 'driver_feature',
        off: 12,
        size: 4,
        read: () => (this.driverFeatureSelect === 0 ? this.driverFeaturesLo : this.driverFeatureSelect === 1 ? this.driverFeaturesHi : 0),
        write: (v) => {
          if (featuresFrozen()) return;
          if (this.driverFeatureSelect === 0) this.driverFeaturesLo = v >>> 0;
          else if (this.driverFeatureSelect === 1) this.driverFeaturesHi = v >>> 0;
        },
      },
      { name: 'config_msix_vector', off: 16, size: 2, read: () => this.configVector, write: (v) => (this.configVector = this.vectorOrNone(v)) },
      { name: 'num_queues', off: 18, size: 2, read: () => this.numQueues },
      { name: 'device_status', off: 20, size: 1, read: () => this.status, write: (v) => this.writeStatus(v) },
      { name: 'config_generation', off: 21, size: 1, read: () => this.configGeneration },
      { name: 'queue_select', off: 22, size: 2, read: () => this.queueSelect, write: (v) => (this.queueSelect = v & 0xffff) },
      {
        name: 'queue_size',
        off: 24,
        size: 2,
        read: () => q()?.size ?? 0,
        write: (v) => {
          const s = idle();
          if (s && v > 0 && v <= s.maxSize && (v & (v - 1)) === 0) s.size = v;
        },
      },
      {
        name: 'queue_msix_vector',
        off: 26,
        size: 2,
        read: () => q()?.msixVector ?? VIRTIO_MSI_NO_VECTOR,
        write: (v) => {
          const s = q();
          if (s) s.msixVector = this.vectorOrNone(v);
        },
      },
      {
        name: 'queue_enable',
        off: 28,
        size: 2,
        read: () => (q()?.enabled ? 1 : 0),
        write: (v) => {
          const s = idle();
          if (s && (v & 0xffff) === 1) s.enable();
        },
      },
      { name: 'queue_notify_off', off: 30, size: 2, read: () => (q() ? this.queueSelect : 0) },
      addr('queue_desc_lo', 32, 'descAddr', false),
      addr('queue_desc_hi', 36, 'descAddr', true),
      addr('queue_driver_lo', 40, 'availAddr', false),
      addr('queue_driver_hi', 44, 'availAddr', true),
      addr('queue_device_lo', 48, 'usedAddr', false),
      addr('queue_device_hi', 52, 'usedAddr', true),
      { name: 'queue_notify_data', off: 56, size: 2, read: () => (q() ? this.queueSelect : 0) },
      {
        name: 'queue_reset',
        off: 58,
        size: 2,
        read: () => 0, // a queue reset completes at once
        write: (v) => {
          const s = q();
          if (s && (v & 0xffff) === 1 && this.has(VIRTIO_F_RING_RESET)) {
            s.reset();
            s.indirect = this.has(VIRTIO_F_RING_INDIRECT_DESC);
          }
        },
      },
      { name: 'admin_queue_index', off: 60, size: 2, read: () => this.adminQueueIndex },
      { name: 'admin_queue_num', off: 62, size: 2, read: () => this.adminQueueNum },
    ];
  }

  /** The legacy (virtio 0.9.5) common header; with MSI-X enabled the two vector registers follow. */
  private legacyFields(msix: boolean): RegisterField[] {
    const dataQueue = () => (this.queueSelect < this.numQueues ? this.queues[this.queueSelect] : undefined);
    const fields: RegisterField[] = [
      { name: 'host_features', off: 0, size: 4, read: () => this.featuresLo },
      {
        name: 'guest_features',
        off: 4,
        size: 4,
        read: () => this.driverFeaturesLo,
        write: (v) => {
          // legacy drivers see bits 0-31 only and never acknowledge 32-63 (4.1.4.10)
          this.legacy = true;
          this.driverFeaturesLo = (v & this.featuresLo) >>> 0;
          this.driverFeaturesHi = 0;
          this.applyFeatures();
        },
      },
      {
        name: 'queue_pfn',
        off: 8,
        size: 4,
        read: () => dataQueue()?.legacyPfn ?? 0,
        write: (v) => {
          const s = dataQueue();
          if (!s) return;
          this.legacy = true;
          s.setLegacyPfn(v);
          s.indirect = this.has(VIRTIO_F_RING_INDIRECT_DESC);
        },
      },
      { name: 'queue_num', off: 12, size: 2, read: () => dataQueue()?.maxSize ?? 0 },
      { name: 'queue_sel', off: 14, size: 2, read: () => this.queueSelect, write: (v) => (this.queueSelect = v & 0xffff) },
      { name: 'queue_notify', off: 16, size: 2, read: () => 0, write: (v) => this.legacyNotify(v) },
      {
        name: 'status',
        off: 18,
        size: 1,
        read: () => this.status,
        write: (v) => {
          if (v !== 0) this.legacy = true;
          this.writeStatus(v);
        },
      },
      { name: 'isr', off: 19, size: 1, read: () => this.readIsr() },
    ];
    if (msix) {
      fields.push(
        { name: 'config_vector', off: 20, size: 2, read: () => this.configVector, write: (v) => (this.configVector = this.vectorOrNone(v)) },
        {
          name: 'queue_vector',
          off: 22,
          size: 2,
          read: () => dataQueue()?.msixVector ?? VIRTIO_MSI_NO_VECTOR,
          write: (v) => {
            const s = dataQueue();
            if (s) s.msixVector = this.vectorOrNone(v);
          },
        },
      );
    }
    return fields;
  }

  /** A legacy driver notification: the data queue with this index (what the legacy notify address takes too). */
  legacyNotify(value: number): void {
    const qi = value & 0xffff;
    if (qi < this.numQueues) this.kick(qi);
    else this.stats.notifications++;
  }

  /** The legacy common header as it looks now: 20 bytes, or 24 with MSI-X enabled on the function. */
  get legacyCommon(): RegisterView {
    return this.fn?.msixEnabled ? this.legacyMsix : this.legacyNoMsix;
  }

  private refreshDeviceConfig(): void {
    const c = this.deviceCfg;
    const v = new DataView(c.buffer);
    c.set(this.mac, VIRTIO_NET_CFG_MAC);
    v.setUint16(VIRTIO_NET_CFG_STATUS, this.linkUp ? VIRTIO_NET_S_LINK_UP : 0, true);
    v.setUint16(VIRTIO_NET_CFG_MAX_VQ_PAIRS, 1, true);
    v.setUint16(VIRTIO_NET_CFG_MTU, 1500, true);
    v.setUint32(VIRTIO_NET_CFG_SPEED, 0xffffffff, true); // SPEED_UNKNOWN
    c[VIRTIO_NET_CFG_DUPLEX] = 0xff; // DUPLEX_UNKNOWN
  }

  /** Field [start, end) of struct virtio_net_config holding byte `off`, or null (padding). */
  deviceConfigField(off: number): [number, number] | null {
    if (off < 0) return null;
    if (off < 6) return [0, 6];
    if (off < 8) return [6, 8];
    if (off < 10) return [8, 10];
    if (off < 12) return [10, 12];
    if (off < 16) return [12, 16];
    if (off < 17) return [16, 17];
    return null;
  }

  /** Device configuration bytes [off, off+len) (reads past the structure give 0). */
  readDeviceConfig(off: number, len: number): Uint8Array {
    const out = new Uint8Array(len);
    for (let i = 0; i < len; i++) {
      const at = off + i;
      out[i] = at >= 0 && at < this.deviceCfg.length ? this.deviceCfg[at] : 0;
    }
    return out;
  }

  /**
   * A device configuration write. Through the modern interface every field is read-only; a legacy
   * driver (VERSION_1 not negotiated) may write the MAC address, which the switch then uses.
   */
  writeDeviceConfig(off: number, data: Uint8Array, legacyPath: boolean): void {
    if (!legacyPath || this.has(VIRTIO_F_VERSION_1)) return;
    let changed = false;
    for (let i = 0; i < data.length; i++) {
      const at = off + i;
      if (at >= VIRTIO_NET_CFG_MAC && at < VIRTIO_NET_CFG_MAC + 6 && this.mac[at] !== data[i]) {
        this.mac[at] = data[i];
        changed = true;
      }
    }
    if (changed) {
      this.netSwitch.setMac(this, this.mac);
      this.refreshDeviceConfig();
      this.configGeneration = (this.configGeneration + 1) & 0xff;
    }
  }

  // ---- DeviceModel: the BAR and config hooks ---------------------------------------------------------

  /** DeviceModel BAR read: the virtio structures in the BAR (common, ISR, device config, notify). */
  barRead(_fn: PciFunction, bar: number, offset: number, size: 1 | 2 | 4): number {
    const l = this.layout;
    if (bar !== l.bar) return 0;
    if (offset >= l.common && offset < l.common + l.commonLength) return this.common.read(offset - l.common, size);
    if (offset === l.isr) return this.readIsr();
    if (offset >= l.device && offset < l.device + l.deviceLength) {
      const b = this.readDeviceConfig(offset - l.device, size);
      return (b[0] | (size > 1 ? b[1] << 8 : 0) | (size > 2 ? (b[2] << 16) | (b[3] << 24) : 0)) >>> 0;
    }
    return 0;
  }

  /**
   * A write narrower than its register (an emulator that splits a 16-bit MMIO write into bytes):
   * the device does what virtio leaves to it, and says so once per register and width.
   */
  private partialWrite(register: string, registerSize: number, off: number, size: number, outcome: string): void {
    const fn = this.fn;
    if (fn === null) return;
    fn.hw.log.once(`partial:${fn.bdf}:${register}:${size}`, `${fn.bdf} (${this.name}): ${size}-byte write at byte ${off} of the ${registerSize}-byte register ${register}: ${outcome}; virtio drivers access a register with its own width`);
  }

  /** DeviceModel BAR write: common config registers and queue notifications; the rest is read-only. */
  barWrite(_fn: PciFunction, bar: number, offset: number, size: 1 | 2 | 4, value: number): void {
    const l = this.layout;
    if (bar !== l.bar) return;
    const n = offset - l.notify;
    if (n >= 0 && n < l.notifyLength) {
      if (n % l.notifyMultiplier === 0) this.kick(n / l.notifyMultiplier);
      return;
    }
    if (l.legacyNotify >= 0 && (offset === l.legacyNotify || offset === l.legacyNotify + 1)) {
      if (size >= 2 && offset === l.legacyNotify) this.legacyNotify(value);
      else this.partialWrite('queue_notify', 2, offset - l.legacyNotify, size, 'dropped (no queue is notified)');
      return;
    }
    if (offset >= l.common && offset < l.common + l.commonLength) this.common.write(offset - l.common, size, value);
    // ISR, device configuration and everything else: read-only
  }

  /** DeviceModel hook after a config write: virtio pci_cfg access window and the configHook. */
  configWritten(fn: PciFunction, off: number, size: 1 | 2 | 4, value: number): void {
    const h = this.configHook;
    if (h !== null && h.covers(off, size)) h.configWritten(off, size);
    const caps = this.caps;
    if (caps !== null && off < caps.pciCfg + VIRTIO_PCI_CFG_CAP_DATA + 4 && caps.pciCfg + VIRTIO_PCI_CFG_CAP_DATA < off + size) {
      const t = this.pciCfgTarget(fn);
      if (t !== null) {
        const data = fn.core.raw.cfgRead(fn.slot, caps.pciCfg + VIRTIO_PCI_CFG_CAP_DATA, 4) >>> 0;
        fn.barWrite(t.bar, t.offset, t.length, (data & lengthMask(t.length)) >>> 0);
      }
    }
    void value;
  }

  /** pci_cfg_data read (4.1.4.9): the device reads cap.length bytes at cap.offset of cap.bar first. */
  configRead(fn: PciFunction, off: number, size: 1 | 2 | 4): number {
    const caps = this.caps!;
    const data = caps.pciCfg + VIRTIO_PCI_CFG_CAP_DATA;
    const t = this.pciCfgTarget(fn);
    if (t !== null) {
      const v = fn.barRead(t.bar, t.offset, t.length);
      const cur = fn.core.raw.cfgRead(fn.slot, data, 4) >>> 0;
      const m = lengthMask(t.length);
      fn.setRegister(data, 4, ((cur & ~m) | (v & m)) >>> 0);
    }
    return fn.core.raw.cfgRead(fn.slot, off, size) >>> 0;
  }

  /** The BAR access the PCI configuration access capability selects, or null when it selects none. */
  private pciCfgTarget(fn: PciFunction): { bar: number; offset: number; length: 1 | 2 | 4 } | null {
    const cap = this.caps!.pciCfg;
    const bar = fn.core.raw.cfgRead(fn.slot, cap + VIRTIO_PCI_CAP_BAR, 1);
    const offset = fn.core.raw.cfgRead(fn.slot, cap + VIRTIO_PCI_CAP_OFFSET, 4) >>> 0;
    const length = fn.core.raw.cfgRead(fn.slot, cap + VIRTIO_PCI_CAP_LENGTH, 4) >>> 0;
    if (bar > 5 || (length !== 1 && length !== 2 && length !== 4) || offset % length !== 0) return null;
    const size = fn.barSize(bar);
    if (!(offset + length <= size)) return null;
    return { bar, offset, length };
  }

  /** PCI-level reset (FLR, bus reset ...): the device resets and gets its factory MAC back. */
  reset(_fn: PciFunction): void {
    if (this.fn === null) return; // a removed VF's device: nothing left to reset
    this.resetDevice();
    if (this.mac.some((b, i) => b !== this.factoryMac[i])) this.setMac(this.factoryMac);
    this.linkUp = true;
    this.refreshDeviceConfig();
    this.configHook?.reset();
  }
}

function lengthMask(length: number): number {
  return length === 4 ? 0xffffffff : length === 2 ? 0xffff : 0xff;
}
