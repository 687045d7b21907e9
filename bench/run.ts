// `npm run bench [-- suite ...] [-- --compare <summary.json>]` (= tsx bench/run.ts): runs each suite
// in a process of its own (so one suite's JIT feedback cannot slow another's), then prints a summary
// table and the goals, and writes bench/results/summary.json.
//
// How to read the output (bench/harness.ts has the method):
// - "ns/access" is the median over rounds of the time per access; a case's batch is BATCH accesses
//   (one whole scan for the scan cases; for MSI-X one mask + raise + unmask cycle ...).
// - "x floor" is the median of the per-round ratios to the floor (a Uint32Array load plus mask merge,
//   the least a config access can cost in JS), sampled right before the case in every round, so it
//   stays comparable across machines and busy moments; the absolute ns are this machine's.
// - "iqr" is the spread of the rounds (interquartile range, percent of the median): a large one
//   means the machine was busy; rerun on a quiet machine.
// - Goals come from the suites' cases; PASS/MISS is decided from the ratio (or the bound) measured.
// - `--compare <file>` prints each case's change against a saved summary.json (copy one aside first:
//   bench/results/ is overwritten by every run).
// - Opt-in suites (not in the default set): harnessCheck (this harness vs tinybench on the same
//   cases), realGuest (a Linux guest in v86, when bench/realGuest.ts exists).
// Env: BENCH_ROUNDS (default 15), BENCH_SAMPLE_MS (default 2).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CaseReport, GoalReport, SuiteReport } from './harness.js';
import { fmtNs, RESULTS_DIR, saveReport } from './harness.js';

interface SuiteModule {
  SUITE: string;
  run: () => Promise<SuiteReport>;
}

const HERE = fileURLToPath(new URL('.', import.meta.url));

const SUITES: Record<string, () => Promise<SuiteModule>> = {
  configAccess: () => import('./configAccess.js'),
  ioDispatch: () => import('./ioDispatch.js'),
  scan: () => import('./scan.js'),
  msix: () => import('./msix.js'),
  virtioDatapath: () => import('./virtioDatapath.js'),
  virtioLegacy: () => import('./virtioLegacy.js'),
  vfio: () => import('./vfio.js'),
  migration: () => import('./migration.js'),
  vmm: () => import('./vmm.js'),
  stack: () => import('./stack.js'),
  scale: () => import('./scale.js'),
};
const DEFAULT = Object.keys(SUITES);

const OPT_IN: Record<string, () => Promise<SuiteModule>> = {
  harnessCheck: () => import('./harnessCheck.js'),
};
// another change adds the real-guest bench; list it only where it exists
if (existsSync(join(HERE, 'realGuest.ts'))) OPT_IN.realGuest = () => import('./realGuest.js' as string) as Promise<SuiteModule>;

/** A figure for the table; a case whose suite wrote no such figure (JSON turns NaN into null) shows '-'. */
function fixed(v: number | null | undefined, digits: number): string {
  return typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '-';
}

function table(reports: SuiteReport[]): string {
  const rows: string[][] = [['suite', 'case', 'ns/access', 'x floor', 'iqr%', 'per op', 'vs peer']];
  for (const s of reports) {
    for (const c of s.cases) {
      const perOp = c.op === 'batch' ? `${(c.nsPerOp / 1000).toFixed(2)} µs/${c.accessesPerOp}` : c.nsPerOp >= 1e6 ? `${(c.nsPerOp / 1e6).toFixed(2)} ms/${c.op}` : `${(c.nsPerOp / 1000).toFixed(1)} µs/${c.op}`;
      const vs = Object.entries(c.ratios ?? {}).map(([k, v]) => `${fixed(v, 2)}x ${k.slice(0, 28)}`).join('; ');
      rows.push([s.suite, c.name, fmtNs(c.nsPerAccess), fixed(c.ratioToFloor, 2), fixed(c.rmePercent, 0), perOp, vs]);
    }
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const right = [false, false, true, true, true, true, false];
  const line = (r: string[]) => r.map((cell, i) => (right[i] ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))).join('  ').trimEnd();
  const sep = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(rows[0]), sep, ...rows.slice(1).map(line)].join('\n');
}

