// VFIO migration v2 with the DMA engine's variant driver (dmae-vfio-pci), through the uapi a VMM
// uses:
// - one arc: MIG_DEVICE_STATE SET RUNNING <-> RUNNING_P2P through VfioDeviceFile.ioctl (header
//   checks, the core's arc walk, the driver quiescing / resuming the engine); "ns/access" is ns per
//   arc. Goal: under 1 µs.
// - STOP_COPY stream throughput for 64 MiB of device memory: STOP -> STOP_COPY, read the stream in
//   8 MiB reads until the empty read, -> STOP. The device memory goes out as views of the stopped
//   device (no copy); every byte passes through the stream checksum. Goal: at least 1 GB/s.
// - the other side: RESUMING, the same stream written in 8 MiB writes (copied into the driver's
//   staging buffer and checksummed), RESUMING -> STOP (validated, then applied).
// - DMA_LOGGING_REPORT over a 1 GiB range at 4 KiB pages (a 32 KiB bitmap), on a machine with 1 GiB
//   of guest memory: with nothing dirty, and with 1024 scattered pages dirty (put into the device's
//   write log directly before each report, as 1024 completion writes would).
// - PRE_COPY convergence (not timed): bytes each pre-copy pass sends while the device keeps writing
//   its memory between passes, printed as a table before the timed cases.
import { createEmulator } from '../src/emulator.js';
import type { Emulator } from '../src/emulator.js';
import type { VfioDeviceFile } from '../src/host/vfio/deviceFile.js';
import { VFIO } from '../src/host/vfio/uapi/constants.js';
import { buildDeviceFeature } from '../src/host/vfio/uapi/deviceFeature.js';
import { buildDmaLoggingReport, buildDmaLoggingStart } from '../src/host/vfio/uapi/dmaLogging.js';
import { decodeFeatureMigState } from '../src/host/vfio/uapi/migrationFeature.js';
import { decodePrecopyInfo, encodePrecopyInfo } from '../src/host/vfio/uapi/precopyInfo.js';
import { MigState } from '../src/host/vfio/migrationFsm.js';
import { VfioClient } from '../src/vmm/vfioClient.js';
import { DMAE_OP, DMAE_REG, dmaEngineOf, encodeDescriptor } from '../src/hw/devices/dmaEngine/index.js';
import type { DmaEngine } from '../src/hw/devices/dmaEngine/index.js';
import type { DmaWriteLog } from '../src/hw/devices/dmaEngine/dmaWriteLog.js';
import type { BenchCase, SuiteReport } from './harness.js';
import { check, fmtNs, runSuite, sink } from './harness.js';

export const SUITE = 'migration';
export const ARC_CASE = 'MIG_DEVICE_STATE RUNNING <-> RUNNING_P2P (per arc)';
export const STOP_COPY_CASE = 'STOP_COPY stream of 64 MiB device memory, 8 MiB reads';
export const RESUME_CASE = 'RESUMING 64 MiB stream, 8 MiB writes, -> STOP';
export const REPORT_CLEAN_CASE = 'DMA_LOGGING_REPORT 1 GiB @ 4 KiB, nothing dirty';
export const REPORT_DIRTY_CASE = 'DMA_LOGGING_REPORT 1 GiB @ 4 KiB, 1024 pages dirty';

const BDF = '0000:00:04.0';
const DEVMEM = 64 << 20;
const CHUNK = 8 << 20;
const ROUND_TRIPS = 256;
const GIB = 1 << 30;

/** Bytes of the 64 MiB STOP_COPY stream, as measured by the last run. */
let measuredStreamBytes = 0;

/** MB/s of the STOP_COPY case of a report (the stream's bytes over the time per stream). */
export function stopCopyMBps(report: SuiteReport): number | null {
  const c = report.cases.find((x) => x.name === STOP_COPY_CASE);
  return c && measuredStreamBytes ? (measuredStreamBytes / c.nsPerOp) * 1e3 : null;
}

