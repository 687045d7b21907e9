// Scale (issue 12 §5): building 256, 2048 and 16384 functions (time, wasm memory, JS heap), scanning
// each whole topology through ECAM, and a STOP_COPY migration of 1-64 MiB of device memory. Every
// point runs in a fresh process of its own (the wasm core's memory only grows, and one size's JIT
// and GC state must not carry into the next). Writes bench/results/scale.json and the plot
// docs/perf-scale.svg (hand-written SVG: log-log, time against size).
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { EndpointSpec } from '../src/hw/spec.js';
import type { CaseReport, GoalReport, SuiteReport } from './harness.js';
import { fmtNs, median } from './harness.js';

export const SUITE = 'scale';
export const SIZES = [256, 2048, 16384];
export const MIGRATION_MIB = [1, 4, 16, 64];
const PLOT = fileURLToPath(new URL('../docs/perf-scale.svg', import.meta.url));
const CHILD_TIMEOUT_MS = Number(process.env.BENCH_SCALE_TIMEOUT_MS ?? 120_000);

/** A typical endpoint (as the scan suite's): MSI-X with 16 vectors, PCIe, AER. */
const ENDPOINT: EndpointSpec = {
  vendorId: 0x8086,
  deviceId: 0x1572,
  classCode: 0x020000,
  interruptPin: 1,
  bars: [{ kind: 'mem64', size: 0x4000 }, null, { kind: 'mem32', size: 0x1000 }],
  capabilities: [{ id: 'pm' }, { id: 'msi', vectors: 4, is64: true }, { id: 'msix', vectors: 16, tableBar: 0, tableOffset: 0, pbaBar: 0, pbaOffset: 0x2000 }, { id: 'pcie' }],
  extendedCapabilities: [{ id: 'aer' }],
};

interface BuildPoint {
  functions: number;
  bridges: number;
  /** CPU time */
  buildMs: number;
  buildWallMs?: number;
  /** CPU time of one whole ECAM scan */
  scanMs: number;
  scanFound: number;
  wasmBytes: number;
  heapBytes: number;
  error?: string;
}

interface MigrationPoint {
  mib: number;
  streamBytes: number;
  stopCopyMs: number;
  error?: string;
}

const hex2 = (n: number) => n.toString(16).padStart(2, '0');

/** CPU time of this process in ms (the machine is shared: wall time counts other processes too). */
function cpuMs(): number {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
}

/** Child: builds `n` endpoints, 256 a bus (32 devices x 8 functions) behind root-bus bridges. */
async function buildPoint(n: number): Promise<BuildPoint> {
  const { Hardware } = await import('../src/hw/hardware.js');
  const { scanEcam } = await import('./scan.js');
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  const wasm0 = 0; // the hardware's own core starts empty
  const t0 = cpuMs();
  const w0 = process.hrtime.bigint();
  const hw = new Hardware({ memoryBytes: 1 << 20 });
  const buses = Math.ceil(n / 256);
  let built = 0;
  for (let b = 0; b < buses; b++) {
    const sec = b + 1;
    hw.addBridge(`0000:00:${hex2(1 + (b >> 3))}.${b & 7}`, { secondaryBus: sec });
    for (let dev = 0; dev < 32 && built < n; dev++) {
      for (let fn = 0; fn < 8 && built < n; fn++, built++) hw.addEndpoint(`0000:${hex2(sec)}:${hex2(dev)}.${fn}`, ENDPOINT);
    }
  }
  const buildMs = cpuMs() - t0;
  const buildWallMs = Number(process.hrtime.bigint() - w0) / 1e6;
  gc?.();
  const heapBytes = process.memoryUsage().heapUsed - heap0;
  const wasmBytes = hw.core.raw.memory.buffer.byteLength - wasm0;
  const times: number[] = [];
  let found = 0;
  for (let i = 0; i < 9; i++) {
    // repeat the scan for ~20 ms of CPU time per sample (cpuUsage has µs resolution)
    const s0 = cpuMs();
    let k = 0;
    do {
      const st = { reads: 0, found: 0, digest: 0 };
      scanEcam(hw, st);
      found = st.found;
      k++;
    } while (cpuMs() - s0 < 20);
    times.push((cpuMs() - s0) / k);
  }
  if (found !== n + buses) throw new Error(`scan found ${found} functions, built ${n + buses}`);
  return { functions: n, bridges: buses, buildMs, buildWallMs, scanMs: median(times.slice(2)), scanFound: found, wasmBytes, heapBytes };
}

