// The default scenario of `npm start`: the whole stack, host hardware -> host kernel (PCI core,
// SR-IOV, best-match vfio binding) -> vfio device files -> VMM -> guest drivers, then a live
// migration of the guest to a second emulated host. No Node APIs here: progress goes to a callback.
import { createEmulator } from '../emulator.js';
import type { Emulator } from '../emulator.js';
import type { ConfigAccess } from '../guest/configAccess.js';
import { cf8WithEcamAccess, ecamAccess } from '../guest/configAccess.js';
import { DmaEngineDriver } from '../guest/dmaEngineDriver.js';
import { DmaEngineWorkload } from '../guest/dmaEngineWorkload.js';
import type { EnumeratedFunction } from '../guest/enumerator.js';
import { Guest } from '../guest/guest.js';
import { formatLspci } from '../guest/lspci.js';
import { GuestNetStack } from '../guest/netStack.js';
import type { VirtioNetLegacyPci } from '../guest/virtioNetLegacyPci.js';
import { isLegacyVirtioNet, probeVirtioNetLegacy } from '../guest/virtioNetLegacyPci.js';
import { dmaEngineOf } from '../hw/devices/dmaEngine/dmaEngine.js';
import { DMAE_REG } from '../hw/devices/dmaEngine/regs.js';
import { LoopbackPeer } from '../hw/devices/virtio/loopbackPeer.js';
import { formatMac } from '../hw/devices/virtio/netSwitch.js';
import type { VirtioNetPf } from '../hw/devices/virtio/virtioNetPf.js';
import { PCI_BASE_ADDRESS_0 } from '../hw/pciRegs.js';
import { liveMigrate } from '../vmm/liveMigration.js';
import type { LiveMigrationReport } from '../vmm/liveMigration.js';
import { MigrationError } from '../vmm/vfioMigration.js';
import { Vmm } from '../vmm/vmm.js';

export interface StackOptions {
  /** VFs enabled through sriov_numvfs (1-4; default 4); the first two (or one) go to the guest */
  vfs?: number;
  /** pings per NIC, before and after the migration (default 10) */
  pings?: number;
  /** rounds of DMA engine work before the migration and after it (default 200) */
  rounds?: number;
  /** leave out the live migration */
  migrate?: boolean;
  /** the guest's lspci view read through ECAM instead of mechanism #1 + ECAM */
  ecam?: boolean;
}

export const PF_BDF = '0000:00:04.0';
export const DMA_BDF = '0000:00:06.0';
export const PEER = { mac: '02:00:00:00:00:fe', ip: '10.0.2.2' };
export const MAX_VFS = 4;
export const DEVMEM = 64 << 10;
const MEMORY = 16 << 20;
/** guest RAM: the low 12 MiB of host memory; the host kernel's DMA memory (the PF's admin queue) sits at the top */
export const RAM = { base: 0, size: 12 << 20 };
const GUEST_VF_SLOTS = ['0000:00:03.0', '0000:00:04.0'];
export const GUEST_DMA = '0000:00:05.0';

export interface BindingReport {
  hostBdf: string;
  role: 'vf' | 'dma';
  modalias: string;
  /** every driver whose vfio_pci: alias matches, best first, with its wildcard count */
  candidates: { driver: string; wildcards: number }[];
  driver: string;
}

export interface NicReport {
  name: string;
  guestBdf: string;
  hostBdf: string;
  mac: string;
  ip: string;
  irqMode: string;
  pingsSent: number;
  repliesReceived: number;
  txPackets: number;
  rxPackets: number;
}

export interface DmaReport {
  guestBdf: string;
  hostBdf: string;
  irqMode: string;
  submitted: number;
  completed: number;
  jobsVerified: number;
  interrupts: number;
  /** the device's own completion counter, read by the guest over MMIO */
  deviceCompleted: number;
  failures: number;
  duplicates: number;
}

export interface Counters {
  /** frames the NICs sent and received, echo replies from the peer */
  txPackets: number;
  rxPackets: number;
  echoReplies: number;
  /** DMA engine completions the driver has seen, jobs verified */
  completions: number;
  jobsVerified: number;
}

