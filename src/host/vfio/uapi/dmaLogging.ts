// Payloads of the DMA logging device features (device dirty tracking):
// DEVICE_FEATURE_DMA_LOGGING_START (SET, vfio_device_feature_dma_logging_control pointing at an
// array of vfio_device_feature_dma_logging_range), _STOP (SET, no payload) and _REPORT (GET,
// vfio_device_feature_dma_logging_report pointing at a bitmap the kernel fills).
//
// User pointers in this emulator
// ------------------------------
// In the uapi, `ranges` and `bitmap` are user-space addresses (u64). An emulated ioctl gets one
// Uint8Array and nothing else, and JavaScript has no addresses for memory outside it, so the
// emulator defines: a pointer field holds the BYTE OFFSET, FROM THE START OF THE IOCTL ARG (the
// vfio_device_feature header, offset 0), of the memory it points at, and that memory lies in
// the same arg buffer, normally right after the payload (past argsz, since argsz covers only the
// structs, as with a real pointer). Why this and not a side channel:
// - ioctl(request, arg) stays the byte-level ground truth: the arg is self-contained and the
//   pointer is still a plain u64 in the struct at the uapi's offset;
// - the kernel's copy_from_user/copy_to_user through the pointer becomes a bounds check on the
//   arg, so a bad pointer fails with EFAULT exactly where the kernel would fail;
// - offset 0 is the feature header itself and plays the role of NULL: it is refused with
//   EFAULT, as a NULL user pointer is.
// The arrays are reached through the helpers below (which apply the bounds check), never by
// trusting the offset directly.

import { VFIO } from './constants.js';
import { DEVICE_FEATURE_SIZEOF, deviceFeatureLayout } from './deviceFeature.js';
import { decodeArray, defineStruct, encodeArray, requireBytes } from './structLayout.js';
import { uapiError, uapiFault } from './uapiError.js';

/** struct vfio_device_feature_dma_logging_control. */
export interface DmaLoggingControl {
  /** In: the tracking granularity asked for; out: the one the device chose. */
  pageSize: bigint;
  /** Number of ranges at `ranges` (num_ranges). */
  numRanges: number;
  /** Reserved padding; 0. */
  reserved: number;
  /** "Pointer" to numRanges DmaLoggingRange entries: a byte offset into the arg (see above). */
  ranges: bigint;
}

/** sizeof(struct vfio_device_feature_dma_logging_control). */
export const DMA_LOGGING_CONTROL_SIZEOF = 24;
/** offsetofend(struct vfio_device_feature_dma_logging_control, ranges): the whole struct. */
export const DMA_LOGGING_CONTROL_MINSZ = 24;

/** Layout of struct vfio_device_feature_dma_logging_control: offset and C type of each field, sizeof and minsz. */
export const dmaLoggingControlLayout = defineStruct<DmaLoggingControl>(
  'vfio_device_feature_dma_logging_control',
  DMA_LOGGING_CONTROL_SIZEOF,
  {
    pageSize: { offset: 0, kind: 'u64' },
    numRanges: { offset: 8, kind: 'u32' },
    reserved: { offset: 12, kind: 'u32' },
    ranges: { offset: 16, kind: 'u64' },
  },
  DMA_LOGGING_CONTROL_MINSZ,
);

/** Reads a struct vfio_device_feature_dma_logging_control from an ioctl argument: EFAULT if its minsz bytes are not there. */
export const decodeDmaLoggingControl = dmaLoggingControlLayout.decode;
/** Writes a struct vfio_device_feature_dma_logging_control (or its first `length` bytes) into an ioctl argument: EFAULT if it does not fit, EINVAL for a value a field cannot hold. */
export const encodeDmaLoggingControl = dmaLoggingControlLayout.encode;

/** struct vfio_device_feature_dma_logging_range. */
export interface DmaLoggingRange {
  /** First IOVA of the tracked range. */
  iova: bigint;
  /** Length in bytes of the tracked range. */
  length: bigint;
}

/** sizeof(struct vfio_device_feature_dma_logging_range). */
export const DMA_LOGGING_RANGE_SIZEOF = 16;

