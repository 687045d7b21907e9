// VfioDeviceFile.readValue/writeValue: the same bytes, checks and errno as read/write with a buffer
// (random accesses over the config region and BAR0 compared one by one, on two identical devices);
// regionOffset() and number offsets that cannot be region offsets.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createEmulator } from '../../../src/emulator.js';
import type { VfioDeviceFile } from '../../../src/host/vfio/deviceFile.js';
import { VFIO } from '../../../src/host/vfio/uapi/constants.js';
import { regionOffset } from '../../../src/index.js';

const BDF = '0000:00:04.0';

async function open(): Promise<VfioDeviceFile> {
  const emu = await createEmulator({ memoryBytes: 1 << 20 });
  emu.hw.addEndpoint(BDF, {
    vendorId: 0x1af4,
    deviceId: 0x1041,
    classCode: 0x020000,
    interruptPin: 1,
    bars: [{ kind: 'mem32', size: 0x1000 }, { kind: 'io', size: 0x40 }, { kind: 'mem64', size: 0x4000, prefetchable: true }],
    capabilities: [{ id: 'pm' }, { id: 'msi', vectors: 2 }, { id: 'msix', vectors: 4, tableBar: 2, tableOffset: 0, pbaBar: 2, pbaOffset: 0x1000 }, { id: 'pcie', flr: true }],
  });
  emu.host.driverOverride(BDF, 'vfio-pci');
  emu.host.bind(BDF, 'vfio-pci');
  return emu.host.openDevice(BDF);
}

/** What a call did: its value, or its error's class and errno. */
function outcome(f: () => unknown): string {
  try {
    const v = f();
    return `ok ${v instanceof Uint8Array ? Array.from(v).join(',') : String(v)}`;
  } catch (e) {
    return `${(e as Error).constructor.name} ${(e as { code?: string }).code ?? ''}`;
  }
}

const le = (b: Uint8Array) => b.reduceRight((v, x) => v * 256 + x, 0);

