// The port I/O and MMIO dispatch (a flat port table, the last-hit MMIO range, models called
// directly) answers exactly as the plain routing does: find the decoded range by a linear scan of
// hw.decodedRanges(), split a misaligned access into bytes, and hand it to PciFunction.barRead/
// barWrite. Random BAR moves, decode on/off, overlapping BARs, bridge windows, power states and
// removals are applied, and every probe must read the same value and make the same model calls.
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DeviceModel, EndpointSpec, Hardware, PciFunction } from '../../src/index.js';
import { CMD_IO, CMD_MEM, disposeHardware, hex, newHardware, programBar } from './helpers.js';

/** Records every access; reads answer (bar << 24 | offset) so the value shows where it landed. */
class Recorder implements DeviceModel {
  calls: string[] = [];
  barRead(_fn: PciFunction, bar: number, offset: number, size: 1 | 2 | 4): number {
    this.calls.push(`r${bar} ${hex(offset)}/${size}`);
    const v = ((bar << 24) | offset) >>> 0;
    return size === 4 ? v : v & (size === 2 ? 0xffff : 0xff);
  }
  barWrite(_fn: PciFunction, bar: number, offset: number, size: 1 | 2 | 4, value: number): void {
    this.calls.push(`w${bar} ${hex(offset)}/${size}=${hex(value)}`);
  }
}

const A = '0000:00:03.0';
const Bx = '0000:00:04.0';
const BR = '0000:00:1c.0';
const C = '0000:01:00.0';
const ENDPOINTS = [A, Bx, C];

const spec = (deviceId: number, msix: boolean): EndpointSpec => ({
  vendorId: 0x1af4,
  deviceId,
  classCode: 0x020000,
  bars: [{ kind: 'io', size: 0x100 }, { kind: 'mem32', size: 0x4000 }, { kind: 'mem64', size: 0x100000, prefetchable: true }, null, { kind: 'io', size: 0x20 }],
  romSize: 0x800,
  capabilities: msix ? [{ id: 'pm' }, { id: 'msix', vectors: 8, tableBar: 1, tableOffset: 0x2000, pbaBar: 1, pbaOffset: 0x3000 }] : [{ id: 'pm' }],
});

let hw: Hardware;
let log: string[];

async function build(): Promise<void> {
  hw = await newHardware();
  log = [];
  const rec = () => {
    const r = new Recorder();
    r.calls = log;
    return r;
  };
  hw.addFunction(A, spec(0x1000, true), rec());
  hw.addFunction(Bx, spec(0x1001, false), rec());
  hw.addBridge(BR, { secondaryBus: 1, portType: 'root' });
  hw.addFunction(C, spec(0x1002, true), rec());
}

beforeEach(build);
afterEach(() => disposeHardware(hw));

const ALL_ONES = [0, 0xff, 0xffff, 0, 0xffffffff];

/** The routing before dispatch tables: a linear scan of the decoded ranges, PciFunction's handlers. */
function reference(space: 'io' | 'mem', addr: number, size: 1 | 2 | 4, value?: number): number {
  const r = hw.decodedRanges(space).find((d) => d.base <= addr && addr < d.end);
  if (r === undefined || addr + size > r.end) return value === undefined ? ALL_ONES[size] : 0;
  const off = r.barOffset + (addr - r.base);
  if ((off & (size - 1)) === 0) {
    if (value === undefined) return r.fn.barRead(r.bar, off, size);
    r.fn.barWrite(r.bar, off, size, value);
    return 0;
  }
  let v = 0;
  for (let i = 0; i < size; i++) {
    if (value === undefined) v |= r.fn.barRead(r.bar, off + i, 1) << (8 * i);
    else r.fn.barWrite(r.bar, off + i, 1, (value >>> (8 * i)) & 0xff);
  }
  return v >>> 0;
}

