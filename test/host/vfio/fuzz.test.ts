// Property tests (fast-check) over the vfio device file: random ioctl request numbers (every VFIO.*
// one and arbitrary ones) with random or nearly valid argument bytes, and random region offsets and
// lengths for read and write. Only VfioError ever escapes - and never the EIO the file uses to wrap an
// internal exception - and no other function's config space changes.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Eventfd } from '../../../src/host/fileTable.js';
import { NO_RESET_SPEC, PCIE_SPEC, VFIO, VfioError, createEmulator, snapshotConfig } from './machine.js';
import type { Emulator, VfioDeviceFile } from './machine.js';

const ROOT_DEV = '0000:00:03.0';
const BYSTANDER = '0000:00:04.0'; // not bound to vfio at all
const BRIDGE = '0000:00:01.0';
const F0 = '0000:01:00.0';
const F1 = '0000:01:00.1';

let emu: Emulator;
let root: VfioDeviceFile;
let bridged: VfioDeviceFile;
let efds: Eventfd[];

beforeAll(async () => {
  emu = await createEmulator();
  emu.hw.addEndpoint(ROOT_DEV, PCIE_SPEC);
  emu.hw.addEndpoint(BYSTANDER, { ...PCIE_SPEC, deviceId: 0x10fc });
  emu.hw.addBridge(BRIDGE, { secondaryBus: 1 });
  emu.hw.addEndpoint(F0, { ...NO_RESET_SPEC, capabilities: [{ id: 'msi', vectors: 2 }] });
  emu.hw.addEndpoint(F1, NO_RESET_SPEC);
  for (const bdf of [ROOT_DEV, F0, F1]) emu.host.bind(bdf);
  root = emu.host.openDevice(ROOT_DEV);
  bridged = emu.host.openDevice(F0);
  efds = [0, 1, 2, 3].map(() => emu.host.eventfd());
});

/** Every number in VFIO: the ioctl requests (device, container, group, iommu, migration) and, as odd requests, the flag values. */
const VFIO_NUMBERS = [...new Set(Object.values(VFIO).filter((v): v is number => typeof v === 'number').map((v) => v >>> 0))];

/** What the uapi lets through: a VfioError that is not the wrapper of an internal exception. */
function expectOnlyUapiErrors(fn: () => unknown): void {
  try {
    const r = fn();
    if (typeof r === 'number') expect(Number.isInteger(r)).toBe(true);
  } catch (e) {
    expect(e).toBeInstanceOf(VfioError);
    expect((e as VfioError).message).not.toMatch(/internal error/);
  }
}

const u32 = fc.oneof(
  fc.constantFrom(0, 1, 2, 3, 4, 5, 7, 8, 9, 12, 16, 20, 24, 28, 32, 40, 64, 0x7fffffff, 0x80000000, 0xffffffff),
  fc.nat({ max: 0xffffffff }),
);

/** A struct-shaped argument: a small argsz, interesting flag bits, small indices, then random or eventfd data. */
const shapedArg: fc.Arbitrary<Uint8Array> = fc
  .record({
    argsz: fc.oneof({ arbitrary: fc.constantFrom(12, 16, 20, 24, 28, 32, 40, 48), weight: 3 }, { arbitrary: fc.integer({ min: 0, max: 96 }), weight: 2 }, { arbitrary: u32, weight: 1 }),
    flags: fc.oneof(
      { arbitrary: fc.constantFrom(0x21, 0x22, 0x24, 0x09, 0x0a, 0x0c, 0x11, 0x12, 0x14, 1, 2, 4, 8, 0x10000, 0x20000, 0x40000, 0x50000, 0x60001, 0x40006), weight: 4 },
      { arbitrary: u32, weight: 1 },
    ),
    index: fc.oneof(fc.integer({ min: 0, max: 10 }), u32),
    start: fc.oneof(fc.integer({ min: 0, max: 9 }), u32),
    count: fc.oneof(fc.integer({ min: 0, max: 9 }), u32),
    tail: fc.array(fc.oneof(fc.integer({ min: -3, max: 12 }), fc.integer({ min: -0x80000000, max: 0x7fffffff })), { maxLength: 12 }),
    size: fc.oneof({ arbitrary: fc.constant(96), weight: 3 }, { arbitrary: fc.integer({ min: 0, max: 96 }), weight: 1 }),
  })
  .map(({ argsz, flags, index, start, count, tail, size }) => {
    const words = [argsz, flags, index, start, count, ...tail];
    const b = new Uint8Array(Math.max(size, 0));
    const dv = new DataView(b.buffer);
    words.forEach((w, i) => {
      if (4 * i + 4 <= b.length) dv.setUint32(4 * i, w >>> 0, true);
    });
    return b;
  });

