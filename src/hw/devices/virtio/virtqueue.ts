import type { DmaAccess } from '../../embedding/deviceDma.js';
import {
  VIRTIO_MSI_NO_VECTOR, VIRTIO_PCI_VRING_ALIGN, VRING_AVAIL_F_NO_INTERRUPT, VRING_DESC_F_INDIRECT, VRING_DESC_F_NEXT,
  VRING_DESC_F_WRITE, VRING_DESC_SIZE, VRING_USED_ELEM_SIZE,
} from './virtioSpec.js';

/**
 * The driver broke the virtqueue contract (a ring or descriptor outside guest memory, a bad index, a
 * loop, a misplaced indirect table ...). The device answers by setting NEEDS_RESET, never by crashing.
 */
export class VirtqueueError extends Error {
  override readonly name = 'VirtqueueError';
}

/**
 * The device side of one split virtqueue (virtio 1.3 2.7): ring addresses and size as the driver
 * configured them, the device's position in the available ring, and the used ring it fills. `pop()`
 * walks one descriptor chain (following indirect tables when negotiated) into `seg*` arrays and
 * validates every address against guest memory; `pushUsed()` + `publishUsed()` return chains.
 */
export class SplitVirtqueue {
  /** Queue Size the driver chose (powers of two up to maxSize) */
  size: number;
  enabled = false;
  msixVector = VIRTIO_MSI_NO_VECTOR;
  descAddr = 0;
  availAddr = 0;
  usedAddr = 0;
  /** the queue was set up through the legacy Queue Address register (page frame number), 0 if not */
  legacyPfn = 0;
  /** next available ring entry the device will read */
  lastAvailIdx = 0;
  /** the device's used index (published to used->idx by publishUsed) */
  usedIdx = 0;
  indirect = false;

  /** the chain pop() found: segment addresses, lengths, device-writable flags */
  readonly segAddr: Float64Array;
  readonly segLen: Uint32Array;
  readonly segWrite: Uint8Array;
  segCount = 0;
  readableBytes = 0;
  writableBytes = 0;
  constructor(
    readonly index: number,
    readonly maxSize: number,
    /** the device's DMA port: every ring and buffer access goes through it (translated, never cached) */
    public dma: DmaAccess,
  ) {
    this.size = maxSize;
    this.segAddr = new Float64Array(maxSize);
    this.segLen = new Uint32Array(maxSize);
    this.segWrite = new Uint8Array(maxSize);
  }

  /** Back to reset values: disabled, size maxSize, no vector, no addresses. */
  reset(): void {
    this.size = this.maxSize;
    this.enabled = false;
    this.msixVector = VIRTIO_MSI_NO_VECTOR;
    this.descAddr = this.availAddr = this.usedAddr = 0;
    this.legacyPfn = 0;
    this.lastAvailIdx = 0;
    this.usedIdx = 0;
    this.segCount = 0;
  }

  /** queue_enable = 1: the device starts from index 0 of both rings. */
  enable(): void {
    this.enabled = true;
    this.lastAvailIdx = 0;
    this.usedIdx = 0;
  }

  /**
   * Legacy Queue Address (virtio 0.9.5 / 1.3 2.7.2): the rings are contiguous from pfn * 4096, with
   * the used ring aligned to 4096, and the queue has its maximum size. pfn 0 disables the queue.
   */
  setLegacyPfn(pfn: number): void {
    if (pfn === 0) {
      this.reset();
      return;
    }
    this.size = this.maxSize;
    this.legacyPfn = pfn >>> 0;
    this.descAddr = this.legacyPfn * VIRTIO_PCI_VRING_ALIGN;
    this.availAddr = this.descAddr + VRING_DESC_SIZE * this.size;
    const availEnd = this.availAddr + 2 * (3 + this.size);
    this.usedAddr = Math.ceil(availEnd / VIRTIO_PCI_VRING_ALIGN) * VIRTIO_PCI_VRING_ALIGN;
    this.enable();
  }

