import type { Hardware } from '../../hardware.js';
import { PCI_CAP_ID_VNDR, PCI_CAPABILITY_LIST } from '../../pciRegs.js';
import { DriverVirtqueue } from './driverVirtqueue.js';
import {
  VIRTIO_CONFIG_S_ACKNOWLEDGE, VIRTIO_CONFIG_S_DRIVER, VIRTIO_CONFIG_S_DRIVER_OK, VIRTIO_CONFIG_S_FEATURES_OK,
  VIRTIO_PCI_CAP_BAR, VIRTIO_PCI_CAP_CFG_TYPE, VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_CAP_ISR_CFG,
  VIRTIO_PCI_CAP_LENGTH, VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_PCI_CAP_OFFSET, VIRTIO_PCI_CAP_PCI_CFG, VIRTIO_PCI_COMMON_ADM_Q_IDX,
  VIRTIO_PCI_COMMON_ADM_Q_NUM, VIRTIO_PCI_COMMON_DF, VIRTIO_PCI_COMMON_DFSELECT, VIRTIO_PCI_COMMON_GF, VIRTIO_PCI_COMMON_GFSELECT,
  VIRTIO_PCI_COMMON_MSIX, VIRTIO_PCI_COMMON_Q_AVAILHI, VIRTIO_PCI_COMMON_Q_AVAILLO, VIRTIO_PCI_COMMON_Q_DESCHI,
  VIRTIO_PCI_COMMON_Q_DESCLO, VIRTIO_PCI_COMMON_Q_ENABLE, VIRTIO_PCI_COMMON_Q_MSIX, VIRTIO_PCI_COMMON_Q_NOFF,
  VIRTIO_PCI_COMMON_Q_SELECT, VIRTIO_PCI_COMMON_Q_SIZE, VIRTIO_PCI_COMMON_Q_USEDHI, VIRTIO_PCI_COMMON_Q_USEDLO,
  VIRTIO_PCI_COMMON_STATUS, VIRTIO_PCI_NOTIFY_CAP_MULT, VIRTIO_MSI_NO_VECTOR,
} from './virtioSpec.js';

/** Where one virtio structure is: BAR, offset and length from its capability. */
export interface VirtioStructure {
  cap: number;
  bar: number;
  offset: number;
  length: number;
}

/**
 * A modern virtio PCI driver's transport half, driving a function through config cycles and MMIO the
 * way Linux's virtio_pci_modern does: finds the virtio capabilities, negotiates features, sets up
 * split virtqueues, kicks them. For tests, the host-side admin client and benchmarks; the function's
 * BARs must already be placed and decoding (see bringUp.ts).
 */
export class VirtioModernDriver {
  /** Where the common configuration structure is (VIRTIO_PCI_CAP_COMMON_CFG). */
  readonly common: VirtioStructure;
  /** Where the notification structure is (VIRTIO_PCI_CAP_NOTIFY_CFG), with its notify_off_multiplier. */
  readonly notify: VirtioStructure & {
    /** notify_off_multiplier: queue `i`'s notify address is base + queue_notify_off(i) * multiplier. */
    multiplier: number;
  };
  /** Where the ISR status byte is (VIRTIO_PCI_CAP_ISR_CFG). */
  readonly isr: VirtioStructure;
  /** Where the device-specific configuration is (VIRTIO_PCI_CAP_DEVICE_CFG). */
  readonly device: VirtioStructure;
  /** Config offset of the VIRTIO_PCI_CAP_PCI_CFG access window capability, 0 if the device has none. */
  readonly pciCfg: number;
  private notifyBase = 0;
  private commonBase = 0;

