import { L } from '../../../core/wasm.js';
import { VFIO } from '../uapi/constants.js';
import { DEVICE_INFO_MINSZ, DEVICE_INFO_SIZEOF, decodeDeviceInfo, encodeDeviceInfo } from '../uapi/deviceInfo.js';
import { REGION_INFO_MINSZ, REGION_INFO_SIZEOF, decodeRegionInfo, encodeRegionInfo } from '../uapi/regionInfo.js';
import { IRQ_INFO_MINSZ, decodeIrqInfo, encodeIrqInfo } from '../uapi/irqInfo.js';
import { IRQ_SET_MINSZ, decodeIrqSet } from '../uapi/irqSet.js';
import type { IrqSet } from '../uapi/irqSet.js';
import { readScalars } from '../uapi/structLayout.js';
import { msixMappableCap, placeInfoCapChain, regionTypeCap, sparseMmapCap } from '../uapi/infoCap.js';
import type { InfoCap } from '../uapi/infoCap.js';
import { DEVICE_IOEVENTFD_MINSZ, decodeDeviceIoeventfd } from '../uapi/ioeventfd.js';
import { VfioError } from '../vfioError.js';
import type { MmapArea, ReadValueOp, VfioDeviceOps } from '../vfioDeviceOps.js';
import { splitOffset, split, splitOffsetInto } from '../deviceFile.js';
import { vfioCheckFeature } from '../vfioMain.js';
import type { VfioPciCoreDevice } from './vfioPciCoreDevice.js';
import type { VfioConfig } from './config/vfioConfig.js';
import { VFIO_PCI_IOEVENTFD_MAX } from './vfioPciCoreDevice.js';
import { forEachPiece, getLe, putLe } from './regions.js';
import { hotResetInfo, hotReset } from './hotReset.js';
import { virqfdEnable } from './virqfd.js';
import { Eventfd } from '../../fileTable.js';
import { migrationReset } from '../migration/transition.js';
import { vfioPciCoreLowPowerFeature } from './lowPower.js';
import { parseUuid, vfioPciValidateVfToken, vfioPciVfTokenUserAdd } from './sriov.js';
import { vfioPciCoreMmapRegion } from './barMapping.js';

// vfio-pci-core's default ops (vfio_pci_core.c): a variant driver builds its ops table from these
// and overrides what it needs.

// ---- open / close -------------------------------------------------------------------------------

/** vfio_pci_core_open_device's default: enables the device (vfio_pci_core_enable) on first open; an open VF counts as a user of its PF's VF token. */
export function vfioPciCoreOpenDevice(vdev: VfioPciCoreDevice): void {
  vdev.enable();
  // vfio_pci_core_finish_enable's part that is not folded into enable(): an open VF counts as a
  // user of its PF's VF token
  vfioPciVfTokenUserAdd(vdev, 1);
}

/** vfio_pci_core_finish_enable is folded into enable() and open_device; kept for variant drivers that call it. */
export function vfioPciCoreFinishEnable(_vdev: VfioPciCoreDevice): void {}

/** vfio_pci_core_close_device: disables the device on last close (interrupts off, reset, saved state back). */
export function vfioPciCoreCloseDevice(vdev: VfioPciCoreDevice): void {
  vfioPciVfTokenUserAdd(vdev, -1);
  vdev.disable();
}

// ---- read / write ---------------------------------------------------------------------------------

function regionCount(vdev: VfioPciCoreDevice): number {
  return VFIO.PCI_NUM_REGIONS + vdev.regions.length;
}