/** One access both ways; returns what differs (empty when they agree). */
function agree(space: 'io' | 'mem', addr: number, size: 1 | 2 | 4, value?: number): string[] {
  log.length = 0;
  let got: number;
  if (space === 'io') {
    if (value === undefined) got = hw.ioRead(addr, size);
    else {
      hw.ioWrite(addr, size, value);
      got = 0;
    }
  } else if (value === undefined) got = hw.mmioRead(addr, size);
  else {
    hw.mmioWrite(addr, size, value);
    got = 0;
  }
  const gotCalls = log.splice(0);
  const want = reference(space, addr, size, value);
  const wantCalls = log.splice(0);
  const what = `${space} ${value === undefined ? 'read' : 'write'} ${hex(addr)}/${size}`;
  const out: string[] = [];
  if (got !== want) out.push(`${what}: ${hex(got)} vs ${hex(want)}`);
  if (gotCalls.join() !== wantCalls.join()) out.push(`${what}: calls ${gotCalls.join(' ')} vs ${wantCalls.join(' ')}`);
  return out;
}

/** Addresses around every decoded range (edges, straddles) plus fixed ones. */
function probes(space: 'io' | 'mem'): number[] {
  const out = space === 'io' ? [0, 0xc000, 0xfffc, 0xffff, 0x10000] : [0, 0xfe000000, 2 ** 32];
  for (const r of hw.decodedRanges(space)) {
    out.push(r.base, r.base + 1, r.base + 3, r.end - 4, r.end - 2, r.end - 1, r.end, Math.max(0, r.base - 2));
    // the MSI-X table's and PBA's edges, where the dispatch cuts a BAR
    const m = r.fn.msix;
    const barBase = r.base - r.barOffset;
    if (m !== null && m.tableBar === r.bar) for (const e of [m.tableOffset, m.tableOffset + m.tableBytes]) out.push(barBase + e - 2, barBase + e - 1, barBase + e);
    if (m !== null && m.pbaBar === r.bar) for (const e of [m.pbaOffset, m.pbaOffset + m.pbaBytes]) out.push(barBase + e - 2, barBase + e - 1, barBase + e);
  }
  // CF8-CFF belong to the config mechanism and the ECAM window to config space, not to BARs
  return space === 'io' ? out.filter((a) => a + 4 <= 0xcf8 || a >= 0xd00) : out.filter((a) => a + 4 <= hw.ecamBase || a >= hw.ecamBase + hw.ecamSize);
}

function checkAll(): string[] {
  const bad: string[] = [];
  for (const space of ['io', 'mem'] as const) {
    for (const addr of probes(space)) {
      for (const size of [1, 2, 4] as const) {
        if (addr + size > (space === 'io' ? 2 ** 32 : 2 ** 64)) continue;
        bad.push(...agree(space, addr, size), ...agree(space, addr, size, 0xa5c3f00f));
      }
    }
  }
  return bad;
}

const IO_ADDRS = [0xc000, 0xc010, 0xc100, 0xc180, 0xe000, 0xff00, 0xffe0, 0x1_0000, 0x2_0000];
const MEM_ADDRS = [0xfe000000, 0xfe002000, 0xfe004000, 0xfd000000, 0xfe100000, 0x4_0000_0000, 0xc000_0000];

