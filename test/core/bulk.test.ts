import { describe, expect, it } from 'vitest';
import { createEmulator } from '../../src/index.js';
import { L } from '../../src/core/wasm.js';

// The one-call loops of the wasm core (DESIGN: bulk work is one call that loops inside wasm).
describe('wasm bulk exports', () => {
  it('cfgReadMany answers what one cfgRead per slot answers, all-ones for absent slots', async () => {
    const emu = await createEmulator();
    const fns = [0, 1, 2].map((d) =>
      emu.hw.addEndpoint(`0000:00:0${d + 1}.0`, { vendorId: 0x1000 + d, deviceId: 0x2000 + d, classCode: 0x020000 + d, revision: d }),
    );
    const { raw, mem } = emu.hw.core;
    const slots = [fns[0].slot, -1, fns[2].slot, 0x7fffffff, fns[1].slot];
    const u32 = new Uint32Array(mem.u8.buffer, L.SCRATCH, slots.length);
    slots.forEach((s, i) => (u32[i] = s >>> 0));
    const out = 256;
    for (const [off, size] of [[0, 4], [2, 2], [8, 1], [9, 1], [0x0e, 2]] as const) {
      expect(raw.cfgReadMany(slots.length, off, size, out)).toBe(slots.length);
      const got = Array.from(new Uint32Array(mem.u8.buffer, L.SCRATCH + out, slots.length));
      const want = slots.map((s) => raw.cfgRead(s, off, size) >>> 0);
      expect(got).toEqual(want);
      expect(got[1]).toBe(size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff);
    }
    // a misaligned access or an output area over the slot list is refused, nothing written
    expect(raw.cfgReadMany(slots.length, 1, 2, out)).toBe(-1);
    expect(raw.cfgReadMany(slots.length, 0, 4, 4)).toBe(-1);
  });
});
