// The saving data fd of dmae-vfio-pci (PRE_COPY, PRE_COPY_P2P, STOP_COPY): it produces the stream
// streamFormat.ts defines, lazily, as the reader asks for bytes.
//
// Order of what it produces: the stream header; the initial pass over device memory (every page,
// in PAGES sections of up to 1024 pages); in pre-copy, then, the pages the device dirtied since
// they were last sent (its own device-memory dirty tracking, started when pre-copy began); in
// STOP_COPY the same until no page is dirty, then the tail: DEVICE_STATE, VCONFIG and IRQS captured
// at that moment, and END with the length and checksum of everything before it.
//
// read(length):
// - returns at most `length` bytes, and may return fewer (a short read ends at a record boundary
//   at the temporary end of pre-copy);
// - in pre-copy it returns what is ready now and an empty array when nothing is (initial_bytes and
//   dirty_bytes both 0: the temporary end of stream; the kernel's drivers fail that read with ENOMSG,
//   this stream's contract, API.md, is an empty read); it copies device memory into the result, as
//   the device keeps running;
// - in STOP_COPY an empty read is the end of the stream;
// - what it returns is the caller's own memory, as read(2)'s buffer is: device memory is copied
//   into it in every state, so a VMM may reuse, change or transfer (postMessage) the result
//   without reaching the device.
// The checksum is taken over exactly the bytes handed out, when they are handed out, so a page the
// device rewrites after it was read is simply sent again (its dirty bit is set again).

import { MigState } from '../../vfio/migrationFsm.js';
import type { DataStreamFile } from '../../vfio/dataStream.js';
import type { FileTable } from '../../fileTable.js';
import { VFIO } from '../../vfio/uapi/constants.js';
import { PRECOPY_INFO_MINSZ, decodePrecopyInfo, encodePrecopyInfo } from '../../vfio/uapi/precopyInfo.js';
import { VfioError } from '../../vfio/vfioError.js';
import { StreamChecksum } from './streamChecksum.js';
import {
  END_RECORD_BYTES, PAGES_PER_SECTION_MAX, PAGES_PREFIX_BYTES, SECTION_HEADER_BYTES, STREAM_HEADER_BYTES, encodeEnd, encodePagesHeader, pagesSectionBytes, precopyBudgetBytes,
} from './streamFormat.js';

/** What the stream reads from the device and its driver. */
export interface SavingSource {
  readonly pageSize: number;
  readonly pages: number;
  readonly deviceMemoryBytes: number;
  /** device memory pages [first, first+count) without a copy */
  pageView(first: number, count: number): Uint8Array;
  /** whether the device's dirty tracking runs for this stream */
  readonly tracking: boolean;
  takeDirtyPages(): number[];
  dirtyPageCount(): number;
  /** the stream header */
  header(): Uint8Array;
  /** the DEVICE_STATE, VCONFIG and IRQS sections, captured now */
  tail(): Uint8Array[];
  /** their total size */
  tailBytes(): number;
  /** the device's migration state (VFIO_MIG_GET_PRECOPY_INFO is valid only in pre-copy) */
  migState(): MigState;
}

interface Piece {
  bytes: Uint8Array;
  off: number;
  /** a view of device memory (copied into the reader's buffer like everything else) */
  payload: boolean;
  /** part of the initial data (initial_bytes) */
  initial: boolean;
  /** the checksum already covers what it needs of this piece (the END record) */
  presummed: boolean;
}

const EMPTY = new Uint8Array(0);

export class SavingStream implements DataStreamFile {
  fd = -1;
  private mode: 'precopy' | 'stopcopy';
  private queue: Piece[] = [];
  private head = 0;
  /** bytes handed to the reader */
  private pos = 0;
  /** bytes queued so far (handed out or not) */
  private generated = 0;
  private headerQueued = false;
  private initialNext = 0;
  private tailQueued = false;
  private endQueued = false;
  private readonly ck = new StreamChecksum();
  private readonly budget: number;
  private finished = false;
  private closed = false;

  constructor(
    private readonly src: SavingSource,
    private readonly files: FileTable,
    mode: 'precopy' | 'stopcopy',
  ) {
    this.mode = mode;
    this.budget = precopyBudgetBytes(src.deviceMemoryBytes);
  }

