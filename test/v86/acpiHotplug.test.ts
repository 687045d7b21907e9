// The PIIX4 ACPI PCI hotplug controller against what SeaBIOS's tables and Linux do with it: the
// boot-time RMV read, the GPE enable, a hot-add (GPE bit 1 + SCI, PCNF reading PCIU once per slot),
// Linux's W1C clear of the GPE status, an unplug request and the _EJ0 write.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AcpiPciHotplug, GPE0_BASE, PCIHP_BASE, SCI_IRQ } from '../../src/v86/acpiHotplug.js';
import type { AcpiHotplugCpu } from '../../src/v86/acpiHotplug.js';

type Entry = { read8: (p: number) => number; read32: (p: number) => number; write8: (v: number) => void; write32: (v: number) => void };

/** Enough of v86's I/O bus (io.js) and IRQ lines to run the controller as the guest would. */
function fakeCpu() {
  const empty = (): Entry => ({ read8: () => 0xff, read32: () => -1, write8: () => {}, write32: () => {} });
  const ports: Entry[] = Array.from({ length: 0x10000 }, empty);
  const irqs: string[] = [];
  const cpu: AcpiHotplugCpu = {
    io: {
      ports,
      register_read(port, _d, r8, r16, r32) {
        if (r8) ports[port].read8 = r8;
        if (r32) ports[port].read32 = r32;
        void r16;
      },
      register_write(port, _d, w8, w16, w32) {
        if (w8) ports[port].write8 = w8;
        if (w32) ports[port].write32 = w32;
        void w16;
      },
    },
    device_raise_irq: (i) => irqs.push(`+${i}`),
    device_lower_irq: (i) => irqs.push(`-${i}`),
  };
  const inl = (p: number) => ports[p].read32(p) >>> 0;
  const inb = (p: number) => ports[p].read8(p);
  const outl = (p: number, v: number) => ports[p].write32(v);
  const outb = (p: number, v: number) => ports[p].write8(v);
  return { cpu, irqs, inl, inb, outl, outb };
}

