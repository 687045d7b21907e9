// PCI hot reset: struct vfio_pci_hot_reset_info (VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, a header
// followed by vfio_pci_dependent_device entries the kernel fills in) and struct
// vfio_pci_hot_reset (VFIO_DEVICE_PCI_HOT_RESET, a header followed by s32 group fds).

import { defineStruct, decodeArray, encodeArray, readScalars, writeScalars } from './structLayout.js';

/** One device affected by the reset. */
export interface PciDependentDevice {
  /**
   * The union { group_id; devid; }: an IOMMU group id, or with
   * VFIO.PCI_HOT_RESET_FLAG_DEV_ID a devid (VFIO.PCI_DEVID_OWNED, a positive id, or
   * VFIO.PCI_DEVID_NOT_OWNED, which as a __u32 reads back as 0xffffffff).
   */
  id: number;
  /** PCI segment (domain) number. */
  segment: number;
  /** PCI bus number. */
  bus: number;
  /** (slot << 3) | function. */
  devfn: number;
}

/** sizeof(struct vfio_pci_dependent_device). */
export const PCI_DEPENDENT_DEVICE_SIZEOF = 8;

/** Layout of struct vfio_pci_dependent_device: offset and C type of each field, sizeof and minsz. */
export const pciDependentDeviceLayout = defineStruct<PciDependentDevice>('vfio_pci_dependent_device', PCI_DEPENDENT_DEVICE_SIZEOF, {
  id: { offset: 0, kind: 'u32' },
  segment: { offset: 4, kind: 'u16' },
  bus: { offset: 6, kind: 'u8' },
  devfn: { offset: 7, kind: 'u8' },
});

/** The fields of struct vfio_pci_hot_reset_info (include/uapi/linux/vfio.h), in camelCase. */
export interface PciHotResetInfo {
  /** Size in bytes of the caller's buffer: the struct and what follows it (argsz). */
  argsz: number;
  /** VFIO.PCI_HOT_RESET_FLAG_*. */
  flags: number;
  /** Number of dependent devices (reported even when argsz is too small for them). */
  count: number;
}

/** sizeof(struct vfio_pci_hot_reset_info) without its devices[]. */
export const PCI_HOT_RESET_INFO_SIZEOF = 12;
/** offsetofend(struct vfio_pci_hot_reset_info, count). */
export const PCI_HOT_RESET_INFO_MINSZ = 12;

/** Layout of struct vfio_pci_hot_reset_info: offset and C type of each field, sizeof and minsz. */
export const pciHotResetInfoLayout = defineStruct<PciHotResetInfo>(
  'vfio_pci_hot_reset_info',
  PCI_HOT_RESET_INFO_SIZEOF,
  {
    argsz: { offset: 0, kind: 'u32' },
    flags: { offset: 4, kind: 'u32' },
    count: { offset: 8, kind: 'u32' },
  },
  PCI_HOT_RESET_INFO_MINSZ,
);

/** Reads a struct vfio_pci_hot_reset_info from an ioctl argument: EFAULT if its minsz bytes are not there. */
export const decodePciHotResetInfo = pciHotResetInfoLayout.decode;
/** Writes a struct vfio_pci_hot_reset_info (or its first `length` bytes) into an ioctl argument: EFAULT if it does not fit, EINVAL for a value a field cannot hold. */
export const encodePciHotResetInfo = pciHotResetInfoLayout.encode;

/** The argsz a caller needs for `count` dependent devices (below it the kernel says ENOSPC). */
export function pciHotResetInfoArgsz(count: number): number {
  return PCI_HOT_RESET_INFO_SIZEOF + count * PCI_DEPENDENT_DEVICE_SIZEOF;
}

/** Read the devices[] that follow the header; EFAULT unless all `count` are inside `arg`. */
export function decodePciDependentDevices(arg: Uint8Array, count: number): PciDependentDevice[] {
  return decodeArray(pciDependentDeviceLayout, arg, PCI_HOT_RESET_INFO_SIZEOF, count);
}

/** Write devices[] after the header; EFAULT (nothing written) unless all fit in `arg`. */
export function encodePciDependentDevices(arg: Uint8Array, devices: readonly PciDependentDevice[]): Uint8Array {
  return encodeArray(pciDependentDeviceLayout, devices, arg, PCI_HOT_RESET_INFO_SIZEOF);
}

/** The fields of struct vfio_pci_hot_reset (include/uapi/linux/vfio.h), in camelCase. */
export interface PciHotReset {
  /** Size in bytes of the caller's buffer: the struct and what follows it (argsz). */
  argsz: number;
  /** Must be 0. */
  flags: number;
  /** Number of group fds that follow (0 for a cdev-opened device). */
  count: number;
}

/** sizeof(struct vfio_pci_hot_reset) without its group_fds[]. */
export const PCI_HOT_RESET_SIZEOF = 12;
/** offsetofend(struct vfio_pci_hot_reset, count). */
export const PCI_HOT_RESET_MINSZ = 12;

/** Layout of struct vfio_pci_hot_reset: offset and C type of each field, sizeof and minsz. */
export const pciHotResetLayout = defineStruct<PciHotReset>(
  'vfio_pci_hot_reset',
  PCI_HOT_RESET_SIZEOF,
  {
    argsz: { offset: 0, kind: 'u32' },
    flags: { offset: 4, kind: 'u32' },
    count: { offset: 8, kind: 'u32' },
  },
  PCI_HOT_RESET_MINSZ,
);

/** Reads a struct vfio_pci_hot_reset from an ioctl argument: EFAULT if its minsz bytes are not there. */
export const decodePciHotReset = pciHotResetLayout.decode;
/** Writes a struct vfio_pci_hot_reset (or its first `length` bytes) into an ioctl argument: EFAULT if it does not fit, EINVAL for a value a field cannot hold. */
export const encodePciHotReset = pciHotResetLayout.encode;

/** Read the s32 group_fds[] that follow the header; EFAULT unless all `count` are inside `arg`. */
export function decodePciHotResetGroupFds(arg: Uint8Array, count: number): number[] {
  return readScalars(arg, PCI_HOT_RESET_SIZEOF, count, 's32', 'vfio_pci_hot_reset.group_fds');
}

/** A complete VFIO_DEVICE_PCI_HOT_RESET argument with argsz = 12 + 4 * groupFds.length. */
export function buildPciHotReset(groupFds: readonly number[], flags = 0): Uint8Array {
  const argsz = PCI_HOT_RESET_SIZEOF + groupFds.length * 4;
  const buf = new Uint8Array(argsz);
  pciHotResetLayout.encode({ argsz, flags, count: groupFds.length }, buf);
  return writeScalars(buf, PCI_HOT_RESET_SIZEOF, groupFds, 's32', 'vfio_pci_hot_reset.group_fds');
}
