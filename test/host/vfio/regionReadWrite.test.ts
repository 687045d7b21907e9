// read/write on the device file (vfio_pci_rw, vfio_pci_bar_rw, vfio_pci_core_do_io_rw): config space
// through the virtualization, BARs in naturally aligned pieces with the MSI-X table excluded, bounds,
// the memory-enable check of __vfio_pci_memory_enabled, and the read-only ROM.
import { describe, expect, it } from 'vitest';
import type { DeviceModel } from '../../../src/hw/deviceModel.js';
import type { PciFunction } from '../../../src/hw/pciFunction.js';
import { GenericEndpoint } from '../../../src/hw/devices/genericEndpoint.js';
import {
  PCIE_SPEC, ROOT_DEV, VFIO, VfioClient, createEmulator, errno, openOne, readLe, regionOffset,
} from './machine.js';

const PCI_COMMAND = 0x04;
const CMD_IO = 0x1;
const CMD_MEM = 0x2;

/** Plain BAR memory that also logs every access the hardware sees (bar, offset, size, write?). */
class LoggingEndpoint implements DeviceModel {
  readonly log: string[] = [];
  private readonly mem = new GenericEndpoint();
  barRead(fn: PciFunction, bar: number, offset: number, size: 1 | 2 | 4): number {
    this.log.push(`r${bar}:${offset.toString(16)}/${size}`);
    return this.mem.barRead(fn, bar, offset, size);
  }
  barWrite(fn: PciFunction, bar: number, offset: number, size: 1 | 2 | 4, value: number): void {
    this.log.push(`w${bar}:${offset.toString(16)}/${size}`);
    this.mem.barWrite(fn, bar, offset, size, value);
  }
  reset(): void {
    this.mem.reset();
  }
}

async function logged() {
  const emu = await createEmulator();
  const model = new LoggingEndpoint();
  const fn = emu.hw.addFunction(ROOT_DEV, PCIE_SPEC, model);
  emu.host.bind(ROOT_DEV);
  const file = emu.host.openDevice(ROOT_DEV);
  return { emu, fn, model, file, c: new VfioClient(file), pdev: emu.host.pciDev(ROOT_DEV) };
}

const bytes = (...b: number[]) => Uint8Array.from(b);

describe('config region', () => {
  it('reads the IDs and sizes BARs on the virtual registers without touching the real ones', async () => {
    const { emu, bdf, c } = await openOne(PCIE_SPEC);
    expect(c.configRead(0, 4)).toBe(0x10fb8086);
    expect(c.configRead(2, 2)).toBe(0x10fb);
    const realBars = [0x10, 0x14, 0x18, 0x1c, 0x20, 0x24, 0x30].map((o) => emu.hw.configRead(bdf, o, 4));
    for (const off of [0x10, 0x14, 0x18, 0x1c, 0x20, 0x24]) c.configWrite(off, 4, 0xffffffff);
    expect([0x10, 0x14, 0x18, 0x1c, 0x20, 0x24].map((o) => c.configRead(o, 4) >>> 0)).toEqual([
      0xffffc000, // mem32 16K
      0xffffffe1, // io 32 bytes
      0xfff0000c, // mem64 prefetchable 1M, low half
      0xffffffff, // high half
      0, // unimplemented
      0,
    ]);
    c.configWrite(0x30, 4, 0xfffff800);
    expect(c.configRead(0x30, 4) >>> 0).toBe(0xfffff800);
    expect([0x10, 0x14, 0x18, 0x1c, 0x20, 0x24, 0x30].map((o) => emu.hw.configRead(bdf, o, 4))).toEqual(realBars);
  });

  it('is 4096 bytes long: past it EFAULT (vfio_config_do_rw), a short tail too', async () => {
    const { file } = await openOne(PCIE_SPEC);
    expect(file.read(regionOffset(7, 4092), 4).length).toBe(4);
    expect(errno(() => file.read(regionOffset(7, 4096), 4))).toBe('EFAULT');
    expect(errno(() => file.read(regionOffset(7, 4094), 4))).toBe('EFAULT');
    expect(errno(() => file.write(regionOffset(7, 4096), bytes(0)))).toBe('EFAULT');
  });
});

