import { describe, expect, it } from 'vitest';
import { createEmulator } from '../../src/emulator.js';
import type { Emulator } from '../../src/emulator.js';
import type { Bridge } from '../../src/hw/bridge.js';
import { GenericEndpoint } from '../../src/hw/devices/genericEndpoint.js';
import type { PciFunction } from '../../src/hw/pciFunction.js';
import {
  PCI_BASE_ADDRESS_0, PCI_COMMAND, PCI_COMMAND_INTX_DISABLE, PCI_COMMAND_IO, PCI_COMMAND_MASTER, PCI_COMMAND_MEMORY,
  PCI_ROM_ADDRESS,
} from '../../src/hw/pciRegs.js';
import type { EndpointSpec } from '../../src/hw/spec.js';
import type { HostPciDev, PciResource } from '../../src/host/pciCore.js';
import { PCI_ROM_RESOURCE } from '../../src/host/pciCore.js';
import { PCI_SRIOV_CTRL, PCI_SRIOV_CTRL_VFE, PCI_SRIOV_NUM_VF, PCI_SRIOV_SYS_PGSIZE } from '../../src/hw/pciRegs.js';
import { DEFAULT_HOST_POOLS } from '../../src/host/resourceAssignment.js';
import type { PciDev, PciDriver } from '../../src/host/pciDriver.js';
import { pciDeviceId } from '../../src/host/pciDriver.js';
import { VfioError } from '../../src/host/vfio/vfioError.js';

const A = '0000:00:01.0';
const BR1 = '0000:00:02.0';
const B = '0000:01:00.0';
const BR2 = '0000:01:01.0';
const C = '0000:02:00.0';
const D = '0000:00:03.0';
const E = '0000:00:04.0';

const specA: EndpointSpec = {
  vendorId: 0x8086, deviceId: 0x100e, classCode: 0x020000, subsystemVendorId: 0x8086, subsystemId: 0x001e,
  bars: [{ kind: 'mem32', size: 0x20000 }, { kind: 'io', size: 64 }, { kind: 'mem64', size: 0x100000, prefetchable: true }, null],
  romSize: 0x10000,
};
const specB: EndpointSpec = {
  vendorId: 0x1af4, deviceId: 0x1041, classCode: 0x020000,
  bars: [{ kind: 'mem64', size: 0x4000, prefetchable: true }, null, { kind: 'io', size: 32 }, { kind: 'mem32', size: 0x1000 }, { kind: 'mem64', size: 0x10000 }, null],
};
const specC: EndpointSpec = {
  vendorId: 0x1b36, deviceId: 0x0010, classCode: 0x010802,
  bars: [{ kind: 'mem32', size: 0x200000 }, { kind: 'io', size: 256 }, { kind: 'mem64', size: 0x10000000, prefetchable: true }, null, { kind: 'mem32', size: 16, prefetchable: true }],
};
const specD: EndpointSpec = { vendorId: 0x10de, deviceId: 0x2330, classCode: 0x030200, bars: [{ kind: 'mem64', size: 2 ** 33, prefetchable: true }, null] };
const specE: EndpointSpec = { vendorId: 0x8086, deviceId: 0x7000, classCode: 0x060100, bars: [{ kind: 'io', size: 4 }] };

/** Root endpoints A, D, E; bridge BR1 to bus 1 with B and bridge BR2 to bus 2 with C. */
async function machine(options: { ecamBase?: number } = {}): Promise<Emulator> {
  const emu = await createEmulator(options);
  const hw = emu.hw;
  hw.addEndpoint(A, specA);
  hw.addBridge(BR1, { secondaryBus: 1 });
  hw.addEndpoint(B, specB);
  hw.addBridge(BR2, { secondaryBus: 2, portType: 'downstream' });
  hw.addEndpoint(C, specC);
  hw.addEndpoint(D, specD);
  hw.addEndpoint(E, specE);
  return emu;
}

