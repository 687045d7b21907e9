// The resuming data fd of dmae-vfio-pci (RESUMING): it takes the stream streamFormat.ts defines in
// writes of any size and parses it as the bytes arrive, into buffers of the driver's own (a staging
// copy of device memory, the three tail sections). Nothing reaches the device here: the driver
// validates the whole image and applies it on RESUMING -> STOP (dmaeMigration.ts), so how the bytes
// were split across writes cannot matter, and a bad stream leaves the device as it was.
//
// Errors:
// - a stream longer than maxStreamBytes, a section longer than its type allows, or bytes after the
//   END record are refused by the write that brings them (ENOMEM, what the kernel's variant drivers
//   answer when a write exceeds what they accept); the stream stays refused;
// - anything else wrong (magic, version, foreign identity, unknown or reordered sections, sizes,
//   pages outside device memory, the checksum, a stream cut short) is recorded where it is found and
//   reported by RESUMING -> STOP as EINVAL with that message; later bytes are counted and dropped.

import type { DataStreamFile } from '../../vfio/dataStream.js';
import type { FileTable } from '../../fileTable.js';
import { VfioError } from '../../vfio/vfioError.js';
import { StreamChecksum } from './streamChecksum.js';
import {
  END_PAYLOAD_BYTES, END_SUMMED_BYTES, IRQS_MAX_BYTES, PAGES_PER_SECTION_MAX, PAGES_PREFIX_BYTES, SECTION, SECTION_HEADER_BYTES,
  SECTION_NAME, STREAM_HEADER_BYTES, checkStreamHeader, hex, maxStreamBytes,
} from './streamFormat.js';
import type { StreamIdentity } from './streamFormat.js';

/** A complete, well-formed stream: what RESUMING -> STOP validates further and applies. */
export interface ResumeImage {
  /** device memory as the stream left it (every page was sent) */
  deviceMemory: Uint8Array;
  deviceState: Uint8Array;
  vconfig: Uint8Array;
  irqs: Uint8Array;
  /** stream bytes */
  length: number;
}

type Phase = 'header' | 'section' | 'pagesPrefix' | 'pages' | 'blob' | 'end' | 'done' | 'bad';

/** Sections in stream order after the PAGES: each exactly once. */
const TAIL_ORDER = [SECTION.DEVICE_STATE, SECTION.VCONFIG, SECTION.IRQS, SECTION.END];

export class ResumingStream implements DataStreamFile {
  fd = -1;
  private phase: Phase = 'header';
  /** stream bytes received */
  private pos = 0;
  private readonly scratch = new Uint8Array(STREAM_HEADER_BYTES);
  private have = 0;
  private need = STREAM_HEADER_BYTES;
  private readonly ck = new StreamChecksum();
  private error: string | null = null;
  private refused: VfioError | null = null;
  private readonly max: number;
  private readonly pages: number;
  private staging: Uint8Array | null = null;
  private readonly seen: Uint32Array;
  /** index into TAIL_ORDER of the next tail section (0 while PAGES may still come) */
  private stage = 0;
  private left = 0;
  private at = 0;
  private blob: Uint8Array | null = null;
  private blobType = 0;
  private readonly tail = new Map<number, Uint8Array>();
  private finished = false;
  private closed = false;

  constructor(
    private readonly id: StreamIdentity,
    private readonly files: FileTable,
  ) {
    this.max = maxStreamBytes(id.deviceMemoryBytes);
    this.pages = id.deviceMemoryBytes / id.pageSize;
    this.seen = new Uint32Array(Math.ceil(this.pages / 32));
  }

  private live(what: string): void {
    if (this.closed) throw new VfioError('EBADF', `${what} on a closed migration data fd`);
    if (this.finished) throw new VfioError('ENODEV', `${what}: the device left RESUMING; this stream is over`);
  }

  read(_length: number): Uint8Array {
    this.live('read');
    throw new VfioError('EINVAL', 'a resuming migration data fd is write-only');
  }

  ioctl(request: number, _arg: Uint8Array): number {
    if (this.closed) throw new VfioError('EBADF', 'ioctl on a closed migration data fd');
    throw new VfioError('ENOTTY', `the resuming migration data fd has no ioctl 0x${(request >>> 0).toString(16)}`);
  }

