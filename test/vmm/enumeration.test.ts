import { describe, expect, it } from 'vitest';
import { formatLspci } from '../../src/guest/lspci.js';
import { cf8Access } from '../../src/guest/configAccess.js';
import { DMAE_DEVICE_ID, DMAE_VENDOR_ID } from '../../src/hw/devices/dmaEngine/dmaEngineSpec.js';
import { PCI_CAP_ID_EXP, PCI_CAP_ID_MSI, PCI_CAP_ID_MSIX, PCI_CAP_ID_PM, PCI_COMMAND } from '../../src/hw/pciRegs.js';
import { MSI_SPEC, fnAt, machine } from './machine.js';

describe('guest enumeration of the VMM bus', () => {
  it('finds the assigned devices at their guest addresses with the identity, BARs and capabilities the device files show', async () => {
    const m = await machine([
      { kind: 'dma', hostBdf: '0000:00:05.0', guestBdf: '0000:00:03.0', deviceMemoryBytes: 1 << 20 },
      { kind: 'endpoint', hostBdf: '0000:00:07.0', guestBdf: '0000:00:04.0' },
    ]);
    const r = m.guest.enumerate();
    expect(r.problems).toEqual([]);
    expect(r.functions.map((f) => f.bdf)).toEqual(['0000:00:03.0', '0000:00:04.0']);
    const dma = fnAt(r, '0000:00:03.0');
    expect(dma).toMatchObject({ vendorId: DMAE_VENDOR_ID, deviceId: DMAE_DEVICE_ID, classCode: 0x088000, headerType: 0, pcie: true, interruptPin: 1 });
    expect(dma.bars.map((b) => [b.index, b.kind, b.size, b.prefetchable])).toEqual([
      [0, 'mem32', 0x2000, false],
      [2, 'mem64', 1 << 20, true],
    ]);
    expect(dma.capabilities.map((c) => c.id)).toEqual([PCI_CAP_ID_PM, PCI_CAP_ID_MSIX, PCI_CAP_ID_EXP]);
    const ep = fnAt(r, '0000:00:04.0');
    expect(ep.bars.map((b) => [b.index, b.kind, b.size])).toEqual([
      [0, 'mem32', 0x4000],
      [1, 'io', 0x20],
    ]);
    expect(ep.capabilities.map((c) => c.id)).toEqual([PCI_CAP_ID_PM, PCI_CAP_ID_MSI, PCI_CAP_ID_EXP]);
    expect(ep.interruptPin).toBe(MSI_SPEC.interruptPin);
    // the guest's addresses are the VMM's, not the host's
    const hostBar0 = m.emu.host.pciDev('0000:00:05.0').resourceStart(0);
    expect(dma.bars[0].address).not.toBeNull();
    expect(m.vmm.device('0000:00:03.0')!.bars.address(0)).toBe(dma.bars[0].address);
    expect((m.emu.hw.configRead('0000:00:05.0', 0x10, 4) & ~0xf) >>> 0).toBe(hostBar0);
    // decode and bus mastering on, as the enumerator left them, reach the device through vfio
    expect(dma.command & 0x7).toBe(0x6);
    expect(m.emu.hw.configRead('0000:00:05.0', PCI_COMMAND, 2) & 0x4).toBe(0x4);
  });

  it('sizes BARs from the VMM registers and reads the flags the device has', async () => {
    const m = await machine([{ kind: 'dma', hostBdf: '0000:00:05.0', guestBdf: '0000:00:03.0', deviceMemoryBytes: 1 << 20 }]);
    const a = cf8Access(m.vmm.hw);
    a.write(0, 3, 0, 0x10, 4, 0xffffffff);
    expect(a.read(0, 3, 0, 0x10, 4)).toBe((~(0x2000 - 1) & 0xfffffff0) >>> 0);
    a.write(0, 3, 0, 0x18, 4, 0xffffffff);
    a.write(0, 3, 0, 0x1c, 4, 0xffffffff);
    expect(a.read(0, 3, 0, 0x18, 4)).toBe(((~((1 << 20) - 1) & 0xfffffff0) | 0xc) >>> 0);
    expect(a.read(0, 3, 0, 0x1c, 4)).toBe(0xffffffff);
    // unimplemented BARs and the absent ROM read 0 and ignore writes
    a.write(0, 3, 0, 0x20, 4, 0xffffffff);
    expect(a.read(0, 3, 0, 0x20, 4)).toBe(0);
    a.write(0, 3, 0, 0x30, 4, 0xffffffff);
    expect(a.read(0, 3, 0, 0x30, 4)).toBe(0);
    // nothing of the guest's sizing reached the host's BAR registers
    expect((m.emu.hw.configRead('0000:00:05.0', 0x10, 4) & ~0xf) >>> 0).toBe(m.emu.host.pciDev('0000:00:05.0').resourceStart(0));
  });

  it('MMIO at the guest address reaches the device registers through the device file', async () => {
    const m = await machine([{ kind: 'dma', hostBdf: '0000:00:05.0', guestBdf: '0000:00:03.0' }]);
    const r = m.guest.enumerate();
    const base = fnAt(r, '0000:00:03.0').bars[0].address!;
    expect(m.guest.io.mmioRead(base, 4)).toBe(0x45414d44);
    m.guest.io.mmioWrite(base + 0x24, 4, 0xdeadbeef);
    expect(m.guest.io.mmioRead(base + 0x24, 4)).toBe(0xdeadbeef);
    expect(m.guest.io.mmioRead(base + 0x26, 2)).toBe(0xdead);
    // the register page is mmap-able and not the MSI-X page: the direct mapping served it
    const region = m.vmm.device('0000:00:03.0')!.regions[0]!;
    expect(region.direct).toEqual([{ start: 0, end: 0x1000 }]);
    expect(region.directAccesses).toBeGreaterThan(0);
  });

  it('lspci over the guest bus shows the assigned functions', async () => {
    const m = await machine([
      { kind: 'dma', hostBdf: '0000:00:05.0', guestBdf: '0000:00:03.0' },
      { kind: 'endpoint', hostBdf: '0000:00:07.0', guestBdf: '0000:00:04.0' },
    ]);
    const r = m.guest.enumerate();
    const text = formatLspci(m.guest.config, r, { verbose: false });
    expect(text.split('\n').filter(Boolean)).toHaveLength(2);
    expect(text).toContain('00:03.0');
    expect(text).toContain('00:04.0');
    const verbose = formatLspci(m.guest.config, r);
    expect(verbose).toContain('MSI-X: Enable- Count=2');
  });

  it('assigns behind a guest root port and routes config cycles there', async () => {
    const emuM = await machine([]);
    const vmm = emuM.vmm;
    vmm.addBridge('0000:00:01.0', { secondaryBus: 1 });
    emuM.emu.hw.addDmaEngine('0000:00:09.0');
    emuM.emu.host.driverOverride('0000:00:09.0', 'vfio-pci');
    emuM.emu.host.bind('0000:00:09.0');
    vmm.assign(emuM.emu.host.openDevice('0000:00:09.0'), '0000:01:00.0');
    const r = emuM.guest.enumerate();
    expect(r.functions.map((f) => f.bdf)).toEqual(['0000:00:01.0', '0000:01:00.0']);
    const dev = fnAt(r, '0000:01:00.0');
    expect(dev.vendorId).toBe(DMAE_VENDOR_ID);
    expect(emuM.guest.io.mmioRead(dev.bars[0].address!, 4)).toBe(0x45414d44);
  });
});

