// The benchmark harness: our own sampler on process.cpuUsage and process.hrtime.bigint
// (bench/harnessCheck.ts shows it reads lower than tinybench at ns scale, where a harness's per-call
// cost lands on the floor).
//
// How a suite is measured:
// - every case runs a batch of accesses per call (BATCH for the per-access cases), so the cost of
//   calling the case is spread over the batch;
// - each case is calibrated once to the number of calls that takes about SAMPLE_MS, then measured in
//   ROUNDS rounds; in each round every case is sampled right after a sample of the floor, so a busy
//   moment of the machine hits a case and its floor together;
// - a case's ns/access is the median over rounds; its ratio to the floor (or to a peer case named in
//   `vs`) is the median of the per-round ratios, which is what the goals judge.
import { writeFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** Accesses per call for the per-access cases. */
export const BATCH = 1024;

/** Where each suite's JSON (bench/results/<suite>.json) and the run's summary go (gitignored). */
export const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const SAMPLE_MS = Number(process.env.BENCH_SAMPLE_MS ?? 2);

/** Benchmarked code folds its results in here so the JIT cannot drop the work as dead. */
export const sink = { value: 0 };

/**
 * A target for one case: `max` is a ratio when `vs` names the floor ('floor') or another case of the
 * suite, else a bound on ns per access (or per op with `perOp`).
 */
export interface Goal {
  text: string;
  max: number;
  vs?: string;
  perOp?: boolean;
}

export interface BenchCase {
  name: string;
  /** accesses one call of `fn` performs (BATCH for batched cases, reads per scan for a scan) */
  accesses: number;
  /** what one call of `fn` is, for the per-op column: 'batch', 'scan' ... */
  op: string;
  fn: () => void;
  /** other cases of the suite this one is compared with round by round (peer, hardware level) */
  vs?: string[];
  goals?: Goal[];
}

export interface GoalReport {
  suite: string;
  case: string;
  goal: string;
  measured: string;
  value: number;
  max: number;
  pass: boolean;
}

export interface CaseReport {
  suite: string;
  name: string;
  op: string;
  accessesPerOp: number;
  /** median over rounds of the time of one call of fn, in ns */
  nsPerOp: number;
  /** median over rounds, CPU ns per access */
  nsPerAccess: number;
  /** the same as nsPerAccess (kept for the suites that print it) */
  medianNsPerAccess: number;
  /** the wall clock's median (counts time other processes held the CPU) */
  wallNsPerAccess?: number;
  /** median of the per-round ratios to the floor sampled just before */
  ratioToFloor: number;
  /** median of the per-round ratios to each case in `vs` */
  ratios: Record<string, number>;
  /** interquartile range of the rounds' ns/access, percent of the median */
  rmePercent: number;
  samples: number;
  isFloor: boolean;
}

export interface SuiteReport {
  suite: string;
  floorNsPerAccess: number;
  cases: CaseReport[];
  goals?: GoalReport[];
}

// ---- the floor: a plain typed-array load plus mask merge, BATCH per call ---------------------------

export const FLOOR_NAME = 'floor: Uint32Array load + mask merge';
const FLOOR_DWORDS = 64; // a 256-byte header's worth, like the offsets the real cases cycle through
const floorCfg = new Uint32Array(FLOOR_DWORDS);
const floorMask = new Uint32Array(FLOOR_DWORDS);
for (let k = 0; k < FLOOR_DWORDS; k++) {
  floorCfg[k] = Math.imul(k + 1, 0x9e3779b1) >>> 0;
  floorMask[k] = k & 1 ? 0xffff0000 : 0x000000ff;
}

export function floorBatch(): void {
  const cfg = floorCfg;
  const wm = floorMask;
  let acc = 0;
  for (let i = 0; i < BATCH; i++) {
    const k = i & (FLOOR_DWORDS - 1);
    const m = wm[k];
    acc = (acc + ((cfg[k] & ~m) | (i & m))) | 0;
  }
  sink.value ^= acc;
}

export function floorCase(): BenchCase {
  return { name: FLOOR_NAME, accesses: BATCH, op: 'batch', fn: floorBatch };
}

// ---- sampling ----------------------------------------------------------------------------------

/**
 * ns of CPU time this process spent on `calls` calls of fn. On a shared machine the wall clock also
 * counts the time other processes held the CPU (measured here: wall times of one 2.7 ms loop from 2.6
 * to 31 ms under load, CPU time 2.74-2.87 ms), so samples are CPU time (user + system, µs resolution,
 * hence samples of milliseconds); the wall time of the last sample is kept in `lastWallNs`.
 */
function sample(fn: () => void, calls: number): number {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let k = 0; k < calls; k++) fn();
  const t1 = process.hrtime.bigint();
  const c = process.cpuUsage(c0);
  lastWallNs = Number(t1 - t0);
  return (c.user + c.system) * 1000;
}
let lastWallNs = 0;

/** Calls per sample so one sample takes about SAMPLE_MS (after a warm-up that lets the JIT settle). */
function calibrate(fn: () => void): number {
  const target = SAMPLE_MS * 1e6;
  let calls = 1;
  let spent = 0;
  const started = process.hrtime.bigint();
  for (;;) {
    const t = sample(fn, calls);
    spent = Number(process.hrtime.bigint() - started);
    if (t >= target / 4 || calls >= 1 << 24) {
      // warm up for at least ~20 samples' worth or 100 ms, whichever is less
      if (spent < Math.min(100e6, 20 * target)) continue;
      return Math.max(1, Math.round((calls * target) / Math.max(t, 1)));
    }
    calls *= 2;
  }
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return NaN;
  return n & 1 ? s[n >> 1] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/** The q-quantile of xs, interpolated between the two nearest samples. */
export function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const i = (s.length - 1) * q;
  const lo = Math.floor(i);
  const hi = Math.ceil(i);
  return s[lo] + (s[hi] - s[lo]) * (i - lo);
}