  /** PRE_COPY(_P2P) -> STOP_COPY: the same stream goes on to its end. */
  stopCopy(): void {
    this.mode = 'stopcopy';
  }

  get isStopCopy(): boolean {
    return this.mode === 'stopcopy';
  }

  /** Bytes handed out so far. */
  get position(): number {
    return this.pos;
  }

  // ---- producing ----------------------------------------------------------------------------

  private push(bytes: Uint8Array, payload: boolean, initial: boolean, presummed = false): void {
    this.queue.push({ bytes, off: 0, payload, initial, presummed });
    this.generated += bytes.length;
  }

  private pushRun(first: number, count: number, initial: boolean): void {
    this.push(encodePagesHeader(first, count, this.src.pageSize), false, initial);
    this.push(this.src.pageView(first, count), true, initial);
  }

  private pushDirty(pages: number[]): void {
    let i = 0;
    while (i < pages.length) {
      let j = i + 1;
      while (j < pages.length && pages[j] === pages[j - 1] + 1 && j - i < PAGES_PER_SECTION_MAX) j++;
      this.pushRun(pages[i], j - i, false);
      i = j;
    }
  }

  /**
   * Makes sure a piece is waiting; false at the (temporary, in pre-copy) end. The END record needs
   * the checksum of everything before it, so it is only made when `canEnd` (nothing handed out in
   * the current read is still unsummed).
   */
  private fill(canEnd: boolean): boolean {
    if (this.head < this.queue.length) return true;
    this.queue.length = 0;
    this.head = 0;
    const src = this.src;
    if (!this.headerQueued) {
      this.headerQueued = true;
      this.push(src.header(), false, true);
      return true;
    }
    if (this.initialNext < src.pages) {
      const count = Math.min(PAGES_PER_SECTION_MAX, src.pages - this.initialNext);
      this.pushRun(this.initialNext, count, true);
      this.initialNext += count;
      return true;
    }
    if (this.mode === 'precopy' && this.generated >= this.budget) return false;
    if (src.tracking) {
      const dirty = src.takeDirtyPages();
      if (dirty.length > 0) {
        this.pushDirty(dirty);
        return true;
      }
    }
    if (this.mode === 'precopy') return false;
    if (!this.tailQueued) {
      this.tailQueued = true;
      for (const s of src.tail()) this.push(s, false, false);
      return true;
    }
    if (!this.endQueued && canEnd) {
      this.endQueued = true;
      const end = encodeEnd(this.generated, (summed) => {
        this.ck.update(summed);
        return this.ck.result();
      });
      this.push(end, false, false, true);
      return true;
    }
    return false;
  }

  // ---- the file -----------------------------------------------------------------------------

  private live(what: string): void {
    if (this.closed) throw new VfioError('EBADF', `${what} on a closed migration data fd`);
    if (this.finished) throw new VfioError('ENODEV', `${what}: the device left the state this saving stream belongs to`);
  }

  read(length: number): Uint8Array {
    this.live('read');
    if (!Number.isSafeInteger(length) || length < 0) throw new VfioError('EINVAL', `read length ${String(length)} is not a byte count`);
    if (length === 0 || !this.fill(true)) return EMPTY;
    // plan the read, then copy once into one buffer of the caller's, aligned like the stream (for
    // the checksum). Device memory is copied too, even from a stopped device: what read(2) returns
    // belongs to the caller, who may reuse, change or transfer it (postMessage) without reaching
    // the device
    const segs: [Piece, number, number][] = [];
    let total = 0;
    while (total < length && this.fill(total === 0)) {
      const p = this.queue[this.head];
      const n = Math.min(length - total, p.bytes.length - p.off);
      segs.push([p, p.off, n]);
      this.advance(p, n);
      total += n;
    }
    const pad = (this.pos - total) & 3;
    const out = new Uint8Array(total + pad).subarray(pad);
    let q = 0;
    for (const [piece, off, n] of segs) {
      out.set(piece.bytes.subarray(off, off + n), q);
      if (!piece.presummed) this.ck.update(out.subarray(q, q + n));
      q += n;
    }
    return out;
  }

