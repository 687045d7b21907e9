// The migration stream of the DMA engine's variant driver (dmae-vfio-pci): what the saving data fd
// produces (savingStream.ts) and the resuming data fd accepts (resumingStream.ts). The encoders
// below write every byte of it.
//
// Format version 1. All integers little-endian. The stream is a header followed by sections; every
// header, section header and payload is a multiple of 4 bytes long, so every record starts on a
// 4-byte boundary of the stream.
//
// Stream header, 64 bytes, at offset 0:
//   0x00  4  magic "DMIG" (44 4d 49 47)
//   0x04  2  format version, 1
//   0x06  2  header length, 64
//   0x08  2  vendor ID            } identity of the source device: the destination refuses a stream
//   0x0a  2  device ID            } whose identity differs from its own in any field (a foreign
//   0x0c  2  subsystem vendor ID  } stream), so device memory size, config layout, state blob format
//   0x0e  2  subsystem ID         } and variant driver must all match
//   0x10  1  revision             }
//   0x11  1  reserved, 0
//   0x12  2  config space size (256 or 4096): the length of the VCONFIG section
//   0x14  4  device memory bytes: what the PAGES sections cover
//   0x18  4  page size of the PAGES sections, 4096 (the device's dirty-tracking granularity)
//   0x1c  4  device state blob bytes (the DEVICE_STATE section's length; stateBlob.ts of the device)
//   0x20 32  variant driver name, ASCII, NUL-padded ("dmae-vfio-pci")
//
// Section: an 8-byte section header, then `length` payload bytes:
//   0x00  2  type
//   0x02  2  flags, 0
//   0x04  4  payload length in bytes, a multiple of 4, bounded per type (below)
//
// Section types, in the order the stream must carry them:
//   1 PAGES         any number (at least enough to cover device memory), then
//   2 DEVICE_STATE  exactly once
//   3 VCONFIG       exactly once
//   4 IRQS          exactly once
//   0xffff END      exactly once, last; nothing may follow it
//
//   PAGES: device memory pages. Payload: u32 first page, u32 page count (1..PAGES_PER_SECTION_MAX),
//     then count * page size bytes, the pages in order. Length = 8 + count * page size exactly; the
//     pages lie inside device memory. Pages may come in any order and more than once (pre-copy sends
//     a page again after the device wrote it); the last copy of a page wins. Every page must have
//     come at least once by the END.
//   DEVICE_STATE: the device's save-state blob (registers, counters, ring indices, held-back
//     interrupts: everything but device memory), exactly the header's state blob bytes. The device's
//     own restore validates it again (identity, version, CRC, every field).
//   VCONFIG: the user's view of config space, exactly the header's config size: what a read of the
//     vfio config region returns, i.e. vconfig where vfio virtualizes a byte and hardware where it
//     does not (configImage.ts).
//   IRQS: the interrupt setup vfio-pci-core holds for the user (irqSetup.ts), 8 to IRQS_MAX_BYTES.
//   END: payload 40 bytes: u64 total stream length (offset of the END section + 48), then the
//     stream checksum (streamChecksum.ts, eight u32) over every byte of the stream before the
//     checksum itself, i.e. from offset 0 through the total length field.
//
// Bounds: a section longer than its type allows, or a stream longer than maxStreamBytes (ten times
// device memory plus 1 MiB), is refused as it is written. The source never produces more: it stops
// offering pre-copy data once pre-copy has sent precopyBudgetBytes (eight times device memory) and
// leaves the rest to STOP_COPY, which adds at most one more copy of device memory and the tail.

/** Stream header magic: "DMIG" read as a little-endian u32. */
export const STREAM_MAGIC = 0x47494d44; // "DMIG" read as a little-endian u32
/** Format version of the stream this code writes and accepts. */
export const STREAM_VERSION = 1;
/** Length in bytes of the stream header. */
export const STREAM_HEADER_BYTES = 64;
/** Length in bytes of a section header: type u16, flags u16, length u32. */
export const SECTION_HEADER_BYTES = 8;
/** Length in bytes of the NUL-padded variant driver name in the stream header. */
export const DRIVER_NAME_BYTES = 32;

/** Section type numbers, in the order a stream carries them. */
export const SECTION = {
  /** Device memory pages: u32 first page, u32 count, then the pages. */
  PAGES: 1,
  /** The device's save-state blob, exactly once. */
  DEVICE_STATE: 2,
  /** The user's view of config space, exactly once. */
  VCONFIG: 3,
  /** The interrupt setup vfio-pci-core holds for the user, exactly once. */
  IRQS: 4,
  /** Last section: total stream length and the stream checksum. */
  END: 0xffff,
} as const;

