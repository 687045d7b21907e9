// sriov_numvfs as the host kernel does it (host.sriovConfigure): the virtio-pci PF driver and its
// sriov_configure, pci_enable_sriov / pci_disable_sriov through hardware config writes, the VFs'
// pci_devs with their IDs from the PF and the capability, the kernel's errnos, and the PF driver's
// legacy-admin service to its VFs.
import { describe, expect, it } from 'vitest';
import { createEmulator } from '../../src/emulator.js';
import { PCI_SRIOV_CTRL, PCI_SRIOV_CTRL_MSE, PCI_SRIOV_CTRL_VFE, PCI_SRIOV_NUM_VF } from '../../src/hw/pciRegs.js';
import {
  VIRTIO_ADMIN_CMD_LEGACY_COMMON_CFG_READ, VIRTIO_ADMIN_CMD_NOTIFY_INFO_FLAGS_OWNER_DEV, VIRTIO_ADMIN_CMD_NOTIFY_INFO_FLAGS_OWNER_MEM,
  VIRTIO_CONFIG_S_DRIVER_OK, VIRTIO_F_ADMIN_VQ, VIRTIO_F_SR_IOV, VIRTIO_LEGACY_ADMIN_CMD_BITMAP,
} from '../../src/hw/devices/virtio/virtioSpec.js';
import { PCI_COMMAND, PCI_COMMAND_MEMORY } from '../../src/hw/pciRegs.js';
import { hostDma } from '../../src/host/dmaAlloc.js';
import { pciIovGetPfDrvdata, pciIovVfId, pciNumVf } from '../../src/host/iov.js';
import type { PciDev, PciDriver } from '../../src/host/pciDriver.js';
import { pciDeviceId } from '../../src/host/pciDriver.js';
import {
  virtioPciAdminHasLegacyIo, virtioPciAdminLegacyIoNotifyInfo, virtioPciAdminLegacyIoRead, virtioPciVfGetPfDev,
} from '../../src/host/virtio/legacyIo.js';
import { VirtioPciDevice, VirtioPciDriver } from '../../src/host/virtio/virtioPciDriver.js';
import { errno, PF, virtioVfMachine } from './variants/virtioMachine.js';

const CAP = 0x100;

describe('virtio-pci: the host driver of a virtio-net PF', () => {
  it('binds the PF by itself, negotiates SR_IOV and ADMIN_VQ, sets DRIVER_OK and enables every legacy admin command', async () => {
    const emu = await createEmulator();
    const pf = emu.hw.addVirtioNet(PF, { totalVfs: 4 });
    const dev = emu.host.pciDev(PF);
    expect(dev.driver).toBeInstanceOf(VirtioPciDriver);
    const vp = dev.driverData as VirtioPciDevice;
    expect(vp).toBeInstanceOf(VirtioPciDevice);
    expect(vp.has(VIRTIO_F_SR_IOV) && vp.has(VIRTIO_F_ADMIN_VQ)).toBe(true);
    expect(vp.status & VIRTIO_CONFIG_S_DRIVER_OK).toBe(VIRTIO_CONFIG_S_DRIVER_OK);
    expect(vp.supportedCmds & VIRTIO_LEGACY_ADMIN_CMD_BITMAP).toBe(VIRTIO_LEGACY_ADMIN_CMD_BITMAP);
    // the device agrees: LIST_USE enabled them all; the admin queue lives in host DMA memory at the top
    expect(pf.admin!.usedCommands(1)).toBe(vp.supportedCmds);
    expect(vp.dmaBase).toBeGreaterThanOrEqual(hostDma(emu.memory).low);
    expect(vp.dmaBase).toBeGreaterThan(emu.memory.size / 2);
    // pci_enable_device + bus mastering
    expect(emu.hw.configRead(PF, PCI_COMMAND, 2) & 0x6).toBe(0x6);
  });

  it('leaves a 1af4 function without virtio capabilities alone, Command untouched', async () => {
    const emu = await createEmulator();
    emu.hw.addEndpoint('0000:00:05.0', { vendorId: 0x1af4, deviceId: 0x1041, classCode: 0x020000, bars: [{ kind: 'mem32', size: 0x1000 }] });
    expect(emu.host.pciDev('0000:00:05.0').driver).toBeNull();
    expect(emu.hw.configRead('0000:00:05.0', PCI_COMMAND, 2)).toBe(0);
    expect(errno(() => emu.host.bind('0000:00:05.0', 'virtio-pci'))).toBe('ENODEV');
  });

  it('unbinding resets the device, gives the DMA memory back, and rebinding brings it up again', async () => {
    const m = await virtioVfMachine(0);
    const { emu } = m;
    const vp = emu.host.pciDev(PF).driverData as VirtioPciDevice;
    emu.host.unbind(PF);
    expect(m.pf.virtio.status).toBe(0);
    expect(emu.host.bind(PF, 'virtio-pci')).toBe('virtio-pci');
    const again = emu.host.pciDev(PF).driverData as VirtioPciDevice;
    expect(again.dmaBase).toBe(vp.dmaBase); // the freed block is reused
    expect(again.status & VIRTIO_CONFIG_S_DRIVER_OK).toBe(VIRTIO_CONFIG_S_DRIVER_OK);
  });
});

