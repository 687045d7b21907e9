// A firmware-style enumeration of a 256-function topology: for every bus reached, every device and
// (for multi-function devices) every function, read vendor/device, then for each present function the
// header type, class, status, the capability chain and (PCIe) the extended capability chain, and
// descend through bridges. Timed per whole scan; "per access" divides by the config reads it made.
import { L } from '../src/core/wasm.js';
import { Hardware } from '../src/hw/hardware.js';
import type { EndpointSpec } from '../src/hw/spec.js';
import type { BenchCase, SuiteReport } from './harness.js';
import { check, runSuite } from './harness.js';

export const SUITE = 'scan';
export const SCAN_CASE = 'scan 256 fns via ECAM (mmioRead)';
export const FUNCTIONS = 256;

const ROOT_PORTS = 16; // 00:01.0 .. 00:10.0, buses 1..16 behind them
// behind each root port: device 0 with 8 functions, devices 1-7 single-function = 15 functions
const FULL: EndpointSpec = {
  vendorId: 0x8086,
  deviceId: 0x1572,
  classCode: 0x020000,
  interruptPin: 1,
  bars: [{ kind: 'mem64', size: 0x4000 }, null, { kind: 'mem32', size: 0x1000 }],
  capabilities: [
    { id: 'pm' },
    { id: 'msi', vectors: 4, is64: true },
    { id: 'msix', vectors: 16, tableBar: 0, tableOffset: 0, pbaBar: 0, pbaOffset: 0x2000 },
    { id: 'pcie' },
  ],
  extendedCapabilities: [{ id: 'aer' }, { id: 'dsn', serial: 0x0123456789abcdefn }],
};
const SMALL: EndpointSpec = {
  vendorId: 0x1b36,
  deviceId: 0x0010,
  classCode: 0x010802,
  bars: [{ kind: 'mem32', size: 0x4000 }],
  capabilities: [{ id: 'pm' }, { id: 'pcie' }],
  extendedCapabilities: [{ id: 'aer' }],
};

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

export function buildTopology(): Hardware {
  const hw = new Hardware();
  for (let p = 0; p < ROOT_PORTS; p++) {
    const sec = p + 1;
    hw.addBridge(`0000:00:${hex2(p + 1)}.0`, { secondaryBus: sec });
    for (let fn = 0; fn < 8; fn++) hw.addEndpoint(`0000:${hex2(sec)}:00.${fn}`, fn & 1 ? SMALL : FULL);
    for (let dev = 1; dev < 8; dev++) hw.addEndpoint(`0000:${hex2(sec)}:${hex2(dev)}.0`, dev & 1 ? FULL : SMALL);
  }
  return hw;
}

/** What a scan saw: config reads made, functions found, and a digest of ids, classes and capability ids. */
export interface ScanStats {
  reads: number;
  found: number;
  digest: number;
}

const busStack = new Int32Array(256);

/** The scan through ECAM: every config read is one hw.mmioRead of a dword. */
export function scanEcam(hw: Hardware, st: ScanStats): void {
  const eb = hw.ecamBase;
  const stack = busStack;
  let sp = 0;
  let reads = 0;
  let found = 0;
  let digest = 0;
  stack[sp++] = 0;
  while (sp > 0) {
    const bus = stack[--sp];
    for (let dev = 0; dev < 32; dev++) {
      for (let fn = 0; fn < 8; fn++) {
        const a = eb + ((bus << 20) | (dev << 15) | (fn << 12));
        const id = hw.mmioRead(a, 4);
        reads++;
        if (id === 0xffffffff) {
          if (fn === 0) break;
          continue;
        }
        found++;
        const hdr = (hw.mmioRead(a + 0x0c, 4) >>> 16) & 0xff;
        const cls = hw.mmioRead(a + 0x08, 4) >>> 8;
        const status = hw.mmioRead(a + 0x04, 4) >>> 16;
        reads += 3;
        digest = (Math.imul(digest, 31) + id + cls) | 0;
        let pcie = false;
        if (status & 0x10) {
          let ptr = hw.mmioRead(a + 0x34, 4) & 0xfc;
          reads++;
          for (let ttl = 48; ptr >= 0x40 && ttl > 0; ttl--) {
            const d = hw.mmioRead(a + ptr, 4);
            reads++;
            if ((d & 0xff) === 0x10) pcie = true;
            digest = (Math.imul(digest, 31) + (d & 0xff)) | 0;
            ptr = (d >>> 8) & 0xfc;
          }
        }
        if (pcie) {
          let off = 0x100;
          for (let ttl = 960; off >= 0x100 && ttl > 0; ttl--) {
            const d = hw.mmioRead(a + off, 4);
            reads++;
            if (d === 0 || d === 0xffffffff) break;
            digest = (Math.imul(digest, 31) + (d & 0xffff)) | 0;
            off = (d >>> 20) & 0xffc;
          }
        }
        if ((hdr & 0x7f) === 1) {
          const sec = (hw.mmioRead(a + 0x18, 4) >>> 8) & 0xff;
          reads++;
          if (sec !== 0) stack[sp++] = sec;
        }
        if (fn === 0 && (hdr & 0x80) === 0) break;
      }
    }
  }
  st.reads = reads;
  st.found = found;
  st.digest = digest;
}