export interface MigrationSummary {
  /** why the migration with the VFs assigned was refused (QEMU's migration blocker) */
  blockedWithVfs: string | null;
  devices: string[];
  passes: { pass: number; deviceBytes: number; ramBytes: number }[];
  stopCopy: { deviceBytes: number; ramBytes: number; vmmBytes: number; steps: number; bytes: number };
  totalBytes: number;
  sourceStates: Record<string, string[]>;
  destinationStates: Record<string, string[]>;
  /** DMA engine register/device-memory digest on both sides after stop-and-copy */
  sourceDigest: string;
  destinationDigest: string;
  /** guest RAM equal on both sides after stop-and-copy */
  ramEqual: boolean;
  /** descriptors in flight when the guest paused */
  inFlightAtStop: number;
  before: Counters;
  after: Counters;
  /** wall time of the whole migration, in ms (informative; benchmarks time it properly) */
  elapsedMs: number;
}

export interface StackReport {
  host: { pf: string; vfs: string[]; dma: string; peer: { mac: string; ip: string } };
  bindings: BindingReport[];
  vmm: { assigned: { hostBdf: string; guestBdf: string }[] };
  guest: { functions: { bdf: string; vendorId: number; deviceId: number; classCode: number }[]; problems: string[] };
  nics: NicReport[];
  dma: DmaReport;
  migration: MigrationSummary | null;
  /** everything checked out: all pings answered, every job verified, nothing lost or done twice */
  ok: boolean;
  problems: string[];
}

export interface HostSide {
  emu: Emulator;
  pf: VirtioNetPf;
  peer: LoopbackPeer;
}

const hx = (n: number, w = 4) => n.toString(16).padStart(w, '0');
const short = (bdf: string) => bdf.slice(5);
const yieldToOutput = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

function tickHost(emu: Emulator, budget: number): number {
  let n = 0;
  for (const f of emu.hw.functions()) n += f.model.tick?.(f, budget) ?? 0;
  return n;
}

export async function buildHost(vfs: number): Promise<HostSide> {
  const emu = await createEmulator({ memoryBytes: MEMORY });
  const pf = emu.hw.addVirtioNet(PF_BDF, { totalVfs: MAX_VFS });
  emu.hw.addDmaEngine(DMA_BDF, { deviceMemoryBytes: DEVMEM });
  const n = emu.host.sriovConfigure(PF_BDF, vfs);
  if (n !== vfs) throw new Error(`sriov_numvfs=${vfs} enabled ${n} VFs`);
  const peer = new LoopbackPeer(PEER).attach(pf.uplink);
  return { emu, pf, peer };
}

function bindBest(emu: Emulator, bdf: string, role: 'vf' | 'dma'): BindingReport {
  const candidates = emu.host.driverCore.vfioMatches(emu.host.pciDev(bdf)).map((m) => ({ driver: m.driver.name, wildcards: m.wildcards }));
  const driver = emu.host.bind(bdf);
  return { hostBdf: bdf, role, modalias: emu.host.modalias(bdf), candidates, driver };
}

/** A VMM on `h` with `nVfs` VFs and the DMA engine assigned (binding each by best match first). */
export function buildVmm(h: HostSide, nVfs: number): { vmm: Vmm; bindings: BindingReport[]; assigned: { hostBdf: string; guestBdf: string }[] } {
  const vmm = new Vmm(h.emu, { ram: RAM });
  const bindings: BindingReport[] = [];
  const assigned: { hostBdf: string; guestBdf: string }[] = [];
  h.pf.vfs.slice(0, nVfs).forEach((vf, i) => {
    bindings.push(bindBest(h.emu, vf.bdf, 'vf'));
    vmm.assign(h.emu.host.openDevice(vf.bdf), GUEST_VF_SLOTS[i]);
    assigned.push({ hostBdf: vf.bdf, guestBdf: GUEST_VF_SLOTS[i] });
  });
  bindings.push(bindBest(h.emu, DMA_BDF, 'dma'));
  vmm.assign(h.emu.host.openDevice(DMA_BDF), GUEST_DMA);
  assigned.push({ hostBdf: DMA_BDF, guestBdf: GUEST_DMA });
  return { vmm, bindings, assigned };
}