/** vfio_pci_rw: dispatch by region index. Returns bytes done; `buf` is filled on read. */
export function vfioPciRw(vdev: VfioPciCoreDevice, offset: bigint | number, buf: Uint8Array, isWrite: boolean): number {
  vdev.requireOpen();
  // the file validated the offset as a u64 already; split it without allocating
  splitOffsetInto(offset);
  const index = split.index;
  const pos = split.pos;
  if (index >= regionCount(vdev)) throw new VfioError('EINVAL', `region index ${index} does not exist`);
  // outside low power both runtime PM calls below are no-ops: skip the bracket on the hot path
  const lp = vdev.lowPower;
  if (!lp.engaged && !lp.suspended) return regionRw(vdev, index, pos, buf, isWrite);
  // pm_runtime_resume_and_get / pm_runtime_put around the access (a device in low power wakes for it)
  vdev.pmRuntimeGet();
  try {
    return regionRw(vdev, index, pos, buf, isWrite);
  } finally {
    vdev.pmRuntimePut();
  }
}

function regionRw(vdev: VfioPciCoreDevice, index: number, pos: number, buf: Uint8Array, isWrite: boolean): number {
  switch (index) {
    case VFIO.PCI_CONFIG_REGION_INDEX:
      return vdev.config!.rw(pos, buf, isWrite);
    case VFIO.PCI_ROM_REGION_INDEX:
      if (isWrite) throw new VfioError('EINVAL', 'the ROM region is read-only');
      return barRw(vdev, L.ROM_INDEX, pos, buf, false);
    case VFIO.PCI_VGA_REGION_INDEX:
      throw new VfioError('EINVAL', 'the device has no VGA region');
    default:
      if (index < 6) return barRw(vdev, index, pos, buf, isWrite);
      return vdev.regions[index - VFIO.PCI_NUM_REGIONS].rw(vdev, pos, buf, isWrite);
  }
}

/** vfio_pci_bar_rw with vfio_pci_core_do_io_rw: bounded, chunked, MSI-X table excluded. */
function barRw(vdev: VfioPciCoreDevice, bar: number, pos: number, buf: Uint8Array, isWrite: boolean): number {
  const fn = vdev.fn;
  if (!vdev.barAddress(bar)) throw new VfioError('EINVAL', `BAR ${bar} is not assigned`);
  const end = vdev.barLen(bar);
  if (pos >= end) throw new VfioError('EINVAL', `offset ${pos} is beyond BAR ${bar} (${end} bytes)`);
  const count = Math.min(buf.length, end - pos);
  let xStart = 0;
  let xEnd = 0;
  if (bar === L.ROM_INDEX) {
    // reads past the ROM image come back as all-ones without touching the device
    xStart = fn.rom ? fn.rom.length : 0;
    xEnd = end;
  } else if (bar === vdev.msixBar) {
    xStart = vdev.msixOffset;
    xEnd = vdev.msixOffset + vdev.msixSize;
  }
  const isMem = fn.barKind(bar) !== L.BAR_IO;
  // read fast path: one naturally aligned piece wholly outside the excluded range is one device read
  // (what the piece loop below does for it, without its closures)
  const len = buf.length;
  if (!isWrite && bar !== L.ROM_INDEX && count === len && (len === 4 || len === 2 || len === 1) && (pos & (len - 1)) === 0 && (pos >= xEnd || pos + len <= xStart)) {
    if (isMem && !vdev.memoryEnabled()) throw new VfioError('EIO', 'memory decode is disabled in the Command register');
    putLe(buf, 0, len, vdev.hwBarRead(bar, pos, len));
    return len;
  }
  const testMem = memoryTest(vdev, isMem);
  // a zero-length access never reaches here from the file (it answers 0 first); a variant driver that
  // passes one on, to have the core vet an access it emulates, gets the memory-enable answer
  if (count === 0) testMem();
  if (bar === L.ROM_INDEX) return romRead(vdev, pos, buf, count, xStart, testMem);
  return forEachPiece(pos, count, (off, size, i) => {
    if (off >= xStart && off < xEnd) {
      // excluded range: reads return 0xff, writes are dropped
      if (!isWrite) buf.fill(0xff, i, i + size);
      return;
    }
    testMem();
    if (isWrite) vdev.hwBarWrite(bar, off, size, getLe(buf, i, size));
    else putLe(buf, i, size, vdev.hwBarRead(bar, off, size));
  });
}

