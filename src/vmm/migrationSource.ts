import { MigState, migStateName } from '../host/vfio/migrationFsm.js';
import { isVfioError } from '../host/vfio/vfioError.js';
import { RecordType, encodeHeader, encodeRecord, ramPayload } from './migrationStream.js';
import { RamSender } from './ramMigration.js';
import { MigrationError, VfioMigration } from './vfioMigration.js';
import { encodeVmmDeviceState } from './vmmDeviceState.js';
import type { Vmm } from './vmm.js';

/** Options of a migration's source side ({@link MigrationSource}). */
export interface MigrationOptions {
  /** bytes asked of a data fd per read (default 1 MiB) */
  chunkBytes?: number;
  /**
   * Devices without migration support block migration (QEMU's migration blocker) unless this is
   * set; then they are left out: their device state does not move.
   */
  allowUnmigratable?: boolean;
  /** use the P2P states when several devices migrate and all support them (default true) */
  p2p?: boolean;
}

/** What one pre-copy pass sent. */
export interface PassReport {
  /** Pass number, from 1. */
  pass: number;
  /** Device state bytes read from the devices' data fds in this pass. */
  deviceBytes: number;
  /** Dirty guest RAM bytes sent in this pass. */
  ramBytes: number;
  /** PRECOPY_INFO initial + dirty bytes per device before the pass */
  ready: Record<string, number>;
}

/** What the stop-and-copy phase (the guest paused) sent, and how many device-file steps it took. */
export interface StopCopyReport {
  /** Device state bytes read during stop-and-copy (the STOP_COPY streams). */
  deviceBytes: number;
  /** The last dirty guest RAM bytes, sent with the guest paused. */
  ramBytes: number;
  /** Bytes of the VMM's own state of each device (emulated config, MSI/MSI-X, INTx). */
  vmmBytes: number;
  /** state transitions, data-fd reads and records during the downtime */
  steps: number;
}

/** The devices of a VMM that migrate, and whether the P2P states are used (QEMU: all must have them, and more than one device). */
export function migratingDevices(vmm: Vmm, options: MigrationOptions): { devices: VfioMigration[]; p2p: boolean } {
  const all = vmm.devices().map((d) => new VfioMigration(d, vmm.host, vmm.iommufd));
  const blocked = all.filter((m) => !m.supported);
  if (blocked.length > 0 && !options.allowUnmigratable) {
    throw new MigrationError(`migration is blocked: ${blocked.map((m) => m.dev.name).join(', ')} cannot migrate (no VFIO migration support)`, blocked[0].dev.guestBdf);
  }
  const devices = all.filter((m) => m.supported);
  return { devices, p2p: (options.p2p ?? true) && devices.length > 1 && devices.every((m) => m.p2p) };
}

/**
 * The source side of a live migration, as QEMU drives VFIO migration v2: start() puts each
 * migrating device in PRE_COPY (where it has it) while the guest keeps running; iterate() is one
 * pass that reads what each device's data fd has ready (VFIO_MIG_GET_PRECOPY_INFO) and the guest
 * RAM pages that changed; complete(), with the guest paused, moves the devices to PRE_COPY_P2P /
 * RUNNING_P2P first when P2P is used, then STOP_COPY, reads each stream to its end, STOP, and sends
 * the last RAM pages and the VMM's own state of each device. A failed arc falls back to the
 * recovery state or DEVICE_RESET and fails the migration; cancel() takes the devices back to RUNNING.
 */
export class MigrationSource {
  /** The devices that migrate (VFIO migration supported), one VfioMigration each. */
  readonly devices: VfioMigration[];
  /** The P2P states (RUNNING_P2P, PRE_COPY_P2P) are used: more than one device, all supporting VFIO_MIGRATION_P2P. */
  readonly p2p: boolean;
  /** One report per pre-copy pass (iterate), in order. */
  readonly passes: PassReport[] = [];
  /** What the stop-and-copy phase sent; null until complete() finished it. */
  stopCopy: StopCopyReport | null = null;
  /** Total bytes handed to `send` so far. */
  bytesOut = 0;
  private readonly ram: RamSender;
  private readonly chunk: number;
  private phase: 'idle' | 'precopy' | 'stopped' | 'done' | 'cancelled' = 'idle';
  private steps = 0;

  constructor(
    /** The source VMM whose devices and RAM migrate. */
    readonly vmm: Vmm,
    private readonly send: (chunk: Uint8Array) => void,
    options: MigrationOptions = {},
  ) {
    const m = migratingDevices(vmm, options);
    this.devices = m.devices;
    this.p2p = m.p2p;
    this.chunk = options.chunkBytes ?? 1 << 20;
    this.ram = new RamSender(vmm.memory, vmm.ram);
  }

  private log = (line: string) => this.vmm.log.info(`migration: ${line}`);

  private emit(bytes: Uint8Array): void {
    this.bytesOut += bytes.length;
    this.steps++;
    this.send(bytes);
  }

  /** The stream header; every device with PRE_COPY enters it (the guest keeps running). */
  start(): void {
    if (this.phase !== 'idle') throw new MigrationError(`start() in phase ${this.phase}`);
    this.emit(encodeHeader());
    this.log(`${this.devices.length} device(s) migrate${this.p2p ? ', with P2P states' : ''}`);
    for (const m of this.devices) {
      if (!m.precopy) continue;
      try {
        m.setStateOrReset(MigState.PRE_COPY, MigState.RUNNING, this.log);
      } catch (e) {
        this.cancel();
        throw e;
      }
    }
    this.phase = 'precopy';
  }