interface Summary {
  date: string;
  node: string;
  cpu: string;
  suites: SuiteReport[];
  goals: GoalReport[];
}

/** Each case's change against a saved summary (matched by suite and case name). */
function compare(now: Summary, file: string): string {
  const old = JSON.parse(readFileSync(file, 'utf8')) as Summary;
  const before = new Map<string, CaseReport>();
  for (const s of old.suites) for (const c of s.cases) before.set(`${s.suite}\0${c.name}`, c);
  const out = [`== change against ${file} (${old.date}, ${old.node})`];
  for (const s of now.suites) {
    for (const c of s.cases) {
      const b = before.get(`${s.suite}\0${c.name}`);
      if (!b) {
        out.push(`  ${s.suite}/${c.name}: new`);
        continue;
      }
      const pct = (100 * (c.nsPerAccess - b.nsPerAccess)) / b.nsPerAccess;
      const fr = (100 * (c.ratioToFloor - b.ratioToFloor)) / b.ratioToFloor;
      out.push(
        `  ${(s.suite + '/' + c.name).padEnd(72)} ${fmtNs(b.nsPerAccess).padStart(8)} -> ${fmtNs(c.nsPerAccess).padStart(8)} ns  ${(pct >= 0 ? '+' : '') + pct.toFixed(1)}%  (x floor ${(fr >= 0 ? '+' : '') + fr.toFixed(1)}%)`,
      );
    }
  }
  return out.join('\n');
}

/** Child mode: run one suite in this process and save its report. */
async function child(name: string): Promise<void> {
  const load = SUITES[name] ?? OPT_IN[name];
  const mod = await load();
  const report = await mod.run();
  saveReport(report as SuiteReport & Record<string, unknown>);
  process.exit(0); // a peer emulator (v86) may leave timers behind
}

function parseArgs(argv: string[]): { suites: string[]; compareWith: string | null } {
  const suites: string[] = [];
  let compareWith: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--compare') {
      compareWith = argv[++i] ?? null;
      if (compareWith === null) throw new Error('--compare needs a file (a saved bench/results/summary.json)');
    } else if (a.startsWith('--compare=')) compareWith = a.slice('--compare='.length);
    else suites.push(a);
  }
  const known = [...Object.keys(SUITES), ...Object.keys(OPT_IN)];
  const unknown = suites.filter((w) => !known.includes(w));
  if (unknown.length > 0) throw new Error(`unknown suite(s) ${unknown.join(', ')}; suites: ${DEFAULT.join(', ')}; opt-in: ${Object.keys(OPT_IN).join(', ')}`);
  return { suites: suites.length > 0 ? suites : DEFAULT, compareWith };
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child') return child(process.argv[3]);
  const { suites, compareWith } = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const reports: SuiteReport[] = [];
  let failed = 0;
  for (const name of suites) {
    // each suite in a fresh process: same node flags (tsx's loader), this file in child mode
    const r = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--child', name], { stdio: 'inherit', env: process.env });
    const file = join(RESULTS_DIR, `${name}.json`);
    if (r.status !== 0 || !existsSync(file)) {
      console.error(`suite ${name} failed (exit ${r.status ?? r.signal})`);
      failed++;
      continue;
    }
    reports.push(JSON.parse(readFileSync(file, 'utf8')) as SuiteReport);
  }

  const cpu = cpus()[0]?.model ?? 'unknown cpu';
  console.log(`\n== summary (node ${process.version}, ${cpu}; ${((Date.now() - started) / 1000).toFixed(0)} s)`);
  console.log(table(reports));
  const goals = reports.flatMap((s) => s.goals ?? []);
  if (goals.length > 0) {
    console.log('\n== goals');
    for (const g of goals) console.log(`  ${g.pass ? 'PASS' : 'MISS'}  [${g.suite}] ${g.goal}: ${g.measured}`);
  }
  const summary: Summary = { date: new Date().toISOString(), node: process.version, cpu, suites: reports, goals };
  if (compareWith !== null) console.log('\n' + compare(summary, compareWith));
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, 'summary.json');
  writeFileSync(file, JSON.stringify(summary, null, 2) + '\n');
  console.log(`\nwrote ${file}`);
  if (failed > 0) process.exitCode = 1;
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