  private advance(p: Piece, n: number): void {
    p.off += n;
    this.pos += n;
    if (p.off === p.bytes.length) {
      this.head++;
      // a consumed view must not keep device memory reachable from the queue
      this.queue[this.head - 1] = DONE;
    }
  }

  write(_data: Uint8Array): number {
    this.live('write');
    throw new VfioError('EINVAL', 'a saving migration data fd is read-only');
  }

  /** VFIO_MIG_GET_PRECOPY_INFO (the only ioctl of a migration data fd). */
  ioctl(request: number, arg: Uint8Array): number {
    if (this.closed) throw new VfioError('EBADF', 'ioctl on a closed migration data fd');
    if (request !== VFIO.MIG_GET_PRECOPY_INFO) throw new VfioError('ENOTTY', `migration data fd ioctl 0x${(request >>> 0).toString(16)} is not VFIO_MIG_GET_PRECOPY_INFO`);
    const info = decodePrecopyInfo(arg);
    if (info.argsz < PRECOPY_INFO_MINSZ) throw new VfioError('EINVAL', `vfio_precopy_info.argsz ${info.argsz} < ${PRECOPY_INFO_MINSZ}`);
    const state = this.src.migState();
    if (state !== MigState.PRE_COPY && state !== MigState.PRE_COPY_P2P) {
      throw new VfioError('EINVAL', `VFIO_MIG_GET_PRECOPY_INFO is valid in PRE_COPY and PRE_COPY_P2P, the device is in ${MigState[state] ?? state}`);
    }
    if (this.finished) throw new VfioError('ENODEV', 'this saving stream is over (the device left its state)');
    const { initial, dirty } = this.precopyBytes();
    // flags are not interpreted: as in the kernel without the PRECOPY_INFOv2 opt-in, they go back as given
    encodePrecopyInfo({ argsz: info.argsz, flags: info.flags, initialBytes: BigInt(initial), dirtyBytes: BigInt(dirty) }, arg, 0, PRECOPY_INFO_MINSZ);
    return 0;
  }

  /** initial_bytes and dirty_bytes as VFIO_MIG_GET_PRECOPY_INFO reports them. */
  precopyBytes(): { initial: number; dirty: number } {
    let initial = this.headerQueued ? 0 : STREAM_HEADER_BYTES;
    initial += pagesSectionBytes(this.src.pages - this.initialNext, this.src.pageSize);
    let dirty = 0;
    for (let i = this.head; i < this.queue.length; i++) {
      const p = this.queue[i];
      if (p.initial) initial += p.bytes.length - p.off;
      else dirty += p.bytes.length - p.off;
    }
    // once the pre-copy budget is spent, the rest waits for STOP_COPY: nothing more to offer now
    if (this.src.tracking && this.generated < this.budget) dirty += this.dirtyEstimate();
    return { initial, dirty };
  }

  /** Bytes the dirty pages will take: at most one section each (runs of neighbours share one). */
  private dirtyEstimate(): number {
    return this.src.dirtyPageCount() * (this.src.pageSize + SECTION_HEADER_BYTES + PAGES_PREFIX_BYTES);
  }

  /** Bytes still to come if the device went to STOP_COPY now (MIG_DATA_SIZE). */
  remainingBytes(): number {
    let n = this.headerQueued ? 0 : STREAM_HEADER_BYTES;
    n += pagesSectionBytes(this.src.pages - this.initialNext, this.src.pageSize);
    for (let i = this.head; i < this.queue.length; i++) n += this.queue[i].bytes.length - this.queue[i].off;
    if (this.src.tracking) n += this.dirtyEstimate();
    if (!this.tailQueued) n += this.src.tailBytes();
    if (!this.endQueued) n += END_RECORD_BYTES;
    return n;
  }

  /** The device left the stream's state: later reads fail with ENODEV. */
  finish(): void {
    this.finished = true;
    this.queue = [];
    this.head = 0;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.head = 0;
    if (this.fd >= 0) this.files.release(this.fd, this);
  }
}

const DONE: Piece = { bytes: EMPTY, off: 0, payload: false, initial: false, presummed: true };