describe('sriovConfigure: enabling and disabling VFs', () => {
  it('enables VFs at PF RID + offset + stride * i with IDs from the PF and the capability', async () => {
    const m = await virtioVfMachine(0);
    const { emu } = m;
    expect(emu.host.sriovConfigure(PF, 3)).toBe(3);
    // hardware: NumVFs, VF Enable and VF MSE through config writes; the PF decodes memory
    expect(emu.hw.configRead(PF, CAP + PCI_SRIOV_NUM_VF, 2)).toBe(3);
    expect(emu.hw.configRead(PF, CAP + PCI_SRIOV_CTRL, 2) & (PCI_SRIOV_CTRL_VFE | PCI_SRIOV_CTRL_MSE)).toBe(PCI_SRIOV_CTRL_VFE | PCI_SRIOV_CTRL_MSE);
    expect(emu.hw.configRead(PF, PCI_COMMAND, 2) & PCI_COMMAND_MEMORY).toBe(PCI_COMMAND_MEMORY);
    expect(emu.hw.functions().map((f) => f.bdf)).toEqual([PF, '0000:00:04.1', '0000:00:04.2', '0000:00:04.3']);
    const pf = emu.host.pciDev(PF);
    expect(pciNumVf(pf)).toBe(3);
    const vfBar2 = pf.sriov!.vfBars[2]!;
    for (let i = 0; i < 3; i++) {
      const bdf = `0000:00:04.${i + 1}`;
      const vf = emu.host.pciDev(bdf);
      expect(vf.isVirtfn).toBe(true);
      expect(vf.physfn).toBe(pf);
      expect(pciIovVfId(vf)).toBe(i);
      // the VF's Vendor/Device ID registers read 0xffff; the host knows it as the PF's vendor and VF Device ID
      expect(emu.hw.configRead(bdf, 0, 4)).toBe(0xffffffff);
      expect(vf.id).toMatchObject({ vendor: 0x1af4, device: 0x1041, subvendor: 0x1af4, subdevice: 0x1100, class: 0x020000 });
      expect(emu.host.modalias(bdf)).toBe('pci:v00001AF4d00001041sv00001AF4sd00001100bc02sc00i00');
      expect(vf.resourceStart(2)).toBe(vfBar2.start! + i * 0x8000);
      expect(vf.resourceLen(2)).toBe(0x8000);
      expect(vf.resourceLen(0)).toBe(0); // no BAR0
      expect(emu.hw.function(bdf)!.barBase(2)).toBe(vf.resourceStart(2));
      // virtio-pci drives PFs only: the VFs stay unbound, ready for vfio
      expect(vf.driver).toBeNull();
      expect(virtioPciAdminHasLegacyIo(vf)).toBe(true);
    }
  });

  it('honours First VF Offset and VF Stride', async () => {
    const emu = await createEmulator();
    emu.hw.addVirtioNet(PF, { totalVfs: 3, firstVfOffset: 2, vfStride: 2 });
    expect(emu.host.sriovConfigure(PF, 3)).toBe(3);
    expect(emu.hw.functions().map((f) => f.bdf)).toEqual([PF, '0000:00:04.2', '0000:00:04.4', '0000:00:04.6']);
    expect([2, 4, 6].map((f) => pciIovVfId(emu.host.pciDev(`0000:00:04.${f}`)))).toEqual([0, 1, 2]);
  });

  it('writing the same number changes nothing, another number needs 0 first (EBUSY), 0 removes the VFs', async () => {
    const m = await virtioVfMachine(2);
    const { emu } = m;
    const vf1 = emu.host.pciDev('0000:00:04.1');
    expect(emu.host.sriovConfigure(PF, 2)).toBe(2);
    expect(emu.host.pciDev('0000:00:04.1')).toBe(vf1);
    expect(errno(() => emu.host.sriovConfigure(PF, 3))).toBe('EBUSY');
    expect(errno(() => emu.host.sriovConfigure(PF, 1))).toBe('EBUSY');
    expect(emu.hw.functions()).toHaveLength(3);
    expect(emu.host.sriovConfigure(PF, 0)).toBe(0);
    expect(emu.hw.functions().map((f) => f.bdf)).toEqual([PF]);
    expect(emu.hw.configRead(PF, CAP + PCI_SRIOV_NUM_VF, 2)).toBe(0);
    expect(emu.hw.configRead(PF, CAP + PCI_SRIOV_CTRL, 2) & (PCI_SRIOV_CTRL_VFE | PCI_SRIOV_CTRL_MSE)).toBe(0);
    expect(vf1.present).toBe(false);
    expect(() => emu.host.pciDev('0000:00:04.1')).toThrow(/no such PCI function/);
    expect(emu.host.sriovConfigure(PF, 0)).toBe(0);
    expect(emu.host.sriovConfigure(PF, 4)).toBe(4);
    expect(emu.hw.functions()).toHaveLength(5);
  });

  it('refuses what sriov_numvfs_store refuses, with its errnos', async () => {
    const m = await virtioVfMachine(0);
    const { emu } = m;
    expect(errno(() => emu.host.sriovConfigure(PF, 5))).toBe('ERANGE'); // more than TotalVFs
    expect(errno(() => emu.host.sriovConfigure(PF, 70000))).toBe('ERANGE'); // not a u16
    expect(errno(() => emu.host.sriovConfigure(PF, -1))).toBe('EINVAL');
    expect(errno(() => emu.host.sriovConfigure(PF, 1.5))).toBe('EINVAL');
    expect(errno(() => emu.host.sriovConfigure(PF, Number.NaN))).toBe('EINVAL');
    expect(errno(() => emu.host.sriovConfigure(PF, '2' as unknown as number))).toBe('EINVAL');
    expect(errno(() => emu.host.sriovConfigure('0000:00:09.0', 1))).toBe('ENODEV');
    // a function without the capability has no sriov_numvfs
    emu.hw.addEndpoint('0000:00:05.0', { vendorId: 0x8086, deviceId: 0x1234, classCode: 0x020000 });
    expect(errno(() => emu.host.sriovConfigure('0000:00:05.0', 1))).toBe('ENOENT');
    // no driver bound
    emu.host.unbind(PF);
    expect(errno(() => emu.host.sriovConfigure(PF, 1))).toBe('ENOENT');
    // the same number as now is accepted before the driver is looked at (nothing to do)
    expect(emu.host.sriovConfigure(PF, 0)).toBe(0);
    // a driver without sriov_configure
    const plain: PciDriver = { name: 'plain-net', idTable: [pciDeviceId({ vendor: 0x1af4, device: 0x1041 })], probe() {}, remove() {} };
    emu.host.registerDriver(plain);
    expect(emu.host.pciDev(PF).driver).toBe(plain);
    expect(errno(() => emu.host.sriovConfigure(PF, 1))).toBe('ENOENT');
    expect(emu.hw.functions().filter((f) => f.isVirtfn)).toHaveLength(0);
  });

  it("passes the driver's own errno on: virtio-pci wants DRIVER_OK (EBUSY) and VIRTIO_F_SR_IOV (EINVAL)", async () => {
    const m = await virtioVfMachine(0);
    const { emu } = m;
    const vp = emu.host.pciDev(PF).driverData as VirtioPciDevice;
    vp.transport.status = 0; // the device was reset behind the driver
    expect(errno(() => emu.host.sriovConfigure(PF, 1))).toBe('EBUSY');
    emu.host.unbind(PF);
    emu.host.bind(PF, 'virtio-pci');
    const again = emu.host.pciDev(PF).driverData as VirtioPciDevice;
    again.features[1] &= ~(1 << (VIRTIO_F_SR_IOV - 32));
    expect(errno(() => emu.host.sriovConfigure(PF, 1))).toBe('EINVAL');
  });

  it('unbinding the PF driver disables its VFs first', async () => {
    const m = await virtioVfMachine(2);
    const { emu } = m;
    emu.host.unbind(PF);
    expect(emu.hw.functions().map((f) => f.bdf)).toEqual([PF]);
    expect(pciNumVf(emu.host.pciDev(PF))).toBe(0);
  });

  it('has ENOMEM when the VF BARs have no address (assignment was pending when the PF appeared)', async () => {
    const emu = await createEmulator();
    const other = '0000:00:03.0';
    emu.hw.addEndpoint(other, { vendorId: 0x8086, deviceId: 0x1234, classCode: 0x020000, bars: [{ kind: 'mem32', size: 0x1000 }] });
    emu.host.pci.enableDevice(emu.host.pciDev(other)); // in use: no reassignment
    emu.hw.addVirtioNet(PF, { totalVfs: 2 });
    const pf = emu.host.pciDev(PF);
    expect(pf.sriov!.vfBars[2]!.start).toBeNull();
    expect(pf.driver).toBeNull(); // virtio-pci needs its BARs too
    emu.host.driverOverride(PF, 'vfio-pci');
    expect(emu.host.bind(PF, 'vfio-pci')).toBe('vfio-pci');
    expect(errno(() => emu.host.sriovConfigure(PF, 2))).toBe('ENOMEM');
    expect(emu.hw.functions().filter((f) => f.isVirtfn)).toHaveLength(0);
    expect(emu.hw.configRead(PF, CAP + PCI_SRIOV_NUM_VF, 2)).toBe(0);
  });

  it('picks up VFs lost behind its back (a reset of the PF) and starts again from 0', async () => {
    const m = await virtioVfMachine(2);
    const { emu } = m;
    emu.hw.configWrite(PF, CAP + PCI_SRIOV_CTRL, 2, 0); // VF Enable cleared by someone else
    expect(emu.hw.functions()).toHaveLength(1);
    expect(emu.host.sriovConfigure(PF, 1)).toBe(1);
    expect(emu.hw.functions().map((f) => f.bdf)).toEqual([PF, '0000:00:04.1']);
  });
});