/** The name of each section type, for error messages. */
export const SECTION_NAME: Record<number, string> = {
  [SECTION.PAGES]: 'PAGES',
  [SECTION.DEVICE_STATE]: 'DEVICE_STATE',
  [SECTION.VCONFIG]: 'VCONFIG',
  [SECTION.IRQS]: 'IRQS',
  [SECTION.END]: 'END',
};

/** Most pages one PAGES section carries (4 MiB of 4 KiB pages). */
export const PAGES_PER_SECTION_MAX = 1024;
/** u32 first page, u32 count */
export const PAGES_PREFIX_BYTES = 8;
/** END payload: u64 stream length + eight u32 of checksum */
export const END_PAYLOAD_BYTES = 40;
/** Length in bytes of the whole END record, section header included. */
export const END_RECORD_BYTES = SECTION_HEADER_BYTES + END_PAYLOAD_BYTES;
/** bytes of the END payload covered by the checksum (the stream length) */
export const END_SUMMED_BYTES = 8;

/** IRQS payload: 8 bytes of fields, then a bitmap of up to 2048 vectors (the MSI-X maximum). */
export const IRQS_MAX_BYTES = 8 + 2048 / 8;

/** Device memory, in pre-copy bytes the source offers at most (then STOP_COPY sends the rest). */
export function precopyBudgetBytes(deviceMemoryBytes: number): number {
  return 8 * deviceMemoryBytes;
}

/** The longest stream a destination accepts. */
export function maxStreamBytes(deviceMemoryBytes: number): number {
  return 10 * deviceMemoryBytes + (1 << 20);
}

/** Bytes PAGES sections take to carry `pages` pages in runs of at most PAGES_PER_SECTION_MAX. */
export function pagesSectionBytes(pages: number, pageSize: number): number {
  if (pages <= 0) return 0;
  return pages * pageSize + Math.ceil(pages / PAGES_PER_SECTION_MAX) * (SECTION_HEADER_BYTES + PAGES_PREFIX_BYTES);
}

/** Identity of a device as the stream header carries it. */
export interface StreamIdentity {
  /** PCI vendor ID. */
  vendorId: number;
  /** PCI device ID. */
  deviceId: number;
  /** PCI subsystem vendor ID. */
  subsystemVendorId: number;
  /** PCI subsystem ID. */
  subsystemId: number;
  /** PCI revision ID. */
  revision: number;
  /** Config space size, 256 or 4096: the VCONFIG section's length. */
  configSize: number;
  /** Bytes of device memory the PAGES sections cover. */
  deviceMemoryBytes: number;
  /** Page size of the PAGES sections. */
  pageSize: number;
  /** Length of the device state blob, the DEVICE_STATE section's length. */
  stateBytes: number;
  /** Variant driver name, ASCII, at most DRIVER_NAME_BYTES. */
  driver: string;
}

/** The 64-byte stream header for a device of identity `id`. */
export function encodeStreamHeader(id: StreamIdentity): Uint8Array {
  const out = new Uint8Array(STREAM_HEADER_BYTES);
  const v = new DataView(out.buffer);
  v.setUint32(0x00, STREAM_MAGIC, true);
  v.setUint16(0x04, STREAM_VERSION, true);
  v.setUint16(0x06, STREAM_HEADER_BYTES, true);
  v.setUint16(0x08, id.vendorId, true);
  v.setUint16(0x0a, id.deviceId, true);
  v.setUint16(0x0c, id.subsystemVendorId, true);
  v.setUint16(0x0e, id.subsystemId, true);
  v.setUint8(0x10, id.revision);
  v.setUint16(0x12, id.configSize, true);
  v.setUint32(0x14, id.deviceMemoryBytes, true);
  v.setUint32(0x18, id.pageSize, true);
  v.setUint32(0x1c, id.stateBytes, true);
  const name = new TextEncoder().encode(id.driver);
  if (name.length >= DRIVER_NAME_BYTES) throw new Error(`driver name ${id.driver} does not fit the stream header`);
  out.set(name, 0x20);
  return out;
}

/**
 * Checks a 64-byte stream header against the identity of the destination. Returns null when it
 * is acceptable, else why not (magic, version, length, reserved bytes, then each identity field).
 */
