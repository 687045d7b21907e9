import { describe, expect, it } from 'vitest';
import { createEmulator } from '../../src/emulator.js';
import type { Emulator } from '../../src/emulator.js';
import { fnmatch, modaliasOf, PCI_DEVICE_ID_ANY, pciAlias, pciMatchOneDevice } from '../../src/host/driverCore.js';
import type { PciDev, PciDeviceId, PciDriver } from '../../src/host/pciDriver.js';
import { PCI_ANY_ID, pciDeviceId } from '../../src/host/pciDriver.js';
import { VfioError } from '../../src/host/vfio/vfioError.js';

const NIC = '0000:00:01.0';
const OTHER = '0000:00:02.0';
const SAME_VENDOR = '0000:00:03.0';

/** 15b3:1021 ethernet (what the series' commit message uses), a foreign device, and 15b3:1017. */
async function machine(): Promise<Emulator> {
  const emu = await createEmulator();
  // these tests register their own fakes, vfio-pci included: start from an empty registry
  for (const d of [...emu.host.driverCore.drivers()]) emu.host.driverCore.unregisterDriver(d.name);
  emu.hw.addEndpoint(NIC, {
    vendorId: 0x15b3, deviceId: 0x1021, classCode: 0x020000, subsystemVendorId: 0x15b3, subsystemId: 0x0001,
    bars: [{ kind: 'mem64', size: 0x100000, prefetchable: true }],
  });
  emu.hw.addEndpoint(OTHER, { vendorId: 0x8086, deviceId: 0x10d3, classCode: 0x020000, subsystemVendorId: 0x8086, subsystemId: 0xa01f });
  emu.hw.addEndpoint(SAME_VENDOR, { vendorId: 0x15b3, deviceId: 0x1017, classCode: 0x020000 });
  return emu;
}

interface FakeDriver extends PciDriver {
  probes: { bdf: string; id: PciDeviceId | null }[];
  removes: string[];
  failProbe: VfioError | null;
  refuseRemove: boolean;
}

function fakeDriver(name: string, idTable: PciDeviceId[]): FakeDriver {
  const drv: FakeDriver = {
    name,
    idTable,
    probes: [],
    removes: [],
    failProbe: null,
    refuseRemove: false,
    probe(dev: PciDev, id: PciDeviceId | null) {
      expect(dev.driver).toBe(drv); // really_probe sets dev->driver before calling probe
      if (drv.failProbe) throw drv.failProbe;
      drv.probes.push({ bdf: dev.bdf, id });
      dev.driverData = { by: name };
    },
    remove(dev: PciDev) {
      // a vfio driver's remove asks the user to close the device first and refuses while it is open
      if (drv.refuseRemove) throw new VfioError('EBUSY', `${dev.bdf}: device file is open`);
      drv.removes.push(dev.bdf);
    },
  };
  return drv;
}

const vfioGeneric = () => fakeDriver('vfio-pci', [pciDeviceId({ overrideOnly: true })]);
const vfioVendor = () => fakeDriver('vendor-vfio-pci', [pciDeviceId({ vendor: 0x15b3, overrideOnly: true })]);
const vfioSpecific = () => fakeDriver('mlx5_vfio_pci', [pciDeviceId({ vendor: 0x15b3, device: 0x1021, overrideOnly: true })]);

function errno(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(VfioError);
    return (e as VfioError).code;
  }
  throw new Error('expected a VfioError');
}