/**
 * The legacy scan through configuration mechanism #1: each config read is an ioWrite of
 * CONFIG_ADDRESS plus an ioRead of CONFIG_DATA. CF8 reaches only the first 256 bytes, so there is no
 * extended-capability walk (fewer reads per scan than ECAM).
 */
function scanCf8(hw: Hardware, st: ScanStats): void {
  const stack = busStack;
  let sp = 0;
  let reads = 0;
  let found = 0;
  let digest = 0;
  stack[sp++] = 0;
  while (sp > 0) {
    const bus = stack[--sp];
    for (let dev = 0; dev < 32; dev++) {
      for (let fn = 0; fn < 8; fn++) {
        const a = (0x80000000 | (bus << 16) | (dev << 11) | (fn << 8)) >>> 0;
        hw.ioWrite(0xcf8, 4, a);
        const id = hw.ioRead(0xcfc, 4);
        reads++;
        if (id === 0xffffffff) {
          if (fn === 0) break;
          continue;
        }
        found++;
        hw.ioWrite(0xcf8, 4, a + 0x0c);
        const hdr = (hw.ioRead(0xcfc, 4) >>> 16) & 0xff;
        hw.ioWrite(0xcf8, 4, a + 0x08);
        const cls = hw.ioRead(0xcfc, 4) >>> 8;
        hw.ioWrite(0xcf8, 4, a + 0x04);
        const status = hw.ioRead(0xcfc, 4) >>> 16;
        reads += 3;
        digest = (Math.imul(digest, 31) + id + cls) | 0;
        if (status & 0x10) {
          hw.ioWrite(0xcf8, 4, a + 0x34);
          let ptr = hw.ioRead(0xcfc, 4) & 0xfc;
          reads++;
          for (let ttl = 48; ptr >= 0x40 && ttl > 0; ttl--) {
            hw.ioWrite(0xcf8, 4, a + ptr);
            const d = hw.ioRead(0xcfc, 4);
            reads++;
            digest = (Math.imul(digest, 31) + (d & 0xff)) | 0;
            ptr = (d >>> 8) & 0xfc;
          }
        }
        if ((hdr & 0x7f) === 1) {
          hw.ioWrite(0xcf8, 4, a + 0x18);
          const sec = (hw.ioRead(0xcfc, 4) >>> 8) & 0xff;
          reads++;
          if (sec !== 0) stack[sp++] = sec;
        }
        if (fn === 0 && (hdr & 0x80) === 0) break;
      }
    }
  }
  st.reads = reads;
  st.found = found;
  st.digest = digest;
}

// byte offsets inside SCRATCH for the bulk scan: slot list at 0, then one 1 KiB result area per register
const OUT_ID = 0x400;
const OUT_HDR = 0x800;
const OUT_CLS = 0xc00;
const OUT_STS = 0x1000;
const OUT_CAP = 0x1400;
const presentSlot = new Int32Array(256);
const presentDevfn = new Int32Array(256);
const presentId = new Uint32Array(256);

/**
 * The same scan with the fixed-offset reads done by the wasm bulk export: per bus, the TS side puts
 * the slot of each of the 256 devfns into SCRATCH (-1 for none), one raw.cfgReadMany reads
 * vendor/device of all 256, then four more read header, class, status and capability pointer of the
 * present functions. The capability walks chase per-function pointers, so they stay one raw.cfgRead
 * per read. `probe` chooses how the devfn -> slot list is made: true probes all 256 devfns with
 * bus.functions.get (what a config cycle's routing does per devfn); false fills the list from the
 * present functions (bus.functions.values()), which is what a routing table kept as an array would
 * give for free.
 */
