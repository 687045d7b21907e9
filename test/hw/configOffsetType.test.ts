// Regression (issue 13, bug 6): a BigInt offset to hw.configRead/configWrite is a RangeError, as the
// contract says for every offset hardware cannot produce, not a TypeError from the arithmetic.
import { afterEach, beforeEach, expect, it } from 'vitest';
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

it.each([BDF, '0000:00:1f.0'])('%s: BigInt, string, symbol or object offsets throw RangeError and change nothing', (bdf) => {
  const before = configSnapshot(hw, BDF);
  for (const off of [0n, 4n, 0x3cn, -1n, 2n ** 64n, '0', Symbol('x'), {}, null, undefined]) {
    expect(() => hw.configRead(bdf, off as unknown as number, 4), String(typeof off)).toThrow(RangeError);
    expect(() => hw.configWrite(bdf, off as unknown as number, 1, 0x5a), String(typeof off)).toThrow(RangeError);
  }
  expect(configSnapshot(hw, BDF)).toEqual(before);
});
