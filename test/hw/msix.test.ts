// MSI-X (PCI 3.0 6.8.2): the table and PBA live in a memory BAR and are reached by MMIO; Function
// Mask and per-vector Mask hold messages back as pending bits; unmasking sends each pending vector
// once; nothing is sent or pended while MSI-X is disabled; the PBA is read-only.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InterruptLog } from '../../src/index.js';
import type { CapabilitySpec, Hardware, PciFunction } from '../../src/index.js';
import { CMD_MEM, newHardware, programBar, disposeHardware } from './helpers.js';

const BDF = '0000:00:08.0';
const CAP = 0x40;
const CTL = CAP + 2;
const ENABLE = 0x8000;
const FUNCTION_MASK = 0x4000;
const VECTORS = 70; // two PBA qwords

let hw: Hardware;
let log: InterruptLog;
let f: PciFunction;
let table: number;
let pba: number;

interface Layout {
  name: string;
  msix: Extract<CapabilitySpec, { id: 'msix' }>;
  /** BAR index -> address */
  place: Record<number, number>;
}

const layouts: Layout[] = [
  {
    name: 'table and PBA in one mem32 BAR',
    msix: { id: 'msix', vectors: VECTORS, tableBar: 0, tableOffset: 0, pbaBar: 0, pbaOffset: 0x2000 },
    place: { 0: 0xfebf0000 },
  },
  {
    name: 'table in a mem64 BAR above 4 GiB, PBA in a mem32 BAR',
    msix: { id: 'msix', vectors: VECTORS, tableBar: 2, tableOffset: 0x1000, pbaBar: 0, pbaOffset: 0x3ff0 },
    place: { 0: 0xfebf0000, 2: 0x8_0000_0000 },
  },
];

async function setup(l: Layout): Promise<void> {
  hw = await newHardware();
  log = new InterruptLog();
  hw.setInterruptSink(log);
  f = hw.addEndpoint(BDF, {
    vendorId: 0x15b3,
    deviceId: 0x101e,
    classCode: 0x020000,
    interruptPin: 1,
    bars: [{ kind: 'mem32', size: 0x4000 }, null, { kind: 'mem64', size: 0x4000, prefetchable: true }, null],
    capabilities: [l.msix, { id: 'pcie' }],
  });
  for (const [bar, addr] of Object.entries(l.place)) programBar(hw, BDF, Number(bar), addr, Number(bar) === 2);
  hw.configWrite(BDF, 0x04, 2, CMD_MEM);
  table = l.place[l.msix.tableBar] + l.msix.tableOffset;
  pba = l.place[l.msix.pbaBar] + l.msix.pbaOffset;
}

const entry = (v: number) => table + 16 * v;
function setEntry(v: number, addrLo: number, addrHi: number, data: number, masked: boolean): void {
  hw.mmioWrite(entry(v), 4, addrLo);
  hw.mmioWrite(entry(v) + 4, 4, addrHi);
  hw.mmioWrite(entry(v) + 8, 4, data);
  hw.mmioWrite(entry(v) + 12, 4, masked ? 1 : 0);
}
const pbaBits = () => (BigInt(hw.mmioRead(pba + 12, 4)) << 96n) | (BigInt(hw.mmioRead(pba + 8, 4)) << 64n) | (BigInt(hw.mmioRead(pba + 4, 4)) << 32n) | BigInt(hw.mmioRead(pba, 4));
const bits = (...v: number[]) => v.reduce((a, b) => a | (1n << BigInt(b)), 0n);
const dataSent = () => log.messages.map((m) => m.data);

