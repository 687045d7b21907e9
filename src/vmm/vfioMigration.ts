import type { Host } from '../host/host.js';
import type { DataStreamFile } from '../host/vfio/dataStream.js';
import { VfioDeviceFileImpl } from '../host/vfio/deviceFile.js';
import type { IommufdCtx } from '../host/vfio/iommufd.js';
import { MigState, migStateName } from '../host/vfio/migrationFsm.js';
import { VFIO } from '../host/vfio/uapi/constants.js';
import { decodeFeatureMigDataSize, decodeFeatureMigState, decodeFeatureMigration, encodeFeatureMigState } from '../host/vfio/uapi/migrationFeature.js';
import { decodePrecopyInfo, encodePrecopyInfo, PRECOPY_INFO_SIZEOF } from '../host/vfio/uapi/precopyInfo.js';
import { isVfioError } from '../host/vfio/vfioError.js';
import type { VfioPciDevice } from './vfioPciDevice.js';

/** A migration that cannot go on; `device` names the assigned device when one is to blame. */
export class MigrationError extends Error {
  constructor(
    message: string,
    /** Guest BDF of the assigned device to blame, when there is one. */
    readonly device?: string,
  ) {
    super(message);
    this.name = 'MigrationError';
  }
}

/**
 * One assigned device's side of VFIO migration v2, through its device file only (QEMU's
 * hw/vfio/migration.c): the MIGRATION feature's flags, MIG_DEVICE_STATE GET/SET (a SET that opens a
 * stream returns the data_fd, reached through the host's file table), MIG_DATA_SIZE, and
 * VFIO_MIG_GET_PRECOPY_INFO on the data fd. `setStateOrReset` is QEMU's vfio_migration_set_state:
 * when an arc fails it tries the recovery state, and when that fails too, or the device reports
 * ERROR, it resets the device (VFIO_DEVICE_RESET, which leaves ERROR for RUNNING).
 */
export class VfioMigration {
  /** VFIO_MIGRATION_* (0: the device does not support migration) */
  readonly flags: number;
  /** the data fd of the current stream */
  stream: DataStreamFile | null = null;
  /** transitions asked for (successful ones), and resets done as a fallback */
  readonly transitions: MigState[] = [];
  /** VFIO_DEVICE_RESETs done as the last fallback after a failed arc. */
  resets = 0;

  /**
   * The iommufd context the device's data fds are installed in: the device file's owner (the VMM's
   * own context, which vmm.assign checks), the default user's for a file pcisim did not open.
   */
  private readonly iommufd: IommufdCtx | undefined;

  constructor(
    /** The assigned device whose state migrates. */
    readonly dev: VfioPciDevice,
    private readonly host: Host,
    iommufd?: IommufdCtx,
  ) {
    this.iommufd = iommufd ?? (dev.file instanceof VfioDeviceFileImpl ? dev.file.owner : undefined);
    let flags = 0;
    try {
      const data = dev.client.feature(VFIO.DEVICE_FEATURE_GET | VFIO.DEVICE_FEATURE_MIGRATION, 8);
      flags = Number(decodeFeatureMigration(data).flags);
    } catch (e) {
      if (!isVfioError(e)) throw e;
      flags = 0; // ENOTTY: no migration driver
    }
    this.flags = flags;
  }

  /** The device can migrate: its driver supports VFIO_MIGRATION_STOP_COPY. */
  get supported(): boolean {
    return (this.flags & VFIO.MIGRATION_STOP_COPY) !== 0;
  }

  /** The device supports the P2P states (VFIO_MIGRATION_P2P: RUNNING_P2P, PRE_COPY_P2P). */
  get p2p(): boolean {
    return (this.flags & VFIO.MIGRATION_P2P) !== 0;
  }

  /** The device supports pre-copy (VFIO_MIGRATION_PRE_COPY: PRE_COPY, PRE_COPY_P2P). */
  get precopy(): boolean {
    return (this.flags & VFIO.MIGRATION_PRE_COPY) !== 0;
  }

