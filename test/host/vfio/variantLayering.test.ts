// Issue 3 §2: the ops layering, shown with a small variant driver (fwVersionVariant.ts) that overrides
// some vfio_device_ops entries and calls vfio-pci-core's exported defaults for the rest; and the
// binding rules that choose between it, other variants and plain vfio-pci.
import { describe, expect, it } from 'vitest';
import { createEmulator } from '../../../src/emulator.js';
import type { Emulator } from '../../../src/emulator.js';
import { pciDeviceId } from '../../../src/host/pciDriver.js';
import type { PciDeviceId } from '../../../src/host/pciDriver.js';
import type { VfioDeviceFile } from '../../../src/host/vfio/deviceFile.js';
import { VFIO } from '../../../src/host/vfio/uapi/constants.js';
import { decodeInfoCapChain, decodeRegionTypeCap, decodeSparseMmapCap } from '../../../src/host/vfio/uapi/infoCap.js';
import { REGION_INFO_SIZEOF, decodeRegionInfo, encodeRegionInfo } from '../../../src/host/vfio/uapi/regionInfo.js';
import { VfioError } from '../../../src/host/vfio/vfioError.js';
import { VfioClient, regionOffset } from '../../../src/vmm/vfioClient.js';
import {
  FW_DEVICE, FW_DRIVER, FW_VENDOR, FW_VERSION, FW_VERSION_OFFSET, MAILBOX_SIGNATURE, MAILBOX_SIZE, MAILBOX_SUBTYPE, MAILBOX_TYPE,
  fwVariantDevice, fwVariantDriver,
} from './fwVersionVariant.js';
import type { FwVariantDevice } from './fwVersionVariant.js';

const BDF = '0000:00:03.0';
const SUBVENDOR = 0x1d0f;
const SUBDEVICE = 0x0001;
const CLASS = 0x020000;
const PCI_COMMAND = 0x04;
const PCI_COMMAND_MEMORY = 0x2;
const MAILBOX_INDEX = VFIO.PCI_NUM_REGIONS; // 9: the first device-specific region

/** BAR0 16 KiB, BAR2 64-bit 16 KiB with the MSI-X table and PBA, BAR4 32 bytes of I/O, a ROM. */
function addFwDevice(emu: Emulator, bdf = BDF, ids: { vendorId?: number; deviceId?: number } = {}): void {
  emu.hw.addEndpoint(bdf, {
    vendorId: ids.vendorId ?? FW_VENDOR,
    deviceId: ids.deviceId ?? FW_DEVICE,
    classCode: CLASS,
    subsystemVendorId: SUBVENDOR,
    subsystemId: SUBDEVICE,
    interruptPin: 1,
    bars: [{ kind: 'mem32', size: 0x4000 }, null, { kind: 'mem64', size: 0x4000 }, null, { kind: 'io', size: 0x20 }],
    romSize: 0x800,
    capabilities: [
      { id: 'pm' },
      { id: 'msi', vectors: 4, is64: true },
      { id: 'msix', vectors: 8, tableBar: 2, tableOffset: 0, pbaBar: 2, pbaOffset: 0x1000 },
      { id: 'pcie', flr: true },
    ],
    extendedCapabilities: [{ id: 'aer' }],
  });
}

/** A machine with the device and the variant driver registered (vfio-pci is there by default). */
async function machine(): Promise<Emulator> {
  const emu = await createEmulator();
  addFwDevice(emu);
  emu.host.registerDriver(fwVariantDriver(emu.host.vfio));
  return emu;
}

/** The machine with the device bound to the variant (by the best-alias rule) and its file open. */
async function opened(): Promise<{ emu: Emulator; file: VfioDeviceFile; c: VfioClient; vdev: FwVariantDevice }> {
  const emu = await machine();
  expect(emu.host.bind(BDF)).toBe(FW_DRIVER);
  const file = emu.host.openDevice(BDF);
  return { emu, file, c: new VfioClient(file), vdev: fwVariantDevice(emu.host.pciDev(BDF))! };
}

function errno(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof VfioError) return e.code;
    throw e;
  }
  throw new Error('expected a VfioError');
}