describe('virtio-pci legacy admin service to its VFs', () => {
  it('answers for the VF as member VF index + 1, with errno = admin status for what the device refuses', async () => {
    const m = await virtioVfMachine(2);
    const { emu } = m;
    const vf2 = emu.host.pciDev('0000:00:04.2');
    const vp = virtioPciVfGetPfDev(vf2)!;
    expect(pciIovGetPfDrvdata(vf2, emu.host.pciDev(PF).driver!)).toBe(vp);
    // host features of VF 2 through LEGACY_COMMON_CFG_READ
    expect(virtioPciAdminLegacyIoRead(vf2, VIRTIO_ADMIN_CMD_LEGACY_COMMON_CFG_READ, 0, 4)).toBe(m.pf.member(2)!.featuresLo);
    // a member that does not exist: VIRTIO_ADMIN_STATUS_EINVAL (Q_INVALID_MEMBER) -> EINVAL
    expect(errno(() => virtioPciAdminLegacyIoRead(vf2, VIRTIO_ADMIN_CMD_LEGACY_COMMON_CFG_READ, 0, 4, 9))).toBe('EINVAL');
    // straddling two registers (Q_INVALID_FIELD)
    expect(errno(() => virtioPciAdminLegacyIoRead(vf2, VIRTIO_ADMIN_CMD_LEGACY_COMMON_CFG_READ, 2, 4))).toBe('EINVAL');
    // the notify area: owner memory entry, VF BAR2 + 0x4000; none owned by the device
    expect(virtioPciAdminLegacyIoNotifyInfo(vf2, VIRTIO_ADMIN_CMD_NOTIFY_INFO_FLAGS_OWNER_MEM)).toEqual({ bar: 2, offset: 0x4000 });
    expect(errno(() => virtioPciAdminLegacyIoNotifyInfo(vf2, VIRTIO_ADMIN_CMD_NOTIFY_INFO_FLAGS_OWNER_DEV))).toBe('ENOENT');
  });

  it('is not available through a PF bound elsewhere, nor for a function that is not a VF', async () => {
    const m = await virtioVfMachine(1);
    const { emu } = m;
    const pf = emu.host.pciDev(PF);
    expect(virtioPciAdminHasLegacyIo(pf)).toBe(false);
    expect(errno(() => pciIovVfId(pf))).toBe('EINVAL');
    expect(errno(() => pciIovGetPfDrvdata(pf, pf.driver!))).toBe('EINVAL');
    const vf = emu.host.pciDev('0000:00:04.1');
    const other: PciDriver = { name: 'x', idTable: [], probe() {}, remove() {} };
    expect(errno(() => pciIovGetPfDrvdata(vf as PciDev, other))).toBe('EINVAL');
  });
});
