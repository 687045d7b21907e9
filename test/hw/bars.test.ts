// BAR sizing as Linux's __pci_read_base does it: save, write all-ones, read ~(size-1) | flags, restore.
import { beforeAll, describe, expect, it } from 'vitest';
import type { BarSpec, EndpointSpec, Hardware } from '../../src/index.js';
import { freshEndpoint, hex, newHardware } from './helpers.js';

const BDF = '0000:00:05.0';
const base: Omit<EndpointSpec, 'bars'> = { vendorId: 0x1af4, deviceId: 0x1000, classCode: 0x020000 };

let hw: Hardware;
beforeAll(async () => {
  hw = await newHardware();
});

/** Sizing of BAR register `reg`: the value read after all-ones, with the original restored after. */
function size(reg: number): number {
  const saved = hw.configRead(BDF, reg, 4);
  hw.configWrite(BDF, reg, 4, 0xffffffff);
  const v = hw.configRead(BDF, reg, 4);
  hw.configWrite(BDF, reg, 4, saved);
  expect(hw.configRead(BDF, reg, 4), 'restored').toBe(saved);
  return v;
}

describe('memory BARs (32-bit)', () => {
  const cases: [number, boolean, number][] = [
    // size, prefetchable, value after all-ones: ~(size-1) with bits 3:0 = type 00, prefetchable
    [16, false, 0xfffffff0],
    [0x1000, false, 0xfffff000],
    [0x100000, false, 0xfff00000],
    [2 ** 31, false, 0x80000000],
    [16, true, 0xfffffff8],
    [0x4000, true, 0xffffc008],
    [2 ** 31, true, 0x80000008],
  ];
  it.each(cases)('mem32 size %d prefetchable=%s sizes to %s', (bytes, prefetchable, expected) => {
    freshEndpoint(hw, BDF, { ...base, bars: [{ kind: 'mem32', size: bytes, prefetchable }] });
    expect(hex(hw.configRead(BDF, 0x10, 4)), 'power-on flags').toBe(hex(prefetchable ? 0x8 : 0));
    expect(hex(size(0x10))).toBe(hex(expected));
  });

  it('keeps only the address bits above the size; flag bits ignore writes', () => {
    freshEndpoint(hw, BDF, { ...base, bars: [{ kind: 'mem32', size: 0x1000, prefetchable: true }] });
    hw.configWrite(BDF, 0x10, 4, 0xfebc1fff);
    expect(hex(hw.configRead(BDF, 0x10, 4))).toBe(hex(0xfebc1008));
    hw.configWrite(BDF, 0x10, 4, 0);
    expect(hex(hw.configRead(BDF, 0x10, 4))).toBe(hex(0x8));
  });
});

describe('memory BARs (64-bit)', () => {
  const cases: [number, boolean, number, number][] = [
    // size, prefetchable, low after all-ones, high after all-ones
    [16, false, 0xfffffff4, 0xffffffff],
    [0x10000, false, 0xffff0004, 0xffffffff],
    [2 ** 31, true, 0x8000000c, 0xffffffff],
    [2 ** 32, false, 0x00000004, 0xffffffff],
    [2 ** 33, true, 0x0000000c, 0xfffffffe],
    [2 ** 40, false, 0x00000004, 0xffffff00],
  ];
  it.each(cases)('mem64 size %d prefetchable=%s sizes to low %s high %s', (bytes, prefetchable, lo, hi) => {
    freshEndpoint(hw, BDF, { ...base, bars: [null, { kind: 'mem64', size: bytes, prefetchable }, null] });
    expect(hex(hw.configRead(BDF, 0x14, 4)), 'power-on low').toBe(hex(prefetchable ? 0xc : 0x4));
    expect(hw.configRead(BDF, 0x18, 4), 'power-on high').toBe(0);
    expect(hex(size(0x14))).toBe(hex(lo));
    expect(hex(size(0x18))).toBe(hex(hi));
    // both halves sized together, as Linux does for a 64-bit BAR
    hw.configWrite(BDF, 0x14, 4, 0xffffffff);
    hw.configWrite(BDF, 0x18, 4, 0xffffffff);
    const mask = (BigInt(hw.configRead(BDF, 0x18, 4)) << 32n) | BigInt((hw.configRead(BDF, 0x14, 4) & 0xfffffff0) >>> 0);
    expect((1n << 64n) - mask).toBe(BigInt(bytes));
  });

  it('holds an address above 4 GiB across both halves', () => {
    freshEndpoint(hw, BDF, { ...base, bars: [{ kind: 'mem64', size: 2 ** 33, prefetchable: true }, null] });
    hw.configWrite(BDF, 0x10, 4, 0x12345678);
    hw.configWrite(BDF, 0x14, 4, 0x00000083);
    // an 8 GiB BAR only keeps address bits 63:33
    expect(hex(hw.configRead(BDF, 0x10, 4))).toBe(hex(0x0000000c));
    expect(hex(hw.configRead(BDF, 0x14, 4))).toBe(hex(0x00000082));
  });
});

