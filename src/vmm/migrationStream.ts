import { MigrationError } from './vfioMigration.js';

// The VMM's migration stream: what goes from the source VMM to the destination VMM, as QEMU's
// migration stream carries sections per device. Little-endian.
//
//   header  8 bytes  "PCISIMVM"
//           u32      version (1)
//   record  u8       type (RecordType)
//           u8       reserved, 0
//           u16      id length (bytes of UTF-8)
//           u32      payload length
//           id       the guest bdf of the device the record belongs to ("" for RAM and END)
//           payload
//
// DEVICE       a chunk of the device's own migration data, as read from its data_fd; a device's
//              chunks concatenated are its stream, written to the destination's data_fd in order
// VMM_DEVICE   the VMM's state of the device (vmmDeviceState.ts)
// RAM          u64 guest-physical address, then the bytes of guest RAM from there
// END          nothing: the stream is complete
//
// The reader takes bytes in pieces of any size and checks every field before acting on a record:
// a bad magic or version, an unknown type, a non-zero reserved byte, an id or payload over the
// limits, a RAM record without its address: a MigrationError, and nothing of that record applied.

export const STREAM_MAGIC = 'PCISIMVM';
export const STREAM_VERSION = 1;
export const HEADER_BYTES = 12;
export const RECORD_HEADER_BYTES = 8;
/** Largest payload of one record (a chunk of device data or a run of RAM). */
export const MAX_PAYLOAD = 16 << 20;
const MAX_ID = 64;

export enum RecordType {
  DEVICE = 1,
  VMM_DEVICE = 2,
  RAM = 3,
  END = 4,
}

export interface StreamRecord {
  type: RecordType;
  id: string;
  payload: Uint8Array;
}

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

export function encodeHeader(): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES);
  out.set(enc.encode(STREAM_MAGIC), 0);
  new DataView(out.buffer).setUint32(8, STREAM_VERSION, true);
  return out;
}

/** One record; the payload is copied (device data may be a view that changes later). */
export function encodeRecord(type: RecordType, id: string, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const idBytes = enc.encode(id);
  if (idBytes.length > MAX_ID) throw new RangeError(`record id '${id}' is longer than ${MAX_ID} bytes`);
  if (payload.length > MAX_PAYLOAD) throw new RangeError(`record payload of ${payload.length} bytes exceeds ${MAX_PAYLOAD}`);
  const out = new Uint8Array(RECORD_HEADER_BYTES + idBytes.length + payload.length);
  const v = new DataView(out.buffer);
  v.setUint8(0, type);
  v.setUint16(2, idBytes.length, true);
  v.setUint32(4, payload.length, true);
  out.set(idBytes, RECORD_HEADER_BYTES);
  out.set(payload, RECORD_HEADER_BYTES + idBytes.length);
  return out;
}

/** A RAM record's payload: the address, then the bytes. */
export function ramPayload(addr: number, bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + bytes.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(addr), true);
  out.set(bytes, 8);
  return out;
}

export function decodeRamPayload(p: Uint8Array): { addr: number; bytes: Uint8Array } {
  if (p.length < 8) throw new MigrationError(`RAM record of ${p.length} bytes has no address`);
  const addr = new DataView(p.buffer, p.byteOffset, p.byteLength).getBigUint64(0, true);
  if (addr > BigInt(Number.MAX_SAFE_INTEGER)) throw new MigrationError(`RAM record address 0x${addr.toString(16)} is out of range`);
  return { addr: Number(addr), bytes: p.subarray(8) };
}

/**
 * Parses the stream as it arrives: push() bytes in pieces of any size; it returns the records that
 * became complete. Throws a MigrationError for anything malformed (and stays failed).
 */
export class StreamReader {
  private buf = new Uint8Array(0);
  private headerSeen = false;
  private failed: MigrationError | null = null;
  ended = false;
  bytes = 0;

  push(chunk: Uint8Array): StreamRecord[] {
    if (this.failed) throw this.failed;
    try {
      return this.parse(chunk);
    } catch (e) {
      this.failed = e instanceof MigrationError ? e : new MigrationError(String(e));
      throw this.failed;
    }
  }

  private parse(chunk: Uint8Array): StreamRecord[] {
    if (this.ended && chunk.length > 0) throw new MigrationError('bytes after the END record');
    this.bytes += chunk.length;
    const joined = new Uint8Array(this.buf.length + chunk.length);
    joined.set(this.buf);
    joined.set(chunk, this.buf.length);
    let at = 0;
    const out: StreamRecord[] = [];
    const v = new DataView(joined.buffer);
    if (!this.headerSeen) {
      if (joined.length < HEADER_BYTES) {
        this.buf = joined;
        return out;
      }
      const magic = String.fromCharCode(...joined.subarray(0, 8));
      if (magic !== STREAM_MAGIC) throw new MigrationError(`not a VMM migration stream (magic ${JSON.stringify(magic)})`);
      const version = v.getUint32(8, true);
      if (version !== STREAM_VERSION) throw new MigrationError(`migration stream version ${version}, this VMM reads ${STREAM_VERSION}`);
      this.headerSeen = true;
      at = HEADER_BYTES;
    }
    while (joined.length - at >= RECORD_HEADER_BYTES) {
      const type = v.getUint8(at);
      if (!(type in RecordType) || typeof RecordType[type] !== 'string') throw new MigrationError(`unknown record type ${type}`);
      if (v.getUint8(at + 1) !== 0) throw new MigrationError('record reserved byte is not 0');
      const idLen = v.getUint16(at + 2, true);
      const len = v.getUint32(at + 4, true);
      if (idLen > MAX_ID) throw new MigrationError(`record id of ${idLen} bytes`);
      if (len > MAX_PAYLOAD) throw new MigrationError(`record payload of ${len} bytes exceeds ${MAX_PAYLOAD}`);
      if (type === RecordType.END && (idLen !== 0 || len !== 0)) throw new MigrationError('END record with an id or payload');
      const total = RECORD_HEADER_BYTES + idLen + len;
      if (joined.length - at < total) break;
      let id: string;
      try {
        id = dec.decode(joined.subarray(at + RECORD_HEADER_BYTES, at + RECORD_HEADER_BYTES + idLen));
      } catch {
        throw new MigrationError('record id is not UTF-8');
      }
      const payload = joined.slice(at + RECORD_HEADER_BYTES + idLen, at + total);
      out.push({ type, id, payload });
      at += total;
      if (type === RecordType.END) {
        this.ended = true;
        if (at !== joined.length) throw new MigrationError('bytes after the END record');
      }
    }
    this.buf = joined.slice(at);
    return out;
  }
}
