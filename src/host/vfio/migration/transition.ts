import type { VfioDevice } from '../vfioDevice.js';
import { MigState, migrationArcs, migStateName } from '../migrationFsm.js';
import type { DataStreamFile } from '../dataStream.js';
import { VfioError } from '../vfioError.js';

/**
 * Executes a requested migration state change arc by arc (what every kernel migration driver does
 * with vfio_mig_get_next_state in its set_state): the driver's setState op only ever performs one
 * single arc. Returns the data stream the final arc opened, if any.
 *
 * On a failed arc the device stays where the driver says it is (getState: the state before the arc,
 * or ERROR when the device is broken), as the uapi allows ("the original operating state or some
 * other state along the combination transition path"). ERROR is left only by DEVICE_RESET.
 */
export function migrationSetState(vdev: VfioDevice, target: MigState): DataStreamFile | null {
  const mig = vdev.ops.migrationOps;
  if (!mig) throw new VfioError('ENOTTY', `${vdev.bdf} does not support migration`);
  const cur = vdev.migState;
  if (cur === target) return null;
  if (cur === MigState.ERROR) throw new VfioError('EINVAL', `${vdev.bdf} is in ERROR; only DEVICE_RESET leaves it`);
  // throws EINVAL for a state the device does not support
  const arcs = migrationArcs(cur, target, mig.flags);
  if (arcs[arcs.length - 1] === MigState.ERROR) {
    throw new VfioError('EINVAL', `no transition from ${migStateName(cur)} to ${migStateName(target)}`);
  }
  let file: DataStreamFile | null = null;
  for (const next of arcs) {
    const from = vdev.migState;
    let opened: DataStreamFile | null;
    try {
      opened = mig.setState(vdev, next);
    } catch (e) {
      vdev.migState = mig.getState(vdev);
      if (file) file.close();
      if (e instanceof VfioError) throw e;
      throw new VfioError('EIO', `arc ${migStateName(from)} -> ${migStateName(next)} failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    vdev.migState = next;
    // a stream belongs to its state: leaving the state ends it
    if (vdev.migFile && opened !== vdev.migFile && !continuesStream(from, next)) {
      vdev.migFile.finish?.();
      vdev.migFile = null;
    }
    if (opened) {
      file = opened;
      vdev.migFile = opened;
    }
  }
  return file;
}

/** PRE_COPY(_P2P) -> STOP_COPY and PRE_COPY <-> PRE_COPY_P2P keep the saving stream going. */
function continuesStream(from: MigState, to: MigState): boolean {
  const saving = (s: MigState) => s === MigState.PRE_COPY || s === MigState.PRE_COPY_P2P || s === MigState.STOP_COPY;
  return saving(from) && saving(to) && from !== MigState.STOP_COPY;
}

/** After DEVICE_RESET: the device is RUNNING again and any stream is over. */
export function migrationReset(vdev: VfioDevice): void {
  if (!vdev.ops.migrationOps) return;
  vdev.migFile?.finish?.();
  vdev.migFile = null;
  vdev.ops.migrationOps.reset?.(vdev);
  vdev.migState = MigState.RUNNING;
}
