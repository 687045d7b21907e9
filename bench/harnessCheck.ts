// Opt-in (`npm run bench -- harnessCheck`): the same cases measured by tinybench and by this
// project's harness (bench/harness.ts), to show which reads lower at ns scale. Each case runs once as
// a batch of BATCH accesses per call and once as a single access per call, where a harness's own
// per-call cost (timestamps around every call, a callback) lands on the figure.
import { Bench } from 'tinybench';
import { Hardware } from '../src/hw/hardware.js';
import type { BenchCase, SuiteReport } from './harness.js';
import { BATCH, check, floorBatch, fmtNs, FLOOR_NAME, runSuite, sink } from './harness.js';

export const SUITE = 'harnessCheck';

interface Pair {
  name: string;
  accesses: number;
  fn: () => void;
}

export async function run(): Promise<SuiteReport> {
  const hw = new Hardware({ memoryBytes: 1 << 20 });
  const BDF = '0000:00:03.0';
  hw.addEndpoint(BDF, { vendorId: 0x8086, deviceId: 0x10d3, classCode: 0x020000 });
  check(hw.configRead(BDF, 0, 4) === 0x10d38086, 'ids');
  let k = 0;
  const pairs: Pair[] = [
    {
      name: 'hw.configRead dword, batch of 1024',
      accesses: BATCH,
      fn: () => {
        let acc = 0;
        for (let i = 0; i < BATCH; i++) acc = (acc + hw.configRead(BDF, (i & 15) << 2, 4)) | 0;
        sink.value ^= acc;
      },
    },
    {
      name: 'hw.configRead dword, one per call',
      accesses: 1,
      fn: () => {
        k = (k + 1) & 15;
        sink.value ^= hw.configRead(BDF, k << 2, 4);
      },
    },
  ];

  // tinybench: its own calibration, every call timed on its own
  const tb = new Bench({ time: 1000, warmupTime: 200 });
  tb.add(FLOOR_NAME, floorBatch);
  for (const p of pairs) tb.add(p.name, p.fn);
  await tb.run();
  const tiny = new Map<string, { mean: number; p50: number }>();
  for (const t of tb.tasks) {
    const r = t.result as { state: string; latency?: { mean: number; p50: number } };
    if (r.state !== 'completed' || !r.latency) throw new Error(`tinybench: ${t.name} did not complete (${r.state})`);
    const acc = t.name === FLOOR_NAME ? BATCH : pairs.find((p) => p.name === t.name)!.accesses;
    tiny.set(t.name, { mean: (r.latency.mean * 1e6) / acc, p50: (r.latency.p50 * 1e6) / acc });
  }

  const cases: BenchCase[] = pairs.map((p) => ({ name: p.name, accesses: p.accesses, op: 'batch', fn: p.fn }));
  const report = await runSuite(SUITE, cases);
  console.log('  -- the same cases, ns/access: this harness (median of rounds, CPU time) vs tinybench (mean, p50)');
  const tinyFloor = tiny.get(FLOOR_NAME)!;
  for (const c of report.cases) {
    const t = tiny.get(c.name)!;
    console.log(
      `  ${c.name.padEnd(40)} harness ${fmtNs(c.nsPerAccess).padStart(7)} (${c.ratioToFloor.toFixed(2)}x floor)   tinybench ${fmtNs(t.mean).padStart(7)} mean, ${fmtNs(t.p50).padStart(7)} p50 (${(t.mean / tinyFloor.mean).toFixed(2)}x floor)`,
    );
  }
  return { ...report, tinybench: Object.fromEntries(tiny) } as SuiteReport;
}