describe('BAR regions', () => {
  it('reads and writes 1, 2 and 4 bytes at every alignment, landing in the device at the same offsets', async () => {
    const { emu, file, pdev } = await logged();
    const base = pdev.resourceStart(0);
    file.write(regionOffset(0, 0x100), bytes(0x44, 0x33, 0x22, 0x11));
    expect(emu.hw.mmioRead(base + 0x100, 4)).toBe(0x11223344);
    expect(readLe(file, 0, 0x100, 4)).toBe(0x11223344);
    expect(readLe(file, 0, 0x102, 2)).toBe(0x1122);
    expect(readLe(file, 0, 0x101, 1)).toBe(0x33);
    file.write(regionOffset(0, 0x103), bytes(0xaa));
    file.write(regionOffset(0, 0x100), bytes(0xbb, 0xcc));
    expect(emu.hw.mmioRead(base + 0x100, 4)).toBe(0xaa22ccbb);
  });

  it('splits longer accesses at odd offsets into naturally aligned pieces of at most 4 bytes', async () => {
    const { model, file } = await logged();
    model.log.length = 0;
    expect(file.write(regionOffset(0, 0x101), bytes(1, 2, 3, 4, 5, 6, 7))).toBe(7);
    expect(model.log).toEqual(['w0:101/1', 'w0:102/2', 'w0:104/4']);
    model.log.length = 0;
    const r = file.read(regionOffset(0, 0xff), 11);
    expect(model.log).toEqual(['r0:ff/1', 'r0:100/4', 'r0:104/4', 'r0:108/2']);
    expect([...r.subarray(2, 9)]).toEqual([1, 2, 3, 4, 5, 6, 7]);
    model.log.length = 0;
    file.read(regionOffset(0, 0x203), 3);
    expect(model.log).toEqual(['r0:203/1', 'r0:204/2']);
  });

  it('works on the I/O BAR the same way', async () => {
    const { emu, file, pdev } = await logged();
    file.write(regionOffset(1, 0x3), bytes(9, 8, 7, 6, 5));
    expect(emu.hw.ioRead(pdev.resourceStart(1) + 4, 4)).toBe(0x05060708);
    expect([...file.read(regionOffset(1, 0x2), 6)]).toEqual([0, 9, 8, 7, 6, 5]);
  });

  it('checks bounds: EINVAL at or past the end, a read or write across the end stops there', async () => {
    const { file } = await openOne(PCIE_SPEC);
    expect(errno(() => file.read(regionOffset(0, 0x4000), 1))).toBe('EINVAL');
    expect(errno(() => file.write(regionOffset(0, 0x4000), bytes(1)))).toBe('EINVAL');
    expect(errno(() => file.read(regionOffset(1, 0x20), 1))).toBe('EINVAL');
    expect(file.read(regionOffset(1, 0x1e), 8).length).toBe(2);
    expect(file.write(regionOffset(1, 0x1d), bytes(1, 2, 3, 4, 5))).toBe(3);
    expect(file.read(regionOffset(2, 0xffffc), 16).length).toBe(4);
  });

  it('clamps a huge count to MAX_RW_COUNT as read(2) does: a BAR reads to its end, config space is EFAULT', async () => {
    const { file } = await openOne(PCIE_SPEC);
    const whole = file.read(regionOffset(1, 0), 0x20);
    for (const count of [2 ** 31, 2 ** 40, Number.MAX_SAFE_INTEGER]) {
      const got = file.read(regionOffset(1, 0), count);
      expect([...got]).toEqual([...whole]);
      // a short read is its own buffer, not a view that keeps the count-sized one alive
      expect(got.buffer.byteLength).toBe(0x20);
      expect(errno(() => file.read(regionOffset(VFIO.PCI_CONFIG_REGION_INDEX, 0), count))).toBe('EFAULT');
    }
    expect(errno(() => file.read(regionOffset(1, 0), 2.5))).toBe('EINVAL');
    expect(errno(() => file.read(regionOffset(1, 0), Infinity))).toBe('EINVAL');
  });

  it('answers EINVAL for BARs the device does not have and for regions past the last one', async () => {
    const { file } = await openOne(PCIE_SPEC);
    for (const index of [3, 4, 5, VFIO.PCI_VGA_REGION_INDEX, 9, 1000, 0xffffff]) {
      expect(errno(() => file.read(regionOffset(index, 0), 4))).toBe('EINVAL');
      expect(errno(() => file.write(regionOffset(index, 0), bytes(0, 0, 0, 0)))).toBe('EINVAL');
    }
  });

  it('does nothing for a zero-length access, whatever the offset', async () => {
    const { file } = await openOne(PCIE_SPEC);
    expect(file.read(regionOffset(0, 0), 0).length).toBe(0);
    expect(file.read(regionOffset(4, 0x1000000), 0).length).toBe(0);
    expect(file.write(regionOffset(9, 0), new Uint8Array(0))).toBe(0);
  });

  it('fails memory BAR accesses with EIO while the user has Memory Space off; I/O BARs still work', async () => {
    const { emu, bdf, c, file } = await openOne(PCIE_SPEC);
    const cmd = c.configRead(PCI_COMMAND, 2);
    c.configWrite(PCI_COMMAND, 2, cmd & ~CMD_MEM);
    expect(emu.hw.configRead(bdf, PCI_COMMAND, 2) & CMD_MEM).toBe(0);
    for (const index of [0, 2, VFIO.PCI_ROM_REGION_INDEX]) expect(errno(() => file.read(regionOffset(index, 0), 4))).toBe('EIO');
    expect(errno(() => file.write(regionOffset(0, 0), bytes(1, 2, 3, 4)))).toBe('EIO');
    expect(file.write(regionOffset(1, 0), bytes(1, 2, 3, 4))).toBe(4);
    expect(readLe(file, 1, 0, 4)).toBe(0x04030201);
    c.configWrite(PCI_COMMAND, 2, cmd);
    expect(readLe(file, 0, 0, 4)).toBe(0);
  });

  it('sees I/O decode off as the hardware answers it: all ones', async () => {
    const { c, file } = await openOne(PCIE_SPEC);
    file.write(regionOffset(1, 0), bytes(1, 2, 3, 4));
    const cmd = c.configRead(PCI_COMMAND, 2);
    c.configWrite(PCI_COMMAND, 2, cmd & ~CMD_IO);
    expect(readLe(file, 1, 0, 4)).toBe(0xffffffff);
    c.configWrite(PCI_COMMAND, 2, cmd);
    expect(readLe(file, 1, 0, 4)).toBe(0x04030201);
  });
});