  private check(addr: number, len: number, what: string, write = false): void {
    if (!this.dma.reach(addr, len, write ? 'write' : 'read')) this.outside(addr, len, what);
  }

  /** A range the device cannot reach (outside memory, or an IOMMU fault already reported). */
  private outside(addr: number, len: number, what: string): never {
    throw new VirtqueueError(`queue ${this.index}: ${what} [0x${addr.toString(16)}, +${len}) is outside guest memory`);
  }

  /** The rings must lie inside guest memory, suitably aligned (2.7: 16, 2 and 4 bytes). */
  checkRings(): void {
    // the rings last found good are not checked again (this runs on every notification)
    if (this.descAddr === this.okDesc && this.availAddr === this.okAvail && this.usedAddr === this.okUsed && this.size === this.okSize) return;
    const n = this.size;
    this.check(this.descAddr, VRING_DESC_SIZE * n, 'descriptor table');
    this.check(this.availAddr, 6 + 2 * n, 'available ring');
    this.check(this.usedAddr, 6 + VRING_USED_ELEM_SIZE * n, 'used ring', true);
    if (this.descAddr % 16 !== 0 || this.availAddr % 2 !== 0 || this.usedAddr % 4 !== 0) {
      throw new VirtqueueError(`queue ${this.index}: misaligned rings (desc 0x${this.descAddr.toString(16)}, avail 0x${this.availAddr.toString(16)}, used 0x${this.usedAddr.toString(16)})`);
    }
    this.okDesc = this.descAddr;
    this.okAvail = this.availAddr;
    this.okUsed = this.usedAddr;
    this.okSize = n;
  }

  // the ring layout checkRings last accepted (-1: none yet)
  private okDesc = -1;
  private okAvail = -1;
  private okUsed = -1;
  private okSize = -1;

  /** Entries the driver made available that the device has not taken yet. */
  pending(): number {
    this.checkRings();
    const n = (this.dma.u16(this.availAddr + 2) - this.lastAvailIdx) & 0xffff;
    if (n > this.size) throw new VirtqueueError(`queue ${this.index}: avail->idx is ${n} entries ahead of the device, more than the queue size ${this.size}`);
    return n;
  }

  /** avail->flags asks for no used-buffer notification */
  get noInterrupt(): boolean {
    return (this.dma.u16(this.availAddr) & VRING_AVAIL_F_NO_INTERRUPT) !== 0;
  }

