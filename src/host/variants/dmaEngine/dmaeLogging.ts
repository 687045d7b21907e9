// The DMA logging ops of dmae-vfio-pci (struct vfio_log_ops) over the DMA engine's own write log:
// the guest pages the device wrote by DMA (completions, COPY_FROM_DEVICE data), which a VMM adds to
// its RAM dirty bitmap while it migrates guest memory. The vfio core has already validated the
// uapi structs (migration/features.ts); what is left is the device's own answer.
//
// - start: EINVAL while logging runs (the device tracks one set of ranges at a time, as mlx5 does);
//   the device takes the page size rounded into 4 KiB..1 GiB and the result is what it tracks at
//   (the core reports it back in page_size).
// - stop: stops logging; nothing to do when it is not running.
// - report: EINVAL while logging is off; otherwise the bitmap of the window at the report's page
//   size, each dirty tracker page setting the bits of the report pages it overlaps, and the device
//   clears what it reported.

import { DmaEngine } from '../../../hw/devices/dmaEngine/dmaEngine.js';
import { dmaLoggingBitmapBytes } from '../../vfio/uapi/dmaLogging.js';
import type { VfioLogOps } from '../../vfio/vfioDeviceOps.js';
import { VfioError } from '../../vfio/vfioError.js';
import type { DmaeVfioDevice } from './dmaeVfioDevice.js';

/** The bitmap of [iova, iova+length) at `pageSize` for the dirty tracker pages `dirty` (IOVAs) of `trackSize` bytes. */
export function dirtyBitmap(dirty: readonly number[], trackSize: number, iova: bigint, length: bigint, pageSize: bigint): Uint8Array {
  const bitmap = new Uint8Array(Number(dmaLoggingBitmapBytes(length, pageSize)));
  if (dirty.length === 0) return bitmap;
  // dirty pages lie in guest memory (below 2^32), so the window's start does too; its end and the
  // page size may be anything the uapi allows
  const start = Number(iova);
  const end = Number(iova + length);
  const page = Number(pageSize);
  for (const a of dirty) {
    const s = Math.max(a, start);
    const e = Math.min(a + trackSize, end);
    if (s >= e) continue;
    const last = Math.floor((e - 1 - start) / page);
    for (let bit = Math.floor((s - start) / page); bit <= last; bit++) bitmap[bit >>> 3] |= 1 << (bit & 7);
  }
  return bitmap;
}

export const dmaeLogOps: VfioLogOps<DmaeVfioDevice> = {
  start(vdev, ranges, pageSize): bigint {
    const engine: DmaEngine = vdev.engine;
    if (engine.dmaLogging) throw new VfioError('EINVAL', `${vdev.bdf}: DMA logging is already started (stop it first)`);
    try {
      return engine.dmaLogStart(ranges, pageSize);
    } catch (e) {
      if (e instanceof RangeError) throw new VfioError('EINVAL', `${vdev.bdf}: ${e.message}`);
      throw e;
    }
  },

  stop(vdev): void {
    if (vdev.engine.dmaLogging) vdev.engine.dmaLogStop();
  },

  readAndClear(vdev, iova, length, pageSize): Uint8Array {
    const engine = vdev.engine;
    if (!engine.dmaLogging) throw new VfioError('EINVAL', `${vdev.bdf}: DMA logging is not started`);
    return dirtyBitmap(engine.dmaLogReport(iova, length), engine.dmaLogPageSize, iova, length, pageSize);
  },
};
