import { L } from '../../../core/wasm.js';
import type { Core } from '../../../core/wasm.js';
import {
  PCI_BASE_ADDRESS_0, PCI_BASE_ADDRESS_SPACE_IO, PCI_COMMAND, PCI_COMMAND_IO, PCI_DEVICE_ID, PCI_REVISION_ID, PCI_SUBSYSTEM_ID,
  PCI_SUBSYSTEM_VENDOR_ID,
} from '../../../hw/pciRegs.js';
import { VIRTIO_ID_NET, VIRTIO_PCI_VENDOR_ID, VIRTIO_TRANS_ID_NET } from '../../../hw/devices/virtio/virtioSpec.js';
import { virtioPciAdminLegacyIoRead, virtioPciAdminLegacyIoWrite } from '../../virtio/legacyIo.js';
import { vfioPciCoreRangeIntersectRange } from '../../vfio/pciCore/vfioPciCore.js';
import { getLe, putLe } from '../../vfio/pciCore/regions.js';
import { VFIO } from '../../vfio/uapi/constants.js';
import { REGION_INFO_MINSZ, decodeRegionInfo, encodeRegionInfo } from '../../vfio/uapi/regionInfo.js';
import { VfioError } from '../../vfio/vfioError.js';
import type { VirtiovfPciCoreDevice } from './virtiovfDevice.js';

// The emulated legacy I/O BAR0 and the config-space overrides of the virtio-vfio-pci variant
// (Linux drivers/vfio/pci/virtio/legacy_io.c): what makes a virtio-net VF look like a transitional
// virtio-net device (0x1af4:0x1000, revision 0, subsystem 0x1af4:0x0001) with an I/O BAR0 that a
// legacy (virtio 0.9.5) driver programs. Each BAR0 access is decoded in the wasm core
// (assembly/virtioLegacy.ts) and becomes either a write of the VF's own notify register or one
// group administration command the PF's driver issues on its administration virtqueue.

/** VIRTIO_PCI_CONFIG_OFF(true) + offsetofend(struct virtio_net_config, status) = 24 + 8 */
export const VIRTIOVF_NET_BAR0_SIZE = 32;

/** The decode's targets (assembly/virtioLegacy.ts), read once from the module's globals. */
export const VL = {
  INVALID: L.VL_INVALID,
  NOTIFY: L.VL_NOTIFY,
  COMMON: L.VL_COMMON,
  DEVICE: L.VL_DEVICE,
} as const;

/** The core's decode: target | opcode << 8 | member offset << 16 (raw export, numbers only). */
export function virtioLegacyDecode(core: Core, pos: number, size: number, msix: number, isWrite: number, barSize: number): number {
  return core.raw.virtioLegacyDecode(pos, size, msix, isWrite, barSize);
}

/** The user enabled MSI-X on the device (vdev->irq_type == VFIO_PCI_MSIX_IRQ_INDEX). */
function msixEnabled(vdev: VirtiovfPciCoreDevice): number {
  return vdev.irqs.type === 'msix' ? 1 : 0;
}

/**
 * virtiovf_pci_bar0_rw: one access of buf.length bytes at `pos` of BAR0. EIO unless the user
 * enabled I/O decode in Command (as the variant last saw it written); EINVAL for what the decode
 * refuses (outside the 32 bytes, sizes other than 1, 2 and 4, QUEUE_NOTIFY other than 2 bytes at 16,
 * an access spanning the common header and the device configuration). QUEUE_NOTIFY reads and
 * writes the VF's notify register through the core's BAR access; everything else is a legacy admin
 * command through the PF (ENODEV when the PF is not driven by virtio-pci; the device's status as
 * errno when it refuses, e.g. EINVAL for a register it does not have or a VF that is disabled).
 * Returns the bytes done.
 */
export function virtiovfBar0Rw(vdev: VirtiovfPciCoreDevice, pos: number, buf: Uint8Array, isWrite: boolean): number {
  if ((vdev.pciCmd & PCI_COMMAND_IO) === 0) throw new VfioError('EIO', `${vdev.bdf}: I/O decode of the legacy BAR0 is off in Command`);
  const size = buf.length;
  const limit = vdev.bar0Size;
  if (pos >= limit) throw new VfioError('EINVAL', `offset ${pos} is beyond the ${limit}-byte legacy BAR0`);
  const code = virtioLegacyDecode(vdev.fn.core, pos, size, msixEnabled(vdev), isWrite ? 1 : 0, limit);
  const target = code & 0xff;
  if (target === VL.NOTIFY) {
    // vfio_pci_core_iowrite16/ioread16 with test_mem at the notify address
    if (!vdev.memoryEnabled()) throw new VfioError('EIO', `${vdev.bdf}: memory decode is disabled`);
    vdev.notifies++;
    if (isWrite) vdev.hwBarWrite(vdev.notifyBar, vdev.notifyOffset, 2, buf[0] | (buf[1] << 8));
    else putLe(buf, 0, 2, vdev.hwBarRead(vdev.notifyBar, vdev.notifyOffset, 2));
    return 2;
  }
  if (target === VL.INVALID) throw new VfioError('EINVAL', invalidReason(vdev, pos, size));
  const opcode = (code >>> 8) & 0xff;
  const offset = (code >>> 16) & 0xff;
  vdev.adminAccesses++;
  if (isWrite) {
    virtioPciAdminLegacyIoWrite(vdev.pdev, opcode, offset, size, getLe(buf, 0, size), vdev.memberId);
  } else {
    const v = virtioPciAdminLegacyIoRead(vdev.pdev, opcode, offset, size, vdev.memberId);
    buf[0] = v;
    if (size > 1) {
      buf[1] = v >>> 8;
      if (size > 2) {
        buf[2] = v >>> 16;
        buf[3] = v >>> 24;
      }
    }
  }
  return size;
}

