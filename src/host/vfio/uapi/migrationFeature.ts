// Payloads of the migration device features (after the vfio_device_feature header):
// DEVICE_FEATURE_MIGRATION (GET), DEVICE_FEATURE_MIG_DEVICE_STATE (GET/SET) and
// DEVICE_FEATURE_MIG_DATA_SIZE (GET). The kernel checks each payload with
// vfio_check_feature(..., sizeof(payload)): argsz - 8 below these sizes is EINVAL.

import { defineStruct } from './structLayout.js';

/** struct vfio_device_feature_migration. */
export interface FeatureMigration {
  /** VFIO.MIGRATION_* (a __aligned_u64 in the uapi). */
  flags: bigint;
}

/** sizeof(struct vfio_device_feature_migration). */
export const FEATURE_MIGRATION_SIZEOF = 8;

/** Layout of struct vfio_device_feature_migration: offset and C type of each field, sizeof and minsz. */
export const featureMigrationLayout = defineStruct<FeatureMigration>('vfio_device_feature_migration', FEATURE_MIGRATION_SIZEOF, {
  flags: { offset: 0, kind: 'u64' },
});

/** Reads a struct vfio_device_feature_migration from an ioctl argument: EFAULT if its minsz bytes are not there. */
export const decodeFeatureMigration = featureMigrationLayout.decode;
/** Writes a struct vfio_device_feature_migration (or its first `length` bytes) into an ioctl argument: EFAULT if it does not fit, EINVAL for a value a field cannot hold. */
export const encodeFeatureMigration = featureMigrationLayout.encode;

/** struct vfio_device_feature_mig_state. */
export interface FeatureMigState {
  /** VFIO.DEVICE_STATE_*: the target on SET, the current state on GET. */
  deviceState: number;
  /** The data transfer fd an arc opened, else -1. */
  dataFd: number;
}

/** sizeof(struct vfio_device_feature_mig_state). */
export const FEATURE_MIG_STATE_SIZEOF = 8;
/** offsetofend(struct vfio_device_feature_mig_state, data_fd). */
export const FEATURE_MIG_STATE_MINSZ = 8;

/** Layout of struct vfio_device_feature_mig_state: offset and C type of each field, sizeof and minsz. */
export const featureMigStateLayout = defineStruct<FeatureMigState>(
  'vfio_device_feature_mig_state',
  FEATURE_MIG_STATE_SIZEOF,
  {
    deviceState: { offset: 0, kind: 'u32' },
    dataFd: { offset: 4, kind: 's32' },
  },
  FEATURE_MIG_STATE_MINSZ,
);

/** Reads a struct vfio_device_feature_mig_state from an ioctl argument: EFAULT if its minsz bytes are not there. */
export const decodeFeatureMigState = featureMigStateLayout.decode;
/** Writes a struct vfio_device_feature_mig_state (or its first `length` bytes) into an ioctl argument: EFAULT if it does not fit, EINVAL for a value a field cannot hold. */
export const encodeFeatureMigState = featureMigStateLayout.encode;

/** struct vfio_device_feature_mig_data_size. */
export interface FeatureMigDataSize {
  /** Estimated bytes the STOP_COPY stream will carry. */
  stopCopyLength: bigint;
}

/** sizeof(struct vfio_device_feature_mig_data_size). */
export const FEATURE_MIG_DATA_SIZE_SIZEOF = 8;

/** Layout of struct vfio_device_feature_mig_data_size: offset and C type of each field, sizeof and minsz. */
export const featureMigDataSizeLayout = defineStruct<FeatureMigDataSize>('vfio_device_feature_mig_data_size', FEATURE_MIG_DATA_SIZE_SIZEOF, {
  stopCopyLength: { offset: 0, kind: 'u64' },
});

/** Reads a struct vfio_device_feature_mig_data_size from an ioctl argument: EFAULT if its minsz bytes are not there. */
export const decodeFeatureMigDataSize = featureMigDataSizeLayout.decode;
/** Writes a struct vfio_device_feature_mig_data_size (or its first `length` bytes) into an ioctl argument: EFAULT if it does not fit, EINVAL for a value a field cannot hold. */
export const encodeFeatureMigDataSize = featureMigDataSizeLayout.encode;
