// A malformed config image, lspci text or ConfigImageSpec is refused with an Error that says what
// is wrong where; nothing is added and the machine stays usable.
import { afterEach, describe, expect, it } from 'vitest';
import type { Hardware } from '../../src/index.js';
import { formatLspciText } from '../../src/hw/configImageParse.js';
import type { ConfigImageSpec } from '../../src/hw/spec.js';
import { barSizesOf, hexBytes, loadRealDump, romSizeOf } from '../fixtures/real/load.js';
import { disposeHardware, newHardware } from './helpers.js';

const BDF = '0000:00:05.0';
const e1000e = loadRealDump('e1000e');
let hw: Hardware | undefined;
afterEach(() => {
  disposeHardware(hw);
  hw = undefined;
});

/** A minimal endpoint image: 8086:1234, one mem32 BAR0 of 4K at 0xfe000000, no capabilities. */
function base(size = 256): Uint8Array {
  const b = new Uint8Array(size);
  b.set([0x86, 0x80, 0x34, 0x12]);
  b[0x0b] = 0x02;
  b.set([0x00, 0x00, 0x00, 0xfe], 0x10);
  return b;
}
const set16 = (b: Uint8Array, o: number, v: number) => b.set([v & 0xff, v >>> 8], o);
const set32 = (b: Uint8Array, o: number, v: number) => b.set([v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24], o);
/** Chains capabilities [offset, id] in the order given and sets Status' Capabilities List. */
function caps(b: Uint8Array, list: [number, number][]): Uint8Array {
  b[0x06] |= 0x10;
  b[0x34] = list[0]?.[0] ?? 0;
  list.forEach(([off, id], i) => {
    b[off] = id;
    b[off + 1] = list[i + 1]?.[0] ?? 0;
  });
  return b;
}
const pcie = (b: Uint8Array, off: number) => (caps(b, [[off, 0x10]]), set16(b, off + 2, 0x0002), b);

function refuse(spec: Omit<Partial<ConfigImageSpec>, 'configImage'> & { configImage: unknown }): string {
  try {
    hw!.addEndpoint(BDF, { barSizes: [0x1000], ...spec } as ConfigImageSpec);
  } catch (e) {
    expect(e).toBeInstanceOf(Error);
    expect(e).not.toBeInstanceOf(TypeError);
    expect(hw!.functions().map((f) => f.bdf)).not.toContain(BDF);
    return (e as Error).message;
  }
  throw new Error('the spec was accepted');
}

