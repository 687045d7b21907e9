// struct vfio_device_info, the VFIO_DEVICE_GET_INFO argument.

import { defineStruct } from './structLayout.js';

/** The fields of struct vfio_device_info (include/uapi/linux/vfio.h), in camelCase. */
export interface DeviceInfo {
  /** Size in bytes of the caller's buffer: the struct and what follows it (argsz). */
  argsz: number;
  /** VFIO.DEVICE_FLAGS_*. */
  flags: number;
  /** Highest region index + 1. */
  numRegions: number;
  /** Highest irq index + 1. */
  numIrqs: number;
  /** Offset of the first capability from the start of the struct; valid with DEVICE_FLAGS_CAPS. */
  capOffset: number;
  /** Reserved padding; 0. */
  pad: number;
}

/** sizeof(struct vfio_device_info). */
export const DEVICE_INFO_SIZEOF = 24;
/** offsetofend(struct vfio_device_info, num_irqs): cap_offset and pad came later and are optional. */
export const DEVICE_INFO_MINSZ = 16;

/** Layout of struct vfio_device_info: offset and C type of each field, sizeof and minsz. */
export const deviceInfoLayout = defineStruct<DeviceInfo>(
  'vfio_device_info',
  DEVICE_INFO_SIZEOF,
  {
    argsz: { offset: 0, kind: 'u32' },
    flags: { offset: 4, kind: 'u32' },
    numRegions: { offset: 8, kind: 'u32' },
    numIrqs: { offset: 12, kind: 'u32' },
    capOffset: { offset: 16, kind: 'u32' },
    pad: { offset: 20, kind: 'u32' },
  },
  DEVICE_INFO_MINSZ,
);

/** Reads a struct vfio_device_info from an ioctl argument: EFAULT if its minsz bytes are not there. */
export const decodeDeviceInfo = deviceInfoLayout.decode;
/** Writes a struct vfio_device_info (or its first `length` bytes) into an ioctl argument: EFAULT if it does not fit, EINVAL for a value a field cannot hold. */
export const encodeDeviceInfo = deviceInfoLayout.encode;
