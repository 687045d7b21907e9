// Shared benchmark harness: wraps benny so that every case runs a batch of accesses per benny
// iteration (so the harness's own per-call overhead does not swamp ns-level work), adds the floor case
// to every suite, and turns benny's mean time per op into ns per access and a ratio to that floor.
import benny from 'benny';
import { fileURLToPath } from 'node:url';

/** Accesses per benny iteration for the per-access cases. */
export const BATCH = 1024;

/** Where benny's per-suite JSON and our summary.json go (gitignored). */
export const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));

/** Seconds benny may spend sampling one case (env BENCH_MAX_TIME overrides). */
const MAX_TIME = Number(process.env.BENCH_MAX_TIME ?? 1.5);
const MIN_SAMPLES = 5;

/** Benchmarked code folds its results in here so the JIT cannot drop the work as dead. */
export const sink = { value: 0 };

export interface BenchCase {
  name: string;
  /** accesses one call of `fn` performs (BATCH for batched cases, reads per scan for a scan) */
  accesses: number;
  /** what one call of `fn` is, for the per-op column: 'batch', 'scan' ... */
  op: string;
  fn: () => void;
}

export interface CaseReport {
  suite: string;
  name: string;
  op: string;
  accessesPerOp: number;
  /** benny mean time per op (one call of fn), in ns */
  nsPerOp: number;
  nsPerAccess: number;
  /** from benny's median sample instead of the mean (steadier on a busy machine) */
  medianNsPerAccess: number;
  /** nsPerAccess / the floor's nsPerAccess in the same suite run */
  ratioToFloor: number;
  /** benny's relative margin of error, percent */
  rmePercent: number;
  samples: number;
  isFloor: boolean;
}

export interface SuiteReport {
  suite: string;
  floorNsPerAccess: number;
  cases: CaseReport[];
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

function floorBatch(): void {
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

function floorCase(): BenchCase {
  return { name: FLOOR_NAME, accesses: BATCH, op: 'batch', fn: floorBatch };
}

// ---- running a suite ---------------------------------------------------------------------------

export function fmtNs(ns: number): string {
  if (ns >= 100) return ns.toFixed(0);
  if (ns >= 10) return ns.toFixed(1);
  return ns.toFixed(2);
}

/**
 * Runs the floor and then `cases` as one benny suite, prints one line per case as it completes,
 * saves benny's JSON to bench/results/<suite>.json, and returns per-access numbers.
 */
export async function runSuite(suite: string, cases: BenchCase[]): Promise<SuiteReport> {
  const all = [floorCase(), ...cases];
  const names = new Set<string>();
  for (const c of all) {
    if (names.has(c.name)) throw new Error(`bench ${suite}: duplicate case name '${c.name}'`);
    if (!(c.accesses > 0)) throw new Error(`bench ${suite}: case '${c.name}' must perform at least one access`);
    names.add(c.name);
  }
  let floorNs = NaN;
  const options = { minSamples: MIN_SAMPLES, maxTime: MAX_TIME };
  console.log(`\n== ${suite}`);
  const summary = await benny.suite(
    suite,
    ...all.map((c) => benny.add(c.name, c.fn, options)),
    benny.cycle((r) => {
      const c = all.find((x) => x.name === r.name)!;
      const perAccess = (r.details.mean * 1e9) / c.accesses;
      if (c.name === FLOOR_NAME) floorNs = perAccess;
      const ratio = perAccess / floorNs;
      const op = c.op === 'scan' ? `  ${((r.details.mean * 1e9) / 1000).toFixed(1)} µs/scan` : '';
      console.log(`  ${c.name.padEnd(56)} ${fmtNs(perAccess).padStart(8)} ns/access  ${ratio.toFixed(2).padStart(6)}x floor  ±${r.margin.toFixed(1)}%${op}`);
      return undefined; // nothing for benny's log-update
    }),
    benny.save({ file: suite, folder: RESULTS_DIR, format: 'json', details: true }),
  );
  const reports: CaseReport[] = summary.results.map((r) => {
    const c = all.find((x) => x.name === r.name)!;
    const nsPerOp = r.details.mean * 1e9;
    return {
      suite,
      name: c.name,
      op: c.op,
      accessesPerOp: c.accesses,
      nsPerOp,
      nsPerAccess: nsPerOp / c.accesses,
      medianNsPerAccess: (r.details.median * 1e9) / c.accesses,
      ratioToFloor: 0,
      rmePercent: r.details.relativeMarginOfError,
      samples: r.samples,
      isFloor: c.name === FLOOR_NAME,
    };
  });
  const floor = reports.find((r) => r.isFloor)!;
  for (const r of reports) r.ratioToFloor = r.nsPerAccess / floor.nsPerAccess;
  return { suite, floorNsPerAccess: floor.nsPerAccess, cases: reports };
}

/** Throws when a pre-benchmark sanity check fails: a benchmark of wrong behaviour proves nothing. */
export function check(cond: boolean, what: string): void {
  if (!cond) throw new Error(`bench sanity check failed: ${what}`);
}

export function hex(n: number): string {
  return '0x' + (n >>> 0).toString(16);
}
