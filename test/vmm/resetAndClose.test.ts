import { describe, expect, it } from 'vitest';
import { DmaEngineDriver } from '../../src/guest/dmaEngineDriver.js';
import { DMAE_OP } from '../../src/hw/devices/dmaEngine/descriptor.js';
import { DMAE_REG } from '../../src/hw/devices/dmaEngine/regs.js';
import { PCI_BRIDGE_CONTROL, PCI_BRIDGE_CTL_BUS_RESET, PCI_EXP_DEVCTL, PCI_EXP_DEVCTL_BCR_FLR } from '../../src/hw/pciRegs.js';
import { VFIO } from '../../src/host/vfio/uapi/constants.js';
import type { VfioPciCoreDevice } from '../../src/host/vfio/pciCore/vfioPciCoreDevice.js';
import { Guest } from '../../src/guest/guest.js';
import type { FileLog } from './machine.js';
import { fnAt, machine, recordingFile, tickHost } from './machine.js';

const A = { kind: 'dma' as const, hostBdf: '0000:00:05.0', guestBdf: '0000:00:03.0' };

function settle(m: Awaited<ReturnType<typeof machine>>): void {
  for (let i = 0; i < 20; i++) if (tickHost(m.emu) + m.guest.irq.service() === 0) return;
}

describe('reset of the guest device', () => {
  it('a guest FLR becomes VFIO_DEVICE_RESET: the device and the VMM emulation return to power-on, the guest brings it up again', async () => {
    const log: FileLog = { reads: [], writes: [], ioctls: [] };
    const m = await machine([A], { wrapFile: (f) => recordingFile(f, log) });
    const r = m.guest.enumerate();
    const f = fnAt(r, A.guestBdf);
    const drv = new DmaEngineDriver(m.guest, f, { irq: ['msix'] });
    drv.probe();
    const bar0 = f.bars[0].address!;
    m.guest.io.mmioWrite(bar0 + DMAE_REG.SCRATCH, 4, 0xabcd);
    const dev = m.vmm.device(A.guestBdf)!;
    expect(dev.msix!.hostVectors).toBe(2);
    const exp = f.capabilities.find((c) => c.id === 0x10)!.offset;
    const ctl = m.guest.config.read(0, 3, 0, exp + PCI_EXP_DEVCTL, 2);
    // the FLR bit itself never reaches the device file: the VMM resets through the ioctl
    const writesBefore = log.writes.length;
    m.guest.config.write(0, 3, 0, exp + PCI_EXP_DEVCTL, 2, ctl | PCI_EXP_DEVCTL_BCR_FLR);
    expect(log.ioctls).toContain(VFIO.DEVICE_RESET);
    expect(dev.resets).toBe(1);
    const flrWrite = log.writes.slice(writesBefore).find(([i, o]) => i === VFIO.PCI_CONFIG_REGION_INDEX && o === exp + PCI_EXP_DEVCTL);
    expect(flrWrite).toBeDefined();
    expect(flrWrite![3] & PCI_EXP_DEVCTL_BCR_FLR).toBe(0);
    // the VMM's registers are back to power-on: BARs unassigned, MSI-X off, INTx wired again
    expect(m.guest.config.read(0, 3, 0, 0x10, 4)).toBe(0);
    expect(dev.msix!.enabled).toBe(false);
    expect(dev.msix!.hostVectors).toBe(0);
    expect(dev.intx!.active).toBe(true);
    const host = m.emu.host.vfio.vfioDeviceOf(m.emu.host.pciDev(A.hostBdf)) as VfioPciCoreDevice;
    expect(host.irqs.type).toBe('intx');
    // the guest brings it up again: the device lost its registers
    const r2 = m.guest.enumerate();
    const f2 = fnAt(r2, A.guestBdf);
    expect(m.guest.io.mmioRead(f2.bars[0].address! + DMAE_REG.SCRATCH, 4)).toBe(0);
    const drv2 = new DmaEngineDriver(m.guest, f2, { irq: ['msix'] });
    drv2.probe();
    drv2.submit({ opcode: DMAE_OP.NOP, length: 0 });
    settle(m);
    expect(drv2.completed).toBe(1);
  });

  it('a secondary bus reset by a guest bridge resets the device behind it through VFIO_DEVICE_RESET', async () => {
    const m = await machine([]);
    m.vmm.addBridge('0000:00:01.0', { secondaryBus: 1 });
    m.emu.hw.addDmaEngine('0000:00:09.0');
    m.emu.host.bind('0000:00:09.0');
    const dev = m.vmm.assign(m.emu.host.openDevice('0000:00:09.0'), '0000:01:00.0');
    const r = m.guest.enumerate();
    const f = fnAt(r, '0000:01:00.0');
    m.guest.io.mmioWrite(f.bars[0].address! + DMAE_REG.SCRATCH, 4, 0x77);
    const ctl = m.guest.config.read(0, 1, 0, PCI_BRIDGE_CONTROL, 2);
    m.guest.config.write(0, 1, 0, PCI_BRIDGE_CONTROL, 2, ctl | PCI_BRIDGE_CTL_BUS_RESET);
    m.guest.config.write(0, 1, 0, PCI_BRIDGE_CONTROL, 2, ctl);
    expect(dev.resets).toBe(1);
    const r2 = m.guest.enumerate();
    expect(m.guest.io.mmioRead(fnAt(r2, '0000:01:00.0').bars[0].address! + DMAE_REG.SCRATCH, 4)).toBe(0);
  });
});

