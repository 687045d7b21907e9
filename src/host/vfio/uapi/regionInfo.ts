// struct vfio_region_info, the VFIO_DEVICE_GET_REGION_INFO argument. Its capability chain
// (sparse mmap, type, MSI-X mappable) is in infoCap.ts.

import { defineStruct } from './structLayout.js';

/** The fields of struct vfio_region_info (include/uapi/linux/vfio.h), in camelCase. */
export interface RegionInfo {
  /** Size in bytes of the caller's buffer: the struct and what follows it (argsz). */
  argsz: number;
  /** VFIO.REGION_INFO_FLAG_*. */
  flags: number;
  /** Region index (VFIO.PCI_*_REGION_INDEX), set by the caller. */
  index: number;
  /** Offset of the first capability from the start of the struct; valid with REGION_INFO_FLAG_CAPS. */
  capOffset: number;
  /** Region size in bytes (0: region not implemented). */
  size: bigint;
  /** Where the region starts in the device fd's offset space. */
  offset: bigint;
}

/** sizeof(struct vfio_region_info). */
export const REGION_INFO_SIZEOF = 32;
/** offsetofend(struct vfio_region_info, offset): the whole struct. */
export const REGION_INFO_MINSZ = 32;

/** Layout of struct vfio_region_info: offset and C type of each field, sizeof and minsz. */
export const regionInfoLayout = defineStruct<RegionInfo>(
  'vfio_region_info',
  REGION_INFO_SIZEOF,
  {
    argsz: { offset: 0, kind: 'u32' },
    flags: { offset: 4, kind: 'u32' },
    index: { offset: 8, kind: 'u32' },
    capOffset: { offset: 12, kind: 'u32' },
    size: { offset: 16, kind: 'u64' },
    offset: { offset: 24, kind: 'u64' },
  },
  REGION_INFO_MINSZ,
);

/** Reads a struct vfio_region_info from an ioctl argument: EFAULT if its minsz bytes are not there. */
export const decodeRegionInfo = regionInfoLayout.decode;
/** Writes a struct vfio_region_info (or its first `length` bytes) into an ioctl argument: EFAULT if it does not fit, EINVAL for a value a field cannot hold. */
export const encodeRegionInfo = regionInfoLayout.encode;
