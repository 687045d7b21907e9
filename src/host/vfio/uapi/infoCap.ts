// The capability chain of the GET_INFO ioctls (struct vfio_info_cap_header and the region
// capabilities vfio-pci reports: sparse mmap, device specific type, MSI-X mappable; plus the
// device-info PCIe AtomicOp completer capability).
//
// A chain sits in the same buffer as the info struct, after it. Each capability starts with
// {id u16, version u16, next u32}; `next` is the offset of the following capability from the
// START OF THE INFO STRUCT (0 ends the chain), and the struct's cap_offset names the first one.
// The kernel pads each capability to a multiple of 8 bytes so the next one stays u64-aligned.

import { VFIO } from './constants.js';
import { decodeArray, defineStruct, encodeArray, requireBytes } from './structLayout.js';
import { uapiFault, uapiInvalid } from './uapiError.js';

/** The fields of struct vfio_info_cap_header (include/uapi/linux/vfio.h), in camelCase. */
export interface InfoCapHeader {
  /** Capability id, scoped to the ioctl (REGION_INFO_CAP_*, DEVICE_INFO_CAP_*). */
  id: number;
  /** Version of that capability's layout. */
  version: number;
  /** Offset of the next capability from the start of the info struct; 0 ends the chain. */
  next: number;
}

/** sizeof(struct vfio_info_cap_header): id u16, version u16, next u32. */
export const INFO_CAP_HEADER_SIZEOF = 8;

/** Layout of struct vfio_info_cap_header: offset and C type of each field, sizeof and minsz. */
export const infoCapHeaderLayout = defineStruct<InfoCapHeader>('vfio_info_cap_header', INFO_CAP_HEADER_SIZEOF, {
  id: { offset: 0, kind: 'u16' },
  version: { offset: 2, kind: 'u16' },
  next: { offset: 4, kind: 'u32' },
});

/** A capability to put in a chain: id, version, and the bytes that follow its header. */
export interface InfoCap {
  /** Capability ID, scoped to the ioctl (REGION_INFO_CAP_*, DEVICE_INFO_CAP_*). */
  id: number;
  /** Capability version. */
  version: number;
  /** The capability's bytes after its 8-byte header. */
  body: Uint8Array;
}

/** A capability found while walking a chain. */
export interface FoundInfoCap extends InfoCapHeader {
  /** Where its header starts in the walked buffer. */
  at: number;
}

// ---- sparse mmap (REGION_INFO_CAP_SPARSE_MMAP, version 1) ----

/** Version of the sparse mmap capability this code writes (1). */
export const SPARSE_MMAP_CAP_VERSION = 1;

/** The fields of struct vfio_region_sparse_mmap_area (include/uapi/linux/vfio.h), in camelCase. */
export interface SparseMmapArea {
  /** Offset of the mmap-able area within the region. */
  offset: bigint;
  /** Size in bytes of the mmap-able area. */
  size: bigint;
}

/** sizeof(struct vfio_region_sparse_mmap_area). */
export const SPARSE_MMAP_AREA_SIZEOF = 16;

/** Layout of struct vfio_region_sparse_mmap_area: offset and C type of each field, sizeof and minsz. */
export const sparseMmapAreaLayout = defineStruct<SparseMmapArea>('vfio_region_sparse_mmap_area', SPARSE_MMAP_AREA_SIZEOF, {
  offset: { offset: 0, kind: 'u64' },
  size: { offset: 8, kind: 'u64' },
});

/** The fixed part of struct vfio_region_info_cap_sparse_mmap (include/uapi/linux/vfio.h), without areas[]. */
export interface SparseMmapCapFixed extends InfoCapHeader {
  /** Number of areas[] that follow (nr_areas). */
  nrAreas: number;
  /** Reserved; 0. */
  reserved: number;
}

/** sizeof(struct vfio_region_info_cap_sparse_mmap) without its areas[]. */
export const SPARSE_MMAP_CAP_SIZEOF = 16;

/** Layout of struct vfio_region_info_cap_sparse_mmap: offset and C type of each field, sizeof and minsz. */
export const sparseMmapCapLayout = defineStruct<SparseMmapCapFixed>('vfio_region_info_cap_sparse_mmap', SPARSE_MMAP_CAP_SIZEOF, {
  id: { offset: 0, kind: 'u16' },
  version: { offset: 2, kind: 'u16' },
  next: { offset: 4, kind: 'u32' },
  nrAreas: { offset: 8, kind: 'u32' },
  reserved: { offset: 12, kind: 'u32' },
});

// ---- device specific region type (REGION_INFO_CAP_TYPE, version 1) ----

/** Version of the region type capability this code writes (1). */
export const REGION_TYPE_CAP_VERSION = 1;

/** The fields of struct vfio_region_info_cap_type (include/uapi/linux/vfio.h), in camelCase. */
export interface RegionTypeCap extends InfoCapHeader {
  /** VFIO.REGION_TYPE_*. */
  type: number;
  /** VFIO.REGION_SUBTYPE_*, meaning scoped by type. */
  subtype: number;
}

