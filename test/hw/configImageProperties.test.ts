// Property tests (fast-check) for cloning from a config image: random images (built with capability
// chains and BARs that are often, but not always, consistent; real dumps with bytes mutated) and
// random lspci text either give an Error that is not a TypeError/RangeError, or a function whose
// config space is the image and which survives random config writes and removal.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Hardware } from '../../src/index.js';
import { formatLspciText, parseConfigImage } from '../../src/hw/configImageParse.js';
import type { ConfigImageSpec } from '../../src/hw/spec.js';
import { barSizesOf, hexBytes, loadRealDump, romSizeOf } from '../fixtures/real/load.js';
import { newHardware } from './helpers.js';

const BDF = '0000:00:05.0';
const real = [loadRealDump('e1000e'), loadRealDump('virtio-net-pci')];

const set32 = (b: Uint8Array, o: number, v: number) => b.set([v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff], o);

/** A BAR as the image has it and the size given for it (sometimes one that does not fit). */
const barArb = fc.oneof(
  fc.constant({ reg: 0, hi: 0, size: null as number | null, is64: false }),
  fc.record({ log: fc.integer({ min: 2, max: 8 }), slot: fc.nat({ max: 0xff }) }).map(({ log, slot }) => ({ reg: ((0xc000 + slot * 256) & ~(2 ** log - 1)) | 1, hi: 0, size: 2 ** log as number | null, is64: false })),
  fc.record({ log: fc.integer({ min: 4, max: 31 }), pref: fc.boolean(), at: fc.nat({ max: 0x7fff }) }).map(({ log, pref, at }) => ({ reg: ((at * 2 ** 16) % 2 ** 32 & ~(2 ** log - 1) & ~0xf) >>> 0 | (pref ? 8 : 0), hi: 0, size: 2 ** log as number | null, is64: false })),
  fc.record({ log: fc.integer({ min: 4, max: 40 }), hi: fc.nat({ max: 0xff }) }).map(({ log, hi }) => ({ reg: 0x0c, hi: log > 32 ? hi & ~(2 ** (log - 32) - 1) : hi, size: 2 ** log as number | null, is64: true })),
  fc.record({ reg: fc.nat({ max: 0xffffffff }), size: fc.oneof(fc.constant(null), fc.nat({ max: 2 ** 33 })) }).map(({ reg, size }) => ({ reg, hi: 0, size, is64: false })),
);

const CAP_IDS = [0x01, 0x05, 0x09, 0x10, 0x11, 0x03, 0x12, 0x00, 0xff];

/** A structured image: header, BARs, a capability chain of known and unknown IDs, maybe extended caps; then a few random bytes. */
const imageArb = fc
  .record({
    big: fc.boolean(),
    vendor: fc.oneof({ arbitrary: fc.integer({ min: 0, max: 0xfffe }), weight: 9 }, { arbitrary: fc.constant(0xffff), weight: 1 }),
    headerType: fc.oneof({ arbitrary: fc.constant(0), weight: 8 }, { arbitrary: fc.nat({ max: 0xff }), weight: 1 }),
    bars: fc.array(barArb, { minLength: 6, maxLength: 6 }),
    caps: fc.array(fc.record({ id: fc.constantFrom(...CAP_IDS), at: fc.integer({ min: 0x10, max: 0x3f }), body: fc.array(fc.nat({ max: 0xff }), { minLength: 10, maxLength: 10 }) }), { maxLength: 6 }),
    capList: fc.oneof({ arbitrary: fc.constant(true), weight: 4 }, { arbitrary: fc.constant(false), weight: 1 }),
    ext: fc.array(fc.record({ id: fc.nat({ max: 0x30 }), at: fc.integer({ min: 0x40, max: 0x3ff }), version: fc.nat({ max: 15 }) }), { maxLength: 4 }),
    noise: fc.array(fc.record({ off: fc.nat({ max: 4095 }), value: fc.nat({ max: 0xff }) }), { maxLength: 6 }),
    romLog: fc.oneof(fc.constant(null), fc.integer({ min: 11, max: 20 })),
  })
  .map((r) => {
    const img = new Uint8Array(r.big ? 4096 : 256);
    img.set([r.vendor & 0xff, r.vendor >>> 8, 0x34, 0x12], 0);
    img[0x0e] = r.headerType;
    const barSizes: (number | null)[] = [];
    for (let i = 0; i < 6; i++) {
      const b = r.bars[i];
      if (barSizes.length > i) continue; // the upper half of a 64-bit BAR
      set32(img, 0x10 + 4 * i, b.reg);
      barSizes.push(b.size);
      if (b.is64 && i < 5) {
        set32(img, 0x14 + 4 * i, b.hi);
        barSizes.push(null);
      }
    }
    let prev = 0x34;
    for (const c of r.caps) {
      const off = c.at * 4;
      img[prev] = off;
      img[off] = c.id;
      img.set(c.body.slice(0, Math.min(10, 0x100 - off - 2)), off + 2);
      img[off + 1] = 0;
      if (c.id === 0x10) img[off + 2] = (img[off + 2] & 0xf0) | (c.body[0] & 1 ? 2 : 1);
      prev = off + 1;
    }
    if (r.capList) img[0x06] |= 0x10;
    if (r.big && r.ext.length) {
      let at = 0x100;
      r.ext.forEach((e, i) => {
        const next = i + 1 < r.ext.length ? r.ext[i + 1].at * 4 : 0;
        set32(img, at, (e.id | (e.version << 16) | (next << 20)) >>> 0);
        at = next;
      });
    }
    for (const n of r.noise) if (n.off < img.length) img[n.off] = n.value;
    return { configImage: img, barSizes, romSize: r.romLog === null ? undefined : 2 ** r.romLog } as ConfigImageSpec;
  });

