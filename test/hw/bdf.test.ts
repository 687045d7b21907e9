import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { createEmulator, isPciError, parseBdf, PciError, PciRangeError } from '../../src/index.js';
import type { Emulator } from '../../src/index.js';

const nic = { vendorId: 0x8086, deviceId: 0x10d3, classCode: 0x020000 };

describe('PCI addresses: the short bb:dd.f form means domain 0000 everywhere', () => {
  let emu: Emulator;
  beforeEach(async () => {
    emu = await createEmulator({ memoryBytes: 1 << 20 });
  });

  it('addEndpoint takes it and stores the canonical sysfs form', () => {
    const f = emu.hw.addEndpoint('00:02.0', nic);
    expect(f.bdf).toBe('0000:00:02.0');
    expect(() => emu.hw.addEndpoint('0000:00:02.0', nic)).toThrow(/already exists/);
  });

  it('configRead/configWrite, function() and the host see the same function through either form', () => {
    emu.hw.addEndpoint('0000:00:02.0', nic);
    expect(emu.hw.configRead('00:02.0', 0, 2)).toBe(0x8086);
    expect(emu.hw.configRead('00:02.0', 2, 2)).toBe(0x10d3);
    expect(emu.hw.configRead('00:02.0', 0, 4)).toBe(emu.hw.configRead('0000:00:02.0', 0, 4));
    emu.hw.configWrite('00:02.0', 0x04, 2, 0x0002);
    expect(emu.hw.configRead('0000:00:02.0', 0x04, 2) & 2).toBe(2);
    expect(emu.hw.function('00:02.0')).toBe(emu.hw.function('0000:00:02.0'));
    expect(emu.host.modalias('00:02.0')).toBe(emu.host.modalias('0000:00:02.0'));
    expect(emu.hw.configRead('00:03.0', 0, 4)).toBe(0xffffffff); // absent: all-ones, as hardware
  });

  it('upper case hex is the same address', () => {
    emu.hw.addEndpoint('00:1F.7', nic);
    expect(emu.hw.configRead('0000:00:1f.7', 0, 2)).toBe(0x8086);
    expect(emu.hw.functions().map((f) => f.bdf)).toEqual(['0000:00:1f.7']);
  });

  it('parseBdf gives the same parts for both forms, domain 0 for the short one', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 31 }), fc.integer({ min: 0, max: 7 }), (bus, dev, fn) => {
        const short = `${bus.toString(16).padStart(2, '0')}:${dev.toString(16).padStart(2, '0')}.${fn}`;
        expect(parseBdf(short)).toEqual({ domain: 0, bus, device: dev, fn });
        expect(parseBdf('0000:' + short)).toEqual(parseBdf(short));
      }),
    );
  });

  it('anything else is a PciError EINVAL that quotes the string as a string', () => {
    for (const bad of ['0:01.0', '00:01', '00:01.8', '00:20.0', '0000:00:01.0 ', 'g0:00.0', '']) {
      let err: unknown;
      try {
        parseBdf(bad);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(PciError);
      expect(err).toBeInstanceOf(Error);
      expect((err as PciError).code).toBe('EINVAL');
      expect((err as PciError).errno).toBe(22);
      expect((err as Error).message).toContain(JSON.stringify(bad));
    }
    expect(() => parseBdf(1234 as unknown as string)).toThrow(/bad PCI address 1234:/);
  });
});

describe('hardware errors carry an errno code and print values as written', () => {
  let emu: Emulator;
  beforeEach(async () => {
    emu = await createEmulator({ memoryBytes: 1 << 20 });
  });

  function thrown(f: () => unknown): Error & { code?: string } {
    try {
      f();
    } catch (e) {
      return e as Error & { code?: string };
    }
    throw new Error('did not throw');
  }

  it('a string where an ID goes is printed quoted, the range in hex', () => {
    const e = thrown(() => emu.hw.addEndpoint('0000:00:02.0', { ...nic, vendorId: '8086' as unknown as number }));
    expect(e).toBeInstanceOf(PciError);
    expect(e.code).toBe('EINVAL');
    expect(e.message).toBe('vendorId must be an integer in 0x0..0xfffe, got "8086"');
  });

  it('an ID out of range is ERANGE, printed in hex', () => {
    const e = thrown(() => emu.hw.addEndpoint('0000:00:02.0', { ...nic, deviceId: 0x10000 }));
    expect(e.code).toBe('ERANGE');
    expect(e.message).toBe('deviceId must be an integer in 0x0..0xffff, got 0x10000');
  });

  it('config accesses the mechanisms cannot make are still RangeErrors, now with a code', () => {
    emu.hw.addEndpoint('0000:00:02.0', nic);
    const mis = thrown(() => emu.hw.configRead('0000:00:02.0', 0x11, 4));
    expect(mis).toBeInstanceOf(RangeError);
    expect(mis).toBeInstanceOf(PciRangeError);
    expect(mis.code).toBe('EFAULT');
    expect(mis.message).toBe('config access of 4 bytes at offset 0x11 is misaligned');
    const size = thrown(() => emu.hw.configRead('0000:00:02.0', 0, 3 as 4));
    expect(size.code).toBe('EINVAL');
    expect(thrown(() => emu.hw.configRead('0000:00:02.0', 0x1000, 1)).message).toBe('config offset 0x1000 is outside 0x0..0xfff');
  });

  it('an address taken is EEXIST, an unreachable bus or domain ENODEV', () => {
    emu.hw.addEndpoint('0000:00:02.0', nic);
    expect(isPciError(thrown(() => emu.hw.addEndpoint('00:02.0', nic)), 'EEXIST')).toBe(true);
    expect(isPciError(thrown(() => emu.hw.addEndpoint('0000:07:00.0', nic)), 'ENODEV')).toBe(true);
    expect(isPciError(thrown(() => emu.hw.addEndpoint('0001:00:01.0', nic)), 'ENODEV')).toBe(true);
    expect(isPciError(new Error('x'))).toBe(false);
  });

  it('bridges: a bus number taken is EEXIST, one not below is EINVAL, removing a bridge with children EBUSY', () => {
    emu.hw.addBridge('00:1c.0', { secondaryBus: 1 });
    emu.hw.addEndpoint('01:00.0', nic);
    expect(isPciError(thrown(() => emu.hw.addBridge('00:1d.0', { secondaryBus: 1 })), 'EEXIST')).toBe(true);
    expect(isPciError(thrown(() => emu.hw.addBridge('01:01.0', { secondaryBus: 1 })), 'EEXIST')).toBe(true);
    emu.hw.addBridge('01:02.0', { secondaryBus: 2 });
    expect(isPciError(thrown(() => emu.hw.addBridge('02:00.0', { secondaryBus: 2 })), 'EEXIST')).toBe(true);
    emu.hw.addBridge('00:1e.0', { secondaryBus: 5 });
    expect(isPciError(thrown(() => emu.hw.addBridge('05:00.0', { secondaryBus: 3 })), 'EINVAL')).toBe(true);
    expect(isPciError(thrown(() => emu.hw.removeFunction('00:1c.0')), 'EBUSY')).toBe(true);
    expect(emu.hw.configRead('0000:00:1c.0', 0, 2)).toBe(0x1b36); // still there
  });
});