interface Placed {
  dev: HostPciDev;
  index: number;
  r: PciResource;
}

function resourcesOf(emu: Emulator): Placed[] {
  const out: Placed[] = [];
  for (const dev of emu.host.pci.devices()) {
    if (dev.isVirtfn) continue;
    dev.resources.forEach((r, index) => r && out.push({ dev, index, r }));
  }
  return out;
}

/** What the BAR register (both halves for 64-bit) holds, flags stripped. */
function programmed(emu: Emulator, p: Placed): number {
  const lo = emu.hw.configRead(p.dev.bdf, p.r.reg, 4);
  if (p.index === PCI_ROM_RESOURCE) return (lo & 0xfffff800) >>> 0;
  if (p.r.kind === 'io') return (lo & 0xfffffffc) >>> 0;
  const hi = p.r.is64 ? emu.hw.configRead(p.dev.bdf, p.r.reg + 4, 4) : 0;
  return hi * 2 ** 32 + ((lo & 0xfffffff0) >>> 0);
}

function ancestors(fn: PciFunction): Bridge[] {
  const out: Bridge[] = [];
  for (let b = fn.bus.bridge; b !== null; b = b.bus.bridge) out.push(b);
  return out;
}

/** Every resource assigned, aligned, in its pool, programmed, inside every bridge window above it, no overlaps. */
function checkLayout(emu: Emulator): void {
  const placed = resourcesOf(emu);
  expect(placed.length).toBeGreaterThan(0);
  for (const p of placed) {
    const what = `${p.dev.bdf} resource ${p.index}`;
    expect(p.r.start, what).not.toBeNull();
    const start = p.r.start!;
    expect(start % p.r.size, `${what} alignment`).toBe(0);
    expect(programmed(emu, p), `${what} register`).toBe(start);
    expect(p.dev.resourceLen(p.index)).toBe(p.r.size);
    const pool = p.r.kind === 'io' ? DEFAULT_HOST_POOLS.io : p.r.is64 && p.r.prefetch ? DEFAULT_HOST_POOLS.mem64 : DEFAULT_HOST_POOLS.mem32;
    expect(start >= pool.base && start + p.r.size <= pool.end, `${what} in its pool`).toBe(true);
    expect(start >= emu.hw.ecamBase + emu.hw.ecamSize || start + p.r.size <= emu.hw.ecamBase, `${what} outside ECAM`).toBe(true);
    for (const br of ancestors(p.dev.fn)) {
      const windows = p.r.kind === 'io' ? [br.ioWindow()].filter((w) => w !== null) : br.memWindows();
      const inside = windows.some((w) => w!.base <= start && start + p.r.size <= w!.end);
      expect(inside, `${what} inside a window of ${br.bdf}`).toBe(true);
    }
  }
  for (const space of ['io', 'mem'] as const) {
    const list = placed.filter((p) => p.r.kind === space).sort((x, y) => x.r.start! - y.r.start!);
    for (let i = 1; i < list.length; i++) {
      const prev = list[i - 1];
      expect(prev.r.start! + prev.r.size, `${prev.dev.bdf}/${prev.index} vs ${list[i].dev.bdf}/${list[i].index}`).toBeLessThanOrEqual(list[i].r.start!);
    }
  }
  // sibling bridge windows never overlap either
  const bridges = emu.host.pci.devices().filter((d) => d.bridge !== null);
  for (const x of bridges) {
    for (const y of bridges) {
      if (x === y || ancestors(x.fn).includes(y.fn as Bridge) || ancestors(y.fn).includes(x.fn as Bridge)) continue;
      for (const s of ['io', 'mem', 'pref'] as const) {
        const [wx, wy] = [x.bridge![s], y.bridge![s]];
        if (wx && wy) expect(wx.end <= wy.base || wy.end <= wx.base).toBe(true);
      }
    }
  }
}