type Op =
  | { k: 'bar'; f: number; bar: number; at: number }
  | { k: 'cmd'; f: number; v: number }
  | { k: 'window'; reg: number; size: 1 | 2 | 4; v: number }
  | { k: 'pm'; f: number; state: number }
  | { k: 'rom'; f: number; on: boolean }
  | { k: 'remove'; f: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ k: fc.constant('bar' as const), f: fc.nat(2), bar: fc.constantFrom(0, 1, 2, 4), at: fc.nat(20) }),
  fc.record({ k: fc.constant('cmd' as const), f: fc.nat(3), v: fc.constantFrom(0, CMD_IO, CMD_MEM, CMD_IO | CMD_MEM) }),
  fc.record({
    k: fc.constant('window' as const),
    reg: fc.constantFrom(0x1c, 0x1d, 0x20, 0x22, 0x24, 0x26, 0x28, 0x2c, 0x30, 0x32),
    size: fc.constant(1 as const),
    v: fc.nat(255),
  }),
  fc.record({
    k: fc.constant('window' as const),
    reg: fc.constantFrom(0x20, 0x22, 0x24, 0x26),
    size: fc.constant(2 as const),
    v: fc.constantFrom(0xfe00, 0xfe10, 0xfd00, 0xfff0, 0x0000, 0xc000),
  }),
  fc.record({ k: fc.constant('pm' as const), f: fc.nat(2), state: fc.constantFrom(0, 3) }),
  fc.record({ k: fc.constant('rom' as const), f: fc.nat(2), on: fc.boolean() }),
  fc.record({ k: fc.constant('remove' as const), f: fc.constantFrom(0, 1) }),
);

function apply(op: Op): void {
  const bdf = op.k === 'cmd' ? [A, Bx, C, BR][op.f] : op.k === 'window' ? BR : ENDPOINTS[op.f];
  if (!hw.functions().some((f) => f.bdf === bdf)) return;
  switch (op.k) {
    case 'bar': {
      const io = op.bar === 0 || op.bar === 4;
      const list = io ? IO_ADDRS : MEM_ADDRS;
      const at = list[op.at % list.length];
      if (op.bar === 2) programBar(hw, bdf, 2, at, true);
      else if (at < 2 ** 32) programBar(hw, bdf, op.bar, at);
      break;
    }
    case 'cmd':
      hw.configWrite(bdf, 0x04, 2, op.v);
      break;
    case 'window':
      hw.configWrite(bdf, op.reg, op.size, op.v);
      break;
    case 'pm':
      hw.configWrite(bdf, 0x44, 2, op.state); // PMCSR: the PM capability is first, at 0x40
      break;
    case 'rom':
      hw.configWrite(bdf, 0x30, 4, op.on ? 0xfe008001 : 0xfe008000);
      break;
    case 'remove':
      hw.removeFunction(bdf);
      break;
  }
}

