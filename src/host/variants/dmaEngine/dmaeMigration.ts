// The migration ops of dmae-vfio-pci (struct vfio_migration_ops): STOP_COPY | P2P | PRE_COPY.
// The vfio core walks every requested transition arc by arc (migration/transition.ts); this file
// implements exactly the single arcs it can ask for with these flags:
//
//   RUNNING -> RUNNING_P2P        the device stops initiating DMA (descriptor fetches, data
//                                 transfers, completion writes, MSI-X messages); MMIO still works,
//                                 doorbells are recorded and processed later
//   RUNNING_P2P -> RUNNING        DMA initiation resumes (after a resume: once the VMM has
//                                 re-established the source's interrupt setup, irqSetup.ts)
//   RUNNING_P2P -> STOP, STOP -> RUNNING_P2P
//                                 nothing to do: the device is already quiesced; STOP only promises
//                                 that the VMM leaves it alone
//   STOP -> STOP_COPY             a saving stream of everything, device stopped
//   STOP_COPY -> STOP             that stream is over
//   STOP -> RESUMING              a resuming stream
//   RESUMING -> STOP              validate the whole stream, then apply it (a bad stream: EINVAL and
//                                 the device is in ERROR, with nothing of the stream applied)
//   RUNNING -> PRE_COPY           a saving stream; the device's dirty tracking of its memory starts
//   PRE_COPY -> RUNNING           the stream is over, tracking stops
//   PRE_COPY <-> PRE_COPY_P2P     quiesce / resume; the stream goes on
//   RUNNING_P2P -> PRE_COPY_P2P   a saving stream of a quiesced device, with tracking
//   PRE_COPY_P2P -> RUNNING_P2P   the stream is over, tracking stops
//   PRE_COPY_P2P -> STOP_COPY     the same stream goes on to the tail and its end
// (and, for completeness, the arcs of a device without P2P: RUNNING <-> STOP, PRE_COPY -> STOP_COPY.)
//
// A failed arc leaves the device where getState says: the state before the arc, except a failed
// resume, which is ERROR. DEVICE_RESET (reset below) brings it back to RUNNING with no stream.

import { decodeState, DmaEngineStateError } from '../../../hw/devices/dmaEngine/stateBlob.js';
import { MIG_FLAG, MigState, migStateName } from '../../vfio/migrationFsm.js';
import type { DataStreamFile } from '../../vfio/dataStream.js';
import type { VfioMigrationOps } from '../../vfio/vfioDeviceOps.js';
import { VfioError } from '../../vfio/vfioError.js';
import { checkConfigImage, replayConfig } from './configImage.js';
import type { DmaeVfioDevice } from './dmaeVfioDevice.js';
import { decodeIrqSetup, irqSetupMismatch, restoreIntxMask } from './irqSetup.js';
import { ResumingStream } from './resumingStream.js';
import type { ResumeImage } from './resumingStream.js';
import { SavingStream } from './savingStream.js';

const { STOP, RUNNING, STOP_COPY, RESUMING, RUNNING_P2P, PRE_COPY, PRE_COPY_P2P } = MigState;

/** The migration flags the DMA engine's variant driver reports: STOP_COPY, P2P and PRE_COPY. */
export const DMAE_MIGRATION_FLAGS = MIG_FLAG.STOP_COPY | MIG_FLAG.P2P | MIG_FLAG.PRE_COPY;

const arc = (from: MigState, to: MigState) => from * 8 + to;

function startSaving(vdev: DmaeVfioDevice, mode: 'precopy' | 'stopcopy'): SavingStream {
  const tracking = mode === 'precopy';
  if (tracking) vdev.engine.startDirtyTracking();
  const s = new SavingStream(vdev.savingSource(tracking), vdev.files, mode);
  vdev.saving = s;
  return s;
}

function endSaving(vdev: DmaeVfioDevice): void {
  vdev.saving?.finish();
  vdev.saving = null;
  if (vdev.engine.dirtyTracking) vdev.engine.stopDirtyTracking();
}

/** The device may run again: only with the interrupt setup the source had (after a resume). */
function resumeDma(vdev: DmaeVfioDevice): void {
  const expected = vdev.expectedIrqs;
  if (expected) {
    const why = irqSetupMismatch(expected, vdev);
    if (why) throw new VfioError('EINVAL', `${vdev.bdf} cannot run yet: ${why}`);
    restoreIntxMask(expected, vdev);
    vdev.expectedIrqs = null;
  }
  vdev.engine.resume();
}

