// MSI delivery (PCI 3.0 6.8.1, 6.8.3): address/data as programmed, the vector folded into the low
// Multiple Message Enable bits of the data, MME limited to MMC, per-vector masking with pending bits.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InterruptLog } from '../../src/index.js';
import type { Hardware, PciFunction } from '../../src/index.js';
import { newHardware, disposeHardware } from './helpers.js';

const BDF = '0000:00:07.0';
const CAP = 0x40;
const CTL = CAP + 2;
const ENABLE = 0x1;
const mme = (log2: number) => log2 << 4;

let hw: Hardware;
let log: InterruptLog;
beforeEach(async () => {
  hw = await newHardware();
  log = new InterruptLog();
  hw.setInterruptSink(log);
});
afterEach(() => disposeHardware(hw));

function addMsi(vectors: 1 | 2 | 4 | 8 | 16 | 32, is64: boolean, perVectorMask: boolean): PciFunction {
  return hw.addEndpoint(BDF, {
    vendorId: 0x8086,
    deviceId: 0x10d3,
    classCode: 0x020000,
    interruptPin: 1,
    capabilities: [{ id: 'msi', vectors, is64, perVectorMask }],
  });
}

/** Offsets of the data, mask and pending registers for a layout. */
function regs(is64: boolean) {
  return is64 ? { hi: CAP + 8, data: CAP + 0xc, mask: CAP + 0x10, pending: CAP + 0x14 } : { hi: -1, data: CAP + 8, mask: CAP + 0xc, pending: CAP + 0x10 };
}

function program(is64: boolean, addrLo: number, addrHi: number, data: number, control: number): void {
  const r = regs(is64);
  hw.configWrite(BDF, CAP + 4, 4, addrLo);
  if (is64) hw.configWrite(BDF, r.hi, 4, addrHi);
  hw.configWrite(BDF, r.data, 2, data);
  hw.configWrite(BDF, CTL, 2, control);
}

describe('address and data', () => {
  it.each([
    { is64: false, perVectorMask: false },
    { is64: true, perVectorMask: false },
    { is64: false, perVectorMask: true },
    { is64: true, perVectorMask: true },
  ])('64-bit=$is64 mask=$perVectorMask: one message with the programmed address and data', ({ is64, perVectorMask }) => {
    const f = addMsi(4, is64, perVectorMask);
    program(is64, 0xfee01004, 0x00000001, 0x4151, ENABLE);
    f.raiseMsi(0);
    expect(log.messages).toEqual([{ addressLo: 0xfee01004, addressHi: is64 ? 1 : 0, data: 0x4151, source: BDF }]);
  });

  it('signal() uses MSI when enabled, and the message reflects the registers at the time it is sent', () => {
    const f = addMsi(1, true, false);
    program(true, 0xfee00000, 0, 0x0030, ENABLE);
    f.signal(0);
    hw.configWrite(BDF, CAP + 0xc, 2, 0x0031);
    hw.configWrite(BDF, CAP + 8, 4, 0xabcd);
    f.signal(0);
    expect(log.messages.map((m) => [m.addressHi, m.data])).toEqual([
      [0, 0x30],
      [0xabcd, 0x31],
    ]);
    expect(hw.configRead(BDF, 0x06, 2) & 0x08, 'Status.Interrupt untouched').toBe(0);
  });

  it('disabled MSI sends nothing', () => {
    const f = addMsi(8, true, true);
    program(true, 0xfee00000, 0, 0x40, 0);
    for (let v = 0; v < 8; v++) f.raiseMsi(v);
    expect(log.messages).toEqual([]);
    // and nothing was left pending to be sent later
    expect(hw.configRead(BDF, regs(true).pending, 4)).toBe(0);
    hw.configWrite(BDF, CTL, 2, ENABLE | mme(3));
    expect(log.messages).toEqual([]);
  });
});

