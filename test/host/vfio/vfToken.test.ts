// VF tokens (vfio_pci_validate_vf_token) and SR-IOV through vfio-pci (vfio_pci_core_sriov_configure),
// and the vconfig quirks Linux applies to VFs, seen through a VF's vfio device file.
import { describe, expect, it } from 'vitest';
import { createEmulator } from '../../../src/emulator.js';
import type { Emulator } from '../../../src/emulator.js';
import { PCI_COMMAND, PCI_COMMAND_MEMORY } from '../../../src/hw/pciRegs.js';
import { formatUuid, parseUuid } from '../../../src/host/vfio/pciCore/sriov.js';
import { VfioPciCoreDevice } from '../../../src/host/vfio/pciCore/vfioPciCoreDevice.js';
import { VFIO, VfioClient, errno, outcome, u32s } from './machine.js';

const PF = '0000:00:04.0';
const VF1 = '0000:00:04.1';
const VF2 = '0000:00:04.2';
const U = '2ab74924-c335-45f4-9b16-8569e5b08258';
const V = 'bd8d9d2b-5a5f-4f5a-a211-f591514ba1f3';
const SET = VFIO.DEVICE_FEATURE_SET;

/** struct vfio_device_feature for PCI_VF_TOKEN SET with the UUID's 16 bytes. */
function tokenFeature(uuid: string, flags = SET): Uint8Array {
  const arg = u32s(24, 24, flags | VFIO.DEVICE_FEATURE_PCI_VF_TOKEN);
  arg.set(parseUuid(uuid), 8);
  return arg;
}

/** A virtio-net PF moved from virtio-pci to vfio-pci, as a user does before handing it to a VMM. */
async function vfioPf(): Promise<Emulator> {
  const emu = await createEmulator();
  emu.hw.addVirtioNet(PF, { totalVfs: 4 });
  expect(emu.host.pciDev(PF).driver?.name).toBe('virtio-pci');
  emu.host.unbind(PF);
  emu.host.driverOverride(PF, 'vfio-pci');
  expect(emu.host.bind(PF, 'vfio-pci')).toBe('vfio-pci');
  return emu;
}

function pfDevice(emu: Emulator): VfioPciCoreDevice {
  return emu.host.pciDev(PF).driverData as VfioPciCoreDevice;
}

describe('VF token: a PF bound to vfio-pci', () => {
  it('gets a random token at bind; a token given at open is taken while no VF is open', async () => {
    const emu = await vfioPf();
    const vdev = pfDevice(emu);
    expect(vdev.vfToken).not.toBeNull();
    expect(vdev.vfToken!.uuid).toHaveLength(16);
    expect(vdev.vfToken!.users).toBe(0);
    const f = emu.host.openDevice(PF, { vfToken: U });
    expect(formatUuid(vdev.vfToken!.uuid!)).toBe(U);
    f.close();
    // and without a token the PF opens as well while no VF is in use
    emu.host.openDevice(PF).close();
    expect(formatUuid(vdev.vfToken!.uuid!)).toBe(U);
    expect(errno(() => emu.host.openDevice(PF, { vfToken: 'not-a-uuid' }))).toBe('EINVAL');
    expect(errno(() => emu.host.openDevice(PF, { vfToken: U.slice(0, 35) }))).toBe('EINVAL');
    expect(errno(() => emu.host.openDevice(PF, { vfToken: U + ' ' }))).toBe('EINVAL');
  });

  it('DEVICE_FEATURE PCI_VF_TOKEN SET replaces the token (GET refused, PROBE of SET answers 0)', async () => {
    const emu = await vfioPf();
    const f = emu.host.openDevice(PF);
    expect(f.ioctl(VFIO.DEVICE_FEATURE, tokenFeature(V))).toBe(0);
    expect(formatUuid(pfDevice(emu).vfToken!.uuid!)).toBe(V);
    expect(errno(() => f.ioctl(VFIO.DEVICE_FEATURE, tokenFeature(U, VFIO.DEVICE_FEATURE_GET)))).toBe('EINVAL');
    expect(f.ioctl(VFIO.DEVICE_FEATURE, u32s(8, 8, VFIO.DEVICE_FEATURE_PROBE | SET | VFIO.DEVICE_FEATURE_PCI_VF_TOKEN))).toBe(0);
    expect(errno(() => f.ioctl(VFIO.DEVICE_FEATURE, u32s(20, 20, SET | VFIO.DEVICE_FEATURE_PCI_VF_TOKEN)))).toBe('EINVAL'); // short payload
    expect(formatUuid(pfDevice(emu).vfToken!.uuid!)).toBe(V);
  });

  it("enables VFs through vfio-pci's sriov_configure; the VFs come up bound to vfio-pci (driver_override captured)", async () => {
    const emu = await vfioPf();
    expect(emu.host.sriovConfigure(PF, 2)).toBe(2);
    for (const vf of [VF1, VF2]) {
      const dev = emu.host.pciDev(vf);
      expect(dev.driverOverride).toBe('vfio-pci');
      expect(dev.driver?.name).toBe('vfio-pci');
      expect((dev.driverData as VfioPciCoreDevice).sriovPfCoreDev).toBe(pfDevice(emu));
    }
    expect(emu.host.sriovConfigure(PF, 0)).toBe(0);
    expect(emu.hw.functions()).toHaveLength(1);
    // vfio-pci loaded without enable_sriov refuses
    (emu.host.driverCore.driver('vfio-pci') as unknown as { params: { enableSriov: boolean } }).params.enableSriov = false;
    expect(errno(() => emu.host.sriovConfigure(PF, 2))).toBe('ENOENT');
  });
});