describe('guest port I/O and expansion ROM through the VMM', () => {
  it('an I/O BAR answers guest in/out at the port the enumerator assigned', async () => {
    const m = await machine([{ kind: 'endpoint', hostBdf: '0000:00:07.0', guestBdf: '0000:00:04.0' }]);
    const r = m.guest.enumerate();
    const io = fnAt(r, '0000:00:04.0').bars.find((b) => b.kind === 'io')!;
    expect(io.address).toBeGreaterThanOrEqual(0xc000);
    m.guest.io.ioWrite(io.address! + 4, 4, 0xa5a5f00d);
    expect(m.guest.io.ioRead(io.address! + 4, 4)).toBe(0xa5a5f00d);
    expect(m.guest.io.ioRead(io.address! + 5, 1)).toBe(0xf0);
    // the host device's I/O BAR holds it (plain memory behind the generic endpoint's BARs)
    const hostIo = m.emu.host.pciDev('0000:00:07.0').resourceStart(1);
    expect(m.emu.hw.ioRead(hostIo + 4, 4)).toBe(0xa5a5f00d);
    expect(m.vmm.device('0000:00:04.0')!.regions[1]!.direct).toEqual([]); // I/O BARs are never mapped
  });

  it('the expansion ROM: sized by the VMM, read through the ROM region when the guest enables it', async () => {
    const spec = { ...MSI_SPEC, romSize: 0x8000 };
    const m = await machine([{ kind: 'endpoint', hostBdf: '0000:00:07.0', guestBdf: '0000:00:04.0', spec }]);
    const r = m.guest.enumerate();
    const f = fnAt(r, '0000:00:04.0');
    expect(f.rom).toMatchObject({ size: 0x8000, enabled: false });
    const a = f.rom!.address!;
    expect(m.guest.io.mmioRead(a, 2)).toBe(0xffff); // not decoding yet
    m.guest.config.write(0, 4, 0, 0x30, 4, a | 1);
    expect(m.guest.io.mmioRead(a, 2)).toBe(0xaa55);
    const pcir = a + m.guest.io.mmioRead(a + 0x18, 2);
    expect(m.guest.io.mmioRead(pcir + 4, 4)).toBe(((MSI_SPEC.deviceId << 16) | MSI_SPEC.vendorId) >>> 0);
  });
});