/** A real dump with bytes changed. */
const mutatedRealArb = fc
  .record({ which: fc.nat({ max: 1 }), noise: fc.array(fc.record({ off: fc.nat({ max: 0x17f }), value: fc.nat({ max: 0xff }) }), { minLength: 1, maxLength: 4 }), short: fc.boolean() })
  .map(({ which, noise, short }) => {
    const d = real[which];
    const img = hexBytes(d.raw.config);
    for (const n of noise) img[n.off] = n.value;
    return { configImage: short ? img.slice(0, 256) : img, barSizes: barSizesOf(d), romSize: romSizeOf(d) } as ConfigImageSpec;
  });

const writeArb = fc.record({ size: fc.constantFrom(1 as const, 2 as const, 4 as const), at: fc.nat({ max: 4095 }), value: fc.nat({ max: 0xffffffff }) });

describe('property: cloning never crashes', () => {
  let hw: Hardware;
  beforeAll(async () => {
    hw = await newHardware();
  });

  function tryClone(spec: ConfigImageSpec, writes: { size: 1 | 2 | 4; at: number; value: number }[]): 'made' | 'refused' {
    let made = false;
    try {
      hw.addEndpoint(BDF, spec);
      made = true;
    } catch (e) {
      if (!(e instanceof Error) || e instanceof TypeError || e instanceof RangeError) throw e;
      expect(e.message.length).toBeGreaterThan(10);
      expect(hw.functions().some((f) => f.bdf === BDF)).toBe(false);
      return 'refused';
    }
    try {
      const img = spec.configImage as Uint8Array;
      for (let o = 0; o < 4096; o++) {
        const want = o >= img.length ? 0 : o === 0x0e ? img[o] & 0x7f : img[o]; // Header Type bit 7 follows the topology
        const got = hw.configRead(BDF, o, 1);
        if (got !== want) throw new Error(`byte 0x${o.toString(16)} reads 0x${got.toString(16)}, the image has 0x${want.toString(16)}`);
      }
      for (const w of writes) hw.configWrite(BDF, w.at - (w.at % w.size), w.size, w.value);
      void made;
      return 'made';
    } finally {
      hw.removeFunction(BDF);
    }
  }

  it('random structured images: an Error, or a function equal to the image that takes any config writes', () => {
    const seen = { made: 0, refused: 0 };
    fc.assert(
      fc.property(imageArb, fc.array(writeArb, { maxLength: 20 }), (spec, writes) => {
        seen[tryClone(spec, writes)]++;
      }),
      { numRuns: 400 },
    );
    // the generator reaches both outcomes, so the property is not vacuous
    expect(seen.made).toBeGreaterThan(20);
    expect(seen.refused).toBeGreaterThan(20);
  });

  it('real dumps with mutated bytes (header, capabilities, extended capabilities)', () => {
    const seen = { made: 0, refused: 0 };
    fc.assert(
      fc.property(mutatedRealArb, fc.array(writeArb, { maxLength: 20 }), (spec, writes) => {
        seen[tryClone(spec, writes)]++;
      }),
      { numRuns: 300 },
    );
    expect(seen.made).toBeGreaterThan(20);
    expect(seen.refused).toBeGreaterThan(5);
  });

  it('random barSizes, romSize and masks of any type are refused with an Error or accepted', () => {
    const d = real[0];
    const anyValue = fc.oneof(fc.constant(null), fc.constant(undefined), fc.double(), fc.integer(), fc.string(), fc.constant(2 ** 17), fc.constant(32));
    fc.assert(
      fc.property(fc.array(anyValue, { maxLength: 8 }), anyValue, fc.oneof(fc.constant(undefined), fc.uint8Array({ minLength: 4096, maxLength: 4096 }), fc.uint8Array({ maxLength: 300 })), (sizes, rom, mask) => {
        tryClone({ configImage: hexBytes(d.raw.config), barSizes: sizes as number[], romSize: rom as number, writableMask: mask, rw1cMask: mask }, []);
      }),
      { numRuns: 300 },
    );
  });
});

describe('property: lspci text parsing never crashes', () => {
  const valid = formatLspciText(hexBytes(real[0].raw.config));
  const lines = valid.split('\n');

  function tryParse(text: string): void {
    try {
      const b = parseConfigImage(text);
      expect([256, 4096]).toContain(b.length);
    } catch (e) {
      if (!(e instanceof Error) || e instanceof TypeError || e instanceof RangeError) throw e;
      expect(e.message).toMatch(/^configImage/);
    }
  }

  it('random text', () => {
    fc.assert(fc.property(fc.string({ maxLength: 400 }), tryParse), { numRuns: 300 });
  });

  it('a real lspci -xxxx text with lines dropped, repeated or edited', () => {
    const edit = fc.record({ line: fc.nat({ max: lines.length - 1 }), kind: fc.constantFrom('drop', 'dup', 'char', 'title'), pos: fc.nat({ max: 60 }), ch: fc.constantFrom('g', ' ', ':', '0', 'f', '\t', '') });
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 3 }), (edits) => {
        const ls = [...lines];
        for (const e of edits) {
          const l = ls[e.line] ?? '';
          if (e.kind === 'drop') ls.splice(e.line, 1);
          else if (e.kind === 'dup') ls.splice(e.line, 0, l);
          else if (e.kind === 'title') ls.splice(e.line, 0, '01:00.0 Ethernet controller: Intel Corporation 82574L');
          else ls[e.line] = l.slice(0, e.pos) + e.ch + l.slice(e.pos + 1);
        }
        tryParse(ls.join('\n'));
      }),
      { numRuns: 300 },
    );
  });
});