describe('modalias', () => {
  it('uses the kernel format with upper-case hex', async () => {
    const emu = await machine();
    expect(emu.host.modalias(NIC)).toBe('pci:v000015B3d00001021sv000015B3sd00000001bc02sc00i00');
    expect(emu.host.modalias(OTHER)).toBe('pci:v00008086d000010D3sv00008086sd0000A01Fbc02sc00i00');
    expect(modaliasOf({ vendor: 0x1af4, device: 0x1041, subvendor: 0x1af4, subdevice: 0x1100, class: 0x0c0330 })).toBe(
      'pci:v00001AF4d00001041sv00001AF4sd00001100bc0Csc03i30',
    );
  });

  it('is case-insensitive on the address and throws for an absent function', async () => {
    const emu = await machine();
    emu.hw.addEndpoint('0000:00:1f.3', { vendorId: 0x8086, deviceId: 0xa348, classCode: 0x040300 });
    expect(emu.host.modalias('0000:00:1F.3')).toBe('pci:v00008086d0000A348sv00000000sd00000000bc04sc03i00');
    expect(() => emu.host.modalias('0000:00:09.0')).toThrow('0000:00:09.0: no such PCI function');
  });

  it('sees functions added after the first call and forgets removed ones', async () => {
    const emu = await machine();
    expect(emu.host.modalias(NIC)).toMatch(/^pci:v000015B3/);
    emu.hw.addEndpoint('0000:00:05.0', { vendorId: 0x1234, deviceId: 0x5678, classCode: 0x010802 });
    expect(emu.host.modalias('0000:00:05.0')).toBe('pci:v00001234d00005678sv00000000sd00000000bc01sc08i02');
    emu.hw.removeFunction('0000:00:05.0');
    expect(() => emu.host.modalias('0000:00:05.0')).toThrow('no such PCI function');
  });
});

describe('module aliases (file2alias)', () => {
  it('publishes pci: for normal entries and vfio_pci: for override-only ones', () => {
    expect(pciAlias(pciDeviceId({ vendor: 0x15b3, device: 0x1021 }))).toBe('pci:v000015B3d00001021sv*sd*bc*sc*i*');
    expect(pciAlias(pciDeviceId({ vendor: 0x15b3, device: 0x1021, overrideOnly: true }))).toBe('vfio_pci:v000015B3d00001021sv*sd*bc*sc*i*');
    expect(pciAlias(pciDeviceId({ overrideOnly: true }))).toBe('vfio_pci:v*d*sv*sd*bc*sc*i*');
    expect(pciAlias(pciDeviceId({ vendor: 0x1af4, subvendor: 0x1af4, subdevice: 0x1 }))).toBe('pci:v00001AF4d*sv00001AF4sd00000001bc*sc*i*');
  });

  it('spells class bytes under the mask and adds the trailing wildcard only when needed', () => {
    expect(pciAlias(pciDeviceId({ class: 0x020000, classMask: 0xff0000 }))).toBe('pci:v*d*sv*sd*bc02sc*i*');
    expect(pciAlias(pciDeviceId({ class: 0x0c0330, classMask: 0xffff00 }))).toBe('pci:v*d*sv*sd*bc0Csc03i*');
    expect(pciAlias(pciDeviceId({ vendor: 0x8086, class: 0x0c0330, classMask: 0xffffff }))).toBe('pci:v00008086d*sv*sd*bc0Csc03i30*');
    // subclass-only mask: bc is a wildcard but sc is spelt
    expect(pciAlias(pciDeviceId({ class: 0x010800, classMask: 0x00ff00, overrideOnly: true }))).toBe('vfio_pci:v*d*sv*sd*bc*sc08i*');
  });

  it('skips entries whose class mask is not whole bytes, as file2alias does', () => {
    expect(pciAlias(pciDeviceId({ class: 0x010180, classMask: 0xffff80 }))).toBeNull();
  });

  it('lists every alias of every driver in registration and table order', async () => {
    const emu = await machine();
    emu.host.registerDriver(fakeDriver('mlx5_core', [pciDeviceId({ vendor: 0x15b3, device: 0x1021 }), pciDeviceId({ class: 0x010180, classMask: 0xffff80 })]));
    emu.host.registerDriver(vfioSpecific());
    emu.host.registerDriver(vfioGeneric());
    expect(emu.host.aliases().map((a) => `${a.alias} ${a.driver}`)).toEqual([
      'pci:v000015B3d00001021sv*sd*bc*sc*i* mlx5_core',
      'vfio_pci:v000015B3d00001021sv*sd*bc*sc*i* mlx5_vfio_pci',
      'vfio_pci:v*d*sv*sd*bc*sc*i* vfio-pci',
    ]);
  });
});

