import { MigState } from '../host/vfio/migrationFsm.js';
import type { MigrationOptions } from './migrationSource.js';
import { migratingDevices } from './migrationSource.js';
import { RecordType, StreamReader, decodeRamPayload } from './migrationStream.js';
import { MigrationError } from './vfioMigration.js';
import type { VfioMigration } from './vfioMigration.js';
import type { VmmDeviceState } from './vmmDeviceState.js';
import { decodeVmmDeviceState } from './vmmDeviceState.js';
import type { Vmm } from './vmm.js';

/**
 * The destination side of a live migration, on a VMM with the same devices assigned at the same
 * guest addresses: begin() zeroes guest RAM and puts each migrating device in RESUMING; receive()
 * takes the stream in pieces of any size (device data to the device's data fd, RAM pages into guest
 * RAM, the VMM state of each device kept for later); finish() takes each device RESUMING -> STOP
 * (its driver validates and applies the data), applies the VMM state (which re-makes the interrupt
 * setup with this VMM's eventfds, as the device's driver requires before it runs), then
 * RUNNING_P2P for all when P2P is used, then RUNNING. A bad stream or a failed arc is a
 * MigrationError; abort() resets what was resumed.
 */
export class MigrationDestination {
  /** The destination's devices that receive state, one VfioMigration each. */
  readonly devices: VfioMigration[];
  /** The P2P states are used (more than one device, all supporting VFIO_MIGRATION_P2P). */
  readonly p2p: boolean;
  private readonly byBdf = new Map<string, VfioMigration>();
  private readonly reader = new StreamReader();
  private readonly states = new Map<string, VmmDeviceState>();
  private phase: 'idle' | 'resuming' | 'done' | 'failed' = 'idle';
  /** Total stream bytes received so far. */
  bytesIn = 0;
  /** Guest RAM bytes received. */
  ramBytes = 0;
  /** Device state bytes received, by guest BDF. */
  readonly deviceBytes = new Map<string, number>();

  constructor(
    /** The destination VMM the state is loaded into. */
    readonly vmm: Vmm,
    options: MigrationOptions = {},
  ) {
    const m = migratingDevices(vmm, options);
    this.devices = m.devices;
    this.p2p = m.p2p;
    for (const d of this.devices) this.byBdf.set(d.dev.guestBdf, d);
  }

  private log = (line: string) => this.vmm.log.info(`migration: ${line}`);

  /** Guest RAM zeroed (a fresh guest), every migrating device in RESUMING with its data fd. */
  begin(): void {
    if (this.phase !== 'idle') throw new MigrationError(`begin() in phase ${this.phase}`);
    const { base, size } = this.vmm.ram;
    this.vmm.memory.bytes.fill(0, base, base + size);
    try {
      for (const m of this.devices) {
        const s = m.setStateOrReset(MigState.RESUMING, MigState.RUNNING, this.log);
        if (!s) throw new MigrationError(`${m.dev.name}: RESUMING opened no data fd`, m.dev.guestBdf);
      }
    } catch (e) {
      this.abort();
      throw e;
    }
    this.phase = 'resuming';
  }

  /** A piece of the stream. */
  receive(chunk: Uint8Array): void {
    if (this.phase !== 'resuming') throw new MigrationError(`receive() in phase ${this.phase}`);
    this.bytesIn += chunk.length;
    try {
      for (const r of this.reader.push(chunk)) {
        switch (r.type) {
          case RecordType.DEVICE: {
            const m = this.byBdf.get(r.id);
            if (!m || !m.stream) throw new MigrationError(`device data for ${JSON.stringify(r.id)}, which is not resuming here`, r.id);
            for (let at = 0; at < r.payload.length; ) {
              const n = m.stream.write(r.payload.subarray(at));
              if (!(n > 0)) throw new MigrationError(`${m.dev.name}: data fd took ${n} bytes`, r.id);
              at += n;
            }
            this.deviceBytes.set(r.id, (this.deviceBytes.get(r.id) ?? 0) + r.payload.length);
            break;
          }
          case RecordType.VMM_DEVICE: {
            const m = this.byBdf.get(r.id);
            if (!m) throw new MigrationError(`VMM state for ${JSON.stringify(r.id)}, which is not migrating here`, r.id);
            const msixVectors = m.dev.msix ? m.dev.msix.layout.vectors : 0;
            this.states.set(r.id, decodeVmmDeviceState(r.payload, { configSize: m.dev.configSize, msixVectors }, m.dev.name));
            break;
          }
          case RecordType.RAM: {
            const { addr, bytes } = decodeRamPayload(r.payload);
            const { base, size } = this.vmm.ram;
            if (addr < base || addr + bytes.length > base + size) throw new MigrationError(`RAM record [0x${addr.toString(16)}, +${bytes.length}) is outside guest RAM`);
            this.vmm.memory.bytes.set(bytes, addr);
            this.ramBytes += bytes.length;
            break;
          }
          case RecordType.END:
            break;
        }
      }
    } catch (e) {
      this.abort();
      throw e instanceof MigrationError ? e : new MigrationError(`destination: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** The stream's end record was received. */
  get complete(): boolean {
    return this.reader.ended;
  }

  /** The stream has ended: devices loaded, VMM state applied, devices running. */
  finish(): void {
    if (this.phase !== 'resuming') throw new MigrationError(`finish() in phase ${this.phase}`);
    try {
      if (!this.reader.ended) throw new MigrationError('the migration stream ended without its END record');
      for (const m of this.devices) {
        if (!this.states.has(m.dev.guestBdf)) throw new MigrationError(`${m.dev.name}: no VMM state in the stream`, m.dev.guestBdf);
      }
      for (const m of this.devices) {
        m.setStateOrReset(MigState.STOP, null, this.log);
        m.closeStream();
      }
      for (const m of this.devices) m.dev.applyState(this.states.get(m.dev.guestBdf)!);
      if (this.p2p) for (const m of this.devices) m.setStateOrReset(MigState.RUNNING_P2P, MigState.STOP, this.log);
      for (const m of this.devices) m.setStateOrReset(MigState.RUNNING, this.p2p ? MigState.RUNNING_P2P : MigState.STOP, this.log);
    } catch (e) {
      this.abort();
      throw e instanceof MigrationError ? e : new MigrationError(`destination: ${e instanceof Error ? e.message : String(e)}`);
    }
    this.phase = 'done';
    this.log(`resumed ${this.devices.length} device(s) from ${this.bytesIn} bytes`);
  }

  /** The migration failed here: streams closed, every resumed device reset (it holds no valid state). */
  abort(): void {
    if (this.phase === 'failed') return;
    this.phase = 'failed';
    for (const m of this.devices) {
      m.closeStream();
      let now: MigState = MigState.ERROR;
      try {
        now = m.state();
      } catch {
        now = MigState.ERROR;
      }
      // a device that took part holds nothing valid: reset it (unless the failed arc already did)
      if (now !== MigState.RUNNING || (m.transitions.length > 0 && m.resets === 0)) m.resetDevice(this.log);
    }
  }
}
