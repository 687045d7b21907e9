import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { VfioError } from '../../src/host/vfio/vfioError.js';
import {
  VFIO,
  ioctlIo,
  ioctlNr,
  ioctlType,
  vfioIo,
  deviceInfoLayout,
  regionInfoLayout,
  irqInfoLayout,
  irqSetLayout,
  pciDependentDeviceLayout,
  pciHotResetInfoLayout,
  pciHotResetLayout,
  deviceIoeventfdLayout,
  deviceFeatureLayout,
  featureMigrationLayout,
  featureMigStateLayout,
  featureMigDataSizeLayout,
  lowPowerEntryWithWakeupLayout,
  dmaLoggingControlLayout,
  dmaLoggingRangeLayout,
  dmaLoggingReportLayout,
  precopyInfoLayout,
  infoCapHeaderLayout,
  sparseMmapCapLayout,
  sparseMmapAreaLayout,
  regionTypeCapLayout,
  pciAtomicCompCapLayout,
  DEVICE_INFO_MINSZ,
  REGION_INFO_MINSZ,
  IRQ_INFO_MINSZ,
  IRQ_SET_MINSZ,
  PCI_HOT_RESET_INFO_MINSZ,
  PCI_HOT_RESET_MINSZ,
  DEVICE_IOEVENTFD_MINSZ,
  DEVICE_FEATURE_MINSZ,
  PRECOPY_INFO_MINSZ,
  DMA_LOGGING_CONTROL_MINSZ,
  DMA_LOGGING_REPORT_MINSZ,
  DMA_LOGGING_MAX_RANGES,
  FEATURE_MIG_STATE_MINSZ,
  buildIrqSet,
  decodeIrqSet,
  decodeIrqSetData,
  irqSetDataElementSize,
  decodePciDependentDevices,
  encodePciDependentDevices,
  decodePciHotResetGroupFds,
  buildPciHotReset,
  pciHotResetInfoArgsz,
  buildDeviceFeature,
  deviceFeatureData,
  deviceFeatureNumber,
  decodeDeviceFeature,
  buildDmaLoggingStart,
  buildDmaLoggingReport,
  decodeDmaLoggingControl,
  decodeDmaLoggingReport,
  readDmaLoggingRanges,
  readDmaLoggingRange,
  dmaLoggingBitmapBytes,
  dmaLoggingBitmapView,
  encodeDmaLoggingControl,
  encodeInfoCapChain,
  decodeInfoCapChain,
  findInfoCap,
  placeInfoCapChain,
  sparseMmapCap,
  regionTypeCap,
  msixMappableCap,
  pciAtomicCompCap,
  decodeSparseMmapCap,
  decodeRegionTypeCap,
  decodePciAtomicCompCap,
  requireArgsz,
  decodeDeviceInfo,
  decodeRegionInfo,
  encodeRegionInfo,
  decodeFeatureMigState,
  encodeFeatureMigState,
} from '../../src/host/vfio/uapi/index.js';
import type { FieldKind, StructLayout } from '../../src/host/vfio/uapi/index.js';

function expectVfioError(fn: () => unknown, code: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, 'expected a VfioError').toBeInstanceOf(VfioError);
  expect((caught as VfioError).code).toBe(code);
}

// ---------------------------------------------------------------------------------------------
// Fixture: request numbers transcribed from include/uapi/linux/vfio.h. Each entry is
// [name, n in "_IO(VFIO_TYPE, VFIO_BASE + n)", the number as hex].
const IOCTL_FIXTURE: [string, number, number][] = [
  ['GET_API_VERSION', 0, 0x3b64],
  ['CHECK_EXTENSION', 1, 0x3b65],
  ['SET_IOMMU', 2, 0x3b66],
  ['GROUP_GET_STATUS', 3, 0x3b67],
  ['GROUP_SET_CONTAINER', 4, 0x3b68],
  ['GROUP_UNSET_CONTAINER', 5, 0x3b69],
  ['GROUP_GET_DEVICE_FD', 6, 0x3b6a],
  ['DEVICE_GET_INFO', 7, 0x3b6b],
  ['DEVICE_GET_REGION_INFO', 8, 0x3b6c],
  ['DEVICE_GET_IRQ_INFO', 9, 0x3b6d],
  ['DEVICE_SET_IRQS', 10, 0x3b6e],
  ['DEVICE_RESET', 11, 0x3b6f],
  ['DEVICE_GET_PCI_HOT_RESET_INFO', 12, 0x3b70],
  ['DEVICE_PCI_HOT_RESET', 13, 0x3b71],
  ['DEVICE_QUERY_GFX_PLANE', 14, 0x3b72],
  ['DEVICE_GET_GFX_DMABUF', 15, 0x3b73],
  ['DEVICE_IOEVENTFD', 16, 0x3b74],
  ['DEVICE_FEATURE', 17, 0x3b75],
  ['DEVICE_BIND_IOMMUFD', 18, 0x3b76],
  ['DEVICE_ATTACH_IOMMUFD_PT', 19, 0x3b77],
  ['DEVICE_DETACH_IOMMUFD_PT', 20, 0x3b78],
  ['MIG_GET_PRECOPY_INFO', 21, 0x3b79],
  ['IOMMU_GET_INFO', 12, 0x3b70],
  ['IOMMU_MAP_DMA', 13, 0x3b71],
  ['IOMMU_UNMAP_DMA', 14, 0x3b72],
  ['IOMMU_ENABLE', 15, 0x3b73],
  ['IOMMU_DISABLE', 16, 0x3b74],
  ['IOMMU_DIRTY_PAGES', 17, 0x3b75],
];