describe('VF token: opening VFs and the PF', () => {
  async function withVfs(): Promise<Emulator> {
    const emu = await vfioPf();
    const f = emu.host.openDevice(PF);
    f.ioctl(VFIO.DEVICE_FEATURE, tokenFeature(U));
    f.close();
    expect(emu.host.sriovConfigure(PF, 2)).toBe(2);
    return emu;
  }

  it('a VF needs the PF token: none or a wrong one is EACCES, a malformed one EINVAL', async () => {
    const emu = await withVfs();
    expect(errno(() => emu.host.openDevice(VF1))).toBe('EACCES');
    expect(errno(() => emu.host.openDevice(VF1, { vfToken: V }))).toBe('EACCES');
    expect(errno(() => emu.host.openDevice(VF1, { vfToken: 'zz' }))).toBe('EINVAL');
    const f = emu.host.openDevice(VF1, { vfToken: U.toUpperCase() });
    expect(pfDevice(emu).vfToken!.users).toBe(1);
    const g = emu.host.openDevice(VF2, { vfToken: U });
    expect(pfDevice(emu).vfToken!.users).toBe(2);
    f.close();
    g.close();
    expect(pfDevice(emu).vfToken!.users).toBe(0);
  });

  it('while a VF is open the PF needs the token too, and cannot change it; afterwards a new token takes over', async () => {
    const emu = await withVfs();
    const vf = emu.host.openDevice(VF1, { vfToken: U });
    expect(errno(() => emu.host.openDevice(PF))).toBe('EACCES');
    expect(errno(() => emu.host.openDevice(PF, { vfToken: V }))).toBe('EACCES');
    const pf = emu.host.openDevice(PF, { vfToken: U });
    pf.close();
    vf.close();
    // no VF open: the PF open sets the token, and the VFs now need the new one
    emu.host.openDevice(PF, { vfToken: V }).close();
    expect(errno(() => emu.host.openDevice(VF1, { vfToken: U }))).toBe('EACCES');
    emu.host.openDevice(VF1, { vfToken: V }).close();
  });

  it('disabling SR-IOV while a VF is open is EBUSY (the user is asked through REQ); after close it works', async () => {
    const emu = await withVfs();
    const vf = emu.host.openDevice(VF1, { vfToken: U });
    const c = new VfioClient(vf);
    const req = emu.host.eventfd();
    c.setIrqs(VFIO.PCI_REQ_IRQ_INDEX, VFIO.IRQ_SET_ACTION_TRIGGER, 0, { kind: 'eventfd', fds: [req.fd] });
    expect(errno(() => emu.host.sriovConfigure(PF, 0))).toBe('EBUSY');
    expect(req.signals).toBe(1);
    // unbinding the PF (which disables its VFs first) is refused the same way
    expect(errno(() => emu.host.unbind(PF))).toBe('EBUSY');
    vf.close();
    expect(emu.host.sriovConfigure(PF, 0)).toBe(0);
    expect(emu.hw.functions()).toHaveLength(1);
  });

  it('unbinding the PF with VFs enabled removes them and drops the token', async () => {
    const emu = await withVfs();
    const vdev = pfDevice(emu);
    emu.host.unbind(PF);
    expect(emu.hw.functions()).toHaveLength(1);
    expect(vdev.vfToken).toBeNull();
  });

  it('a VF of a PF that is not bound to vfio-pci takes no token (EINVAL when given)', async () => {
    const emu = await createEmulator();
    emu.hw.addVirtioNet(PF, { totalVfs: 2 });
    emu.host.sriovConfigure(PF, 1); // through virtio-pci
    emu.host.driverOverride(VF1, 'vfio-pci');
    expect(emu.host.bind(VF1, 'vfio-pci')).toBe('vfio-pci');
    expect(errno(() => emu.host.openDevice(VF1, { vfToken: U }))).toBe('EINVAL');
    emu.host.openDevice(VF1).close();
  });

  it('a device that is neither PF nor VF takes no token', async () => {
    const emu = await createEmulator();
    emu.hw.addEndpoint('0000:00:03.0', { vendorId: 0x8086, deviceId: 0x10fb, classCode: 0x020000, bars: [{ kind: 'mem32', size: 0x1000 }] });
    emu.host.bind('0000:00:03.0');
    expect(outcome(() => emu.host.openDevice('0000:00:03.0', { vfToken: U }))).toBe('EINVAL');
    expect(outcome(() => emu.host.openDevice('0000:00:03.0').close())).toBe('OK');
  });
});