  constructor(
    /** The hardware the function is on (config cycles and MMIO go through it). */
    readonly hw: Hardware,
    /** The function driven, e.g. "0000:00:03.0". */
    readonly bdf: string,
  ) {
    const found = new Map<number, VirtioStructure>();
    let pciCfg = 0;
    let notifyMult = 0;
    let p = hw.configRead(bdf, PCI_CAPABILITY_LIST, 1) & 0xfc;
    for (let ttl = 48; p !== 0 && ttl > 0; ttl--) {
      if (hw.configRead(bdf, p, 1) === PCI_CAP_ID_VNDR) {
        const type = hw.configRead(bdf, p + VIRTIO_PCI_CAP_CFG_TYPE, 1);
        const s = {
          cap: p,
          bar: hw.configRead(bdf, p + VIRTIO_PCI_CAP_BAR, 1),
          offset: hw.configRead(bdf, p + VIRTIO_PCI_CAP_OFFSET, 4),
          length: hw.configRead(bdf, p + VIRTIO_PCI_CAP_LENGTH, 4),
        };
        if (type === VIRTIO_PCI_CAP_PCI_CFG && pciCfg === 0) pciCfg = p;
        else if (!found.has(type)) found.set(type, s);
        if (type === VIRTIO_PCI_CAP_NOTIFY_CFG && notifyMult === 0) notifyMult = hw.configRead(bdf, p + VIRTIO_PCI_NOTIFY_CAP_MULT, 4);
      }
      p = hw.configRead(bdf, p + 1, 1) & 0xfc;
    }
    const need = (t: number, what: string) => {
      const s = found.get(t);
      if (!s) throw new Error(`${bdf}: no virtio ${what} capability`);
      return s;
    };
    this.common = need(VIRTIO_PCI_CAP_COMMON_CFG, 'common');
    this.notify = { ...need(VIRTIO_PCI_CAP_NOTIFY_CFG, 'notify'), multiplier: notifyMult };
    this.isr = need(VIRTIO_PCI_CAP_ISR_CFG, 'ISR');
    this.device = need(VIRTIO_PCI_CAP_DEVICE_CFG, 'device');
    this.pciCfg = pciCfg;
    this.refreshBars();
  }

  /** Re-reads the BAR addresses (after the BARs moved). */
  refreshBars(): void {
    this.commonBase = this.structAddr(this.common);
    this.notifyBase = this.structAddr(this.notify);
  }

  /** MMIO address of a virtio structure: its BAR's current base plus its offset; throws if the BAR is unplaced. */
  structAddr(s: VirtioStructure): number {
    const fn = this.hw.function(this.bdf);
    if (!fn) throw new Error(`${this.bdf}: no such function`);
    const base = fn.barBase(s.bar);
    if (!(base > 0)) throw new Error(`${this.bdf}: BAR${s.bar} is not placed`);
    return base + s.offset;
  }

  /** MMIO read of the common configuration at `off` (virtio_pci_common_cfg field offsets). */
  read(off: number, size: 1 | 2 | 4): number {
    return this.hw.mmioRead(this.commonBase + off, size);
  }

  /** MMIO write to the common configuration at `off` (virtio_pci_common_cfg field offsets). */
  write(off: number, size: 1 | 2 | 4, value: number): void {
    this.hw.mmioWrite(this.commonBase + off, size, value);
  }

  /** device_status from the common configuration. */
  get status(): number {
    return this.read(VIRTIO_PCI_COMMON_STATUS, 1);
  }

  /** Writes device_status (0 resets the device). */
  set status(v: number) {
    this.write(VIRTIO_PCI_COMMON_STATUS, 1, v);
  }

  /** Writes 0 to device_status and checks it reads back 0. */
  reset(): void {
    this.status = 0;
    if (this.status !== 0) throw new Error(`${this.bdf}: device_status did not read 0 after reset`);
  }

  /** All 64 device feature bits as [bits 0-31, bits 32-63], through device_feature_select. */
  deviceFeatures(): [number, number] {
    this.write(VIRTIO_PCI_COMMON_DFSELECT, 4, 0);
    const lo = this.read(VIRTIO_PCI_COMMON_DF, 4);
    this.write(VIRTIO_PCI_COMMON_DFSELECT, 4, 1);
    return [lo, this.read(VIRTIO_PCI_COMMON_DF, 4)];
  }