// Fixture: every other constant, transcribed from the header's #defines and enums.
const CONSTANT_FIXTURE: Record<string, number> = {
  API_VERSION: 0,
  TYPE1_IOMMU: 1,
  SPAPR_TCE_IOMMU: 2,
  TYPE1v2_IOMMU: 3,
  DMA_CC_IOMMU: 4,
  EEH: 5,
  SPAPR_TCE_v2_IOMMU: 7,
  NOIOMMU_IOMMU: 8,
  UNMAP_ALL: 9,
  UPDATE_VADDR: 10,
  TYPE: 0x3b,
  BASE: 100,
  GROUP_FLAGS_VIABLE: 0x1,
  GROUP_FLAGS_CONTAINER_SET: 0x2,
  IOMMU_INFO_PGSIZES: 0x1,
  IOMMU_INFO_CAPS: 0x2,
  DMA_MAP_FLAG_READ: 0x1,
  DMA_MAP_FLAG_WRITE: 0x2,
  DMA_MAP_FLAG_VADDR: 0x4,
  DMA_UNMAP_FLAG_GET_DIRTY_BITMAP: 0x1,
  DMA_UNMAP_FLAG_ALL: 0x2,
  DMA_UNMAP_FLAG_VADDR: 0x4,
  IOMMU_DIRTY_PAGES_FLAG_START: 0x1,
  IOMMU_DIRTY_PAGES_FLAG_STOP: 0x2,
  IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP: 0x4,
  DEVICE_FLAGS_RESET: 0x1,
  DEVICE_FLAGS_PCI: 0x2,
  DEVICE_FLAGS_PLATFORM: 0x4,
  DEVICE_FLAGS_AMBA: 0x8,
  DEVICE_FLAGS_CCW: 0x10,
  DEVICE_FLAGS_AP: 0x20,
  DEVICE_FLAGS_FSL_MC: 0x40,
  DEVICE_FLAGS_CAPS: 0x80,
  DEVICE_FLAGS_CDX: 0x100,
  DEVICE_INFO_CAP_ZPCI_BASE: 1,
  DEVICE_INFO_CAP_ZPCI_GROUP: 2,
  DEVICE_INFO_CAP_ZPCI_UTIL: 3,
  DEVICE_INFO_CAP_ZPCI_PFIP: 4,
  DEVICE_INFO_CAP_PCI_ATOMIC_COMP: 5,
  PCI_ATOMIC_COMP32: 0x1,
  PCI_ATOMIC_COMP64: 0x2,
  PCI_ATOMIC_COMP128: 0x4,
  REGION_INFO_FLAG_READ: 0x1,
  REGION_INFO_FLAG_WRITE: 0x2,
  REGION_INFO_FLAG_MMAP: 0x4,
  REGION_INFO_FLAG_CAPS: 0x8,
  REGION_INFO_CAP_SPARSE_MMAP: 1,
  REGION_INFO_CAP_TYPE: 2,
  REGION_INFO_CAP_MSIX_MAPPABLE: 3,
  REGION_INFO_CAP_NVLINK2_SSATGT: 4,
  REGION_INFO_CAP_NVLINK2_LNKSPD: 5,
  REGION_TYPE_PCI_VENDOR_TYPE: 0x80000000,
  REGION_TYPE_PCI_VENDOR_MASK: 0xffff,
  REGION_TYPE_GFX: 1,
  REGION_TYPE_CCW: 2,
  REGION_TYPE_MIGRATION_DEPRECATED: 3,
  REGION_SUBTYPE_INTEL_IGD_OPREGION: 1,
  REGION_SUBTYPE_INTEL_IGD_HOST_CFG: 2,
  REGION_SUBTYPE_INTEL_IGD_LPC_CFG: 3,
  REGION_SUBTYPE_NVIDIA_NVLINK2_RAM: 1,
  REGION_SUBTYPE_IBM_NVLINK2_ATSD: 1,
  REGION_SUBTYPE_GFX_EDID: 1,
  REGION_SUBTYPE_CCW_ASYNC_CMD: 1,
  REGION_SUBTYPE_CCW_SCHIB: 2,
  REGION_SUBTYPE_CCW_CRW: 3,
  REGION_SUBTYPE_MIGRATION_DEPRECATED: 1,
  DEVICE_GFX_LINK_STATE_UP: 1,
  DEVICE_GFX_LINK_STATE_DOWN: 2,
  PCI_BAR0_REGION_INDEX: 0,
  PCI_BAR1_REGION_INDEX: 1,
  PCI_BAR2_REGION_INDEX: 2,
  PCI_BAR3_REGION_INDEX: 3,
  PCI_BAR4_REGION_INDEX: 4,
  PCI_BAR5_REGION_INDEX: 5,
  PCI_ROM_REGION_INDEX: 6,
  PCI_CONFIG_REGION_INDEX: 7,
  PCI_VGA_REGION_INDEX: 8,
  PCI_NUM_REGIONS: 9,
  PCI_INTX_IRQ_INDEX: 0,
  PCI_MSI_IRQ_INDEX: 1,
  PCI_MSIX_IRQ_INDEX: 2,
  PCI_ERR_IRQ_INDEX: 3,
  PCI_REQ_IRQ_INDEX: 4,
  PCI_NUM_IRQS: 5,
  IRQ_INFO_EVENTFD: 0x1,
  IRQ_INFO_MASKABLE: 0x2,
  IRQ_INFO_AUTOMASKED: 0x4,
  IRQ_INFO_NORESIZE: 0x8,
  IRQ_SET_DATA_NONE: 0x1,
  IRQ_SET_DATA_BOOL: 0x2,
  IRQ_SET_DATA_EVENTFD: 0x4,
  IRQ_SET_ACTION_MASK: 0x8,
  IRQ_SET_ACTION_UNMASK: 0x10,
  IRQ_SET_ACTION_TRIGGER: 0x20,
  IRQ_SET_DATA_TYPE_MASK: 0x1 | 0x2 | 0x4,
  IRQ_SET_ACTION_TYPE_MASK: 0x8 | 0x10 | 0x20,
  PCI_HOT_RESET_FLAG_DEV_ID: 0x1,
  PCI_HOT_RESET_FLAG_DEV_ID_OWNED: 0x2,
  PCI_DEVID_OWNED: 0,
  PCI_DEVID_NOT_OWNED: -1,
  GFX_PLANE_TYPE_PROBE: 0x1,
  GFX_PLANE_TYPE_DMABUF: 0x2,
  GFX_PLANE_TYPE_REGION: 0x4,
  DEVICE_IOEVENTFD_8: 0x1,
  DEVICE_IOEVENTFD_16: 0x2,
  DEVICE_IOEVENTFD_32: 0x4,
  DEVICE_IOEVENTFD_64: 0x8,
  DEVICE_IOEVENTFD_SIZE_MASK: 0xf,
  DEVICE_BIND_FLAG_TOKEN: 0x1,
  DEVICE_ATTACH_PASID: 0x1,
  DEVICE_DETACH_PASID: 0x1,
  DEVICE_FEATURE_MASK: 0xffff,
  DEVICE_FEATURE_GET: 0x10000,
  DEVICE_FEATURE_SET: 0x20000,
  DEVICE_FEATURE_PROBE: 0x40000,
  DEVICE_FEATURE_PCI_VF_TOKEN: 0,
  DEVICE_FEATURE_MIGRATION: 1,
  DEVICE_FEATURE_MIG_DEVICE_STATE: 2,
  DEVICE_FEATURE_LOW_POWER_ENTRY: 3,
  DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP: 4,
  DEVICE_FEATURE_LOW_POWER_EXIT: 5,
  DEVICE_FEATURE_DMA_LOGGING_START: 6,
  DEVICE_FEATURE_DMA_LOGGING_STOP: 7,
  DEVICE_FEATURE_DMA_LOGGING_REPORT: 8,
  DEVICE_FEATURE_MIG_DATA_SIZE: 9,
  DEVICE_FEATURE_BUS_MASTER: 10,
  DEVICE_FEATURE_DMA_BUF: 11,
  DEVICE_FEATURE_CLEAR_MASTER: 0,
  DEVICE_FEATURE_SET_MASTER: 1,
  MIGRATION_STOP_COPY: 0x1,
  MIGRATION_P2P: 0x2,
  MIGRATION_PRE_COPY: 0x4,
  DEVICE_STATE_ERROR: 0,
  DEVICE_STATE_STOP: 1,
  DEVICE_STATE_RUNNING: 2,
  DEVICE_STATE_STOP_COPY: 3,
  DEVICE_STATE_RESUMING: 4,
  DEVICE_STATE_RUNNING_P2P: 5,
  DEVICE_STATE_PRE_COPY: 6,
  DEVICE_STATE_PRE_COPY_P2P: 7,
  DEVICE_STATE_NR: 8,
};