/** Child: STOP_COPY of a DMA engine with `mib` MiB of device memory, drained in 8 MiB reads. */
async function migrationPoint(mib: number): Promise<MigrationPoint> {
  const { createEmulator } = await import('../src/emulator.js');
  const { VFIO } = await import('../src/host/vfio/uapi/constants.js');
  const { buildDeviceFeature } = await import('../src/host/vfio/uapi/deviceFeature.js');
  const { decodeFeatureMigState } = await import('../src/host/vfio/uapi/migrationFeature.js');
  const { MigState } = await import('../src/host/vfio/migrationFsm.js');
  const BDF = '0000:00:04.0';
  const emu = await createEmulator({ memoryBytes: 1 << 20 });
  emu.hw.addDmaEngine(BDF, { deviceMemoryBytes: mib << 20 });
  emu.host.bind(BDF);
  const file = emu.host.openDevice(BDF);
  const set = (state: number): number => {
    const arg = buildDeviceFeature(VFIO.DEVICE_FEATURE_SET | VFIO.DEVICE_FEATURE_MIG_DEVICE_STATE, 8);
    new DataView(arg.buffer).setUint32(8, state, true);
    file.ioctl(VFIO.DEVICE_FEATURE, arg);
    return decodeFeatureMigState(arg, 8).dataFd;
  };
  const once = (): [number, number] => {
    const t0 = cpuMs();
    set(MigState.STOP);
    const fd = set(MigState.STOP_COPY);
    const f = emu.host.fd(fd);
    let bytes = 0;
    for (let b = f.read(8 << 20); b.length > 0; b = f.read(8 << 20)) bytes += b.length;
    set(MigState.STOP);
    set(MigState.RUNNING);
    return [cpuMs() - t0, bytes];
  };
  once(); // warm-up
  const runs = Array.from({ length: 5 }, once);
  return { mib, streamBytes: runs[0][1], stopCopyMs: median(runs.map((r) => r[0])) };
}

function spawnPoint(kind: string, n: number): string {
  const r = spawnSync(process.execPath, ['--expose-gc', ...process.execArgv, fileURLToPath(import.meta.url), kind, String(n)], {
    encoding: 'utf8',
    timeout: CHILD_TIMEOUT_MS,
    maxBuffer: 1 << 24,
  });
  const line = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  if (r.status === 0 && line.startsWith('{')) return line;
  const why = r.error ? (r.signal === 'SIGTERM' ? `timed out after ${CHILD_TIMEOUT_MS / 1000} s` : String(r.error.message)) : (r.stderr ?? '').trim().split('\n').slice(-3).join(' | ');
  return JSON.stringify({ error: `${kind} ${n} failed (exit ${r.status ?? r.signal}): ${why}`.slice(0, 400) });
}

// ---- the plot ------------------------------------------------------------------------------------

interface Series {
  name: string;
  color: string;
  points: [number, number][];
}