describe('fnmatch', () => {
  it('globs * and ? like modprobe', () => {
    expect(fnmatch('vfio_pci:v*d*sv*sd*bc*sc*i*', 'vfio_pci:v000015B3d00001021sv000015B3sd00000001bc02sc00i00')).toBe(true);
    expect(fnmatch('vfio_pci:v000015B3d00001021sv*sd*bc*sc*i*', 'vfio_pci:v000015B3d00001021sv000015B3sd00000001bc02sc00i00')).toBe(true);
    expect(fnmatch('vfio_pci:v000015B3d00001021sv*sd*bc*sc*i*', 'vfio_pci:v000015B3d00001017sv00000000sd00000000bc02sc00i00')).toBe(false);
    expect(fnmatch('pci:v*', 'vfio_pci:v00001AF4')).toBe(false);
    expect(fnmatch('a?c*', 'abcdef')).toBe(true);
    expect(fnmatch('a*b*c', 'aXbYbZc')).toBe(true);
    expect(fnmatch('a*b*c', 'aXbYbZ')).toBe(false);
    expect(fnmatch('*', '')).toBe(true);
    expect(fnmatch('', 'x')).toBe(false);
  });

  it('agrees with pci_match_one_device for the aliases it generates', () => {
    const dev = { vendor: 0x15b3, device: 0x1021, subvendor: 0x15b3, subdevice: 1, class: 0x020000 };
    const ids = [
      pciDeviceId({}),
      pciDeviceId({ vendor: 0x15b3 }),
      pciDeviceId({ vendor: 0x15b3, device: 0x1017 }),
      pciDeviceId({ class: 0x020000, classMask: 0xffffff }),
      pciDeviceId({ class: 0x020100, classMask: 0xffff00 }),
      pciDeviceId({ subvendor: 0x15b3, subdevice: 2 }),
    ];
    for (const id of ids) expect(fnmatch(pciAlias(id)!, modaliasOf(dev))).toBe(pciMatchOneDevice(id, dev));
  });
});

describe('bind without a name: the best vfio_pci: alias', () => {
  it('prefers vendor+device over vendor-only over the generic driver, whatever the registration order', async () => {
    const emu = await machine();
    const generic = vfioGeneric();
    const vendor = vfioVendor();
    const specific = vfioSpecific();
    for (const d of [generic, vendor, specific]) emu.host.registerDriver(d);
    expect(emu.host.bind(NIC)).toBe('mlx5_vfio_pci');
    expect(emu.host.pciDev(NIC).driverOverride).toBe('mlx5_vfio_pci');
    expect(specific.probes).toEqual([{ bdf: NIC, id: specific.idTable[0] }]);
    expect(emu.host.bind(SAME_VENDOR)).toBe('vendor-vfio-pci');
    expect(emu.host.bind(OTHER)).toBe('vfio-pci');
    expect(generic.probes).toEqual([{ bdf: OTHER, id: generic.idTable[0] }]);
    expect(emu.host.pciDev(OTHER).driver).toBe(generic);
  });

  it('ranks by the literal number of * (the trailing add_wildcard * included)', async () => {
    const emu = await machine();
    const byDevice = vfioSpecific(); // vfio_pci:v000015B3d00001021sv*sd*bc*sc*i*  (5)
    const byClass = fakeDriver('class-vfio', [pciDeviceId({ vendor: 0x15b3, class: 0x020000, classMask: 0xffffff, overrideOnly: true })]);
    emu.host.registerDriver(byDevice);
    emu.host.registerDriver(byClass); // vfio_pci:v000015B3d*sv*sd*bc02sc00i00*  (4)
    const m = emu.host.driverCore.vfioMatches(emu.host.pciDev(NIC));
    expect(m.map((x) => [x.alias, x.wildcards])).toEqual([
      ['vfio_pci:v000015B3d*sv*sd*bc02sc00i00*', 4],
      ['vfio_pci:v000015B3d00001021sv*sd*bc*sc*i*', 5],
    ]);
    expect(emu.host.bind(NIC)).toBe('class-vfio');
  });

  it('breaks a tie in * count by the earliest concrete field, then registration order', async () => {
    const emu = await machine();
    // both have 5 wildcards; they first differ at d (concrete in mlx5_vfio_pci), so it wins
    const byBaseClass = fakeDriver('baseclass-vfio', [pciDeviceId({ vendor: 0x15b3, class: 0x020000, classMask: 0xff0000, overrideOnly: true })]);
    const byDevice = vfioSpecific();
    emu.host.registerDriver(byBaseClass);
    emu.host.registerDriver(byDevice);
    const dev = emu.host.pciDev(NIC);
    expect(emu.host.driverCore.vfioMatches(dev).map((x) => [x.driver.name, x.wildcards])).toEqual([
      ['mlx5_vfio_pci', 5],
      ['baseclass-vfio', 5],
    ]);
    // identical aliases from two drivers: the one registered first
    const twinA = fakeDriver('twin-a', [pciDeviceId({ vendor: 0x8086, device: 0x10d3, overrideOnly: true })]);
    const twinB = fakeDriver('twin-b', [pciDeviceId({ vendor: 0x8086, device: 0x10d3, overrideOnly: true })]);
    emu.host.registerDriver(twinA);
    emu.host.registerDriver(twinB);
    expect(emu.host.driverCore.bestVfioDriver(emu.host.pciDev(OTHER))).toBe(twinA);
    expect(emu.host.bind(NIC)).toBe('mlx5_vfio_pci');
    expect(emu.host.bind(OTHER)).toBe('twin-a');
  });

  it('ignores pci: aliases and fails with ENODEV when no vfio_pci: alias matches', async () => {
    const emu = await machine();
    const normal = fakeDriver('mlx5_core', [pciDeviceId({ vendor: 0x15b3, device: 0x1021 })]);
    emu.host.driverCore.autoprobe = false;
    emu.host.registerDriver(normal);
    emu.host.registerDriver(vfioSpecific());
    expect(errno(() => emu.host.bind(OTHER))).toBe('ENODEV');
    expect(emu.host.pciDev(OTHER).driverOverride).toBeNull();
    expect(emu.host.bind(NIC)).toBe('mlx5_vfio_pci');
    expect(normal.probes).toEqual([]);
  });

  it('refuses a bound device with EBUSY without touching driver_override', async () => {
    const emu = await machine();
    emu.host.registerDriver(fakeDriver('mlx5_core', [pciDeviceId({ vendor: 0x15b3, device: 0x1021 })])); // autoprobes NIC
    emu.host.registerDriver(vfioGeneric());
    expect(emu.host.pciDev(NIC).driver?.name).toBe('mlx5_core');
    expect(errno(() => emu.host.bind(NIC))).toBe('EBUSY');
    expect(emu.host.pciDev(NIC).driverOverride).toBeNull();
    emu.host.unbind(NIC);
    expect(emu.host.bind(NIC)).toBe('vfio-pci');
  });
});

