// Little-endian encode/decode of fixed-layout C structs, the building block of every uapi
// struct in this folder. A layout lists each field's offset and C type; decode reads them out
// of a Uint8Array (the ioctl arg), encode writes them back in place.
//
// Rules, matching what the kernel does with a user pointer:
// - decode needs the struct's first `minsz` bytes to be inside the buffer (the kernel's
//   copy_from_user(&x, arg, minsz)); otherwise EFAULT. Fields past the end of a shorter buffer
//   read as 0, as the kernel's own zero-initialised copy would hold them.
// - encode writes the first `length` bytes of the struct image (the kernel's
//   copy_to_user(arg, &x, length)); if they do not fit, EFAULT and nothing is written.
// - a value that a field cannot hold (u32 of 2^32, a fraction, a non-bigint u64) is EINVAL.
// u64 fields are bigint; all others are number. u32 fields read back unsigned, even when a
// negative int32 was written (see checkFieldValue).

import { uapiFault, uapiInvalid } from './uapiError.js';

/** C field types used by the vfio uapi. */
export type NumberKind = 'u8' | 'u16' | 'u32' | 's32';
/** C field types used by the vfio uapi, u64 included (read as bigint). */
export type FieldKind = NumberKind | 'u64';

/** Where one field lives: its offset and C type; bigint fields must be u64. */
export type FieldSpec<V> = V extends bigint
  ? {
      /** Byte offset of the field in the struct. */
      readonly offset: number;
      /** C type of the field. */
      readonly kind: 'u64';
    }
  : {
      /** Byte offset of the field in the struct. */
      readonly offset: number;
      /** C type of the field. */
      readonly kind: NumberKind;
    };

/** One FieldSpec per property of T: bigint properties must be u64, number properties not. */
export type StructFields<T> = { readonly [K in keyof T]-?: FieldSpec<T[K]> };

/** A struct value: every field a number, or a bigint for u64. */
export type StructValue<T> = { [K in keyof T]: number | bigint };

/** A C struct layout and its little-endian decode/encode (see defineStruct). */
export interface StructLayout<T extends StructValue<T>> {
  /** The C struct name, used in error messages. */
  readonly name: string;
  /** sizeof(struct). */
  readonly size: number;
  /** Bytes that must be readable to decode: offsetofend of the last field the kernel copies in. */
  readonly minsz: number;
  /** Offset and C type of each field. */
  readonly fields: StructFields<T>;
  /** Read the struct at `at` in `buf`. */
  decode(buf: Uint8Array, at?: number): T;
  /**
   * Write the first `length` bytes (default: all) of the struct's image at `at` in `buf`,
   * or into a new zeroed buffer of `length` bytes when `buf` is omitted. Returns the buffer.
   */
  encode(value: T, buf?: Uint8Array, at?: number, length?: number): Uint8Array;
}

/** Size in bytes of each C field type. */
export const FIELD_BYTES: Readonly<Record<FieldKind, number>> = { u8: 1, u16: 2, u32: 4, s32: 4, u64: 8 };

const U64_LIMIT = 1n << 64n;

/** A DataView over exactly the bytes of `buf`. */
export function dataView(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

/**
 * EFAULT unless `buf` is a Uint8Array holding `bytes` bytes from `at`: the check behind every
 * simulated copy_from_user / copy_to_user.
 */
export function requireBytes(buf: unknown, at: number, bytes: number, what: string): asserts buf is Uint8Array {
  if (!(buf instanceof Uint8Array)) throw uapiFault(`${what}: the ioctl arg must be a Uint8Array`);
  if (!Number.isSafeInteger(at) || at < 0 || !Number.isSafeInteger(bytes) || bytes < 0 || at + bytes > buf.length) {
    throw uapiFault(`${what}: needs ${bytes} bytes at offset ${at}, but the buffer holds ${buf.length}`);
  }
}

function readField(dv: DataView, at: number, kind: FieldKind): number | bigint {
  switch (kind) {
    case 'u8':
      return dv.getUint8(at);
    case 'u16':
      return dv.getUint16(at, true);
    case 'u32':
      return dv.getUint32(at, true);
    case 's32':
      return dv.getInt32(at, true);
    case 'u64':
      return dv.getBigUint64(at, true);
  }
}

/** Throws EINVAL unless `value` fits a field of `kind`. */
export function checkFieldValue(value: unknown, kind: FieldKind, what: string): void {
  if (kind === 'u64') {
    if (typeof value !== 'bigint' || value < 0n || value >= U64_LIMIT) {
      throw uapiInvalid(`${what}: expected a u64 bigint, got ${String(value)}`);
    }
    return;
  }
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw uapiInvalid(`${what}: expected an integer, got ${String(value)}`);
  }
  // A u32 also takes a negative 32-bit int and stores it as C's conversion to __u32 does
  // (-1 -> 0xffffffff): the uapi itself puts -1 in u32 fields (VFIO_PCI_DEVID_NOT_OWNED).
  const [lo, hi] =
    kind === 'u8' ? [0, 0xff] : kind === 'u16' ? [0, 0xffff] : kind === 's32' ? [-0x80000000, 0x7fffffff] : [-0x80000000, 0xffffffff];
  if (value < lo || value > hi) throw uapiInvalid(`${what}: ${value} does not fit a ${kind}`);
}