interface Machine {
  emu: Emulator;
  file: VfioDeviceFile;
  client: VfioClient;
  engine: DmaEngine;
}

async function machine(deviceMemoryBytes: number, memoryBytes?: number): Promise<Machine> {
  const emu = await createEmulator(memoryBytes ? { memoryBytes } : {});
  const fn = emu.hw.addDmaEngine(BDF, { deviceMemoryBytes });
  check(emu.host.bind(BDF) === 'dmae-vfio-pci', 'the DMA engine binds to dmae-vfio-pci');
  const file = emu.host.openDevice(BDF);
  return { emu, file, client: new VfioClient(file), engine: dmaEngineOf(fn)! };
}

function stateArg(state: MigState): Uint8Array {
  const arg = buildDeviceFeature(VFIO.DEVICE_FEATURE_SET | VFIO.DEVICE_FEATURE_MIG_DEVICE_STATE, 8);
  new DataView(arg.buffer).setUint32(8, state, true);
  return arg;
}

function setState(m: Machine, state: MigState): number {
  const arg = stateArg(state);
  m.file.ioctl(VFIO.DEVICE_FEATURE, arg);
  return decodeFeatureMigState(arg, 8).dataFd;
}

/** Reads until the empty read; returns the byte count (and the pieces, copied, when asked). */
function drain(m: Machine, fd: number, keep?: Uint8Array[]): number {
  const f = m.emu.host.fd(fd);
  let n = 0;
  for (;;) {
    const b = f.read(CHUNK);
    if (b.length === 0) return n;
    n += b.length;
    keep?.push(b.slice());
  }
}

function precopyInfo(m: Machine, fd: number): { initial: number; dirty: number } {
  const arg = encodePrecopyInfo({ argsz: 24, flags: 0, initialBytes: 0n, dirtyBytes: 0n });
  m.emu.host.fd(fd).ioctl!(VFIO.MIG_GET_PRECOPY_INFO, arg);
  const i = decodePrecopyInfo(arg);
  return { initial: Number(i.initialBytes), dirty: Number(i.dirtyBytes) };
}

/** A guest driver's bring-up of the engine through the device file: rings at 1 MiB and 2 MiB. */
function bringUp(m: Machine): { submit: (ds: Uint8Array[]) => void } {
  const c = m.client;
  c.configWrite(0x04, 2, 0x0006);
  const SQ = 1 << 20;
  const CQ = 2 << 20;
  const LOG2 = 10;
  c.writeRegion(0, DMAE_REG.SQ_BASE_LO, 4, SQ);
  c.writeRegion(0, DMAE_REG.SQ_SIZE, 4, LOG2);
  c.writeRegion(0, DMAE_REG.CQ_BASE_LO, 4, CQ);
  c.writeRegion(0, DMAE_REG.CQ_SIZE, 4, LOG2);
  c.writeRegion(0, DMAE_REG.CONTROL, 4, 1);
  let tail = 0;
  let head = 0;
  return {
    submit(ds) {
      for (const d of ds) {
        m.emu.memory.write(SQ + tail * 32, d);
        tail = (tail + 1) & ((1 << LOG2) - 1);
      }
      c.writeRegion(0, DMAE_REG.SQ_TAIL, 4, tail);
      m.engine.run();
      head = tail; // the bench does not look at completions; it frees the ring right away
      c.writeRegion(0, DMAE_REG.CQ_HEAD, 4, head);
    },
  };
}