describe.each(layouts)('$name', (l) => {
  beforeEach(() => setup(l));
  afterEach(() => disposeHardware(hw));

  it('power-on table: every entry zero and masked; PBA clear; Table Size = N-1', () => {
    expect(hw.configRead(BDF, CTL, 2)).toBe(VECTORS - 1);
    for (let v = 0; v < VECTORS; v++) {
      expect([0, 4, 8, 12].map((o) => hw.mmioRead(entry(v) + o, 4)), `entry ${v}`).toEqual([0, 0, 0, 1]);
    }
    expect(pbaBits()).toBe(0n);
  });

  it('table entries are read and written through the BAR with dword and qword-half accesses', () => {
    setEntry(0, 0xfee00000, 0, 0x4021, true);
    setEntry(VECTORS - 1, 0xfee3f00c, 0x12345678, 0xdeadbeef, false);
    expect([0, 4, 8, 12].map((o) => hw.mmioRead(entry(0) + o, 4))).toEqual([0xfee00000, 0, 0x4021, 1]);
    expect([0, 4, 8, 12].map((o) => hw.mmioRead(entry(VECTORS - 1) + o, 4))).toEqual([0xfee3f00c, 0x12345678, 0xdeadbeef, 0]);
    // neighbours untouched
    expect([0, 4, 8, 12].map((o) => hw.mmioRead(entry(1) + o, 4))).toEqual([0, 0, 0, 1]);
  });

  it('nothing is sent or pended while MSI-X is disabled', () => {
    setEntry(3, 0xfee00000, 0, 0x33, false);
    setEntry(4, 0xfee00000, 0, 0x44, true);
    f.raiseMsix(3);
    f.raiseMsix(4);
    expect(log.messages).toEqual([]);
    expect(pbaBits()).toBe(0n);
    hw.configWrite(BDF, CTL, 2, ENABLE);
    hw.mmioWrite(entry(4) + 12, 4, 0);
    expect(log.messages).toEqual([]);
  });

  it('an unmasked vector of an enabled function is sent with its entry', () => {
    hw.configWrite(BDF, CTL, 2, ENABLE);
    setEntry(3, 0xfee01000, 0x1, 0x4031, false);
    setEntry(65, 0xfee02000, 0, 0x4065, false);
    f.raiseMsix(3);
    f.signal(65);
    expect(log.messages).toEqual([
      { addressLo: 0xfee01000, addressHi: 1, data: 0x4031, source: BDF },
      { addressLo: 0xfee02000, addressHi: 0, data: 0x4065, source: BDF },
    ]);
    expect(pbaBits()).toBe(0n);
  });

  it('Function Mask pends every vector; clearing it sends each pending vector exactly once, in vector order', () => {
    hw.configWrite(BDF, CTL, 2, ENABLE | FUNCTION_MASK);
    for (const v of [1, 40, 65]) setEntry(v, 0xfee00000, 0, 0x100 + v, false);
    f.raiseMsix(65);
    f.raiseMsix(40);
    f.raiseMsix(1);
    f.raiseMsix(40);
    expect(log.messages).toEqual([]);
    expect(pbaBits()).toBe(bits(1, 40, 65));
    hw.configWrite(BDF, CTL, 2, ENABLE);
    expect(dataSent()).toEqual([0x101, 0x128, 0x141]);
    expect(pbaBits()).toBe(0n);
    hw.configWrite(BDF, CTL, 2, ENABLE);
    hw.configWrite(BDF, CTL, 2, ENABLE | FUNCTION_MASK);
    hw.configWrite(BDF, CTL, 2, ENABLE);
    expect(dataSent(), 'no replays').toEqual([0x101, 0x128, 0x141]);
  });

  it('per-vector Mask pends the vector; unmasking through the table sends it exactly once', () => {
    hw.configWrite(BDF, CTL, 2, ENABLE);
    setEntry(5, 0xfee00000, 0, 0x55, true);
    setEntry(6, 0xfee00000, 0, 0x66, false);
    f.raiseMsix(5);
    f.raiseMsix(6);
    expect(dataSent()).toEqual([0x66]);
    expect(pbaBits()).toBe(bits(5));
    // a write that leaves the mask set changes nothing
    hw.mmioWrite(entry(5) + 8, 4, 0x56);
    hw.mmioWrite(entry(5) + 12, 4, 1);
    expect(dataSent()).toEqual([0x66]);
    hw.mmioWrite(entry(5) + 12, 4, 0);
    expect(dataSent(), 'sent with the data current at unmask').toEqual([0x66, 0x56]);
    expect(pbaBits()).toBe(0n);
    hw.mmioWrite(entry(5) + 12, 4, 1);
    hw.mmioWrite(entry(5) + 12, 4, 0);
    expect(dataSent()).toEqual([0x66, 0x56]);
  });

  it('a vector masked both ways waits for both masks to clear', () => {
    hw.configWrite(BDF, CTL, 2, ENABLE | FUNCTION_MASK);
    setEntry(9, 0xfee00000, 0, 0x99, true);
    f.raiseMsix(9);
    hw.configWrite(BDF, CTL, 2, ENABLE);
    expect(log.messages).toEqual([]);
    expect(pbaBits()).toBe(bits(9));
    hw.mmioWrite(entry(9) + 12, 4, 0);
    expect(dataSent()).toEqual([0x99]);
  });

  it('disabling MSI-X sends nothing; pending vectors wait for enable and unmask', () => {
    hw.configWrite(BDF, CTL, 2, ENABLE | FUNCTION_MASK);
    setEntry(2, 0xfee00000, 0, 0x22, false);
    f.raiseMsix(2);
    hw.configWrite(BDF, CTL, 2, FUNCTION_MASK);
    hw.configWrite(BDF, CTL, 2, 0);
    expect(log.messages).toEqual([]);
    hw.configWrite(BDF, CTL, 2, ENABLE);
    expect(dataSent()).toEqual([0x22]);
  });

  it('the PBA is read-only', () => {
    hw.configWrite(BDF, CTL, 2, ENABLE | FUNCTION_MASK);
    f.raiseMsix(0);
    f.raiseMsix(69);
    hw.mmioWrite(pba, 4, 0);
    hw.mmioWrite(pba + 4, 4, 0xffffffff);
    hw.mmioWrite(pba + 8, 4, 0);
    hw.mmioWrite(pba + 8, 1, 0xff);
    expect(pbaBits()).toBe(bits(0, 69));
  });

  it('with Memory Space disabled the table reads all-ones and ignores writes', () => {
    hw.configWrite(BDF, 0x04, 2, 0);
    expect(hw.mmioRead(entry(0), 4)).toBe(0xffffffff);
    hw.mmioWrite(entry(0) + 8, 4, 0x1234);
    hw.mmioWrite(entry(0) + 12, 4, 0);
    hw.configWrite(BDF, 0x04, 2, CMD_MEM);
    expect([0, 4, 8, 12].map((o) => hw.mmioRead(entry(0) + o, 4))).toEqual([0, 0, 0, 1]);
  });
});