  /** Writes the 64 driver feature bits through driver_feature_select (no FEATURES_OK yet). */
  writeDriverFeatures(lo: number, hi: number): void {
    this.write(VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
    this.write(VIRTIO_PCI_COMMON_GF, 4, lo >>> 0);
    this.write(VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
    this.write(VIRTIO_PCI_COMMON_GF, 4, hi >>> 0);
  }

  /**
   * Reset, ACKNOWLEDGE, DRIVER, accept `want` (intersected with what the device offers), FEATURES_OK.
   * Returns the accepted features, or null when the device refused FEATURES_OK.
   */
  negotiate(want: [number, number]): [number, number] | null {
    this.reset();
    this.status = VIRTIO_CONFIG_S_ACKNOWLEDGE;
    this.status = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
    const [lo, hi] = this.deviceFeatures();
    const accepted: [number, number] = [(lo & want[0]) >>> 0, (hi & want[1]) >>> 0];
    this.writeDriverFeatures(accepted[0], accepted[1]);
    this.status = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK;
    return (this.status & VIRTIO_CONFIG_S_FEATURES_OK) !== 0 ? accepted : null;
  }

  /** Sets DRIVER_OK in device_status: the driver is ready and the device may use its queues. */
  driverOk(): void {
    this.status = this.status | VIRTIO_CONFIG_S_DRIVER_OK;
  }

  /** admin_queue_index from the common configuration (VIRTIO_F_ADMIN_VQ). */
  get adminQueueIndex(): number {
    return this.read(VIRTIO_PCI_COMMON_ADM_Q_IDX, 2);
  }

  /** admin_queue_num from the common configuration: 0 = no admin virtqueue. */
  get adminQueueNum(): number {
    return this.read(VIRTIO_PCI_COMMON_ADM_Q_NUM, 2);
  }

  /** Writes config_msix_vector and returns what reads back (VIRTIO_MSI_NO_VECTOR when the device refused). */
  setConfigVector(v: number): number {
    this.write(VIRTIO_PCI_COMMON_MSIX, 2, v);
    return this.read(VIRTIO_PCI_COMMON_MSIX, 2);
  }

  /**
   * Sets up queue `index` with its rings at `base` (size: the device's maximum unless smaller is
   * asked for), optionally with an MSI-X vector, and enables it.
   */
  setupQueue(index: number, base: number, size?: number, vector = VIRTIO_MSI_NO_VECTOR): DriverVirtqueue {
    this.write(VIRTIO_PCI_COMMON_Q_SELECT, 2, index);
    const max = this.read(VIRTIO_PCI_COMMON_Q_SIZE, 2);
    if (max === 0) throw new Error(`${this.bdf}: queue ${index} does not exist`);
    const n = size ?? max;
    this.write(VIRTIO_PCI_COMMON_Q_SIZE, 2, n);
    const q = new DriverVirtqueue(this.hw.memory, base, n, 'modern');
    const hilo = (lo: number, hi: number, a: number) => {
      this.write(lo, 4, a % 2 ** 32);
      this.write(hi, 4, Math.floor(a / 2 ** 32));
    };
    hilo(VIRTIO_PCI_COMMON_Q_DESCLO, VIRTIO_PCI_COMMON_Q_DESCHI, q.descAddr);
    hilo(VIRTIO_PCI_COMMON_Q_AVAILLO, VIRTIO_PCI_COMMON_Q_AVAILHI, q.availAddr);
    hilo(VIRTIO_PCI_COMMON_Q_USEDLO, VIRTIO_PCI_COMMON_Q_USEDHI, q.usedAddr);
    this.write(VIRTIO_PCI_COMMON_Q_MSIX, 2, vector);
    this.write(VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
    return q;
  }

  /** The notification address of queue `index` (cap.offset + queue_notify_off * notify_off_multiplier). */
  notifyAddress(index: number): number {
    this.write(VIRTIO_PCI_COMMON_Q_SELECT, 2, index);
    return this.notifyBase + this.read(VIRTIO_PCI_COMMON_Q_NOFF, 2) * this.notify.multiplier;
  }

  /** Available-buffer notification: the queue index written to its notify address. */
  kick(index: number, address = this.notifyAddress(index)): void {
    this.hw.mmioWrite(address, 2, index);
  }

  /** Reads the ISR status byte (which clears it, as on the device). */
  readIsr(): number {
    return this.hw.mmioRead(this.structAddr(this.isr), 1);
  }

  /** MMIO read of the device-specific configuration (e.g. struct virtio_net_config) at `off`. */
  deviceConfig(off: number, size: 1 | 2 | 4): number {
    return this.hw.mmioRead(this.structAddr(this.device) + off, size);
  }
}
