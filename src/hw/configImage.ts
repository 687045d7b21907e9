// Reads a real device's config image: the header fields, the BARs (kinds from the image's own BAR
// bits, sizes from the caller, checked against each other), and both capability chains, walked the
// way Linux walks them but with loops and stray pointers reported instead of silently cut off.
import { parseConfigImage } from './configImageParse.js';
import {
  PCI_CAP_ID_EXP, PCI_CAP_ID_MSI, PCI_CAP_ID_MSIX, PCI_CAP_ID_PM, PCI_CAP_ID_VNDR, PCI_CAP_MSIX_SIZEOF, PCI_CAPABILITY_LIST,
  PCI_EXT_CAP_ID_ERR, PCI_HEADER_TYPE, PCI_MSI_FLAGS_64BIT, PCI_MSI_FLAGS_MASKBIT, PCI_PM_SIZEOF, PCI_ROM_ADDRESS, PCI_STATUS,
  PCI_STATUS_CAP_LIST,
} from './pciRegs.js';
import type { BarSpec, ConfigImageSpec } from './spec.js';
import { hex, isPowerOfTwo } from './spec.js';

/** Linux's sizes of a PCI Express capability (pci_regs.h): v1 endpoints end at Link Status, v2 after Link Control 2. */
export const PCI_CAP_EXP_ENDPOINT_SIZEOF_V1 = 0x14;
export const PCI_CAP_EXP_ENDPOINT_SIZEOF_V2 = 0x34;
/** AER as an endpoint has it (pci_ext_cap_length: up to the Root Error Command register). */
export const AER_ENDPOINT_SIZEOF = 0x2c;

export type ImageCapKind = 'pm' | 'msi' | 'msix' | 'pcie' | 'vendor' | 'other';

export interface ImageCap {
  kind: ImageCapKind;
  id: number;
  offset: number;
  /** bytes the capability spans (2 for one this code does not know: only its header is certain) */
  length: number;
}

export interface ImageExtCap {
  kind: 'aer' | 'other';
  id: number;
  version: number;
  offset: number;
  length: number;
}

export interface ImageLayout {
  image: Uint8Array;
  vendorId: number;
  deviceId: number;
  classCode: number;
  revision: number;
  subsystemVendorId: number;
  subsystemId: number;
  interruptPin: 0 | 1 | 2 | 3 | 4;
  bars: (BarSpec | null)[];
  romSize?: number;
  caps: ImageCap[];
  extCaps: ImageExtCap[];
}

