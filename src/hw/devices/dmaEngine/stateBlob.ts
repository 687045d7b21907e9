// The DMA engine's save-state blob: the device's internal state (EngineState, not device memory,
// which the migration driver moves page by page) as a versioned, self-checking byte string.
//
// Format version 1, little-endian, 128 bytes:
//   0x00  4  magic "DMAE" (44 4d 41 45)
//   0x04  2  format version, 1
//   0x06  2  flags, 0 (reserved)
//   0x08  4  total length of the blob in bytes, 128 (checked against the bytes given: a shorter
//            blob is truncated, a longer one oversized)
//   0x0c  2  vendor ID  } identity of the source device; restore refuses a blob from a device
//   0x0e  2  device ID  } with another identity or another device-memory size
//   0x10  1  revision   }
//   0x11  3  reserved, 0
//   0x14  4  device memory bytes
//   0x18  .. the fields of FIELDS below in order, u32 each, u64 (lo, hi) for the counters
//   0x7c  4  CRC-32 (crc32.ts) of bytes 0x00..0x7b
//
// Restore checks, in this order: size of the header, magic, version, flags, length field against
// the format and against the bytes given, CRC, identity, then every field against what the
// registers can hold (reserved bits zero, indices inside their rings, ...). The first failure
// throws DmaEngineStateError naming it; the device is changed only after everything passed.

import { crc32 } from './crc32.js';
import { EngineState } from './engineState.js';
import {
  DMAE_CONTROL_RW, DMAE_COALESCE_MASK, DMAE_CQ_BASE_MASK, DMAE_INT_ALL, DMAE_RING_LOG2_MAX, DMAE_SQ_BASE_MASK,
} from './regs.js';

export const STATE_MAGIC = 0x45414d44; // "DMAE" read as a little-endian u32
/** Format version of the save-state blob (exported as DMAE_STATE_VERSION). */
export const STATE_VERSION = 1;
const HEADER_BYTES = 0x18;

/** A blob restore refused; the device is unchanged. */
export class DmaEngineStateError extends Error {
  constructor(message: string) {
    super(`DMA engine state: ${message}`);
    this.name = 'DmaEngineStateError';
  }
}

export interface DeviceIdentity {
  vendorId: number;
  deviceId: number;
  revision: number;
  deviceMemoryBytes: number;
}

type Key = Exclude<keyof EngineState, 'copyFrom'>;

interface Field {
  key: Key;
  wide?: boolean;
  /** why a value is not acceptable, or null */
  check(v: number, s: EngineState): string | null;
}

const any = (): null => null;
const bits = (mask: number) => (v: number): string | null => ((v & ~mask) >>> 0 !== 0 ? `has bits outside 0x${mask.toString(16)}` : null);
const inRing = (log2: 'sqSizeLog2' | 'cqSizeLog2') => (v: number, s: EngineState): string | null =>
  v >= 2 ** s[log2] ? `is outside a ring of ${2 ** s[log2]} entries` : null;

/** Field order of format version 1. Ring sizes come before the indices checked against them. */
const FIELDS: Field[] = [
  { key: 'control', check: bits(DMAE_CONTROL_RW) },
  { key: 'intStatus', check: bits(DMAE_INT_ALL) },
  { key: 'intMask', check: bits(DMAE_INT_ALL) },
  { key: 'coalesce', check: bits(DMAE_COALESCE_MASK) },
  { key: 'scratch', check: any },
  { key: 'sqBaseLo', check: bits(DMAE_SQ_BASE_MASK) },
  { key: 'sqBaseHi', check: any },
  { key: 'sqSizeLog2', check: (v) => (v > DMAE_RING_LOG2_MAX ? `exceeds ${DMAE_RING_LOG2_MAX}` : null) },
  { key: 'sqTail', check: inRing('sqSizeLog2') },
  { key: 'sqHead', check: inRing('sqSizeLog2') },
  { key: 'cqBaseLo', check: bits(DMAE_CQ_BASE_MASK) },
  { key: 'cqBaseHi', check: any },
  { key: 'cqSizeLog2', check: (v) => (v > DMAE_RING_LOG2_MAX ? `exceeds ${DMAE_RING_LOG2_MAX}` : null) },
  { key: 'cqHead', check: inRing('cqSizeLog2') },
  { key: 'cqTail', check: inRing('cqSizeLog2') },
  { key: 'cqPhase', check: bits(1) },
  { key: 'completed', wide: true, check: any },
  { key: 'bytes', wide: true, check: any },
  { key: 'errors', check: any },
  { key: 'irqs', check: any },
  { key: 'pendingCompletions', check: any },
  { key: 'pendingMessages', check: bits(DMAE_INT_ALL) },
  { key: 'fault', check: bits(1) },
];