/**
 * The test_mem of vfio_pci_core_ioread/iowrite: each access to a memory resource (not the excluded
 * ranges, which touch nothing) fails with EIO while the user's Command has Memory Space off. The
 * answer cannot change within one call, so it is looked up once, at the first access.
 */
function memoryTest(vdev: VfioPciCoreDevice, isMem: boolean): () => void {
  let ok: boolean | null = isMem ? null : true;
  return () => {
    if (ok === null) ok = vdev.memoryEnabled();
    if (!ok) throw new VfioError('EIO', 'memory decode is disabled in the Command register');
  };
}

/** pci_map_rom: the ROM BAR is enabled for the duration of the read. */
function romRead(vdev: VfioPciCoreDevice, pos: number, buf: Uint8Array, count: number, romLen: number, testMem: () => void): number {
  const fn = vdev.fn;
  const reg = fn.romReg;
  const saved = fn.configRead(reg, 4);
  vdev.hwConfigWrite(reg, 4, saved | 1);
  try {
    return forEachPiece(pos, count, (off, size, i) => {
      if (off >= romLen) buf.fill(0xff, i, i + size);
      else {
        testMem();
        putLe(buf, i, size, vdev.hwBarRead(L.ROM_INDEX, off, size));
      }
    });
  } finally {
    vdev.hwConfigWrite(reg, 4, saved);
  }
}

/**
 * vfio_pci_core_read. A naturally aligned read of 1, 2 or 4 bytes inside config space, on an open
 * device outside low power, is answered with one VfioConfig read (the hot path a VMM takes for every
 * guest config access); everything else goes through vfio_pci_rw. Where vfio_pci_config_rw would cut
 * such a read at a capability boundary, each piece is the same side-effect-free per-byte merge, so
 * the bytes are the same; pieces only matter for writes.
 */
export function vfioPciCoreRead(vdev: VfioPciCoreDevice, offset: bigint, buf: Uint8Array): number {
  return configReadFast(vdev, offset, buf) || vfioPciRw(vdev, offset, buf, false);
}

// The config region's file offsets, for the fast path's test without BigInt arithmetic: a bigint
// offset is split by storing it into a BigUint64Array and reading the halves (little-endian: the
// core refuses big-endian hosts). The index is written as a literal: derived from VFIO's constants
// object (or from the device file's shared split buffers) the path measured 5-7 ns slower.
/** VFIO_PCI_INDEX_TO_OFFSET(VFIO_PCI_CONFIG_REGION_INDEX = 7) */
const CONFIG_BASE = 7 * 2 ** 40;
/** its high 32 bits */
const CONFIG_HI = 7 << 8;
const off64 = new BigUint64Array(1);
const off32 = new Uint32Array(off64.buffer);

/** The config read fast path of vfioPciCoreRead: bytes read, or 0 to take the general path. */
function configReadFast(vdev: VfioPciCoreDevice, offset: bigint | number, buf: Uint8Array): number {
  const len = buf.length;
  if (len !== 4 && len !== 2 && len !== 1) return 0;
  const v = configValue(vdev, offset, len);
  if (v < 0) return 0;
  buf[0] = v;
  if (len > 1) {
    buf[1] = v >>> 8;
    if (len > 2) {
      buf[2] = v >>> 16;
      buf[3] = v >>> 24;
    }
  }
  return len;
}

/**
 * One naturally aligned config register of an open device outside low power, as the unsigned value
 * vfioPciCoreRead would return in a buffer; -1 for any other offset or state (the general path's).
 */
function configValue(vdev: VfioPciCoreDevice, offset: bigint | number, len: 1 | 2 | 4): number {
  const cfg = vdev.config;
  if (cfg === null) return -1;
  let pos: number;
  if (typeof offset === 'bigint') {
    off64[0] = offset;
    if (off32[1] !== CONFIG_HI) return -1;
    pos = off32[0];
  } else {
    pos = offset - CONFIG_BASE;
    if (pos >>> 0 !== pos) return -1;
  }
  if ((pos & (len - 1)) !== 0 || pos + len > cfg.size) return -1;
  const lp = vdev.lowPower;
  if (lp.engaged || lp.suspended) return -1;
  return cfg.readAligned(pos, len);
}