function layoutSnapshot(emu: Emulator): string[] {
  return resourcesOf(emu).map((p) => `${p.dev.bdf}/${p.index}=${p.r.start}`);
}

function errno(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(VfioError);
    return (e as VfioError).code;
  }
  throw new Error('expected a VfioError');
}

describe('PCI core: devices', () => {
  it('creates a pci_dev per function lazily, in scan order, with identity from config space', async () => {
    const emu = await machine();
    expect(emu.host.pci.devices()).toEqual([]); // nothing until the host looks
    emu.host.pci.sync();
    expect(emu.host.pci.devices().map((d) => d.bdf)).toEqual([A, BR1, B, BR2, C, D, E]);
    const a = emu.host.pciDev(A);
    expect(a.id).toEqual({ vendor: 0x8086, device: 0x100e, subvendor: 0x8086, subdevice: 0x001e, class: 0x020000 });
    expect(a.isVirtfn).toBe(false);
    expect(a.physfn).toBeNull();
    expect(a.hdrType).toBe(0);
    const br = emu.host.pciDev(BR1);
    expect(br.hdrType).toBe(1);
    // a bridge has no subsystem registers in its header (and no SSVID capability here)
    expect(br.id).toEqual({ vendor: 0x1b36, device: 0x000c, subvendor: 0, subdevice: 0, class: 0x060400 });
    expect(br.bridge).toMatchObject({ hasIo: true, io32: true, hasPref: true, pref64: true });
  });

  it('sizes BARs and the ROM through config cycles and restores the registers', async () => {
    const emu = await machine();
    emu.hw.configWrite(A, PCI_COMMAND, 2, PCI_COMMAND_INTX_DISABLE | PCI_COMMAND_MEMORY);
    emu.host.pci.sync();
    const a = emu.host.pciDev(A);
    expect(a.resources.map((r) => r && [r.kind, r.size, r.is64, r.prefetch])).toEqual([
      ['mem', 0x20000, false, false],
      ['io', 64, false, false],
      ['mem', 0x100000, true, true],
      null,
      null,
      null,
      ['mem', 0x10000, false, false],
    ]);
    const c = emu.host.pciDev(C);
    expect(c.resources[4]).toMatchObject({ kind: 'mem', size: 16, is64: false, prefetch: true });
    expect(emu.host.pciDev(D).resources[0]).toMatchObject({ size: 2 ** 33, is64: true, prefetch: true });
    // endpoint Command is left as it was: decode bits are pci_enable_device's business
    expect(emu.hw.configRead(A, PCI_COMMAND, 2)).toBe(PCI_COMMAND_INTX_DISABLE | PCI_COMMAND_MEMORY);
    expect(emu.hw.configRead(B, PCI_COMMAND, 2)).toBe(0);
  });

  it('drops functions that leave and picks up new ones', async () => {
    const emu = await machine();
    emu.host.pci.sync();
    const e = emu.host.pciDev(E);
    // hot-unplug runs the host's removal path at once (pci_stop_and_remove_bus_device)
    emu.hw.removeFunction(E);
    expect(e.present).toBe(false);
    emu.hw.addEndpoint('0000:00:05.0', { vendorId: 0x1234, deviceId: 0x11, classCode: 0x030000, bars: [{ kind: 'mem32', size: 0x1000000 }] });
    const r = emu.host.pci.sync();
    expect(r.removed).toEqual([]);
    expect(r.added.map((d) => d.bdf)).toEqual(['0000:00:05.0']);
    expect(e.present).toBe(false);
    expect(emu.host.pci.device(E)).toBeUndefined();
    expect(emu.host.pci.devices().map((d) => d.bdf)).toEqual([A, BR1, B, BR2, C, D, '0000:00:05.0']);
    // a new function at a reused address is a new device
    emu.hw.removeFunction('0000:00:05.0');
    emu.hw.addEndpoint('0000:00:05.0', { vendorId: 0x1234, deviceId: 0x22, classCode: 0x030000 });
    emu.host.pci.sync();
    expect(emu.host.pciDev('0000:00:05.0').id.device).toBe(0x22);
  });
});

