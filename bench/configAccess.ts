// Config dword reads and writes through every way in: the raw wasm exports, the TS view, the
// Hardware API by address, configuration mechanism #1 (CF8/CFC) and ECAM.
import { L } from '../src/core/wasm.js';
import { cf8Address, ecamOffset } from '../src/hw/configMechanism.js';
import { Hardware } from '../src/hw/hardware.js';
import type { BenchCase, SuiteReport } from './harness.js';
import { BATCH, check, hex, runSuite, sink } from './harness.js';

export const SUITE = 'configAccess';
export const CONFIG_READ_CASE = 'hw.configRead dword';
export const RAW_READ_CASE = 'raw.cfgRead (one JS->wasm call per read)';
export const HANDLE_READ_CASE = 'hw.handle(bdf).read dword (config by handle)';

/** Dword registers the read cases cycle through: the 64-byte type 0 header. */
const READ_REGS = 16;
/** Registers the write cases cycle through: Cache Line/Latency, BAR0-5, Interrupt Line (writable, no heavy side effects). */
const WRITE_REGS = [0x0c, 0x10, 0x14, 0x18, 0x1c, 0x20, 0x24, 0x3c];

export async function run(): Promise<SuiteReport> {
  const hw = new Hardware();
  const { raw, mem } = hw.core;
  hw.addBridge('0000:00:01.0', { secondaryBus: 1 });
  const spec = {
    vendorId: 0x8086,
    deviceId: 0x10d3,
    classCode: 0x020000,
    interruptPin: 1 as const,
    bars: [
      { kind: 'mem32' as const, size: 0x20000 },
      { kind: 'mem32' as const, size: 0x4000 },
      { kind: 'io' as const, size: 0x20 },
      { kind: 'mem32' as const, size: 0x1000 },
      { kind: 'mem32' as const, size: 0x1000 },
      { kind: 'mem32' as const, size: 0x1000 },
    ],
    capabilities: [{ id: 'pm' as const }, { id: 'msi' as const, vectors: 1 as const }, { id: 'pcie' as const }],
  };
  const BDF = '0000:01:00.0';
  const BDF2 = '0000:01:01.0';
  const f = hw.addEndpoint(BDF, spec);
  const f2 = hw.addEndpoint(BDF2, { ...spec, deviceId: 0x10d4 });
  const slot = f.slot;
  const handle = hw.handle(BDF);
  const bus = 1;
  const dev = 0;
  const fn = 0;

  const cf8 = new Uint32Array(READ_REGS);
  const ecam = new Float64Array(READ_REGS);
  for (let r = 0; r < READ_REGS; r++) {
    cf8[r] = cf8Address(bus, dev, fn, r << 2);
    ecam[r] = hw.ecamBase + ecamOffset(bus, dev, fn, r << 2);
  }
  const wregs = Uint16Array.from(WRITE_REGS);
  const wcf8 = Uint32Array.from(WRITE_REGS, (r) => cf8Address(bus, dev, fn, r));
  const wecam = Float64Array.from(WRITE_REGS, (r) => hw.ecamBase + ecamOffset(bus, dev, fn, r));
  const bdfs = [BDF, BDF2];

  // ---- sanity: every path reads the same registers, every write path lands ----
  for (let r = 0; r < READ_REGS; r++) {
    const off = r << 2;
    const want = hw.configRead(BDF, off, 4);
    check(f.configRead(off, 4) === want && handle.read(off, 4) === want, `TS view and handle read at ${hex(off)}`);
    check(raw.cfgRead(slot, off, 4) >>> 0 === want, `raw.cfgRead at ${hex(off)}`);
    check(hw.configCycle(bus, dev, fn, off, 4) === want, `configCycle at ${hex(off)}`);
    check(hw.mmioRead(ecam[r], 4) === want, `ECAM read at ${hex(off)}`);
    hw.ioWrite(0xcf8, 4, cf8[r]);
    check(hw.ioRead(0xcfc, 4) === want, `CF8/CFC read at ${hex(off)}`);
  }
  check(hw.configRead(BDF, 0, 4) === 0x10d38086 && hw.configRead(BDF2, 0, 4) === 0x10d48086, 'vendor/device ids');
  hw.configWrite(BDF, 0x3c, 4, 0x11);
  check((hw.configRead(BDF, 0x3c, 4) & 0xff) === 0x11, 'configWrite lands');
  hw.ioWrite(0xcf8, 4, cf8Address(bus, dev, fn, 0x3c));
  hw.ioWrite(0xcfc, 4, 0x22);
  check((f.configRead(0x3c, 4) & 0xff) === 0x22, 'CF8/CFC write lands');
  hw.mmioWrite(hw.ecamBase + ecamOffset(bus, dev, fn, 0x3c), 4, 0x33);
  check((f.configRead(0x3c, 4) & 0xff) === 0x33, 'ECAM write lands');
  hw.configWrite(BDF, 0x10, 4, 0xffffffff);
  check(hw.configRead(BDF, 0x10, 4) === 0xfffe0000, 'BAR0 sizing answers ~(size-1)');
  check(hw.configRead(BDF, 0x00, 4) === 0x10d38086, 'vendor/device are read-only');

  // the bulk export reads the same offset for every slot listed in SCRATCH
  const S = L.SCRATCH >> 2;
  const OUT = BATCH * 4; // byte offset of the results inside SCRATCH
  for (let i = 0; i < BATCH; i++) mem.u32[S + i] = slot;
  check(raw.cfgReadMany(BATCH, 0, 4, OUT) === BATCH && mem.u32[S + (OUT >> 2) + BATCH - 1] === 0x10d38086, 'raw.cfgReadMany');

  const cases: BenchCase[] = [
    {
      name: RAW_READ_CASE,
      accesses: BATCH,
      op: 'batch',
      fn: () => {
        let acc = 0;
        for (let i = 0; i < BATCH; i++) acc = (acc + raw.cfgRead(slot, (i & (READ_REGS - 1)) << 2, 4)) | 0;
        sink.value ^= acc;
      },
    },
    {
      name: 'raw.cfgReadMany (one call, 1024 reads in wasm)',
      accesses: BATCH,
      op: 'batch',
      fn: () => {
        // the slot list in SCRATCH was written once above; nothing else in this suite touches SCRATCH.
        // The results stay in SCRATCH; reading them back from TS is one typed-array load each (see the floor).
        raw.cfgReadMany(BATCH, 0, 4, OUT);
        sink.value ^= mem.u32[S + (OUT >> 2) + BATCH - 1];
      },
    },
    {
      name: 'PciFunction.configRead (TS view, no checks)',
      accesses: BATCH,
      op: 'batch',
      fn: () => {
        let acc = 0;
        for (let i = 0; i < BATCH; i++) acc = (acc + f.configRead((i & (READ_REGS - 1)) << 2, 4)) | 0;
        sink.value ^= acc;
      },
    },
    {
      name: HANDLE_READ_CASE,
      accesses: BATCH,
      op: 'batch',
      vs: [RAW_READ_CASE],
      goals: [
        { text: 'config dword read by handle within 2x of the JS->wasm call + load floor (raw.cfgRead)', vs: RAW_READ_CASE, max: 2 },
        { text: 'config dword read by handle within 3x of the typed-array floor', vs: 'floor', max: 3 },
      ],
      fn: () => {
        let acc = 0;
        for (let i = 0; i < BATCH; i++) acc = (acc + handle.read((i & (READ_REGS - 1)) << 2, 4)) | 0;
        sink.value ^= acc;
      },
    },
    {
      name: CONFIG_READ_CASE,
      accesses: BATCH,
      op: 'batch',
      goals: [{ text: 'hw.configRead dword within 3x of the typed-array floor', vs: 'floor', max: 3 }],
      fn: () => {
        let acc = 0;
        for (let i = 0; i < BATCH; i++) acc = (acc + hw.configRead(BDF, (i & (READ_REGS - 1)) << 2, 4)) | 0;
        sink.value ^= acc;
      },
    },
    {
      name: 'hw.configRead dword, 2 functions alternating',
      accesses: BATCH,
      op: 'batch',
      fn: () => {
        let acc = 0;
        for (let i = 0; i < BATCH; i++) acc = (acc + hw.configRead(bdfs[i & 1], ((i >> 1) & (READ_REGS - 1)) << 2, 4)) | 0;
        sink.value ^= acc;
      },
    },
    {
      name: 'hw.configCycle read (routing, no address decode)',
      accesses: BATCH,
      op: 'batch',
      fn: () => {
        let acc = 0;
        for (let i = 0; i < BATCH; i++) acc = (acc + hw.configCycle(bus, dev, fn, (i & (READ_REGS - 1)) << 2, 4)) | 0;
        sink.value ^= acc;
      },
    },
    {
      name: 'CF8/CFC read (ioWrite 0xcf8 + ioRead 0xcfc)',
      accesses: BATCH,
      op: 'batch',
      fn: () => {
        let acc = 0;
        for (let i = 0; i < BATCH; i++) {
          hw.ioWrite(0xcf8, 4, cf8[i & (READ_REGS - 1)]);
          acc = (acc + hw.ioRead(0xcfc, 4)) | 0;
        }
        sink.value ^= acc;
      },
    },
    {
      name: 'ECAM read (mmioRead)',
      accesses: BATCH,
      op: 'batch',
      fn: () => {
        let acc = 0;
        for (let i = 0; i < BATCH; i++) acc = (acc + hw.mmioRead(ecam[i & (READ_REGS - 1)], 4)) | 0;
        sink.value ^= acc;
      },
    },
    {
      name: 'raw.cfgWrite (one JS->wasm call per write)',
      accesses: BATCH,
      op: 'batch',
      fn: () => {
        let acc = 0;
        for (let i = 0; i < BATCH; i++) acc |= raw.cfgWrite(slot, wregs[i & 7], 4, i << 12);
        sink.value ^= acc;
      },
    },
    {
      name: 'hw.configWrite dword',
      accesses: BATCH,
      op: 'batch',
      fn: () => {
        for (let i = 0; i < BATCH; i++) hw.configWrite(BDF, wregs[i & 7], 4, i << 12);
      },
    },
    {
      name: 'CF8/CFC write (ioWrite 0xcf8 + ioWrite 0xcfc)',
      accesses: BATCH,
      op: 'batch',
      fn: () => {
        for (let i = 0; i < BATCH; i++) {
          hw.ioWrite(0xcf8, 4, wcf8[i & 7]);
          hw.ioWrite(0xcfc, 4, i << 12);
        }
      },
    },
    {
      name: 'ECAM write (mmioWrite)',
      accesses: BATCH,
      op: 'batch',
      fn: () => {
        for (let i = 0; i < BATCH; i++) hw.mmioWrite(wecam[i & 7], 4, i << 12);
      },
    },
  ];
  const report = await runSuite(SUITE, cases);
  // the write cases ran through the masks: vendor/device untouched, function 2 untouched
  check(hw.configRead(BDF, 0, 4) === 0x10d38086 && f2.configRead(0x10, 4) === 0, 'writes stayed in their registers');
  return report;
}