const u16 = (b: Uint8Array, o: number) => b[o] | (b[o + 1] << 8);
const u32 = (b: Uint8Array, o: number) => (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;

/** Length of an MSI capability from its Message Control (10, 14, 20 or 24 bytes). */
export function msiLength(flags: number): number {
  const is64 = (flags & PCI_MSI_FLAGS_64BIT) !== 0;
  const mask = (flags & PCI_MSI_FLAGS_MASKBIT) !== 0;
  return is64 ? (mask ? 0x18 : 0x0e) : mask ? 0x14 : 0x0a;
}

function sizeOf(spec: ConfigImageSpec, i: number): number | null {
  const s = spec.barSizes[i];
  if (s === null || s === undefined) return null;
  if (typeof s !== 'number' || !isPowerOfTwo(s)) throw new Error(`barSizes[${i}] must be a power of two or null, got ${String(s)}`);
  return s;
}

/** BAR kinds from the image's bits, sizes from barSizes; an address bit below the size would be hard-wired 0. */
function decodeBars(img: Uint8Array, spec: ConfigImageSpec): (BarSpec | null)[] {
  if (!Array.isArray(spec.barSizes) || spec.barSizes.length > 6) {
    throw new Error('barSizes must be an array of at most 6 entries (BAR0-BAR5), null for an unimplemented BAR');
  }
  const bars: (BarSpec | null)[] = [null, null, null, null, null, null];
  for (let i = 0; i < 6; i++) {
    const reg = u32(img, 0x10 + 4 * i);
    const size = sizeOf(spec, i);
    const f = `barSizes[${i}]`;
    if (size === null) {
      if (reg !== 0) throw new Error(`${f} is null but BAR${i} in the image reads ${hex(reg, 8)}, an implemented BAR: give its size`);
      continue;
    }
    let bar: BarSpec;
    if (reg & 1) {
      if (size < 4 || size > 256) throw new Error(`${f}: BAR${i} is an I/O BAR in the image, whose size is 4..256 bytes, got ${size}`);
      bar = { kind: 'io', size };
      if ((reg & ~3 & (size - 1)) !== 0) throw new Error(`${f} (${size}) does not fit BAR${i} ${hex(reg, 8)} in the image: its address has bits below the size set`);
    } else {
      const type = (reg >>> 1) & 3;
      if (type === 1 || type === 3) throw new Error(`BAR${i} in the image (${hex(reg, 8)}) has the reserved memory type ${type}`);
      const prefetchable = (reg & 8) !== 0;
      if (size < 16) throw new Error(`${f}: a memory BAR is at least 16 bytes, got ${size}`);
      if (type === 2) {
        if (i === 5) throw new Error(`BAR5 in the image (${hex(reg, 8)}) is a 64-bit BAR, which needs a next register`);
        if (sizeOf(spec, i + 1) !== null) throw new Error(`barSizes[${i + 1}] must be null: BAR${i} is a 64-bit BAR in the image and BAR${i + 1} is its upper half`);
        if (size > 2 ** 52) throw new Error(`${f} must be at most 2^52 bytes, got ${size}`);
        const hi = u32(img, 0x14 + 4 * i);
        const low = size >= 2 ** 32 ? reg & ~0xf : reg & ~0xf & (size - 1);
        const high = size > 2 ** 32 ? hi % (size / 2 ** 32) : 0;
        if (low !== 0 || high !== 0) {
          throw new Error(`${f} (${size}) does not fit BAR${i} ${hex(hi, 8)}_${hex(reg, 8).slice(2)} in the image: its address has bits below the size set`);
        }
        bar = { kind: 'mem64', size, prefetchable };
        bars[i] = bar;
        i++; // the upper half
        continue;
      }
      if (size > 2 ** 31) throw new Error(`${f}: BAR${i} is a 32-bit BAR in the image, at most 2 GiB, got ${size}`);
      if ((reg & ~0xf & (size - 1)) !== 0) throw new Error(`${f} (${size}) does not fit BAR${i} ${hex(reg, 8)} in the image: its address has bits below the size set`);
      bar = { kind: 'mem32', size, prefetchable };
    }
    bars[i] = bar;
  }
  return bars;
}

function decodeRom(img: Uint8Array, romSize: unknown): number | undefined {
  const reg = u32(img, PCI_ROM_ADDRESS);
  if (romSize === undefined || romSize === null) {
    if (reg !== 0) throw new Error(`romSize is missing but the image's expansion ROM BAR reads ${hex(reg, 8)}: give the ROM size`);
    return undefined;
  }
  if (typeof romSize !== 'number' || !isPowerOfTwo(romSize) || romSize < 2048 || romSize > 2 ** 31) {
    throw new Error(`romSize must be a power of two from 2 KiB to 2 GiB, got ${String(romSize)}`);
  }
  if ((reg & 0xfffff800 & (romSize - 1)) !== 0) throw new Error(`romSize (${romSize}) does not fit the image's ROM BAR ${hex(reg, 8)}: its address has bits below the size set`);
  return romSize;
}

/** The standard capability list, from 0x34 (only when Status says there is one). */
function walkCaps(img: Uint8Array): ImageCap[] {
  const caps: ImageCap[] = [];
  if ((u16(img, PCI_STATUS) & PCI_STATUS_CAP_LIST) === 0) return caps;
  const seen = new Set<number>();
  let from = PCI_CAPABILITY_LIST;
  let pos = img[PCI_CAPABILITY_LIST] & 0xfc;
  while (pos !== 0) {
    const at = `the capability pointer at ${hex(from, 2)}`;
    if (pos < 0x40) throw new Error(`configImage: ${at} points to ${hex(pos, 2)}, inside the header (capabilities start at 0x40)`);
    if (seen.has(pos)) throw new Error(`configImage: ${at} points back to ${hex(pos, 2)}: the capability list loops`);
    seen.add(pos);
    const id = img[pos];
    let kind: ImageCapKind = 'other';
    let length = 2;
    switch (id) {
      case PCI_CAP_ID_PM: kind = 'pm'; length = PCI_PM_SIZEOF; break;
      case PCI_CAP_ID_MSI: kind = 'msi'; length = msiLength(u16(img, pos + 2)); break;
      case PCI_CAP_ID_MSIX: kind = 'msix'; length = PCI_CAP_MSIX_SIZEOF; break;
      case PCI_CAP_ID_EXP: {
        kind = 'pcie';
        const version = u16(img, pos + 2) & 0xf;
        if (version !== 1 && version !== 2) throw new Error(`configImage: the PCI Express capability at ${hex(pos, 2)} has version ${version}; 1 and 2 exist`);
        length = version === 1 ? PCI_CAP_EXP_ENDPOINT_SIZEOF_V1 : PCI_CAP_EXP_ENDPOINT_SIZEOF_V2;
        break;
      }
      case PCI_CAP_ID_VNDR:
        kind = 'vendor';
        length = img[pos + 2];
        if (length < 3) throw new Error(`configImage: the vendor-specific capability at ${hex(pos, 2)} gives its length as ${length}; it is at least 3 (ID, next, length)`);
        break;
      case 0xff:
        throw new Error(`configImage: the capability at ${hex(pos, 2)} has ID 0xff (a failed read, not a capability)`);
    }
    if (pos + length > 0x100) throw new Error(`configImage: the capability ${hex(id, 2)} at ${hex(pos, 2)} (${length} bytes) runs past the 256-byte header space`);
    if (kind !== 'other' && kind !== 'vendor' && caps.some((c) => c.kind === kind)) {
      throw new Error(`configImage: a second ${kind} capability at ${hex(pos, 2)}; a function has one`);
    }
    caps.push({ kind, id, offset: pos, length });
    from = pos + 1;
    pos = img[pos + 1] & 0xfc;
  }
  const sorted = [...caps].sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1];
    const b = sorted[i];
    if (a.offset + a.length > b.offset) {
      throw new Error(`configImage: the capability ${hex(a.id, 2)} at ${hex(a.offset, 2)} (${a.length} bytes) overlaps the one at ${hex(b.offset, 2)}`);
    }
  }
  return caps;
}

