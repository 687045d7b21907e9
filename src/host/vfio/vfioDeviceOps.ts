import type { VfioDevice } from './vfioDevice.js';
import type { MigState } from './migrationFsm.js';
import type { DataStreamFile } from './dataStream.js';
import type { VfioMapping } from './mapping.js';

/** One mappable area of a region (what mmap of the device fd at that region would map). */
export interface MmapArea {
  /** Offset of the area from the start of the region. */
  offset: number;
  /** Size of the area in bytes. */
  size: number;
}

/**
 * What a mapping needs from the file it was made from (the vma's reference to its file): whether the
 * device still answers (not removed from the hardware), and to be told of its munmap, which releases
 * a device whose file was closed while mapped.
 */
export interface MappingHolder {
  /** the device is still there for the mapping (false once it was removed under the file) */
  mapped(): boolean;
  /** the mapping was unmapped */
  unmapped(): void;
}

/**
 * The migration ops (struct vfio_migration_ops). set-state is only ever asked for a single arc;
 * the core walks multi-arc transitions (vfio_mig_get_next_state). A state whose arc opens a stream
 * returns that stream's file.
 */
export interface VfioMigrationOps<D extends VfioDevice = VfioDevice> {
  /** VFIO_MIGRATION_* flags the device supports (always includes STOP_COPY) */
  flags: number;
  /** migration_set_state: performs one arc to `next`; returns the data stream file that arc opens, if any. */
  setState(vdev: D, next: MigState): DataStreamFile | null;
  /** migration_get_state: the device's current migration state. */
  getState(vdev: D): MigState;
  /** bytes the STOP_COPY stream would carry now (MIG_DATA_SIZE) */
  getDataSize(vdev: D): bigint;
  /** DEVICE_RESET happened: drop migration state, the device is RUNNING */
  reset?(vdev: D): void;
}

/** DMA logging ops (struct vfio_log_ops): device-side dirty tracking of the pages it writes. */
export interface VfioLogOps<D extends VfioDevice = VfioDevice> {
  /** may return the page size the device chose to track at (written back to control.page_size) */
  start(vdev: D, ranges: { iova: bigint; length: bigint }[], pageSize: bigint): void | bigint;
  /** log_stop: ends DMA logging and frees the tracker. */
  stop(vdev: D): void;
  /** returns the dirty bitmap for [iova, iova+length) at pageSize and clears what it reports */
  readAndClear(vdev: D, iova: bigint, length: bigint, pageSize: bigint): Uint8Array;
}

/**
 * A register read answered as a number, for the device file's readValue (no buffer to fill): the
 * unsigned value `read` would put into a `size`-byte buffer at `offset`, with the same checks and
 * errno, or -1 where this op does not answer (the file then calls `read`). It names the read it
 * stands in for (`mirrors`): the file uses it only while the ops' `read` is that function, so a
 * variant that spreads the core's ops and overrides `read` is never bypassed.
 */
export interface ReadValueOp<D extends VfioDevice = VfioDevice> {
  (vdev: D, offset: bigint, size: 1 | 2 | 4): number;
  readonly mirrors: (vdev: D, offset: bigint, buf: Uint8Array) => number;
}

/**
 * struct vfio_device_ops. vfio-pci-core exports a default for each entry; a variant driver builds its
 * table from those defaults and overrides what it needs, calling the default for everything else.
 * Each op throws a VfioError for the errno Linux returns.
 */
export interface VfioDeviceOps<D extends VfioDevice = VfioDevice> {
  /** Driver name, shown in errors and logs (e.g. "vfio-pci"). */
  readonly name: string;
  /** Called once when the device is created (vfio_device_ops.init). */
  init?(vdev: D): void;
  /** Called once when the device is freed (vfio_device_ops.release). */
  release?(vdev: D): void;
  /** first open of the device (of its file) */
  openDevice?(vdev: D): void;
  /** last close */
  closeDevice?(vdev: D): void;
  /** fills `buf` from the region offset (the kernel's read(buf, count, ppos)); returns bytes read */
  read?(vdev: D, offset: bigint, buf: Uint8Array): number;
  /** Writes `data` at the region offset (the kernel's write(buf, count, ppos)); returns bytes written. */
  write?(vdev: D, offset: bigint, data: Uint8Array): number;
  /** pcisim's own (no Linux counterpart): `read` of one register as a number; see ReadValueOp */
  readConfigValue?: ReadValueOp<D>;
  /** Device ioctl (VFIO_DEVICE_GET_INFO, SET_IRQS, RESET ...); `arg` is the struct, updated in place; returns the ioctl's value. */
  ioctl?(vdev: D, request: number, arg: Uint8Array): number;
  /** what of region `index` can be mapped (empty: nothing); GET_REGION_INFO's sparse areas */
  mmap?(vdev: D, index: number): MmapArea[];
  /**
   * The mmap itself (vfio_device_ops.mmap): `length` bytes (whole pages) of region `index` from byte
   * `start` (page aligned), mapped for `holder`; throws VfioError (EINVAL) where Linux refuses.
   */
  mmapRegion?(vdev: D, index: number, start: number, length: number, holder: MappingHolder): VfioMapping;
  /** the driver wants the device back (unbind while open); count = how many times asked */
  request?(vdev: D, count: number): void;
  /** does the open request `token` (e.g. a vf_token) name this device? returns 0, or throws */
  match?(vdev: D, token: string | null): void;
  /** DEVICE_FEATURE for features the vfio core does not handle itself */
  deviceFeature?(vdev: D, flags: number, data: Uint8Array): number;
  /** Migration callbacks (vfio_device.mig_ops); absent when the device cannot migrate. */
  migrationOps?: VfioMigrationOps<D>;
  /** DMA logging callbacks (vfio_device.log_ops); absent without device dirty tracking. */
  logOps?: VfioLogOps<D>;
}