describe('dispatch tables answer as the plain routing does', () => {
  it('BAR moves: the old address master-aborts, the new one reaches the model, in both spaces', () => {
    programBar(hw, A, 0, 0xc000);
    programBar(hw, A, 1, 0xfe000000);
    hw.configWrite(A, 0x04, 2, CMD_IO | CMD_MEM);
    expect(hw.ioRead(0xc004, 4)).toBe(0x00000004);
    expect(hw.mmioRead(0xfe000010, 4)).toBe(0x01000010);
    programBar(hw, A, 0, 0xc100);
    programBar(hw, A, 1, 0xfd000000);
    expect(hw.ioRead(0xc004, 4)).toBe(0xffffffff);
    expect(hw.mmioRead(0xfe000010, 4)).toBe(0xffffffff);
    expect(hw.ioRead(0xc104, 4)).toBe(0x00000004);
    expect(hw.mmioRead(0xfd000010, 4)).toBe(0x01000010);
    expect(checkAll()).toEqual([]);
  });

  it('decode off: clearing Command.IO or .MEM drops the ranges from the tables at once', () => {
    programBar(hw, A, 0, 0xc000);
    programBar(hw, A, 1, 0xfe000000);
    hw.configWrite(A, 0x04, 2, CMD_IO | CMD_MEM);
    expect(hw.ioRead(0xc000, 1)).toBe(0);
    hw.configWrite(A, 0x04, 2, CMD_MEM);
    expect(hw.ioRead(0xc000, 1)).toBe(0xff);
    expect(hw.mmioRead(0xfe000000, 2)).toBe(0);
    hw.configWrite(A, 0x04, 2, 0);
    expect(hw.mmioRead(0xfe000000, 2)).toBe(0xffff);
    expect(checkAll()).toEqual([]);
  });

  it('overlapping BARs: the function first in devfn order claims the overlap', () => {
    programBar(hw, A, 0, 0xc000); // 256 ports
    programBar(hw, A, 4, 0xd000);
    programBar(hw, Bx, 4, 0xc0e0); // 32 ports inside A's BAR0
    programBar(hw, Bx, 0, 0xc100); // right after it
    hw.configWrite(A, 0x04, 2, CMD_IO);
    hw.configWrite(Bx, 0x04, 2, CMD_IO);
    expect(hw.ioRead(0xc0f0, 4), "A's BAR0 claims the overlap").toBe(0x000000f0);
    expect(hw.ioRead(0xc100, 4), "Bx's BAR0").toBe(0x00000000);
    expect(hw.ioRead(0xc0fe, 4), 'straddles two claims: master abort').toBe(0xffffffff);
    expect(checkAll()).toEqual([]);
    programBar(hw, A, 0, 0xe000); // uncovers Bx's BAR4
    expect(hw.ioRead(0xc0f0, 4)).toBe(0x04000010);
    expect(checkAll()).toEqual([]);
  });

  it('bridge windows: a BAR behind a bridge decodes only inside the window it forwards', () => {
    programBar(hw, C, 1, 0xfe100000);
    programBar(hw, C, 0, 0xe000);
    hw.configWrite(C, 0x04, 2, CMD_IO | CMD_MEM);
    hw.configWrite(BR, 0x04, 2, CMD_IO | CMD_MEM);
    expect(hw.mmioRead(0xfe100000, 4), 'window closed').toBe(0xffffffff);
    hw.configWrite(BR, 0x20, 2, 0xfe10);
    hw.configWrite(BR, 0x22, 2, 0xfe10);
    expect(hw.mmioRead(0xfe100000, 4)).toBe(0x01000000);
    expect(hw.ioRead(0xe000, 4), 'I/O window closed').toBe(0xffffffff);
    hw.configWrite(BR, 0x1c, 1, 0xe0);
    hw.configWrite(BR, 0x1d, 1, 0xe0);
    expect(hw.ioRead(0xe000, 4)).toBe(0);
    hw.configWrite(BR, 0x04, 2, CMD_MEM);
    expect(hw.ioRead(0xe000, 4), 'bridge I/O forwarding off').toBe(0xffffffff);
    expect(checkAll()).toEqual([]);
  });

  it('MSI-X table and PBA inside a BAR still go to the function, the rest of the BAR to the model', () => {
    programBar(hw, A, 1, 0xfe000000);
    hw.configWrite(A, 0x04, 2, CMD_MEM);
    hw.mmioWrite(0xfe002000, 4, 0xfee00000); // vector 0 address
    expect(hw.mmioRead(0xfe002000, 4)).toBe(0xfee00000);
    expect(hw.mmioRead(0xfe00200c, 4), 'vector 0 masked at power-on').toBe(1);
    log.length = 0;
    expect(hw.mmioRead(0xfe001000, 4)).toBe(0x01001000);
    expect(log).toEqual(['r1 0x1000/4']);
    expect(checkAll()).toEqual([]);
  });

  it('I/O BARs above the 64 KiB port table take the sorted search', () => {
    programBar(hw, A, 0, 0x2_0000);
    programBar(hw, A, 4, 0xc000);
    hw.configWrite(A, 0x04, 2, CMD_IO);
    expect(hw.ioRead(0x2_0010, 4)).toBe(0x10);
    expect(hw.ioRead(0x10, 4)).toBe(0xffffffff);
    expect(checkAll()).toEqual([]);
  });

  it('random decode changes: every probe reads the same value and makes the same model calls', () => {
    return fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 25 }), async (ops) => {
        disposeHardware(hw);
        await build(); // a fresh machine per run
        for (const op of ops) {
          apply(op);
          const bad = checkAll();
          if (bad.length > 0) throw new Error(`after ${JSON.stringify(op)}: ${bad.slice(0, 5).join('; ')}`);
        }
      }),
      { numRuns: 60 },
    );
  });
});
