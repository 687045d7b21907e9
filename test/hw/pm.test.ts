// Power management (PCI PM 1.2): PowerState in PMCSR, unsupported states ignored, D3hot stops BAR
// decode and interrupts while config space keeps answering, D3hot->D0 resets unless No_Soft_Reset.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InterruptLog } from '../../src/index.js';
import type { EndpointSpec, Hardware, PciFunction } from '../../src/index.js';
import { CMD_IO, CMD_MASTER, CMD_MEM, newHardware, programBar, disposeHardware } from './helpers.js';

const BDF = '0000:00:09.0';
const PM = 0x40;
const PMCSR = PM + 4;
const MSI = 0x48;
const MEM = 0xfe000000;
const IO = 0xc000;

const spec = (noSoftReset: boolean): EndpointSpec => ({
  vendorId: 0x10ec,
  deviceId: 0x8168,
  classCode: 0x020000,
  interruptPin: 1,
  bars: [{ kind: 'io', size: 0x100 }, null, { kind: 'mem32', size: 0x1000 }],
  capabilities: [{ id: 'pm', noSoftReset }, { id: 'msi', vectors: 1, is64: true }],
});

let hw: Hardware;
let log: InterruptLog;
let f: PciFunction;

function setup(noSoftReset: boolean): void {
  f = hw.addEndpoint(BDF, spec(noSoftReset));
  programBar(hw, BDF, 0, IO);
  programBar(hw, BDF, 2, MEM);
  hw.configWrite(BDF, 0x3c, 1, 11);
  hw.configWrite(BDF, 0x04, 2, CMD_IO | CMD_MEM | CMD_MASTER);
  hw.mmioWrite(MEM + 0x10, 4, 0xcafef00d);
  hw.ioWrite(IO + 4, 2, 0x5a5a);
}
const state = () => hw.configRead(BDF, PMCSR, 2) & 3;
const setState = (s: number) => hw.configWrite(BDF, PMCSR, 2, (hw.configRead(BDF, PMCSR, 2) & ~3) | s);

beforeEach(async () => {
  hw = await newHardware();
  log = new InterruptLog();
  hw.setInterruptSink(log);
});
afterEach(() => disposeHardware(hw));

describe('D3hot', () => {
  beforeEach(() => setup(true));

  it('BARs stop decoding: reads all-ones, writes dropped; config space still answers', () => {
    setState(3);
    expect(state()).toBe(3);
    expect(hw.mmioRead(MEM + 0x10, 4)).toBe(0xffffffff);
    expect(hw.ioRead(IO + 4, 2)).toBe(0xffff);
    hw.mmioWrite(MEM + 0x10, 4, 0x11111111);
    hw.ioWrite(IO + 4, 2, 0x2222);
    expect(hw.configRead(BDF, 0, 4)).toBe(0x816810ec);
    hw.configWrite(BDF, 0x3c, 1, 12);
    expect(hw.configRead(BDF, 0x3c, 1)).toBe(12);
    setState(0);
    // No_Soft_Reset: context preserved, decode back, the dropped writes never landed
    expect(state()).toBe(0);
    expect(hw.mmioRead(MEM + 0x10, 4)).toBe(0xcafef00d);
    expect(hw.ioRead(IO + 4, 2)).toBe(0x5a5a);
    expect(hw.configRead(BDF, 0x04, 2)).toBe(CMD_IO | CMD_MEM | CMD_MASTER);
  });

  it('the function sends no interrupts in D3hot', () => {
    hw.configWrite(BDF, MSI + 4, 4, 0xfee00000);
    hw.configWrite(BDF, MSI + 0xc, 2, 0x41);
    hw.configWrite(BDF, MSI + 2, 2, 1);
    setState(3);
    f.signal(0);
    expect(log.messages).toEqual([]);
    setState(0);
    f.signal(0);
    expect(log.messages.map((m) => m.data)).toEqual([0x41]);
  });
});

describe('unsupported D-states (PMC: no D1, no D2)', () => {
  beforeEach(() => setup(false));

  it.each([1, 2])('writing D%d from D0 is ignored', (d) => {
    setState(d);
    expect(state()).toBe(0);
    expect(hw.mmioRead(MEM + 0x10, 4), 'still decoding').toBe(0xcafef00d);
    expect(hw.configRead(BDF, 0x3c, 1), 'no reset').toBe(11);
  });

  it.each([1, 2])('writing D%d from D3hot is ignored (no transition, no reset)', (d) => {
    setState(3);
    setState(d);
    expect(state()).toBe(3);
    expect(hw.mmioRead(MEM + 0x10, 4)).toBe(0xffffffff);
    expect(hw.configRead(BDF, 0x3c, 1)).toBe(11);
  });

  it('writing D0 while in D0 does not reset', () => {
    setState(0);
    hw.configWrite(BDF, PMCSR, 1, 0);
    expect(hw.configRead(BDF, 0x3c, 1)).toBe(11);
    expect(hw.mmioRead(MEM + 0x10, 4)).toBe(0xcafef00d);
  });
});

describe('D3hot -> D0', () => {
  it('No_Soft_Reset = 0: the function is reset to its power-on state', () => {
    setup(false);
    expect(hw.configRead(BDF, PMCSR, 2) & 0x8, 'No_Soft_Reset').toBe(0);
    hw.configWrite(BDF, MSI + 2, 2, 1);
    setState(3);
    hw.configWrite(BDF, PMCSR, 1, 0); // byte write of D0
    expect(state()).toBe(0);
    expect(hw.configRead(BDF, 0x04, 2), 'Command').toBe(0);
    expect(hw.configRead(BDF, 0x10, 4), 'BAR0').toBe(1);
    expect(hw.configRead(BDF, 0x18, 4), 'BAR2').toBe(0);
    expect(hw.configRead(BDF, 0x3c, 1), 'Interrupt Line').toBe(0);
    expect(hw.configRead(BDF, MSI + 2, 2) & 1, 'MSI Enable').toBe(0);
    // device state is gone too: once decoding again the BAR memory reads its power-on contents
    programBar(hw, BDF, 2, MEM);
    hw.configWrite(BDF, 0x04, 2, CMD_MEM);
    expect(hw.mmioRead(MEM + 0x10, 4)).toBe(0);
  });

  it('No_Soft_Reset = 1: no reset, the configuration survives', () => {
    setup(true);
    expect(hw.configRead(BDF, PMCSR, 2) & 0x8, 'No_Soft_Reset').toBe(0x8);
    setState(3);
    setState(0);
    expect(hw.configRead(BDF, 0x04, 2)).toBe(CMD_IO | CMD_MEM | CMD_MASTER);
    expect(hw.configRead(BDF, 0x18, 4)).toBe(MEM);
    expect(hw.configRead(BDF, 0x3c, 1)).toBe(11);
    expect(hw.mmioRead(MEM + 0x10, 4)).toBe(0xcafef00d);
  });
});
