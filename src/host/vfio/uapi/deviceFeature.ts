// struct vfio_device_feature, the VFIO_DEVICE_FEATURE argument: an 8-byte header whose flags
// hold the feature number (low 16 bits) and GET/SET/PROBE, followed by the feature's payload.
// The payload structs are in migrationFeature.ts, dmaLogging.ts and lowPowerFeature.ts.

import { VFIO } from './constants.js';
import { defineStruct, requireBytes } from './structLayout.js';

/** The fields of struct vfio_device_feature (include/uapi/linux/vfio.h), in camelCase. */
export interface DeviceFeature {
  /** Size in bytes of the caller's buffer: the struct and what follows it (argsz). */
  argsz: number;
  /** Feature number | VFIO.DEVICE_FEATURE_{GET,SET,PROBE}. */
  flags: number;
}

/** sizeof(struct vfio_device_feature) (the flexible data[] adds nothing). */
export const DEVICE_FEATURE_SIZEOF = 8;
/** offsetofend(struct vfio_device_feature, flags). */
export const DEVICE_FEATURE_MINSZ = 8;
/** The payload of DEVICE_FEATURE_PCI_VF_TOKEN: a 16-byte UUID. */
export const PCI_VF_TOKEN_SIZEOF = 16;

/** Layout of struct vfio_device_feature: offset and C type of each field, sizeof and minsz. */
export const deviceFeatureLayout = defineStruct<DeviceFeature>(
  'vfio_device_feature',
  DEVICE_FEATURE_SIZEOF,
  {
    argsz: { offset: 0, kind: 'u32' },
    flags: { offset: 4, kind: 'u32' },
  },
  DEVICE_FEATURE_MINSZ,
);

/** Reads a struct vfio_device_feature from an ioctl argument: EFAULT if its minsz bytes are not there. */
export const decodeDeviceFeature = deviceFeatureLayout.decode;
/** Writes a struct vfio_device_feature (or its first `length` bytes) into an ioctl argument: EFAULT if it does not fit, EINVAL for a value a field cannot hold. */
export const encodeDeviceFeature = deviceFeatureLayout.encode;

/** The feature number in a DEVICE_FEATURE flags word. */
export function deviceFeatureNumber(flags: number): number {
  return flags & VFIO.DEVICE_FEATURE_MASK;
}

/**
 * The payload bytes after the header, as a view into `arg`: writes to it land in `arg`, the
 * way the kernel's copy_to_user(arg->data, ...) does. EFAULT if `arg` lacks the header.
 * Its length is what the buffer holds; the payload size the kernel trusts is argsz - 8.
 */
export function deviceFeatureData(arg: Uint8Array): Uint8Array {
  requireBytes(arg, 0, DEVICE_FEATURE_MINSZ, 'struct vfio_device_feature');
  return arg.subarray(DEVICE_FEATURE_SIZEOF);
}

/**
 * A complete VFIO_DEVICE_FEATURE argument: header then `payload` (bytes to copy, or a number of
 * zero bytes to leave room for), with argsz = 8 + payload length.
 */
export function buildDeviceFeature(flags: number, payload: Uint8Array | number = 0): Uint8Array {
  const bytes = typeof payload === 'number' ? payload : payload.length;
  const argsz = DEVICE_FEATURE_SIZEOF + bytes;
  const buf = new Uint8Array(argsz);
  deviceFeatureLayout.encode({ argsz, flags }, buf);
  if (typeof payload !== 'number') buf.set(payload, DEVICE_FEATURE_SIZEOF);
  return buf;
}