function scanBulk(hw: Hardware, st: ScanStats, probe: boolean): void {
  const { raw, mem } = hw.core;
  const S = L.SCRATCH >> 2;
  const u32 = mem.u32; // the scan allocates nothing in wasm memory, so the view stays valid
  const stack = busStack;
  let sp = 0;
  let reads = 0;
  let found = 0;
  let digest = 0;
  stack[sp++] = 0;
  while (sp > 0) {
    const busNo = stack[--sp];
    const bus = hw.routeBus(busNo);
    if (bus === null) continue;
    const fns = bus.functions;
    if (probe) {
      for (let devfn = 0; devfn < 256; devfn++) {
        const f = fns.get(devfn);
        u32[S + devfn] = f === undefined ? 0xffffffff : f.slot;
      }
    } else {
      u32.fill(0xffffffff, S, S + 256);
      for (const f of fns.values()) u32[S + f.devfn] = f.slot;
    }
    raw.cfgReadMany(256, 0x00, 4, OUT_ID);
    reads += 256;
    let k = 0;
    for (let devfn = 0; devfn < 256; devfn++) {
      const id = u32[S + (OUT_ID >> 2) + devfn];
      if (id === 0xffffffff) continue;
      presentSlot[k] = u32[S + devfn];
      presentDevfn[k] = devfn;
      presentId[k] = id;
      k++;
    }
    for (let i = 0; i < k; i++) u32[S + i] = presentSlot[i];
    raw.cfgReadMany(k, 0x0c, 4, OUT_HDR);
    raw.cfgReadMany(k, 0x08, 4, OUT_CLS);
    raw.cfgReadMany(k, 0x04, 4, OUT_STS);
    raw.cfgReadMany(k, 0x34, 4, OUT_CAP);
    reads += 4 * k;
    let curDev = -1; // device whose function 0 is present
    let curMulti = false; // ... and says it is multi-function
    for (let i = 0; i < k; i++) {
      const devfn = presentDevfn[i];
      const hdr = (u32[S + (OUT_HDR >> 2) + i] >>> 16) & 0xff;
      if ((devfn & 7) === 0) {
        curDev = devfn >> 3;
        curMulti = (hdr & 0x80) !== 0;
      } else if (curDev !== devfn >> 3 || !curMulti) {
        continue; // as firmware does: no function 0, or function 0 is single-function
      }
      found++;
      const slot = presentSlot[i];
      const cls = u32[S + (OUT_CLS >> 2) + i] >>> 8;
      const status = u32[S + (OUT_STS >> 2) + i] >>> 16;
      digest = (Math.imul(digest, 31) + presentId[i] + cls) | 0;
      let pcie = false;
      if (status & 0x10) {
        let ptr = u32[S + (OUT_CAP >> 2) + i] & 0xfc;
        for (let ttl = 48; ptr >= 0x40 && ttl > 0; ttl--) {
          const d = raw.cfgRead(slot, ptr, 4);
          reads++;
          if ((d & 0xff) === 0x10) pcie = true;
          digest = (Math.imul(digest, 31) + (d & 0xff)) | 0;
          ptr = (d >>> 8) & 0xfc;
        }
      }
      if (pcie) {
        let off = 0x100;
        for (let ttl = 960; off >= 0x100 && ttl > 0; ttl--) {
          const d = raw.cfgRead(slot, off, 4);
          reads++;
          if (d === 0 || d === -1) break;
          digest = (Math.imul(digest, 31) + (d & 0xffff)) | 0;
          off = (d >>> 20) & 0xffc;
        }
      }
      if ((hdr & 0x7f) === 1) {
        const sec = (raw.cfgRead(slot, 0x18, 4) >>> 8) & 0xff;
        reads++;
        if (sec !== 0) stack[sp++] = sec;
      }
    }
  }
  st.reads = reads;
  st.found = found;
  st.digest = digest;
}

export async function run(): Promise<SuiteReport> {
  const hw = buildTopology();
  check(hw.functions().length === FUNCTIONS, `topology has ${FUNCTIONS} functions`);

  const ecam: ScanStats = { reads: 0, found: 0, digest: 0 };
  const cf8: ScanStats = { reads: 0, found: 0, digest: 0 };
  const bulk: ScanStats = { reads: 0, found: 0, digest: 0 };
  const bulk2: ScanStats = { reads: 0, found: 0, digest: 0 };
  scanEcam(hw, ecam);
  scanCf8(hw, cf8);
  scanBulk(hw, bulk, true);
  scanBulk(hw, bulk2, false);
  check(ecam.found === FUNCTIONS, `ECAM scan found ${ecam.found} functions, want ${FUNCTIONS}`);
  check(cf8.found === FUNCTIONS, `CF8 scan found ${cf8.found} functions, want ${FUNCTIONS}`);
  check(bulk.found === FUNCTIONS, `bulk scan found ${bulk.found} functions, want ${FUNCTIONS}`);
  check(bulk.digest === ecam.digest, 'bulk scan saw the same ids, classes and capabilities as the ECAM scan');
  check(bulk2.found === FUNCTIONS && bulk2.digest === ecam.digest && bulk2.reads === bulk.reads, 'bulk scan from the present list saw the same');
  console.log(`\n  config reads per scan: ECAM ${ecam.reads}, CF8/CFC ${cf8.reads} (each one ioWrite + ioRead), bulk ${bulk.reads} (5 raw.cfgReadMany calls per bus + one raw.cfgRead per capability read)`);

  const st: ScanStats = { reads: 0, found: 0, digest: 0 };
  const cases: BenchCase[] = [
    { name: SCAN_CASE, accesses: ecam.reads, op: 'scan', fn: () => scanEcam(hw, st), goals: [{ text: `${FUNCTIONS}-function scan under 1 ms`, max: 1e6, perOp: true }] },
    { name: 'scan 256 fns via CF8/CFC (no ext caps)', accesses: cf8.reads, op: 'scan', fn: () => scanCf8(hw, st) },
    { name: 'scan 256 fns, cfgReadMany bulk, probe 256 devfn/bus', accesses: bulk.reads, op: 'scan', fn: () => scanBulk(hw, st, true) },
    { name: 'scan 256 fns, cfgReadMany bulk, slot list from bus', accesses: bulk.reads, op: 'scan', fn: () => scanBulk(hw, st, false) },
  ];
  const report = await runSuite(SUITE, cases);
  check(st.found === FUNCTIONS, 'scans still find every function after the run');
  return report;
}
