// struct vfio_precopy_info, the VFIO_MIG_GET_PRECOPY_INFO argument (an ioctl on the migration
// data fd while the device is in PRE_COPY or PRE_COPY_P2P).

import { defineStruct } from './structLayout.js';

/** The fields of struct vfio_precopy_info (include/uapi/linux/vfio.h), in camelCase. */
export interface PrecopyInfo {
  /** Size in bytes of the caller's buffer: the struct and what follows it (argsz). */
  argsz: number;
  /** Must be 0. */
  flags: number;
  /** Initial precopy data still to be read; it only shrinks. */
  initialBytes: bigint;
  /** State changed since it was last read; may grow and shrink. */
  dirtyBytes: bigint;
}

/** sizeof(struct vfio_precopy_info). */
export const PRECOPY_INFO_SIZEOF = 24;
/** offsetofend(struct vfio_precopy_info, dirty_bytes): the whole struct. */
export const PRECOPY_INFO_MINSZ = 24;

/** Layout of struct vfio_precopy_info: offset and C type of each field, sizeof and minsz. */
export const precopyInfoLayout = defineStruct<PrecopyInfo>(
  'vfio_precopy_info',
  PRECOPY_INFO_SIZEOF,
  {
    argsz: { offset: 0, kind: 'u32' },
    flags: { offset: 4, kind: 'u32' },
    initialBytes: { offset: 8, kind: 'u64' },
    dirtyBytes: { offset: 16, kind: 'u64' },
  },
  PRECOPY_INFO_MINSZ,
);

/** Reads a struct vfio_precopy_info from an ioctl argument: EFAULT if its minsz bytes are not there. */
export const decodePrecopyInfo = precopyInfoLayout.decode;
/** Writes a struct vfio_precopy_info (or its first `length` bytes) into an ioctl argument: EFAULT if it does not fit, EINVAL for a value a field cannot hold. */
export const encodePrecopyInfo = precopyInfoLayout.encode;