describe('ACPI PCI hotplug (PIIX4, 0xae00-0xae13, GPE0 0xafe0)', () => {
  it('boot: RMV names the hot-pluggable slots; nothing is pending; the GPE block starts clear', () => {
    const m = fakeCpu();
    new AcpiPciHotplug({ fixedSlots: [1, 7], presentSlots: [1, 5, 7] }).attach(m.cpu);
    expect(m.inl(PCIHP_BASE + 0x0c)).toBe(0xffffff7c); // not 0 (host bridge), 1, 7
    expect(m.inl(PCIHP_BASE)).toBe(1 << 5); // present and hot-pluggable
    expect(m.inl(PCIHP_BASE + 4)).toBe(0);
    expect([0, 1, 2, 3].map((i) => m.inb(GPE0_BASE + i))).toEqual([0, 0, 0, 0]);
  });

  it('Linux clearing every GPE status bit at boot (writes 0xff) leaves them clear, unlike plain storage', () => {
    const m = fakeCpu();
    new AcpiPciHotplug().attach(m.cpu);
    m.outb(GPE0_BASE, 0xff);
    m.outb(GPE0_BASE + 1, 0xff);
    expect(m.inb(GPE0_BASE)).toBe(0);
    expect(m.irqs).toEqual([]);
  });

  it('hot-add: GPE status bit 1, the SCI once enabled, PCIU stable across reads, W1C lowers the SCI', () => {
    const m = fakeCpu();
    const hp = new AcpiPciHotplug({ fixedSlots: [1] });
    hp.attach(m.cpu);
    hp.plug(9);
    expect(m.inb(GPE0_BASE) & 2).toBe(2);
    expect(m.irqs).toEqual([]); // not enabled yet
    m.outb(GPE0_BASE + 2, 0x02); // Linux enables GPE 1 (_E01 exists)
    expect(m.irqs).toEqual([`+${SCI_IRQ}`]);
    m.outb(GPE0_BASE, 0x02); // edge GPE: status cleared before _E01 runs
    expect(m.irqs).toEqual([`+${SCI_IRQ}`, `-${SCI_IRQ}`]);
    // PCNF reads PCIU once per slot: each read sees slot 9
    for (let i = 0; i < 31; i++) expect(m.inl(PCIHP_BASE) & (1 << 9)).toBe(1 << 9);
    expect(() => hp.plug(1)).toThrow(/slot 1 is not hot-pluggable/);
    expect(() => hp.plug(32)).toThrow(RangeError);
  });

  it('unplug: PCID until the guest writes B0EJ; the eject callback runs once; fixed slots stay', () => {
    const m = fakeCpu();
    const ejected: number[] = [];
    const hp = new AcpiPciHotplug({ fixedSlots: [1], presentSlots: [1, 4], onEject: (s) => ejected.push(s) });
    hp.attach(m.cpu);
    hp.requestUnplug(4);
    expect(m.inl(PCIHP_BASE + 4)).toBe(1 << 4);
    m.outl(PCIHP_BASE + 8, 1 << 4);
    expect(m.inl(PCIHP_BASE + 4)).toBe(0);
    expect(m.inl(PCIHP_BASE) & (1 << 4)).toBe(0);
    expect(ejected).toEqual([4]);
    m.outl(PCIHP_BASE + 8, 1 << 1); // a no_hotplug slot is not removed
    expect(ejected).toEqual([4]);
    expect(hp.presentSlots & 2).toBe(2);
  });

  it('bus select: buses other than 0 read as empty; the select reads back', () => {
    const m = fakeCpu();
    const hp = new AcpiPciHotplug({ presentSlots: [3] });
    hp.attach(m.cpu);
    m.outl(PCIHP_BASE + 0x10, 2);
    expect(m.inl(PCIHP_BASE + 0x10)).toBe(2);
    expect(m.inl(PCIHP_BASE)).toBe(0);
    m.outl(PCIHP_BASE + 0x10, 0);
    expect(m.inl(PCIHP_BASE)).toBe(1 << 3);
  });

  it('detach puts the previous port handlers back', () => {
    const m = fakeCpu();
    const detach = new AcpiPciHotplug({ presentSlots: [3] }).attach(m.cpu);
    expect(m.inl(PCIHP_BASE)).toBe(8);
    detach();
    expect(m.inl(PCIHP_BASE)).toBe(0xffffffff);
  });

  it('any access sequence: reads stay in range, no throw, state only through the documented bits', () => {
    const access = fc.record({
      port: fc.integer({ min: 0xadf0, max: 0xaff0 }),
      size: fc.constantFrom<1 | 2 | 4>(1, 2, 4),
      value: fc.integer({ min: -(2 ** 31), max: 2 ** 32 - 1 }),
      write: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(access, { maxLength: 60 }), (seq) => {
        const ejected: number[] = [];
        const hp = new AcpiPciHotplug({ fixedSlots: [1, 7], presentSlots: [1, 7, 3], onEject: (s) => ejected.push(s) });
        for (const a of seq) {
          const gpe = a.port >= GPE0_BASE && a.port < GPE0_BASE + 4;
          if (a.write) (gpe ? hp.gpeWrite(a.port, a.size, a.value) : hp.write(a.port, a.size, a.value));
          else {
            const v = gpe ? hp.gpeRead(a.port, a.size) : hp.read(a.port, a.size);
            expect(v).toBeGreaterThanOrEqual(0);
            expect(v).toBeLessThan(2 ** (8 * a.size));
          }
        }
        expect(hp.presentSlots & 0x82).toBe(0x82); // fixed slots never leave
        expect(ejected.every((s) => s !== 1 && s !== 7 && s !== 0)).toBe(true);
        expect(hp.hotplugEnable).toBe(0xffffff7c);
      }),
    );
  });
});
