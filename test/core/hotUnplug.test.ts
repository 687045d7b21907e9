// hw.removeFunction is a hot-unplug: the host's removal path runs first (the bound driver's
// remove; vfio sends the REQ irq to an open device file and revokes it if its user keeps it), then
// the function leaves and its slot goes to the next function. A VMM answers REQ as QEMU does.
import { describe, expect, it } from 'vitest';
import { createEmulator, Vmm, VFIO } from '../../src/index.js';
import type { Emulator } from '../../src/index.js';
import { PCIE_SPEC, errno, fds, irqSet } from '../host/vfio/machine.js';

const BDF = '0000:00:03.0';
const CFG = BigInt(VFIO.PCI_CONFIG_REGION_INDEX) << 40n;

async function machine(): Promise<Emulator> {
  const emu = await createEmulator({ memoryBytes: 4 << 20 });
  emu.hw.addEndpoint('0000:00:02.0', PCIE_SPEC);
  emu.hw.addEndpoint(BDF, PCIE_SPEC);
  return emu;
}

describe('hot-unplug', () => {
  it('unbinds the driver, frees the slot, and a function plugged in again at the same address is a new device', async () => {
    const emu = await machine();
    const { raw, mem } = emu.hw.core;
    const before = emu.hw.function(BDF)!;
    expect(emu.host.bind(BDF)).toMatch(/vfio-pci$/);
    const dev = emu.host.pciDev(BDF);
    emu.hw.configWrite(BDF, 0x3c, 1, 0x0b);
    const slot = before.slot;
    const pages = raw.memoryPages();
    const inUse = mem.slotsInUse;

    emu.hw.removeFunction(BDF);
    expect(dev.driver).toBeNull();
    expect(dev.present).toBe(false);
    expect(before.alive).toBe(false);
    expect(emu.hw.function(BDF)).toBeUndefined();
    expect(emu.hw.configRead(BDF, 0, 4)).toBe(0xffffffff);
    expect(() => emu.host.pciDev(BDF)).toThrow(/no such PCI function/);

    const again = emu.hw.addEndpoint(BDF, { ...PCIE_SPEC, deviceId: 0x1528 });
    expect(again.slot).toBe(slot); // the freed slot is reused
    expect(raw.memoryPages()).toBe(pages);
    expect(mem.slotsInUse).toBeLessThanOrEqual(inUse + 1); // + the dead slot, once
    expect(emu.hw.configRead(BDF, 0, 4)).toBe(0x15288086);
    expect(emu.hw.configRead(BDF, 0x3c, 1)).toBe(0); // power-on state, nothing of the old one
    expect(emu.host.pciDev(BDF).id.device).toBe(0x1528);
    expect(emu.host.bind(BDF)).toMatch(/vfio-pci$/);
    const file = emu.host.openDevice(BDF);
    expect(Array.from(file.read(CFG, 4))).toEqual([0x86, 0x80, 0x28, 0x15]);
    // the object the old function was stays absent: it never reaches the slot's new owner
    expect(before.configRead(0, 4)).toBe(0xffffffff);
    before.configWrite(0x3c, 1, 0x77);
    expect(emu.hw.configRead(BDF, 0x3c, 1)).toBe(0);
  });

  it('signals REQ to the open device file; a user that keeps it open finds it revoked (ENODEV) and can still close it', async () => {
    const emu = await machine();
    emu.host.bind(BDF);
    const file = emu.host.openDevice(BDF);
    const req = emu.host.eventfd();
    file.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(VFIO.IRQ_SET_DATA_EVENTFD | VFIO.IRQ_SET_ACTION_TRIGGER, VFIO.PCI_REQ_IRQ_INDEX, 0, 1, fds(req.fd)));
    const other = emu.host.bind('0000:00:02.0');
    expect(other).toMatch(/vfio-pci$/);
    const otherFile = emu.host.openDevice('0000:00:02.0');

    emu.hw.removeFunction(BDF);
    expect(req.signals).toBe(1);
    expect(errno(() => file.read(CFG, 4))).toBe('ENODEV');
    expect(errno(() => file.write(CFG + 0x3cn, new Uint8Array([1])))).toBe('ENODEV');
    expect(errno(() => file.ioctl(VFIO.DEVICE_RESET, new Uint8Array(0)))).toBe('ENODEV');
    file.close();
    expect(errno(() => file.read(CFG, 4))).toBe('EBADF');
    // the other device and its file are untouched
    expect(Array.from(otherFile.read(CFG, 2))).toEqual([0x86, 0x80]);
    otherFile.close();
  });

  it('a user that closes the file when REQ arrives sees a clean removal', async () => {
    const emu = await machine();
    emu.host.bind(BDF);
    const file = emu.host.openDevice(BDF);
    const req = emu.host.eventfd();
    req.onSignal(() => file.close());
    file.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(VFIO.IRQ_SET_DATA_EVENTFD | VFIO.IRQ_SET_ACTION_TRIGGER, VFIO.PCI_REQ_IRQ_INDEX, 0, 1, fds(req.fd)));
    emu.hw.removeFunction(BDF);
    expect(req.signals).toBe(1);
    expect(errno(() => file.read(CFG, 4))).toBe('EBADF');
  });

  it('a device assigned to a VMM: the VMM unplugs it from the guest bus and closes the file; re-plugged, it can be assigned again', async () => {
    const emu = await machine();
    const vmm = new Vmm(emu);
    emu.host.bind(BDF);
    const file = emu.host.openDevice(BDF);
    vmm.assign(file, '0000:00:05.0');
    expect(vmm.hw.configRead('0000:00:05.0', 0, 4)).toBe(0x10fb8086);

    emu.hw.removeFunction(BDF);
    expect(vmm.device('0000:00:05.0')).toBeUndefined();
    expect(vmm.hw.function('0000:00:05.0')).toBeUndefined();
    expect(vmm.hw.configRead('0000:00:05.0', 0, 4)).toBe(0xffffffff);
    expect(errno(() => file.read(CFG, 4))).toBe('EBADF'); // closed by the VMM, not revoked
    expect(vmm.log.lines.some((l) => /asked for the device back/.test(l))).toBe(true);

    emu.hw.addEndpoint(BDF, PCIE_SPEC);
    emu.host.bind(BDF);
    vmm.assign(emu.host.openDevice(BDF), '0000:00:05.0');
    expect(vmm.hw.configRead('0000:00:05.0', 0, 4)).toBe(0x10fb8086);
    vmm.close();
  });

  it('an SR-IOV PF goes with its VFs: each VF\'s driver is removed first', async () => {
    const emu = await createEmulator({ memoryBytes: 16 << 20 });
    const pf = emu.hw.addVirtioNet('0000:00:04.0', { totalVfs: 2 });
    emu.host.pci.sync();
    expect(emu.host.sriovConfigure(pf.bdf, 2)).toBe(2);
    const vfs = emu.hw.functions().filter((f) => f.isVirtfn);
    expect(vfs).toHaveLength(2);
    expect(emu.host.bind(vfs[0].bdf)).toMatch(/vfio/);
    const vfFile = emu.host.openDevice(vfs[0].bdf);
    emu.hw.removeFunction(pf.bdf);
    expect(emu.hw.functions().map((f) => f.bdf)).toEqual([]);
    expect(vfs.every((f) => !f.alive)).toBe(true);
    expect(errno(() => vfFile.read(CFG, 4))).toBe('ENODEV');
  });
});
