// mmap(2) of a vfio device file (vfio_pci_core_mmap and its fault handler): which regions map and
// which are EINVAL, loads and stores through a mapping against pread/pwrite of the same bytes,
// SIGBUS while memory decode is off or after the device left the hardware, SIGSEGV outside the
// mapping or after munmap, a mapping holding the device open after close(), and random mappings
// and accesses that never reach anything but the mapped BAR.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createEmulator } from '../../../src/emulator.js';
import type { VfioDeviceFileImpl } from '../../../src/host/vfio/deviceFile.js';
import { VfioMmapFault } from '../../../src/host/vfio/mapping.js';
import type { VfioMapping } from '../../../src/host/vfio/mapping.js';
import { CONVENTIONAL_SPEC, NO_RESET_SPEC, PCIE_SPEC, VFIO, errno, openOne, regionOffset } from './machine.js';

const BAR0 = VFIO.PCI_BAR0_REGION_INDEX;
const BAR2 = VFIO.PCI_BAR2_REGION_INDEX;

/** The signal an access takes ('SIGBUS', 'SIGSEGV'), or 'ok'. */
function signal(f: () => unknown): string {
  try {
    f();
    return 'ok';
  } catch (e) {
    if (!(e instanceof VfioMmapFault)) throw e;
    return e.code;
  }
}

function memOn(file: { write(o: bigint, d: Uint8Array): number }, on: boolean): void {
  file.write(regionOffset(VFIO.PCI_CONFIG_REGION_INDEX, 4), Uint8Array.of(on ? 0x02 : 0x00, 0));
}

const openCount = (file: unknown) => (file as VfioDeviceFileImpl).vdev.openCount;