/** One log-log panel: x in [x0, x1], y (ms) over the data's decades. */
function panel(x: number, w: number, h: number, title: string, xLabel: string, series: Series[], xTicks: number[]): string {
  const ys = series.flatMap((s) => s.points.map((p) => p[1])).filter((v) => v > 0);
  const yLo = 10 ** Math.floor(Math.log10(Math.min(...ys, 1)));
  const yHi = 10 ** Math.ceil(Math.log10(Math.max(...ys, 1)));
  const xLo = Math.min(...xTicks);
  const xHi = Math.max(...xTicks);
  const L = x + 60;
  const R = x + w - 15;
  const T = 40;
  const B = h - 50;
  const px = (v: number) => L + ((Math.log(v) - Math.log(xLo)) / (Math.log(xHi) - Math.log(xLo))) * (R - L);
  const py = (v: number) => B - ((Math.log(v) - Math.log(yLo)) / (Math.log(yHi) - Math.log(yLo))) * (B - T);
  const out: string[] = [];
  out.push(`<text x="${(L + R) / 2}" y="22" text-anchor="middle" font-weight="bold">${title}</text>`);
  out.push(`<rect x="${L}" y="${T}" width="${R - L}" height="${B - T}" fill="none" stroke="#888"/>`);
  for (let d = yLo; d <= yHi * 1.0001; d *= 10) {
    out.push(`<line x1="${L}" x2="${R}" y1="${py(d).toFixed(1)}" y2="${py(d).toFixed(1)}" stroke="#ddd"/>`);
    out.push(`<text x="${L - 6}" y="${(py(d) + 4).toFixed(1)}" text-anchor="end">${d >= 1 ? d : d.toPrecision(1)} ms</text>`);
  }
  for (const t of xTicks) {
    out.push(`<line x1="${px(t).toFixed(1)}" x2="${px(t).toFixed(1)}" y1="${T}" y2="${B}" stroke="#eee"/>`);
    out.push(`<text x="${px(t).toFixed(1)}" y="${B + 16}" text-anchor="middle">${t}</text>`);
  }
  out.push(`<text x="${(L + R) / 2}" y="${B + 36}" text-anchor="middle">${xLabel}</text>`);
  // the linear-growth guide through each series' first point
  series.forEach((s, i) => {
    const pts = s.points.filter((p) => p[1] > 0);
    if (pts.length === 0) return;
    if (pts.length > 1) {
      const [x0, y0] = pts[0];
      const xe = pts[pts.length - 1][0];
      out.push(`<line x1="${px(x0).toFixed(1)}" y1="${py(y0).toFixed(1)}" x2="${px(xe).toFixed(1)}" y2="${py((y0 * xe) / x0).toFixed(1)}" stroke="${s.color}" stroke-dasharray="4 4" opacity="0.5"/>`);
    }
    out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${pts.map((p) => `${px(p[0]).toFixed(1)},${py(p[1]).toFixed(1)}`).join(' ')}"/>`);
    for (const p of pts) out.push(`<circle cx="${px(p[0]).toFixed(1)}" cy="${py(p[1]).toFixed(1)}" r="3.5" fill="${s.color}"><title>${s.name}: ${p[0]} -> ${p[1].toFixed(3)} ms</title></circle>`);
    out.push(`<line x1="${L + 10}" x2="${L + 30}" y1="${T + 16 + 16 * i}" y2="${T + 16 + 16 * i}" stroke="${s.color}" stroke-width="2"/>`);
    out.push(`<text x="${L + 36}" y="${T + 20 + 16 * i}">${s.name}</text>`);
  });
  return out.join('\n');
}

export function plot(builds: BuildPoint[], migrations: MigrationPoint[], note: string): string {
  const ok = builds.filter((b) => !b.error);
  const W = 900;
  const H = 360;
  const left = panel(0, W / 2, H, 'Topology size', 'functions (log scale)', [
    { name: 'build (addEndpoint x N)', color: '#1f77b4', points: ok.map((b) => [b.functions, b.buildMs]) },
    { name: 'ECAM scan of everything', color: '#d62728', points: ok.map((b) => [b.functions, b.scanMs]) },
  ], SIZES);
  const right = panel(W / 2, W / 2, H, 'Migration', 'device memory, MiB (log scale)', [
    { name: 'STOP_COPY stream', color: '#2ca02c', points: migrations.filter((m) => !m.error).map((m) => [m.mib, m.stopCopyMs]) },
  ], MIGRATION_MIB);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H + 20}" viewBox="0 0 ${W} ${H + 20}" font-family="sans-serif" font-size="11">
