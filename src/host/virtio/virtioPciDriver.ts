import { AdminQueueClient } from '../../hw/devices/virtio/adminClient.js';
import { VirtioModernDriver } from '../../hw/devices/virtio/modernDriver.js';
import {
  featureBits, VIRTIO_CONFIG_S_DRIVER_OK, VIRTIO_F_ADMIN_VQ, VIRTIO_F_SR_IOV, VIRTIO_F_VERSION_1, VIRTIO_LEGACY_ADMIN_CMD_BITMAP,
  VIRTIO_NET_F_MAC, VIRTIO_NET_F_STATUS, VIRTIO_PCI_CAP_CFG_TYPE, VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_VENDOR_ID,
} from '../../hw/devices/virtio/virtioSpec.js';
import { PCI_CAP_ID_VNDR, PCI_CAPABILITY_LIST, PCI_STATUS, PCI_STATUS_CAP_LIST } from '../../hw/pciRegs.js';
import { hostDma } from '../dmaAlloc.js';
import { pciDisableSriov, pciEnableSriov, pciNumVf } from '../iov.js';
import { HostPciDev } from '../pciCore.js';
import type { PciDev, PciDeviceId, PciDriver } from '../pciDriver.js';
import { pciDeviceId } from '../pciDriver.js';
import { VfioError } from '../vfio/vfioError.js';
import { ADMIN_VQ_FAST_BYTES, AdminVqFastPath } from './adminVq.js';

/** Entries of the administration virtqueue the PF driver sets up. */
const ADMIN_QUEUE_SIZE = 64;

/** Modern (virtio 1.x) PCI device IDs: 0x1040 + virtio device type (virtio_pci_modern_probe). */
const MODERN_FIRST = 0x1040;
const MODERN_LAST = 0x107f;

/** Features the host driver accepts from a PF: what the admin queue and SR-IOV need, and a NIC's basics. */
const DRIVER_FEATURES = featureBits(VIRTIO_F_VERSION_1, VIRTIO_NET_F_MAC, VIRTIO_NET_F_STATUS, VIRTIO_F_SR_IOV, VIRTIO_F_ADMIN_VQ);

/** A vendor-specific capability of virtio structure type `cfgType` in the standard chain (virtio_pci_find_capability). */
function hasVirtioCap(dev: HostPciDev, cfgType: number): boolean {
  if ((dev.readConfig(PCI_STATUS, 2) & PCI_STATUS_CAP_LIST) === 0) return false;
  let pos = dev.readConfig(PCI_CAPABILITY_LIST, 1) & 0xfc;
  for (let ttl = 48; pos >= 0x40 && ttl > 0; ttl--) {
    if (dev.readConfig(pos, 1) === PCI_CAP_ID_VNDR && dev.readConfig(pos + VIRTIO_PCI_CAP_CFG_TYPE, 1) === cfgType) return true;
    pos = dev.readConfig(pos + 1, 1) & 0xfc;
  }
  return false;
}

/**
 * What virtio-pci keeps for a device it drives (struct virtio_pci_device): the modern transport, the
 * negotiated features, and with VIRTIO_F_ADMIN_VQ the administration virtqueue with the command list
 * LIST_QUERY/LIST_USE settled (admin_vq.supported_cmds).
 */
export class VirtioPciDevice {
  /** admin_vq.supported_cmds: the opcodes LIST_USE enabled */
  supportedCmds = 0;
  /** vp_dev->admin_vq: the administration virtqueue client, null without VIRTIO_F_ADMIN_VQ. */
  admin: AdminQueueClient | null = null;
  /** The per-command path for the legacy access commands (preallocated two-descriptor chain on the admin queue); null when not set up. */
  fast: AdminVqFastPath | null = null;
  /** host DMA memory holding the admin queue and its buffers */
  dmaBase = -1;

  constructor(
    /** The host PCI device virtio-pci is bound to. */
    readonly pdev: HostPciDev,
    /** The modern transport (virtio_pci_modern_device) driving the function. */
    readonly transport: VirtioModernDriver,
    /** the features negotiated [bits 0-31, 32-63] */
    readonly features: [number, number],
  ) {}

  /** __virtio_test_bit on the negotiated features */
  has(bit: number): boolean {
    return bit < 32 ? ((this.features[0] >>> bit) & 1) === 1 : ((this.features[1] >>> (bit - 32)) & 1) === 1;
  }

  /** device_status as the device reports it now */
  get status(): number {
    return this.transport.status;
  }
}

/**
 * The host's virtio-pci driver, reduced to what a virtio PF needs here: it binds to modern virtio
 * PFs (vendor 0x1af4, device 0x1040-0x107f), brings the device up (pci_enable_device, bus mastering,
 * reset, ACKNOWLEDGE, DRIVER, features VERSION_1 | MAC | STATUS | SR_IOV | ADMIN_VQ as offered,
 * FEATURES_OK, the administration virtqueue in host DMA memory, DRIVER_OK), negotiates the admin
 * command list (virtio_pci_admin_cmd_list_init), and serves the legacy I/O admin commands of its VFs
 * (legacyIo.ts: virtio_pci_admin_legacy_*). Its sriov_configure is virtio_pci_sriov_configure.
 *
 * Differences from Linux, on purpose: it does not drive the device class on top (no virtio-net
 * netdev on the PF; the PF's data queues stay unused), and it does not bind VFs (probe answers
 * ENODEV for a VF, so SR-IOV VFs stay unbound for vfio and the virtio-vfio-pci variant; Linux's
 * virtio-pci would take them unless sriov_drivers_autoprobe is off).
 */