const le32 = (v: number) => Uint8Array.of(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
const bytes = (n: number, first: number) => Uint8Array.from({ length: n }, (_, i) => (first + i) & 0xff);
/** A device file offset as the number the device file also accepts (index * 2**40 + offset). */
const numOffset = (index: number, offset: number) => (index * 2 ** 40 + offset) as unknown as bigint;

/** The hardware's view of BAR0 at `off` (what the host would see with ioread32, no vfio in between). */
function hwBar0(emu: Emulator, off: number, size: 1 | 2 | 4 = 4): number {
  return emu.hw.mmioRead(emu.host.pciDev(BDF).resourceStart(0) + off, size);
}

// ---------------------------------------------------------------------------------------------------

describe('a variant driver through its device file', () => {
  it('GET_INFO counts the region the variant registered at open: num_regions 10', async () => {
    const { c } = await opened();
    const info = c.getInfo();
    expect(info.numRegions).toBe(10);
    expect(info.numIrqs).toBe(5);
    expect(info.flags).toBe(VFIO.DEVICE_FLAGS_PCI | VFIO.DEVICE_FLAGS_RESET);
  });

  it('GET_REGION_INFO index 9: size, offset, flags and the type/subtype capability in the chain', async () => {
    const { file } = await opened();
    const argsz = REGION_INFO_SIZEOF + 64;
    const arg = new Uint8Array(argsz);
    encodeRegionInfo({ argsz, flags: 0, index: MAILBOX_INDEX, capOffset: 0, size: 0n, offset: 0n }, arg);
    expect(file.ioctl(VFIO.DEVICE_GET_REGION_INFO, arg)).toBe(0);
    const info = decodeRegionInfo(arg);
    expect(info.size).toBe(BigInt(MAILBOX_SIZE));
    expect(info.offset).toBe(9n << 40n);
    expect(info.flags).toBe(VFIO.REGION_INFO_FLAG_READ | VFIO.REGION_INFO_FLAG_WRITE | VFIO.REGION_INFO_FLAG_CAPS);
    expect(info.capOffset).toBe(REGION_INFO_SIZEOF);
    const chain = decodeInfoCapChain(arg, info.capOffset);
    expect(chain).toEqual([{ id: VFIO.REGION_INFO_CAP_TYPE, version: 1, next: 0, at: REGION_INFO_SIZEOF }]);
    const cap = decodeRegionTypeCap(arg, chain[0].at);
    expect(cap.type).toBe(MAILBOX_TYPE);
    expect(cap.type).toBe(0x80001d0f); // VFIO_REGION_TYPE_PCI_VENDOR_TYPE | vendor
    expect(cap.subtype).toBe(MAILBOX_SUBTYPE);
  });

  it('GET_REGION_INFO index 9 with argsz too small for the chain answers the argsz it needs', async () => {
    const { file } = await opened();
    const arg = new Uint8Array(REGION_INFO_SIZEOF);
    encodeRegionInfo({ argsz: REGION_INFO_SIZEOF, flags: 0, index: MAILBOX_INDEX, capOffset: 0, size: 0n, offset: 0n }, arg);
    file.ioctl(VFIO.DEVICE_GET_REGION_INFO, arg);
    const info = decodeRegionInfo(arg);
    expect(info.argsz).toBe(REGION_INFO_SIZEOF + 16); // struct + vfio_region_info_cap_type
    expect(info.flags & VFIO.REGION_INFO_FLAG_CAPS).toBeTruthy();
    expect(info.capOffset).toBe(0);
    expect(info.size).toBe(BigInt(MAILBOX_SIZE));
  });

  it('index 10 does not exist: region info, read and write are EINVAL', async () => {
    const { file, c } = await opened();
    expect(errno(() => c.getRegionInfo(10))).toBe('EINVAL');
    expect(errno(() => file.read(regionOffset(10, 0), 4))).toBe('EINVAL');
    expect(errno(() => file.write(regionOffset(10, 0), new Uint8Array(4)))).toBe('EINVAL');
  });

  it('the firmware version register reads emulated, whatever the hardware holds there', async () => {
    const { emu, file, c } = await opened();
    c.writeRegion(0, FW_VERSION_OFFSET, 4, 0xdeadbeef); // dropped: the register is read-only
    emu.hw.mmioWrite(emu.host.pciDev(BDF).resourceStart(0) + FW_VERSION_OFFSET, 4, 0x5a5a5a5a); // the host pokes hardware
    expect(hwBar0(emu, FW_VERSION_OFFSET)).toBe(0x5a5a5a5a);
    expect(c.readRegion(0, FW_VERSION_OFFSET, 4)).toBe(FW_VERSION);
    // every width and alignment inside it
    for (let i = 0; i < 4; i++) expect(c.readRegion(0, FW_VERSION_OFFSET + i, 1)).toBe((FW_VERSION >>> (8 * i)) & 0xff);
    expect(c.readRegion(0, FW_VERSION_OFFSET, 2)).toBe(FW_VERSION & 0xffff);
    expect(c.readRegion(0, FW_VERSION_OFFSET + 2, 2)).toBe(FW_VERSION >>> 16);
    expect(c.readRegion(0, FW_VERSION_OFFSET + 1, 2)).toBe((FW_VERSION >>> 8) & 0xffff);
    // the number offset the device file accepts reaches the same op
    expect(Array.from(file.read(numOffset(0, FW_VERSION_OFFSET), 4))).toEqual(Array.from(le32(FW_VERSION)));
  });

  it('an access straddling the register: outside bytes from the hardware, inside bytes emulated; writes split', async () => {
    const { emu, file } = await opened();
    const start = FW_VERSION_OFFSET - 4;
    // 12 bytes 0x0c..0x17: the dword before and after land in hardware, the register's bytes are dropped
    expect(file.write(regionOffset(0, start), bytes(12, 0x40))).toBe(12);
    expect(hwBar0(emu, start)).toBe(0x43424140);
    expect(hwBar0(emu, FW_VERSION_OFFSET)).toBe(0); // hardware behind the register untouched
    expect(hwBar0(emu, FW_VERSION_OFFSET + 4)).toBe(0x4b4a4948);
    const r = file.read(regionOffset(0, start), 12);
    expect(Array.from(r)).toEqual([0x40, 0x41, 0x42, 0x43, ...le32(FW_VERSION), 0x48, 0x49, 0x4a, 0x4b]);
    // partial overlaps at both ends, odd sizes
    expect(Array.from(file.read(regionOffset(0, FW_VERSION_OFFSET + 3), 3))).toEqual([FW_VERSION >>> 24, 0x48, 0x49]);
    expect(Array.from(file.read(regionOffset(0, FW_VERSION_OFFSET - 1), 2))).toEqual([0x43, FW_VERSION & 0xff]);
    expect(file.write(regionOffset(0, FW_VERSION_OFFSET + 2), bytes(4, 0x90))).toBe(4);
    expect(hwBar0(emu, FW_VERSION_OFFSET + 4)).toBe(0x4b4a9392);
    expect(hwBar0(emu, FW_VERSION_OFFSET)).toBe(0);
    // the same through a number offset
    expect(file.write(numOffset(0, FW_VERSION_OFFSET - 2), bytes(4, 0x70))).toBe(4);
    expect(hwBar0(emu, start)).toBe(0x71704140);
    expect(hwBar0(emu, FW_VERSION_OFFSET)).toBe(0);
  });

  it('the register answers like the rest of BAR0 when memory decode is off (EIO) and past the end (EINVAL)', async () => {
    const { c, file } = await opened();
    const cmd = c.configRead(PCI_COMMAND, 2);
    c.configWrite(PCI_COMMAND, 2, cmd & ~PCI_COMMAND_MEMORY);
    expect(errno(() => c.readRegion(0, FW_VERSION_OFFSET, 4))).toBe('EIO');
    expect(errno(() => c.writeRegion(0, FW_VERSION_OFFSET, 4, 1))).toBe('EIO');
    expect(errno(() => c.readRegion(0, 0x20, 4))).toBe('EIO');
    c.configWrite(PCI_COMMAND, 2, cmd);
    expect(c.readRegion(0, FW_VERSION_OFFSET, 4)).toBe(FW_VERSION);
    expect(errno(() => file.read(regionOffset(0, 0x4000), 4))).toBe('EINVAL');
  });

  it('the mailbox region reads and writes through the region rw: read-only signature, scratch, bounds', async () => {
    const { file, c } = await opened();
    expect(c.readRegion(MAILBOX_INDEX, 0, 4)).toBe(MAILBOX_SIGNATURE);
    expect(c.readRegion(MAILBOX_INDEX, 4, 4)).toBe(0);
    expect(c.writeRegion(MAILBOX_INDEX, 8, 4, 0x12345678)).toBe(4);
    expect(c.readRegion(MAILBOX_INDEX, 8, 4)).toBe(0x12345678);
    expect(c.readRegion(MAILBOX_INDEX, 9, 2)).toBe(0x3456);
    // a write over the signature keeps the signature, the rest lands
    expect(file.write(regionOffset(MAILBOX_INDEX, 0), bytes(8, 0xa0))).toBe(8);
    expect(c.readRegion(MAILBOX_INDEX, 0, 4)).toBe(MAILBOX_SIGNATURE);
    expect(c.readRegion(MAILBOX_INDEX, 4, 4)).toBe(0xa7a6a5a4);
    // a read crossing the end is short; at or past the end EINVAL
    expect(file.read(regionOffset(MAILBOX_INDEX, MAILBOX_SIZE - 2), 8).length).toBe(2);
    expect(file.write(regionOffset(MAILBOX_INDEX, MAILBOX_SIZE - 1), bytes(4, 0))).toBe(1);
    expect(errno(() => file.read(regionOffset(MAILBOX_INDEX, MAILBOX_SIZE), 1))).toBe('EINVAL');
    expect(errno(() => file.write(regionOffset(MAILBOX_INDEX, 0x1000), new Uint8Array(1)))).toBe('EINVAL');
    // the number-offset form reaches the same region
    expect(Array.from(file.read(numOffset(MAILBOX_INDEX, 8), 4))).toEqual(Array.from(le32(0x12345678)));
  });

  it('open_device/close_device run once per first open/last close; the region lives from open to close', async () => {
    const { emu, file, c, vdev } = await opened();
    expect(vdev.inits).toBe(1);
    expect([vdev.opens, vdev.closes]).toEqual([1, 0]);
    expect(vdev.mailboxIndex).toBe(MAILBOX_INDEX);
    c.writeRegion(MAILBOX_INDEX, 0x10, 4, 0xcafe);
    const second = emu.host.openDevice(BDF);
    expect([vdev.opens, vdev.closes]).toEqual([1, 0]);
    file.close();
    expect([vdev.opens, vdev.closes, vdev.regionReleases]).toEqual([1, 0, 0]);
    expect(new VfioClient(second).readRegion(MAILBOX_INDEX, 0x10, 4)).toBe(0xcafe); // still the same open
    second.close();
    expect([vdev.opens, vdev.closes, vdev.regionReleases]).toEqual([1, 1, 1]);
    expect(vdev.mailbox).toBeNull();
    // a new open registers a fresh region, again at index 9
    const again = new VfioClient(emu.host.openDevice(BDF));
    expect([vdev.opens, vdev.closes]).toEqual([2, 1]);
    expect(vdev.mailboxIndex).toBe(MAILBOX_INDEX);
    expect(again.getInfo().numRegions).toBe(10);
    expect(again.readRegion(MAILBOX_INDEX, 0x10, 4)).toBe(0);
    expect(again.readRegion(MAILBOX_INDEX, 0, 4)).toBe(MAILBOX_SIGNATURE);
  });

  it('narrowed mmap: BAR0 publishes sparse areas without the register page; the MSI-X BAR is as the core says', async () => {
    const { c } = await opened();
    const bar0 = c.getRegionInfo(0);
    expect(bar0.flags).toBe(VFIO.REGION_INFO_FLAG_READ | VFIO.REGION_INFO_FLAG_WRITE | VFIO.REGION_INFO_FLAG_MMAP | VFIO.REGION_INFO_FLAG_CAPS);
    expect(bar0.caps.map((x) => x.id)).toEqual([VFIO.REGION_INFO_CAP_SPARSE_MMAP]);
    const sparse = decodeSparseMmapCap(bar0.raw, bar0.caps[0].at);
    expect(sparse.areas).toEqual([{ offset: 0x1000n, size: 0x3000n }]);
    const bar2 = c.getRegionInfo(2);
    expect(bar2.caps.map((x) => x.id)).toEqual([VFIO.REGION_INFO_CAP_MSIX_MAPPABLE]);
  });

  it('ioctls the variant does not override are the core: MSI-X vectors reach their eventfds', async () => {
    const { emu, c } = await opened();
    const efd = emu.host.eventfd();
    c.setIrqs(VFIO.PCI_MSIX_IRQ_INDEX, VFIO.IRQ_SET_ACTION_TRIGGER, 3, { kind: 'eventfd', fds: [efd.fd] });
    c.configWrite(PCI_COMMAND, 2, c.configRead(PCI_COMMAND, 2) | 0x4); // bus master
    const fn = emu.hw.functions().find((f) => f.bdf === BDF)!;
    fn.raiseMsix(3);
    expect(efd.read()).toBe(1);
    c.setIrqs(VFIO.PCI_MSIX_IRQ_INDEX, VFIO.IRQ_SET_ACTION_TRIGGER, 3, { kind: 'none' }, 1);
    expect(efd.read()).toBe(1);
  });
});

// ---------------------------------------------------------------------------------------------------

/** BAR dwords away from the emulated register: BAR0 in and out of the trapped page, BAR2 past the PBA, BAR4 (I/O). */
const BAR_PROBES = [[0, 0x20], [0, 0x1000], [0, 0x3ffc], [2, 0x2000], [4, 0x0], [4, 0x1c]] as const;
const barPattern = (index: number, off: number) => (0x11223300 + (index << 16) + off) >>> 0;

/** Everything a VMM can observe of the device through its file, minus the variant's own additions. */
function observe(emu: Emulator, driver: string | undefined) {
  if (driver) emu.host.driverOverride(BDF, driver);
  else emu.host.driverOverride(BDF, null);
  const bound = emu.host.bind(BDF, driver);
  const file = emu.host.openDevice(BDF);
  const c = new VfioClient(file);
  const info = c.getInfo();
  const regions = [];
  for (let i = 0; i < VFIO.PCI_NUM_REGIONS; i++) {
    try {
      const r = c.getRegionInfo(i);
      regions.push({ index: i, flags: r.flags, size: r.size, offset: r.offset, caps: r.caps.map((x) => x.id), raw: i === 0 ? null : Array.from(r.raw) });
    } catch (e) {
      regions.push({ index: i, errno: (e as VfioError).code });
    }
  }
  const irqs = [];
  for (let i = 0; i < VFIO.PCI_NUM_IRQS; i++) irqs.push(c.getIrqInfo(i));
  const cfgSize = Number(c.getRegionInfo(VFIO.PCI_CONFIG_REGION_INDEX).size);
  const config: number[] = [];
  for (let off = 0; off < cfgSize; off += 4) config.push(c.configRead(off, 4));
  // config writes a VMM makes: BAR sizing and restore, command, interrupt line
  const writes: number[] = [];
  const bar0 = c.configRead(0x10, 4);
  c.configWrite(0x10, 4, 0xffffffff);
  writes.push(c.configRead(0x10, 4));
  c.configWrite(0x10, 4, bar0);
  writes.push(c.configRead(0x10, 4));
  c.configWrite(0x3c, 1, 0x0b);
  writes.push(c.configRead(0x3c, 4));
  // BAR accesses away from the emulated register
  const bars: number[] = [];
  for (const [index, off] of BAR_PROBES) {
    c.writeRegion(index, off, 4, barPattern(index, off));
    bars.push(c.readRegion(index, off, 4));
  }
  bars.push(c.readRegion(2, 0x0, 4)); // MSI-X table: excluded from the BAR, reads 0xff
  bars.push(c.readRegion(VFIO.PCI_ROM_REGION_INDEX, 0, 4));
  file.close();
  emu.host.unbind(BDF);
  return { bound, info, regions, irqs, config, writes, bars };
}

describe('everything else is plain vfio-pci', () => {
  it('region info, irq info, config reads/writes and BAR accesses match the same device bound to vfio-pci', async () => {
    const emu = await machine();
    const plain = observe(emu, 'vfio-pci');
    const variant = observe(emu, undefined);
    expect(plain.bound).toBe('vfio-pci');
    expect(variant.bound).toBe(FW_DRIVER);
    expect(plain.info.numRegions).toBe(9);
    expect(variant.info.numRegions).toBe(10);
    expect({ ...variant.info, numRegions: 9 }).toEqual(plain.info);
    // BAR0 differs only by the sparse mmap capability of the narrowed mmap
    const [p0, v0] = [plain.regions[0], variant.regions[0]];
    expect({ ...v0, flags: v0.flags! & ~VFIO.REGION_INFO_FLAG_CAPS, caps: [] }).toEqual(p0);
    expect(variant.regions.slice(1)).toEqual(plain.regions.slice(1));
    expect(plain.regions[VFIO.PCI_VGA_REGION_INDEX]).toEqual({ index: 8, errno: 'EINVAL' });
    expect(variant.irqs).toEqual(plain.irqs);
    expect(variant.config).toEqual(plain.config);
    expect(plain.config[0]).toBe(((FW_DEVICE << 16) | FW_VENDOR) >>> 0);
    expect(variant.writes).toEqual(plain.writes);
    expect(variant.bars).toEqual(plain.bars);
    expect(plain.bars.slice(0, -1)).toEqual([...BAR_PROBES.map(([index, off]) => barPattern(index, off)), 0xffffffff]);
    expect(plain.bars.at(-1)! & 0xffff).toBe(0xaa55); // the ROM image's signature
  });
});

// ---------------------------------------------------------------------------------------------------

describe('binding the variant', () => {
  it('override_only entries never bind by themselves: not at registerDriver, not for a device added later', async () => {
    const emu = await machine();
    expect(emu.host.pciDev(BDF).driver).toBeNull();
    addFwDevice(emu, '0000:00:04.0');
    expect(emu.host.pciDev('0000:00:04.0').driver).toBeNull();
    emu.host.registerDriver(fwVariantDriver(emu.host.vfio, { name: 'fw-vendor', idTable: [pciDeviceId({ vendor: FW_VENDOR, overrideOnly: true })] }));
    expect(emu.host.pciDev(BDF).driver).toBeNull();
    expect(errno(() => emu.host.openDevice(BDF))).toBe('ENODEV');
    // binding by name needs driver_override too: the override-only entry does not match without it
    expect(errno(() => emu.host.bind(BDF, FW_DRIVER))).toBe('ENODEV');
    expect(emu.host.aliases().filter((a) => a.driver === FW_DRIVER).map((a) => a.alias)).toEqual(['vfio_pci:v00001D0Fd00007A11sv*sd*bc*sc*i*']);
  });

  it('with driver_override already naming it, registering the variant binds it (the override is the way in)', async () => {
    const emu = await createEmulator();
    addFwDevice(emu);
    emu.host.driverOverride(BDF, FW_DRIVER);
    emu.host.registerDriver(fwVariantDriver(emu.host.vfio));
    expect(emu.host.pciDev(BDF).driver?.name).toBe(FW_DRIVER);
  });

  it('bind(bdf) with no name picks the variant over vfio-pci (fewest wildcards) and sets driver_override', async () => {
    const emu = await machine();
    const matches = emu.host.driverCore.vfioMatches(emu.host.pciDev(BDF)).map((m) => [m.driver.name, m.wildcards]);
    expect(matches).toEqual([[FW_DRIVER, 5], ['vfio-pci', 7]]);
    expect(emu.host.bind(BDF)).toBe(FW_DRIVER);
    expect(emu.host.pciDev(BDF).driverOverride).toBe(FW_DRIVER);
    expect(new VfioClient(emu.host.openDevice(BDF)).getInfo().numRegions).toBe(10);
  });

  it('a device the variant does not match gets vfio-pci', async () => {
    const emu = await machine();
    addFwDevice(emu, '0000:00:05.0', { deviceId: 0x7a12 });
    expect(emu.host.bind('0000:00:05.0')).toBe('vfio-pci');
    expect(new VfioClient(emu.host.openDevice('0000:00:05.0')).getInfo().numRegions).toBe(9);
  });

  it('bind(bdf, "vfio-pci") works through driver_override even though a variant matches better', async () => {
    const emu = await machine();
    expect(errno(() => emu.host.bind(BDF, 'vfio-pci'))).toBe('ENODEV'); // override-only, no driver_override
    emu.host.driverOverride(BDF, 'vfio-pci');
    expect(emu.host.bind(BDF, 'vfio-pci')).toBe('vfio-pci');
    expect(fwVariantDevice(emu.host.pciDev(BDF))).toBeNull();
    expect(new VfioClient(emu.host.openDevice(BDF)).getInfo().numRegions).toBe(9);
  });

  /** The driver bind(bdf) chooses with these variants registered, in this order, on a fresh machine. */
  async function choose(variants: [string, Partial<PciDeviceId>][]): Promise<string> {
    const emu = await createEmulator();
    addFwDevice(emu);
    for (const [name, fields] of variants) {
      emu.host.registerDriver(fwVariantDriver(emu.host.vfio, { name, idTable: [pciDeviceId({ ...fields, overrideOnly: true })] }));
    }
    expect(emu.host.pciDev(BDF).driver).toBeNull();
    const chosen = emu.host.bind(BDF);
    // whichever copy won, it is the variant that drives the device
    expect(new VfioClient(emu.host.openDevice(BDF)).getInfo().numRegions).toBe(10);
    return chosen;
  }

  const vendorOnly: [string, Partial<PciDeviceId>] = ['fw-vendor', { vendor: FW_VENDOR }]; // 6 `*`
  const byDevice: [string, Partial<PciDeviceId>] = ['fw-device', { vendor: FW_VENDOR, device: FW_DEVICE }]; // 5
  const bySubvendor: [string, Partial<PciDeviceId>] = ['fw-subvendor', { vendor: FW_VENDOR, device: FW_DEVICE, subvendor: SUBVENDOR }]; // 4
  const byClass: [string, Partial<PciDeviceId>] = ['fw-class', { vendor: FW_VENDOR, class: CLASS, classMask: 0xffffff }]; // 4 (3 + add_wildcard's)
  const exact: [string, Partial<PciDeviceId>] = ['fw-exact', { vendor: FW_VENDOR, device: FW_DEVICE, subvendor: SUBVENDOR, subdevice: SUBDEVICE }]; // 3

  it('several variants: the most specific entry wins whatever the registration order', async () => {
    expect(await choose([vendorOnly])).toBe('fw-vendor');
    expect(await choose([vendorOnly, byDevice])).toBe('fw-device');
    expect(await choose([byDevice, vendorOnly])).toBe('fw-device');
    expect(await choose([vendorOnly, byDevice, bySubvendor])).toBe('fw-subvendor');
    expect(await choose([exact, bySubvendor, byDevice, vendorOnly])).toBe('fw-exact');
    expect(await choose([vendorOnly, byDevice, bySubvendor, exact])).toBe('fw-exact');
  });

  it('a tie on the wildcard count goes to the entry concrete at the earliest field (device before class)', async () => {
    const emu = await createEmulator();
    addFwDevice(emu);
    emu.host.registerDriver(fwVariantDriver(emu.host.vfio, { name: 'fw-class', idTable: [pciDeviceId({ ...byClass[1], overrideOnly: true })] }));
    emu.host.registerDriver(fwVariantDriver(emu.host.vfio, { name: 'fw-subvendor', idTable: [pciDeviceId({ ...bySubvendor[1], overrideOnly: true })] }));
    const m = emu.host.driverCore.vfioMatches(emu.host.pciDev(BDF));
    expect(m.map((x) => [x.driver.name, x.alias, x.wildcards])).toEqual([
      ['fw-subvendor', 'vfio_pci:v00001D0Fd00007A11sv00001D0Fsd*bc*sc*i*', 4],
      ['fw-class', 'vfio_pci:v00001D0Fd*sv*sd*bc02sc00i00*', 4],
      ['vfio-pci', 'vfio_pci:v*d*sv*sd*bc*sc*i*', 7],
    ]);
    expect(await choose([byClass, bySubvendor])).toBe('fw-subvendor');
    expect(await choose([bySubvendor, byClass])).toBe('fw-subvendor');
  });

  it('identical entries tie completely: the driver registered first wins', async () => {
    const a: [string, Partial<PciDeviceId>] = ['fw-a', byDevice[1]];
    const b: [string, Partial<PciDeviceId>] = ['fw-b', byDevice[1]];
    expect(await choose([a, b])).toBe('fw-a');
    expect(await choose([b, a])).toBe('fw-b');
  });

  it('unbind, then rebind to another driver (driver_override has to follow)', async () => {
    const emu = await machine();
    expect(emu.host.bind(BDF)).toBe(FW_DRIVER);
    const first = fwVariantDevice(emu.host.pciDev(BDF))!;
    emu.host.unbind(BDF);
    expect(first.releases).toBe(1);
    expect(emu.host.pciDev(BDF).driver).toBeNull();
    expect(errno(() => emu.host.openDevice(BDF))).toBe('ENODEV');
    // driver_override survives the unbind and still names the variant
    expect(errno(() => emu.host.bind(BDF, 'vfio-pci'))).toBe('ENODEV');
    emu.host.driverOverride(BDF, 'vfio-pci');
    expect(emu.host.bind(BDF, 'vfio-pci')).toBe('vfio-pci');
    const plain = new VfioClient(emu.host.openDevice(BDF));
    expect(plain.getInfo().numRegions).toBe(9);
    expect(plain.readRegion(0, FW_VERSION_OFFSET, 4)).toBe(0); // plain memory, nothing emulated
    plain.file.close();
    emu.host.unbind(BDF);
    emu.host.driverOverride(BDF, null);
    expect(emu.host.bind(BDF)).toBe(FW_DRIVER);
    const second = fwVariantDevice(emu.host.pciDev(BDF))!;
    expect(second).not.toBe(first);
    expect([second.inits, second.opens]).toEqual([1, 0]);
    const c = new VfioClient(emu.host.openDevice(BDF));
    expect(c.readRegion(0, FW_VERSION_OFFSET, 4)).toBe(FW_VERSION);
    expect(second.opens).toBe(1);
    expect(first.opens).toBe(0);
  });

  it('unbind while the file is open: the REQ eventfd is signalled and the unbind fails with EBUSY', async () => {
    const { emu, file, c, vdev } = await opened();
    const req = emu.host.eventfd();
    c.setIrqs(VFIO.PCI_REQ_IRQ_INDEX, VFIO.IRQ_SET_ACTION_TRIGGER, 0, { kind: 'eventfd', fds: [req.fd] });
    expect(errno(() => emu.host.unbind(BDF))).toBe('EBUSY');
    expect(req.read()).toBe(1);
    expect(vdev.requests).toEqual([0]);
    expect(emu.host.pciDev(BDF).driver?.name).toBe(FW_DRIVER);
    // the device still works for its user, and asking again signals again with the next count
    expect(c.readRegion(0, FW_VERSION_OFFSET, 4)).toBe(FW_VERSION);
    expect(errno(() => emu.host.unbind(BDF))).toBe('EBUSY');
    expect(req.read()).toBe(1);
    expect(vdev.requests).toEqual([0, 1]);
    expect([vdev.closes, vdev.releases]).toEqual([0, 0]);
    // the user gives the device back
    file.close();
    expect(vdev.closes).toBe(1);
    emu.host.unbind(BDF);
    expect(vdev.releases).toBe(1);
    expect(emu.host.pciDev(BDF).driver).toBeNull();
    expect(req.read()).toBe(0); // no request once the device is closed
  });
});
