// INTx (PCI 3.0 6.2.2-6.2.3, 6.8): Status.Interrupt follows the function's pin whatever Command
// says; the line the interrupt controller sees is asserted only while INTx Disable is clear and
// neither MSI nor MSI-X is enabled.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InterruptLog } from '../../src/index.js';
import type { Hardware, InterruptSink, PciFunction } from '../../src/index.js';
import { CMD_INTX_DISABLE, CMD_MEM, newHardware, disposeHardware } from './helpers.js';

const BDF = '0000:00:0b.0';
const MSI = 0x40;
const MSIX = 0x50;

let hw: Hardware;
let f: PciFunction;
let edges: boolean[];

beforeEach(async () => {
  hw = await newHardware();
  edges = [];
  const sink: InterruptSink = {
    msi() {},
    intx(source, asserted) {
      expect(source.bdf).toBe(BDF);
      edges.push(asserted);
    },
  };
  hw.setInterruptSink(sink);
  f = hw.addEndpoint(BDF, {
    vendorId: 0x8086,
    deviceId: 0x100e,
    classCode: 0x020000,
    interruptPin: 1,
    bars: [{ kind: 'mem32', size: 0x2000 }],
    capabilities: [
      { id: 'msi', vectors: 1, is64: true },
      { id: 'msix', vectors: 2, tableBar: 0, tableOffset: 0, pbaBar: 0, pbaOffset: 0x1000 },
    ],
  });
});
afterEach(() => disposeHardware(hw));

const status = () => hw.configRead(BDF, 0x06, 2) & 0x8;

describe('Status.Interrupt and the INTx line', () => {
  it('setIntx toggles Status.Interrupt and the line', () => {
    expect(status()).toBe(0);
    f.setIntx(true);
    expect(status()).toBe(0x8);
    expect(f.intxAsserted).toBe(true);
    f.setIntx(false);
    expect(status()).toBe(0);
    expect(f.intxAsserted).toBe(false);
    expect(edges).toEqual([true, false]);
  });

  it('repeating a level sends no extra edge', () => {
    f.setIntx(true);
    f.setIntx(true);
    f.setIntx(false);
    f.setIntx(false);
    expect(edges).toEqual([true, false]);
  });

  it('INTx Disable hides the line but not Status.Interrupt', () => {
    hw.configWrite(BDF, 0x04, 2, CMD_INTX_DISABLE);
    f.setIntx(true);
    expect(status()).toBe(0x8);
    expect(edges).toEqual([]);
    hw.configWrite(BDF, 0x04, 2, CMD_MEM);
    expect(edges).toEqual([true]);
    hw.configWrite(BDF, 0x05, 1, CMD_INTX_DISABLE >> 8);
    expect(edges).toEqual([true, false]);
    expect(status()).toBe(0x8);
    f.setIntx(false);
    hw.configWrite(BDF, 0x04, 2, 0);
    expect(edges).toEqual([true, false]);
    expect(status()).toBe(0);
  });

  it('Status.Interrupt is read-only to software', () => {
    f.setIntx(true);
    hw.configWrite(BDF, 0x06, 2, 0xffff);
    expect(status()).toBe(0x8);
    f.setIntx(false);
    hw.configWrite(BDF, 0x06, 2, 0x0008);
    expect(status()).toBe(0);
  });

  it('signal() without MSI/MSI-X asserts INTx', () => {
    f.signal(0);
    expect(status()).toBe(0x8);
    expect(edges).toEqual([true]);
  });

  it('a function without an interrupt pin has no INTx', () => {
    const g = hw.addEndpoint('0000:00:0c.0', { vendorId: 0x1234, deviceId: 1, classCode: 0x058000, interruptPin: 0 });
    g.setIntx(true);
    expect(hw.configRead('0000:00:0c.0', 0x06, 2) & 0x8).toBe(0);
    expect(g.intxAsserted).toBe(false);
  });
});

describe('MSI and MSI-X suppress INTx', () => {
  it.each([
    ['MSI', MSI + 2, 0x0001],
    ['MSI-X', MSIX + 2, 0x8000],
  ] as const)('enabling %s deasserts the line; disabling it brings the level back', (_name, ctl, enable) => {
    f.setIntx(true);
    expect(edges).toEqual([true]);
    hw.configWrite(BDF, ctl, 2, enable);
    expect(edges).toEqual([true, false]);
    expect(status(), 'the pin is still driven').toBe(0x8);
    f.setIntx(false);
    f.setIntx(true);
    expect(edges, 'no INTx while enabled').toEqual([true, false]);
    hw.configWrite(BDF, ctl, 2, 0);
    expect(edges).toEqual([true, false, true]);
  });

  it('signal() with MSI enabled does not touch INTx', () => {
    hw.configWrite(BDF, MSI + 2, 2, 1);
    f.signal(0);
    expect(status()).toBe(0);
    expect(edges).toEqual([]);
  });
});

describe('the InterruptLog sink', () => {
  it('records the current INTx level per function', () => {
    const log = new InterruptLog();
    hw.setInterruptSink(log);
    f.setIntx(true);
    expect(log.intxLevels.get(BDF)).toBe(true);
    hw.configWrite(BDF, 0x04, 2, CMD_INTX_DISABLE);
    expect(log.intxLevels.get(BDF)).toBe(false);
  });
});