describe('vfio ioctl request numbers', () => {
  it.each(IOCTL_FIXTURE)('%s = _IO(";", 100 + %i) = %#x', (name, n, hex) => {
    const v = (VFIO as Record<string, number>)[name];
    expect(v).toBe(hex);
    expect(v).toBe((0x3b << 8) | (100 + n));
    expect(vfioIo(n)).toBe(hex);
    expect(ioctlType(v)).toBe(';'.charCodeAt(0));
    expect(ioctlNr(v)).toBe(100 + n);
  });

  it('matches the API contract examples', () => {
    expect(VFIO.DEVICE_GET_INFO).toBe(0x3b6b);
    expect(VFIO.DEVICE_FEATURE).toBe(0x3b75);
    expect(VFIO.MIG_GET_PRECOPY_INFO).toBe(0x3b79);
    expect(VFIO.PCI_CONFIG_REGION_INDEX).toBe(7);
  });

  it('_IO leaves direction and size bits zero', () => {
    expect(ioctlIo(0x3b, 0x6b)).toBe(0x3b6b);
    expect(ioctlIo(0x3b, 0x6b) >>> 16).toBe(0);
  });

  it('the fixture names every request number in VFIO, and VFIO has no other', () => {
    const requestNames = Object.entries(VFIO)
      .filter(([, v]) => v >= 0x3b00 && v < 0x3c00)
      .map(([k]) => k)
      .sort();
    expect(requestNames).toEqual(IOCTL_FIXTURE.map(([name]) => name).sort());
  });
});

describe('vfio constants', () => {
  it.each(Object.entries(CONSTANT_FIXTURE))('%s = %s', (name, value) => {
    expect((VFIO as Record<string, number>)[name]).toBe(value);
  });

  it('every constant in VFIO is covered by a fixture', () => {
    const covered = new Set([...Object.keys(CONSTANT_FIXTURE), ...IOCTL_FIXTURE.map(([n]) => n)]);
    expect(Object.keys(VFIO).filter((k) => !covered.has(k))).toEqual([]);
  });

  it('flags are non-negative (bit 31 written unsigned)', () => {
    for (const [k, v] of Object.entries(VFIO)) if (k !== 'PCI_DEVID_NOT_OWNED') expect(v, k).toBeGreaterThanOrEqual(0);
  });
});

