import { VFIO } from './uapi/constants.js';
import { DEVICE_FEATURE_MINSZ, decodeDeviceFeature } from './uapi/deviceFeature.js';
import { VfioError } from './vfioError.js';
import type { VfioDevice } from './vfioDevice.js';
import type { IommufdCtx } from './iommufd.js';
import { migrationReset } from './migration/transition.js';

// The device-independent part of vfio (drivers/vfio/vfio_main.c): opening and closing a device,
// the DEVICE_FEATURE header checks, and the feature-checking helper drivers use.

/**
 * vfio_check_feature: 1 when the caller should go on with GET/SET, 0 for a successful PROBE; throws
 * EINVAL for an operation the feature does not support, neither GET nor SET, or a short payload.
 */
export function vfioCheckFeature(flags: number, argsz: number, supportedOps: number, minsz: number): 0 | 1 {
  const ops = flags & (VFIO.DEVICE_FEATURE_GET | VFIO.DEVICE_FEATURE_SET);
  if (ops & ~supportedOps) throw new VfioError('EINVAL', `feature ${flags & VFIO.DEVICE_FEATURE_MASK} does not support ${ops & VFIO.DEVICE_FEATURE_GET ? 'GET' : 'SET'}`);
  if (flags & VFIO.DEVICE_FEATURE_PROBE) return 0;
  if (!ops) throw new VfioError('EINVAL', 'DEVICE_FEATURE without PROBE needs GET or SET');
  if (argsz < minsz) throw new VfioError('EINVAL', `feature payload of ${argsz} bytes is below the ${minsz} it needs`);
  return 1;
}

/**
 * Handlers the core consults before the driver's device_feature op (migration, DMA logging). They get
 * the whole ioctl arg (user pointers in payloads are offsets into it) and the payload size from argsz.
 */
export type CoreFeatureHandler = (vdev: VfioDevice, flags: number, arg: Uint8Array, payloadSize: number) => number;
const coreFeatures = new Map<number, CoreFeatureHandler>();

/** Lets the migration code plug its DEVICE_FEATURE numbers into the core dispatch. */
export function registerCoreFeature(feature: number, handler: CoreFeatureHandler): void {
  coreFeatures.set(feature, handler);
}

/** vfio_ioctl_device_feature: header validation, then the core's features, then the driver's op. */
export function vfioDeviceFeature(vdev: VfioDevice, arg: Uint8Array): number {
  // the 8-byte header read straight from the arg (a DataView and a keyed object per call cost more
  // than a migration arc, bench/migration.ts); a short arg goes to the decoder for its EFAULT
  const hdr = arg.length >= DEVICE_FEATURE_MINSZ ? { argsz: le32(arg, 0), flags: le32(arg, 4) } : decodeDeviceFeature(arg);
  if (hdr.argsz < DEVICE_FEATURE_MINSZ) throw new VfioError('EINVAL', `vfio_device_feature.argsz ${hdr.argsz} is below ${DEVICE_FEATURE_MINSZ}`);
  const known = VFIO.DEVICE_FEATURE_MASK | VFIO.DEVICE_FEATURE_SET | VFIO.DEVICE_FEATURE_GET | VFIO.DEVICE_FEATURE_PROBE;
  if ((hdr.flags & ~known) !== 0) throw new VfioError('EINVAL', `unknown DEVICE_FEATURE flags 0x${(hdr.flags & ~known >>> 0).toString(16)}`);
  if (!(hdr.flags & VFIO.DEVICE_FEATURE_PROBE) && hdr.flags & VFIO.DEVICE_FEATURE_SET && hdr.flags & VFIO.DEVICE_FEATURE_GET) {
    throw new VfioError('EINVAL', 'GET and SET together need PROBE');
  }
  const feature = hdr.flags & VFIO.DEVICE_FEATURE_MASK;
  const payloadSize = hdr.argsz - DEVICE_FEATURE_MINSZ;
  // the kernel trusts argsz; bytes it would copy beyond the buffer are a fault
  const data = arg.subarray(DEVICE_FEATURE_MINSZ, DEVICE_FEATURE_MINSZ + Math.max(0, payloadSize));
  const core = coreFeatures.get(feature);
  if (core) return core(vdev, hdr.flags, arg, payloadSize);
  if (!vdev.ops.deviceFeature) throw new VfioError('EINVAL', `feature ${feature} is not supported by ${vdev.ops.name}`);
  return vdev.ops.deviceFeature(vdev, hdr.flags, data);
}

function le32(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
}

/** vfio_df_open: the first open runs the driver's open_device under the device set. */
export function vfioDeviceOpen(vdev: VfioDevice, owner: IommufdCtx): void {
  if (!vdev.registered) throw new VfioError('ENODEV', `${vdev.bdf} is not registered with vfio`);
  if (vdev.openCount > 0 && vdev.owner !== owner) {
    // one iommufd context (one user) owns an opened device at a time
    throw new VfioError('EBUSY', `${vdev.bdf} is open by another user`);
  }
  if (vdev.openCount === 0) {
    vdev.ops.openDevice?.(vdev);
    vdev.owner = owner;
    owner.bind(vdev);
  }
  vdev.openCount++;
}

/** vfio_df_close: the last close runs close_device. */
export function vfioDeviceClose(vdev: VfioDevice): void {
  if (vdev.openCount === 0) return;
  vdev.openCount--;
  if (vdev.openCount === 0) {
    try {
      migrationReset(vdev);
      vdev.ops.closeDevice?.(vdev);
    } finally {
      vdev.owner?.unbind(vdev);
      vdev.owner = null;
    }
  }
}
