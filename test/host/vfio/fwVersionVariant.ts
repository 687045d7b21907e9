// A small vfio-pci-core variant driver for the layering tests (issue 3 §2): "fwver-vfio-pci".
//
// It is written the way a variant in drivers/vfio/pci/<vendor>/ is: its own ops table, some entries
// its own, the rest vfio-pci-core's exported defaults, and every override ends by calling the core.
// It reaches the core only through what the core exports (the vfio_pci_core_* functions, the
// VfioPciCoreDevice it subclasses, registerDevRegion and VfioPciRegion) - never vconfig, the perm
// bits or the core's private helpers.
//
// What it adds on top of plain vfio-pci:
// - a read-only "firmware version" dword emulated at BAR0 + FW_VERSION_OFFSET: reads go through the
//   core (bounds, memory-decode check, hardware pieces) and the variant overlays the register's
//   bytes, the way virtio_vfio_pci patches its emulated BAR0 into config reads; writes to those bytes
//   are dropped, the rest of the write goes to the core;
// - mmap of BAR0 narrowed so the page holding the register traps (the core publishes it as a sparse
//   mmap capability);
// - a device-specific region registered at open (index 9: VFIO_REGION_TYPE_PCI_VENDOR_TYPE | vendor,
//   subtype 1): a 256-byte mailbox whose first dword is a read-only signature, the rest scratch;
// - counters around open_device / close_device / request / region release.
import type { PciDev, PciDeviceId, PciDriver } from '../../../src/host/pciDriver.js';
import { pciDeviceId } from '../../../src/host/pciDriver.js';
import { splitOffset } from '../../../src/host/vfio/deviceFile.js';
import { VFIO } from '../../../src/host/vfio/uapi/constants.js';
import type { VfioCore } from '../../../src/host/vfio/vfioCore.js';
import type { MmapArea, VfioDeviceOps } from '../../../src/host/vfio/vfioDeviceOps.js';
import { VfioError } from '../../../src/host/vfio/vfioError.js';
import { vfioPciDriver } from '../../../src/host/vfio/vfioPciDriver.js';
import {
  vfioPciCoreCloseDevice,
  vfioPciCoreDeviceFeature,
  vfioPciCoreFinishEnable,
  vfioPciCoreInit,
  vfioPciCoreIoctl,
  vfioPciCoreMatch,
  vfioPciCoreMmap,
  vfioPciCoreOpenDevice,
  vfioPciCoreRangeIntersectRange,
  vfioPciCoreRead,
  vfioPciCoreRelease,
  vfioPciCoreRequest,
  vfioPciCoreWrite,
} from '../../../src/host/vfio/pciCore/vfioPciCore.js';
import { VfioPciCoreDevice } from '../../../src/host/vfio/pciCore/vfioPciCoreDevice.js';
import type { VfioPciRegion } from '../../../src/host/vfio/pciCore/regions.js';

export const FW_DRIVER = 'fwver-vfio-pci';
export const FW_VENDOR = 0x1d0f;
export const FW_DEVICE = 0x7a11;

/** BAR0 offset of the emulated read-only firmware version register (a dword). */
export const FW_VERSION_OFFSET = 0x10;
export const FW_VERSION_SIZE = 4;
/** 3.2.7, as the register reads */
export const FW_VERSION = 0x00030207;
const PAGE = 4096;

/** The mailbox region: a vendor-typed device-specific region. */
export const MAILBOX_TYPE = (VFIO.REGION_TYPE_PCI_VENDOR_TYPE | FW_VENDOR) >>> 0;
export const MAILBOX_SUBTYPE = 1;
export const MAILBOX_SIZE = 0x100;
/** "FWMB" as a little-endian dword: the read-only first dword of the mailbox */
export const MAILBOX_SIGNATURE = 0x424d5746;

/** The variant's device struct (what container_of would give in the kernel). */
export class FwVariantDevice extends VfioPciCoreDevice {
  inits = 0;
  releases = 0;
  opens = 0;
  closes = 0;
  requests: number[] = [];
  regionReleases = 0;
  /** region index registerDevRegion gave the mailbox at the last open */
  mailboxIndex = -1;
  /** the mailbox's backing store while the device is open (allocated at open, freed at close) */
  mailbox: Uint8Array | null = null;
}

/** The mailbox region's ops: bounds, the read-only signature, scratch bytes behind it. */
function mailboxRegion(vdev: FwVariantDevice): VfioPciRegion {
  const mem = new Uint8Array(MAILBOX_SIZE);
  new DataView(mem.buffer).setUint32(0, MAILBOX_SIGNATURE, true);
  vdev.mailbox = mem;
  return {
    type: MAILBOX_TYPE,
    subtype: MAILBOX_SUBTYPE,
    size: MAILBOX_SIZE,
    flags: VFIO.REGION_INFO_FLAG_READ | VFIO.REGION_INFO_FLAG_WRITE,
    rw(_core, pos, buf, isWrite) {
      if (pos >= MAILBOX_SIZE) throw new VfioError('EINVAL', `offset ${pos} is beyond the ${MAILBOX_SIZE}-byte mailbox`);
      const count = Math.min(buf.length, MAILBOX_SIZE - pos);
      if (!isWrite) {
        buf.set(mem.subarray(pos, pos + count));
        return count;
      }
      for (let i = 0; i < count; i++) if (pos + i >= 4) mem[pos + i] = buf[i]; // the signature is read-only
      return count;
    },
    release() {
      vdev.regionReleases++;
      vdev.mailbox = null;
    },
  };
}