const rawArg = fc.uint8Array({ maxLength: 96 });

/** The requests vfio-pci implements, which get past the ENOTTY of the dispatch. */
const PCI_IOCTLS = [
  VFIO.DEVICE_GET_INFO, VFIO.DEVICE_GET_REGION_INFO, VFIO.DEVICE_GET_IRQ_INFO, VFIO.DEVICE_SET_IRQS, VFIO.DEVICE_RESET,
  VFIO.DEVICE_GET_PCI_HOT_RESET_INFO, VFIO.DEVICE_PCI_HOT_RESET, VFIO.DEVICE_IOEVENTFD, VFIO.DEVICE_FEATURE,
];

const request = fc.oneof(
  { arbitrary: fc.constantFrom(...PCI_IOCTLS), weight: 6 },
  { arbitrary: fc.constantFrom(...VFIO_NUMBERS), weight: 2 },
  { arbitrary: u32, weight: 1 },
);

/** Region offsets: a region index (mostly the real ones) and an offset near the interesting places. */
const regionOffsetArb = fc
  .record({
    index: fc.oneof(
      { arbitrary: fc.constantFrom(0, 1, 2, 6, 7), weight: 8 },
      { arbitrary: fc.integer({ min: 0, max: 10 }), weight: 2 },
      { arbitrary: fc.nat({ max: 0xffffff }), weight: 1 },
    ),
    offset: fc.oneof(
      fc.integer({ min: 0, max: 0x40 }),
      fc.integer({ min: 0xf0, max: 0x110 }),
      fc.integer({ min: 0x1ff0, max: 0x2090 }),
      fc.integer({ min: 0x3ff0, max: 0x4010 }),
      fc.integer({ min: 0x7f0, max: 0x810 }),
      fc.integer({ min: 0xff0, max: 0x1010 }),
      fc.integer({ min: 0, max: 0x4000 }),
      fc.nat({ max: 2 ** 40 - 1 }),
    ),
  })
  .map(({ index, offset }) => (BigInt(index) << 40n) | BigInt(offset));

function withBystanders(except: string[], body: () => void): void {
  const before = snapshotConfig(emu, except);
  body();
  const after = snapshotConfig(emu, except);
  for (const [bdf, words] of before) {
    const now = after.get(bdf)!;
    const diff = words.findIndex((w, i) => w !== now[i]);
    expect(diff, `${bdf} config dword ${diff * 4} changed`).toBe(-1);
  }
}

