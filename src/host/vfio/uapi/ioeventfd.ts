// struct vfio_device_ioeventfd, the VFIO_DEVICE_IOEVENTFD argument.

import { defineStruct } from './structLayout.js';

export interface DeviceIoeventfd {
  argsz: number;
  /** Exactly one VFIO.DEVICE_IOEVENTFD_{8,16,32,64} width bit. */
  flags: number;
  /** Device fd offset of the write (region offset | offset within the region). */
  offset: bigint;
  /** Value to write when the eventfd fires. */
  data: bigint;
  /** The eventfd, or -1 to de-assign. */
  fd: number;
  reserved: number;
}

/** sizeof(struct vfio_device_ioeventfd). */
export const DEVICE_IOEVENTFD_SIZEOF = 32;
/** offsetofend(struct vfio_device_ioeventfd, fd): the trailing reserved word is not copied in. */
export const DEVICE_IOEVENTFD_MINSZ = 28;

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

export const decodeDeviceIoeventfd = deviceIoeventfdLayout.decode;
export const encodeDeviceIoeventfd = deviceIoeventfdLayout.encode;