function writeField(dv: DataView, at: number, kind: FieldKind, value: number | bigint): void {
  switch (kind) {
    case 'u8':
      dv.setUint8(at, value as number);
      return;
    case 'u16':
      dv.setUint16(at, value as number, true);
      return;
    case 'u32':
      dv.setUint32(at, (value as number) >>> 0, true);
      return;
    case 's32':
      dv.setInt32(at, value as number, true);
      return;
    case 'u64':
      dv.setBigUint64(at, value as bigint, true);
      return;
  }
}

/**
 * Define a struct layout. `minsz` defaults to `size`. Throws (at module load, a programming
 * error) if a field is misaligned, overlaps another, or lies outside the struct.
 */
export function defineStruct<T extends StructValue<T>>(
  name: string,
  size: number,
  fields: StructFields<T>,
  minsz: number = size,
): StructLayout<T> {
  const entries = Object.entries(fields) as [keyof T & string, { offset: number; kind: FieldKind }][];
  const sorted = [...entries].sort((a, b) => a[1].offset - b[1].offset);
  let end = 0;
  let align = 1;
  for (const [key, f] of sorted) {
    const bytes = FIELD_BYTES[f.kind];
    if (!Number.isInteger(f.offset) || f.offset < 0 || f.offset % bytes !== 0) {
      throw new Error(`${name}.${key}: offset ${f.offset} is not ${bytes}-byte aligned`);
    }
    if (f.offset < end) throw new Error(`${name}.${key}: overlaps the previous field`);
    end = f.offset + bytes;
    if (end > size) throw new Error(`${name}.${key}: ends at ${end}, past sizeof ${size}`);
    align = Math.max(align, bytes);
  }
  if (size % align !== 0) throw new Error(`${name}: sizeof ${size} is not a multiple of its alignment ${align}`);
  if (!Number.isInteger(minsz) || minsz < 0 || minsz > size) throw new Error(`${name}: minsz ${minsz} outside 0..${size}`);

  function decode(buf: Uint8Array, at = 0): T {
    requireBytes(buf, at, minsz, `struct ${name}`);
    const dv = dataView(buf);
    const out: Record<string, number | bigint> = {};
    for (const [key, f] of entries) {
      const pos = at + f.offset;
      if (pos + FIELD_BYTES[f.kind] > buf.length) out[key] = f.kind === 'u64' ? 0n : 0;
      else out[key] = readField(dv, pos, f.kind);
    }
    return out as T;
  }

  function encode(value: T, buf?: Uint8Array, at = 0, length = size): Uint8Array {
    if (!Number.isSafeInteger(length) || length < 0 || length > size) {
      throw uapiInvalid(`struct ${name}: cannot write ${length} bytes of a ${size}-byte struct`);
    }
    const image = new Uint8Array(size);
    const dv = dataView(image);
    for (const [key, f] of entries) {
      const v = (value as Record<string, unknown>)[key];
      checkFieldValue(v, f.kind, `struct ${name}.${key}`);
      writeField(dv, f.offset, f.kind, v as number | bigint);
    }
    if (buf === undefined) return length === size ? image : image.slice(0, length);
    requireBytes(buf, at, length, `struct ${name}`);
    buf.set(image.subarray(0, length), at);
    return buf;
  }

  return Object.freeze({ name, size, minsz, fields, decode, encode });
}

/** Decode `count` consecutive structs starting at `at`; EFAULT unless all of them fit. */
export function decodeArray<T extends StructValue<T>>(layout: StructLayout<T>, buf: Uint8Array, at: number, count: number): T[] {
  if (!Number.isSafeInteger(count) || count < 0) throw uapiInvalid(`${layout.name}[]: bad element count ${count}`);
  requireBytes(buf, at, count * layout.size, `struct ${layout.name}[${count}]`);
  const out: T[] = [];
  for (let i = 0; i < count; i++) out.push(layout.decode(buf, at + i * layout.size));
  return out;
}

/** Encode structs back to back starting at `at`; EFAULT (nothing written) unless all fit. */
export function encodeArray<T extends StructValue<T>>(layout: StructLayout<T>, values: readonly T[], buf: Uint8Array, at: number): Uint8Array {
  const image = new Uint8Array(values.length * layout.size);
  values.forEach((v, i) => layout.encode(v, image, i * layout.size));
  requireBytes(buf, at, image.length, `struct ${layout.name}[${values.length}]`);
  buf.set(image, at);
  return buf;
}

/** Read `count` little-endian scalars of one kind starting at `at`; EFAULT unless all fit. */
export function readScalars(buf: Uint8Array, at: number, count: number, kind: NumberKind, what: string): number[] {
  if (!Number.isSafeInteger(count) || count < 0) throw uapiInvalid(`${what}: bad element count ${count}`);
  const bytes = FIELD_BYTES[kind];
  requireBytes(buf, at, count * bytes, what);
  const dv = dataView(buf);
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push(readField(dv, at + i * bytes, kind) as number);
  return out;
}

/** Write little-endian scalars of one kind starting at `at`; EFAULT/EINVAL with nothing written. */
export function writeScalars(buf: Uint8Array, at: number, values: readonly number[], kind: NumberKind, what: string): Uint8Array {
  const bytes = FIELD_BYTES[kind];
  values.forEach((v, i) => checkFieldValue(v, kind, `${what}[${i}]`));
  requireBytes(buf, at, values.length * bytes, what);
  const dv = dataView(buf);
  values.forEach((v, i) => writeField(dv, at + i * bytes, kind, v));
  return buf;
}