// ---------------------------------------------------------------------------------------------
// Fixture: struct layouts from the header: sizeof, the kernel's minsz, and [offset, C type] of
// every field (the uapi field name in comments where it differs).
type LayoutFixture = { size: number; minsz: number; fields: Record<string, [number, FieldKind]> };
type AnyLayout = StructLayout<any>;
const LAYOUTS: [AnyLayout, LayoutFixture][] = [
  [deviceInfoLayout, { size: 24, minsz: 16, fields: { argsz: [0, 'u32'], flags: [4, 'u32'], numRegions: [8, 'u32'], numIrqs: [12, 'u32'], capOffset: [16, 'u32'], pad: [20, 'u32'] } }],
  [regionInfoLayout, { size: 32, minsz: 32, fields: { argsz: [0, 'u32'], flags: [4, 'u32'], index: [8, 'u32'], capOffset: [12, 'u32'], size: [16, 'u64'], offset: [24, 'u64'] } }],
  [infoCapHeaderLayout, { size: 8, minsz: 8, fields: { id: [0, 'u16'], version: [2, 'u16'], next: [4, 'u32'] } }],
  [sparseMmapCapLayout, { size: 16, minsz: 16, fields: { id: [0, 'u16'], version: [2, 'u16'], next: [4, 'u32'], nrAreas: [8, 'u32'], reserved: [12, 'u32'] } }],
  [sparseMmapAreaLayout, { size: 16, minsz: 16, fields: { offset: [0, 'u64'], size: [8, 'u64'] } }],
  [regionTypeCapLayout, { size: 16, minsz: 16, fields: { id: [0, 'u16'], version: [2, 'u16'], next: [4, 'u32'], type: [8, 'u32'], subtype: [12, 'u32'] } }],
  [pciAtomicCompCapLayout, { size: 16, minsz: 16, fields: { id: [0, 'u16'], version: [2, 'u16'], next: [4, 'u32'], flags: [8, 'u32'], reserved: [12, 'u32'] } }],
  [irqInfoLayout, { size: 16, minsz: 16, fields: { argsz: [0, 'u32'], flags: [4, 'u32'], index: [8, 'u32'], count: [12, 'u32'] } }],
  [irqSetLayout, { size: 20, minsz: 20, fields: { argsz: [0, 'u32'], flags: [4, 'u32'], index: [8, 'u32'], start: [12, 'u32'], count: [16, 'u32'] } }],
  // id = union { group_id; devid; }
  [pciDependentDeviceLayout, { size: 8, minsz: 8, fields: { id: [0, 'u32'], segment: [4, 'u16'], bus: [6, 'u8'], devfn: [7, 'u8'] } }],
  [pciHotResetInfoLayout, { size: 12, minsz: 12, fields: { argsz: [0, 'u32'], flags: [4, 'u32'], count: [8, 'u32'] } }],
  [pciHotResetLayout, { size: 12, minsz: 12, fields: { argsz: [0, 'u32'], flags: [4, 'u32'], count: [8, 'u32'] } }],
  [deviceIoeventfdLayout, { size: 32, minsz: 28, fields: { argsz: [0, 'u32'], flags: [4, 'u32'], offset: [8, 'u64'], data: [16, 'u64'], fd: [24, 's32'], reserved: [28, 'u32'] } }],
  [deviceFeatureLayout, { size: 8, minsz: 8, fields: { argsz: [0, 'u32'], flags: [4, 'u32'] } }],
  [featureMigrationLayout, { size: 8, minsz: 8, fields: { flags: [0, 'u64'] } }],
  [featureMigStateLayout, { size: 8, minsz: 8, fields: { deviceState: [0, 'u32'], dataFd: [4, 's32'] } }],
  [featureMigDataSizeLayout, { size: 8, minsz: 8, fields: { stopCopyLength: [0, 'u64'] } }],
  [lowPowerEntryWithWakeupLayout, { size: 8, minsz: 8, fields: { wakeupEventfd: [0, 's32'], reserved: [4, 'u32'] } }],
  // __reserved -> reserved
  [dmaLoggingControlLayout, { size: 24, minsz: 24, fields: { pageSize: [0, 'u64'], numRanges: [8, 'u32'], reserved: [12, 'u32'], ranges: [16, 'u64'] } }],
  [dmaLoggingRangeLayout, { size: 16, minsz: 16, fields: { iova: [0, 'u64'], length: [8, 'u64'] } }],
  [dmaLoggingReportLayout, { size: 32, minsz: 32, fields: { iova: [0, 'u64'], length: [8, 'u64'], pageSize: [16, 'u64'], bitmap: [24, 'u64'] } }],
  [precopyInfoLayout, { size: 24, minsz: 24, fields: { argsz: [0, 'u32'], flags: [4, 'u32'], initialBytes: [8, 'u64'], dirtyBytes: [16, 'u64'] } }],
];

const BYTES: Record<FieldKind, number> = { u8: 1, u16: 2, u32: 4, s32: 4, u64: 8 };

/** A distinctive value for field number i of a kind, with every byte differing. */
function sample(kind: FieldKind, i: number): number | bigint {
  switch (kind) {
    case 'u8':
      return 0xa0 + i;
    case 'u16':
      return 0xb1c2 + i;
    case 'u32':
      return 0xf1e2d3c4 - i;
    case 's32':
      return -0x12345678 - i;
    case 'u64':
      return 0xfedcba9876543210n - BigInt(i);
  }
}

/** The little-endian bytes of a value, computed without the code under test. */
function leBytes(kind: FieldKind, v: number | bigint): number[] {
  let x = typeof v === 'bigint' ? v : BigInt(v);
  const n = BYTES[kind];
  if (x < 0n) x += 1n << BigInt(8 * n);
  return Array.from({ length: n }, (_, k) => Number((x >> BigInt(8 * k)) & 0xffn));
}

