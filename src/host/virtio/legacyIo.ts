import {
  VIRTIO_ADMIN_CMD_LEGACY_NOTIFY_INFO, VIRTIO_ADMIN_STATUS_OK,
} from '../../hw/devices/virtio/virtioSpec.js';
import { HostPciDev } from '../pciCore.js';
import type { PciDev } from '../pciDriver.js';
import { VfioError } from '../vfio/vfioError.js';
import { VirtioPciDevice, VirtioPciDriver } from './virtioPciDriver.js';

// The PF driver's service to its VFs' variant driver (Linux drivers/virtio/virtio_pci_admin_legacy_io.c):
// each call takes the VF, finds its PF's virtio-pci device (virtio_pci_vf_get_pf_dev: the PF must be
// bound to virtio-pci) and issues one group administration command with the VF as the member
// (group_member_id = VF index + 1). A command the device answers with a status other than OK fails
// with that status as the errno (vp_modern_admin_cmd_exec returns -status: VIRTIO_ADMIN_STATUS_EINVAL
// is EINVAL).

/** virtio_pci_vf_get_pf_dev: the PF's virtio-pci device, or null when the PF is not bound to virtio-pci. */
export function virtioPciVfGetPfDev(vf: PciDev): VirtioPciDevice | null {
  if (!vf.isVirtfn || vf.physfn === null) return null;
  const pf = vf.physfn;
  if (!(pf.driver instanceof VirtioPciDriver)) return null;
  const vp = pf.driverData;
  return vp instanceof VirtioPciDevice ? vp : null;
}

/**
 * virtio_pci_admin_has_legacy_io: the VF's PF is driven by virtio-pci, negotiated
 * VIRTIO_F_ADMIN_VQ, and enabled every legacy access command and LEGACY_NOTIFY_INFO.
 */
export function virtioPciAdminHasLegacyIo(vf: PciDev): boolean {
  const vp = virtioPciVfGetPfDev(vf);
  return vp !== null && VirtioPciDriver.hasLegacyIo(vp);
}

/** pci_iov_vf_id + 1: the VF's member id in the SR-IOV group (EINVAL when it is no VF of a known PF). */
export function virtioMemberId(vf: PciDev): number {
  const i = vf instanceof HostPciDev ? vf.vfIndex : -1;
  if (!vf.isVirtfn || i < 0) throw new VfioError('EINVAL', `${vf.bdf} is not a VF`);
  return i + 1;
}

function pfFastPath(vf: PciDev) {
  const vp = virtioPciVfGetPfDev(vf);
  if (vp === null || vp.fast === null || !vp.pdev.present) throw new VfioError('ENODEV', `the PF of ${vf.bdf} is not driven by virtio-pci`);
  return vp.fast;
}

/**
 * A legacy register read through the PF (virtio_pci_admin_legacy_common_io_read /
 * _device_io_read): `opcode` LEGACY_COMMON_CFG_READ or LEGACY_DEV_CFG_READ, `size` bytes (1-4) at
 * `offset` of the member's block. Returns the value. ENODEV without a virtio-pci PF, the admin
 * status as errno when the device refuses, EIO when it does not complete.
 */
export function virtioPciAdminLegacyIoRead(vf: PciDev, opcode: number, offset: number, size: number, memberId = virtioMemberId(vf)): number {
  const fast = pfFastPath(vf);
  const status = fast.legacyRead(opcode, memberId, offset, size);
  if (status !== VIRTIO_ADMIN_STATUS_OK) throw new VfioError(status, `${vf.bdf}: admin command ${opcode} at legacy offset ${offset} (${size} bytes) failed with status ${status}`);
  return fast.result >>> 0;
}

/**
 * A legacy register write through the PF (virtio_pci_admin_legacy_common_io_write /
 * _device_io_write): `opcode` LEGACY_COMMON_CFG_WRITE or LEGACY_DEV_CFG_WRITE. Errors as for reads.
 */
export function virtioPciAdminLegacyIoWrite(vf: PciDev, opcode: number, offset: number, size: number, value: number, memberId = virtioMemberId(vf)): void {
  const fast = pfFastPath(vf);
  const status = fast.legacyWrite(opcode, memberId, offset, size, value);
  if (status !== VIRTIO_ADMIN_STATUS_OK) throw new VfioError(status, `${vf.bdf}: admin command ${opcode} at legacy offset ${offset} (${size} bytes) failed with status ${status}`);
}

/**
 * virtio_pci_admin_legacy_io_notify_info: LEGACY_NOTIFY_INFO for the VF, and the first entry whose
 * flags are `reqFlags` (VIRTIO_ADMIN_CMD_NOTIFY_INFO_FLAGS_OWNER_MEM: the member's own BAR). ENOENT
 * when the device lists none; errors as for reads.
 */
export function virtioPciAdminLegacyIoNotifyInfo(vf: PciDev, reqFlags: number): { bar: number; offset: number } {
  const vp = virtioPciVfGetPfDev(vf);
  if (vp === null || vp.admin === null) throw new VfioError('ENODEV', `the PF of ${vf.bdf} is not driven by virtio-pci`);
  let info;
  try {
    info = vp.admin.legacyNotifyInfo(virtioMemberId(vf));
  } catch (e) {
    if (e instanceof VfioError) throw e;
    throw new VfioError('EIO', `${vf.bdf}: LEGACY_NOTIFY_INFO: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (info.reply.status !== VIRTIO_ADMIN_STATUS_OK) {
    throw new VfioError(info.reply.status, `${vf.bdf}: admin command ${VIRTIO_ADMIN_CMD_LEGACY_NOTIFY_INFO} failed with status ${info.reply.status}`);
  }
  const e = info.entries.find((x) => x.flags === reqFlags);
  if (e === undefined) throw new VfioError('ENOENT', `${vf.bdf}: the device reports no notification area with flags ${reqFlags}`);
  return { bar: e.bar, offset: e.offset };
}
