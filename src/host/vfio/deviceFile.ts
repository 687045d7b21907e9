import { VFIO } from './uapi/constants.js';
import { VfioError } from './vfioError.js';
import type { VfioDevice } from './vfioDevice.js';
import type { HostFile } from '../fileTable.js';
import type { IommufdCtx } from './iommufd.js';
import { deviceDma } from '../../hw/embedding/deviceDma.js';
import type { IommuDomain } from '../../hw/embedding/iommu.js';
import type { MappingHolder, ReadValueOp, VfioDeviceOps } from './vfioDeviceOps.js';
import { MMAP_PAGE } from './mapping.js';
import type { VfioMapping } from './mapping.js';
import { vfioDeviceClose, vfioDeviceFeature, vfioDeviceOpen } from './vfioMain.js';

/**
 * A vfio device file as a VMM holds it (API.md). Offsets are `regionOffset(index, offset)`
 * (= BigInt(index) << 40n | offset, VFIO_PCI_INDEX_TO_OFFSET); a plain number is accepted too
 * (index * 2**40 + offset, no BigInt arithmetic on hot paths) when it is a safe integer: a number
 * that cannot be a file offset (fractional, negative, NaN, or 2**53 and above, where adjacent offsets
 * are no longer distinct) is EINVAL, never rounded into some other region's offset.
 */
export interface VfioDeviceFile {
  /** ioctl(2) on the file: `arg` is the struct, read and updated in place; returns the ioctl's value or throws VfioError. */
  ioctl(request: number, arg: Uint8Array): number;
  /** pread(2): up to `length` bytes at `offset` (region index in the high bits). */
  read(offset: bigint, length: number): Uint8Array;
  /** pread into a caller's buffer: no allocation per access; returns the bytes read */
  readInto(offset: bigint, buf: Uint8Array): number;
  /**
   * A little-endian register read of 1, 2 or 4 bytes returned as an unsigned number: read()'s checks
   * and errno, no buffer. A read the region cuts short (it runs past the end) is EINVAL.
   */
  readValue(offset: bigint, size: 1 | 2 | 4): number;
  /**
   * The low `size` bytes of `value` (an integer, -2**31 .. 2**32-1) written little-endian: write()'s
   * checks and errno; a write the region cuts short is EINVAL.
   */
  writeValue(offset: bigint, size: 1 | 2 | 4, value: number): void;
  /** pwrite(2): writes `data` at `offset`; returns the bytes written. */
  write(offset: bigint, data: Uint8Array): number;
  /**
   * mmap(2) of `length` bytes (rounded up to whole pages) at `offset` (page aligned within its
   * region): a BAR's pages, loads and stores straight to the device. EINVAL where Linux refuses (not a
   * mappable BAR, past its end, a zero length or an unaligned offset). Optional: a file a test wraps
   * may not map, and a VMM then goes through read/write.
   */
  mmap?(offset: bigint, length: number): VfioMapping;
  /** close(2): the last close of the device runs the driver's close_device (after the last munmap). */
  close(): void;
}

/** The device file offset of `offset` in region `index` (VFIO_PCI_INDEX_TO_OFFSET): BigInt(index) << 40n | offset. */
export function regionOffset(index: number, offset: number | bigint = 0): bigint {
  if (!Number.isInteger(index) || index < 0 || index >= 2 ** 24) throw new RangeError(`region index ${String(index)} is not 0..2^24-1`);
  const off = typeof offset === 'bigint' ? offset : Number.isSafeInteger(offset) ? BigInt(offset) : -1n;
  if (off < 0n || off >= 1n << 40n) throw new RangeError(`region offset ${String(offset)} is not 0..2^40-1`);
  return (BigInt(index) << 40n) | off;
}

/**
 * Anything other than a VfioError coming out of a driver is a bug in the emulator, not in the
 * caller's request; it is still reported through errno (EIO) so nothing else escapes the uapi.
 */