describe('override-only entries', () => {
  it('never bind by autoprobe, neither at driver registration nor for new devices', async () => {
    const emu = await machine();
    const vfio = vfioGeneric();
    emu.host.registerDriver(vfio);
    emu.hw.addEndpoint('0000:00:06.0', { vendorId: 0x1af4, deviceId: 0x1041, classCode: 0x020000 });
    for (const d of emu.host.pci.devices()) expect(d.driver).toBeNull();
    expect(vfio.probes).toEqual([]);
    // a normal entry does autoprobe, both ways
    const normal = fakeDriver('virtio-pci', [pciDeviceId({ vendor: 0x1af4 })]);
    emu.host.registerDriver(normal);
    expect(emu.host.pciDev('0000:00:06.0').driver).toBe(normal);
    emu.hw.addEndpoint('0000:00:07.0', { vendorId: 0x1af4, deviceId: 0x1042, classCode: 0x010000 });
    expect(emu.host.pciDev('0000:00:07.0').driver).toBe(normal);
  });

  it('do not match an explicit bind without driver_override (ENODEV), and do with it', async () => {
    const emu = await machine();
    const vfio = vfioSpecific();
    emu.host.registerDriver(vfio);
    expect(errno(() => emu.host.bind(NIC, 'mlx5_vfio_pci'))).toBe('ENODEV');
    expect(emu.host.pciDev(NIC).driver).toBeNull();
    emu.host.driverOverride(NIC, 'mlx5_vfio_pci');
    expect(emu.host.pciDev(NIC).driver).toBeNull(); // writing driver_override does not probe
    expect(emu.host.bind(NIC, 'mlx5_vfio_pci')).toBe('mlx5_vfio_pci');
    expect(vfio.probes).toEqual([{ bdf: NIC, id: vfio.idTable[0] }]);
  });
});