<rect width="100%" height="100%" fill="white"/>
${left}
${right}
<text x="10" y="${H + 12}" fill="#555">${note} Dashed: linear growth from the first point.</text>
</svg>
`;
}

// ---- the suite --------------------------------------------------------------------------------------

export async function run(): Promise<SuiteReport> {
  console.log(`\n== ${SUITE} (one process per point)`);
  const builds: BuildPoint[] = [];
  for (const n of SIZES) {
    const p = JSON.parse(spawnPoint('--build', n)) as BuildPoint;
    p.functions = n;
    builds.push(p);
    if (p.error) console.log(`  ${n} functions: ${p.error}`);
    else
      console.log(
        `  ${String(n).padStart(6)} functions (+${p.bridges} bridges): build ${p.buildMs.toFixed(1).padStart(8)} ms (${fmtNs((p.buildMs * 1e6) / n)} ns/fn)  ` +
          `scan ${p.scanMs.toFixed(3).padStart(8)} ms  wasm +${(p.wasmBytes / 2 ** 20).toFixed(0)} MiB  JS heap +${(p.heapBytes / 2 ** 20).toFixed(1)} MiB`,
      );
  }
  const migrations: MigrationPoint[] = [];
  for (const mib of MIGRATION_MIB) {
    const m = JSON.parse(spawnPoint('--migration', mib)) as MigrationPoint;
    m.mib = mib;
    migrations.push(m);
    if (m.error) console.log(`  migration ${mib} MiB: ${m.error}`);
    else console.log(`  STOP_COPY ${String(mib).padStart(3)} MiB: ${m.stopCopyMs.toFixed(2).padStart(8)} ms (${((m.streamBytes / m.stopCopyMs) * 1e-6).toFixed(2)} GB/s)`);
  }

  const cases: CaseReport[] = [];
  const goals: GoalReport[] = [];
  const mk = (name: string, ns: number, op: string, accesses: number): CaseReport => ({
    suite: SUITE, name, op, accessesPerOp: accesses, nsPerOp: ns, nsPerAccess: ns / accesses, medianNsPerAccess: ns / accesses,
    ratioToFloor: NaN, ratios: {}, rmePercent: 0, samples: 1, isFloor: false,
  });
  for (const b of builds) {
    if (b.error) continue;
    cases.push(mk(`build ${b.functions} functions (per function)`, b.buildMs * 1e6, 'build', b.functions));
    cases.push(mk(`scan ${b.functions} functions via ECAM (per function)`, b.scanMs * 1e6, 'scan', b.functions));
  }
  for (const m of migrations) if (!m.error) cases.push(mk(`STOP_COPY ${m.mib} MiB (per byte)`, m.stopCopyMs * 1e6, 'stream', m.streamBytes));
  const big = builds.find((b) => b.functions === 16384);
  const total = big && !big.error ? big.wasmBytes + big.heapBytes : NaN;
  goals.push({ suite: SUITE, case: 'build 16384', goal: '16,384 functions built in under 2 s', measured: big?.error ?? `${big!.buildMs.toFixed(0)} ms`, value: big?.buildMs ?? NaN, max: 2000, pass: !!big && !big.error && big.buildMs < 2000 });
  goals.push({ suite: SUITE, case: 'build 16384', goal: '16,384 functions within 512 MiB (wasm + JS heap)', measured: big?.error ?? `${(total / 2 ** 20).toFixed(0)} MiB`, value: total, max: 512 * 2 ** 20, pass: total <= 512 * 2 ** 20 });
  const small = builds.find((b) => b.functions === 256);
  goals.push({ suite: SUITE, case: 'scan 256', goal: '256-function scan under 1 ms', measured: small?.error ?? `${(small!.scanMs * 1000).toFixed(0)} µs`, value: small?.scanMs ?? NaN, max: 1, pass: !!small && !small.error && small.scanMs < 1 });
  for (const g of goals) console.log(`  ${g.pass ? 'PASS' : 'MISS'}  ${g.goal}: ${g.measured}`);

  const failed = builds.filter((b) => b.error).map((b) => `${b.functions} functions: not built (${/timed out[^)]*/.exec(b.error!)?.[0] ?? 'failed'}).`).join(' ');
  mkdirSync(fileURLToPath(new URL('../docs/', import.meta.url)), { recursive: true });
  writeFileSync(PLOT, plot(builds, migrations, `pcisim bench scale, node ${process.version}, ${new Date().toISOString().slice(0, 10)}. ${failed}`));
  console.log(`  wrote ${PLOT}`);
  return { suite: SUITE, floorNsPerAccess: NaN, cases, goals, builds, migrations } as SuiteReport;
}

// child mode: `scale.ts --build N` / `scale.ts --migration MiB` prints one JSON line
if (process.argv[1] === fileURLToPath(import.meta.url) && (process.argv[2] === '--build' || process.argv[2] === '--migration')) {
  const n = Number(process.argv[3]);
  (process.argv[2] === '--build' ? buildPoint(n) : migrationPoint(n))
    .then((p) => {
      console.log(JSON.stringify(p));
      process.exit(0);
    })
    .catch((e: unknown) => {
      console.error(e);
      process.exit(1);
    });
}