describe('multiple messages', () => {
  // (MMC vectors, MME log2, programmed data, vector) -> data sent: low MME bits carry the vector
  const cases: [1 | 2 | 4 | 8 | 16 | 32, number, number, number, number][] = [
    [8, 0, 0x4140, 0, 0x4140],
    [8, 1, 0x4140, 1, 0x4141],
    [8, 2, 0x4140, 3, 0x4143],
    [8, 3, 0x4148, 5, 0x414d],
    [8, 3, 0x41ff, 2, 0x41fa],
    [32, 5, 0x0060, 31, 0x007f],
    [32, 5, 0xffe0, 17, 0xfff1],
    [16, 4, 0x1234, 9, 0x1239],
  ];
  it.each(cases)('MMC %d, MME 2^%d, data %i, vector %d -> data %i', (vectors, log2, data, vector, expected) => {
    const f = addMsi(vectors, false, false);
    program(false, 0xfee00000, 0, data, ENABLE | mme(log2));
    expect((hw.configRead(BDF, CTL, 2) >> 4) & 7, 'MME as written').toBe(log2);
    f.raiseMsi(vector);
    expect(log.messages.map((m) => m.data)).toEqual([expected]);
    expect(hw.configRead(BDF, CAP + 8, 2), 'the register keeps what software wrote').toBe(data);
  });

  it.each([
    [1, 7, 0],
    [2, 3, 1],
    [4, 5, 2],
    [8, 4, 3],
    [16, 7, 4],
    [32, 6, 5],
    [32, 7, 5],
  ] as const)('MMC %d vectors: MME written %d reads back clamped to %d', (vectors, written, expected) => {
    const mmc = Math.log2(vectors);
    addMsi(vectors, true, false);
    hw.configWrite(BDF, CTL, 2, mme(written));
    const ctl = hw.configRead(BDF, CTL, 2);
    expect((ctl >> 4) & 7).toBe(expected);
    expect((ctl >> 1) & 7, 'MMC is read-only').toBe(mmc);
    // the clamp applies to byte writes as well
    hw.configWrite(BDF, CTL, 1, mme(written) | ENABLE);
    expect((hw.configRead(BDF, CTL, 2) >> 4) & 7).toBe(expected);
  });
});

describe('per-vector masking', () => {
  it.each([false, true])('64-bit=%s: masked vector sets its pending bit; unmask sends it exactly once', (is64) => {
    const r = regs(is64);
    const f = addMsi(8, is64, true);
    program(is64, 0xfee00000, 0, 0x4140, ENABLE | mme(3));
    hw.configWrite(BDF, r.mask, 4, 0b0010_0100); // vectors 2 and 5 masked
    f.raiseMsi(2);
    f.raiseMsi(2);
    f.raiseMsi(5);
    f.raiseMsi(1);
    expect(log.messages.map((m) => m.data), 'only the unmasked vector').toEqual([0x4141]);
    expect(hw.configRead(BDF, r.pending, 4)).toBe(0b0010_0100);
    // Pending Bits are read-only to software
    hw.configWrite(BDF, r.pending, 4, 0);
    hw.configWrite(BDF, r.pending, 4, 0xffffffff);
    expect(hw.configRead(BDF, r.pending, 4)).toBe(0b0010_0100);

    log.clear();
    hw.configWrite(BDF, r.mask, 4, 0b0010_0000); // unmask vector 2
    expect(log.messages.map((m) => m.data)).toEqual([0x4142]);
    expect(hw.configRead(BDF, r.pending, 4)).toBe(0b0010_0000);

    log.clear();
    hw.configWrite(BDF, r.mask, 4, 0b0010_0000); // same mask again: nothing new
    hw.configWrite(BDF, r.mask, 1, 0); // unmask vector 5 with a byte write
    hw.configWrite(BDF, r.mask, 4, 0);
    expect(log.messages.map((m) => m.data)).toEqual([0x4145]);
    expect(hw.configRead(BDF, r.pending, 4)).toBe(0);
  });

  it('a pending vector is sent with the address and data current at unmask time', () => {
    const r = regs(true);
    const f = addMsi(4, true, true);
    program(true, 0xfee00000, 0, 0x20, ENABLE | mme(2));
    hw.configWrite(BDF, r.mask, 4, 0xf);
    f.raiseMsi(3);
    hw.configWrite(BDF, CAP + 4, 4, 0xfee0f000);
    hw.configWrite(BDF, r.hi, 4, 7);
    hw.configWrite(BDF, r.data, 2, 0x80);
    expect(log.messages).toEqual([]);
    hw.configWrite(BDF, r.mask, 4, 0);
    expect(log.messages).toEqual([{ addressLo: 0xfee0f000, addressHi: 7, data: 0x83, source: BDF }]);
  });

  it('mask bits beyond Multiple Message Capable are reserved (read 0)', () => {
    addMsi(4, false, true);
    hw.configWrite(BDF, regs(false).mask, 4, 0xffffffff);
    expect(hw.configRead(BDF, regs(false).mask, 4)).toBe(0xf);
  });
});