  write(data: Uint8Array): number {
    this.live('write');
    if (!(data instanceof Uint8Array)) throw new VfioError('EFAULT', 'write data must be a Uint8Array');
    if (this.refused) throw this.refused;
    const n = data.length;
    if (this.pos + n > this.max) this.refuse(`${this.pos + n} bytes exceed the ${this.max} a stream for ${this.id.deviceMemoryBytes} bytes of device memory may have`);
    let i = 0;
    while (i < n) {
      switch (this.phase) {
        case 'bad':
          i = n;
          break;
        case 'done':
          this.refuse(`${n - i} bytes follow the END record`);
          break;
        case 'pages':
        case 'blob': {
          const dst = this.phase === 'pages' ? this.staging! : this.blob!;
          const k = Math.min(this.left, n - i);
          dst.set(data.subarray(i, i + k), this.at);
          // summed in the destination buffer, whose offsets keep the stream's word alignment
          this.ck.update(dst.subarray(this.at, this.at + k));
          this.at += k;
          this.left -= k;
          i += k;
          if (this.left === 0) {
            if (this.phase === 'blob') this.tail.set(this.blobType, this.blob!);
            this.expect('section', SECTION_HEADER_BYTES);
          }
          break;
        }
        default: {
          const k = Math.min(this.need - this.have, n - i);
          this.scratch.set(data.subarray(i, i + k), this.have);
          this.have += k;
          i += k;
          if (this.have === this.need) this.record();
        }
      }
    }
    this.pos += n;
    return n;
  }

  private expect(phase: Phase, need: number): void {
    this.phase = phase;
    this.have = 0;
    this.need = need;
  }

  private fail(msg: string): void {
    this.error ??= msg;
    this.phase = 'bad';
  }

  private refuse(msg: string): never {
    this.refused = new VfioError('ENOMEM', `oversized migration stream: ${msg}`);
    this.error ??= this.refused.message;
    this.phase = 'bad';
    throw this.refused;
  }

  /** A fixed-size record is complete in scratch: header, section header, PAGES prefix or END. */
  private record(): void {
    const s = this.scratch;
    const v = new DataView(s.buffer, 0, this.need);
    switch (this.phase) {
      case 'header': {
        this.ck.update(s.subarray(0, STREAM_HEADER_BYTES));
        const why = checkStreamHeader(s, this.id);
        if (why) return this.fail(why);
        this.expect('section', SECTION_HEADER_BYTES);
        return;
      }
      case 'section': {
        this.ck.update(s.subarray(0, SECTION_HEADER_BYTES));
        const at = this.ck.length - SECTION_HEADER_BYTES;
        const type = v.getUint16(0, true);
        const flags = v.getUint16(2, true);
        const len = v.getUint32(4, true);
        const name = SECTION_NAME[type];
        if (!name) return this.fail(`unknown section type ${hex(type, 4)} near stream offset ${at}`);
        if (flags !== 0) return this.fail(`${name} section at stream offset ${at} with flags ${hex(flags, 4)}`);
        if (len % 4 !== 0) return this.fail(`${name} section length ${len} is not a multiple of 4`);
        const nextTail = TAIL_ORDER[this.stage];
        if (type === SECTION.PAGES ? this.stage !== 0 : type !== nextTail) {
          return this.fail(`reordered stream: ${name} section at stream offset ${at} where ${this.stage === 0 ? 'PAGES or DEVICE_STATE' : SECTION_NAME[nextTail]} belongs`);
        }
        const maxLen = this.sectionMax(type);
        if (len > maxLen) this.refuse(`${name} section of ${len} bytes, at most ${maxLen}`);
        if (type === SECTION.PAGES) {
          if (len < PAGES_PREFIX_BYTES) return this.fail(`PAGES section of ${len} bytes has no room for its page range`);
          this.left = len;
          this.expect('pagesPrefix', PAGES_PREFIX_BYTES);
          return;
        }
        this.stage++;
        if (type === SECTION.END) {
          if (len !== END_PAYLOAD_BYTES) return this.fail(`END section of ${len} bytes, it has ${END_PAYLOAD_BYTES}`);
          this.expect('end', END_PAYLOAD_BYTES);
          return;
        }
        const want = type === SECTION.DEVICE_STATE ? this.id.stateBytes : type === SECTION.VCONFIG ? this.id.configSize : -1;
        if (want >= 0 && len !== want) return this.fail(`${name} section of ${len} bytes, this device's is ${want}`);
        if (type === SECTION.IRQS && len < 8) return this.fail(`IRQS section of ${len} bytes, at least 8`);
        this.blob = new Uint8Array(len);
        this.blobType = type;
        this.at = 0;
        this.left = len;
        this.phase = 'blob';
        return;
      }
      case 'pagesPrefix': {
        this.ck.update(s.subarray(0, PAGES_PREFIX_BYTES));
        const first = v.getUint32(0, true);
        const count = v.getUint32(4, true);
        const size = this.id.pageSize;
        if (count === 0 || count > PAGES_PER_SECTION_MAX) return this.fail(`PAGES section with ${count} pages (1 to ${PAGES_PER_SECTION_MAX})`);
        if (this.left !== PAGES_PREFIX_BYTES + count * size) return this.fail(`PAGES section of ${this.left} bytes for ${count} pages of ${size}`);
        if (first >= this.pages || count > this.pages - first) return this.fail(`pages ${first}..${first + count - 1} lie outside the ${this.pages} pages of device memory`);
        this.staging ??= new Uint8Array(this.id.deviceMemoryBytes);
        for (let p = first; p < first + count; p++) this.seen[p >>> 5] |= 1 << (p & 31);
        this.at = first * size;
        this.left = count * size;
        this.phase = 'pages';
        return;
      }
      case 'end': {
        this.ck.update(s.subarray(0, END_SUMMED_BYTES));
        const total = v.getUint32(4, true) * 2 ** 32 + v.getUint32(0, true);
        const end = this.ck.length + (END_PAYLOAD_BYTES - END_SUMMED_BYTES);
        if (total !== end) return this.fail(`END record says the stream has ${total} bytes, it has ${end}`);
        const sum = this.ck.result();
        for (let k = 0; k < 8; k++) {
          const stored = v.getUint32(END_SUMMED_BYTES + 4 * k, true);
          if (stored !== sum[k]) return this.fail(`checksum mismatch: word ${k} of the stream checksum is ${hex(stored, 8)}, the stream's is ${hex(sum[k], 8)}`);
        }
        this.phase = 'done';
        return;
      }
    }
  }