  /** Reads up to `limit` bytes of what `m`'s stream has (limit Infinity: to the end); returns bytes sent. */
  private drain(m: VfioMigration, limit: number): number {
    const s = m.stream;
    if (!s) return 0;
    let sent = 0;
    while (sent < limit) {
      let b: Uint8Array;
      try {
        b = s.read(Math.min(this.chunk, limit - sent));
      } catch (e) {
        if (isVfioError(e, 'ENOMSG')) break; // pre-copy: nothing ready now
        throw e;
      }
      this.steps++;
      if (b.length === 0) break;
      this.emit(encodeRecord(RecordType.DEVICE, m.dev.guestBdf, b));
      sent += b.length;
    }
    return sent;
  }

  private sendRam(): number {
    let n = 0;
    for (const run of this.ram.dirtyRuns()) {
      this.emit(encodeRecord(RecordType.RAM, '', ramPayload(run.addr, run.bytes)));
      n += run.bytes.length;
    }
    return n;
  }

  /** One pre-copy pass while the guest runs: what each device has ready, then changed RAM. */
  iterate(): PassReport {
    if (this.phase !== 'precopy') throw new MigrationError(`iterate() in phase ${this.phase}`);
    const ready: Record<string, number> = {};
    let deviceBytes = 0;
    try {
      for (const m of this.devices) {
        if (!m.stream) continue;
        let want = Infinity;
        try {
          const info = m.precopyInfo();
          want = info.initial + info.dirty;
        } catch {
          want = Infinity; // no PRECOPY_INFO: read until the temporary end
        }
        ready[m.dev.guestBdf] = Number.isFinite(want) ? want : -1;
        if (want > 0) deviceBytes += this.drain(m, want);
      }
    } catch (e) {
      this.log(`pre-copy read failed: ${e instanceof Error ? e.message : String(e)}`);
      this.cancel();
      throw new MigrationError(`pre-copy failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    const ramBytes = this.sendRam();
    const r: PassReport = { pass: this.passes.length, deviceBytes, ramBytes, ready };
    this.passes.push(r);
    return r;
  }

  /**
   * Stop and copy, with the guest paused: P2P states first when used, STOP_COPY, every stream read
   * to its end, STOP, the last RAM pages, the VMM state of each device, END.
   */
  complete(): StopCopyReport {
    if (this.phase !== 'precopy') throw new MigrationError(`complete() in phase ${this.phase}`);
    this.steps = 0;
    const before = this.bytesOut;
    let deviceBytes = 0;
    try {
      if (this.p2p) {
        for (const m of this.devices) {
          const pre = m.stream !== null;
          const target = pre ? MigState.PRE_COPY_P2P : MigState.RUNNING_P2P;
          m.setStateOrReset(target, pre ? MigState.PRE_COPY : MigState.RUNNING, this.log);
          this.steps++;
        }
      }
      for (const m of this.devices) {
        m.setStateOrReset(MigState.STOP_COPY, MigState.STOP, this.log);
        this.steps++;
      }
      for (const m of this.devices) deviceBytes += this.drain(m, Infinity);
      for (const m of this.devices) {
        m.setStateOrReset(MigState.STOP, null, this.log);
        m.closeStream();
        this.steps++;
      }
    } catch (e) {
      this.log(`stop-and-copy failed: ${e instanceof Error ? e.message : String(e)}`);
      this.cancel();
      throw e instanceof MigrationError ? e : new MigrationError(`stop-and-copy failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    this.phase = 'stopped';
    const ramBytes = this.sendRam();
    let vmmBytes = 0;
    for (const m of this.devices) {
      const rec = encodeRecord(RecordType.VMM_DEVICE, m.dev.guestBdf, encodeVmmDeviceState(m.dev.captureState()));
      vmmBytes += rec.length;
      this.emit(rec);
    }
    this.emit(encodeRecord(RecordType.END, ''));
    this.phase = 'done';
    this.stopCopy = { deviceBytes, ramBytes, vmmBytes, steps: this.steps };
    this.log(`stop-and-copy: ${deviceBytes} device bytes, ${ramBytes} RAM bytes, ${vmmBytes} VMM bytes, ${this.steps} steps; ${this.bytesOut - before} bytes in the downtime`);
    return this.stopCopy;
  }

  /**
   * The migration failed or was cancelled: every device back to RUNNING (DEVICE_RESET where that
   * fails), streams closed. The guest carries on here.
   */
  cancel(): void {
    if (this.phase === 'cancelled') return;
    this.phase = 'cancelled';
    for (const m of this.devices) {
      m.closeStream();
      try {
        const now = m.state();
        if (now === MigState.RUNNING) continue;
        if (now === MigState.ERROR) {
          m.resetDevice(this.log);
          continue;
        }
        m.setState(MigState.RUNNING);
        this.log(`${m.dev.name}: back to RUNNING from ${migStateName(now)}`);
      } catch (e) {
        this.log(`${m.dev.name}: cannot return to RUNNING (${e instanceof Error ? e.message : String(e)})`);
        m.resetDevice(this.log);
      }
    }
  }

  /** complete() finished: everything was sent and the devices are stopped. */
  get done(): boolean {
    return this.phase === 'done';
  }
}