describe('refused config images', () => {
  const cases: [string, () => Omit<Partial<ConfigImageSpec>, 'configImage'> & { configImage: unknown }, RegExp][] = [
    ['a length other than 256 or 4096', () => ({ configImage: new Uint8Array(300) }), /300 bytes; a config image is 256 or 4096/],
    ['the 64 bytes a non-root user reads', () => ({ configImage: new Uint8Array(64) }), /non-root.*as root/],
    ['neither bytes nor text', () => ({ configImage: [1, 2, 3] }), /must be a Uint8Array .* or lspci/],
    ['bad hex in lspci text', () => ({ configImage: formatLspciText(base()).replace('00: 86', '00: 8g') }), /line 1 is not 16 hex bytes/],
    ['a short hex line', () => ({ configImage: formatLspciText(base()).replace(/\n10: .*\n/, '\n10: 00 00\n') }), /line 2 is not 16 hex bytes/],
    ['a missing hex line', () => ({ configImage: formatLspciText(base()).replace(/\n20: .*\n/, '\n') }), /offset 0x30 but 0x20 was expected/],
    ['two functions in the text', () => ({ configImage: `00:03.0 x\n${formatLspciText(base())}\n00:04.0 y\n${formatLspciText(base())}` }), /more than one function/],
    ['text with no dump in it', () => ({ configImage: '00:03.0 Ethernet controller: Intel\n' }), /no hex dump lines/],
    ['lspci -x (64 bytes)', () => ({ configImage: formatLspciText(base().subarray(0, 64)) }), /64 bytes/],
    ['an absent function', () => ({ configImage: new Uint8Array(256).fill(0xff) }), /Vendor ID 0xffff/],
    ['a bridge', () => ({ configImage: (() => { const b = base(); b[0x0e] = 1; return b; })() }), /header type 1 .*bridges/],
    ['Interrupt Pin 5', () => ({ configImage: (() => { const b = base(); b[0x3d] = 5; return b; })() }), /Interrupt Pin 5/],
    ['a capability pointer into the header', () => ({ configImage: caps(base(), [[0x38, 0x01]]) }), /points to 0x38, inside the header/],
    ['a capability list that loops', () => ({ configImage: (() => { const b = caps(base(), [[0x40, 0x01], [0x50, 0x05]]); b[0x51] = 0x40; return b; })() }), /points back to 0x40: the capability list loops/],
    ['a capability that points to itself', () => ({ configImage: (() => { const b = caps(base(), [[0x40, 0x09]]); b[0x42] = 4; b[0x41] = 0x40; return b; })() }), /loops/],
    ['a capability running past 0x100', () => ({ configImage: caps(base(), [[0xfc, 0x01]]) }), /at 0xfc \(8 bytes\) runs past the 256-byte/],
    ['overlapping capabilities', () => ({ configImage: caps(base(), [[0x40, 0x01], [0x44, 0x05]]) }), /overlaps the one at 0x44/],
    ['two MSI capabilities', () => ({ configImage: caps(base(), [[0x40, 0x05], [0x50, 0x05]]) }), /a second msi capability at 0x50/],
    ['a vendor capability shorter than its header', () => ({ configImage: caps(base(), [[0x40, 0x09]]) }), /gives its length as 0/],
    ['ID 0xff', () => ({ configImage: caps(base(), [[0x40, 0xff]]) }), /ID 0xff/],
    ['PCIe capability version 3', () => ({ configImage: (() => { const b = pcie(base(), 0x40); b[0x42] = 3; return b; })() }), /version 3; 1 and 2 exist/],
    ['MSI claiming 64 vectors', () => ({ configImage: (() => { const b = caps(base(), [[0x40, 0x05]]); set16(b, 0x42, 6 << 1); return b; })() }), /claims 64 vectors/],
    ['an extended capability list that loops', () => ({ configImage: (() => { const b = pcie(base(4096), 0x40); set32(b, 0x100, 0x00010003 | (0x140 << 20)); set32(b, 0x140, 0x00010003 | (0x100 << 20)); return b; })() }), /points back to 0x100: the list loops/],
    ['an extended capability pointing below 0x100', () => ({ configImage: (() => { const b = pcie(base(4096), 0x40); set32(b, 0x100, 0x00010003 | (0x0c0 << 20)); return b; })() }), /points to 0x0c0, below 0x100/],
    ['MSI-X whose table BAR is not implemented', () => ({ configImage: (() => { const b = caps(base(), [[0x40, 0x11]]); set32(b, 0x44, 0x2); return b; })() }), /tableBar 2 must name a memory BAR/],
    ['MSI-X whose table lies past its BAR', () => ({ configImage: (() => { const b = caps(base(), [[0x40, 0x11]]); set16(b, 0x42, 0x3ff); set32(b, 0x48, 0x800); return b; })() }), /table \(16384 bytes at 0\) lies outside BAR 0 \(4096/],
  ];
  for (const [what, spec, message] of cases) {
    it(what, async () => {
      hw = await newHardware();
      expect(refuse(spec())).toMatch(message);
    });
  }
});

describe('refused BAR and mask descriptions', () => {
  const cases: [string, Partial<ConfigImageSpec>, RegExp][] = [
    ['a size that is not a power of two', { barSizes: [0x1800] }, /barSizes\[0\] must be a power of two or null, got 6144/],
    ['a negative size', { barSizes: [-4096] }, /power of two/],
    ['a size too big for the address the image has', { barSizes: [0x4000000] }, /does not fit BAR0 0xfe000000 .*bits below the size/],
    ['an implemented BAR given no size', { barSizes: [null] }, /barSizes\[0\] is null but BAR0 in the image reads 0xfe000000, an implemented BAR/],
    ['a size for a memory BAR under 16 bytes', { barSizes: [8] }, /at least 16 bytes/],
    ['barSizes that is not an array', { barSizes: 4096 as unknown as number[] }, /barSizes must be an array of at most 6/],
    ['seven barSizes', { barSizes: [4096, null, null, null, null, null, null] }, /at most 6/],
    ['a ROM size that is not a power of two', { barSizes: [0x1000], romSize: 3000 }, /romSize must be a power of two from 2 KiB/],
    ['a writableMask of the wrong length', { barSizes: [0x1000], writableMask: new Uint8Array(4096) }, /writableMask must be a Uint8Array of 256 bytes/],
    ['an rw1cMask that is not bytes', { barSizes: [0x1000], rw1cMask: [1] as unknown as Uint8Array }, /rw1cMask must be a Uint8Array/],
  ];
  for (const [what, extra, message] of cases) {
    it(what, async () => {
      hw = await newHardware();
      expect(refuse({ configImage: base(), ...extra })).toMatch(message);
    });
  }

  it('a real dump: the wrong kind of size for its I/O BAR, a size for the upper half of nothing, a missing ROM size', async () => {
    hw = await newHardware();
    const image = hexBytes(e1000e.raw.config);
    const sizes = barSizesOf(e1000e);
    expect(refuse({ configImage: image, barSizes: sizes.map((s, i) => (i === 2 ? 0x1000 : s)), romSize: romSizeOf(e1000e) })).toMatch(/BAR2 is an I\/O BAR in the image, whose size is 4..256/);
    expect(refuse({ configImage: image, barSizes: sizes })).toMatch(/romSize is missing but the image's expansion ROM BAR reads 0xfe800000/);
    expect(refuse({ configImage: image, barSizes: sizes, romSize: 0x1000000 })).toMatch(/romSize \(16777216\) does not fit the image's ROM BAR 0xfe800000/);
    // and the machine still takes the right description
    hw.addEndpoint(BDF, { configImage: image, barSizes: sizes, romSize: romSizeOf(e1000e) });
    expect(hw.configRead(BDF, 0, 4)).toBe(0x10d38086);
  });

  it('a 64-bit BAR: its upper half must be null, and BAR5 cannot be one', async () => {
    hw = await newHardware();
    const b = base();
    set32(b, 0x10, 0xfe00000c);
    expect(refuse({ configImage: b, barSizes: [0x4000, 0x4000] })).toMatch(/barSizes\[1\] must be null: BAR0 is a 64-bit BAR/);
    const b5 = base();
    set32(b5, 0x10, 0);
    set32(b5, 0x24, 0x0000000c);
    expect(refuse({ configImage: b5, barSizes: [null, null, null, null, null, 0x4000] })).toMatch(/BAR5 in the image .* is a 64-bit BAR/);
    const ok = base();
    set32(ok, 0x10, 0x0000000c);
    set32(ok, 0x14, 0x00000040);
    hw.addEndpoint(BDF, { configImage: ok, barSizes: [2 ** 33, null] });
    expect([hw.configRead(BDF, 0x10, 4), hw.configRead(BDF, 0x14, 4)]).toEqual([0x0000000c, 0x40]);
  });
});