/** Pre-copy while the device keeps writing its memory: bytes per pass, printed. */
async function precopyConvergence(): Promise<void> {
  console.log('\n== migration: PRE_COPY convergence (64 MiB device memory; between passes the device runs FILL descriptors of 4 KiB)');
  for (const w of [
    { name: '256 random pages per pass', pages: (r: () => number) => Array.from({ length: 256 }, () => Math.floor(r() * (DEVMEM / 4096))) },
    { name: '256 writes to a hot set of 32 pages', pages: (r: () => number) => Array.from({ length: 256 }, () => 1000 + Math.floor(r() * 32)) },
  ]) {
    const m = await machine(DEVMEM);
    const guest = bringUp(m);
    let seed = 12345;
    const r = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const fd = setState(m, MigState.PRE_COPY);
    const rows: string[] = [];
    const first = precopyInfo(m, fd);
    let t = performance.now();
    let sent = drain(m, fd);
    rows.push(`    pass 0   initial ${String(first.initial).padStart(9)} B  sent ${String(sent).padStart(9)} B  ${(performance.now() - t).toFixed(1).padStart(6)} ms`);
    for (let pass = 1; pass <= 6; pass++) {
      guest.submit(w.pages(r).map((p) => encodeDescriptor({ opcode: DMAE_OP.FILL, length: 4096, src: pass, dst: p * 4096 })));
      const info = precopyInfo(m, fd);
      t = performance.now();
      sent = drain(m, fd);
      rows.push(`    pass ${pass}   dirty   ${String(info.dirty).padStart(9)} B  sent ${String(sent).padStart(9)} B  ${(performance.now() - t).toFixed(1).padStart(6)} ms`);
    }
    setState(m, MigState.PRE_COPY_P2P);
    setState(m, MigState.STOP_COPY);
    t = performance.now();
    sent = drain(m, fd);
    rows.push(`    STOP_COPY         rest ${String(sent).padStart(9)} B  ${(performance.now() - t).toFixed(1).padStart(6)} ms (dirty pages since the last pass, registers, config, interrupts, end)`);
    console.log(`  ${w.name}:`);
    for (const row of rows) console.log(row);
  }
}

