import { VIRTIO_ADMIN_CMD_NOTIFY_INFO_FLAGS_OWNER_MEM, VIRTIO_PCI_DEVICE_ID_NET, VIRTIO_PCI_VENDOR_ID } from '../../../hw/devices/virtio/virtioSpec.js';
import { HostPciDev } from '../../pciCore.js';
import type { PciDev, PciDeviceId, PciDriver } from '../../pciDriver.js';
import { pciDeviceId } from '../../pciDriver.js';
import { virtioMemberId, virtioPciAdminHasLegacyIo, virtioPciAdminLegacyIoNotifyInfo } from '../../virtio/legacyIo.js';
import { splitOffset } from '../../vfio/deviceFile.js';
import {
  vfioPciCoreCloseDevice, vfioPciCoreDeviceFeature, vfioPciCoreFinishEnable, vfioPciCoreInit, vfioPciCoreIoctl, vfioPciCoreMatch,
  vfioPciCoreMmap, vfioPciCoreOpenDevice, vfioPciCoreRead, vfioPciCoreRelease, vfioPciCoreRequest, vfioPciCoreWrite,
} from '../../vfio/pciCore/vfioPciCore.js';
import { VFIO } from '../../vfio/uapi/constants.js';
import type { VfioCore } from '../../vfio/vfioCore.js';
import type { VfioDeviceOps } from '../../vfio/vfioDeviceOps.js';
import { VfioError } from '../../vfio/vfioError.js';
import { vfioPciDriver } from '../../vfio/vfioPciDriver.js';
import {
  VIRTIOVF_NET_BAR0_SIZE, virtiovfBar0RegionInfo, virtiovfBar0Rw, virtiovfCaptureConfigWrite, virtiovfPatchConfigRead,
} from './legacyIo.js';
import { VirtiovfPciCoreDevice } from './virtiovfDevice.js';
import { vfioPciCoreMmapRegion } from '../../vfio/pciCore/barMapping.js';

// The virtio-vfio-pci variant driver (Linux drivers/vfio/pci/virtio/main.c with legacy_io.c): a
// virtio-net SR-IOV VF whose PF driver supports the legacy admin commands, presented to user space
// as a transitional virtio-net device with a legacy I/O BAR0. Its ops are vfio-pci-core's except
// where the legacy BAR0 and the config overrides need their own (read, write, ioctl for
// GET_REGION_INFO of BAR0 and the resets, open_device for the notify area).

/** Name of the virtio-net VF variant driver (Linux's virtio_vfio_pci, legacy I/O through the PF's admin queue). */
export const VIRTIO_VFIO_PCI_DRIVER = 'virtio-vfio-pci';

/** PCI_DRIVER_OVERRIDE_DEVICE_VFIO(PCI_VENDOR_ID_REDHAT_QUMRANET, 0x1041): virtio-net VFs, override-only. */
export const VIRTIOVF_ID_TABLE: PciDeviceId[] = [pciDeviceId({ vendor: VIRTIO_PCI_VENDOR_ID, device: VIRTIO_PCI_DEVICE_ID_NET, overrideOnly: true })];

/** virtiovf_bar0_exists: the function implements a BAR0 of its own (pdev->resource[0].flags). */
function bar0Exists(pdev: PciDev): boolean {
  return pdev instanceof HostPciDev ? pdev.resource(0) !== null : pdev.fn.barKind(0) !== 0;
}

/**
 * The probe's condition (virtiovf_support_legacy_io): a VF, its PF driven by virtio-pci with the
 * legacy admin commands (virtio_pci_admin_has_legacy_io), and no physical BAR0 the emulated one
 * would hide. Anything else is refused with ENODEV.
 */
export function virtiovfSupportsLegacyIo(pdev: PciDev): boolean {
  return pdev.isVirtfn && pdev.id.device === VIRTIO_PCI_DEVICE_ID_NET && virtioPciAdminHasLegacyIo(pdev) && !bar0Exists(pdev);
}

function probe(pdev: PciDev): void {
  if (!pdev.isVirtfn) throw new VfioError('ENODEV', `${pdev.bdf} is not an SR-IOV VF`);
  if (bar0Exists(pdev)) throw new VfioError('ENODEV', `${pdev.bdf} has a physical BAR0; the legacy I/O BAR0 cannot be emulated over it`);
  if (!virtioPciAdminHasLegacyIo(pdev)) throw new VfioError('ENODEV', `${pdev.bdf}: the PF driver does not support the legacy admin commands`);
}

/**
 * virtiovf_pci_init_device: the notify area is learned once, with LEGACY_NOTIFY_INFO asking for the
 * member's own memory (VIRTIO_ADMIN_CMD_NOTIFY_INFO_FLAGS_OWNER_MEM); BAR0 is 32 bytes.
 */