describe('struct layouts', () => {
  it.each(LAYOUTS.map(([l, f]) => [l.name, l, f] as const))('struct %s has the uapi size, minsz and field offsets', (_n, layout, fx) => {
    expect(layout.size).toBe(fx.size);
    expect(layout.minsz).toBe(fx.minsz);
    const actual = Object.fromEntries(Object.entries(layout.fields as Record<string, { offset: number; kind: FieldKind }>).map(([k, f]) => [k, [f.offset, f.kind]]));
    expect(actual).toEqual(fx.fields);
  });

  it.each(LAYOUTS.map(([l, f]) => [l.name, l, f] as const))('struct %s round-trips with every field at its offset', (_n, layout, fx) => {
    const value: Record<string, number | bigint> = {};
    Object.entries(fx.fields).forEach(([k, [, kind]], i) => (value[k] = sample(kind, i)));
    const bytes = layout.encode(value);
    expect(bytes.length).toBe(fx.size);
    for (const [k, [off, kind]] of Object.entries(fx.fields)) {
      expect(Array.from(bytes.subarray(off, off + BYTES[kind])), `${k} bytes`).toEqual(leBytes(kind, value[k]));
    }
    expect(layout.decode(bytes)).toEqual(value);

    // In place, at an offset, without touching the neighbours.
    const big = new Uint8Array(fx.size + 16).fill(0x5a);
    layout.encode(value, big, 8);
    expect(Array.from(big.subarray(0, 8))).toEqual(new Array(8).fill(0x5a));
    expect(Array.from(big.subarray(8 + fx.size))).toEqual(new Array(8).fill(0x5a));
    expect(layout.decode(big, 8)).toEqual(value);
  });

  it.each(LAYOUTS.map(([l, f]) => [l.name, l, f] as const))('struct %s: a buffer shorter than minsz is EFAULT', (_n, layout, fx) => {
    for (let len = 0; len < fx.minsz; len++) expectVfioError(() => layout.decode(new Uint8Array(len)), 'EFAULT');
    expectVfioError(() => layout.decode(new Uint8Array(fx.minsz + 4), 5), 'EFAULT');
    expectVfioError(() => layout.decode(new Uint8Array(fx.size), -1), 'EFAULT');
    expectVfioError(() => layout.decode(null as unknown as Uint8Array), 'EFAULT');
    expectVfioError(() => layout.decode([0, 0, 0, 0] as unknown as Uint8Array), 'EFAULT');
    expect(() => layout.decode(new Uint8Array(fx.minsz))).not.toThrow();
  });

  it.each(LAYOUTS.map(([l, f]) => [l.name, l, f] as const))('struct %s: encode into a short buffer is EFAULT and writes nothing', (_n, layout, fx) => {
    const value = layout.decode(new Uint8Array(fx.size).fill(0x11));
    const buf = new Uint8Array(fx.size - 1).fill(0x77);
    expectVfioError(() => layout.encode(value, buf), 'EFAULT');
    expect(buf.every((b) => b === 0x77)).toBe(true);
  });

  it('fields past a short buffer read as 0 (device_info with an old 16-byte argsz)', () => {
    const buf = new Uint8Array(16);
    new DataView(buf.buffer).setUint32(0, 16, true);
    new DataView(buf.buffer).setUint32(8, 9, true);
    expect(decodeDeviceInfo(buf)).toEqual({ argsz: 16, flags: 0, numRegions: 9, numIrqs: 0, capOffset: 0, pad: 0 });
  });

  it('encode with a length writes only that prefix (copy_to_user of minsz bytes)', () => {
    const buf = new Uint8Array(24).fill(0xee);
    deviceInfoLayout.encode({ argsz: 24, flags: 3, numRegions: 9, numIrqs: 5, capOffset: 24, pad: 0 }, buf, 0, DEVICE_INFO_MINSZ);
    expect(Array.from(buf.subarray(16))).toEqual(new Array(8).fill(0xee));
    expect(decodeDeviceInfo(buf.subarray(0, 16)).numIrqs).toBe(5);
    expectVfioError(() => deviceInfoLayout.encode(decodeDeviceInfo(buf), buf, 0, 25), 'EINVAL');
  });

  it('golden bytes: vfio_region_info for the config region', () => {
    const bytes = encodeRegionInfo({ argsz: 32, flags: 3, index: 7, capOffset: 0, size: 0x100n, offset: 0x70000000000n });
    expect(Array.from(bytes)).toEqual([
      0x20, 0, 0, 0, 3, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x07, 0, 0,
    ]);
    expect(decodeRegionInfo(bytes).offset).toBe(7n << 40n);
  });

  it('values a field cannot hold are EINVAL', () => {
    const ok = { argsz: 16, flags: 0, index: 0, count: 0 };
    expectVfioError(() => irqInfoLayout.encode({ ...ok, count: 2 ** 32 }), 'EINVAL');
    expectVfioError(() => irqInfoLayout.encode({ ...ok, count: 1.5 }), 'EINVAL');
    expectVfioError(() => irqInfoLayout.encode({ ...ok, count: -0x80000001 }), 'EINVAL');
    expectVfioError(() => irqInfoLayout.encode({ ...ok, count: '3' as unknown as number }), 'EINVAL');
    expectVfioError(() => regionInfoLayout.encode({ argsz: 32, flags: 0, index: 0, capOffset: 0, size: 1n << 64n, offset: 0n }), 'EINVAL');
    expectVfioError(() => regionInfoLayout.encode({ argsz: 32, flags: 0, index: 0, capOffset: 0, size: -1n, offset: 0n }), 'EINVAL');
    expectVfioError(() => regionInfoLayout.encode({ argsz: 32, flags: 0, index: 0, capOffset: 0, size: 5 as unknown as bigint, offset: 0n }), 'EINVAL');
    expectVfioError(() => pciDependentDeviceLayout.encode({ id: 0, segment: 0x10000, bus: 0, devfn: 0 }), 'EINVAL');
    expectVfioError(() => pciDependentDeviceLayout.encode({ id: 0, segment: 0, bus: 256, devfn: 0 }), 'EINVAL');
    expectVfioError(() => featureMigStateLayout.encode({ deviceState: 1, dataFd: 0x80000000 }), 'EINVAL');
  });

  it('a negative int32 in a u32 field is stored as C converts it (PCI_DEVID_NOT_OWNED)', () => {
    const b = pciDependentDeviceLayout.encode({ id: VFIO.PCI_DEVID_NOT_OWNED, segment: 0, bus: 1, devfn: 0 });
    expect(Array.from(b.subarray(0, 4))).toEqual([0xff, 0xff, 0xff, 0xff]);
    expect(pciDependentDeviceLayout.decode(b).id).toBe(0xffffffff);
    expect(pciDependentDeviceLayout.decode(b).id | 0).toBe(VFIO.PCI_DEVID_NOT_OWNED);
  });

  it('s32 fields keep their sign (data_fd = -1)', () => {
    const b = encodeFeatureMigState({ deviceState: VFIO.DEVICE_STATE_RUNNING, dataFd: -1 });
    expect(Array.from(b)).toEqual([2, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
    expect(decodeFeatureMigState(b)).toEqual({ deviceState: 2, dataFd: -1 });
  });

  it('decode works on a subarray view (byteOffset respected)', () => {
    const backing = new Uint8Array(64);
    const view = backing.subarray(13, 13 + 16);
    irqInfoLayout.encode({ argsz: 16, flags: 9, index: 2, count: 2048 }, view);
    expect(irqInfoLayout.decode(backing.subarray(13))).toEqual({ argsz: 16, flags: 9, index: 2, count: 2048 });
    expect(backing[13]).toBe(16);
  });

  it('named minimum argsz constants are the kernel offsetofend values', () => {
    expect([DEVICE_INFO_MINSZ, REGION_INFO_MINSZ, IRQ_INFO_MINSZ, IRQ_SET_MINSZ]).toEqual([16, 32, 16, 20]);
    expect([PCI_HOT_RESET_INFO_MINSZ, PCI_HOT_RESET_MINSZ, DEVICE_IOEVENTFD_MINSZ, DEVICE_FEATURE_MINSZ]).toEqual([12, 12, 28, 8]);
    expect([PRECOPY_INFO_MINSZ, DMA_LOGGING_CONTROL_MINSZ, DMA_LOGGING_REPORT_MINSZ, FEATURE_MIG_STATE_MINSZ]).toEqual([24, 24, 32, 8]);
    expect(DMA_LOGGING_MAX_RANGES).toBe(256);
  });

  it('requireArgsz is the kernel argsz < minsz check (EINVAL)', () => {
    expectVfioError(() => requireArgsz(15, DEVICE_INFO_MINSZ, 'vfio_device_info'), 'EINVAL');
    expect(() => requireArgsz(16, DEVICE_INFO_MINSZ, 'vfio_device_info')).not.toThrow();
  });

  it('any bytes fed to any decoder give a value or a VfioError, never another exception', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 48 }), fc.nat(40), (bytes, at) => {
        for (const [layout] of LAYOUTS) {
          try {
            const v = layout.decode(bytes, at);
            expect(layout.decode(layout.encode(v))).toEqual(v);
          } catch (e) {
            expect(e).toBeInstanceOf(VfioError);
          }
        }
      }),
    );
  });
});