/**
 * vfioPciCoreRead of one config register as a number (the device file's readValue): the fast path's
 * answer without a buffer, -1 where the general path must answer (other regions, low power, a
 * misaligned or out-of-range offset, a closed device), which the file then takes through read.
 */
export const vfioPciCoreReadConfigValue: ReadValueOp<VfioPciCoreDevice> = Object.assign(configValue, { mirrors: vfioPciCoreRead });

/** vfio_pci_core_write: a write to the region the offset selects (config, BAR, ROM, VGA or a device region); returns bytes written. */
export function vfioPciCoreWrite(vdev: VfioPciCoreDevice, offset: bigint, data: Uint8Array): number {
  return vfioPciRw(vdev, offset, data, true);
}

/** Where an access and an emulated register overlap: a byte range of the buffer and of the register. */
export interface RangeIntersection {
  /** first overlapping byte, counted from the start of the access buffer */
  bufOffset: number;
  /** overlapping bytes */
  count: number;
  /** first overlapping byte, counted from the start of the register */
  registerOffset: number;
}

/**
 * vfio_pci_core_range_intersect_range: the overlap of an access [bufStart, bufStart + bufCount) with a
 * register [regStart, regStart + regCount), or null when they do not meet. A variant that emulates a
 * register reads through the core and patches the overlapping bytes, or drops them from a write.
 */
export function vfioPciCoreRangeIntersectRange(bufStart: number, bufCount: number, regStart: number, regCount: number): RangeIntersection | null {
  if (bufStart <= regStart && bufStart + bufCount > regStart) {
    return { bufOffset: regStart - bufStart, count: Math.min(regCount, bufStart + bufCount - regStart), registerOffset: 0 };
  }
  if (bufStart > regStart && bufStart < regStart + regCount) {
    return { bufOffset: 0, count: Math.min(bufCount, regStart + regCount - bufStart), registerOffset: bufStart - regStart };
  }
  return null;
}

// ---- ioctl ------------------------------------------------------------------------------------------

/** vfio_pci_core_ioctl: the VFIO_DEVICE_* ioctls (GET_INFO, GET_REGION_INFO, GET_IRQ_INFO, SET_IRQS, RESET, hot reset, ioeventfd). */
export function vfioPciCoreIoctl(vdev: VfioPciCoreDevice, request: number, arg: Uint8Array): number {
  switch (request) {
    case VFIO.DEVICE_GET_INFO:
      return getInfo(vdev, arg);
    case VFIO.DEVICE_GET_REGION_INFO:
      return getRegionInfo(vdev, arg);
    case VFIO.DEVICE_GET_IRQ_INFO:
      return getIrqInfo(vdev, arg);
    case VFIO.DEVICE_SET_IRQS:
      return setIrqs(vdev, arg);
    case VFIO.DEVICE_RESET:
      return deviceReset(vdev);
    case VFIO.DEVICE_GET_PCI_HOT_RESET_INFO:
      return hotResetInfo(vdev, arg);
    case VFIO.DEVICE_PCI_HOT_RESET:
      return hotReset(vdev, arg);
    case VFIO.DEVICE_IOEVENTFD:
      return ioeventfd(vdev, arg);
    default:
      throw new VfioError('ENOTTY', `unknown vfio-pci ioctl 0x${request.toString(16)}`);
  }
}