// ---- the overriding ops --------------------------------------------------------------------------

function fwInit(vdev: FwVariantDevice): void {
  vdev.inits++;
  vfioPciCoreInit(vdev);
}

function fwRelease(vdev: FwVariantDevice): void {
  vdev.releases++;
  vfioPciCoreRelease(vdev);
}

/** open_device: the core enables the device, the variant adds its region, then finish_enable. */
function fwOpenDevice(vdev: FwVariantDevice): void {
  vfioPciCoreOpenDevice(vdev);
  vdev.mailboxIndex = vdev.registerDevRegion(mailboxRegion(vdev));
  vfioPciCoreFinishEnable(vdev);
  vdev.opens++;
}

/** close_device: the core disables the device (and releases the device-specific regions). */
function fwCloseDevice(vdev: FwVariantDevice): void {
  vdev.closes++;
  vfioPciCoreCloseDevice(vdev);
}

function fwRead(vdev: FwVariantDevice, offset: bigint, buf: Uint8Array): number {
  // the core validates and reads the hardware; the variant patches in the emulated register
  const n = vfioPciCoreRead(vdev, offset, buf);
  const [index, pos] = splitOffset(offset);
  if (index !== VFIO.PCI_BAR0_REGION_INDEX) return n;
  const hit = vfioPciCoreRangeIntersectRange(pos, n, FW_VERSION_OFFSET, FW_VERSION_SIZE);
  if (hit) {
    for (let i = 0; i < hit.count; i++) buf[hit.bufOffset + i] = (FW_VERSION >>> (8 * (hit.registerOffset + i))) & 0xff;
  }
  return n;
}

function fwWrite(vdev: FwVariantDevice, offset: bigint, data: Uint8Array): number {
  const [index, pos] = splitOffset(offset);
  const hit = index === VFIO.PCI_BAR0_REGION_INDEX ? vfioPciCoreRangeIntersectRange(pos, data.length, FW_VERSION_OFFSET, FW_VERSION_SIZE) : null;
  if (!hit) return vfioPciCoreWrite(vdev, offset, data);
  // the register's bytes are dropped; what lies before and after it goes to the core. With nothing
  // outside the register the core still sees a zero-length write, so bounds and the memory-decode
  // check answer exactly as for any other BAR0 access.
  const at = (p: number) => (BigInt(index) << 40n) | BigInt(p); // VFIO_PCI_INDEX_TO_OFFSET(index) + p
  const before = data.subarray(0, hit.bufOffset);
  const after = data.subarray(hit.bufOffset + hit.count);
  let done = vfioPciCoreWrite(vdev, at(pos), before);
  if (after.length) done += vfioPciCoreWrite(vdev, at(pos + hit.bufOffset + hit.count), after);
  return done + hit.count;
}

/** BAR0 minus the page holding the emulated register; every other region as the core says. */
function fwMmap(vdev: FwVariantDevice, index: number): MmapArea[] {
  const areas = vfioPciCoreMmap(vdev, index);
  if (index !== VFIO.PCI_BAR0_REGION_INDEX) return areas;
  const trapStart = FW_VERSION_OFFSET - (FW_VERSION_OFFSET % PAGE);
  const trapEnd = trapStart + PAGE;
  const out: MmapArea[] = [];
  for (const a of areas) {
    if (a.offset < trapStart) out.push({ offset: a.offset, size: Math.min(a.offset + a.size, trapStart) - a.offset });
    if (a.offset + a.size > trapEnd) out.push({ offset: Math.max(a.offset, trapEnd), size: a.offset + a.size - Math.max(a.offset, trapEnd) });
  }
  return out;
}

function fwRequest(vdev: FwVariantDevice, count: number): void {
  vdev.requests.push(count);
  vfioPciCoreRequest(vdev, count);
}

/** The variant's ops table: five entries of its own, the rest vfio-pci-core's defaults. */
export const fwVariantOps: VfioDeviceOps<FwVariantDevice> = {
  name: FW_DRIVER,
  init: fwInit,
  release: fwRelease,
  openDevice: fwOpenDevice,
  closeDevice: fwCloseDevice,
  read: fwRead,
  write: fwWrite,
  ioctl: vfioPciCoreIoctl,
  mmap: fwMmap,
  request: fwRequest,
  match: vfioPciCoreMatch,
  deviceFeature: vfioPciCoreDeviceFeature,
};

/** The variant's id table: its device, override-only (PCI_ID_F_VFIO_DRIVER_OVERRIDE). */
export const FW_ID_TABLE: PciDeviceId[] = [pciDeviceId({ vendor: FW_VENDOR, device: FW_DEVICE, overrideOnly: true })];

/**
 * The variant as a PCI driver. `name` and `idTable` let the binding tests register several copies
 * with different specificity; they all drive the device the same way.
 */
export function fwVariantDriver(vfio: VfioCore, options: { name?: string; idTable?: PciDeviceId[] } = {}): PciDriver {
  const name = options.name ?? FW_DRIVER;
  const ops: VfioDeviceOps<FwVariantDevice> = { ...fwVariantOps, name };
  return vfioPciDriver(vfio, {
    name,
    idTable: options.idTable ?? FW_ID_TABLE,
    ops,
    create: (v, pdev: PciDev, o) => new FwVariantDevice(v, pdev, o),
  });
}

/** The variant device bound to `pdev`, if the bound driver is this variant. */
export function fwVariantDevice(pdev: PciDev): FwVariantDevice | null {
  return pdev.driverData instanceof FwVariantDevice ? pdev.driverData : null;
}
