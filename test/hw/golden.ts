// Runs a golden register block: for every naturally aligned (offset, size) access inside it, a freshly
// powered-on function must read the power-on value; after all RW1C bits are set (a device-internal
// update), writing all-ones must set exactly the writable bits and clear exactly the RW1C bits; after
// setting the RW1C bits again, writing zeros must clear the writable bits and leave RW1C bits alone.
// Bytes outside the access never change, inside or outside the block.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Hardware } from '../../src/index.js';
import type { GoldenBlock } from '../fixtures/configSpace.js';
import { ALL_ONES, accessPairs, blockBytes, configSnapshot, freshEndpoint, hex, newHardware, pack, touched } from './helpers.js';

const BDF = '0000:00:04.0';

export function describeGolden(block: GoldenBlock): void {
  describe(`${block.name} @ ${hex(block.base)}`, () => {
    const bytes = blockBytes(block);
    let hw: Hardware;
    beforeAll(async () => {
      hw = await newHardware();
    });

    it('power-on image of the whole block matches the table', () => {
      freshEndpoint(hw, BDF, block.spec);
      const got: number[] = [];
      for (let i = 0; i < block.length; i++) got.push(hw.configRead(BDF, block.base + i, 1));
      expect(got.map(hex)).toEqual(bytes.init.map(hex));
    });

    const cases = accessPairs(block.length).map((p) => ({ ...p, regs: touched(bytes, p.off, p.size) }));
    it.each(cases)('+$off/$size ($regs)', ({ off, size }) => {
      const f = freshEndpoint(hw, BDF, block.spec);
      const at = block.base + off;
      expect(hex(hw.configRead(BDF, at, size)), 'power-on').toBe(hex(pack(bytes.init, off, size)));

      // the device sets every RW1C bit of the block
      const state = bytes.init.slice();
      const setW1c = () => {
        for (let i = 0; i < block.length; i++) {
          if (bytes.rw1c[i] === 0) continue;
          state[i] |= bytes.rw1c[i];
          f.setRegister(block.base + i, 1, state[i]);
        }
      };
      setW1c();
      const outside = configSnapshot(hw, BDF);

      hw.configWrite(BDF, at, size, ALL_ONES[size]);
      for (let i = off; i < off + size; i++) {
        state[i] = bytes.ones[i] ?? ((state[i] & ~bytes.rw[i]) | bytes.rw[i]) & ~bytes.rw1c[i];
      }
      expect(hex(hw.configRead(BDF, at, size)), 'after all-ones').toBe(hex(pack(state, off, size)));
      expectImage(hw, block, state, outside, at, size, 'after all-ones');

      setW1c();
      const outside2 = configSnapshot(hw, BDF);
      hw.configWrite(BDF, at, size, 0);
      for (let i = off; i < off + size; i++) state[i] &= ~bytes.rw[i];
      expect(hex(hw.configRead(BDF, at, size)), 'after zeros').toBe(hex(pack(state, off, size)));
      expectImage(hw, block, state, outside2, at, size, 'after zeros');
    });
  });
}

/** The block reads `state`; every byte of config space outside the access equals `before`. */
function expectImage(hw: Hardware, block: GoldenBlock, state: number[], before: Uint8Array, at: number, size: number, when: string): void {
  const now = configSnapshot(hw, BDF);
  const blockNow = Array.from(now.subarray(block.base, block.base + block.length));
  expect(blockNow.map(hex), `${when}: block image`).toEqual(state.map(hex));
  const changed: string[] = [];
  for (let i = 0; i < 4096; i++) {
    if ((i < at || i >= at + size) && now[i] !== before[i]) changed.push(`${hex(i)}: ${hex(before[i])} -> ${hex(now[i])}`);
  }
  expect(changed, `${when}: bytes outside the access changed`).toEqual([]);
}
