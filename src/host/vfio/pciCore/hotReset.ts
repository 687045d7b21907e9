import { VFIO } from '../uapi/constants.js';
import { PCI_HOT_RESET_INFO_MINSZ, PCI_HOT_RESET_MINSZ, decodePciHotReset, decodePciHotResetInfo, encodePciDependentDevices, encodePciHotResetInfo, pciHotResetInfoArgsz } from '../uapi/hotReset.js';
import { VfioError } from '../vfioError.js';
import type { VfioPciCoreDevice } from './vfioPciCoreDevice.js';
import { devSetResettable, functionsBelow, resetBridge, resetDevSetBus } from './devSetReset.js';

// PCI hot reset over a device set (VFIO_DEVICE_GET_PCI_HOT_RESET_INFO / VFIO_DEVICE_PCI_HOT_RESET)
// in the cdev/iommufd model: ownership is by iommufd context, and the reset array of group fds must
// be empty.

export function hotResetInfo(vdev: VfioPciCoreDevice, arg: Uint8Array): number {
  const hdr = decodePciHotResetInfo(arg);
  if (hdr.argsz < PCI_HOT_RESET_INFO_MINSZ) throw new VfioError('EINVAL', `vfio_pci_hot_reset_info.argsz ${hdr.argsz} < ${PCI_HOT_RESET_INFO_MINSZ}`);
  const bridge = resetBridge(vdev.fn);
  if (!bridge) throw new VfioError('ENODEV', `${vdev.bdf} cannot be reset by slot or bus (it is on the root bus)`);
  const affected = functionsBelow(bridge);
  let flags = VFIO.PCI_HOT_RESET_FLAG_DEV_ID | VFIO.PCI_HOT_RESET_FLAG_DEV_ID_OWNED;
  const ctx = vdev.owner;
  const devices = affected.map((f) => {
    const pdev = vdev.vfio.pciDevOf(f);
    const other = pdev ? vdev.vfio.vfioDeviceOf(pdev) : undefined;
    // vfio_pci_fill_devs with vfio_iommufd_get_dev_id: a set member bound to the caller's context has
    // its devid; one nobody opened counts as owned (-ENOENT: the kernel's case of an iommu group the
    // context owns; the emulator has no iommu groups and treats every unopened member so, as the hot
    // reset itself does); anything else, or a function outside the set, is not owned
    let id: number = VFIO.PCI_DEVID_NOT_OWNED;
    if (other && other.devSet === vdev.devSet && ctx) {
      const devId = ctx.devId(other);
      if (devId !== undefined) id = devId;
      else if (other.openCount === 0) id = VFIO.PCI_DEVID_OWNED;
    }
    if (id === VFIO.PCI_DEVID_NOT_OWNED) flags &= ~VFIO.PCI_HOT_RESET_FLAG_DEV_ID_OWNED;
    return { id: id >>> 0, segment: 0, bus: f.bus.number, devfn: f.devfn };
  });
  hdr.count = devices.length;
  if (hdr.argsz < pciHotResetInfoArgsz(devices.length)) {
    // the kernel still copies the header out (flags still 0), so the caller learns how many entries it needs
    hdr.flags = 0;
    encodePciHotResetInfo(hdr, arg, 0, PCI_HOT_RESET_INFO_MINSZ);
    throw new VfioError('ENOSPC', `room for ${devices.length} dependent devices is needed`);
  }
  hdr.flags = flags;
  // devices first: a buffer too short for them is EFAULT with nothing written (copy_to_user order)
  encodePciDependentDevices(arg, devices);
  encodePciHotResetInfo(hdr, arg, 0, PCI_HOT_RESET_INFO_MINSZ);
  return 0;
}

export function hotReset(vdev: VfioPciCoreDevice, arg: Uint8Array): number {
  const hdr = decodePciHotReset(arg);
  if (hdr.argsz < PCI_HOT_RESET_MINSZ || hdr.flags) throw new VfioError('EINVAL', 'bad vfio_pci_hot_reset header');
  // a device opened through its cdev names no group fds: ownership comes from its iommufd context
  if (hdr.count !== 0) throw new VfioError('EINVAL', 'group fds are not accepted for a device opened as a cdev (count must be 0)');
  const bridge = resetBridge(vdev.fn);
  if (!bridge) throw new VfioError('ENODEV', `${vdev.bdf} cannot be reset by slot or bus (it is on the root bus)`);
  // every function the reset reaches must belong to this device set (vfio_pci_dev_set_resettable)
  let outsider = '';
  const r = devSetResettable(vdev, (f) => (outsider = f.bdf));
  if (!r) throw new VfioError('EINVAL', `${outsider} is affected by the reset but is not bound to vfio in this device set`);
  const members = r.members;
  // opened devices must be owned by the caller; unopened ones are safe to reset
  for (const m of members) {
    if (m.openCount > 0 && m.owner !== vdev.owner) throw new VfioError('EINVAL', `${m.bdf} is opened by another user`);
  }
  resetDevSetBus(bridge, members);
  for (const m of members) m.needsReset = false;
  return 0;
}
