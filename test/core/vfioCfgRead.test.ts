import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createEmulator } from '../../src/index.js';
import { L } from '../../src/core/wasm.js';

// The vfio read rule in the wasm core: (hw & ~virt) | (vconfig & virt). vfioCfgMerge applies it to a
// hardware value the caller read itself (a register with read side effects); both keep bad calls
// inside their slot and answer all-ones for them.
describe('wasm vfio config reads', () => {
  it('vfioCfgMerge with the stored hardware value is vfioCfgRead; vfioCfgAllVirt is the VIRT mask test', async () => {
    const emu = await createEmulator();
    const fn = emu.hw.addEndpoint('0000:00:01.0', { vendorId: 0x1234, deviceId: 0x5678, classCode: 0x020000 });
    const s = fn.slot;
    const { raw, mem } = fn.core;
    const vbase = mem.vfioBase(s);
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 8, maxLength: 8 }), fc.uint8Array({ minLength: 8, maxLength: 8 }), fc.constantFrom(1, 2, 4), fc.nat(3), async (virt, vconf, size, at) => {
        const off = 0x40 + ((at * size) & 3 & ~(size - 1));
        mem.u8.set(virt, vbase + L.VIRT + 0x40);
        mem.u8.set(vconf, vbase + L.VCONFIG + 0x40);
        const hw = fn.configRead(off, size as 1 | 2 | 4);
        expect(raw.vfioCfgMerge(s, off, size, hw) >>> 0).toBe(raw.vfioCfgRead(s, off, size) >>> 0);
        const v = virt.subarray(off - 0x40, off - 0x40 + size);
        expect(raw.vfioCfgAllVirt(s, off, size)).toBe(v.every((b) => b === 0xff) ? 1 : 0);
        let want = 0;
        for (let i = size - 1; i >= 0; i--) want = (want * 256) + ((((hw >>> (8 * i)) & 0xff) & ~v[i]) | (vconf[off - 0x40 + i] & v[i]));
        expect(raw.vfioCfgRead(s, off, size) >>> 0).toBe(want);
      }),
    );
    mem.u8.fill(0, vbase + L.VIRT + 0x40, vbase + L.VIRT + 0x48);
    for (const [slot, off, size] of [[-1, 0, 4], [0x7fffffff, 0, 2], [s, 1, 2], [s, 0x1000, 1], [s, 0, 3]]) {
      expect(raw.vfioCfgMerge(slot, off, size, 0) >>> 0).toBe(size === 2 ? 0xffff : size === 1 ? 0xff : 0xffffffff);
      expect(raw.vfioCfgAllVirt(slot, off, size)).toBe(0);
    }
  });
});