function asVfioError(e: unknown, what: string): VfioError {
  if (e instanceof VfioError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new VfioError('EIO', `${what}: internal error: ${msg}`);
}

/**
 * The ops' readConfigValue if readValue may use it: only while it mirrors the ops' read, so a
 * variant that spreads vfio-pci-core's ops and overrides read is never bypassed.
 */
export function readValueOpOf(ops: VfioDeviceOps<any>): ReadValueOp<any> | null {
  const rv = ops.readConfigValue;
  return rv !== undefined && rv.mirrors === ops.read ? rv : null;
}

/** The open file of a vfio device (vfio_device_fops); offsets as VfioDeviceFile says. */
export class VfioDeviceFileImpl implements VfioDeviceFile, HostFile {
  /** OPEN, CLOSED (EBADF), or REVOKED: the device was hot-removed under the file (ENODEV). */
  private state = OPEN;
  fd = -1;
  /** readValue/writeValue's buffer, per file (a driver may reach another file while it runs), by size */
  private readonly value32 = new Uint32Array(1);
  private readonly value16 = new Uint16Array(this.value32.buffer, 0, 1);
  private readonly value: Uint8Array[] = [
    new Uint8Array(0),
    new Uint8Array(this.value32.buffer, 0, 1),
    new Uint8Array(this.value32.buffer, 0, 2),
    new Uint8Array(0),
    new Uint8Array(this.value32.buffer, 0, 4),
  ];

  /** the ops' readConfigValue while it mirrors their read (ReadValueOp), else null */
  private readonly valueOp: ReadValueOp | null;

  constructor(
    readonly vdev: VfioDevice,
    readonly owner: IommufdCtx,
  ) {
    this.valueOp = readValueOpOf(vdev.ops);
    vfioDeviceOpen(vdev, owner);
  }

  private live(what: string): void {
    if (this.state !== OPEN) this.gone(what);
  }

  private gone(what: string): never {
    if (this.state === REVOKED) throw new VfioError('ENODEV', `${what}: ${this.vdev.bdf} was removed from the hardware`);
    throw new VfioError('EBADF', `${what} on a closed vfio device file`);
  }

  /**
   * VFIO_DEVICE_ATTACH_IOMMUFD_PT / DETACH: the device's DMA goes through `domain` (a VMM's IOAS)
   * from now on, or back to the host's memory with null. `only`: change it only while the device is
   * still behind that domain (a detach must not undo a later attach). Returns the domain it had.
   */
  attachIommuDomain(domain: IommuDomain | null, only?: IommuDomain): IommuDomain | null {
    const dma = deviceDma(this.vdev.pdev.fn);
    const before = dma.domain;
    if (only === undefined || before === only) dma.domain = domain;
    return before;
  }

  /**
   * The device left the hardware while this file was open (or closed but still mapped) and its user
   * did not release it after the REQ irq: the device is closed under the file, whose calls answer
   * ENODEV until it is closed, and whose mappings fault (SIGBUS).
   */
  revoke(): void {
    if (this.state === OPEN) {
      this.state = REVOKED;
      this.removed = true;
      vfioDeviceClose(this.vdev);
    } else if (this.vdev.heldByMappings.delete(this)) {
      // closed but mapped: the fd is gone already, only the mappings see the device go
      this.removed = true;
      vfioDeviceClose(this.vdev);
    }
  }

  /** the device was removed under this file (its mappings then fault) */
  private removed = false;

  /** live mappings of this file (each holds the device open, as a vma holds its file) */
  private maps = 0;
  private readonly holder: MappingHolder = {
    mapped: () => !this.removed,
    unmapped: () => {
      if (--this.maps === 0 && this.vdev.heldByMappings.delete(this)) vfioDeviceClose(this.vdev);
    },
  };

  mmap(offset: bigint, length: number): VfioMapping {
    this.live('mmap');
    try {
      checkOffset(offset);
      if (typeof length !== 'number' || !Number.isSafeInteger(length) || length <= 0) throw new VfioError('EINVAL', `mmap length ${String(length)} is not a positive byte count`);
      const [index, start] = splitOffset(offset);
      if (start % MMAP_PAGE !== 0) throw new VfioError('EINVAL', `mmap offset 0x${start.toString(16)} in region ${index} is not page aligned`);
      const op = this.vdev.ops.mmapRegion;
      if (!op) throw new VfioError('EINVAL', `${this.vdev.ops.name} has no mmap op`);
      const m = op(this.vdev, index, start, Math.ceil(length / MMAP_PAGE) * MMAP_PAGE, this.holder);
      this.maps++;
      return m;
    } catch (e) {
      throw asVfioError(e, 'mmap');
    }
  }

  ioctl(request: number, arg: Uint8Array): number {
    this.live('ioctl');
    try {
      if (!(arg instanceof Uint8Array)) throw new VfioError('EFAULT', 'ioctl arg must be a Uint8Array');
      // vfio_device_fops_unl_ioctl: the device is runtime resumed around every ioctl
      this.vdev.pmRuntimeGet();
      try {
        if (request === VFIO.DEVICE_FEATURE) return vfioDeviceFeature(this.vdev, arg);
        const op = this.vdev.ops.ioctl;
        if (!op) throw new VfioError('EINVAL', `${this.vdev.ops.name} has no ioctl op`);
        return op(this.vdev, request >>> 0, arg);
      } finally {
        this.vdev.pmRuntimePut();
      }
    } catch (e) {
      throw asVfioError(e, `ioctl 0x${Number(request).toString(16)}`);
    }
  }

  read(offset: bigint, length: number): Uint8Array {
    this.live('read');
    try {
      const op = this.vdev.ops.read;
      if (!op) throw new VfioError('EINVAL', `${this.vdev.ops.name} has no read op`);
      checkOffset(offset);
      if (!Number.isInteger(length) || length < 0) throw new VfioError('EINVAL', `read length ${length} is not a byte count`);
      // vfio_pci_core_read returns 0 for count 0 before looking at the offset; every driver here ends
      // in it, so the file answers that itself (variants may still call the core with 0 bytes to
      // get its checks)
      if (length === 0) return new Uint8Array(0);
      const buf = allocReadBuffer(Math.min(length, MAX_RW_COUNT));
      const n = op(this.vdev, offset, buf);
      // a short read (the end of a BAR) hands back a copy: the view would keep the whole buffer alive
      return n === buf.length ? buf : buf.slice(0, n);
    } catch (e) {
      throw asVfioError(e, 'read');
    }
  }

  readInto(offset: bigint, buf: Uint8Array): number {
    // a register-sized read of what the driver answers as a number (readValue's op) skips the
    // buffer-filling read; every other case, and every error, goes the general way below
    const vop = this.valueOp;
    if (vop !== null && this.state === OPEN && buf instanceof Uint8Array) {
      const n = buf.length;
      if (n === 4 || n === 2 || n === 1) {
        let v: number;
        try {
          checkOffset(offset);
          v = vop(this.vdev, offset, n);
        } catch (e) {
          throw asVfioError(e, 'read');
        }
        if (v >= 0) {
          buf[0] = v;
          if (n !== 1) {
            buf[1] = v >>> 8;
            if (n === 4) {
              buf[2] = v >>> 16;
              buf[3] = v >>> 24;
            }
          }
          return n;
        }
      }
    }
    return this.readIntoOp(offset, buf);
  }

  /** readInto through the driver's read: every check, in read()'s order. */
  private readIntoOp(offset: bigint, buf: Uint8Array): number {
    this.live('read');
    try {
      const op = this.vdev.ops.read;
      if (!op) throw new VfioError('EINVAL', `${this.vdev.ops.name} has no read op`);
      checkOffset(offset);
      if (!(buf instanceof Uint8Array)) throw new VfioError('EFAULT', 'read buffer must be a Uint8Array');
      if (buf.length === 0) return 0;
      return op(this.vdev, offset, buf);
    } catch (e) {
      throw asVfioError(e, 'read');
    }
  }

  readValue(offset: bigint, size: 1 | 2 | 4): number {
    const vop = this.valueOp;
    if (vop === null || this.state !== OPEN) return this.readValueInto(offset, size);
    try {
      // the driver's read answers a config register as a number, no buffer filled; the checks
      // readValueInto makes first cannot fail here (the ops have a read: vop mirrors it)
      checkOffset(offset);
      if (size === 4 || size === 2 || size === 1) {
        const v = vop(this.vdev, offset, size);
        if (v >= 0) return v;
      }
    } catch (e) {
      throw asVfioError(e, 'read');
    }
    return this.readValueInto(offset, size);
  }

  /** readValue through the driver's read and the per-file buffer: every check, in read()'s order. */
  private readValueInto(offset: bigint, size: 1 | 2 | 4): number {
    this.live('read');
    try {
      const op = this.vdev.ops.read;
      if (!op) throw new VfioError('EINVAL', `${this.vdev.ops.name} has no read op`);
      checkOffset(offset);
      const b = this.value[size];
      if (b === undefined || (size !== 1 && size !== 2 && size !== 4)) throw new VfioError('EINVAL', `register read of ${String(size)} bytes: sizes are 1, 2 or 4`);
      const n = op(this.vdev, offset, b);
      if (n !== size) throw new VfioError('EINVAL', `register read of ${size} bytes at ${String(offset)} got ${n}: it runs past the end of the region`);
      return size === 4 ? this.value32[0] : size === 2 ? this.value16[0] : b[0];
    } catch (e) {
      throw asVfioError(e, 'read');
    }
  }

  writeValue(offset: bigint, size: 1 | 2 | 4, value: number): void {
    this.live('write');
    try {
      const op = this.vdev.ops.write;
      if (!op) throw new VfioError('EINVAL', `${this.vdev.ops.name} has no write op`);
      checkOffset(offset);
      const b = this.value[size];
      if (b === undefined || (size !== 1 && size !== 2 && size !== 4)) throw new VfioError('EINVAL', `register write of ${String(size)} bytes: sizes are 1, 2 or 4`);
      if (typeof value !== 'number' || !Number.isInteger(value) || value < -(2 ** 31) || value > 0xffffffff) {
        throw new VfioError('EINVAL', `register write value ${String(value)} is not an integer of at most 32 bits`);
      }
      this.value32[0] = value;
      const n = op(this.vdev, offset, b);
      if (n !== size) throw new VfioError('EINVAL', `register write of ${size} bytes at ${String(offset)} took ${n}: it runs past the end of the region`);
    } catch (e) {
      throw asVfioError(e, 'write');
    }
  }

  write(offset: bigint, data: Uint8Array): number {
    this.live('write');
    try {
      const op = this.vdev.ops.write;
      if (!op) throw new VfioError('EINVAL', `${this.vdev.ops.name} has no write op`);
      checkOffset(offset);
      if (!(data instanceof Uint8Array)) throw new VfioError('EFAULT', 'write data must be a Uint8Array');
      if (data.length === 0) return 0; // vfio_pci_core_write, as for read
      return op(this.vdev, offset, data);
    } catch (e) {
      throw asVfioError(e, 'write');
    }
  }

  close(): void {
    if (this.state === CLOSED) return;
    const wasOpen = this.state === OPEN;
    this.state = CLOSED;
    this.onClose?.(this);
    if (!wasOpen) return;
    // the mappings keep the device open (a vma's reference to the file) until the last munmap
    if (this.maps > 0) this.vdev.heldByMappings.add(this);
    else vfioDeviceClose(this.vdev);
  }

  /** set by the opener to drop the file from the file table */
  onClose?: (f: VfioDeviceFileImpl) => void;
}

const OPEN = 0;
const CLOSED = 1;
const REVOKED = 2;

const U64_END = 1n << 64n;

/** rw_verify_area clamps every read(2)/write(2) count to MAX_RW_COUNT (INT_MAX & PAGE_MASK). */
const MAX_RW_COUNT = 0x7ffff000;

/** The buffer read() fills; a count this runtime cannot allocate is ENOMEM, not an internal error. */
function allocReadBuffer(count: number): Uint8Array {
  try {
    return new Uint8Array(count);
  } catch {
    throw new VfioError('ENOMEM', `cannot allocate a ${count}-byte read buffer`);
  }
}

function checkOffset(offset: bigint | number): void {
  if (typeof offset === 'bigint') {
    // asUintN(64) is an identity exactly on u64 values, and unlike two BigInt comparisons it is
    // lowered to machine code by the optimizing compiler
    if (BigInt.asUintN(64, offset) !== offset) throw new VfioError('EINVAL', `offset ${offset} is out of range`);
  } else if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) {
    // above 2**53 a number no longer names one offset (2**53 + 1 rounds to 2**53): refused, not rounded
    throw new VfioError('EINVAL', `offset ${String(offset)} is not a file offset (numbers must be safe integers; use regionOffset() for a bigint)`);
  }
}

