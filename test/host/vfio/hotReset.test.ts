// Device sets and bus reset (vfio_pci_core_register_device's set_id, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO,
// VFIO_DEVICE_PCI_HOT_RESET in the cdev/iommufd model): devices a reset reaches share a set; the info
// lists every affected function with its devid in the caller's iommufd context; the reset needs every
// affected function bound to vfio in the set and none opened by another context.
import { describe, expect, it } from 'vitest';
import { IommufdCtx } from '../../../src/host/vfio/iommufd.js';
import type { VfioPciCoreDevice } from '../../../src/host/vfio/pciCore/vfioPciCoreDevice.js';
import { GenericEndpoint } from '../../../src/hw/devices/genericEndpoint.js';
import {
  NO_RESET_SPEC, PCIE_SPEC, ROOT_DEV, VFIO, createEmulator, errno, getU32, headerDwords, readLe, regionOffset, u32s,
} from './machine.js';
import type { Emulator } from './machine.js';

const BRIDGE = '0000:00:01.0';
const F0 = '0000:01:00.0';
const F1 = '0000:01:00.1';
const NOT_OWNED = 0xffffffff;
const DEV_ID = VFIO.PCI_HOT_RESET_FLAG_DEV_ID;
const DEV_ID_OWNED = VFIO.PCI_HOT_RESET_FLAG_DEV_ID_OWNED;

class CountingEndpoint extends GenericEndpoint {
  resets = 0;
  override reset(): void {
    this.resets++;
    super.reset();
  }
}

/** A bridge with a two-function device behind it (no FLR, no PM: only a bus reset reaches them) and a root-bus device. */
async function machine(bindF1 = true) {
  const emu = await createEmulator();
  emu.hw.addBridge(BRIDGE, { secondaryBus: 1 });
  const models = { [F0]: new CountingEndpoint(), [F1]: new CountingEndpoint() };
  emu.hw.addFunction(F0, NO_RESET_SPEC, models[F0]);
  emu.hw.addFunction(F1, { ...NO_RESET_SPEC, deviceId: 0x3333 }, models[F1]);
  emu.hw.addEndpoint(ROOT_DEV, PCIE_SPEC);
  emu.host.bind(F0);
  if (bindF1) emu.host.bind(F1);
  emu.host.bind(ROOT_DEV);
  return { emu, models };
}

const vdevOf = (emu: Emulator, bdf: string) => emu.host.pciDev(bdf).driverData as VfioPciCoreDevice;

function info(file: { ioctl(r: number, a: Uint8Array): number }, argsz: number, bufSize = Math.max(argsz, 12)) {
  const arg = new Uint8Array(bufSize).fill(0xcc);
  arg.set(u32s(4, argsz));
  const ret = file.ioctl(VFIO.DEVICE_GET_PCI_HOT_RESET_INFO, arg);
  const count = getU32(arg, 8);
  const devices = [];
  for (let i = 0; i < count && 12 + 8 * i + 8 <= arg.length; i++) {
    const at = 12 + 8 * i;
    devices.push({ devid: getU32(arg, at), segment: arg[at + 4] | (arg[at + 5] << 8), bus: arg[at + 6], devfn: arg[at + 7] });
  }
  return { ret, arg, flags: getU32(arg, 4), count, devices };
}

const hotReset = (argsz = 12, flags = 0, count = 0) => u32s(Math.max(argsz, 12), argsz, flags, count);

describe('device sets', () => {
  it('puts the functions behind one bridge in one set and a root-bus device in its own', async () => {
    const { emu } = await machine();
    const [a, b, r] = [vdevOf(emu, F0), vdevOf(emu, F1), vdevOf(emu, ROOT_DEV)];
    expect(a.devSet).toBe(b.devSet);
    expect([...a.devSet.devices]).toEqual([a, b]);
    expect(r.devSet).not.toBe(a.devSet);
    expect([...r.devSet.devices]).toEqual([r]);
    emu.host.unbind(F1);
    expect([...a.devSet.devices]).toEqual([a]);
  });
});