function invalidReason(vdev: VirtiovfPciCoreDevice, pos: number, size: number): string {
  if (size !== 1 && size !== 2 && size !== 4) return `legacy BAR0 accesses are 1, 2 or 4 bytes, not ${size}`;
  if (pos + size > vdev.bar0Size) return `${size} bytes at ${pos} run past the ${vdev.bar0Size}-byte legacy BAR0`;
  if (pos === 16) return `QUEUE_NOTIFY takes 2-byte accesses, not ${size}`;
  return `${size} bytes at ${pos} span the legacy common header and the device configuration`;
}

/** Overlays `count` bytes of `value` (a register of `regSize` bytes at `reg`) onto a config read. */
function patch(buf: Uint8Array, pos: number, n: number, reg: number, regSize: number, value: number): void {
  const hit = vfioPciCoreRangeIntersectRange(pos, n, reg, regSize);
  if (hit === null) return;
  for (let i = 0; i < hit.count; i++) buf[hit.bufOffset + i] = (value >>> (8 * (hit.registerOffset + i))) & 0xff;
}

/**
 * virtiovf_pci_read_config's overrides, applied to what the core read at config offset `pos`:
 * Device ID 0x1000 (transitional virtio-net), Command's IO bit as the user last wrote it, Revision
 * 0, BAR0 as an I/O BAR of bar0Size bytes holding the user's address, Subsystem ID 1 (the virtio
 * device type) and Subsystem Vendor 0x1af4.
 */
export function virtiovfPatchConfigRead(vdev: VirtiovfPciCoreDevice, pos: number, buf: Uint8Array, n: number): void {
  patch(buf, pos, n, PCI_DEVICE_ID, 2, VIRTIO_TRANS_ID_NET);
  if (vdev.pciCmd & PCI_COMMAND_IO) {
    const hit = vfioPciCoreRangeIntersectRange(pos, n, PCI_COMMAND, 2);
    if (hit !== null && hit.registerOffset === 0) buf[hit.bufOffset] |= PCI_COMMAND_IO;
  }
  patch(buf, pos, n, PCI_REVISION_ID, 1, 0);
  const mask = ~(vdev.bar0Size - 1);
  patch(buf, pos, n, PCI_BASE_ADDRESS_0, 4, ((vdev.pciBaseAddr0 & mask) | PCI_BASE_ADDRESS_SPACE_IO) >>> 0);
  patch(buf, pos, n, PCI_SUBSYSTEM_ID, 2, VIRTIO_ID_NET);
  patch(buf, pos, n, PCI_SUBSYSTEM_VENDOR_ID, 2, VIRTIO_PCI_VENDOR_ID);
}

/** Merges the bytes a write puts into a register of `regSize` bytes at `reg` into `cur`. */
function capture(data: Uint8Array, pos: number, reg: number, regSize: number, cur: number): number {
  const hit = vfioPciCoreRangeIntersectRange(pos, data.length, reg, regSize);
  if (hit === null) return cur;
  for (let i = 0; i < hit.count; i++) {
    const sh = 8 * (hit.registerOffset + i);
    cur = (cur & ~(0xff << sh)) | (data[hit.bufOffset + i] << sh);
  }
  return cur >>> 0;
}

/**
 * virtiovf_pci_core_write's config part: the bytes a user write puts into Command and BAR0 are
 * kept by the variant (the write then goes to the core as any config write).
 */
export function virtiovfCaptureConfigWrite(vdev: VirtiovfPciCoreDevice, pos: number, data: Uint8Array): void {
  vdev.pciCmd = capture(data, pos, PCI_COMMAND, 2, vdev.pciCmd) & 0xffff;
  vdev.pciBaseAddr0 = capture(data, pos, PCI_BASE_ADDRESS_0, 4, vdev.pciBaseAddr0);
}

/**
 * virtiovf_pci_ioctl_get_region_info for BAR0: argsz below offsetofend(offset) is EINVAL; the
 * answer is the emulated BAR (offset index << 40, size bar0Size, READ | WRITE, no capabilities), the
 * first minsz bytes copied back as the kernel does.
 */
export function virtiovfBar0RegionInfo(vdev: VirtiovfPciCoreDevice, arg: Uint8Array): number {
  const info = decodeRegionInfo(arg);
  if (info.argsz < REGION_INFO_MINSZ) throw new VfioError('EINVAL', `vfio_region_info.argsz ${info.argsz} < ${REGION_INFO_MINSZ}`);
  info.offset = BigInt(VFIO.PCI_BAR0_REGION_INDEX) << 40n;
  info.size = BigInt(vdev.bar0Size);
  info.flags = VFIO.REGION_INFO_FLAG_READ | VFIO.REGION_INFO_FLAG_WRITE;
  encodeRegionInfo(info, arg, 0, REGION_INFO_MINSZ);
  return 0;
}