/**
 * RESUMING -> STOP: everything is checked first (the stream's structure, checksum and identity by
 * the stream, then the device state blob, the config image and the interrupt setup against this
 * device); only then is anything written, and only into this device: device memory, the config
 * space through the core's config writes, the registers through the device's restore.
 */
function applyResume(vdev: DmaeVfioDevice, image: ResumeImage): void {
  const bad = (m: string) => new VfioError('EINVAL', `invalid migration stream: ${m}`);
  const engine = vdev.engine;
  const cfg = vdev.config!;
  const id = vdev.identity();
  try {
    decodeState(image.deviceState, { vendorId: id.vendorId, deviceId: id.deviceId, revision: id.revision, deviceMemoryBytes: id.deviceMemoryBytes });
  } catch (e) {
    if (e instanceof DmaEngineStateError) throw bad(`DEVICE_STATE: ${e.message}`);
    throw e;
  }
  const cfgWhy = checkConfigImage(image.vconfig, cfg);
  if (cfgWhy) throw bad(cfgWhy);
  const irqs = decodeIrqSetup(image.irqs, vdev);
  if (typeof irqs === 'string') throw bad(irqs);
  // all checked: apply. Config first, so INTx Disable and the mask are in place before the
  // registers (and an INTx level) come back; the device stays quiesced until RUNNING.
  engine.writeDeviceMemory(0, image.deviceMemory);
  replayConfig(image.vconfig, cfg);
  restoreIntxMask(irqs, vdev);
  engine.restoreState(image.deviceState);
  vdev.expectedIrqs = irqs;
}

export const dmaeMigrationOps: VfioMigrationOps<DmaeVfioDevice> = {
  flags: DMAE_MIGRATION_FLAGS,

  setState(vdev: DmaeVfioDevice, next: MigState): DataStreamFile | null {
    const from = vdev.migState;
    const engine = vdev.engine;
    switch (arc(from, next)) {
      case arc(RUNNING, RUNNING_P2P):
      case arc(PRE_COPY, PRE_COPY_P2P):
      case arc(RUNNING, STOP):
        engine.quiesce();
        return null;
      case arc(RUNNING_P2P, RUNNING):
      case arc(STOP, RUNNING):
        resumeDma(vdev);
        return null;
      case arc(PRE_COPY_P2P, PRE_COPY):
        engine.resume();
        return null;
      case arc(RUNNING_P2P, STOP):
      case arc(STOP, RUNNING_P2P):
        return null;
      case arc(STOP, STOP_COPY):
        return startSaving(vdev, 'stopcopy');
      case arc(STOP_COPY, STOP):
      case arc(PRE_COPY, RUNNING):
      case arc(PRE_COPY_P2P, RUNNING_P2P):
        endSaving(vdev);
        return null;
      case arc(RUNNING, PRE_COPY):
      case arc(RUNNING_P2P, PRE_COPY_P2P):
        return startSaving(vdev, 'precopy');
      case arc(PRE_COPY, STOP_COPY):
        engine.quiesce();
        vdev.saving!.stopCopy();
        return null;
      case arc(PRE_COPY_P2P, STOP_COPY):
        vdev.saving!.stopCopy();
        return null;
      case arc(STOP, RESUMING): {
        const s = new ResumingStream(vdev.identity(), vdev.files);
        vdev.resuming = s;
        return s;
      }
      case arc(RESUMING, STOP): {
        const s = vdev.resuming;
        vdev.resuming = null;
        try {
          if (!s) throw new VfioError('EINVAL', 'no resuming stream');
          applyResume(vdev, s.image());
        } catch (e) {
          vdev.broken = true;
          throw e;
        } finally {
          s?.finish();
        }
        return null;
      }
      default:
        throw new VfioError('EINVAL', `dmae-vfio-pci has no arc ${migStateName(from)} -> ${migStateName(next)}`);
    }
  },

  getState(vdev: DmaeVfioDevice): MigState {
    return vdev.broken ? MigState.ERROR : vdev.migState;
  },

  getDataSize(vdev: DmaeVfioDevice): bigint {
    return BigInt(vdev.saving ? vdev.saving.remainingBytes() : vdev.fullStreamBytes());
  },

  reset(vdev: DmaeVfioDevice): void {
    resetMigration(vdev);
  },
};

/** Back to RUNNING with no stream: DEVICE_RESET, first open, last close. */
export function resetMigration(vdev: DmaeVfioDevice): void {
  vdev.saving?.finish();
  vdev.saving = null;
  vdev.resuming?.finish();
  vdev.resuming = null;
  vdev.broken = false;
  vdev.expectedIrqs = null;
  if (vdev.engine.dirtyTracking) vdev.engine.stopDirtyTracking();
  vdev.engine.resume();
}
