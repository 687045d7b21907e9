// The demo's live migration, pure pcisim (no v86): two emulated hosts, each with the DMA engine
// bound to its variant driver (dmae-vfio-pci) and assigned to a VMM; pcisim's own guest driver keeps
// the engine busy with self-checking jobs while liveMigrate runs pre-copy passes and stop-and-copy;
// then the engine's digest and guest RAM are compared on both sides and the guest carries on at
// the destination.
import { createEmulator } from '../src/emulator.js';
import type { Emulator } from '../src/emulator.js';
import { DmaEngineDriver } from '../src/guest/dmaEngineDriver.js';
import { DmaEngineWorkload } from '../src/guest/dmaEngineWorkload.js';
import { Guest } from '../src/guest/guest.js';
import { dmaEngineOf } from '../src/hw/devices/dmaEngine/dmaEngine.js';
import { liveMigrate } from '../src/vmm/liveMigration.js';
import { Vmm } from '../src/vmm/vmm.js';

const HOST_BDF = '0000:00:06.0';
const GUEST_BDF = '0000:00:05.0';
const DEVMEM = 64 << 10;
const RAM = { base: 0, size: 12 << 20 };

export interface MigrationResult {
  driver: string;
  passes: { pass: number; deviceBytes: number; ramBytes: number }[];
  stopCopy: { deviceBytes: number; ramBytes: number; vmmBytes: number; steps: number };
  totalBytes: number;
  sourceStates: string[];
  destinationStates: string[];
  sourceDigest: string;
  destinationDigest: string;
  ramEqual: boolean;
  inFlightAtStop: number;
  jobsVerifiedBefore: number;
  jobsVerifiedAfter: number;
  failures: string[];
  elapsedMs: number;
}

async function side(): Promise<{ emu: Emulator; vmm: Vmm; driver: string }> {
  const emu = await createEmulator({ memoryBytes: 16 << 20 });
  emu.hw.addDmaEngine(HOST_BDF, { deviceMemoryBytes: DEVMEM });
  const driver = emu.host.bind(HOST_BDF); // best vfio_pci: alias match: the variant driver
  const vmm = new Vmm(emu, { ram: RAM });
  vmm.assign(emu.host.openDevice(HOST_BDF), GUEST_BDF);
  return { emu, vmm, driver };
}

function tick(emu: Emulator, budget: number): void {
  for (const f of emu.hw.functions()) f.model.tick?.(f, budget);
}

function rounds(emu: Emulator, guest: Guest, load: DmaEngineWorkload, n: number): void {
  for (let i = 0; i < n; i++) {
    load.fill();
    tick(emu, 4);
    guest.irq.service();
  }
}

function digestOf(emu: Emulator): string {
  const f = emu.hw.functions().find((x) => x.bdf === HOST_BDF);
  const engine = f ? dmaEngineOf(f) : undefined;
  if (!engine) throw new Error(`no DMA engine at ${HOST_BDF}`);
  return engine.digest();
}

/** Runs the whole migration; every figure on the page comes from the returned report. */
export async function runMigration(): Promise<MigrationResult> {
  const t0 = performance.now();
  const src = await side();
  const guest = new Guest(src.vmm);
  src.vmm.connectInterruptController(guest.irq);
  const fn = guest.enumerate().functions.find((f) => f.bdf === GUEST_BDF);
  if (!fn) throw new Error(`the guest did not find the DMA engine at ${GUEST_BDF}`);
  const drv = new DmaEngineDriver(guest, fn, { irq: ['msix'], coalesce: 2 });
  drv.probe();
  const load = new DmaEngineWorkload(guest, drv, DEVMEM, { slots: 8, jobBytes: 2048, seed: 11 });
  rounds(src.emu, guest, load, 30);

  const dst = await side();
  const report = liveMigrate(src.vmm, dst.vmm, {
    maxPasses: 4,
    convergeBytes: 1,
    runGuest: () => rounds(src.emu, guest, load, 6),
  });
  const sourceDigest = digestOf(src.emu);
  const destinationDigest = digestOf(dst.emu);
  const ram = (e: Emulator) => e.memory.bytes.subarray(RAM.base, RAM.base + RAM.size);
  const a = ram(src.emu);
  const b = ram(dst.emu);
  let ramEqual = a.length === b.length;
  for (let i = 0; ramEqual && i < a.length; i++) ramEqual = a[i] === b[i];
  const inFlightAtStop = drv.inFlight;
  const jobsVerifiedBefore = load.jobsVerified;

  // the guest continues on the destination
  guest.attach(dst.vmm);
  dst.vmm.connectInterruptController(guest.irq);
  src.vmm.close();
  rounds(dst.emu, guest, load, 40);
  for (let i = 0; i < 50 && load.outstanding > 0; i++) {
    tick(dst.emu, 64);
    guest.irq.service();
  }
  const result: MigrationResult = {
    driver: src.driver,
    passes: report.passes.map((p) => ({ pass: p.pass, deviceBytes: p.deviceBytes, ramBytes: p.ramBytes })),
    stopCopy: { deviceBytes: report.stopCopy.deviceBytes, ramBytes: report.stopCopy.ramBytes, vmmBytes: report.stopCopy.vmmBytes, steps: report.stopCopy.steps },
    totalBytes: report.totalBytes,
    sourceStates: report.sourceStates[GUEST_BDF] ?? [],
    destinationStates: report.destinationStates[GUEST_BDF] ?? [],
    sourceDigest,
    destinationDigest,
    ramEqual,
    inFlightAtStop,
    jobsVerifiedBefore,
    jobsVerifiedAfter: load.jobsVerified,
    failures: load.failures.slice(),
    elapsedMs: performance.now() - t0,
  };
  dst.vmm.close();
  for (const e of [src.emu, dst.emu] as (Emulator & { destroy?: () => void })[]) e.destroy?.();
  return result;
}
