import type { DmaLogRange } from './dmaWriteLog.js';

/**
 * The DMA engine's own migration support: what the device offers its migration (variant) driver,
 * the way mlx5 and HiSilicon accelerators offer suspend/resume, dirty tracking and state
 * save/load through their firmware or PF. It is part of the device, not of the PCI function: a
 * function reset (FLR, D3hot->D0, bus reset) returns the registers and device memory to power-on
 * but leaves these controls (quiesce, dirty tracking, DMA logging) where the driver set them; a
 * reset clearing device memory shows up as every page dirty.
 */
export interface DmaEngineMigration {
  // ---- DMA initiation (RUNNING_P2P) ------------------------------------------------------------
  /**
   * Stops initiating DMA: no descriptor fetch, data transfer, completion write or MSI-X message
   * (each descriptor is processed whole, so none is left half done). MMIO keeps working: doorbells
   * are recorded and processed after `resume`. Idempotent.
   */
  quiesce(): void;
  /** Allows DMA initiation again; work and interrupts held back go out on the next tick. */
  resume(): void;
  /** Whether DMA initiation is stopped by `quiesce` (and not yet resumed). */
  readonly quiesced: boolean;

  // ---- device memory -----------------------------------------------------------------------------
  /** Size of device memory in bytes. */
  readonly deviceMemoryBytes: number;
  /** Granularity of device-memory dirty tracking (4 KiB). */
  readonly deviceMemoryPageSize: number;
  /** A copy of device memory [offset, offset+length); RangeError outside it. */
  readDeviceMemory(offset: number, length: number): Uint8Array;
  /**
   * Device memory [offset, offset+length) without copying, for streaming it out (STOP_COPY): the
   * caller must not write through it, and it shows later changes (copy what must stay fixed).
   */
  deviceMemoryView(offset: number, length: number): Uint8Array;
  /** Writes device memory (restoring pages on the destination); RangeError outside it. */
  writeDeviceMemory(offset: number, data: Uint8Array): void;
  /** Starts (or restarts) device-memory dirty tracking with every page clean. */
  startDirtyTracking(): void;
  /** Stops device-memory dirty tracking and forgets the dirty pages. */
  stopDirtyTracking(): void;
  /** Whether device-memory dirty tracking is on. */
  readonly dirtyTracking: boolean;
  /** Pages written since tracking started or since the last `takeDirtyPages` (not cleared). */
  dirtyPageCount(): number;
  /** Dirty page indices (offset / deviceMemoryPageSize), ascending; clears them. Error when tracking is off. */
  takeDirtyPages(): number[];

  // ---- DMA write logging (guest pages the device wrote) ------------------------------------------
  /**
   * Starts logging the device's DMA writes into the IOVA ranges at `pageSize` (a power of two; the
   * device clamps it to 4 KiB..1 GiB and returns the size it tracks at). RangeError for empty,
   * too many (> 256), empty-length, overflowing or overlapping ranges; Error if already started.
   */
  dmaLogStart(ranges: readonly DmaLogRange[], pageSize: bigint): bigint;
  /** IOVAs of the dirty tracked pages intersecting [iova, iova+length), ascending; clears them. */
  dmaLogReport(iova: bigint, length: bigint): number[];
  /** Stops logging DMA writes and drops the log (VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP). */
  dmaLogStop(): void;
  /** Whether DMA write logging is on. */
  readonly dmaLogging: boolean;
  /** The page size the DMA write log tracks at. */
  readonly dmaLogPageSize: number;

  // ---- internal state -----------------------------------------------------------------------------
  /** The versioned save-state blob of everything but device memory (stateBlob.ts). */
  saveState(): Uint8Array;
  /** Validates then applies a blob; DmaEngineStateError (device unchanged) when it is not acceptable. */
  restoreState(blob: Uint8Array): void;
  /** Size of a blob from saveState. */
  readonly stateBytes: number;
  /** Digest of the registers, counters and device memory (equal on source and destination after a migration). */
  digest(): string;
}