  /**
   * Takes the next available chain into seg*; returns its head index, or -1 when none is pending.
   * The caller has checked the rings (pending()). Throws VirtqueueError for a broken chain.
   */
  pop(): number {
    const v = this.dma;
    if (((v.u16(this.availAddr + 2) - this.lastAvailIdx) & 0xffff) === 0) return -1;
    const size = this.size;
    const head = v.u16(this.availAddr + 4 + 2 * (this.lastAvailIdx % size));
    this.lastAvailIdx = (this.lastAvailIdx + 1) & 0xffff;
    if (head >= size) throw new VirtqueueError(`queue ${this.index}: available head ${head} is not below the queue size ${size}`);
    this.segCount = 0;
    this.readableBytes = 0;
    this.writableBytes = 0;
    let table = this.descAddr;
    let tableLen = size;
    let i = head;
    let inIndirect = false;
    for (let steps = 0; ; steps++) {
      if (steps >= tableLen || this.segCount >= size) {
        throw new VirtqueueError(`queue ${this.index}: descriptor chain from head ${head} loops or is longer than the queue`);
      }
      const d = table + VRING_DESC_SIZE * i;
      const addrLo = v.u32(d);
      const addrHi = v.u32(d + 4);
      const len = v.u32(d + 8);
      const flags = v.u16(d + 12);
      const next = v.u16(d + 14);
      const addr = addrHi * 4294967296 + addrLo;
      if (flags & VRING_DESC_F_INDIRECT) {
        if (!this.indirect) throw new VirtqueueError(`queue ${this.index}: indirect descriptor without VIRTIO_F_RING_INDIRECT_DESC`);
        if (inIndirect) throw new VirtqueueError(`queue ${this.index}: indirect descriptor inside an indirect table`);
        if (flags & VRING_DESC_F_NEXT) throw new VirtqueueError(`queue ${this.index}: indirect descriptor with NEXT set`);
        if (len === 0 || len % VRING_DESC_SIZE !== 0) throw new VirtqueueError(`queue ${this.index}: indirect table length ${len} is not a multiple of 16`);
        this.check(addr, len, 'indirect descriptor table');
        table = addr;
        tableLen = len / VRING_DESC_SIZE;
        inIndirect = true;
        i = 0;
        steps = -1;
        continue;
      }
      const write = (flags & VRING_DESC_F_WRITE) !== 0;
      // the message is only built when the check fails (this runs for every descriptor)
      if (!v.reach(addr, len, write ? 'write' : 'read')) this.outside(addr, len, `buffer of descriptor ${i}`);
      if (!write && this.writableBytes > 0) throw new VirtqueueError(`queue ${this.index}: device-readable descriptor after a device-writable one`);
      const s = this.segCount++;
      this.segAddr[s] = addr;
      this.segLen[s] = len;
      this.segWrite[s] = write ? 1 : 0;
      if (write) this.writableBytes += len;
      else this.readableBytes += len;
      if ((flags & VRING_DESC_F_NEXT) === 0) return head;
      if (next >= tableLen) throw new VirtqueueError(`queue ${this.index}: next index ${next} is outside the descriptor table (${tableLen})`);
      i = next;
    }
  }

  /** Copies up to `max` device-readable bytes of the popped chain, from byte `skip`, into `out`. */
  readChain(out: Uint8Array, skip: number, max: number): number {
    let copied = 0;
    for (let s = 0; s < this.segCount && copied < max; s++) {
      if (this.segWrite[s]) break;
      let a = this.segAddr[s];
      let n = this.segLen[s];
      if (skip >= n) {
        skip -= n;
        continue;
      }
      a += skip;
      n -= skip;
      skip = 0;
      if (n > max - copied) n = max - copied;
      // a fault (the mapping went away since pop) ends the copy: nothing more is read
      if (!this.dma.readInto(a, out, copied, n)) break;
      copied += n;
    }
    return copied;
  }

  /**
   * Writes `data` (its first `length` bytes: all by default) into the popped chain's device-writable
   * buffers, from byte `offset` of them; returns the bytes written.
   */
  writeChain(data: Uint8Array, offset = 0, length = data.length): number {
    let done = 0;
    let skip = offset;
    const total = Math.min(length, data.length);
    for (let s = 0; s < this.segCount && done < total; s++) {
      if (!this.segWrite[s]) continue;
      const n0 = this.segLen[s];
      if (skip >= n0) {
        skip -= n0;
        continue;
      }
      const a = this.segAddr[s] + skip;
      const n = Math.min(n0 - skip, total - done);
      skip = 0;
      if (!this.dma.writeFrom(a, data, done, n)) break; // a fault: nothing written there
      done += n;
    }
    return done;
  }

  /** Puts chain `head` in the used ring with `len` bytes written (visible after publishUsed). */
  pushUsed(head: number, len: number): void {
    const e = this.usedAddr + 4 + VRING_USED_ELEM_SIZE * (this.usedIdx % this.size);
    this.dma.setU32(e, head);
    this.dma.setU32(e + 4, len);
    this.usedIdx = (this.usedIdx + 1) & 0xffff;
  }

  /** used->idx = the device's used index. */
  publishUsed(): void {
    this.dma.setU16(this.usedAddr + 2, this.usedIdx);
  }
}