  private sectionMax(type: number): number {
    switch (type) {
      case SECTION.PAGES:
        return PAGES_PREFIX_BYTES + PAGES_PER_SECTION_MAX * this.id.pageSize;
      case SECTION.DEVICE_STATE:
        return this.id.stateBytes;
      case SECTION.VCONFIG:
        return this.id.configSize;
      case SECTION.IRQS:
        return IRQS_MAX_BYTES;
      default:
        return END_PAYLOAD_BYTES;
    }
  }

  /** Where a stream that stopped now was cut off. */
  private cutAt(): string {
    switch (this.phase) {
      case 'header':
        return `in the stream header (${this.have} of ${STREAM_HEADER_BYTES} bytes)`;
      case 'section':
        return this.have ? 'in a section header' : `before ${this.stage === 0 ? 'the DEVICE_STATE section' : `the ${SECTION_NAME[TAIL_ORDER[this.stage]]} section`}`;
      case 'pagesPrefix':
      case 'pages':
        return 'inside a PAGES section';
      case 'blob':
        return `inside the ${SECTION_NAME[this.blobType]} section`;
      default:
        return 'inside the END record';
    }
  }

  /**
   * The image of a complete, well-formed stream, or a VfioError EINVAL naming the first problem:
   * what RESUMING -> STOP checks before it validates the contents.
   */
  image(): ResumeImage {
    const bad = (m: string) => new VfioError('EINVAL', `invalid migration stream: ${m}`);
    if (this.error) throw bad(this.error);
    if (this.phase !== 'done') throw bad(`truncated after ${this.pos} bytes, ${this.cutAt()}`);
    for (let p = 0; p < this.pages; p++) {
      if (((this.seen[p >>> 5] >>> (p & 31)) & 1) === 0) throw bad(`device memory page ${p} was never sent`);
    }
    return {
      deviceMemory: this.staging!,
      deviceState: this.tail.get(SECTION.DEVICE_STATE)!,
      vconfig: this.tail.get(SECTION.VCONFIG)!,
      irqs: this.tail.get(SECTION.IRQS)!,
      length: this.pos,
    };
  }

  /** The device left RESUMING: later writes fail with ENODEV; the buffers go. */
  finish(): void {
    this.finished = true;
    this.drop();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.fd >= 0) this.files.release(this.fd, this);
  }

  private drop(): void {
    this.staging = null;
    this.blob = null;
    this.tail.clear();
  }
}