/** sizeof(struct vfio_region_info_cap_type). */
export const REGION_TYPE_CAP_SIZEOF = 16;

/** Layout of struct vfio_region_info_cap_type: offset and C type of each field, sizeof and minsz. */
export const regionTypeCapLayout = defineStruct<RegionTypeCap>('vfio_region_info_cap_type', REGION_TYPE_CAP_SIZEOF, {
  id: { offset: 0, kind: 'u16' },
  version: { offset: 2, kind: 'u16' },
  next: { offset: 4, kind: 'u32' },
  type: { offset: 8, kind: 'u32' },
  subtype: { offset: 12, kind: 'u32' },
});

// ---- MSI-X mappable (REGION_INFO_CAP_MSIX_MAPPABLE, version 1): a bare header ----

/** Version of the MSI-X mappable capability this code writes (1). */
export const MSIX_MAPPABLE_CAP_VERSION = 1;
/** Size of the MSI-X mappable capability: a bare header, it has no body. */
export const MSIX_MAPPABLE_CAP_SIZEOF = INFO_CAP_HEADER_SIZEOF;

// ---- PCIe AtomicOp completer (DEVICE_INFO_CAP_PCI_ATOMIC_COMP, version 1) ----

/** Version of the PCI atomic completer capability this code writes (1). */
export const PCI_ATOMIC_COMP_CAP_VERSION = 1;

/** The fields of struct vfio_device_info_cap_pci_atomic_comp (include/uapi/linux/vfio.h), in camelCase. */
export interface PciAtomicCompCap extends InfoCapHeader {
  /** VFIO.PCI_ATOMIC_COMP{32,64,128}. */
  flags: number;
  /** Reserved; 0. */
  reserved: number;
}

/** sizeof(struct vfio_device_info_cap_pci_atomic_comp). */
export const PCI_ATOMIC_COMP_CAP_SIZEOF = 16;

/** Layout of struct vfio_device_info_cap_pci_atomic_comp: offset and C type of each field, sizeof and minsz. */
export const pciAtomicCompCapLayout = defineStruct<PciAtomicCompCap>('vfio_device_info_cap_pci_atomic_comp', PCI_ATOMIC_COMP_CAP_SIZEOF, {
  id: { offset: 0, kind: 'u16' },
  version: { offset: 2, kind: 'u16' },
  next: { offset: 4, kind: 'u32' },
  flags: { offset: 8, kind: 'u32' },
  reserved: { offset: 12, kind: 'u32' },
});

// ---- building capabilities ----

/** The bytes after the header of `layout` encoded from `value` (header fields ignored). */
function bodyOf<T extends InfoCapHeader>(layout: { size: number; encode(v: T): Uint8Array }, value: T): Uint8Array {
  return layout.encode(value).slice(INFO_CAP_HEADER_SIZEOF);
}

/** A REGION_INFO_CAP_SPARSE_MMAP capability listing the mmap-able `areas` of a region. */
export function sparseMmapCap(areas: readonly SparseMmapArea[]): InfoCap {
  const fixed = bodyOf(sparseMmapCapLayout, { id: 0, version: 0, next: 0, nrAreas: areas.length, reserved: 0 });
  const body = new Uint8Array(fixed.length + areas.length * SPARSE_MMAP_AREA_SIZEOF);
  body.set(fixed);
  encodeArray(sparseMmapAreaLayout, areas, body, fixed.length);
  return { id: VFIO.REGION_INFO_CAP_SPARSE_MMAP, version: SPARSE_MMAP_CAP_VERSION, body };
}

/** A REGION_INFO_CAP_TYPE capability giving a region's type and subtype. */
export function regionTypeCap(type: number, subtype: number): InfoCap {
  return {
    id: VFIO.REGION_INFO_CAP_TYPE,
    version: REGION_TYPE_CAP_VERSION,
    body: bodyOf(regionTypeCapLayout, { id: 0, version: 0, next: 0, type, subtype }),
  };
}

/** A REGION_INFO_CAP_MSIX_MAPPABLE capability: the BAR's MSI-X table may be mmapped. */
export function msixMappableCap(): InfoCap {
  return { id: VFIO.REGION_INFO_CAP_MSIX_MAPPABLE, version: MSIX_MAPPABLE_CAP_VERSION, body: new Uint8Array(0) };
}

/** A DEVICE_INFO_CAP_PCI_ATOMIC_COMP capability with VFIO.PCI_ATOMIC_COMP* `flags`. */
export function pciAtomicCompCap(flags: number): InfoCap {
  return {
    id: VFIO.DEVICE_INFO_CAP_PCI_ATOMIC_COMP,
    version: PCI_ATOMIC_COMP_CAP_VERSION,
    body: bodyOf(pciAtomicCompCapLayout, { id: 0, version: 0, next: 0, flags, reserved: 0 }),
  };
}