// ---------------------------------------------------------------------------------------------
describe('vfio_irq_set data', () => {
  it('element size per DATA_ type; anything else is undefined', () => {
    expect(irqSetDataElementSize(VFIO.IRQ_SET_DATA_NONE | VFIO.IRQ_SET_ACTION_TRIGGER)).toBe(0);
    expect(irqSetDataElementSize(VFIO.IRQ_SET_DATA_BOOL | VFIO.IRQ_SET_ACTION_MASK)).toBe(1);
    expect(irqSetDataElementSize(VFIO.IRQ_SET_DATA_EVENTFD | VFIO.IRQ_SET_ACTION_TRIGGER)).toBe(4);
    expect(irqSetDataElementSize(0)).toBeUndefined();
    expect(irqSetDataElementSize(VFIO.IRQ_SET_DATA_NONE | VFIO.IRQ_SET_DATA_BOOL)).toBeUndefined();
  });

  it('eventfd data round-trips at offset 20, argsz = 20 + 4 * count', () => {
    const buf = buildIrqSet({ flags: VFIO.IRQ_SET_ACTION_TRIGGER, index: VFIO.PCI_MSIX_IRQ_INDEX, start: 2 }, { kind: 'eventfd', fds: [7, -1, 9] });
    expect(buf.length).toBe(32);
    const hdr = decodeIrqSet(buf);
    expect(hdr).toEqual({ argsz: 32, flags: VFIO.IRQ_SET_DATA_EVENTFD | VFIO.IRQ_SET_ACTION_TRIGGER, index: 2, start: 2, count: 3 });
    expect(Array.from(buf.subarray(20, 32))).toEqual([7, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 9, 0, 0, 0]);
    expect(decodeIrqSetData(buf, hdr)).toEqual({ kind: 'eventfd', fds: [7, -1, 9] });
  });

  it('bool data is one byte each; none carries no data', () => {
    const b = buildIrqSet({ flags: VFIO.IRQ_SET_ACTION_MASK, index: 0, start: 1 }, { kind: 'bool', values: [1, 0, 1] });
    expect(b.length).toBe(23);
    expect(decodeIrqSetData(b, decodeIrqSet(b))).toEqual({ kind: 'bool', values: [1, 0, 1] });
    const n = buildIrqSet({ flags: VFIO.IRQ_SET_ACTION_TRIGGER, index: 1, start: 0, count: 0 });
    expect(n.length).toBe(20);
    expect(decodeIrqSet(n).flags).toBe(VFIO.IRQ_SET_DATA_NONE | VFIO.IRQ_SET_ACTION_TRIGGER);
    expect(decodeIrqSetData(n, { flags: decodeIrqSet(n).flags, count: 5 })).toEqual({ kind: 'none' });
  });

  it('data running past the buffer is EFAULT; a bad data type is EINVAL', () => {
    const buf = buildIrqSet({ flags: VFIO.IRQ_SET_ACTION_TRIGGER, index: 2, start: 0 }, { kind: 'eventfd', fds: [3, 4] });
    expectVfioError(() => decodeIrqSetData(buf, { flags: VFIO.IRQ_SET_DATA_EVENTFD, count: 3 }), 'EFAULT');
    expectVfioError(() => decodeIrqSetData(buf.subarray(0, 27), { flags: VFIO.IRQ_SET_DATA_EVENTFD, count: 2 }), 'EFAULT');
    expectVfioError(() => decodeIrqSetData(buf, { flags: VFIO.IRQ_SET_DATA_BOOL | VFIO.IRQ_SET_DATA_EVENTFD, count: 1 }), 'EINVAL');
    expectVfioError(() => decodeIrqSetData(buf, { flags: VFIO.IRQ_SET_DATA_EVENTFD, count: 0xffffffff }), 'EFAULT');
  });
});