describe('PCI core: resource assignment', () => {
  it('assigns every BAR and ROM, aligned, in the pools, inside the bridge windows, without overlaps', async () => {
    const emu = await machine();
    emu.host.pci.sync();
    expect(emu.host.pci.problems).toEqual([]);
    checkLayout(emu);
    // 64-bit prefetchable BARs go above 4 GiB, everything else below
    expect(emu.host.pciDev(D).resourceStart(0)).toBeGreaterThanOrEqual(0x40_0000_0000);
    expect(emu.host.pciDev(C).resourceStart(2)).toBeGreaterThanOrEqual(0x40_0000_0000);
    expect(emu.host.pciDev(B).resourceStart(4)).toBeLessThan(2 ** 32); // 64-bit but not prefetchable
  });

  it('programs bridge windows at their granularity and turns on bridge decode and mastering', async () => {
    const emu = await machine();
    emu.host.pci.sync();
    for (const bdf of [BR1, BR2]) {
      const br = emu.host.pciDev(bdf).bridge!;
      expect(br.io!.base % 0x1000).toBe(0);
      expect(br.io!.end % 0x1000).toBe(0);
      for (const w of [br.mem!, br.pref!]) {
        expect(w.base % 0x100000).toBe(0);
        expect(w.end % 0x100000).toBe(0);
      }
      const cmd = emu.hw.configRead(bdf, PCI_COMMAND, 2);
      expect(cmd & (PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER)).toBe(7);
      // what the hardware forwards is what the host recorded
      const hwBr = emu.hw.function(bdf) as Bridge;
      expect(hwBr.ioWindow()).toEqual(br.io);
      expect(hwBr.memWindows()).toEqual([br.mem, br.pref]);
    }
    // BR2 sits inside BR1
    const [o, i] = [emu.host.pciDev(BR1).bridge!, emu.host.pciDev(BR2).bridge!];
    for (const s of ['io', 'mem', 'pref'] as const) expect(o[s]!.base <= i[s]!.base && i[s]!.end <= o[s]!.end).toBe(true);
  });

  it('closes windows a bridge does not need', async () => {
    const emu = await createEmulator();
    emu.hw.addBridge(BR1, { secondaryBus: 1 });
    emu.hw.addEndpoint(B, { vendorId: 1, deviceId: 2, classCode: 0x020000, bars: [{ kind: 'mem32', size: 0x1000 }] });
    emu.hw.addBridge('0000:00:03.0', { secondaryBus: 2 });
    emu.host.pci.sync();
    expect(emu.host.pciDev(BR1).bridge).toMatchObject({ io: null, pref: null });
    expect(emu.host.pciDev(BR1).bridge!.mem).toEqual({ base: 0xe0000000, end: 0xe0100000 });
    expect(emu.host.pciDev('0000:00:03.0').bridge).toMatchObject({ io: null, mem: null, pref: null });
    const hwBr = emu.hw.function('0000:00:03.0') as Bridge;
    expect(hwBr.ioWindow()).toBeNull();
    expect(hwBr.memWindows()).toEqual([]);
  });

  it('makes MMIO and port I/O at the assigned addresses reach the device once decode is enabled', async () => {
    const emu = await machine();
    emu.host.pci.sync();
    const { hw } = emu;
    for (const p of resourcesOf(emu)) {
      if (p.dev.bridge !== null || p.index === PCI_ROM_RESOURCE) continue;
      const start = p.r.start!;
      const off = p.r.size >= 8 ? 4 : 0;
      const marker = (0x5a000000 + p.index * 0x100 + p.dev.fn.device) >>> 0;
      if (p.r.kind === 'io') {
        if (p.dev.enableCount === 0) expect(hw.ioRead(start + off, 4)).toBe(0xffffffff); // decode off: master abort
        emu.host.pci.enableDevice(p.dev);
        hw.ioWrite(start + off, 4, marker);
        expect(hw.ioRead(start + off, 4)).toBe(marker);
      } else {
        if (p.dev.enableCount === 0) expect(hw.mmioRead(start + off, 4)).toBe(0xffffffff);
        emu.host.pci.enableDevice(p.dev);
        hw.mmioWrite(start + off, 4, marker);
        expect(hw.mmioRead(start + off, 4)).toBe(marker);
      }
      // and it landed in that BAR of that function
      expect(p.dev.fn.barRead(p.index, off, 4)).toBe(marker);
    }
  });

  it('leaves the ROM off until its enable bit is set, then it decodes at its address', async () => {
    const emu = await machine();
    emu.host.pci.sync();
    const a = emu.host.pciDev(A);
    const rom = a.resourceStart(PCI_ROM_RESOURCE);
    expect(rom).toBeGreaterThan(0);
    emu.host.pci.enableDevice(a);
    expect(emu.hw.mmioRead(rom, 2)).toBe(0xffff);
    emu.hw.configWrite(A, PCI_ROM_ADDRESS, 4, rom | 1);
    expect(emu.hw.mmioRead(rom, 2)).toBe(0xaa55);
  });

  it('is deterministic and reassigns coherently when a function is hot-added while idle', async () => {
    const [x, y] = [await machine(), await machine()];
    x.host.pci.sync();
    y.host.pci.sync();
    expect(layoutSnapshot(x)).toEqual(layoutSnapshot(y));
    x.hw.addEndpoint('0000:02:01.0', { vendorId: 0x1b36, deviceId: 0x11, classCode: 0x020000, bars: [{ kind: 'mem32', size: 0x4000000 }, { kind: 'io', size: 128 }] });
    x.host.pci.sync();
    expect(x.host.pci.assignmentPending).toBe(false);
    expect(x.host.pciDev('0000:02:01.0').resourceLen(0)).toBe(0x4000000);
    checkLayout(x);
  });

  it('keeps out of the ECAM window and reports what does not fit', async () => {
    // ECAM at 0xec000000-0xfbffffff leaves 0xe0000000-0xebffffff (192 MiB) of the 32-bit pool
    const emu = await createEmulator({ ecamBase: 0xec000000 });
    const add = (bdf: string, size: number) => emu.hw.addEndpoint(bdf, { vendorId: 1, deviceId: 2, classCode: 0x030000, bars: [{ kind: 'mem32', size }] });
    add('0000:00:01.0', 0x8000000);
    add('0000:00:02.0', 0x8000000);
    add('0000:00:03.0', 0x2000000);
    emu.host.pci.sync();
    const start = (b: string) => emu.host.pciDev(b).resource(0)!.start;
    expect(start('0000:00:01.0')).toBe(0xe0000000);
    // the second 128 MiB BAR would need 0xe8000000-0xefffffff, which overlaps ECAM: no room
    expect(start('0000:00:02.0')).toBeNull();
    expect(emu.host.pciDev('0000:00:02.0').resourceLen(0)).toBe(0);
    expect(emu.host.pciDev('0000:00:02.0').resourceStart(0)).toBe(0);
    // a smaller BAR still finds the space below ECAM
    expect(start('0000:00:03.0')).toBe(0xe8000000);
    expect(emu.host.pci.problems).toHaveLength(1);
    expect(emu.host.pci.problems[0]).toMatch(/^0000:00:02\.0 BAR 0: can't assign; no room/);
  });
});

describe('PCI core: when resources may move', () => {
  function fileDriver(): PciDriver & { open: boolean } {
    return {
      name: 'fake-vfio',
      idTable: [pciDeviceId({ overrideOnly: true })],
      open: false,
      probe() {},
      remove() {},
      hasOpenFiles(this: { open: boolean }, _dev: PciDev) {
        return this.open;
      },
    } as PciDriver & { open: boolean };
  }

  const NEW = '0000:00:06.0';
  const addNew = (emu: Emulator) => emu.hw.addEndpoint(NEW, { vendorId: 0x1af4, deviceId: 0x1000, classCode: 0x020000, bars: [{ kind: 'mem32', size: 0x8000000 }] });

  it('defers assignment while a bound device has open files, then catches up', async () => {
    const emu = await machine();
    const drv = fileDriver();
    // the default vfio-pci would tie with the fake's catch-all alias and win by registering first
    emu.host.driverCore.unregisterDriver('vfio-pci');
    emu.host.registerDriver(drv);
    expect(emu.host.bind(A)).toBe('fake-vfio');
    const before = layoutSnapshot(emu);
    drv.open = true;
    addNew(emu);
    const dev = emu.host.pciDev(NEW);
    expect(emu.host.pci.assignmentPending).toBe(true);
    expect(dev.resourceLen(0)).toBe(0); // vfio would report the BAR as unimplemented
    expect(layoutSnapshot(emu).filter((s) => !s.startsWith(NEW))).toEqual(before);
    expect(emu.host.pci.assignmentBlocker()).toBe(`${A} is bound to fake-vfio with open files`);
    expect(errno(() => emu.host.pci.assignResources())).toBe('EBUSY');
    drv.open = false;
    emu.host.pci.sync();
    expect(emu.host.pci.assignmentPending).toBe(false);
    expect(dev.resourceLen(0)).toBe(0x8000000);
    checkLayout(emu);
  });

  it('defers assignment while a device is enabled or a PF has VFs enabled', async () => {
    const emu = await machine();
    emu.host.pci.sync();
    const a = emu.host.pciDev(A);
    emu.host.pci.enableDevice(a);
    addNew(emu);
    emu.host.pci.sync();
    expect(emu.host.pci.assignmentPending).toBe(true);
    expect(emu.host.pci.assignmentBlocker()).toBe(`${A} is enabled`);
    emu.host.pci.disableDevice(a);
    expect(emu.host.pci.assignResources()).toEqual([]);
    expect(emu.host.pciDev(NEW).resourceLen(0)).toBe(0x8000000);
  });
});

describe('PCI core: pci_enable_device', () => {
  it('turns on decode for the assigned kinds only, enables bridges above, and disable clears only mastering', async () => {
    const emu = await machine();
    emu.host.pci.sync();
    const c = emu.host.pciDev(C);
    for (const br of [BR1, BR2]) emu.hw.configWrite(br, PCI_COMMAND, 2, 0);
    emu.host.pci.enableDevice(c);
    expect(emu.hw.configRead(C, PCI_COMMAND, 2)).toBe(PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
    for (const br of [BR1, BR2]) expect(emu.hw.configRead(br, PCI_COMMAND, 2) & 7).toBe(7);
    emu.host.pci.setMaster(c, true);
    emu.host.pci.enableDevice(c); // counted
    emu.host.pci.disableDevice(c);
    expect(emu.hw.configRead(C, PCI_COMMAND, 2) & PCI_COMMAND_MASTER).toBe(PCI_COMMAND_MASTER);
    emu.host.pci.disableDevice(c);
    expect(emu.hw.configRead(C, PCI_COMMAND, 2)).toBe(PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
    emu.host.pci.disableDevice(c); // already disabled: nothing happens
    expect(c.enableCount).toBe(0);
    // a memory-only device gets no I/O decode
    const d = emu.host.pciDev(D);
    emu.host.pci.enableDevice(d);
    expect(emu.hw.configRead(D, PCI_COMMAND, 2)).toBe(PCI_COMMAND_MEMORY);
  });
});

describe('PCI core: SR-IOV PFs and VFs', () => {
  const PF = '0000:00:05.0';
  const VF_BAR0 = 0x4000; // per VF, 64-bit prefetchable
  const VF_BAR2 = 0x2000; // per VF, 32-bit
  let sriovCap = 0;

  /** A PF with an SR-IOV capability (TotalVFs 4, offset 1, stride 1, VF Device ID 0x10a0) and two VFs. */
  async function sriovMachine(): Promise<Emulator> {
    const emu = await createEmulator();
    emu.hw.addFunction(
      PF,
      { vendorId: 0x1af4, deviceId: 0x1041, classCode: 0x020000, subsystemVendorId: 0x1af4, subsystemId: 0x1100, capabilities: [{ id: 'pcie' }], bars: [{ kind: 'mem32', size: 0x1000 }] },
      new GenericEndpoint(),
      (b) => {
        const cap = b.addExtCapability(0x10, 1, 0x40, 'sriov');
        sriovCap = cap;
        b.reg(cap + PCI_SRIOV_CTRL, 2, 0, 0x001f);
        b.reg(cap + 0x0c, 2, 4);
        b.reg(cap + 0x0e, 2, 4);
        b.reg(cap + PCI_SRIOV_NUM_VF, 2, 0, 0xffff);
        b.reg(cap + 0x14, 2, 1);
        b.reg(cap + 0x16, 2, 1);
        b.reg(cap + 0x1a, 2, 0x10a0);
        b.reg(cap + 0x1c, 4, 0x553);
        b.reg(cap + PCI_SRIOV_SYS_PGSIZE, 4, 0, 0xffffffff);
        b.reg(cap + 0x24, 4, 0x0c, 0xffffc000);
        b.reg(cap + 0x28, 4, 0, 0xffffffff);
        b.reg(cap + 0x2c, 4, 0, 0xffffe000);
      },
    );
    emu.hw.configWrite(PF, sriovCap + PCI_SRIOV_NUM_VF, 2, 2);
    for (const bdf of ['0000:00:05.1', '0000:00:05.2']) {
      // VF hardware: what the model states for the IDs does not matter to the host
      const vf = emu.hw.addEndpoint(bdf, { vendorId: 0x1af4, deviceId: 0x9999, classCode: 0x020000, subsystemVendorId: 0x1af4, subsystemId: 0x1100 });
      vf.isVirtfn = true;
    }
    return emu;
  }

  it('learns the SR-IOV resources, sets System Page Size, and assigns TotalVFs worth of VF BAR space', async () => {
    const emu = await sriovMachine();
    emu.host.pci.sync();
    const pf = emu.host.pciDev(PF);
    expect(emu.hw.configRead(PF, sriovCap + PCI_SRIOV_SYS_PGSIZE, 4)).toBe(1);
    expect(pf.sriov).toMatchObject({ cap: sriovCap, totalVfs: 4, vfDevice: 0x10a0 });
    const [bar0, , bar2] = pf.sriov!.vfBars;
    expect(bar0).toMatchObject({ kind: 'mem', size: VF_BAR0, is64: true, prefetch: true });
    expect(bar2).toMatchObject({ kind: 'mem', size: VF_BAR2, is64: false, prefetch: false });
    expect(bar0!.start! % VF_BAR0).toBe(0);
    expect(bar0!.start!).toBeGreaterThanOrEqual(0x40_0000_0000);
    const lo = emu.hw.configRead(PF, sriovCap + 0x24, 4);
    const hi = emu.hw.configRead(PF, sriovCap + 0x28, 4);
    expect(hi * 2 ** 32 + ((lo & 0xfffffff0) >>> 0)).toBe(bar0!.start);
    expect((emu.hw.configRead(PF, sriovCap + 0x2c, 4) & 0xfffffff0) >>> 0).toBe(bar2!.start);
    // the PF's own BAR does not overlap the four VFs' BAR2 space
    const own = pf.resourceStart(0);
    expect(own + 0x1000 <= bar2!.start! || bar2!.start! + 4 * VF_BAR2 <= own).toBe(true);
  });

  it('gives VFs the PF vendor, the VF Device ID, their index and their slice of the PF resources', async () => {
    const emu = await sriovMachine();
    emu.host.pci.sync();
    const pf = emu.host.pciDev(PF);
    const vf1 = emu.host.pciDev('0000:00:05.2');
    expect(vf1.isVirtfn).toBe(true);
    expect(vf1.physfn).toBe(pf);
    expect(vf1.vfIndex).toBe(1);
    expect(vf1.id).toEqual({ vendor: 0x1af4, device: 0x10a0, subvendor: 0x1af4, subdevice: 0x1100, class: 0x020000 });
    expect(emu.host.modalias('0000:00:05.2')).toBe('pci:v00001AF4d000010A0sv00001AF4sd00001100bc02sc00i00');
    expect(vf1.resourceStart(0)).toBe(pf.sriov!.vfBars[0]!.start! + VF_BAR0);
    expect(vf1.resourceLen(0)).toBe(VF_BAR0);
    expect(vf1.resourceStart(2)).toBe(pf.sriov!.vfBars[2]!.start! + VF_BAR2);
    expect(vf1.resource(1)).toBeNull();
  });

  it('does not move anything when VFs appear later, and VF Enable blocks reassignment', async () => {
    const emu = await sriovMachine();
    emu.host.pci.sync();
    const before = layoutSnapshot(emu);
    emu.hw.configWrite(PF, sriovCap + PCI_SRIOV_NUM_VF, 2, 3);
    emu.hw.configWrite(PF, sriovCap + PCI_SRIOV_CTRL, 2, PCI_SRIOV_CTRL_VFE);
    emu.hw.addEndpoint('0000:00:05.3', { vendorId: 0x1af4, deviceId: 0x9999, classCode: 0x020000 }).isVirtfn = true;
    const r = emu.host.pci.sync();
    expect(r.added.map((d) => d.bdf)).toEqual(['0000:00:05.3']);
    expect(emu.host.pci.assignmentPending).toBe(false);
    expect(layoutSnapshot(emu)).toEqual(before);
    const vf2 = emu.host.pciDev('0000:00:05.3');
    expect(vf2.vfIndex).toBe(2);
    expect(vf2.resourceStart(0)).toBe(emu.host.pciDev(PF).sriov!.vfBars[0]!.start! + 2 * VF_BAR0);
    emu.hw.addEndpoint('0000:00:07.0', { vendorId: 1, deviceId: 2, classCode: 0x020000, bars: [{ kind: 'mem32', size: 0x1000 }] });
    emu.host.pci.sync();
    expect(emu.host.pci.assignmentBlocker()).toBe(`${PF} has VFs enabled`);
    expect(emu.host.pci.assignmentPending).toBe(true);
  });

  it('addVirtfn: the SR-IOV code can state a VF identity and index explicitly', async () => {
    const emu = await sriovMachine();
    emu.host.pci.sync();
    const pf = emu.host.pciDev(PF);
    // a VF function no PF claims by routing ID: the host falls back to what the model states
    const stray = emu.hw.addEndpoint('0000:00:06.0', { vendorId: 0x1af4, deviceId: 0x9999, classCode: 0x020000 });
    stray.isVirtfn = true;
    expect(emu.host.pciDev('0000:00:06.0')).toMatchObject({ physfn: null, vfIndex: -1, id: { vendor: 0x1af4, device: 0x9999 } });
    const dev = emu.host.pci.addVirtfn(pf, stray, 0x10a1, 3);
    expect(dev).toBe(emu.host.pciDev('0000:00:06.0'));
    expect(dev.physfn).toBe(pf);
    expect(dev.id).toMatchObject({ vendor: 0x1af4, device: 0x10a1 });
    expect(dev.resourceStart(0)).toBe(pf.sriov!.vfBars[0]!.start! + 3 * VF_BAR0);
  });
});
