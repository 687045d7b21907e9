// Each emulator has its own wasm core; destroy() releases it and everything built on it throws a
// clear Error afterwards; what one emulator does is never seen by another.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createEmulator, VFIO } from '../../src/index.js';
import type { Emulator } from '../../src/index.js';
import { L } from '../../src/core/wasm.js';

const NIC = {
  vendorId: 0x8086, deviceId: 0x10d3, classCode: 0x020000,
  bars: [{ kind: 'mem32' as const, size: 0x20000 }, null, { kind: 'io' as const, size: 32 }],
  capabilities: [{ id: 'pm' as const }, { id: 'msi' as const, vectors: 4 as const }, { id: 'pcie' as const }],
};

async function machine(): Promise<Emulator> {
  const emu = await createEmulator({ memoryBytes: 1 << 20 });
  emu.hw.addEndpoint('0000:00:02.0', NIC);
  emu.hw.addEndpoint('0000:00:03.0', { ...NIC, capabilities: [{ id: 'msix', vectors: 8, tableBar: 0, tableOffset: 0x1000, pbaBar: 0, pbaOffset: 0x2000 }, { id: 'pcie' }] });
  return emu;
}

const DESTROYED = /^pcisim: this emulator was destroyed$/;

describe('one core per emulator', () => {
  it('two emulators have their own instance and memory', async () => {
    const a = await machine();
    const b = await machine();
    // (identity checks as booleans: a failing .not.toBe would deep-compare two whole emulators)
    expect(a.hw.core === b.hw.core).toBe(false);
    expect(a.hw.core.raw.memory === b.hw.core.raw.memory).toBe(false);
    // the same slot number names different storage in each
    const fa = a.hw.function('0000:00:02.0')!;
    const fb = b.hw.function('0000:00:02.0')!;
    expect(fa.slot).toBe(fb.slot);
    a.hw.configWrite(fa.bdf, 0x3c, 1, 0x5a);
    expect(b.hw.configRead(fb.bdf, 0x3c, 1)).toBe(0);
    expect(fa.core === a.hw.core).toBe(true);
  });

  it('random config writes, BAR accesses and interrupts on one emulator leave the other byte-for-byte unchanged', async () => {
    const a = await machine();
    const b = await machine();
    const bdfs = ['0000:00:02.0', '0000:00:03.0'];
    const op = fc.record({
      bdf: fc.constantFrom(...bdfs),
      off: fc.integer({ min: 0, max: 1023 }),
      size: fc.constantFrom(1, 2, 4),
      value: fc.integer({ min: 0, max: 0xffffffff }),
      vector: fc.integer({ min: 0, max: 8 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 80 }), async (ops) => {
        const before = b.hw.core.mem.u8.slice();
        const cfgBefore = bdfs.map((d) => Array.from({ length: 1024 }, (_, i) => b.hw.configRead(d, i * 4, 4)));
        for (const o of ops) {
          const off = o.off & ~(o.size - 1);
          a.hw.configWrite(o.bdf, off, o.size as 1 | 2 | 4, o.value);
          const f = a.hw.function(o.bdf)!;
          f.signal(o.vector);
          f.barWrite(0, (o.value & 0x3ffc) % 0x20000, 4, o.value);
        }
        expect(b.hw.core.mem.u8.length).toBe(before.length);
        expect(Buffer.compare(b.hw.core.mem.u8, before)).toBe(0);
        expect(bdfs.map((d) => Array.from({ length: 1024 }, (_, i) => b.hw.configRead(d, i * 4, 4)))).toEqual(cfgBefore);
      }),
      { numRuns: 40 },
    );
  });
});

describe('destroy()', () => {
  it('after destroy every method of the emulator, hw, host, functions and open files throws a clear Error', async () => {
    const emu = await machine();
    const fn = emu.hw.function('0000:00:02.0')!;
    emu.host.bind(fn.bdf);
    const file = emu.host.openDevice(fn.bdf);
    const cfg = BigInt(VFIO.PCI_CONFIG_REGION_INDEX) << 40n;
    expect(file.read(cfg, 2)).toEqual(new Uint8Array([0x86, 0x80]));
    const core = emu.hw.core;
    emu.destroy();
    expect(core.destroyed).toBe(true);
    expect(() => emu.hw.configRead(fn.bdf, 0, 4)).toThrow(DESTROYED);
    expect(() => emu.hw.configWrite(fn.bdf, 0, 4, 0)).toThrow(DESTROYED);
    expect(() => emu.hw.addEndpoint('0000:00:04.0', NIC)).toThrow(DESTROYED);
    expect(() => emu.hw.functions()).toThrow(DESTROYED);
    expect(() => emu.hw.ioRead(0xcfc, 4)).toThrow(DESTROYED);
    expect(() => emu.host.bind(fn.bdf)).toThrow(DESTROYED);
    expect(() => emu.host.openDevice(fn.bdf)).toThrow(DESTROYED);
    expect(() => emu.host.eventfd()).toThrow(DESTROYED);
    expect(() => fn.configRead(0, 4)).toThrow(DESTROYED);
    expect(() => file.read(cfg, 2)).toThrow(DESTROYED);
    expect(() => file.close()).toThrow(DESTROYED);
    expect(() => core.raw.cfgRead(0, 0, 4)).toThrow(DESTROYED);
    expect(() => emu.destroy()).toThrow(DESTROYED);
    // the views no longer reach the old memory
    expect(core.mem.u8.length).toBe(0);
  });

  it('a VMM guest bus built on the emulator goes down with it', async () => {
    const { Vmm } = await import('../../src/index.js');
    const emu = await machine();
    const vmm = new Vmm(emu);
    expect(vmm.hw.core === emu.hw.core).toBe(true);
    emu.destroy();
    expect(() => vmm.hw.configRead('0000:00:00.0', 0, 4)).toThrow(DESTROYED);
  });

  it('an emulator created after another was destroyed starts from blank memory (a recycled instance is wiped)', async () => {
    for (let round = 0; round < 6; round++) {
      const a = await machine();
      a.hw.configWrite('0000:00:02.0', 0x3c, 1, 0x5a);
      a.destroy();
      const b = await createEmulator({ memoryBytes: 1 << 20 });
      const u8 = b.hw.core.mem.u8;
      expect(u8.subarray(L.SCRATCH).every((x) => x === 0)).toBe(true);
      expect(b.hw.functions()).toEqual([]);
      const f = b.hw.addEndpoint('0000:00:02.0', { vendorId: 0x1234, deviceId: 0x5678, classCode: 0x020000 });
      expect(b.hw.configRead(f.bdf, 0x3c, 1)).toBe(0);
      expect(b.hw.configRead(f.bdf, 0, 4)).toBe(0x56781234);
      b.destroy();
    }
  });

  it('destroying one emulator leaves another working', async () => {
    const a = await machine();
    const b = await machine();
    a.destroy();
    expect(b.hw.configRead('0000:00:02.0', 0, 4)).toBe(0x10d38086);
    b.hw.configWrite('0000:00:02.0', 0x10, 4, 0xffffffff);
    expect(b.hw.configRead('0000:00:02.0', 0x10, 4)).toBe(0xfffe0000);
  });
});

