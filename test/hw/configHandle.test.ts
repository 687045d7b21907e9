// Config access by handle (hw.handle(bdf)): the same answers, checks and write semantics as
// hw.configRead/configWrite by address, bound to one function for its life.
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Hardware } from '../../src/index.js';
import { pcieEndpointSpec } from '../fixtures/configSpace.js';
import { configSnapshot, disposeHardware, newHardware } from './helpers.js';

const BDF = '0000:00:0d.0';
let hw: Hardware;
beforeEach(async () => {
  hw = await newHardware();
  hw.addEndpoint(BDF, pcieEndpointSpec);
});
afterEach(() => disposeHardware(hw));

describe('hw.handle', () => {
  it('reads what hw.configRead reads, at every offset and size', () => {
    const h = hw.handle(BDF);
    expect(h.bdf).toBe(BDF);
    for (let off = 0; off < 4096; off++) {
      for (const size of [1, 2, 4] as const) {
        if (off % size !== 0 || off + size > 4096) continue;
        expect(h.read(off, size)).toBe(hw.configRead(BDF, off, size));
      }
    }
  });

  it('writes land as hw.configWrite writes do (same masks, same side effects)', async () => {
    const other = await newHardware();
    try {
      other.addEndpoint(BDF, pcieEndpointSpec);
      const h = hw.handle(BDF);
      fc.assert(
        fc.property(fc.constantFrom(0x04, 0x0c, 0x10, 0x14, 0x3c, 0x44, 0x48), fc.constantFrom(1, 2, 4), fc.nat(0xffffffff), (reg, size, value) => {
          const off = reg & ~(size - 1);
          h.write(off, size as 1 | 2 | 4, value);
          other.configWrite(BDF, off, size as 1 | 2 | 4, value);
          expect(configSnapshot(hw, BDF)).toEqual(configSnapshot(other, BDF));
        }),
        { numRuns: 60 },
      );
    } finally {
      disposeHardware(other);
    }
  });

  it('rejects what hw.configRead rejects with the same RangeError, changing nothing', () => {
    const h = hw.handle(BDF);
    const before = configSnapshot(hw, BDF);
    const bad: [unknown, unknown][] = [[-1, 4], [4096, 1], [1, 2], [2, 4], [0, 3], [1.5, 1], [Number.NaN, 4], [4n, 4], ['4', 4], [0, 8]];
    for (const [off, size] of bad) {
      const direct = () => hw.configRead(BDF, off as number, size as 1);
      expect(direct).toThrow(RangeError);
      expect(() => h.read(off as number, size as 1)).toThrow(RangeError);
      expect(() => h.write(off as number, size as 1, 0)).toThrow(RangeError);
    }
    expect(() => h.write(0x3c, 1, Number.NaN)).toThrow(RangeError);
    expect(configSnapshot(hw, BDF)).toEqual(before);
  });

  it('a removed function: the handle reads all-ones and drops writes, even after a new function takes its address', () => {
    const h = hw.handle(BDF);
    hw.removeFunction(BDF);
    expect(h.read(0, 4)).toBe(0xffffffff);
    h.write(0x3c, 1, 0x11);
    const again = hw.addEndpoint(BDF, { ...pcieEndpointSpec, deviceId: 0x1234 });
    expect(h.read(0, 4)).toBe(0xffffffff);
    h.write(0x3c, 1, 0x22);
    expect(hw.configRead(BDF, 0x3c, 1)).not.toBe(0x22);
    expect(hw.handle(BDF).read(2, 2)).toBe(0x1234);
    expect(again.deviceId).toBe(0x1234);
  });

  it('nothing at the address: a clear error', () => {
    expect(() => hw.handle('0000:00:1f.0')).toThrow(/no function/);
    expect(() => hw.handle(42 as unknown as string)).toThrow(/no function/);
  });
});
