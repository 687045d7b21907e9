// `npm run bench` (= tsx bench/run.ts [suite ...]): runs the benchmark suites in sequence and prints
// a summary table.
//
// How to read the output:
// - Every case runs a batch of accesses per benny op (1024 for the per-access cases, one whole scan for
//   the scan cases), so benny's own per-op overhead is spread over the batch. "ns/access" is benny's
//   mean time per op divided by the accesses in it. For MSI-X, one "access" is one whole
//   mask + raise + unmask cycle (or one raise, or one table read).
// - Each suite first measures the floor: a plain Uint32Array load plus mask merge, the least a config
//   access can cost in JS. "x floor" is a case's ns/access over the floor's from the same suite run,
//   so it stays comparable across machines and runs; the absolute ns are this machine's.
// - "per op" is the time of one benny op: a batch, or for the scans one whole 256-function scan (µs).
// - "±" is benny's relative margin of error; numbers within a few percent of each other are a tie.
//   "median ns" is the same per-access figure from benny's median sample: when it is well below the
//   mean, the machine was busy (other processes took the CPU during some samples) and the mean, the
//   ratios and the goals are inflated; rerun on a quiet machine.
// - The goals at the end are the project's targets (config read within 3x of the floor, a
//   256-function scan under 1 ms, a config read through the vfio device file within 3x of the
//   hardware-level hw.configRead). The vfio suite also prints each device-file case's ratio to its
//   hardware-level counterpart measured in the same run. Goals are reported, not enforced: timing is
//   noisy on shared machines.
// - Raw benny output per suite: bench/results/<suite>.json; all of the table: bench/results/summary.json.
//   Set BENCH_MAX_TIME (seconds per case, default 1.5; the whole run stays under 2 minutes) for steadier numbers.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import * as configAccess from './configAccess.js';
import type { CaseReport, SuiteReport } from './harness.js';
import { fmtNs, RESULTS_DIR } from './harness.js';
import * as migration from './migration.js';
import * as msix from './msix.js';
import * as scan from './scan.js';
import * as stack from './stack.js';
import * as virtioDatapath from './virtioDatapath.js';
import * as virtioLegacy from './virtioLegacy.js';
import * as vfio from './vfio.js';
import * as vmm from './vmm.js';

const SUITES: { name: string; run: () => Promise<SuiteReport> }[] = [
  { name: configAccess.SUITE, run: configAccess.run },
  { name: scan.SUITE, run: scan.run },
  { name: msix.SUITE, run: msix.run },
  { name: virtioDatapath.SUITE, run: virtioDatapath.run },
  { name: virtioLegacy.SUITE, run: virtioLegacy.run },
  { name: vfio.SUITE, run: vfio.run },
  { name: migration.SUITE, run: migration.run },
  { name: vmm.SUITE, run: vmm.run },
  { name: stack.SUITE, run: stack.run },
];

interface Goal {
  goal: string;
  measured: string;
  pass: boolean;
}

function perOp(c: CaseReport): string {
  if (c.op === 'scan') return `${(c.nsPerOp / 1000).toFixed(1)} µs/scan`;
  return `${(c.nsPerOp / 1000).toFixed(2)} µs/${c.accessesPerOp}`;
}

function table(reports: SuiteReport[]): string {
  const rows: string[][] = [['suite', 'case', 'ns/access', 'x floor', 'median ns', 'per op', 'accesses/op', '±%']];
  for (const s of reports) {
    for (const c of s.cases) {
      rows.push([
        s.suite,
        c.name,
        fmtNs(c.nsPerAccess),
        c.ratioToFloor.toFixed(2),
        fmtNs(c.medianNsPerAccess),
        perOp(c),
        String(c.accessesPerOp),
        c.rmePercent.toFixed(1),
      ]);
    }
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const right = [false, false, true, true, true, true, true, true];
  const line = (r: string[]) => r.map((cell, i) => (right[i] ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))).join('  ');
  const sep = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(rows[0]), sep, ...rows.slice(1).map(line)].join('\n');
}

/** What the Uint8Array read() must return costs by itself, next to the read goal. */
function allocNote(report: SuiteReport, hwNs: number): string {
  const a = report.cases.find((c) => c.name === vfio.ALLOC_CASE);
  const into = report.cases.find((c) => c.name === vfio.CONFIG_READ_INTO_CASE);
  if (!a || !into) return '';
  return `; allocating the returned Uint8Array alone is ${(a.nsPerAccess / hwNs).toFixed(2)}x, the access into a caller's buffer (readInto) ${(into.nsPerAccess / hwNs).toFixed(2)}x`;
}