describe('mmap of a vfio device file', () => {
  it('maps memory BARs only, within the BAR in whole pages; EINVAL as Linux answers elsewhere', async () => {
    const { file } = await openOne(PCIE_SPEC);
    const mmap = (index: number, off: number, len: number) => file.mmap!(regionOffset(index, off), len);
    expect(mmap(BAR0, 0, 0x4000).length).toBe(0x4000);
    expect(mmap(BAR2, 0x1000, 1).length).toBe(0x1000); // rounded up to a page
    expect(mmap(BAR2, 0xff000, 0x1000).length).toBe(0x1000);
    expect(errno(() => mmap(BAR2, 0xff000, 0x1001))).toBe('EINVAL'); // past the BAR
    expect(errno(() => mmap(BAR0, 0x10, 0x1000))).toBe('EINVAL'); // unaligned offset
    expect(errno(() => mmap(BAR0, 0, 0))).toBe('EINVAL');
    expect(errno(() => mmap(BAR0, 0, -4096))).toBe('EINVAL');
    expect(errno(() => mmap(BAR0, 0, 1.5))).toBe('EINVAL');
    expect(errno(() => mmap(VFIO.PCI_BAR1_REGION_INDEX, 0, 0x1000))).toBe('EINVAL'); // I/O BAR
    expect(errno(() => mmap(VFIO.PCI_BAR4_REGION_INDEX, 0, 0x1000))).toBe('EINVAL'); // unimplemented
    expect(errno(() => mmap(VFIO.PCI_ROM_REGION_INDEX, 0, 0x1000))).toBe('EINVAL');
    expect(errno(() => mmap(VFIO.PCI_CONFIG_REGION_INDEX, 0, 0x1000))).toBe('EINVAL');
    expect(errno(() => mmap(VFIO.PCI_VGA_REGION_INDEX, 0, 0x1000))).toBe('EINVAL');
    expect(errno(() => mmap(VFIO.PCI_NUM_REGIONS, 0, 0x1000))).toBe('EINVAL');
    expect(errno(() => file.mmap!(-1n as bigint, 0x1000))).toBe('EINVAL');
    file.close();
    expect(errno(() => mmap(BAR0, 0, 0x1000))).toBe('EBADF');
  });

  it('loads and stores reach the same bytes pread/pwrite do', async () => {
    const { file } = await openOne(PCIE_SPEC);
    memOn(file, true);
    const m = file.mmap!(regionOffset(BAR2, 0), 0x100000);
    const access = fc.record({ off: fc.nat(0xffffc), size: fc.constantFrom(1, 2, 4) as fc.Arbitrary<1 | 2 | 4>, value: fc.nat(0xffffffff), viaMap: fc.boolean() });
    fc.assert(
      fc.property(fc.array(access, { maxLength: 40 }), (ops) => {
        for (const o of ops) {
          const off = o.off - (o.off % o.size);
          if (o.viaMap) m.write(off, o.size, o.value);
          else file.writeValue(regionOffset(BAR2, off), o.size, o.value & (2 ** (8 * o.size) - 1));
          const viaFile = file.readValue(regionOffset(BAR2, off), o.size);
          expect(m.read(off, o.size)).toBe(viaFile);
          expect(viaFile).toBe((o.value & (2 ** (8 * o.size) - 1)) >>> 0);
        }
      }),
      { numRuns: 50 },
    );
  });

  it('faults SIGBUS while memory decode is off and answers again once it is on', async () => {
    const { file } = await openOne(PCIE_SPEC);
    const m = file.mmap!(regionOffset(BAR2, 0), 0x1000);
    memOn(file, false);
    expect(signal(() => m.read(0, 4))).toBe('SIGBUS');
    expect(signal(() => m.write(0, 4, 1))).toBe('SIGBUS');
    // the file's own read answers EIO for the same access
    expect(errno(() => file.readValue(regionOffset(BAR2, 0), 4))).toBe('EIO');
    memOn(file, true);
    m.write(8, 4, 0x12345678);
    expect(m.read(8, 4)).toBe(0x12345678);
  });

  it('faults SIGSEGV outside the mapping and after munmap', async () => {
    const { file } = await openOne(PCIE_SPEC);
    memOn(file, true);
    const m = file.mmap!(regionOffset(BAR2, 0x2000), 0x1000);
    expect(signal(() => m.read(0xffc, 4))).toBe('ok');
    expect(signal(() => m.read(0xffe, 4))).toBe('SIGSEGV');
    expect(signal(() => m.read(0x1000, 1))).toBe('SIGSEGV');
    expect(signal(() => m.read(-1, 1))).toBe('SIGSEGV');
    expect(signal(() => m.read(0.5, 1))).toBe('SIGSEGV');
    expect(signal(() => m.read(0, 3 as 4))).toBe('SIGSEGV');
    m.munmap();
    m.munmap(); // a second munmap of the same range is nothing
    expect(signal(() => m.read(0, 4))).toBe('SIGSEGV');
    expect(signal(() => m.write(0, 4, 0))).toBe('SIGSEGV');
  });

  it('holds the device open after close() until the last munmap, as a vma holds its file', async () => {
    const { file } = await openOne(PCIE_SPEC);
    memOn(file, true);
    const a = file.mmap!(regionOffset(BAR2, 0), 0x1000);
    const b = file.mmap!(regionOffset(BAR0, 0), 0x1000);
    expect(openCount(file)).toBe(1);
    file.close();
    // the fd is gone, the mappings are not
    expect(errno(() => file.readValue(regionOffset(BAR2, 0), 4))).toBe('EBADF');
    a.write(0, 4, 0xcafe);
    expect(a.read(0, 4)).toBe(0xcafe);
    expect(openCount(file)).toBe(1);
    a.munmap();
    expect(openCount(file)).toBe(1);
    b.munmap();
    expect(openCount(file)).toBe(0); // close_device ran at the last munmap
  });

  it('faults SIGBUS once the device left the hardware, for an open file and a closed, mapped one', async () => {
    for (const closeFirst of [false, true]) {
      const { emu, bdf, file } = await openOne(PCIE_SPEC);
      memOn(file, true);
      const m = file.mmap!(regionOffset(BAR2, 0), 0x1000);
      if (closeFirst) file.close();
      emu.hw.removeFunction(bdf);
      expect(signal(() => m.read(0, 4))).toBe('SIGBUS');
      expect(openCount(file)).toBe(0);
      m.munmap();
      expect(openCount(file)).toBe(0);
      if (!closeFirst) expect(errno(() => file.readValue(regionOffset(BAR2, 0), 4))).toBe('ENODEV');
    }
  });

  it('maps a sub-page BAR as its whole page (the dummy reservation) and touches nothing else there', async () => {
    const emu = await createEmulator();
    emu.hw.addEndpoint('0000:00:03.0', NO_RESET_SPEC); // BAR0: mem32, 256 bytes
    emu.hw.addEndpoint('0000:00:04.0', CONVENTIONAL_SPEC);
    emu.host.bind('0000:00:03.0');
    emu.host.bind('0000:00:04.0');
    const file = emu.host.openDevice('0000:00:03.0');
    const other = emu.host.openDevice('0000:00:04.0');
    memOn(file, true);
    memOn(other, true);
    for (let o = 0; o < 0x1000; o += 4) other.writeValue(regionOffset(BAR0, o), 4, o ^ 0x5a5a5a5a);
    const m = file.mmap!(regionOffset(BAR0, 0), 0x100);
    expect(m.length).toBe(0x1000);
    m.write(0x10, 4, 0xdeadbeef);
    expect(file.readValue(regionOffset(BAR0, 0x10), 4)).toBe(0xdeadbeef);
    for (let o = 0x100; o < 0x1000; o += 4) {
      m.write(o, 4, 0x11111111);
      expect(m.read(o, 4)).toBe(0xffffffff); // nothing decodes the rest of the page
    }
    for (let o = 0; o < 0x1000; o += 4) expect(other.readValue(regionOffset(BAR0, o), 4)).toBe((o ^ 0x5a5a5a5a) >>> 0);
  });

  it('random mmap requests and accesses: a VfioError or a signal, never a crash, never another BAR touched', async () => {
    const emu = await createEmulator();
    emu.hw.addEndpoint('0000:00:03.0', PCIE_SPEC);
    emu.hw.addEndpoint('0000:00:07.0', PCIE_SPEC);
    emu.host.bind('0000:00:03.0');
    emu.host.bind('0000:00:07.0');
    const file = emu.host.openDevice('0000:00:03.0');
    const other = emu.host.openDevice('0000:00:07.0');
    memOn(file, true);
    memOn(other, true);
    const snapshot = () => Array.from({ length: 64 }, (_, i) => other.readValue(regionOffset(BAR2, i * 0x4000), 4));
    for (let i = 0; i < 64; i++) other.writeValue(regionOffset(BAR2, i * 0x4000), 4, i * 0x01010101);
    const before = snapshot();
    const maps: VfioMapping[] = [];
    const op = fc.oneof(
      fc.record({ kind: fc.constant('map' as const), index: fc.nat(12), off: fc.oneof(fc.nat(0x200000), fc.constantFrom(0, 0x1000, 0xff000)), len: fc.oneof(fc.integer({ min: -2, max: 0x200000 }), fc.constant(Number.NaN)) }),
      fc.record({ kind: fc.constant('access' as const), which: fc.nat(8), off: fc.integer({ min: -8, max: 0x101000 }), size: fc.constantFrom(1, 2, 3, 4, 8) as fc.Arbitrary<1 | 2 | 4>, value: fc.integer({ min: -(2 ** 32), max: 2 ** 33 }), write: fc.boolean() }),
      fc.record({ kind: fc.constant('unmap' as const), which: fc.nat(8) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 30 }), (ops) => {
        for (const o of ops) {
          try {
            if (o.kind === 'map') maps.push(file.mmap!(regionOffset(o.index, o.off), o.len));
            else if (maps.length > 0) {
              const m = maps[o.which % maps.length];
              if (o.kind === 'unmap') m.munmap();
              else if (o.write) m.write(o.off, o.size, o.value);
              else expect(m.read(o.off, o.size)).toBeGreaterThanOrEqual(0);
            }
          } catch (e) {
            expect(e instanceof VfioMmapFault || (e as { code?: string }).code === 'EINVAL').toBe(true);
          }
        }
      }),
      { numRuns: 60 },
    );
    expect(snapshot()).toEqual(before);
    for (const m of maps) m.munmap();
    file.close();
    expect(openCount(file)).toBe(0);
  });
});
