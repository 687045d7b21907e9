// The generic endpoint's BAR memory: a byte array per BAR as far as any access can tell (aligned
// accesses read through typed views, misaligned ones byte by byte, across pages too), zero until
// written, separate per BAR, cleared by reset; huge BARs too.
import fc from 'fast-check';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { Hardware, PciFunction } from '../../src/index.js';
import { disposeHardware, newHardware } from './helpers.js';

const BDF = '0000:00:05.0';
let hw: Hardware;
let fn: PciFunction;
beforeEach(async () => {
  hw = await newHardware();
  fn = hw.addEndpoint(BDF, {
    vendorId: 0x1234,
    deviceId: 0x11,
    classCode: 0xff0000,
    bars: [{ kind: 'mem32', size: 0x4000 }, { kind: 'io', size: 0x40 }, { kind: 'mem64', size: 2 ** 33 }, null],
    capabilities: [{ id: 'pcie', flr: true }],
  });
});
afterEach(() => disposeHardware(hw));

const SIZES = [1, 2, 4] as const;

it('behaves as a plain little-endian byte array per BAR (random accesses against a model)', () => {
  const bars = [0, 1, 2];
  const limit = [0x4000, 0x40, 2 ** 33];
  fc.assert(
    fc.property(
      fc.array(
        fc.record({ bar: fc.constantFrom(...bars), off: fc.nat(), far: fc.boolean(), size: fc.constantFrom(...SIZES), write: fc.boolean(), value: fc.nat(0xffffffff) }),
        { maxLength: 80 },
      ),
      (ops) => {
        fn.reset('flr');
        const model = new Map<string, number>(); // `${bar}:${offset}` -> byte
        for (const o of ops) {
          const span = o.bar === 2 && o.far ? limit[2] : Math.min(limit[o.bar], 0x2010);
          const off = o.off % (span - o.size + 1);
          if (o.write) {
            fn.barWrite(o.bar, off, o.size, o.value);
            for (let i = 0; i < o.size; i++) model.set(`${o.bar}:${off + i}`, (o.value >>> (8 * i)) & 0xff);
          } else {
            let want = 0;
            for (let i = o.size - 1; i >= 0; i--) want = want * 256 + (model.get(`${o.bar}:${off + i}`) ?? 0);
            expect(fn.barRead(o.bar, off, o.size), `${o.bar}:${off}/${o.size}`).toBe(want);
          }
        }
      },
    ),
    { numRuns: 200 },
  );
});

it('a misaligned access across a page boundary keeps every byte', () => {
  fn.barWrite(0, 0xffe, 4, 0x44332211);
  expect(fn.barRead(0, 0xffe, 2)).toBe(0x2211);
  expect(fn.barRead(0, 0x1000, 2)).toBe(0x4433);
  expect(fn.barRead(0, 0xfff, 4)).toBe(0x00443322);
});

it('reset clears every BAR', () => {
  fn.barWrite(0, 0x10, 4, 0xdeadbeef);
  fn.barWrite(2, 2 ** 32 + 8, 2, 0xbeef);
  fn.reset('flr');
  expect(fn.barRead(0, 0x10, 4)).toBe(0);
  expect(fn.barRead(2, 2 ** 32 + 8, 2)).toBe(0);
});

it('the bus reaches the same memory through port I/O and MMIO', () => {
  hw.configWrite(BDF, 0x10, 4, 0xfe000000);
  hw.configWrite(BDF, 0x14, 4, 0xc000);
  hw.configWrite(BDF, 0x04, 2, 3);
  hw.ioWrite(0xc010, 4, 0xcafef00d);
  expect(hw.ioRead(0xc012, 2)).toBe(0xcafe);
  expect(fn.barRead(1, 0x10, 4)).toBe(0xcafef00d);
  hw.mmioWrite(0xfe000ffd, 4, 0x04030201);
  expect(hw.mmioRead(0xfe001000, 2)).toBe(0x0004);
  expect(hw.mmioRead(0xfe000ffc, 4)).toBe(0x03020100);
});