describe('driver_override', () => {
  it('binds the named driver even when none of its entries match (pci_device_id_any)', async () => {
    const emu = await machine();
    const vfio = vfioSpecific(); // only 15b3:1021
    emu.host.registerDriver(vfio);
    emu.host.driverOverride(OTHER, 'mlx5_vfio_pci');
    expect(emu.host.bind(OTHER, 'mlx5_vfio_pci')).toBe('mlx5_vfio_pci');
    expect(vfio.probes[0].bdf).toBe(OTHER);
    expect(vfio.probes[0].id).toEqual(PCI_DEVICE_ID_ANY);
    expect(PCI_DEVICE_ID_ANY.vendor).toBe(PCI_ANY_ID);
  });

  it('keeps every other driver away, even one whose id table matches', async () => {
    const emu = await machine();
    const normal = fakeDriver('mlx5_core', [pciDeviceId({ vendor: 0x15b3, device: 0x1021 })]);
    emu.host.driverCore.autoprobe = false;
    emu.host.registerDriver(normal);
    emu.host.registerDriver(vfioGeneric());
    emu.host.driverOverride(NIC, 'vfio-pci');
    expect(errno(() => emu.host.bind(NIC, 'mlx5_core'))).toBe('ENODEV');
    expect(emu.host.driverCore.matchDevice(normal, emu.host.pciDev(NIC))).toBeNull();
    // an override naming a driver that does not exist blocks everyone
    emu.host.driverOverride(NIC, 'no-such-driver');
    expect(errno(() => emu.host.bind(NIC, 'vfio-pci'))).toBe('ENODEV');
    emu.host.driverOverride(NIC, null);
    expect(emu.host.bind(NIC, 'mlx5_core')).toBe('mlx5_core');
  });

  it('is cleared by null, "" and "\\n", cut at a newline, and limited in length', async () => {
    const emu = await machine();
    const dev = emu.host.pciDev(NIC);
    emu.host.driverOverride(NIC, 'vfio-pci\n');
    expect(dev.driverOverride).toBe('vfio-pci');
    for (const clear of [null, '', '\n']) {
      emu.host.driverOverride(NIC, 'vfio-pci');
      emu.host.driverOverride(NIC, clear);
      expect(dev.driverOverride).toBeNull();
    }
    expect(errno(() => emu.host.driverOverride(NIC, 'x'.repeat(4095)))).toBe('EINVAL');
    emu.host.driverOverride(NIC, 'x'.repeat(4094));
    expect(dev.driverOverride).toHaveLength(4094);
    expect(errno(() => emu.host.driverOverride('0000:00:09.0', 'vfio-pci'))).toBe('ENODEV');
  });

  it('neither unbinds on write nor is cleared by unbind', async () => {
    const emu = await machine();
    const vfio = vfioGeneric();
    emu.host.registerDriver(vfio);
    expect(emu.host.bind(NIC)).toBe('vfio-pci');
    emu.host.driverOverride(NIC, 'something-else');
    expect(emu.host.pciDev(NIC).driver).toBe(vfio);
    emu.host.driverOverride(NIC, 'vfio-pci');
    emu.host.unbind(NIC);
    expect(emu.host.pciDev(NIC).driverOverride).toBe('vfio-pci');
  });
});