describe('PCI hot reset', () => {
  it('dependent devices follow the 12-byte info header', () => {
    const devs = [
      { id: 5, segment: 0, bus: 1, devfn: (2 << 3) | 1 },
      { id: 0xffffffff, segment: 0x1234, bus: 0xff, devfn: 0xff },
    ];
    const buf = new Uint8Array(pciHotResetInfoArgsz(devs.length));
    expect(buf.length).toBe(28);
    pciHotResetInfoLayout.encode({ argsz: 28, flags: VFIO.PCI_HOT_RESET_FLAG_DEV_ID, count: 2 }, buf);
    encodePciDependentDevices(buf, devs);
    expect(Array.from(buf.subarray(12, 20))).toEqual([5, 0, 0, 0, 0, 0, 1, 0x11]);
    expect(decodePciDependentDevices(buf, 2)).toEqual(devs);
    expectVfioError(() => decodePciDependentDevices(buf, 3), 'EFAULT');
    const small = new Uint8Array(20).fill(0x42);
    expectVfioError(() => encodePciDependentDevices(small, devs), 'EFAULT');
    expect(small.every((b) => b === 0x42)).toBe(true);
  });

  it('group fds follow the 12-byte hot reset header', () => {
    const buf = buildPciHotReset([3, 4, 5]);
    expect(pciHotResetLayout.decode(buf)).toEqual({ argsz: 24, flags: 0, count: 3 });
    expect(decodePciHotResetGroupFds(buf, 3)).toEqual([3, 4, 5]);
    expectVfioError(() => decodePciHotResetGroupFds(buf, 4), 'EFAULT');
  });
});

describe('vfio_device_feature', () => {
  it('header, feature number and payload view', () => {
    const payload = encodeFeatureMigState({ deviceState: VFIO.DEVICE_STATE_STOP, dataFd: -1 });
    const arg = buildDeviceFeature(VFIO.DEVICE_FEATURE_SET | VFIO.DEVICE_FEATURE_MIG_DEVICE_STATE, payload);
    const hdr = decodeDeviceFeature(arg);
    expect(hdr).toEqual({ argsz: 16, flags: 0x20002 });
    expect(deviceFeatureNumber(hdr.flags)).toBe(VFIO.DEVICE_FEATURE_MIG_DEVICE_STATE);
    const data = deviceFeatureData(arg);
    expect(decodeFeatureMigState(data)).toEqual({ deviceState: 1, dataFd: -1 });
    // The payload is a view: a write-back lands in the caller's arg.
    encodeFeatureMigState({ deviceState: 3, dataFd: 42 }, data);
    expect(decodeFeatureMigState(arg, 8)).toEqual({ deviceState: 3, dataFd: 42 });
    expect(buildDeviceFeature(VFIO.DEVICE_FEATURE_GET | VFIO.DEVICE_FEATURE_MIGRATION, 8).length).toBe(16);
    expectVfioError(() => deviceFeatureData(new Uint8Array(7)), 'EFAULT');
  });
});

describe('DMA logging pointers (byte offsets into the arg)', () => {
  const ranges = [
    { iova: 0x100000n, length: 0x4000n },
    { iova: 0x1_0000_0000n, length: 0x1000n },
  ];

  it('START: ranges follow the control struct and `ranges` holds their arg offset', () => {
    const arg = buildDmaLoggingStart(4096n, ranges);
    expect(arg.length).toBe(8 + 24 + 32);
    expect(decodeDeviceFeature(arg)).toEqual({ argsz: 32, flags: VFIO.DEVICE_FEATURE_SET | 6 });
    const control = decodeDmaLoggingControl(arg, 8);
    expect(control).toEqual({ pageSize: 4096n, numRanges: 2, reserved: 0, ranges: 32n });
    expect(readDmaLoggingRanges(arg, control)).toEqual(ranges);
    expect(readDmaLoggingRange(arg, control, 1)).toEqual(ranges[1]);
    // iova of range 1 sits at arg offset 32 + 16.
    expect(new DataView(arg.buffer).getBigUint64(48, true)).toBe(0x1_0000_0000n);
  });

  it('a pointer that is NULL or reaches outside the arg is EFAULT', () => {
    const arg = buildDmaLoggingStart(4096n, ranges);
    const control = decodeDmaLoggingControl(arg, 8);
    expectVfioError(() => readDmaLoggingRanges(arg, { ...control, numRanges: 3 }), 'EFAULT');
    expectVfioError(() => readDmaLoggingRange(arg, control, 2), 'EFAULT');
    expectVfioError(() => readDmaLoggingRanges(arg, { ...control, ranges: 0n }), 'EFAULT');
    expectVfioError(() => readDmaLoggingRanges(arg, { ...control, ranges: (1n << 64n) - 16n }), 'EFAULT');
    encodeDmaLoggingControl({ ...control, ranges: 40n }, arg, 8);
    expectVfioError(() => readDmaLoggingRanges(arg, decodeDmaLoggingControl(arg, 8)), 'EFAULT');
  });

  it('REPORT: the bitmap follows the report struct and is a writable view', () => {
    const arg = buildDmaLoggingReport(0x200000n, 4096n * 65n, 4096n);
    const report = decodeDmaLoggingReport(arg, 8);
    expect(report).toEqual({ iova: 0x200000n, length: 4096n * 65n, pageSize: 4096n, bitmap: 40n });
    expect(decodeDeviceFeature(arg)).toEqual({ argsz: 40, flags: VFIO.DEVICE_FEATURE_GET | 8 });
    const bitmap = dmaLoggingBitmapView(arg, report);
    expect(bitmap.length).toBe(16);
    bitmap[8] = 1; // page 64
    expect(new DataView(arg.buffer).getBigUint64(48, true)).toBe(1n);
    expectVfioError(() => dmaLoggingBitmapView(arg.subarray(0, 55), report), 'EFAULT');
    expectVfioError(() => dmaLoggingBitmapView(arg, { ...report, bitmap: 0n }), 'EFAULT');
  });

  it('bitmap size: whole u64 words, one bit per page', () => {
    expect(dmaLoggingBitmapBytes(1n, 4096n)).toBe(8n);
    expect(dmaLoggingBitmapBytes(4096n * 64n, 4096n)).toBe(8n);
    expect(dmaLoggingBitmapBytes(4096n * 64n + 1n, 4096n)).toBe(16n);
    expect(dmaLoggingBitmapBytes(1n << 30n, 4096n)).toBe(32768n);
    expect(dmaLoggingBitmapBytes(0n, 4096n)).toBe(0n);
  });
});