describe('property: the device file lets only VfioError out and touches no other device', () => {
  it('survives random ioctls on a root-bus device', () => {
    fc.assert(
      fc.property(request, fc.oneof({ arbitrary: shapedArg, weight: 4 }, { arbitrary: rawArg, weight: 1 }), (req, arg) => {
        withBystanders([ROOT_DEV], () => expectOnlyUapiErrors(() => root.ioctl(req, arg)));
      }),
      { numRuns: 1500 },
    );
  });

  it('survives random ioctls on a device behind a bridge (only its device set may change)', () => {
    fc.assert(
      fc.property(request, fc.oneof({ arbitrary: shapedArg, weight: 4 }, { arbitrary: rawArg, weight: 1 }), (req, arg) => {
        // a hot reset of the set toggles the bridge's Secondary Bus Reset and restores both functions
        withBystanders([F0, F1, BRIDGE], () => expectOnlyUapiErrors(() => bridged.ioctl(req, arg)));
      }),
      { numRuns: 800 },
    );
    // the bridge's registers are back where they were apart from transient reset bits
    expect(emu.hw.configRead(BRIDGE, 0x3e, 2) & 0x40).toBe(0);
  });

  it('survives random SET_IRQS aimed at real eventfds', () => {
    const setIrqs = fc
      .record({
        flags: fc.oneof(
          { arbitrary: fc.tuple(fc.constantFrom(1, 2, 4, 4, 4), fc.constantFrom(8, 16, 32, 32, 32)).map(([d, a]) => d | a), weight: 6 },
          { arbitrary: fc.integer({ min: 0, max: 0x7f }), weight: 1 },
        ),
        index: fc.integer({ min: 0, max: 5 }),
        start: fc.oneof({ arbitrary: fc.constant(0), weight: 4 }, { arbitrary: fc.integer({ min: 0, max: 9 }), weight: 1 }),
        fds: fc.oneof(
          { arbitrary: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 2 }), weight: 4 },
          { arbitrary: fc.array(fc.oneof(fc.constantFrom(-1, -2, 0, 999), fc.integer({ min: 0, max: 3 })), { maxLength: 9 }), weight: 2 },
        ),
        extraCount: fc.oneof({ arbitrary: fc.constant(0), weight: 6 }, { arbitrary: fc.integer({ min: -1, max: 1 }), weight: 1 }),
      })
      .map(({ flags, index, start, fds, extraCount }) => {
        const data = fds.map((f) => (f >= 0 && f < 4 ? efds[f].fd : f));
        const b = new Uint8Array(20 + 4 * data.length);
        const dv = new DataView(b.buffer);
        dv.setUint32(0, b.length, true);
        dv.setUint32(4, flags, true);
        dv.setUint32(8, index, true);
        dv.setUint32(12, start, true);
        dv.setUint32(16, Math.max(0, data.length + extraCount), true);
        data.forEach((f, i) => dv.setInt32(20 + 4 * i, f, true));
        return b;
      });
    fc.assert(
      fc.property(setIrqs, fc.boolean(), fc.boolean(), (arg, onRoot, disableFirst) => {
        const file = onRoot ? root : bridged;
        withBystanders(onRoot ? [ROOT_DEV] : [F0, F1, BRIDGE], () => {
          // now and then start from no interrupts, so enabling paths get exercised too
          if (disableFirst) {
            for (const index of [0, 1, 2]) {
              expectOnlyUapiErrors(() => file.ioctl(VFIO.DEVICE_SET_IRQS, Uint8Array.of(20, 0, 0, 0, 0x21, 0, 0, 0, index, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)));
            }
          }
          expectOnlyUapiErrors(() => file.ioctl(VFIO.DEVICE_SET_IRQS, arg));
        });
      }),
      { numRuns: 1000 },
    );
  });

  it('survives random region reads and writes', () => {
    fc.assert(
      fc.property(regionOffsetArb, fc.integer({ min: 0, max: 72 }), fc.boolean(), fc.boolean(), (offset, length, isWrite, onRoot) => {
        const file = onRoot ? root : bridged;
        withBystanders(onRoot ? [ROOT_DEV] : [F0], () => {
          expectOnlyUapiErrors(() => {
            if (isWrite) {
              const n = file.write(offset, new Uint8Array(length).map((_, i) => (i * 37 + length) & 0xff));
              expect(n).toBeLessThanOrEqual(length);
              return n;
            }
            const r = file.read(offset, length);
            expect(r.length).toBeLessThanOrEqual(length);
            return r.length;
          });
        });
      }),
      { numRuns: 3000 },
    );
  });

  it('still works afterwards: the files answer GET_INFO and config reads', () => {
    for (const f of [root, bridged]) {
      const arg = new Uint8Array(24);
      new DataView(arg.buffer).setUint32(0, 24, true);
      expect(f.ioctl(VFIO.DEVICE_GET_INFO, arg)).toBe(0);
      expect(new DataView(arg.buffer).getUint32(12, true)).toBe(5);
    }
    expect(emu.hw.configRead(BYSTANDER, 0, 4)).toBe(0x10fc8086);
  });
});