/** Layout of struct vfio_device_feature_dma_logging_range: offset and C type of each field, sizeof and minsz. */
export const dmaLoggingRangeLayout = defineStruct<DmaLoggingRange>('vfio_device_feature_dma_logging_range', DMA_LOGGING_RANGE_SIZEOF, {
  iova: { offset: 0, kind: 'u64' },
  length: { offset: 8, kind: 'u64' },
});

/**
 * The kernel's LOG_MAX_RANGES: as many ranges as fit in one 4 KiB page. More is E2BIG; zero
 * is EINVAL.
 */
export const DMA_LOGGING_MAX_RANGES = 4096 / DMA_LOGGING_RANGE_SIZEOF;

/** struct vfio_device_feature_dma_logging_report. */
export interface DmaLoggingReport {
  /** First IOVA to report. */
  iova: bigint;
  /** Length in bytes of the range to report. */
  length: bigint;
  /** Reporting granularity: one bitmap bit per page_size bytes of IOVA. */
  pageSize: bigint;
  /** "Pointer" to the u64 bitmap the kernel ORs bits into: a byte offset into the arg. */
  bitmap: bigint;
}

/** sizeof(struct vfio_device_feature_dma_logging_report). */
export const DMA_LOGGING_REPORT_SIZEOF = 32;
/** offsetofend(struct vfio_device_feature_dma_logging_report, bitmap): the whole struct. */
export const DMA_LOGGING_REPORT_MINSZ = 32;

/** Layout of struct vfio_device_feature_dma_logging_report: offset and C type of each field, sizeof and minsz. */
export const dmaLoggingReportLayout = defineStruct<DmaLoggingReport>(
  'vfio_device_feature_dma_logging_report',
  DMA_LOGGING_REPORT_SIZEOF,
  {
    iova: { offset: 0, kind: 'u64' },
    length: { offset: 8, kind: 'u64' },
    pageSize: { offset: 16, kind: 'u64' },
    bitmap: { offset: 24, kind: 'u64' },
  },
  DMA_LOGGING_REPORT_MINSZ,
);

/** Reads a struct vfio_device_feature_dma_logging_report from an ioctl argument: EFAULT if its minsz bytes are not there. */
export const decodeDmaLoggingReport = dmaLoggingReportLayout.decode;
/** Writes a struct vfio_device_feature_dma_logging_report (or its first `length` bytes) into an ioctl argument: EFAULT if it does not fit, EINVAL for a value a field cannot hold. */
export const encodeDmaLoggingReport = dmaLoggingReportLayout.encode;

/**
 * Resolve an emulated user pointer: the offset of `bytes` bytes inside `arg`. EFAULT for the
 * NULL stand-in (0) and for anything reaching outside `arg`.
 */
export function resolveUserPointer(arg: Uint8Array, pointer: bigint, bytes: number | bigint, what: string): number {
  const len = BigInt(bytes);
  if (pointer === 0n) throw uapiFault(`${what}: NULL pointer`);
  if (!(arg instanceof Uint8Array) || len < 0n || pointer + len > BigInt(arg.length)) {
    throw uapiFault(`${what}: ${len} bytes at arg offset ${pointer} lie outside the ${arg instanceof Uint8Array ? arg.length : 0}-byte arg`);
  }
  return Number(pointer);
}

/**
 * Range `i` of a DMA_LOGGING_START control, read through its `ranges` pointer. One at a time,
 * because the kernel copies and validates range by range: a bad range before an unreadable one
 * is reported as the bad range.
 */
export function readDmaLoggingRange(arg: Uint8Array, control: Pick<DmaLoggingControl, 'ranges'>, i: number): DmaLoggingRange {
  const at = control.ranges + BigInt(i) * BigInt(DMA_LOGGING_RANGE_SIZEOF);
  const off = resolveUserPointer(arg, at, DMA_LOGGING_RANGE_SIZEOF, `dma_logging_control.ranges[${i}]`);
  return dmaLoggingRangeLayout.decode(arg, off);
}