export interface Nic {
  name: string;
  fn: EnumeratedFunction;
  hostBdf: string;
  ip: string;
  pci: VirtioNetLegacyPci;
  stack: GuestNetStack;
  pingsSent: number;
}

export function nicUp(guest: Guest, fn: EnumeratedFunction, name: string, hostBdf: string, ip: string): Nic {
  const pci = probeVirtioNetLegacy(guest, fn);
  const stack = new GuestNetStack({ mac: pci.driver.mac, ip, send: (fr) => pci.driver.transmit(fr) });
  pci.driver.onReceive = (fr) => stack.receive(fr);
  pci.driver.open();
  return { name, fn, hostBdf, ip, pci, stack, pingsSent: 0 };
}

/** One round of the guest: interrupts, deferred work, the DMA load topped up, the host devices' work. */
export function guestRound(emu: Emulator, guest: Guest, nics: Nic[], load: DmaEngineWorkload | null): void {
  load?.fill();
  tickHost(emu, 4);
  for (let i = 0; i < 50; i++) {
    let n = guest.irq.service();
    for (const nic of nics) n += nic.pci.driver.runWork();
    if (n === 0) break;
  }
}

function pingAll(emu: Emulator, guest: Guest, nics: Nic[], load: DmaEngineWorkload, count: number): void {
  for (let seq = 1; seq <= count; seq++) {
    for (const nic of nics) {
      nic.stack.ping(PEER.ip, seq);
      nic.pingsSent++;
    }
    guestRound(emu, guest, nics, load);
  }
}

function drain(emu: Emulator, guest: Guest, load: DmaEngineWorkload): void {
  for (let i = 0; i < 100 && load.outstanding > 0; i++) {
    tickHost(emu, 64);
    guest.irq.service();
  }
}

/** A slot rescan for a function the guest knew: its BARs back where it had them (the destination's VMM starts them unassigned). */
function restoreBars(guest: Guest, f: EnumeratedFunction): void {
  for (const b of f.bars) {
    if (b.address === null) continue;
    const reg = PCI_BASE_ADDRESS_0 + 4 * b.index;
    guest.config.write(f.bus, f.device, f.function, reg, 4, b.address % 2 ** 32);
    if (b.is64) guest.config.write(f.bus, f.device, f.function, reg + 4, 4, Math.floor(b.address / 2 ** 32));
  }
}

function nicReport(n: Nic): NicReport {
  const d = n.pci.driver;
  return {
    name: n.name, guestBdf: n.fn.bdf, hostBdf: n.hostBdf, mac: formatMac(d.mac), ip: n.ip, irqMode: d.irqMode ?? 'none',
    pingsSent: n.pingsSent, repliesReceived: n.stack.replies.length, txPackets: d.stats.txPackets, rxPackets: d.stats.rxPackets,
  };
}