describe('capability chains', () => {
  const areas = [
    { offset: 0n, size: 0x2000n },
    { offset: 0x3000n, size: 0x1000n },
  ];

  it('lays out caps like vfio_info_cap_add + vfio_info_cap_shift', () => {
    const chain = encodeInfoCapChain([sparseMmapCap(areas), regionTypeCap(VFIO.REGION_TYPE_PCI_VENDOR_TYPE | 0x8086, 1), msixMappableCap()], 32);
    expect(chain.length).toBe(48 + 16 + 8);
    // sparse: id 1, version 1, next = 32 + 48, nr_areas 2
    expect(Array.from(chain.subarray(0, 16))).toEqual([1, 0, 1, 0, 80, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0]);
    // type: id 2, version 1, next = 32 + 64, type 0x80008086, subtype 1
    expect(Array.from(chain.subarray(48, 64))).toEqual([2, 0, 1, 0, 96, 0, 0, 0, 0x86, 0x80, 0, 0x80, 1, 0, 0, 0]);
    // msix mappable: id 3, version 1, last (next 0)
    expect(Array.from(chain.subarray(64, 72))).toEqual([3, 0, 1, 0, 0, 0, 0, 0]);
  });

  it('walks a chain written after a region info and decodes each cap', () => {
    const caps = [sparseMmapCap(areas), regionTypeCap(VFIO.REGION_TYPE_GFX, VFIO.REGION_SUBTYPE_GFX_EDID), msixMappableCap()];
    const placed = placeInfoCapChain(200, 32, caps);
    expect(placed).toMatchObject({ fits: true, argsz: 200, capOffset: 32 });
    const buf = new Uint8Array(200);
    encodeRegionInfo({ argsz: 200, flags: VFIO.REGION_INFO_FLAG_CAPS, index: 0, capOffset: placed.capOffset, size: 0x4000n, offset: 0n }, buf);
    buf.set(placed.chain, 32);
    const found = decodeInfoCapChain(buf, decodeRegionInfo(buf).capOffset);
    expect(found.map((c) => [c.id, c.version, c.at])).toEqual([
      [1, 1, 32],
      [2, 1, 80],
      [3, 1, 96],
    ]);
    expect(decodeSparseMmapCap(buf, 32)).toMatchObject({ nrAreas: 2, areas });
    expect(decodeRegionTypeCap(buf, 80)).toMatchObject({ type: 1, subtype: 1 });
    expect(findInfoCap(buf, 32, VFIO.REGION_INFO_CAP_MSIX_MAPPABLE)?.at).toBe(96);
    expect(findInfoCap(buf, 32, 9)).toBeUndefined();
    expect(decodeInfoCapChain(buf, 0)).toEqual([]);
  });

  it('too small an argsz: no chain, cap_offset 0, argsz raised to what is needed', () => {
    expect(placeInfoCapChain(32, 32, [msixMappableCap()])).toMatchObject({ fits: false, argsz: 40, capOffset: 0 });
    expect(placeInfoCapChain(32, 32, [])).toMatchObject({ fits: true, argsz: 32, capOffset: 0 });
  });

  it('pads each cap to 8 bytes and refuses an unaligned base', () => {
    const odd = { id: 7, version: 2, body: new Uint8Array([1, 2, 3]) };
    const chain = encodeInfoCapChain([odd, msixMappableCap()], 24);
    expect(chain.length).toBe(16 + 8);
    expect(infoCapHeaderLayout.decode(chain)).toEqual({ id: 7, version: 2, next: 24 + 16 });
    expect(Array.from(chain.subarray(8, 16))).toEqual([1, 2, 3, 0, 0, 0, 0, 0]);
    expectVfioError(() => encodeInfoCapChain([odd], 20), 'EINVAL');
  });

  it('device info atomic-comp cap', () => {
    const chain = encodeInfoCapChain([pciAtomicCompCap(VFIO.PCI_ATOMIC_COMP32 | VFIO.PCI_ATOMIC_COMP64)], 24);
    const buf = new Uint8Array(24 + chain.length);
    buf.set(chain, 24);
    expect(decodePciAtomicCompCap(buf, 24)).toEqual({ id: 5, version: 1, next: 0, flags: 3, reserved: 0 });
  });

  it('a looping or truncated chain is an error, not a hang', () => {
    const buf = new Uint8Array(48);
    infoCapHeaderLayout.encode({ id: 1, version: 1, next: 40 }, buf, 32);
    infoCapHeaderLayout.encode({ id: 2, version: 1, next: 32 }, buf, 40);
    expectVfioError(() => decodeInfoCapChain(buf, 32), 'EINVAL');
    infoCapHeaderLayout.encode({ id: 2, version: 1, next: 44 }, buf, 40);
    expectVfioError(() => decodeInfoCapChain(buf, 32), 'EFAULT');
    const sparse = encodeInfoCapChain([sparseMmapCap(areas)], 0);
    expectVfioError(() => decodeSparseMmapCap(sparse.subarray(0, 40), 0), 'EFAULT');
  });
});