/** All `numRanges` ranges of a DMA_LOGGING_START control; EFAULT unless all lie inside `arg`. */
export function readDmaLoggingRanges(arg: Uint8Array, control: Pick<DmaLoggingControl, 'ranges' | 'numRanges'>): DmaLoggingRange[] {
  const off = resolveUserPointer(arg, control.ranges, control.numRanges * DMA_LOGGING_RANGE_SIZEOF, 'dma_logging_control.ranges');
  return decodeArray(dmaLoggingRangeLayout, arg, off, control.numRanges);
}

/**
 * Bytes of bitmap the kernel addresses for a report over `length` bytes at `pageSize`
 * granularity: whole u64 words, one bit per page, bit k (word k / 64, bit k % 64, little-endian)
 * standing for the page at iova + k * pageSize. 0 for an empty range.
 */
export function dmaLoggingBitmapBytes(length: bigint, pageSize: bigint): bigint {
  if (length <= 0n || pageSize <= 0n) return 0n;
  return ((length - 1n) / (64n * pageSize) + 1n) * 8n;
}

/**
 * The report's bitmap as a view into `arg` (writes land in the caller's buffer, as the
 * kernel's copy_to_user would). EFAULT for the NULL stand-in or a bitmap reaching outside `arg`.
 */
export function dmaLoggingBitmapView(arg: Uint8Array, report: Pick<DmaLoggingReport, 'length' | 'pageSize' | 'bitmap'>): Uint8Array {
  const bytes = dmaLoggingBitmapBytes(report.length, report.pageSize);
  const off = resolveUserPointer(arg, report.bitmap, bytes, 'dma_logging_report.bitmap');
  return arg.subarray(off, off + Number(bytes));
}

/**
 * A complete DEVICE_FEATURE SET|DMA_LOGGING_START argument: header, control, then the ranges
 * array. argsz covers header + control; control.ranges = the array's offset (32).
 */
export function buildDmaLoggingStart(pageSize: bigint, ranges: readonly DmaLoggingRange[]): Uint8Array {
  const controlAt = DEVICE_FEATURE_SIZEOF;
  const rangesAt = controlAt + DMA_LOGGING_CONTROL_SIZEOF;
  const buf = new Uint8Array(rangesAt + ranges.length * DMA_LOGGING_RANGE_SIZEOF);
  deviceFeatureLayout.encode({ argsz: rangesAt, flags: VFIO.DEVICE_FEATURE_SET | VFIO.DEVICE_FEATURE_DMA_LOGGING_START }, buf);
  dmaLoggingControlLayout.encode({ pageSize, numRanges: ranges.length, reserved: 0, ranges: BigInt(rangesAt) }, buf, controlAt);
  return encodeArray(dmaLoggingRangeLayout, ranges, buf, rangesAt);
}

/**
 * A complete DEVICE_FEATURE GET|DMA_LOGGING_REPORT argument: header, report, then a zeroed
 * bitmap sized for the range. argsz covers header + report; report.bitmap = its offset (40).
 */
export function buildDmaLoggingReport(iova: bigint, length: bigint, pageSize: bigint): Uint8Array {
  const reportAt = DEVICE_FEATURE_SIZEOF;
  const bitmapAt = reportAt + DMA_LOGGING_REPORT_SIZEOF;
  const bitmapBytes = dmaLoggingBitmapBytes(length, pageSize);
  if (bitmapBytes > BigInt(0x7fffffff)) throw uapiError('ENOMEM', `dma_logging_report: a ${bitmapBytes}-byte bitmap is too large to allocate`);
  const buf = new Uint8Array(bitmapAt + Number(bitmapBytes));
  deviceFeatureLayout.encode({ argsz: bitmapAt, flags: VFIO.DEVICE_FEATURE_GET | VFIO.DEVICE_FEATURE_DMA_LOGGING_REPORT }, buf);
  dmaLoggingReportLayout.encode({ iova, length, pageSize, bitmap: BigInt(bitmapAt) }, buf, reportAt);
  return buf;
}