// A u64 offset split into 32-bit halves without BigInt arithmetic: a store into a BigUint64Array
// is cheap where `offset >> 40n` and Number(bigint) each cost tens of ns (measured in bench/vfio.ts).
const split64 = new BigUint64Array(1);
const split32 = new Uint32Array(split64.buffer);
const LO = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1 ? 0 : 1; // the low half's index (endianness)

/**
 * The region index and offset of the last splitOffsetInto() call: module-level results so that the
 * hot read path splits an offset without allocating.
 */
export const split = { index: 0, pos: 0 };

/** splitOffset without the array: leaves the result in `split`. */
export function splitOffsetInto(offset: bigint | number): void {
  if (typeof offset === 'number') {
    const index = Math.floor(offset / 2 ** 40);
    split.index = index;
    split.pos = offset - index * 2 ** 40;
    return;
  }
  split64[0] = offset;
  const hi = split32[1 - LO];
  split.index = hi >>> 8;
  split.pos = (hi & 0xff) * 2 ** 32 + split32[LO];
}

/** Region index and offset inside it from a device file offset (VFIO_PCI_OFFSET_TO_INDEX). */
export function splitOffset(offset: bigint | number): [number, number] {
  if (typeof offset === 'number') {
    const index = Math.floor(offset / 2 ** 40);
    return [index, offset - index * 2 ** 40];
  }
  if (offset >= 0n && offset < U64_END) {
    split64[0] = offset;
    const hi = split32[1 - LO];
    return [hi >>> 8, (hi & 0xff) * 2 ** 32 + split32[LO]];
  }
  return [Number(offset >> 40n), Number(offset & 0xffffffffffn)];
}