describe('vmm.close()', () => {
  it('turns the interrupts off on the host, closes eventfds and files, and empties the guest bus; the device can be opened again', async () => {
    const m = await machine([A, { kind: 'endpoint', hostBdf: '0000:00:07.0', guestBdf: '0000:00:04.0' }]);
    const r = m.guest.enumerate();
    const drv = new DmaEngineDriver(m.guest, fnAt(r, A.guestBdf), { irq: ['msix'] });
    drv.probe();
    const devs = m.vmm.devices();
    const host = m.emu.host.vfio.vfioDeviceOf(m.emu.host.pciDev(A.hostBdf)) as VfioPciCoreDevice;
    expect(host.irqs.type).toBe('msix');
    const filesBefore = m.emu.host.vfio.files.size;
    m.vmm.close();
    expect(host.irqs.type).toBe('none');
    expect(host.openCount).toBe(0);
    expect(devs.every((d) => d.isClosed)).toBe(true);
    expect(() => devs[0].file.read(0n, 4)).toThrow(/EBADF/);
    expect(m.emu.host.vfio.files.size).toBeLessThan(filesBefore);
    expect(m.vmm.hw.functions()).toEqual([]);
    expect(new Guest(m.vmm).enumerate().functions).toEqual([]);
    // another user can have it now
    const again = m.emu.host.openDevice(A.hostBdf);
    expect(again.read(BigInt(VFIO.PCI_CONFIG_REGION_INDEX) << 40n, 2)[0]).toBe(0x36);
    again.close();
  });

  it('returns the slots of guest bridges and of the device behind them to the core, and the closed guest bus survives the emulator being destroyed as an empty bus', async () => {
    const m = await machine([]);
    const mem = m.emu.hw.core.mem;
    mem.deadSlot(); // made once per core on the first removal; made now so the counts below are the bus's own
    const before = mem.slotsInUse;
    m.vmm.addBridge('0000:00:01.0', { secondaryBus: 1 });
    m.vmm.addBridge('0000:01:00.0', { secondaryBus: 2 });
    m.emu.hw.addDmaEngine('0000:00:09.0');
    m.emu.host.bind('0000:00:09.0');
    m.vmm.assign(m.emu.host.openDevice('0000:00:09.0'), '0000:02:00.0');
    const host = mem.slotsInUse; // the host function's slot stays: it is still on the host bus
    expect(host).toBeGreaterThan(before + 3);
    m.vmm.close();
    expect(m.vmm.hw.functions()).toEqual([]);
    expect(mem.slotsInUse).toBe(host - 3);
    // the core no longer owns the closed bus: destroying the emulator leaves it as an empty bus
    m.emu.destroy();
    expect(m.vmm.hw.functions()).toEqual([]);
    expect(m.vmm.hw.configRead('0000:00:01.0', 0, 4)).toBe(0xffffffff);
  });
});