export class VirtioPciDriver implements PciDriver {
  readonly name = 'virtio-pci';
  /** PCI_DEVICE(PCI_VENDOR_ID_REDHAT_QUMRANET, PCI_ANY_ID) */
  readonly idTable: readonly PciDeviceId[] = [pciDeviceId({ vendor: VIRTIO_PCI_VENDOR_ID })];

  probe(dev: PciDev, _id: PciDeviceId | null): void {
    if (!(dev instanceof HostPciDev)) throw new VfioError('ENODEV', `${dev.bdf} is not a host PCI device`);
    if (dev.isVirtfn) throw new VfioError('ENODEV', `${dev.bdf} is an SR-IOV VF; this virtio-pci drives PFs only`);
    if (dev.id.device < MODERN_FIRST || dev.id.device > MODERN_LAST) {
      throw new VfioError('ENODEV', `${dev.bdf}: device ID 0x${dev.id.device.toString(16)} is not a modern virtio device`);
    }
    // vp_modern_probe: without a common configuration capability this is no modern virtio device
    // (looked up before pci_enable_device, so a function that is refused keeps its Command register)
    if (!hasVirtioCap(dev, VIRTIO_PCI_CAP_COMMON_CFG)) throw new VfioError('ENODEV', `${dev.bdf} has no virtio common configuration capability`);
    const core = dev.core;
    core.enableDevice(dev);
    let vp: VirtioPciDevice | null = null;
    try {
      const transport = new VirtioModernDriver(core.hw, dev.bdf);
      // pci_iomap: the structures must sit in BARs the host assigned, where the host put them
      for (const s of [transport.common, transport.notify, transport.isr, transport.device]) {
        if (dev.resourceLen(s.bar) === 0 || dev.resourceStart(s.bar) !== dev.fn.barBase(s.bar)) {
          throw new VfioError('ENODEV', `${dev.bdf}: BAR${s.bar} holding the virtio structures has no host address`);
        }
      }
      core.setMaster(dev, true);
      const offered = transport.deviceFeatures();
      const want: [number, number] = [(offered[0] & DRIVER_FEATURES[0]) >>> 0, (offered[1] & DRIVER_FEATURES[1]) >>> 0];
      const accepted = transport.negotiate(want);
      if (accepted === null) throw new VfioError('ENODEV', `${dev.bdf}: the device refused FEATURES_OK`);
      vp = new VirtioPciDevice(dev, transport, accepted);
      if (vp.has(VIRTIO_F_ADMIN_VQ)) {
        const clientBytes = AdminQueueClient.bytes(ADMIN_QUEUE_SIZE);
        vp.dmaBase = hostDma(core.hw.memory).alloc(clientBytes + ADMIN_VQ_FAST_BYTES);
        vp.admin = new AdminQueueClient(transport, vp.dmaBase, ADMIN_QUEUE_SIZE);
        transport.driverOk();
        vp.supportedCmds = vp.admin.init();
        vp.fast = new AdminVqFastPath(core.hw, vp.admin, vp.dmaBase + clientBytes);
      } else {
        transport.driverOk();
      }
      if ((transport.status & VIRTIO_CONFIG_S_DRIVER_OK) === 0) throw new VfioError('EIO', `${dev.bdf}: DRIVER_OK did not stick`);
    } catch (e) {
      if (vp !== null && vp.dmaBase >= 0) hostDma(core.hw.memory).release(vp.dmaBase);
      core.disableDevice(dev);
      if (e instanceof VfioError) throw e;
      throw new VfioError('ENODEV', `${dev.bdf}: ${e instanceof Error ? e.message : String(e)}`);
    }
    dev.driverData = vp;
  }

  /** virtio_pci_remove: SR-IOV off first (EBUSY while a VF's device file is open), then reset the device. */
  remove(dev: PciDev): void {
    const vp = dev.driverData as VirtioPciDevice | null;
    pciDisableSriov(dev);
    if (vp === null) return;
    const core = vp.pdev.core;
    if (vp.pdev.present && vp.pdev.fn.alive) {
      try {
        vp.transport.reset();
      } catch {
        // a device that does not reset is going away anyway
      }
    }
    if (vp.dmaBase >= 0) hostDma(core.hw.memory).release(vp.dmaBase);
    vp.admin = null;
    vp.fast = null;
    core.disableDevice(vp.pdev);
    dev.driverData = null;
  }

  /**
   * virtio_pci_sriov_configure: EBUSY before DRIVER_OK, EINVAL without VIRTIO_F_SR_IOV negotiated,
   * then pci_disable_sriov for 0 or pci_enable_sriov (returns the number enabled).
   */
  sriovConfigure(dev: PciDev, numVfs: number): number {
    const vp = dev.driverData as VirtioPciDevice | null;
    if (vp === null) throw new VfioError('ENODEV', `${dev.bdf} is not driven by virtio-pci`);
    if ((vp.status & VIRTIO_CONFIG_S_DRIVER_OK) === 0) throw new VfioError('EBUSY', `${dev.bdf}: the virtio device is not DRIVER_OK`);
    if (!vp.has(VIRTIO_F_SR_IOV)) throw new VfioError('EINVAL', `${dev.bdf}: VIRTIO_F_SR_IOV was not negotiated`);
    if (numVfs === 0) {
      pciDisableSriov(dev);
      return 0;
    }
    pciEnableSriov(dev, numVfs);
    return pciNumVf(dev);
  }

  /** virtio_pci_admin_has_legacy_io for the PF's own device data. */
  static hasLegacyIo(vp: VirtioPciDevice): boolean {
    return vp.has(VIRTIO_F_ADMIN_VQ) && vp.fast !== null && (vp.supportedCmds & VIRTIO_LEGACY_ADMIN_CMD_BITMAP) === VIRTIO_LEGACY_ADMIN_CMD_BITMAP;
  }
}