function getInfo(vdev: VfioPciCoreDevice, arg: Uint8Array): number {
  const info = decodeDeviceInfo(arg);
  if (info.argsz < DEVICE_INFO_MINSZ) throw new VfioError('EINVAL', `vfio_device_info.argsz ${info.argsz} < ${DEVICE_INFO_MINSZ}`);
  info.flags = VFIO.DEVICE_FLAGS_PCI | (vdev.resetWorks ? VFIO.DEVICE_FLAGS_RESET : 0);
  info.numRegions = VFIO.PCI_NUM_REGIONS + vdev.regions.length;
  info.numIrqs = VFIO.PCI_NUM_IRQS;
  // the kernel fills a zeroed struct (no capabilities: cap_offset 0) and copies min(argsz, sizeof) bytes
  info.capOffset = 0;
  info.pad = 0;
  encodeDeviceInfo(info, arg, 0, Math.min(info.argsz, DEVICE_INFO_SIZEOF));
  return 0;
}

/** vdev->bar_mmap_supported: decided at open by vfio_pci_probe_mmaps (mmapProbe.ts). */
function barMmapSupported(vdev: VfioPciCoreDevice, bar: number): boolean {
  return vdev.barMmapSupported[bar] === true;
}

function getRegionInfo(vdev: VfioPciCoreDevice, arg: Uint8Array): number {
  vdev.requireOpen();
  const info = decodeRegionInfo(arg);
  if (info.argsz < REGION_INFO_MINSZ) throw new VfioError('EINVAL', `vfio_region_info.argsz ${info.argsz} < ${REGION_INFO_MINSZ}`);
  const fn = vdev.fn;
  const caps: InfoCap[] = [];
  const index = info.index;
  info.offset = BigInt(index) << 40n;
  if (index === VFIO.PCI_CONFIG_REGION_INDEX) {
    info.size = BigInt(vdev.config!.size);
    info.flags = VFIO.REGION_INFO_FLAG_READ | VFIO.REGION_INFO_FLAG_WRITE;
  } else if (index <= 5) {
    const size = vdev.barLen(index);
    info.size = BigInt(size);
    info.flags = 0;
    if (size) {
      info.flags = VFIO.REGION_INFO_FLAG_READ | VFIO.REGION_INFO_FLAG_WRITE;
      if (barMmapSupported(vdev, index)) {
        info.flags |= VFIO.REGION_INFO_FLAG_MMAP;
        if (index === vdev.msixBar) caps.push(msixMappableCap());
      }
    }
    // a variant that narrows what can be mapped publishes it as sparse areas; a BAR it leaves as the
    // core has it (one area, the whole BAR) reports exactly what plain vfio-pci reports
    const areas = vdev.ops.mmap && vdev.ops.mmap !== vfioPciCoreMmap ? vdev.ops.mmap(vdev, index) : null;
    if (areas && size && barMmapSupported(vdev, index) && !(areas.length === 1 && areas[0].offset === 0 && areas[0].size === size)) {
      caps.unshift(sparseMmapCap(areas.map((a) => ({ offset: BigInt(a.offset), size: BigInt(a.size) }))));
    }
  } else if (index === VFIO.PCI_ROM_REGION_INDEX) {
    info.flags = 0;
    const size = vdev.barLen(L.ROM_INDEX);
    // the ROM counts only when its image carries the 0x55AA signature (pci_map_rom)
    const ok = size > 0 && fn.rom !== null && fn.rom[0] === 0x55 && fn.rom[1] === 0xaa;
    info.size = BigInt(ok ? size : 0);
    if (ok) info.flags = VFIO.REGION_INFO_FLAG_READ;
  } else if (index === VFIO.PCI_VGA_REGION_INDEX) {
    throw new VfioError('EINVAL', 'the device has no VGA region');
  } else {
    const i = index - VFIO.PCI_NUM_REGIONS;
    if (i < 0 || i >= vdev.regions.length) throw new VfioError('EINVAL', `region index ${index} does not exist`);
    const r = vdev.regions[i];
    info.size = BigInt(r.size);
    info.flags = r.flags;
    caps.push(regionTypeCap(r.type, r.subtype));
    for (const extra of r.extraCaps?.(vdev) ?? []) {
      caps.push({ id: extra[0] | (extra[1] << 8), version: extra[2] | (extra[3] << 8), body: extra.subarray(8) });
    }
  }
  if (caps.length) {
    info.flags |= VFIO.REGION_INFO_FLAG_CAPS;
    const placed = placeInfoCapChain(info.argsz, REGION_INFO_SIZEOF, caps);
    if (!placed.fits) {
      info.argsz = placed.argsz;
      info.capOffset = 0;
    } else {
      if (arg.length < REGION_INFO_SIZEOF + placed.chain.length) throw new VfioError('EFAULT', 'capability chain does not fit in the arg buffer');
      arg.set(placed.chain, REGION_INFO_SIZEOF);
      info.capOffset = placed.capOffset;
    }
  }
  encodeRegionInfo(info, arg, 0, REGION_INFO_MINSZ);
  return 0;
}