/** Length in bytes of the save-state blob (exported as DMAE_STATE_BYTES). */
export const STATE_BYTES = HEADER_BYTES + FIELDS.reduce((n, f) => n + (f.wide ? 8 : 4), 0) + 4;

/** The blob for `s` on the device `id`. */
export function encodeState(s: EngineState, id: DeviceIdentity): Uint8Array {
  const out = new Uint8Array(STATE_BYTES);
  const v = new DataView(out.buffer);
  v.setUint32(0, STATE_MAGIC, true);
  v.setUint16(4, STATE_VERSION, true);
  v.setUint16(6, 0, true);
  v.setUint32(8, STATE_BYTES, true);
  v.setUint16(12, id.vendorId, true);
  v.setUint16(14, id.deviceId, true);
  v.setUint8(16, id.revision);
  v.setUint32(20, id.deviceMemoryBytes, true);
  let at = HEADER_BYTES;
  for (const f of FIELDS) {
    const x = s[f.key];
    if (f.wide) {
      v.setUint32(at, x % 2 ** 32, true);
      v.setUint32(at + 4, Math.floor(x / 2 ** 32), true);
      at += 8;
    } else {
      v.setUint32(at, x >>> 0, true);
      at += 4;
    }
  }
  v.setUint32(at, crc32(out, 0, at), true);
  return out;
}

/** Parses and validates a blob for the device `id`; throws DmaEngineStateError. */
export function decodeState(blob: Uint8Array, id: DeviceIdentity): EngineState {
  const fail = (m: string): never => {
    throw new DmaEngineStateError(m);
  };
  if (!(blob instanceof Uint8Array)) fail('the blob must be a Uint8Array');
  if (blob.length < HEADER_BYTES) fail(`truncated: ${blob.length} bytes is shorter than the ${HEADER_BYTES}-byte header`);
  const v = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const magic = v.getUint32(0, true);
  if (magic !== STATE_MAGIC) fail(`bad magic 0x${magic.toString(16).padStart(8, '0')} (expected "DMAE")`);
  const version = v.getUint16(4, true);
  if (version !== STATE_VERSION) fail(`format version ${version} is not supported (this device reads version ${STATE_VERSION})`);
  const flags = v.getUint16(6, true);
  if (flags !== 0) fail(`unknown flags 0x${flags.toString(16)}`);
  const length = v.getUint32(8, true);
  if (length !== STATE_BYTES) fail(`length field says ${length} bytes; format version ${STATE_VERSION} is ${STATE_BYTES}`);
  if (blob.length < length) fail(`truncated: ${blob.length} of ${length} bytes`);
  if (blob.length > length) fail(`oversized: ${blob.length} bytes, the blob is ${length}`);
  const crc = v.getUint32(length - 4, true);
  const want = crc32(blob, 0, length - 4);
  if (crc !== want) fail(`checksum mismatch (stored 0x${crc.toString(16)}, computed 0x${want.toString(16)})`);
  const src = { vendorId: v.getUint16(12, true), deviceId: v.getUint16(14, true), revision: v.getUint8(16) };
  if (src.vendorId !== id.vendorId || src.deviceId !== id.deviceId || src.revision !== id.revision) {
    const h = (n: number, w: number) => n.toString(16).padStart(w, '0');
    fail(
      `saved from device ${h(src.vendorId, 4)}:${h(src.deviceId, 4)} rev ${h(src.revision, 2)}, ` +
        `this is ${h(id.vendorId, 4)}:${h(id.deviceId, 4)} rev ${h(id.revision, 2)}`,
    );
  }
  if (v.getUint8(17) !== 0 || v.getUint16(18, true) !== 0) fail('reserved header bytes are not zero');
  const devmem = v.getUint32(20, true);
  if (devmem !== id.deviceMemoryBytes) fail(`saved with ${devmem} bytes of device memory, this device has ${id.deviceMemoryBytes}`);
  const s = new EngineState();
  let at = HEADER_BYTES;
  for (const f of FIELDS) {
    let x: number;
    if (f.wide) {
      const hi = v.getUint32(at + 4, true);
      if (hi >= 2 ** 21) fail(`${f.key} 0x${hi.toString(16)}_${v.getUint32(at, true).toString(16).padStart(8, '0')} exceeds 2^53`);
      x = hi * 2 ** 32 + v.getUint32(at, true);
      at += 8;
    } else {
      x = v.getUint32(at, true);
      at += 4;
    }
    const why = f.check(x, s);
    if (why !== null) fail(`${f.key} = 0x${x.toString(16)} ${why}`);
    s[f.key] = x;
  }
  return s;
}
