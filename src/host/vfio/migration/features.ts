import { VFIO } from '../uapi/constants.js';
import { DEVICE_FEATURE_SIZEOF } from '../uapi/deviceFeature.js';
import { FEATURE_MIGRATION_SIZEOF, FEATURE_MIG_DATA_SIZE_SIZEOF, FEATURE_MIG_STATE_SIZEOF, decodeFeatureMigState, encodeFeatureMigDataSize, encodeFeatureMigState, encodeFeatureMigration } from '../uapi/migrationFeature.js';
import { DMA_LOGGING_CONTROL_SIZEOF, DMA_LOGGING_MAX_RANGES, DMA_LOGGING_REPORT_SIZEOF, decodeDmaLoggingControl, decodeDmaLoggingReport, dmaLoggingBitmapView, readDmaLoggingRange } from '../uapi/dmaLogging.js';
import { registerCoreFeature, vfioCheckFeature } from '../vfioMain.js';
import type { VfioDevice } from '../vfioDevice.js';
import { VfioError } from '../vfioError.js';
import { isMigState, MigState } from '../migrationFsm.js';
import { migrationSetState } from './transition.js';

// The migration and DMA logging DEVICE_FEATUREs the vfio core handles for every driver
// (vfio_main.c): MIGRATION, MIG_DEVICE_STATE, MIG_DATA_SIZE, DMA_LOGGING_START/STOP/REPORT.

const P = DEVICE_FEATURE_SIZEOF;
const ULONG_MAX = (1n << 64n) - 1n;

function migration(vdev: VfioDevice, flags: number, arg: Uint8Array, argsz: number): number {
  const mig = vdev.ops.migrationOps;
  if (!mig) throw new VfioError('ENOTTY', `${vdev.bdf} does not support migration`);
  if (vfioCheckFeature(flags, argsz, VFIO.DEVICE_FEATURE_GET, FEATURE_MIGRATION_SIZEOF) === 0) return 0;
  encodeFeatureMigration({ flags: BigInt(mig.flags) }, arg, P);
  return 0;
}

function migDeviceState(vdev: VfioDevice, flags: number, arg: Uint8Array, argsz: number): number {
  if (!vdev.ops.migrationOps) throw new VfioError('ENOTTY', `${vdev.bdf} does not support migration`);
  if (vfioCheckFeature(flags, argsz, VFIO.DEVICE_FEATURE_SET | VFIO.DEVICE_FEATURE_GET, FEATURE_MIG_STATE_SIZEOF) === 0) return 0;
  // MIG_DEVICE_STATE is the per-arc hot path: the struct is read and written in place when it fits
  // (the struct codec's DataView and object cost more than the arc itself); otherwise the codec
  // answers with its EFAULT
  const fits = arg.length >= P + FEATURE_MIG_STATE_SIZEOF;
  const req = fits ? { deviceState: le32(arg, P), dataFd: 0 } : decodeFeatureMigState(arg, P);
  if (flags & VFIO.DEVICE_FEATURE_GET) {
    replyMigState(arg, fits, vdev.migState, -1);
    return 0;
  }
  if (!isMigState(req.deviceState)) throw new VfioError('EINVAL', `device_state ${req.deviceState} is not a migration state`);
  let file;
  try {
    file = migrationSetState(vdev, req.deviceState as MigState);
  } catch (e) {
    replyMigState(arg, fits, req.deviceState, -1);
    throw e;
  }
  let fd = -1;
  if (file) {
    fd = vdev.files.install(file, 'stream');
    file.fd = fd;
  }
  replyMigState(arg, fits, req.deviceState, fd);
  return 0;
}

/** Writes vfio_device_feature_mig_state back into the arg (in place when it fits). */
function replyMigState(arg: Uint8Array, fits: boolean, deviceState: number, dataFd: number): void {
  if (!fits) {
    encodeFeatureMigState({ deviceState, dataFd }, arg, P);
    return;
  }
  put32(arg, P, deviceState);
  put32(arg, P + 4, dataFd);
}

function le32(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
}

function put32(b: Uint8Array, at: number, v: number): void {
  b[at] = v;
  b[at + 1] = v >>> 8;
  b[at + 2] = v >>> 16;
  b[at + 3] = v >>> 24;
}

function migDataSize(vdev: VfioDevice, flags: number, arg: Uint8Array, argsz: number): number {
  const mig = vdev.ops.migrationOps;
  if (!mig) throw new VfioError('ENOTTY', `${vdev.bdf} does not support migration`);
  if (vfioCheckFeature(flags, argsz, VFIO.DEVICE_FEATURE_GET, FEATURE_MIG_DATA_SIZE_SIZEOF) === 0) return 0;
  encodeFeatureMigDataSize({ stopCopyLength: mig.getDataSize(vdev) }, arg, P);
  return 0;
}