describe('GET_PCI_HOT_RESET_INFO', () => {
  it('is ENODEV on the root bus', async () => {
    const { emu } = await machine();
    expect(errno(() => emu.host.openDevice(ROOT_DEV).ioctl(VFIO.DEVICE_GET_PCI_HOT_RESET_INFO, u32s(64, 64)))).toBe('ENODEV');
  });

  it('answers ENOSPC with the count (and flags 0) written back when argsz has no room', async () => {
    const { emu } = await machine();
    const f = emu.host.openDevice(F0);
    for (const argsz of [12, 19]) {
      const arg = new Uint8Array(40).fill(0xcc);
      arg.set(u32s(4, argsz));
      expect(errno(() => f.ioctl(VFIO.DEVICE_GET_PCI_HOT_RESET_INFO, arg))).toBe('ENOSPC');
      expect([getU32(arg, 0), getU32(arg, 4), getU32(arg, 8)]).toEqual([argsz, 0, 2]);
      expect([...arg.subarray(12)]).toEqual(new Array(28).fill(0xcc));
    }
    expect(errno(() => f.ioctl(VFIO.DEVICE_GET_PCI_HOT_RESET_INFO, u32s(12, 11)))).toBe('EINVAL');
    expect(errno(() => f.ioctl(VFIO.DEVICE_GET_PCI_HOT_RESET_INFO, u32s(8, 12)))).toBe('EFAULT');
  });

  it('lists every function on the bus with its devid; unopened set members count as owned', async () => {
    const { emu } = await machine();
    const f = emu.host.openDevice(F0);
    const r = info(f, 28);
    expect(r.ret).toBe(0);
    expect(r.flags).toBe(DEV_ID | DEV_ID_OWNED);
    expect(r.count).toBe(2);
    expect(r.devices[0]).toMatchObject({ segment: 0, bus: 1, devfn: 0 });
    expect(r.devices[0].devid).toBeGreaterThan(0);
    // 01:00.1 is in the set but nobody opened it: owned implicitly (VFIO_PCI_DEVID_OWNED)
    expect(r.devices[1]).toEqual({ devid: 0, segment: 0, bus: 1, devfn: 1 });
    expect(getU32(r.arg, 0)).toBe(28);
    // opened by the same user it gets its own devid
    emu.host.openDevice(F1);
    const r2 = info(f, 28);
    expect(r2.flags).toBe(DEV_ID | DEV_ID_OWNED);
    expect(r2.devices[1].devid).toBeGreaterThan(0);
    expect(r2.devices[1].devid).not.toBe(r2.devices[0].devid);
  });

  it('marks functions opened by another iommufd context, or not bound to vfio, NOT_OWNED and drops the OWNED flag', async () => {
    const other = await machine();
    const f = other.emu.host.openDevice(F0);
    other.emu.host.openDevice(F1, { iommufd: new IommufdCtx('someone else') });
    const r = info(f, 28);
    expect(r.flags).toBe(DEV_ID);
    expect(r.devices.map((d) => d.devid === NOT_OWNED)).toEqual([false, true]);

    const unbound = await machine(false);
    const g = unbound.emu.host.openDevice(F0);
    const u = info(g, 28);
    expect(u.flags).toBe(DEV_ID);
    expect(u.devices[1]).toEqual({ devid: NOT_OWNED, segment: 0, bus: 1, devfn: 1 });
  });
});

describe('PCI_HOT_RESET', () => {
  it('resets every function of the set and restores their config and BARs', async () => {
    const { emu, models } = await machine();
    const f = emu.host.openDevice(F0);
    f.write(regionOffset(0, 0x10), Uint8Array.of(0x77));
    const before = [headerDwords(emu, F0), headerDwords(emu, F1)];
    const resets = [models[F0].resets, models[F1].resets];
    expect(errno(() => f.ioctl(VFIO.DEVICE_RESET, new Uint8Array(0)))).toBe('EINVAL'); // no function-level method
    expect(f.ioctl(VFIO.DEVICE_PCI_HOT_RESET, hotReset())).toBe(0);
    expect([models[F0].resets - resets[0], models[F1].resets - resets[1]]).toEqual([1, 1]);
    expect([headerDwords(emu, F0), headerDwords(emu, F1)]).toEqual(before);
    expect(readLe(f, 0, 0x10, 1)).toBe(0);
    f.write(regionOffset(0, 0x10), Uint8Array.of(0x78));
    expect(readLe(f, 0, 0x10, 1)).toBe(0x78);
  });

  it('works when the other function is opened by the same user', async () => {
    const { emu, models } = await machine();
    const f = emu.host.openDevice(F0);
    emu.host.openDevice(F1);
    const n = models[F1].resets;
    expect(f.ioctl(VFIO.DEVICE_PCI_HOT_RESET, hotReset())).toBe(0);
    expect(models[F1].resets).toBe(n + 1);
  });

  it('checks the header: argsz, flags 0, and no group fds for a cdev-opened device', async () => {
    const { emu } = await machine();
    const f = emu.host.openDevice(F0);
    expect(errno(() => f.ioctl(VFIO.DEVICE_PCI_HOT_RESET, hotReset(11)))).toBe('EINVAL');
    expect(errno(() => f.ioctl(VFIO.DEVICE_PCI_HOT_RESET, hotReset(12, 1)))).toBe('EINVAL');
    expect(errno(() => f.ioctl(VFIO.DEVICE_PCI_HOT_RESET, u32s(16, 16, 0, 1, 3)))).toBe('EINVAL');
    expect(errno(() => f.ioctl(VFIO.DEVICE_PCI_HOT_RESET, u32s(8, 12)))).toBe('EFAULT');
  });

  it('is ENODEV on the root bus', async () => {
    const { emu } = await machine();
    expect(errno(() => emu.host.openDevice(ROOT_DEV).ioctl(VFIO.DEVICE_PCI_HOT_RESET, hotReset()))).toBe('ENODEV');
  });

  it('is EINVAL when an affected function is not bound to vfio, and resets nothing', async () => {
    const { emu, models } = await machine(false);
    const f = emu.host.openDevice(F0);
    const n = [models[F0].resets, models[F1].resets];
    expect(errno(() => f.ioctl(VFIO.DEVICE_PCI_HOT_RESET, hotReset()))).toBe('EINVAL');
    expect([models[F0].resets, models[F1].resets]).toEqual(n);
  });

  it('is EINVAL when another iommufd context has an affected function open', async () => {
    const { emu, models } = await machine();
    const f = emu.host.openDevice(F0);
    const theirs = emu.host.openDevice(F1, { iommufd: new IommufdCtx('tenant b') });
    const n = models[F1].resets;
    expect(errno(() => f.ioctl(VFIO.DEVICE_PCI_HOT_RESET, hotReset()))).toBe('EINVAL');
    expect(errno(() => theirs.ioctl(VFIO.DEVICE_PCI_HOT_RESET, hotReset()))).toBe('EINVAL');
    expect(models[F1].resets).toBe(n);
    theirs.close();
    expect(f.ioctl(VFIO.DEVICE_PCI_HOT_RESET, hotReset())).toBe(0);
  });

  it('is EINVAL when a bridge sits below the bus (it cannot be in a vfio set)', async () => {
    const emu = await createEmulator();
    emu.hw.addBridge(BRIDGE, { secondaryBus: 1 });
    emu.hw.addEndpoint(F0, NO_RESET_SPEC);
    emu.hw.addBridge('0000:01:01.0', { secondaryBus: 2 });
    emu.host.bind(F0);
    const f = emu.host.openDevice(F0);
    const r = info(f, 12 + 8 * 4);
    expect(r.count).toBe(2);
    expect(r.flags).toBe(DEV_ID);
    expect(errno(() => f.ioctl(VFIO.DEVICE_PCI_HOT_RESET, hotReset()))).toBe('EINVAL');
  });
});