function getIrqInfo(vdev: VfioPciCoreDevice, arg: Uint8Array): number {
  const info = decodeIrqInfo(arg);
  if (info.argsz < IRQ_INFO_MINSZ || info.index >= VFIO.PCI_NUM_IRQS) throw new VfioError('EINVAL', `bad vfio_irq_info (argsz ${info.argsz}, index ${info.index})`);
  if (info.index === VFIO.PCI_ERR_IRQ_INDEX && !vdev.fn.capOffset(L.M_PCIE_CAP)) throw new VfioError('EINVAL', 'ERR irq needs a PCI Express device');
  info.flags = VFIO.IRQ_INFO_EVENTFD;
  info.count = vdev.irqs.count(info.index);
  if (info.index === VFIO.PCI_INTX_IRQ_INDEX) info.flags |= VFIO.IRQ_INFO_MASKABLE | VFIO.IRQ_INFO_AUTOMASKED;
  // every other index is NORESIZE, except MSI-X when vectors can be added while it is enabled
  else if (info.index !== VFIO.PCI_MSIX_IRQ_INDEX || !vdev.hasDynMsix) info.flags |= VFIO.IRQ_INFO_NORESIZE;
  encodeIrqInfo(info, arg, 0, IRQ_INFO_MINSZ);
  return 0;
}

/** vfio_set_irqs_validate_and_prepare, then the per-index handlers. */
/**
 * The vfio_irq_set header, read straight from the arg: SET_IRQS TRIGGER is a per-interrupt hot path
 * and the generic struct decoder costs a DataView and a keyed object per call (bench/vfio.ts). A
 * short arg goes to the decoder for its EFAULT.
 */
function irqSetHeader(arg: Uint8Array): IrqSet {
  if (arg.length < IRQ_SET_MINSZ) return decodeIrqSet(arg);
  return { argsz: le32(arg, 0), flags: le32(arg, 4), index: le32(arg, 8), start: le32(arg, 12), count: le32(arg, 16) };
}

function le32(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
}