export function checkStreamHeader(bytes: Uint8Array, want: StreamIdentity): string | null {
  const v = new DataView(bytes.buffer, bytes.byteOffset, STREAM_HEADER_BYTES);
  const magic = v.getUint32(0x00, true);
  if (magic !== STREAM_MAGIC) return `bad magic 0x${hex(magic, 8)} (expected "DMIG"): not a dmae-vfio-pci migration stream`;
  const version = v.getUint16(0x04, true);
  if (version !== STREAM_VERSION) return `stream format version ${version} is not supported (this driver reads version ${STREAM_VERSION})`;
  const len = v.getUint16(0x06, true);
  if (len !== STREAM_HEADER_BYTES) return `stream header length ${len}, format version ${STREAM_VERSION} has ${STREAM_HEADER_BYTES}`;
  if (v.getUint8(0x11) !== 0) return 'reserved stream header byte 0x11 is not zero';
  const nameBytes = bytes.subarray(0x20, 0x40);
  const nul = nameBytes.indexOf(0);
  if (nul < 0 || nameBytes.subarray(nul).some((b) => b !== 0)) return 'the variant driver name in the stream header is not NUL-terminated and NUL-padded';
  const got: StreamIdentity = {
    vendorId: v.getUint16(0x08, true),
    deviceId: v.getUint16(0x0a, true),
    subsystemVendorId: v.getUint16(0x0c, true),
    subsystemId: v.getUint16(0x0e, true),
    revision: v.getUint8(0x10),
    configSize: v.getUint16(0x12, true),
    deviceMemoryBytes: v.getUint32(0x14, true),
    pageSize: v.getUint32(0x18, true),
    stateBytes: v.getUint32(0x1c, true),
    driver: String.fromCharCode(...nameBytes.subarray(0, nul)),
  };
  const diffs: string[] = [];
  const cmp = (what: string, a: number | string, b: number | string, w = 0) => {
    if (a !== b) diffs.push(typeof a === 'number' ? `${what} ${hex(a, w)} (this device: ${hex(b as number, w)})` : `${what} "${a}" (this device: "${b}")`);
  };
  cmp('vendor', got.vendorId, want.vendorId, 4);
  cmp('device', got.deviceId, want.deviceId, 4);
  cmp('subsystem vendor', got.subsystemVendorId, want.subsystemVendorId, 4);
  cmp('subsystem', got.subsystemId, want.subsystemId, 4);
  cmp('revision', got.revision, want.revision, 2);
  cmp('variant driver', got.driver, want.driver);
  cmp('config size', got.configSize, want.configSize);
  cmp('device memory bytes', got.deviceMemoryBytes, want.deviceMemoryBytes);
  cmp('page size', got.pageSize, want.pageSize);
  cmp('device state bytes', got.stateBytes, want.stateBytes);
  if (diffs.length) return `foreign stream: saved from ${diffs.join(', ')}`;
  return null;
}

/** An 8-byte section header of `type` announcing `length` payload bytes. */
export function encodeSectionHeader(type: number, length: number): Uint8Array {
  const out = new Uint8Array(SECTION_HEADER_BYTES);
  const v = new DataView(out.buffer);
  v.setUint16(0, type, true);
  v.setUint16(2, 0, true);
  v.setUint32(4, length, true);
  return out;
}

/** Section header + PAGES prefix for `count` pages from `first`. */
export function encodePagesHeader(first: number, count: number, pageSize: number): Uint8Array {
  const out = new Uint8Array(SECTION_HEADER_BYTES + PAGES_PREFIX_BYTES);
  const v = new DataView(out.buffer);
  v.setUint16(0, SECTION.PAGES, true);
  v.setUint32(4, PAGES_PREFIX_BYTES + count * pageSize, true);
  v.setUint32(8, first, true);
  v.setUint32(12, count, true);
  return out;
}

/** A whole section: header and payload (the payload is copied). */
export function encodeSection(type: number, payload: Uint8Array): Uint8Array {
  if (payload.length % 4 !== 0) throw new Error(`section payload of ${payload.length} bytes is not a multiple of 4`);
  const out = new Uint8Array(SECTION_HEADER_BYTES + payload.length);
  out.set(encodeSectionHeader(type, payload.length));
  out.set(payload, SECTION_HEADER_BYTES);
  return out;
}

/**
 * The END record for a stream whose END section starts at `endOffset`, with the checksum filled in
 * by `sum`: it receives the record's first 16 bytes (section header and stream length, which the
 * checksum covers) and returns the eight checksum words.
 */
export function encodeEnd(endOffset: number, sum: (summed: Uint8Array) => Uint32Array): Uint8Array {
  const out = new Uint8Array(END_RECORD_BYTES);
  const v = new DataView(out.buffer);
  v.setUint16(0, SECTION.END, true);
  v.setUint32(4, END_PAYLOAD_BYTES, true);
  const total = endOffset + END_RECORD_BYTES;
  v.setUint32(8, total % 2 ** 32, true);
  v.setUint32(12, Math.floor(total / 2 ** 32), true);
  const ck = sum(out.subarray(0, SECTION_HEADER_BYTES + END_SUMMED_BYTES));
  for (let i = 0; i < 8; i++) v.setUint32(16 + 4 * i, ck[i], true);
  return out;
}

/** `n` as unsigned hex with a 0x prefix, zero-padded to `width` digits. */
export function hex(n: number, width = 0): string {
  return '0x' + (n >>> 0).toString(16).padStart(width, '0');
}