describe('footprint', () => {
  it('a function without MSI-X or vfio takes one base block; MSI-X is sized by its vectors; vfio state comes when vfio opens it', async () => {
    const emu = await createEmulator({ memoryBytes: 1 << 20 });
    const { raw, mem } = emu.hw.core;
    const plain = emu.hw.addEndpoint('0000:00:02.0', NIC);
    expect(L.BASE_SIZE).toBeLessThan(24 << 10);
    expect(raw.slotVfio(plain.slot, 0)).toBe(0);
    expect(mem.msixBase(plain.slot)).toBe(0);
    expect(mem.slotBytes(plain.slot).length).toBe(L.BASE_SIZE);
    const small = emu.hw.addEndpoint('0000:00:03.0', { ...NIC, capabilities: [{ id: 'msix', vectors: 4, tableBar: 0, tableOffset: 0x1000, pbaBar: 0, pbaOffset: 0x2000 }] });
    expect(mem.slotBytes(small.slot).length).toBe(L.BASE_SIZE + 4 * 16 + 8);
    emu.host.bind(plain.bdf);
    emu.host.openDevice(plain.bdf);
    expect(raw.slotVfio(plain.slot, 0)).not.toBe(0);
    expect(mem.slotBytes(plain.slot).length).toBe(L.BASE_SIZE + L.VFIO_SIZE);
  });

  it('the core\'s views follow its memory when allocation grows it; what was stored stays', async () => {
    const emu = await createEmulator({ memoryBytes: 1 << 20 });
    const { raw, mem } = emu.hw.core;
    const first = emu.hw.addEndpoint('0000:00:02.0', NIC);
    emu.hw.configWrite(first.bdf, 0x3c, 1, 0x5a);
    const pages = raw.memoryPages();
    for (let d = 3; raw.memoryPages() === pages; d++) {
      emu.hw.addEndpoint(`0000:${(d >> 5).toString(16).padStart(2, '0')}:${(d & 31).toString(16).padStart(2, '0')}.0`, NIC);
    }
    // every view is over the grown memory (none over the detached buffer), and reads through them agree
    for (const v of [mem.u8, mem.u16, mem.u32, mem.f64]) expect(v.buffer === raw.memory.buffer).toBe(true);
    expect(emu.hw.configRead(first.bdf, 0x3c, 1)).toBe(0x5a);
    expect(emu.hw.configRead(first.bdf, 0, 4)).toBe(0x10d38086);
    emu.hw.configWrite(first.bdf, 0x3c, 1, 0xa5);
    expect(mem.u8[mem.base(first.slot) + L.CFG + 0x3c]).toBe(0xa5);
  });

  it('a removed function\'s slot and blocks go to the next function: memory does not grow', async () => {
    const emu = await createEmulator({ memoryBytes: 1 << 20 });
    const { raw, mem } = emu.hw.core;
    for (let i = 0; i < 4; i++) emu.hw.addEndpoint(`0000:00:0${i + 2}.0`, NIC).slot;
    const pages = raw.memoryPages();
    const inUse = mem.slotsInUse;
    for (let round = 0; round < 2000; round++) {
      const f = emu.hw.addEndpoint('0000:00:10.0', { ...NIC, capabilities: [{ id: 'msix', vectors: 64, tableBar: 0, tableOffset: 0x1000, pbaBar: 0, pbaOffset: 0x2000 }] });
      emu.hw.configWrite(f.bdf, 0x3c, 1, round & 0xff);
      emu.hw.removeFunction(f.bdf);
    }
    expect(raw.memoryPages()).toBe(pages);
    expect(mem.slotsInUse).toBe(inUse + 1); // + the shared dead slot removed functions point at
  });
});