export async function run(): Promise<SuiteReport> {
  await precopyConvergence();

  // ---- the machines ----
  const src = await machine(DEVMEM);
  const bytes = src.engine.deviceMemoryView(0, DEVMEM);
  for (let i = 0; i < DEVMEM; i += 4) bytes[i] = (i >>> 2) & 0xff;
  const dst = await machine(DEVMEM);
  const log = await machine(64 << 10, GIB);

  // ---- sanity: the stream round-trips, the arcs do what they say, the report reports ----
  setState(src, MigState.STOP);
  const stream: Uint8Array[] = [];
  const fd0 = setState(src, MigState.STOP_COPY);
  const streamBytes = drain(src, fd0, stream);
  measuredStreamBytes = streamBytes;
  setState(src, MigState.STOP);
  setState(dst, MigState.STOP);
  let fd1 = setState(dst, MigState.RESUMING);
  for (const p of stream) dst.emu.host.fd(fd1).write(p);
  setState(dst, MigState.STOP);
  check(dst.engine.digest() === src.engine.digest(), 'the 64 MiB stream restores the same device');
  setState(src, MigState.RUNNING);
  const p2p = stateArg(MigState.RUNNING_P2P);
  const running = stateArg(MigState.RUNNING);
  src.file.ioctl(VFIO.DEVICE_FEATURE, p2p);
  check(src.engine.quiesced, 'RUNNING_P2P quiesces the engine');
  src.file.ioctl(VFIO.DEVICE_FEATURE, running);
  check(!src.engine.quiesced, 'RUNNING resumes it');
  const startArg = buildDmaLoggingStart(4096n, [{ iova: 0n, length: BigInt(GIB) }]);
  log.file.ioctl(VFIO.DEVICE_FEATURE, startArg);
  const reportArg = buildDmaLoggingReport(0n, BigInt(GIB), 4096n);
  check(reportArg.length === 40 + 32768, 'a 1 GiB report at 4 KiB carries a 32 KiB bitmap');
  const writeLog = (log.engine as unknown as { log: DmaWriteLog }).log;
  const dirtyAddrs = Array.from({ length: 1024 }, (_, i) => ((i * 2654435761) >>> 0) % (GIB / 4096) * 4096);
  const redirty = () => {
    for (const a of dirtyAddrs) writeLog.record(a, 8);
  };
  redirty();
  log.file.ioctl(VFIO.DEVICE_FEATURE, reportArg);
  let bits = 0;
  for (let i = 40; i < reportArg.length; i++) for (let b = reportArg[i]; b; b &= b - 1) bits++;
  check(bits === new Set(dirtyAddrs).size, 'the report shows every dirty page once');

  setState(src, MigState.STOP);
  // the arc case toggles a running device of its own
  const arcs = await machine(64 << 10);
  const cases: BenchCase[] = [
    {
      name: ARC_CASE,
      accesses: 2 * ROUND_TRIPS,
      op: 'batch',
      goals: [{ text: 'one migration arc under 1 µs', max: 1000 }],
      fn: () => {
        for (let i = 0; i < ROUND_TRIPS; i++) {
          arcs.file.ioctl(VFIO.DEVICE_FEATURE, p2p);
          arcs.file.ioctl(VFIO.DEVICE_FEATURE, running);
        }
      },
    },
    {
      name: STOP_COPY_CASE,
      accesses: 1,
      op: 'stream',
      // 1 GB/s is one byte per ns
      goals: [{ text: `STOP_COPY stream of ${streamBytes} bytes at 1 GB/s or more (time per stream at most its size in ns)`, max: streamBytes, perOp: true }],
      fn: () => {
        const fd = setState(src, MigState.STOP_COPY);
        sink.value ^= drain(src, fd);
        setState(src, MigState.STOP);
      },
    },
    {
      name: RESUME_CASE,
      accesses: 1,
      op: 'stream',
      fn: () => {
        fd1 = setState(dst, MigState.RESUMING);
        const f = dst.emu.host.fd(fd1);
        for (const p of stream) f.write(p);
        setState(dst, MigState.STOP);
      },
    },
    {
      name: REPORT_CLEAN_CASE,
      accesses: 1,
      op: 'report',
      fn: () => {
        log.file.ioctl(VFIO.DEVICE_FEATURE, reportArg);
        sink.value ^= reportArg[40];
      },
    },
    {
      name: REPORT_DIRTY_CASE,
      accesses: 1,
      op: 'report',
      fn: () => {
        redirty();
        log.file.ioctl(VFIO.DEVICE_FEATURE, reportArg);
        sink.value ^= reportArg[40];
      },
    },
  ];
  const report = await runSuite(SUITE, cases);
  check(arcs.engine.quiesced === false, 'the arc case ends RUNNING');
  check(dst.engine.digest() === src.engine.digest(), 'the resumed device still matches after the runs');
  check(streamBytes > DEVMEM, 'the stream carries all of device memory');

  const find = (name: string) => report.cases.find((c) => c.name === name)!;
  const mbps = (name: string) => (streamBytes / find(name).nsPerOp) * 1e3;
  console.log(`  one arc: ${fmtNs(find(ARC_CASE).nsPerAccess)} ns (median ${fmtNs(find(ARC_CASE).medianNsPerAccess)} ns)`);
  console.log(`  STOP_COPY: ${mbps(STOP_COPY_CASE).toFixed(0)} MB/s (${streamBytes} bytes in ${(find(STOP_COPY_CASE).nsPerOp / 1e6).toFixed(1)} ms)`);
  console.log(`  RESUMING -> STOP: ${mbps(RESUME_CASE).toFixed(0)} MB/s (${(find(RESUME_CASE).nsPerOp / 1e6).toFixed(1)} ms)`);
  console.log(`  DMA_LOGGING_REPORT 1 GiB: ${(find(REPORT_CLEAN_CASE).nsPerOp / 1e3).toFixed(1)} µs clean, ${(find(REPORT_DIRTY_CASE).nsPerOp / 1e3).toFixed(1)} µs with 1024 dirty pages`);
  return report;
}
