// struct vfio_device_ioeventfd, the VFIO_DEVICE_IOEVENTFD argument.

import { defineStruct } from './structLayout.js';

/** The fields of struct vfio_device_ioeventfd (include/uapi/linux/vfio.h), in camelCase. */
export interface DeviceIoeventfd {
  /** Size in bytes of the caller's buffer: the struct and what follows it (argsz). */
  argsz: number;
  /** Exactly one VFIO.DEVICE_IOEVENTFD_{8,16,32,64} width bit. */
  flags: number;
  /** Device fd offset of the write (region offset | offset within the region). */
  offset: bigint;
  /** Value to write when the eventfd fires. */
  data: bigint;
  /** The eventfd, or -1 to de-assign. */
  fd: number;
  /** Reserved padding; 0. */
  reserved: number;
}

/** sizeof(struct vfio_device_ioeventfd). */
export const DEVICE_IOEVENTFD_SIZEOF = 32;
/** offsetofend(struct vfio_device_ioeventfd, fd): the trailing reserved word is not copied in. */
export const DEVICE_IOEVENTFD_MINSZ = 28;

/** Layout of struct vfio_device_ioeventfd: offset and C type of each field, sizeof and minsz. */
export const deviceIoeventfdLayout = defineStruct<DeviceIoeventfd>(
  'vfio_device_ioeventfd',
  DEVICE_IOEVENTFD_SIZEOF,
  {
    argsz: { offset: 0, kind: 'u32' },
    flags: { offset: 4, kind: 'u32' },
    offset: { offset: 8, kind: 'u64' },
    data: { offset: 16, kind: 'u64' },
    fd: { offset: 24, kind: 's32' },
    reserved: { offset: 28, kind: 'u32' },
  },
  DEVICE_IOEVENTFD_MINSZ,
);

/** Reads a struct vfio_device_ioeventfd from an ioctl argument: EFAULT if its minsz bytes are not there. */
export const decodeDeviceIoeventfd = deviceIoeventfdLayout.decode;
/** Writes a struct vfio_device_ioeventfd (or its first `length` bytes) into an ioctl argument: EFAULT if it does not fit, EINVAL for a value a field cannot hold. */
export const encodeDeviceIoeventfd = deviceIoeventfdLayout.encode;