describe('bind and unbind errors', () => {
  it('EBUSY for a bound device when the driver matches, ENODEV when it does not', async () => {
    const emu = await machine();
    const a = fakeDriver('drv-a', [pciDeviceId({ vendor: 0x15b3 })]);
    const b = fakeDriver('drv-b', [pciDeviceId({ vendor: 0x15b3, device: 0x1021 })]);
    const c = fakeDriver('drv-c', [pciDeviceId({ vendor: 0x8086 })]);
    emu.host.driverCore.autoprobe = false;
    for (const d of [a, b, c]) emu.host.registerDriver(d);
    expect(emu.host.bind(NIC, 'drv-a')).toBe('drv-a');
    expect(errno(() => emu.host.bind(NIC, 'drv-a'))).toBe('EBUSY');
    expect(errno(() => emu.host.bind(NIC, 'drv-b'))).toBe('EBUSY');
    expect(errno(() => emu.host.bind(NIC, 'drv-c'))).toBe('ENODEV'); // bind_store checks the match first
    expect(emu.host.pciDev(NIC).driver).toBe(a);
  });

  it('ENODEV for an unknown driver name or device address', async () => {
    const emu = await machine();
    expect(errno(() => emu.host.bind(NIC, 'nope'))).toBe('ENODEV');
    expect(errno(() => emu.host.bind('0000:00:09.0', 'nope'))).toBe('ENODEV');
    expect(errno(() => emu.host.unbind('0000:00:09.0'))).toBe('ENODEV');
  });

  it('EBUSY for a second driver of the same name', async () => {
    const emu = await machine();
    emu.host.registerDriver(vfioGeneric());
    expect(errno(() => emu.host.registerDriver(vfioGeneric()))).toBe('EBUSY');
    expect(emu.host.driverCore.drivers()).toHaveLength(1);
  });

  it('passes the probe errno through and leaves the device unbound', async () => {
    const emu = await machine();
    const failing = vfioSpecific();
    failing.failProbe = new VfioError('EIO', 'firmware did not answer');
    const generic = vfioGeneric();
    emu.host.registerDriver(failing);
    emu.host.registerDriver(generic);
    expect(errno(() => emu.host.bind(NIC))).toBe('EIO');
    const dev = emu.host.pciDev(NIC);
    expect(dev.driver).toBeNull();
    expect(dev.driverData).toBeNull();
    expect(dev.driverOverride).toBe('mlx5_vfio_pci'); // user space wrote it before probing
    failing.failProbe = null;
    expect(emu.host.bind(NIC)).toBe('mlx5_vfio_pci');
  });

  it('ENODEV when unbinding a device without a driver', async () => {
    const emu = await machine();
    expect(errno(() => emu.host.unbind(NIC))).toBe('ENODEV');
  });
});

describe('unbind and rebind', () => {
  it('runs remove, clears driver and drvdata, and allows binding again', async () => {
    const emu = await machine();
    const vfio = vfioGeneric();
    emu.host.registerDriver(vfio);
    expect(emu.host.bind(NIC)).toBe('vfio-pci');
    const dev = emu.host.pciDev(NIC);
    expect(dev.driverData).toEqual({ by: 'vfio-pci' });
    emu.host.unbind(NIC);
    expect(vfio.removes).toEqual([NIC]);
    expect(dev.driver).toBeNull();
    expect(dev.driverData).toBeNull();
    expect(emu.host.bind(NIC, 'vfio-pci')).toBe('vfio-pci');
    expect(emu.host.bind(OTHER)).toBe('vfio-pci');
    expect(vfio.probes.map((p) => p.bdf)).toEqual([NIC, NIC, OTHER]);
  });

  it('propagates EBUSY from a remove that refuses and keeps the device bound', async () => {
    const emu = await machine();
    const vfio = vfioGeneric();
    emu.host.registerDriver(vfio);
    emu.host.bind(NIC);
    vfio.refuseRemove = true;
    expect(errno(() => emu.host.unbind(NIC))).toBe('EBUSY');
    expect(emu.host.pciDev(NIC).driver).toBe(vfio);
    vfio.refuseRemove = false;
    emu.host.unbind(NIC);
    expect(emu.host.pciDev(NIC).driver).toBeNull();
  });

  it('releases the driver when the function leaves the hardware', async () => {
    const emu = await machine();
    const vfio = vfioGeneric();
    emu.host.registerDriver(vfio);
    emu.host.bind(OTHER);
    const dev = emu.host.pciDev(OTHER);
    emu.hw.removeFunction(OTHER);
    expect(() => emu.host.modalias(OTHER)).toThrow('no such PCI function');
    expect(vfio.removes).toEqual([OTHER]);
    expect(dev.driver).toBeNull();
    expect(dev.present).toBe(false);
    expect(errno(() => emu.host.driverCore.bind(dev))).toBe('ENODEV');
  });

  it('unregistering a driver unbinds its devices', async () => {
    const emu = await machine();
    const vfio = vfioGeneric();
    emu.host.registerDriver(vfio);
    emu.host.bind(NIC);
    emu.host.bind(OTHER);
    emu.host.driverCore.unregisterDriver('vfio-pci');
    expect(vfio.removes).toEqual([NIC, OTHER]);
    expect(emu.host.driverCore.drivers()).toEqual([]);
    expect(errno(() => emu.host.bind(NIC, 'vfio-pci'))).toBe('ENODEV');
  });
});