describe('I/O BARs', () => {
  const cases: [number, number][] = [
    [4, 0xfffffffd],
    [8, 0xfffffff9],
    [0x20, 0xffffffe1],
    [0x100, 0xffffff01],
  ];
  it.each(cases)('io size %d sizes to %s (bit 0 set, bit 1 reserved)', (bytes, expected) => {
    freshEndpoint(hw, BDF, { ...base, bars: [null, null, { kind: 'io', size: bytes }] });
    expect(hw.configRead(BDF, 0x18, 4), 'power-on').toBe(1);
    expect(hex(size(0x18))).toBe(hex(expected));
    hw.configWrite(BDF, 0x18, 4, 0xc002);
    expect(hex(hw.configRead(BDF, 0x18, 4))).toBe(hex((0xc000 & ~(bytes - 1)) | 1));
  });
});

describe('expansion ROM BAR', () => {
  const cases: [number, number][] = [
    [0x800, 0xfffff801],
    [0x8000, 0xffff8001],
    [0x100000, 0xfff00001],
  ];
  it.each(cases)('rom size %d sizes to %s (bits 31:11 and Enable)', (bytes, expected) => {
    freshEndpoint(hw, BDF, { ...base, romSize: bytes });
    expect(hw.configRead(BDF, 0x30, 4), 'power-on').toBe(0);
    expect(hex(size(0x30))).toBe(hex(expected));
    // Linux sizes the ROM with ~PCI_ROM_ADDRESS_ENABLE: the enable bit stays clear
    hw.configWrite(BDF, 0x30, 4, 0xfffff800);
    expect(hex(hw.configRead(BDF, 0x30, 4))).toBe(hex((expected & ~1) >>> 0));
    // reserved bits 10:1 read 0
    hw.configWrite(BDF, 0x30, 4, 0x000007fe);
    expect(hw.configRead(BDF, 0x30, 4)).toBe(0);
  });

  it('a function without a ROM reads 0 at 0x30 and ignores sizing', () => {
    freshEndpoint(hw, BDF, { ...base, bars: [{ kind: 'mem32', size: 0x1000 }] });
    expect(size(0x30)).toBe(0);
  });
});

describe('unimplemented BARs', () => {
  it('read 0 and ignore all-ones, next to implemented ones', () => {
    const bars: (BarSpec | null)[] = [{ kind: 'io', size: 4 }, null, { kind: 'mem64', size: 0x1000 }, null, null, { kind: 'mem32', size: 16 }];
    freshEndpoint(hw, BDF, { ...base, bars });
    expect(size(0x14)).toBe(0);
    expect(size(0x20)).toBe(0);
    // the implemented ones still size
    expect(hex(size(0x10))).toBe(hex(0xfffffffd));
    expect(hex(size(0x18))).toBe(hex(0xfffff004));
    expect(hex(size(0x1c))).toBe(hex(0xffffffff));
    expect(hex(size(0x24))).toBe(hex(0xfffffff0));
  });

  it('a function with no BARs reads 0 in all six registers', () => {
    freshEndpoint(hw, BDF, { ...base });
    for (let reg = 0x10; reg <= 0x24; reg += 4) expect(size(reg), hex(reg)).toBe(0);
  });
});