function loggingStart(vdev: VfioDevice, flags: number, arg: Uint8Array, argsz: number): number {
  const log = vdev.ops.logOps;
  if (!log) throw new VfioError('ENOTTY', `${vdev.bdf} has no DMA logging`);
  if (vfioCheckFeature(flags, argsz, VFIO.DEVICE_FEATURE_SET, DMA_LOGGING_CONTROL_SIZEOF) === 0) return 0;
  const control = decodeDmaLoggingControl(arg, P);
  const n = control.numRanges;
  if (!n) throw new VfioError('EINVAL', 'DMA_LOGGING_START needs at least one range');
  if (n > DMA_LOGGING_MAX_RANGES) throw new VfioError('E2BIG', `${n} ranges exceed the ${DMA_LOGGING_MAX_RANGES} allowed`);
  const page = control.pageSize;
  if (page === 0n || (page & (page - 1n)) !== 0n) throw new VfioError('EINVAL', `page_size ${page} is not a power of two`);
  const ranges: { iova: bigint; length: bigint }[] = [];
  for (let i = 0; i < n; i++) {
    const r = readDmaLoggingRange(arg, control, i);
    if (r.iova % page !== 0n || r.length % page !== 0n) throw new VfioError('EINVAL', `range ${i} is not aligned to page_size ${page}`);
    const end = r.iova + r.length;
    if (end > ULONG_MAX) throw new VfioError('EOVERFLOW', `range ${i} wraps past 2^64`);
    for (const o of ranges) {
      if (r.length > 0n && r.iova < o.iova + o.length && o.iova < end) throw new VfioError('EINVAL', `range ${i} overlaps another range`);
    }
    ranges.push({ iova: r.iova, length: r.length });
  }
  const chosen = log.start(vdev, ranges, page);
  // page_size is in/out: the kernel copies back the granularity the device tracks at
  if (typeof chosen === 'bigint' && chosen !== page) new DataView(arg.buffer, arg.byteOffset, arg.byteLength).setBigUint64(P, chosen, true);
  return 0;
}

function loggingStop(vdev: VfioDevice, flags: number, _arg: Uint8Array, argsz: number): number {
  const log = vdev.ops.logOps;
  if (!log) throw new VfioError('ENOTTY', `${vdev.bdf} has no DMA logging`);
  if (vfioCheckFeature(flags, argsz, VFIO.DEVICE_FEATURE_SET, 0) === 0) return 0;
  log.stop(vdev);
  return 0;
}

function loggingReport(vdev: VfioDevice, flags: number, arg: Uint8Array, argsz: number): number {
  const log = vdev.ops.logOps;
  if (!log) throw new VfioError('ENOTTY', `${vdev.bdf} has no DMA logging`);
  if (vfioCheckFeature(flags, argsz, VFIO.DEVICE_FEATURE_GET, DMA_LOGGING_REPORT_SIZEOF) === 0) return 0;
  const report = decodeDmaLoggingReport(arg, P);
  if (report.pageSize < 4096n || (report.pageSize & (report.pageSize - 1n)) !== 0n) {
    throw new VfioError('EINVAL', `page_size ${report.pageSize} must be a power of two of at least 4 KiB`);
  }
  if (report.iova + report.length > ULONG_MAX) throw new VfioError('EOVERFLOW', 'iova + length wraps past 2^64');
  const out = dmaLoggingBitmapView(arg, report);
  const bits = log.readAndClear(vdev, report.iova, report.length, report.pageSize);
  out.fill(0);
  out.set(bits.subarray(0, out.length));
  return 0;
}

let registered = false;

/** Plugs the migration features into the core's DEVICE_FEATURE dispatch (once per realm). */
export function registerMigrationFeatures(): void {
  if (registered) return;
  registered = true;
  registerCoreFeature(VFIO.DEVICE_FEATURE_MIGRATION, migration);
  registerCoreFeature(VFIO.DEVICE_FEATURE_MIG_DEVICE_STATE, migDeviceState);
  registerCoreFeature(VFIO.DEVICE_FEATURE_MIG_DATA_SIZE, migDataSize);
  registerCoreFeature(VFIO.DEVICE_FEATURE_DMA_LOGGING_START, loggingStart);
  registerCoreFeature(VFIO.DEVICE_FEATURE_DMA_LOGGING_STOP, loggingStop);
  registerCoreFeature(VFIO.DEVICE_FEATURE_DMA_LOGGING_REPORT, loggingReport);
}
