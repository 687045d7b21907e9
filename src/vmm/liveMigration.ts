import { migStateName } from '../host/vfio/migrationFsm.js';
import { MigrationDestination } from './migrationDestination.js';
import type { MigrationOptions, PassReport, StopCopyReport } from './migrationSource.js';
import { MigrationSource } from './migrationSource.js';
import type { Vmm } from './vmm.js';

/** Options of {@link liveMigrate}. */
export interface LiveMigrationOptions extends MigrationOptions {
  /** pre-copy passes at most (default 4) */
  maxPasses?: number;
  /** stop pre-copy once a pass sends fewer bytes than this (default 64 KiB) */
  convergeBytes?: number;
  /** the guest runs (and its devices work) before each pass; not called once the guest is paused */
  runGuest?: (pass: number) => void;
}

/** What {@link liveMigrate} did: pre-copy passes, the stop-and-copy (downtime) and each device's states. */
export interface LiveMigrationReport {
  /** guest bdfs of the devices whose state moved */
  devices: string[];
  /** The P2P states were used. */
  p2p: boolean;
  /** One report per pre-copy pass. */
  passes: PassReport[];
  /** What the stop-and-copy phase (the downtime) sent. */
  stopCopy: StopCopyReport;
  /** All bytes sent from source to destination. */
  totalBytes: number;
  /** the MIG_DEVICE_STATE transitions asked of each device, by guest bdf, on each side */
  sourceStates: Record<string, string[]>;
  /** The MIG_DEVICE_STATE transitions asked of each device on the destination, by guest BDF. */
  destinationStates: Record<string, string[]>;
}

/**
 * Migrates the guest's devices, their VMM state and guest RAM from `src` to `dst` (a VMM with the
 * same devices assigned at the same guest addresses, on another host), with pre-copy passes while
 * the guest runs, then stop-and-copy. On success the source's devices are stopped and the
 * destination's run: the guest continues there (Guest.attach). On failure the destination is reset,
 * the source's devices run again and the error is rethrown: the guest carries on at the source.
 */
export function liveMigrate(src: Vmm, dst: Vmm, options: LiveMigrationOptions = {}): LiveMigrationReport {
  const dest = new MigrationDestination(dst, options);
  dest.begin();
  let source: MigrationSource;
  try {
    source = new MigrationSource(src, (chunk) => dest.receive(chunk), options);
  } catch (e) {
    dest.abort();
    throw e;
  }
  const maxPasses = options.maxPasses ?? 4;
  const converge = options.convergeBytes ?? 64 << 10;
  try {
    source.start();
    for (let pass = 0; pass < maxPasses; pass++) {
      options.runGuest?.(pass);
      const p = source.iterate();
      if (pass > 0 && p.deviceBytes + p.ramBytes < converge) break;
    }
    const stopCopy = source.complete();
    dest.finish();
    return {
      devices: source.devices.map((m) => m.dev.guestBdf),
      p2p: source.p2p,
      passes: source.passes,
      stopCopy,
      totalBytes: source.bytesOut,
      sourceStates: Object.fromEntries(source.devices.map((m) => [m.dev.guestBdf, m.transitions.map(migStateName)])),
      destinationStates: Object.fromEntries(dest.devices.map((m) => [m.dev.guestBdf, m.transitions.map(migStateName)])),
    };
  } catch (e) {
    dest.abort();
    source.cancel();
    throw e;
  }
}