describe('a vfio-pci PF with VFs', () => {
  it('keeps its VFs across its own reset (pci_restore_iov_state): they come back as fresh functions, bound to vfio-pci', async () => {
    const emu = await vfioPf();
    expect(emu.host.sriovConfigure(PF, 2)).toBe(2);
    const before = emu.hw.function(VF1)!;
    const pf = emu.host.openDevice(PF); // open resets the PF (FLR)
    new VfioClient(pf).reset(); // and so does DEVICE_RESET
    pf.close(); // and close
    expect(emu.hw.functions().map((f) => f.bdf)).toEqual([PF, VF1, VF2]);
    expect(emu.hw.function(VF1)).not.toBe(before);
    expect(emu.hw.configRead(PF, 0x100 + 0x10, 2)).toBe(2);
    expect(emu.host.pciDev(VF1).driver?.name).toBe('vfio-pci');
    emu.host.openDevice(VF1, { vfToken: formatUuid(pfDevice(emu).vfToken!.uuid!) }).close();
    expect(emu.host.sriovConfigure(PF, 0)).toBe(0);
  });

  it('stays in D0 while its VFs are enabled: a D3hot write is dropped', async () => {
    const emu = await vfioPf();
    const f = emu.host.openDevice(PF);
    emu.host.sriovConfigure(PF, 1);
    const c = new VfioClient(f);
    // the PM capability, found through the user's capability chain
    let pos = c.configRead(0x34, 1);
    while (pos && c.configRead(pos, 1) !== 0x01) pos = c.configRead(pos + 1, 1);
    expect(pos).not.toBe(0);
    c.configWrite(pos + 4, 2, 3);
    expect(emu.hw.configRead(PF, pos + 4, 2) & 3).toBe(0);
    expect(emu.hw.functions()).toHaveLength(2);
    f.close();
  });

  it('refuses to bind to a PF whose SR-IOV another driver left enabled (EBUSY)', async () => {
    const emu = await createEmulator();
    emu.hw.addVirtioNet(PF, { totalVfs: 2 });
    emu.host.unbind(PF);
    const { pciEnableSriov } = await import('../../../src/host/iov.js');
    const sloppy = {
      name: 'sloppy-pf',
      idTable: [{ vendor: 0x1af4, device: 0x1041, subvendor: 0xffffffff, subdevice: 0xffffffff, class: 0, classMask: 0 }],
      probe() {},
      remove() {}, // leaves SR-IOV enabled ("driver left SR-IOV enabled after remove")
      sriovConfigure(dev: import('../../../src/host/pciDriver.js').PciDev, n: number) {
        pciEnableSriov(dev, n);
        return n;
      },
    };
    emu.host.registerDriver(sloppy);
    expect(emu.host.pciDev(PF).driver?.name).toBe('sloppy-pf');
    expect(emu.host.sriovConfigure(PF, 2)).toBe(2);
    emu.host.unbind(PF);
    emu.host.driverOverride(PF, 'vfio-pci');
    expect(errno(() => emu.host.bind(PF, 'vfio-pci'))).toBe('EBUSY');
  });
});