function counters(nics: { tx: number; rx: number }, echoReplies: number, drv: DmaEngineDriver, load: DmaEngineWorkload): Counters {
  return { txPackets: nics.tx, rxPackets: nics.rx, echoReplies, completions: drv.completed, jobsVerified: load.jobsVerified };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  if (a.byteOffset % 4 === 0 && b.byteOffset % 4 === 0 && a.length % 4 === 0) {
    const x = new Uint32Array(a.buffer, a.byteOffset, a.length / 4);
    const y = new Uint32Array(b.buffer, b.byteOffset, b.length / 4);
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
    return true;
  }
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** `lspci -v` in brief: each function's line, its regions, interrupt pin and capability list. */
function briefLspci(text: string): string[] {
  return text
    .trimEnd()
    .split('\n')
    .filter((l) => /^\S/.test(l) || /^\t(Region|Interrupt|Capabilities|Expansion ROM)/.test(l) || /^\t\t(Vector table)/.test(l));
}

function digestOf(emu: Emulator): string {
  const f = emu.hw.functions().find((x) => x.bdf === DMA_BDF);
  const e = f ? dmaEngineOf(f) : null;
  return e ? String(e.digest()) : '';
}

/**
 * Runs the whole-stack scenario, reporting progress line by line through `progress` as it goes
 * (awaiting between phases so the lines reach the terminal while it runs).
 */
export async function runStackScenario(options: StackOptions, progress: (line: string) => void): Promise<StackReport> {
  const vfs = options.vfs ?? 4;
  const pings = options.pings ?? 10;
  const rounds = options.rounds ?? 200;
  const migrate = options.migrate ?? true;
  if (!Number.isInteger(vfs) || vfs < 1 || vfs > MAX_VFS) throw new RangeError(`--vfs must be 1-${MAX_VFS}`);
  const nVfs = Math.min(2, vfs);
  const problems: string[] = [];
  const say = async (line: string) => {
    progress(line);
    await yieldToOutput();
  };

  // ---- the host --------------------------------------------------------------------------------------
  const src = await buildHost(vfs);
  await say(`[host]    ${short(PF_BDF)} virtio-net PF ${hx(src.pf.vendorId)}:${hx(src.pf.deviceId)} (SR-IOV, admin virtqueue), bound to ${src.emu.host.pciDev(PF_BDF).driver?.name ?? '(none)'}; uplink peer ${PEER.ip} (${PEER.mac})`);
  await say(`[host]    ${short(DMA_BDF)} DMA engine (the migratable sample device), ${DEVMEM >> 10} KiB device memory`);
  await say(`[host]    echo ${vfs} > sriov_numvfs -> VFs ${src.pf.vfs.map((v) => short(v.bdf)).join(' ')} (${hx(src.pf.vfs[0].vendorId)}:${hx(src.pf.vfs[0].deviceId)})`);

  const { vmm, bindings, assigned } = buildVmm(src, nVfs);
  for (const b of bindings) {
    const others = b.candidates.filter((c) => c.driver !== b.driver).map((c) => `${c.driver} (${c.wildcards} *)`);
    const best = b.candidates.find((c) => c.driver === b.driver);
    await say(`[bind]    ${short(b.hostBdf)} ${b.modalias} -> ${b.driver}${best ? ` (${best.wildcards} *)` : ''}${others.length ? `, over ${others.join(', ')}` : ''}`);
  }
  await say(`[vmm]     assigned ${assigned.map((a) => `${short(a.hostBdf)} -> guest ${short(a.guestBdf)}`).join(', ')}; guest RAM ${RAM.size >> 20} MiB`);

  // ---- the guest ---------------------------------------------------------------------------------------
  const guest = new Guest(vmm);
  vmm.connectInterruptController(guest.irq);
  const r = guest.enumerate();
  problems.push(...r.problems);
  const access: ConfigAccess = options.ecam ? ecamAccess(vmm.hw, vmm.hw.ecamBase) : cf8WithEcamAccess(vmm.hw, vmm.hw.ecamBase);
  await say(`[guest]   enumerated ${r.functions.length} functions on the VMM's bus; lspci -v in the guest, in brief${options.ecam ? ' (read through ECAM)' : ''}:`);
  for (const line of briefLspci(formatLspci(access, r))) progress(`          ${line.replace(/\t/g, '    ')}`);
  await yieldToOutput();

  const vfFns = r.functions.filter(isLegacyVirtioNet);
  const nics = vfFns.map((f, i) => nicUp(guest, f, `eth${i}`, assigned[i].hostBdf, `10.0.2.${15 + i}`));
  for (const n of nics) {
    const d = n.pci.driver;
    await say(`[guest]   ${n.name}: legacy virtio-net at ${short(n.fn.bdf)} (I/O BAR0 @ ${hx(n.pci.ioBase)}), MAC ${formatMac(d.mac)}, ${d.irqMode}, carrier ${d.carrier ? 'up' : 'down'}, ${n.ip}/24`);
  }
  const dmaFn = r.functions.find((f) => f.bdf === GUEST_DMA);
  if (!dmaFn) throw new Error('the guest did not find the DMA engine');
  const drv = new DmaEngineDriver(guest, dmaFn, { irq: ['msix', 'intx'], coalesce: 2 });
  drv.probe();
  const load = new DmaEngineWorkload(guest, drv, DEVMEM, { slots: 8, jobBytes: 2048, seed: 7 });
  await say(`[guest]   dmae: DMA engine at ${short(GUEST_DMA)}, ${drv.irqMode}, ${drv.sqEntries}-entry submission ring; jobs: copy in, CRC-32 on the device, copy back, verify`);

  pingAll(src.emu, guest, nics, load, pings);
  for (const n of nics) {
    const got = n.stack.replies.length;
    if (got !== n.pingsSent) problems.push(`${n.name}: ${got}/${n.pingsSent} echo replies`);
    await say(`[guest]   ping -c ${pings} ${PEER.ip} on ${n.name}: ${got}/${n.pingsSent} replies (ARP resolved to ${n.stack.arpCache.get(PEER.ip) ? formatMac(n.stack.arpCache.get(PEER.ip)!) : '?'})`);
  }
  for (let i = 0; i < rounds; i++) guestRound(src.emu, guest, nics, load);
  await say(`[guest]   dmae: ${drv.submitted} descriptors submitted, ${drv.completed} completed, ${load.jobsVerified} jobs verified, ${drv.interrupts} interrupts`);

  const txrx = () => nics.reduce((a, n) => ({ tx: a.tx + n.pci.driver.stats.txPackets, rx: a.rx + n.pci.driver.stats.rxPackets }), { tx: 0, rx: 0 });
  let migration: MigrationSummary | null = null;
  let finalNics = nics;
  let emuNow = src.emu;

  if (migrate) {
    // ---- live migration ------------------------------------------------------------------------------
    const dst = await buildHost(vfs);
    const d = buildVmm(dst, nVfs);
    await say(`[migrate] destination host: the same PF, ${vfs} VFs and DMA engine; its VMM has them at the same guest slots`);
    let blockedWithVfs: string | null = null;
    try {
      liveMigrate(vmm, d.vmm, { maxPasses: 0 });
      throw new Error('the migration with VFs assigned was expected to be blocked');
    } catch (e) {
      if (!(e instanceof MigrationError)) throw e;
      blockedWithVfs = e.message;
    }
    await say(`[migrate] with the VFs in use: ${blockedWithVfs}`);
    const before = counters(txrx(), src.peer.stats.echoReplies, drv, load);
    for (const n of nics) n.pci.remove();
    await say(`[migrate] the guest releases ${nics.map((n) => n.name).join(' and ')} (virtio-net failover style); the DMA engine keeps working while pre-copy runs`);
    const t0 = performance.now();
    const report: LiveMigrationReport = liveMigrate(vmm, d.vmm, {
      allowUnmigratable: true,
      maxPasses: 4,
      convergeBytes: 4096,
      runGuest: () => {
        for (let i = 0; i < 8; i++) guestRound(src.emu, guest, [], load);
      },
    });
    const elapsedMs = performance.now() - t0;
    for (const p of report.passes) await say(`[migrate] pre-copy pass ${p.pass}: ${p.deviceBytes} device bytes, ${p.ramBytes} RAM bytes`);
    const sc = report.stopCopy;
    const stopBytes = sc.deviceBytes + sc.ramBytes + sc.vmmBytes;
    const inFlightAtStop = drv.inFlight;
    await say(`[migrate] stop-and-copy (downtime): ${sc.deviceBytes} device + ${sc.ramBytes} RAM + ${sc.vmmBytes} VMM bytes = ${stopBytes} bytes in ${sc.steps} emulated steps; ${inFlightAtStop} descriptors in flight`);
    const sourceDigest = digestOf(src.emu);
    const destinationDigest = digestOf(dst.emu);
    const ramEqual = sameBytes(src.emu.memory.bytes.subarray(RAM.base, RAM.base + RAM.size), dst.emu.memory.bytes.subarray(RAM.base, RAM.base + RAM.size));
    if (sourceDigest !== destinationDigest) problems.push('DMA engine digests differ after migration');
    if (!ramEqual) problems.push('guest RAM differs after migration');
    await say(`[migrate] ${report.devices.map(short).join(', ')}: source ${report.sourceStates[GUEST_DMA]?.join(' -> ')}; destination ${report.destinationStates[GUEST_DMA]?.join(' -> ')}; digest ${sourceDigest === destinationDigest ? 'equal' : 'DIFFERENT'}, guest RAM ${ramEqual ? 'equal' : 'DIFFERENT'}`);

    // the guest resumes on the destination
    guest.attach(d.vmm);
    d.vmm.connectInterruptController(guest.irq);
    vmm.close();
    emuNow = dst.emu;
    finalNics = vfFns.map((f, i) => {
      restoreBars(guest, f);
      return nicUp(guest, f, `eth${i}`, d.assigned[i].hostBdf, `10.0.2.${15 + i}`);
    });
    await say(`[guest]   resumed on the destination; ${finalNics.map((n) => n.name).join(' and ')} probed again on the destination's VFs`);
    pingAll(dst.emu, guest, finalNics, load, pings);
    for (let i = 0; i < rounds; i++) guestRound(dst.emu, guest, finalNics, load);
    drain(dst.emu, guest, load);
    for (const n of finalNics) {
      const got = n.stack.replies.length;
      if (got !== n.pingsSent) problems.push(`${n.name} after migration: ${got}/${n.pingsSent} echo replies`);
      await say(`[guest]   ping -c ${pings} ${PEER.ip} on ${n.name}: ${got}/${n.pingsSent} replies`);
    }
    const after = counters(
      finalNics.reduce((a, n) => ({ tx: a.tx + n.pci.driver.stats.txPackets, rx: a.rx + n.pci.driver.stats.rxPackets }), { tx: 0, rx: 0 }),
      dst.peer.stats.echoReplies, drv, load,
    );
    migration = {
      blockedWithVfs,
      devices: report.devices,
      passes: report.passes.map((p) => ({ pass: p.pass, deviceBytes: p.deviceBytes, ramBytes: p.ramBytes })),
      stopCopy: { ...sc, bytes: stopBytes },
      totalBytes: report.totalBytes,
      sourceStates: report.sourceStates,
      destinationStates: report.destinationStates,
      sourceDigest,
      destinationDigest,
      ramEqual,
      inFlightAtStop,
      before,
      after,
      elapsedMs,
    };
  } else {
    drain(src.emu, guest, load);
  }

  // ---- checks --------------------------------------------------------------------------------------------
  const dma: DmaReport = {
    guestBdf: GUEST_DMA, hostBdf: DMA_BDF, irqMode: drv.irqMode ?? 'none', submitted: drv.submitted, completed: drv.completed, jobsVerified: load.jobsVerified,
    interrupts: drv.interrupts, deviceCompleted: drv.readReg(DMAE_REG.COMPLETED_LO), failures: load.failures.length, duplicates: drv.duplicates,
  };
  if (load.failures.length > 0) problems.push(...load.failures.slice(0, 5));
  if (load.outstanding !== 0) problems.push(`${load.outstanding} DMA descriptors never completed`);
  if (drv.completed !== drv.submitted) problems.push(`DMA: ${drv.completed} completed of ${drv.submitted} submitted`);
  if (drv.duplicates + drv.unknown + drv.errors > 0) problems.push(`DMA: ${drv.duplicates} duplicate, ${drv.unknown} unknown, ${drv.errors} failed completions`);
  if (dma.deviceCompleted !== drv.completed) problems.push(`DMA: the device counted ${dma.deviceCompleted} completions, the driver ${drv.completed}`);
  void emuNow;

  return {
    host: { pf: PF_BDF, vfs: src.pf.vfs.map((v) => v.bdf), dma: DMA_BDF, peer: { ...PEER } },
    bindings,
    vmm: { assigned },
    guest: { functions: r.functions.map((f) => ({ bdf: f.bdf, vendorId: f.vendorId, deviceId: f.deviceId, classCode: f.classCode })), problems: r.problems },
    nics: finalNics.map(nicReport),
    dma,
    migration,
    ok: problems.length === 0,
    problems,
  };
}