describe('the last close of a set (vfio_pci_dev_set_try_reset)', () => {
  it('resets the bus when a device that could not reset itself closes and nothing else in the set is open', async () => {
    const { emu, models } = await machine();
    const f = emu.host.openDevice(F0);
    f.write(regionOffset(0, 0x10), Uint8Array.of(0x55));
    emu.hw.configWrite(F1, 4, 2, 0x2); // decode on so the host can write F1's memory
    emu.hw.mmioWrite(emu.host.pciDev(F1).resourceStart(0) + 0x10, 1, 0x66);
    expect(emu.hw.mmioRead(emu.host.pciDev(F1).resourceStart(0) + 0x10, 1)).toBe(0x66);
    const before = [headerDwords(emu, F0), headerDwords(emu, F1)];
    const n = [models[F0].resets, models[F1].resets];
    f.close();
    expect([models[F0].resets - n[0], models[F1].resets - n[1]]).toEqual([1, 1]);
    expect([headerDwords(emu, F0), headerDwords(emu, F1)]).toEqual(before);
    expect(emu.hw.mmioRead(emu.host.pciDev(F1).resourceStart(0) + 0x10, 1)).toBe(0);
    // nothing needs a reset any more: opening and closing F1 alone resets again only because F1 could not reset itself
    const g = emu.host.openDevice(F1);
    g.close();
    expect([models[F0].resets - n[0], models[F1].resets - n[1]]).toEqual([2, 2]);
  });

  it('does not reset while another device of the set is open, but does at that one\'s close', async () => {
    const { emu, models } = await machine();
    const a = emu.host.openDevice(F0);
    const b = emu.host.openDevice(F1);
    const n = [models[F0].resets, models[F1].resets];
    a.close();
    expect([models[F0].resets, models[F1].resets]).toEqual(n);
    b.close();
    expect([models[F0].resets - n[0], models[F1].resets - n[1]]).toEqual([1, 1]);
  });

  it('does not reset when the bus holds a function outside the set, nor for a device that reset itself', async () => {
    const { emu, models } = await machine(false);
    const f = emu.host.openDevice(F0);
    const n = [models[F0].resets, models[F1].resets];
    f.close();
    expect([models[F0].resets, models[F1].resets]).toEqual(n);

    const e2 = await createEmulator();
    e2.hw.addBridge(BRIDGE, { secondaryBus: 1 });
    const flr = new CountingEndpoint();
    const other = new CountingEndpoint();
    e2.hw.addFunction(F0, { ...PCIE_SPEC, interruptPin: 1 }, flr);
    e2.hw.addFunction(F1, NO_RESET_SPEC, other);
    e2.host.bind(F0);
    e2.host.bind(F1);
    e2.host.openDevice(F0).close(); // FLR at open and at close: needs_reset stays false
    expect([flr.resets, other.resets]).toEqual([2, 0]);
  });
});