/** Round up to the next multiple of 8. */
function align8(n: number): number {
  return (n + 7) & ~7;
}

/**
 * The chain's bytes, laid out as the kernel's vfio_info_cap_add (each capability zero-padded to
 * 8 bytes, appended in order) followed by vfio_info_cap_shift(base): `next` offsets count from
 * the info struct, whose chain starts `base` bytes in (its sizeof; must be 8-aligned).
 */
export function encodeInfoCapChain(caps: readonly InfoCap[], base: number): Uint8Array {
  if (!Number.isSafeInteger(base) || base < 0 || base % 8 !== 0) throw uapiInvalid(`capability chain: base ${base} is not 8-byte aligned`);
  const sizes = caps.map((c) => align8(INFO_CAP_HEADER_SIZEOF + c.body.length));
  const out = new Uint8Array(sizes.reduce((a, b) => a + b, 0));
  let at = 0;
  caps.forEach((cap, i) => {
    const next = i + 1 < caps.length ? base + at + sizes[i] : 0;
    infoCapHeaderLayout.encode({ id: cap.id, version: cap.version, next }, out, at);
    out.set(cap.body, at + INFO_CAP_HEADER_SIZEOF);
    at += sizes[i];
  });
  return out;
}

/**
 * Where an info struct's capabilities go, decided as the kernel's GET_INFO handlers do: if
 * argsz has room for struct + chain, the chain is written right after the struct and cap_offset
 * = infoSize; otherwise nothing is written, cap_offset stays 0 and argsz is raised to the size
 * needed. Either way the caller sets the CAPS flag when `caps` is non-empty.
 */
export function placeInfoCapChain(
  argsz: number,
  infoSize: number,
  caps: readonly InfoCap[],
): {
  /** True if the chain fits in argsz and is to be written after the struct. */
  fits: boolean;
  /** The argsz to report back: unchanged if it fits, else the size needed. */
  argsz: number;
  /** cap_offset to report: infoSize if it fits, else 0. */
  capOffset: number;
  /** The encoded chain, offsets counted from the start of the info struct. */
  chain: Uint8Array;
} {
  if (caps.length === 0) return { fits: true, argsz, capOffset: 0, chain: new Uint8Array(0) };
  const chain = encodeInfoCapChain(caps, infoSize);
  const needed = infoSize + chain.length;
  if (argsz < needed) return { fits: false, argsz: needed, capOffset: 0, chain };
  return { fits: true, argsz, capOffset: infoSize, chain };
}

/**
 * Walk the chain starting at `capOffset` in `buf` (the info buffer, offsets counted from its
 * start). Stops at next = 0. EFAULT if a header reaches outside `buf`; EINVAL if a `next` leads
 * back to a capability already visited (a loop).
 */
export function decodeInfoCapChain(buf: Uint8Array, capOffset: number): FoundInfoCap[] {
  requireBytes(buf, 0, 0, 'capability chain');
  const found: FoundInfoCap[] = [];
  const seen = new Set<number>();
  let at = capOffset;
  while (at !== 0) {
    if (seen.has(at)) throw uapiInvalid(`capability chain: loops back to offset ${at}`);
    seen.add(at);
    if (at + INFO_CAP_HEADER_SIZEOF > buf.length) {
      throw uapiFault(`capability chain: header at ${at} lies outside the ${buf.length}-byte buffer`);
    }
    const hdr = infoCapHeaderLayout.decode(buf, at);
    found.push({ ...hdr, at });
    at = hdr.next;
  }
  return found;
}

/** The first capability with `id` in the chain, or undefined. */
export function findInfoCap(buf: Uint8Array, capOffset: number, id: number): FoundInfoCap | undefined {
  return decodeInfoCapChain(buf, capOffset).find((c) => c.id === id);
}

/** The sparse mmap capability whose header is at `at`, with its areas; EFAULT if truncated. */
export function decodeSparseMmapCap(
  buf: Uint8Array,
  at: number,
): SparseMmapCapFixed & {
  /** The nr_areas areas that follow the fixed part. */
  areas: SparseMmapArea[];
} {
  const fixed = sparseMmapCapLayout.decode(buf, at);
  return { ...fixed, areas: decodeArray(sparseMmapAreaLayout, buf, at + SPARSE_MMAP_CAP_SIZEOF, fixed.nrAreas) };
}

/** The region type capability whose header is at `at`; EFAULT if truncated. */
export function decodeRegionTypeCap(buf: Uint8Array, at: number): RegionTypeCap {
  return regionTypeCapLayout.decode(buf, at);
}

/** The AtomicOp completer capability whose header is at `at`; EFAULT if truncated. */
export function decodePciAtomicCompCap(buf: Uint8Array, at: number): PciAtomicCompCap {
  return pciAtomicCompCapLayout.decode(buf, at);
}