export function fmtNs(ns: number): string {
  if (ns >= 100) return ns.toFixed(0);
  if (ns >= 10) return ns.toFixed(1);
  return ns.toFixed(2);
}

function goalReport(suite: string, c: CaseReport, g: Goal): GoalReport {
  let value: number;
  let measured: string;
  if (g.vs !== undefined) {
    value = g.vs === 'floor' ? c.ratioToFloor : c.ratios[g.vs];
    measured = `${value.toFixed(2)}x (${fmtNs(c.nsPerAccess)} ns/access)`;
  } else if (g.perOp) {
    value = c.nsPerOp;
    measured = value >= 1e6 ? `${(value / 1e6).toFixed(2)} ms/${c.op}` : `${(value / 1e3).toFixed(1)} µs/${c.op}`;
  } else {
    value = c.nsPerAccess;
    measured = `${fmtNs(value)} ns/access`;
  }
  return { suite, case: c.name, goal: g.text, measured, value, max: g.max, pass: value <= g.max };
}

/**
 * Measures the floor and `cases` round by round (see the top of this file), prints one line per
 * case, writes bench/results/<suite>.json and returns the report.
 */
export async function runSuite(suite: string, cases: BenchCase[]): Promise<SuiteReport> {
  const all = [floorCase(), ...cases];
  const names = new Set<string>();
  for (const c of all) {
    if (names.has(c.name)) throw new Error(`bench ${suite}: duplicate case name '${c.name}'`);
    if (!(c.accesses > 0)) throw new Error(`bench ${suite}: case '${c.name}' must perform at least one access`);
    names.add(c.name);
  }
  for (const c of all) for (const v of c.vs ?? []) if (!names.has(v)) throw new Error(`bench ${suite}: '${c.name}' compares with unknown case '${v}'`);
  console.log(`\n== ${suite} (${ROUNDS} rounds, ~${SAMPLE_MS} ms samples)`);
  const calls = all.map((c) => calibrate(c.fn));
  const times: number[][] = all.map(() => []); // CPU ns per access, per round
  const walls: number[][] = all.map(() => []); // wall-clock ns per access, per round
  const floorRatios: number[][] = all.map(() => []);
  for (let r = 0; r < ROUNDS; r++) {
    for (let i = 0; i < all.length; i++) {
      const f = sample(all[0].fn, calls[0]) / (calls[0] * all[0].accesses);
      const t = i === 0 ? f : sample(all[i].fn, calls[i]) / (calls[i] * all[i].accesses);
      times[i].push(t);
      walls[i].push(lastWallNs / (calls[i] * all[i].accesses));
      floorRatios[i].push(t / f);
    }
  }
  const reports: CaseReport[] = all.map((c, i) => {
    const ns = median(times[i]);
    const ratios: Record<string, number> = {};
    for (const v of c.vs ?? []) {
      const j = all.findIndex((x) => x.name === v);
      ratios[v] = median(times[i].map((t, r) => t / times[j][r]));
    }
    return {
      suite,
      name: c.name,
      op: c.op,
      accessesPerOp: c.accesses,
      nsPerOp: ns * c.accesses,
      nsPerAccess: ns,
      medianNsPerAccess: ns,
      ratioToFloor: i === 0 ? 1 : median(floorRatios[i]),
      wallNsPerAccess: median(walls[i]),
      ratios,
      rmePercent: (100 * (quantile(times[i], 0.75) - quantile(times[i], 0.25))) / ns,
      samples: ROUNDS,
      isFloor: i === 0,
    };
  });
  for (const c of reports) {
    const op = c.op === 'batch' ? '' : `  ${c.nsPerOp >= 1e6 ? (c.nsPerOp / 1e6).toFixed(2) + ' ms' : (c.nsPerOp / 1000).toFixed(1) + ' µs'}/${c.op}`;
    const vs = Object.entries(c.ratios).map(([k, v]) => `  ${v.toFixed(2)}x ${k}`).join('');
    console.log(`  ${c.name.padEnd(60)} ${fmtNs(c.nsPerAccess).padStart(8)} ns/access  ${c.ratioToFloor.toFixed(2).padStart(6)}x floor  iqr ${c.rmePercent.toFixed(0)}%${op}${vs}`);
  }
  const goals: GoalReport[] = [];
  all.forEach((c, i) => {
    for (const g of c.goals ?? []) goals.push(goalReport(suite, reports[i], g));
  });
  for (const g of goals) console.log(`  ${g.pass ? 'PASS' : 'MISS'}  ${g.goal}: ${g.measured}`);
  return { suite, floorNsPerAccess: reports[0].nsPerAccess, cases: reports, goals };
}

/** Writes a suite's report where run.ts collects it. */
export function saveReport(report: SuiteReport & Record<string, unknown>): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${report.suite}.json`);
  writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
  return file;
}

/** Throws when a pre-benchmark sanity check fails: a benchmark of wrong behaviour proves nothing. */
export function check(cond: boolean, what: string): void {
  if (!cond) throw new Error(`bench sanity check failed: ${what}`);
}

export function hex(n: number): string {
  return '0x' + (n >>> 0).toString(16);
}