function setIrqs(vdev: VfioPciCoreDevice, arg: Uint8Array): number {
  vdev.requireOpen();
  const hdr = irqSetHeader(arg);
  if (hdr.argsz < IRQ_SET_MINSZ || hdr.index >= VFIO.PCI_NUM_IRQS || hdr.count >= 0xffffffff - hdr.start ||
    (hdr.flags & ~(VFIO.IRQ_SET_DATA_TYPE_MASK | VFIO.IRQ_SET_ACTION_TYPE_MASK)) !== 0) {
    throw new VfioError('EINVAL', `bad vfio_irq_set header (argsz ${hdr.argsz}, index ${hdr.index}, start ${hdr.start}, count ${hdr.count}, flags 0x${hdr.flags.toString(16)})`);
  }
  const max = vdev.irqs.count(hdr.index);
  if (hdr.start >= max || hdr.start + hdr.count > max) {
    throw new VfioError('EINVAL', `vectors ${hdr.start}..${hdr.start + hdr.count} are outside the ${max} of irq index ${hdr.index}`);
  }
  let size: number;
  switch (hdr.flags & VFIO.IRQ_SET_DATA_TYPE_MASK) {
    case VFIO.IRQ_SET_DATA_NONE:
      size = 0;
      break;
    case VFIO.IRQ_SET_DATA_BOOL:
      size = 1;
      break;
    case VFIO.IRQ_SET_DATA_EVENTFD:
      size = 4;
      break;
    default:
      throw new VfioError('EINVAL', 'exactly one DATA_ type is required');
  }
  let data: number[] | null = null;
  if (size) {
    if (hdr.argsz - IRQ_SET_MINSZ < hdr.count * size) throw new VfioError('EINVAL', `argsz ${hdr.argsz} has no room for ${hdr.count} data elements`);
    data = readScalars(arg, IRQ_SET_MINSZ, hdr.count, size === 1 ? 'u8' : 's32', 'vfio_irq_set.data');
  }
  vdev.irqs.setIrqs(hdr.flags, hdr.index, hdr.start, hdr.count, data);
  return 0;
}

function deviceReset(vdev: VfioPciCoreDevice): number {
  vdev.requireOpen();
  if (!vdev.resetWorks) throw new VfioError('EINVAL', `${vdev.bdf} has no reset method`);
  vdev.setPowerState(0);
  if (!vdev.tryResetFunction()) throw new VfioError('ENOTTY', `${vdev.bdf}: reset failed`);
  // a migration driver's reset_done: back to RUNNING, streams over (the only way out of ERROR)
  migrationReset(vdev);
  return 0;
}

function ioeventfd(vdev: VfioPciCoreDevice, arg: Uint8Array): number {
  vdev.requireOpen();
  const e = decodeDeviceIoeventfd(arg);
  if (e.argsz < DEVICE_IOEVENTFD_MINSZ) throw new VfioError('EINVAL', `vfio_device_ioeventfd.argsz ${e.argsz} < ${DEVICE_IOEVENTFD_MINSZ}`);
  if (e.flags & ~VFIO.DEVICE_IOEVENTFD_SIZE_MASK) throw new VfioError('EINVAL', 'unknown ioeventfd flags');
  const count = e.flags & VFIO.DEVICE_IOEVENTFD_SIZE_MASK;
  if (count === 0 || (count & (count - 1)) !== 0 || e.fd < -1) throw new VfioError('EINVAL', 'ioeventfd needs exactly one size bit and fd >= -1');
  const [bar, pos] = splitOffset(e.offset);
  if (bar > 5) throw new VfioError('EINVAL', 'ioeventfds only work on BARs');
  if (pos + count > vdev.barLen(bar)) throw new VfioError('EINVAL', 'ioeventfd outside the BAR');
  if (bar === vdev.msixBar && !(pos + count <= vdev.msixOffset || pos >= vdev.msixOffset + vdev.msixSize)) {
    throw new VfioError('EINVAL', 'ioeventfds may not write the MSI-X table');
  }
  const found = vdev.ioeventfds.findIndex((x) => x.bar === bar && x.pos === pos && x.data === e.data && x.size === count);
  if (found >= 0) {
    if (e.fd !== -1) throw new VfioError('EEXIST', 'that ioeventfd is already registered');
    vdev.ioeventfds[found].off();
    vdev.ioeventfds.splice(found, 1);
    return 0;
  }
  if (e.fd < 0) throw new VfioError('ENODEV', 'no such ioeventfd to remove');
  if (vdev.ioeventfds.length >= VFIO_PCI_IOEVENTFD_MAX) throw new VfioError('ENOSPC', 'too many ioeventfds');
  // vfio_virqfd_enable: EBADF when nothing is open at fd, EINVAL when it is not an eventfd
  const f = vdev.files.get(e.fd);
  if (!f) throw new VfioError('EBADF', `fd ${e.fd} is not open`);
  if (!(f instanceof Eventfd)) throw new VfioError('EINVAL', `fd ${e.fd} is not an eventfd`);
  const data = e.data;
  const off = virqfdEnable(f, () => {
    if (!vdev.memoryEnabled()) return;
    if (count === 8) {
      vdev.hwBarWrite(bar, pos, 4, Number(data & 0xffffffffn));
      vdev.hwBarWrite(bar, pos + 4, 4, Number((data >> 32n) & 0xffffffffn));
    } else {
      vdev.hwBarWrite(bar, pos, count as 1 | 2 | 4, Number(data & 0xffffffffn));
    }
  });
  vdev.ioeventfds.push({ bar, pos, data, size: count, fd: e.fd, off });
  return 0;
}

