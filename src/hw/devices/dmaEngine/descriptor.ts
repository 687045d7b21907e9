// Descriptor and completion formats of the DMA engine's rings (both in guest memory, little-endian).
//
// Submission descriptor, 32 bytes, at SQ_BASE + index * 32:
//   0x00 u8   opcode   (DMAE_OP)
//   0x01 u8   flags    bit 0 IRQ: the batch containing this descriptor interrupts regardless of
//                      INT_COALESCE; bits 7:1 reserved, must be 0
//   0x02 u16  reserved, must be 0
//   0x04 u32  length   bytes (0 is a successful no-op for every opcode)
//   0x08 u64  src      guest address (COPY_TO_DEVICE), device-memory offset (COPY_FROM_DEVICE,
//                      COPY_DEVICE, CHECKSUM) or fill pattern (FILL: the low 32 bits, repeated
//                      little-endian from dst; the last repetition may be cut short)
//   0x10 u64  dst      device-memory offset (COPY_TO_DEVICE, COPY_DEVICE, FILL) or guest address
//                      (COPY_FROM_DEVICE); unused by NOP and CHECKSUM
//   0x18 u64  cookie   copied to the completion
//
// Completion entry, 16 bytes, at CQ_BASE + index * 16:
//   0x00 u64  cookie   from the descriptor
//   0x08 u32  result   CHECKSUM: CRC-32 (IEEE 802.3, as zlib's crc32) of the range; others: the
//                      bytes processed (0 on error)
//   0x0c u16  status   DMAE_STATUS
//   0x0e u16  info     bit 0 phase (CQ_PHASE when written; flips each time CQ_TAIL wraps to 0),
//                      bits 15:1 the descriptor's SQ index
//
// Order of checks for one descriptor: reserved fields, opcode, device-memory range, then the DMA
// itself. A failed guest-memory access (no memory there) ends the descriptor with DMA_READ_ERROR or
// DMA_WRITE_ERROR and sets Received Master Abort in the function's Status register; nothing of
// that descriptor's data is written. A failed ring access (fetching a descriptor, writing a
// completion) halts the engine (STATUS.FAULT, INT FAULT) with Received Master Abort.

/** Size in bytes of a submission descriptor. */
export const DMAE_DESC_SIZE = 32;
/** Size in bytes of a completion entry. */
export const DMAE_CQE_SIZE = 16;

/** Descriptor opcodes. */
export const DMAE_OP = {
  /** Does nothing and completes successfully. */
  NOP: 0x00,
  /** guest[src, +length) -> device memory[dst, +length) */
  COPY_TO_DEVICE: 0x01,
  /** device memory[src, +length) -> guest[dst, +length) */
  COPY_FROM_DEVICE: 0x02,
  /** device memory[dst, +length) <- the 32-bit pattern in src, repeated */
  FILL: 0x03,
  /** result = CRC-32 of device memory[src, +length) */
  CHECKSUM: 0x04,
  /** device memory[src, +length) -> device memory[dst, +length), overlap-safe (memmove) */
  COPY_DEVICE: 0x05,
} as const;

/** Descriptor flag: the batch holding this descriptor interrupts regardless of INT_COALESCE. */
export const DMAE_DESC_FLAG_IRQ = 0x01;
export const DMAE_DESC_FLAGS_VALID = DMAE_DESC_FLAG_IRQ;

/** Completion status values. */
export const DMAE_STATUS = {
  /** The descriptor completed successfully. */
  SUCCESS: 0,
  /** an opcode the engine does not implement */
  BAD_OPCODE: 1,
  /** reserved flag bits or the reserved field are not zero */
  BAD_DESCRIPTOR: 2,
  /** a device-memory range runs past the end of device memory */
  DEVMEM_RANGE: 3,
  /** a guest-memory read was master-aborted */
  DMA_READ_ERROR: 4,
  /** a guest-memory write was master-aborted */
  DMA_WRITE_ERROR: 5,
} as const;

export interface Descriptor {
  opcode: number;
  flags: number;
  reserved: number;
  length: number;
  /** 64-bit fields as numbers: exact below 2^53, and anything above lies outside any memory */
  src: number;
  srcLo: number;
  dst: number;
  cookieLo: number;
  cookieHi: number;
}

const TWO32 = 4294967296;

/** Decodes the 32 descriptor bytes at `at` of `bytes` (the caller has bounds-checked them). */
export function decodeDescriptor(view: DataView, at: number): Descriptor {
  const srcLo = view.getUint32(at + 8, true);
  return {
    opcode: view.getUint8(at),
    flags: view.getUint8(at + 1),
    reserved: view.getUint16(at + 2, true),
    length: view.getUint32(at + 4, true),
    src: view.getUint32(at + 12, true) * TWO32 + srcLo,
    srcLo,
    dst: view.getUint32(at + 20, true) * TWO32 + view.getUint32(at + 16, true),
    cookieLo: view.getUint32(at + 24, true),
    cookieHi: view.getUint32(at + 28, true),
  };
}

/** The 16 bytes of a completion entry. */
export function encodeCompletion(d: Descriptor, status: number, result: number, sqIndex: number, phase: number): Uint8Array {
  const out = new Uint8Array(DMAE_CQE_SIZE);
  const v = new DataView(out.buffer);
  v.setUint32(0, d.cookieLo, true);
  v.setUint32(4, d.cookieHi, true);
  v.setUint32(8, result >>> 0, true);
  v.setUint16(12, status, true);
  v.setUint16(14, ((sqIndex << 1) | (phase & 1)) & 0xffff, true);
  return out;
}

/** A descriptor as bytes, for drivers and tests. 64-bit fields take bigints. */
export function encodeDescriptor(d: {
  opcode: number;
  flags?: number;
  length: number;
  src?: bigint | number;
  dst?: bigint | number;
  cookie?: bigint | number;
}): Uint8Array {
  const out = new Uint8Array(DMAE_DESC_SIZE);
  const v = new DataView(out.buffer);
  v.setUint8(0, d.opcode);
  v.setUint8(1, d.flags ?? 0);
  v.setUint32(4, d.length >>> 0, true);
  v.setBigUint64(8, BigInt.asUintN(64, BigInt(d.src ?? 0)), true);
  v.setBigUint64(16, BigInt.asUintN(64, BigInt(d.dst ?? 0)), true);
  v.setBigUint64(24, BigInt.asUintN(64, BigInt(d.cookie ?? 0)), true);
  return out;
}

/** A completion entry decoded, for drivers and tests. */
export interface Completion {
  /** The descriptor's cookie. */
  cookie: bigint;
  /** CHECKSUM: the CRC-32; other opcodes: bytes processed (0 on error). */
  result: number;
  /** A DMAE_STATUS value. */
  status: number;
  /** The phase bit, CQ_PHASE when the entry was written. */
  phase: number;
  /** SQ index of the descriptor this entry completes. */
  sqIndex: number;
}

/** Decodes the 16-byte completion entry at `at` of `bytes`. */
export function decodeCompletion(bytes: Uint8Array, at = 0): Completion {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const info = v.getUint16(at + 14, true);
  return {
    cookie: v.getBigUint64(at, true),
    result: v.getUint32(at + 8, true),
    status: v.getUint16(at + 12, true),
    phase: info & 1,
    sqIndex: info >>> 1,
  };
}