describe("a VF through vfio-pci: the vconfig quirks Linux applies to VFs", () => {
  it('IDs from the PF, Command Memory Space virtual, no INTx pin, VF BAR2 virtualized and sizable', async () => {
    const emu = await createEmulator();
    emu.hw.addVirtioNet(PF, { totalVfs: 2 });
    emu.host.sriovConfigure(PF, 2);
    emu.host.driverOverride(VF2, 'vfio-pci');
    emu.host.bind(VF2, 'vfio-pci');
    const file = emu.host.openDevice(VF2);
    const c = new VfioClient(file);
    // hardware: 0xffff IDs, no MEM bit
    expect(emu.hw.configRead(VF2, 0, 4)).toBe(0xffffffff);
    expect(c.configRead(0, 2)).toBe(0x1af4);
    expect(c.configRead(2, 2)).toBe(0x1041);
    expect(c.configRead(0, 4)).toBe(0x10411af4);
    expect(c.configRead(1, 1)).toBe(0x1a);
    expect(c.configRead(3, 1)).toBe(0x10);
    expect(c.configRead(0x3d, 1)).toBe(0); // interrupt pin
    // Memory Space Enable reads as the user has it, hardware keeps it read-only zero (VF MSE decides)
    expect(c.configRead(PCI_COMMAND, 2) & PCI_COMMAND_MEMORY).toBe(PCI_COMMAND_MEMORY);
    c.configWrite(PCI_COMMAND, 2, 0);
    expect(c.configRead(PCI_COMMAND, 2) & PCI_COMMAND_MEMORY).toBe(0);
    expect(emu.hw.configRead(VF2, PCI_COMMAND, 2) & PCI_COMMAND_MEMORY).toBe(0);
    c.configWrite(PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
    expect(c.configRead(PCI_COMMAND, 2) & PCI_COMMAND_MEMORY).toBe(PCI_COMMAND_MEMORY);
    // VF BAR2 (64-bit, 32 KiB) is emulated on vconfig: VF BAR registers read zero in hardware, so
    // vfio_bar_fixup shows the flags with a zero address, then sizing answers as for any BAR
    expect(c.configRead(0x18, 4)).toBe(0x4);
    expect(c.configRead(0x1c, 4)).toBe(0);
    c.configWrite(0x18, 4, 0xffffffff);
    expect(c.configRead(0x18, 4)).toBe(0xffff8004);
    expect(c.configRead(0x10, 4)).toBe(0); // no BAR0
    // BAR2 reads and writes reach the VF's virtio registers: device_feature_select round trip
    c.writeRegion(2, 0, 4, 1);
    expect(c.readRegion(2, 0, 4)).toBe(1);
    expect(emu.hw.function(VF2)!.barRead(2, 0, 4)).toBe(1);
    file.close();
  });
});