// ---- mmap, request, match, features -------------------------------------------------------------

/** What of a region could be mapped: whole memory BARs that the host can map. */
export function vfioPciCoreMmap(vdev: VfioPciCoreDevice, index: number): MmapArea[] {
  if (index > 5 || !barMmapSupported(vdev, index)) return [];
  return [{ offset: 0, size: vdev.barLen(index) }];
}

/** vfio_pci_core_request: ask the user to release the device through the REQ eventfd. */
export function vfioPciCoreRequest(vdev: VfioPciCoreDevice, count: number): void {
  vdev.irqs.reqTrigger?.signal();
  void count;
}

/**
 * vfio_pci_core_match: the open request names the device, optionally with a VF token (a UUID string;
 * EINVAL when it is not one), which vfio_pci_validate_vf_token checks (sriov.ts).
 */
export function vfioPciCoreMatch(vdev: VfioPciCoreDevice, token: string | null): void {
  vfioPciValidateVfToken(vdev, token === null || token === undefined ? null : parseUuid(token));
}

/** vfio_pci_core_ioctl_feature: the DEVICE_FEATUREs vfio-pci-core handles (low power, VF token); ENOTTY for others. */
export function vfioPciCoreDeviceFeature(vdev: VfioPciCoreDevice, flags: number, data: Uint8Array): number {
  const feature = flags & VFIO.DEVICE_FEATURE_MASK;
  const lp = vfioPciCoreLowPowerFeature(vdev, flags, data);
  if (lp >= 0) return lp;
  if (feature === VFIO.DEVICE_FEATURE_PCI_VF_TOKEN) {
    if (!vdev.vfToken) throw new VfioError('ENOTTY', 'the device has no VF token (not an SR-IOV PF)');
    // GET is not supported: it would expose the previous user's token
    if (vfioCheckFeature(flags, data.length, VFIO.DEVICE_FEATURE_SET, 16) === 0) return 0;
    vdev.vfToken.uuid = data.slice(0, 16);
    return 0;
  }
  throw new VfioError('ENOTTY', `feature ${feature} is not supported by vfio-pci`);
}

/** vfio_pci_core_init_dev: nothing to set up here (the device is built complete). */
export function vfioPciCoreInit(_vdev: VfioPciCoreDevice): void {}
/** vfio_pci_core_release_dev: nothing to free here. */
export function vfioPciCoreRelease(_vdev: VfioPciCoreDevice): void {}

/** The ops of plain vfio-pci: every entry is vfio-pci-core's default. */
export const vfioPciCoreOps: VfioDeviceOps<VfioPciCoreDevice> = {
  name: 'vfio-pci',
  init: vfioPciCoreInit,
  release: vfioPciCoreRelease,
  openDevice: vfioPciCoreOpenDevice,
  closeDevice: vfioPciCoreCloseDevice,
  read: vfioPciCoreRead,
  readConfigValue: vfioPciCoreReadConfigValue,
  write: vfioPciCoreWrite,
  ioctl: vfioPciCoreIoctl,
  mmap: vfioPciCoreMmap,
  mmapRegion: vfioPciCoreMmapRegion,
  request: vfioPciCoreRequest,
  match: vfioPciCoreMatch,
  deviceFeature: vfioPciCoreDeviceFeature,
};