describe('readValue / writeValue', () => {
  it('answer as read/write do, access by access, on two identical devices', async () => {
    const a = await open(); // driven through readValue/writeValue
    const b = await open(); // driven through read/write
    // memory decode on, so BAR0 reads reach the device
    a.write(regionOffset(VFIO.PCI_CONFIG_REGION_INDEX, 4), Uint8Array.of(2, 0));
    b.write(regionOffset(VFIO.PCI_CONFIG_REGION_INDEX, 4), Uint8Array.of(2, 0));
    const access = fc.record({
      region: fc.constantFrom(VFIO.PCI_CONFIG_REGION_INDEX, VFIO.PCI_BAR0_REGION_INDEX, VFIO.PCI_BAR2_REGION_INDEX, 9),
      off: fc.oneof(fc.nat(0x1100), fc.constantFrom(0xffe, 0xfff, 0x3ffe)),
      size: fc.constantFrom(1, 2, 4) as fc.Arbitrary<1 | 2 | 4>,
      write: fc.boolean(),
      value: fc.nat(0xffffffff),
      number: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(access, { maxLength: 60 }), (ops) => {
        for (const o of ops) {
          const at = o.number ? ((o.region * 2 ** 40 + o.off) as unknown as bigint) : regionOffset(o.region, o.off);
          if (o.write) {
            const bytes = Uint8Array.from({ length: o.size }, (_, i) => (o.value >>> (8 * i)) & 0xff);
            const viaBuf = outcome(() => b.write(at, bytes));
            const viaValue = outcome(() => a.writeValue(at, o.size, o.value));
            // write() reports its count where writeValue has nothing to return; a short write is EINVAL
            expect(viaValue.replace(/^ok .*/, 'ok'), `write ${o.region}:${o.off}/${o.size}`).toBe(viaBuf === `ok ${o.size}` ? 'ok' : viaBuf.startsWith('ok') ? 'VfioError EINVAL' : viaBuf);
          } else {
            const viaBuf = outcome(() => {
              const r = b.read(at, o.size);
              if (r.length !== o.size) throw Object.assign(new Error('short'), { code: 'EINVAL' });
              return le(r);
            });
            const viaValue = outcome(() => a.readValue(at, o.size));
            expect(viaValue.replace(/^VfioError/, 'Error'), `read ${o.region}:${o.off}/${o.size}`).toBe(viaBuf.replace(/^VfioError/, 'Error'));
          }
        }
      }),
      { numRuns: 40 },
    );
  });

  it('bad sizes, offsets and values are EINVAL; a closed file is EBADF', async () => {
    const f = await open();
    const cfg = regionOffset(VFIO.PCI_CONFIG_REGION_INDEX, 0);
    for (const size of [0, 3, 8, -1, 1.5, '4', 4n]) {
      expect(outcome(() => f.readValue(cfg, size as 4)), String(size)).toBe('VfioError EINVAL');
      expect(outcome(() => f.writeValue(cfg + 0x3cn, size as 4, 1)), String(size)).toBe('VfioError EINVAL');
    }
    for (const value of [Number.NaN, 1.5, 2 ** 32, -(2 ** 31) - 1, '1', 1n, null]) {
      expect(outcome(() => f.writeValue(cfg + 0x3cn, 1, value as number)), String(value)).toBe('VfioError EINVAL');
    }
    expect(f.readValue(cfg + 0x3cn, 1)).toBe(0);
    f.writeValue(cfg + 0x3cn, 1, -1); // the low byte of a negative int32 is fine
    expect(f.readValue(cfg + 0x3cn, 1)).toBe(0xff);
    expect(f.readValue(cfg, 4)).toBe(0x10411af4);
    f.close();
    expect(outcome(() => f.readValue(cfg, 4))).toBe('VfioError EBADF');
    expect(outcome(() => f.writeValue(cfg, 4, 0))).toBe('VfioError EBADF');
  });

  it('a number offset that is not a safe integer is EINVAL, never rounded into BAR0 or another region', async () => {
    const f = await open();
    const bad = [2 ** 53, 2 ** 53 + 2, 2 ** 60, 2 ** 64, -1, 0.5, Number.NaN, Number.POSITIVE_INFINITY];
    for (const off of bad) {
      expect(outcome(() => f.read(off as unknown as bigint, 4)), String(off)).toBe('VfioError EINVAL');
      expect(outcome(() => f.readValue(off as unknown as bigint, 4)), String(off)).toBe('VfioError EINVAL');
      expect(outcome(() => f.readInto(off as unknown as bigint, new Uint8Array(4))), String(off)).toBe('VfioError EINVAL');
      expect(outcome(() => f.write(off as unknown as bigint, new Uint8Array(4))), String(off)).toBe('VfioError EINVAL');
      expect(outcome(() => f.writeValue(off as unknown as bigint, 4, 0)), String(off)).toBe('VfioError EINVAL');
    }
    // below 2**53 a number names region offset >> 40 as the bigint does
    const n = VFIO.PCI_CONFIG_REGION_INDEX * 2 ** 40;
    expect(f.readValue(n as unknown as bigint, 4)).toBe(f.readValue(regionOffset(VFIO.PCI_CONFIG_REGION_INDEX), 4));
  });
});

describe('regionOffset', () => {
  it('is BigInt(index) << 40n | offset', () => {
    expect(regionOffset(7)).toBe(7n << 40n);
    expect(regionOffset(7, 0x10)).toBe((7n << 40n) | 0x10n);
    expect(regionOffset(0, 0xff_ffff_ffffn)).toBe(0xff_ffff_ffffn);
    fc.assert(fc.property(fc.nat(0xffff), fc.nat(2 ** 40 - 1), (i, o) => regionOffset(i, o) === (BigInt(i) << 40n) + BigInt(o)));
  });

  it('refuses what cannot be a region offset with a RangeError', () => {
    for (const [i, o] of [[-1, 0], [1.5, 0], [2 ** 24, 0], [0, -1], [0, 2 ** 40], [0, 1.5], [0, 1n << 40n], [0, -1n], [Number.NaN, 0]] as [number, number | bigint][]) {
      expect(() => regionOffset(i, o), `${i}, ${o}`).toThrow(RangeError);
    }
  });
});