function goals(reports: SuiteReport[]): Goal[] {
  const find = (suite: string, name: string) => reports.find((s) => s.suite === suite)?.cases.find((c) => c.name === name);
  const out: Goal[] = [];
  const read = find(configAccess.SUITE, configAccess.CONFIG_READ_CASE);
  if (read) {
    out.push({
      goal: `config read (${configAccess.CONFIG_READ_CASE}) within 3x of the floor`,
      measured: `${read.ratioToFloor.toFixed(2)}x (${fmtNs(read.nsPerAccess)} ns/access)`,
      pass: read.ratioToFloor <= 3,
    });
  }
  const sc = find(scan.SUITE, scan.SCAN_CASE);
  if (sc) {
    out.push({
      goal: `${scan.FUNCTIONS}-function scan (${scan.SCAN_CASE}) under 1 ms`,
      measured: `${(sc.nsPerOp / 1000).toFixed(1)} µs`,
      pass: sc.nsPerOp < 1e6,
    });
  }
  const vr = reports.find((s) => s.suite === vfio.SUITE);
  const v = vr ? vfio.ratioToHardware(vr, vfio.CONFIG_READ_CASE) : null;
  if (v) {
    out.push({
      goal: `virtualized config read (${vfio.CONFIG_READ_CASE}) within 3x of ${vfio.HW_CONFIG_READ_CASE}`,
      measured: `${v.ratio.toFixed(2)}x (${fmtNs(v.virt.nsPerAccess)} vs ${fmtNs(v.hw.nsPerAccess)} ns/access)${allocNote(vr!, v.hw.nsPerAccess)}`,
      pass: v.ratio <= 3,
    });
  }
  const vd = find(virtioDatapath.SUITE, virtioDatapath.VF_UPLINK_64_CASE);
  if (vd) {
    out.push({
      goal: `at least 1 million 64-byte frames per second VF -> uplink (${virtioDatapath.VF_UPLINK_64_CASE})`,
      measured: `${(1e3 / vd.nsPerAccess).toFixed(2)} Mframes/s (${fmtNs(vd.nsPerAccess)} ns/frame)`,
      pass: vd.nsPerAccess <= 1000,
    });
  }
  const vl = find(virtioLegacy.SUITE, virtioLegacy.LEGACY_READ_CASE);
  if (vl) {
    out.push({
      goal: `one legacy register access through the device file (${virtioLegacy.LEGACY_READ_CASE}) under 1 µs`,
      measured: `${fmtNs(vl.nsPerAccess)} ns/access (median ${fmtNs(vl.medianNsPerAccess)})`,
      pass: vl.nsPerAccess < 1000,
    });
  }
  const arc = find(migration.SUITE, migration.ARC_CASE);
  if (arc) {
    out.push({
      goal: `one migration arc (${migration.ARC_CASE}) under 1 µs`,
      measured: `${fmtNs(arc.nsPerAccess)} ns/arc`,
      pass: arc.nsPerAccess < 1000,
    });
  }
  const mr = reports.find((s) => s.suite === migration.SUITE);
  const mbps = mr ? migration.stopCopyMBps(mr) : null;
  if (mbps !== null) {
    out.push({
      goal: `STOP_COPY stream of 64 MiB device memory at least 1 GB/s (${migration.STOP_COPY_CASE})`,
      measured: `${mbps.toFixed(0)} MB/s`,
      pass: mbps >= 1000,
    });
  }
  return out;
}

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((w) => !SUITES.some((s) => s.name === w));
  if (unknown.length > 0) throw new Error(`unknown suite(s) ${unknown.join(', ')}; suites: ${SUITES.map((s) => s.name).join(', ')}`);
  const selected = wanted.length > 0 ? SUITES.filter((s) => wanted.includes(s.name)) : SUITES;
  const started = Date.now();
  const reports: SuiteReport[] = [];
  for (const s of selected) reports.push(await s.run());

  const cpu = cpus()[0]?.model ?? 'unknown cpu';
  console.log(`\n== summary (node ${process.version}, ${cpu}; ${((Date.now() - started) / 1000).toFixed(0)} s)`);
  console.log(table(reports));
  const g = goals(reports);
  if (g.length > 0) {
    console.log('\n== goals');
    for (const x of g) console.log(`  ${x.pass ? 'PASS' : 'MISS'}  ${x.goal}: ${x.measured}`);
  }

  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, 'summary.json');
  const summary = {
    date: new Date().toISOString(),
    node: process.version,
    cpu,
    suites: reports.map((s) => ({
      suite: s.suite,
      floorNsPerAccess: s.floorNsPerAccess,
      cases: s.cases.map((c) => ({
        name: c.name,
        nsPerAccess: c.nsPerAccess,
        ratioToFloor: c.ratioToFloor,
        medianNsPerAccess: c.medianNsPerAccess,
        nsPerOp: c.nsPerOp,
        usPerScan: c.op === 'scan' ? c.nsPerOp / 1000 : undefined,
        accessesPerOp: c.accessesPerOp,
        op: c.op,
        rmePercent: c.rmePercent,
        samples: c.samples,
      })),
    })),
    goals: g,
  };
  writeFileSync(file, JSON.stringify(summary, null, 2) + '\n');
  console.log(`\nwrote ${file}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