/** The extended capability list from 0x100 (PCI Express functions with a 4096-byte image only). */
function walkExtCaps(img: Uint8Array): ImageExtCap[] {
  const out: ImageExtCap[] = [];
  let pos = 0x100;
  let header = u32(img, pos);
  if (header === 0 || header === 0xffffffff) return out;
  const seen = new Set<number>();
  for (;;) {
    seen.add(pos);
    const id = header & 0xffff;
    const version = (header >>> 16) & 0xf;
    const isAer = id === PCI_EXT_CAP_ID_ERR;
    const length = isAer ? AER_ENDPOINT_SIZEOF : 4;
    if (pos + length > 0x1000) throw new Error(`configImage: the extended capability ${hex(id, 4)} at ${hex(pos, 3)} runs past 4096 bytes`);
    if (isAer && out.some((c) => c.kind === 'aer')) throw new Error(`configImage: a second AER capability at ${hex(pos, 3)}; a function has one`);
    out.push({ kind: isAer ? 'aer' : 'other', id, version, offset: pos, length });
    const next = (header >>> 20) & 0xffc;
    if (next === 0) break;
    if (next < 0x100) throw new Error(`configImage: the extended capability at ${hex(pos, 3)} points to ${hex(next, 3)}, below 0x100`);
    if (seen.has(next)) throw new Error(`configImage: the extended capability at ${hex(pos, 3)} points back to ${hex(next, 3)}: the list loops`);
    pos = next;
    header = u32(img, pos);
  }
  const sorted = [...out].sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i - 1].offset + sorted[i - 1].length > sorted[i].offset) {
      throw new Error(`configImage: the extended capability at ${hex(sorted[i - 1].offset, 3)} overlaps the one at ${hex(sorted[i].offset, 3)}`);
    }
  }
  return out;
}

function checkMask(m: unknown, length: number, field: string): void {
  if (m === undefined) return;
  if (!(m instanceof Uint8Array) || m.length !== length) {
    throw new Error(`${field} must be a Uint8Array of ${length} bytes (one mask byte per image byte)`);
  }
}

/** Checks a ConfigImageSpec and reads the device it describes; every error says what is wrong where. */
export function decodeConfigImage(spec: ConfigImageSpec): ImageLayout {
  if (spec === null || typeof spec !== 'object') throw new Error('spec must be a ConfigImageSpec object');
  const img = parseConfigImage(spec.configImage);
  checkMask(spec.writableMask, img.length, 'writableMask');
  checkMask(spec.rw1cMask, img.length, 'rw1cMask');
  const vendorId = u16(img, 0);
  if (vendorId === 0xffff) throw new Error('configImage: Vendor ID 0xffff is what an absent function reads; the image holds no device');
  const headerType = img[PCI_HEADER_TYPE] & 0x7f;
  if (headerType !== 0) throw new Error(`configImage: header type ${headerType} is not an endpoint (type 0); bridges cannot be cloned`);
  const pin = img[0x3d];
  if (pin > 4) throw new Error(`configImage: Interrupt Pin ${pin} is not 0 (none) or 1..4 (INTA..INTD)`);
  const bars = decodeBars(img, spec);
  const romSize = decodeRom(img, spec.romSize);
  const caps = walkCaps(img);
  const msix = caps.find((c) => c.kind === 'msix');
  if (msix && !bars.some((b) => b !== null && b.kind !== 'io')) {
    throw new Error(`configImage: the MSI-X capability at ${hex(msix.offset, 2)} needs its table's memory BAR, and barSizes names none`);
  }
  const msi = caps.find((c) => c.kind === 'msi');
  if (msi && ((u16(img, msi.offset + 2) >>> 1) & 7) > 5) {
    throw new Error(`configImage: the MSI capability at ${hex(msi.offset, 2)} claims ${1 << ((u16(img, msi.offset + 2) >>> 1) & 7)} vectors; MSI has at most 32 (Multiple Message Capable 6 and 7 are reserved)`);
  }
  const isPcie = caps.some((c) => c.kind === 'pcie');
  const extCaps = isPcie && img.length === 4096 ? walkExtCaps(img) : [];
  return {
    image: img,
    vendorId,
    deviceId: u16(img, 2),
    classCode: (img[0x0b] << 16) | (img[0x0a] << 8) | img[0x09],
    revision: img[0x08],
    subsystemVendorId: u16(img, 0x2c),
    subsystemId: u16(img, 0x2e),
    interruptPin: pin as 0 | 1 | 2 | 3 | 4,
    bars,
    romSize,
    caps,
    extCaps,
  };
}