  /** The device's migration state (DEVICE_FEATURE GET of MIG_DEVICE_STATE). */
  state(): MigState {
    const data = this.dev.client.feature(VFIO.DEVICE_FEATURE_GET | VFIO.DEVICE_FEATURE_MIG_DEVICE_STATE, 8);
    return decodeFeatureMigState(data).deviceState as MigState;
  }

  /** MIG_DEVICE_STATE SET; a new stream (data_fd >= 0) replaces the current one. Throws the VfioError. */
  setState(target: MigState): DataStreamFile | null {
    const payload = new Uint8Array(8);
    encodeFeatureMigState({ deviceState: target, dataFd: -1 }, payload);
    const data = this.dev.client.feature(VFIO.DEVICE_FEATURE_SET | VFIO.DEVICE_FEATURE_MIG_DEVICE_STATE, payload);
    this.transitions.push(target);
    const fd = decodeFeatureMigState(data).dataFd;
    if (fd < 0) return null;
    this.closeStream();
    // the number is in the device owner's file table, as the kernel puts data_fd in the caller's
    this.stream = this.host.fd(fd, this.iommufd);
    return this.stream;
  }

  /**
   * SET `target`; on failure the recovery state (QEMU's recover_state), and DEVICE_RESET when the
   * device is in ERROR or the recovery fails as well. Throws a MigrationError either way; `log`
   * hears what happened.
   */
  setStateOrReset(target: MigState, recover: MigState | null, log: (line: string) => void): DataStreamFile | null {
    try {
      return this.setState(target);
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      log(`${this.dev.name}: migration state ${migStateName(target)} failed: ${why}`);
      let now: MigState = MigState.ERROR;
      try {
        now = this.state();
      } catch {
        now = MigState.ERROR;
      }
      let recovered = false;
      if (now !== MigState.ERROR && recover !== null) {
        try {
          if (now !== recover) this.setState(recover);
          recovered = true;
          log(`${this.dev.name}: back in ${migStateName(recover)}`);
        } catch (e2) {
          log(`${this.dev.name}: recovery to ${migStateName(recover)} failed: ${e2 instanceof Error ? e2.message : String(e2)}`);
        }
      }
      if (!recovered) this.resetDevice(log);
      throw new MigrationError(`${this.dev.name}: ${migStateName(target)} failed: ${why}`, this.dev.guestBdf);
    }
  }

  /** The fallback: VFIO_DEVICE_RESET (the device is RUNNING afterwards, its state lost). */
  resetDevice(log: (line: string) => void): void {
    this.closeStream();
    this.resets++;
    try {
      this.dev.client.reset();
      log(`${this.dev.name}: reset (VFIO_DEVICE_RESET) after a failed migration arc; device state is lost`);
    } catch (e) {
      log(`${this.dev.name}: VFIO_DEVICE_RESET failed too: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** MIG_DATA_SIZE: what STOP_COPY would carry now. */
  dataSize(): bigint {
    const data = this.dev.client.feature(VFIO.DEVICE_FEATURE_GET | VFIO.DEVICE_FEATURE_MIG_DATA_SIZE, 8);
    return decodeFeatureMigDataSize(data).stopCopyLength;
  }

  /** VFIO_MIG_GET_PRECOPY_INFO on the current stream: initial and dirty bytes ready to read. */
  precopyInfo(): {
    /** initial_bytes: initial data still to read before the device can leave PRE_COPY. */
    initial: number;
    /** dirty_bytes: data the device changed since, ready to read. */
    dirty: number;
  } {
    const s = this.stream;
    if (!s || !s.ioctl) return { initial: 0, dirty: 0 };
    const arg = encodePrecopyInfo({ argsz: PRECOPY_INFO_SIZEOF, flags: 0, initialBytes: 0n, dirtyBytes: 0n });
    s.ioctl(VFIO.MIG_GET_PRECOPY_INFO, arg);
    const i = decodePrecopyInfo(arg);
    return { initial: Number(i.initialBytes), dirty: Number(i.dirtyBytes) };
  }

  /** Closes the current data fd, if any (errors from close are ignored). */
  closeStream(): void {
    const s = this.stream;
    this.stream = null;
    if (!s) return;
    try {
      s.close();
    } catch {
      // already closed by the host (a state change ended it)
    }
  }
}