describe('the MSI-X table inside a BAR', () => {
  it('reads as 0xff and drops writes; the bytes around it and the PBA are the device', async () => {
    const { fn, file, model } = await logged();
    const m = fn.msix!;
    expect(m.tableOffset).toBe(0x2000);
    const tableBefore = Array.from({ length: 32 }, (_, i) => fn.barRead(0, 0x2000 + 4 * i, 4));
    model.log.length = 0;
    expect([...file.read(regionOffset(0, 0x2000), 16)]).toEqual(new Array(16).fill(0xff));
    expect(file.write(regionOffset(0, 0x2000), new Uint8Array(128).fill(0x5a))).toBe(128);
    expect(model.log).toEqual([]);
    expect(Array.from({ length: 32 }, (_, i) => fn.barRead(0, 0x2000 + 4 * i, 4))).toEqual(tableBefore);
    // straddling the start and the end of the 8 x 16-byte table
    file.write(regionOffset(0, 0x1ffc), bytes(1, 2, 3, 4));
    file.write(regionOffset(0, 0x2080), bytes(5, 6, 7, 8));
    expect([...file.read(regionOffset(0, 0x1ffc), 8)]).toEqual([1, 2, 3, 4, 0xff, 0xff, 0xff, 0xff]);
    expect([...file.read(regionOffset(0, 0x207c), 8)]).toEqual([0xff, 0xff, 0xff, 0xff, 5, 6, 7, 8]);
    // the PBA is not excluded
    fn.raiseMsix(3); // MSI-X is off: nothing pending; enabled and masked it would be
    expect(readLe(file, 0, 0x3000, 4)).toBe(fn.barRead(0, 0x3000, 4));
  });

  it('answers reads of the table alone even with Memory Space off (no device access happens)', async () => {
    const { c, file } = await logged();
    c.configWrite(PCI_COMMAND, 2, c.configRead(PCI_COMMAND, 2) & ~CMD_MEM);
    expect([...file.read(regionOffset(0, 0x2010), 8)]).toEqual(new Array(8).fill(0xff));
    expect(file.write(regionOffset(0, 0x2010), bytes(1))).toBe(1);
    expect(errno(() => file.read(regionOffset(0, 0x1ffc), 8))).toBe('EIO');
  });
});

describe('ROM region', () => {
  it('reads the image (0x55AA first) and refuses writes with EINVAL', async () => {
    const { emu, bdf, file } = await openOne(PCIE_SPEC);
    const rom = file.read(regionOffset(6, 0), 0x800);
    expect(rom.length).toBe(0x800);
    expect([rom[0], rom[1]]).toEqual([0x55, 0xaa]);
    expect(String.fromCharCode(...rom.subarray(0x1c, 0x20))).toBe('PCIR');
    expect(errno(() => file.write(regionOffset(6, 0), bytes(0)))).toBe('EINVAL');
    expect(errno(() => file.read(regionOffset(6, 0x800), 1))).toBe('EINVAL');
    // the ROM BAR is enabled only for the read
    expect(emu.hw.configRead(bdf, 0x30, 4) & 1).toBe(0);
  });
});