function create(vfio: VfioCore, pdev: PciDev, ops: VfioDeviceOps<VirtiovfPciCoreDevice>): VirtiovfPciCoreDevice {
  const info = virtioPciAdminLegacyIoNotifyInfo(pdev, VIRTIO_ADMIN_CMD_NOTIFY_INFO_FLAGS_OWNER_MEM);
  if (info.bar > 5) throw new VfioError('EINVAL', `${pdev.bdf}: the notify area is in BAR ${info.bar}`);
  return new VirtiovfPciCoreDevice(vfio, pdev, ops, {
    bar0Size: VIRTIOVF_NET_BAR0_SIZE,
    notifyBar: info.bar,
    notifyOffset: info.offset,
    memberId: virtioMemberId(pdev),
  });
}

/**
 * virtiovf_pci_open_device: the core enables the device (its reset is the variant's reset_done:
 * the Command the variant keeps starts from 0), the notify register must be reachable through the
 * VF's BAR (vfio_pci_core_setup_barmap; ENOMEM otherwise), then finish_enable.
 */
function openDevice(vdev: VirtiovfPciCoreDevice): void {
  vfioPciCoreOpenDevice(vdev);
  vdev.pciCmd = 0;
  if (vdev.barLen(vdev.notifyBar) < vdev.notifyOffset + 2) {
    vfioPciCoreCloseDevice(vdev);
    throw new VfioError('ENOMEM', `${vdev.bdf}: BAR ${vdev.notifyBar} holding the notify register is not mapped`);
  }
  vfioPciCoreFinishEnable(vdev);
}

/** virtiovf_pci_core_read: config through the core then patched, BAR0 emulated, the rest the core's. */
function read(vdev: VirtiovfPciCoreDevice, offset: bigint, buf: Uint8Array): number {
  const [index, pos] = splitOffset(offset);
  if (index === VFIO.PCI_BAR0_REGION_INDEX) {
    vdev.requireOpen();
    return virtiovfBar0Rw(vdev, pos, buf, false);
  }
  const n = vfioPciCoreRead(vdev, offset, buf);
  if (index === VFIO.PCI_CONFIG_REGION_INDEX) virtiovfPatchConfigRead(vdev, pos, buf, n);
  return n;
}

/** virtiovf_pci_core_write: Command and BAR0 bytes kept by the variant, BAR0 emulated, the rest the core's. */
function write(vdev: VirtiovfPciCoreDevice, offset: bigint, data: Uint8Array): number {
  const [index, pos] = splitOffset(offset);
  if (index === VFIO.PCI_CONFIG_REGION_INDEX) {
    vdev.requireOpen();
    virtiovfCaptureConfigWrite(vdev, pos, data);
  }
  if (index === VFIO.PCI_BAR0_REGION_INDEX) {
    vdev.requireOpen();
    return virtiovfBar0Rw(vdev, pos, data, true);
  }
  return vfioPciCoreWrite(vdev, offset, data);
}

/**
 * virtiovf_vfio_pci_core_ioctl: GET_REGION_INFO of BAR0 answers the emulated BAR; a reset the core
 * performs is followed by the variant's reset_done (virtiovf_pci_aer_reset_done: pci_cmd = 0).
 */
function ioctl(vdev: VirtiovfPciCoreDevice, request: number, arg: Uint8Array): number {
  if (request === VFIO.DEVICE_GET_REGION_INFO && arg.length >= 12 && new DataView(arg.buffer, arg.byteOffset, arg.byteLength).getUint32(8, true) === VFIO.PCI_BAR0_REGION_INDEX) {
    vdev.requireOpen();
    return virtiovfBar0RegionInfo(vdev, arg);
  }
  const r = vfioPciCoreIoctl(vdev, request, arg);
  if (request === VFIO.DEVICE_RESET || request === VFIO.DEVICE_PCI_HOT_RESET) vdev.pciCmd = 0;
  return r;
}

/** virtiovf_vfio_pci_tran_ops: the transitional device's ops. */
export const virtiovfVfioPciTranOps: VfioDeviceOps<VirtiovfPciCoreDevice> = {
  name: 'virtio-vfio-pci-trans',
  init: vfioPciCoreInit,
  release: vfioPciCoreRelease,
  openDevice,
  closeDevice: vfioPciCoreCloseDevice,
  read,
  write,
  ioctl,
  mmap: vfioPciCoreMmap,
  mmapRegion: vfioPciCoreMmapRegion,
  request: vfioPciCoreRequest,
  match: vfioPciCoreMatch,
  deviceFeature: vfioPciCoreDeviceFeature,
};

/**
 * The virtio-vfio-pci driver: override-only entry for 0x1af4:0x1041 (so best-match binding picks it
 * over generic vfio-pci for virtio-net functions), probe refused (ENODEV) unless the device is a VF
 * without a physical BAR0 whose PF driver supports the legacy admin commands.
 */
export function virtioVfioPciDriver(vfio: VfioCore): PciDriver {
  return vfioPciDriver<VirtiovfPciCoreDevice>(vfio, {
    name: VIRTIO_VFIO_PCI_DRIVER,
    idTable: VIRTIOVF_ID_TABLE,
    ops: virtiovfVfioPciTranOps,
    probe,
    create,
  });
}

/** The variant device bound to `pdev`, if virtio-vfio-pci drives it. */
export function virtiovfDevice(pdev: PciDev): VirtiovfPciCoreDevice | null {
  return pdev.driverData instanceof VirtiovfPciCoreDevice ? pdev.driverData : null;
}
