import type { GuestMemory } from '../../guestMemory.js';
import {
  VIRTIO_PCI_VRING_ALIGN, VRING_AVAIL_F_NO_INTERRUPT, VRING_DESC_F_INDIRECT, VRING_DESC_F_NEXT, VRING_DESC_F_WRITE, VRING_DESC_SIZE,
  VRING_USED_ELEM_SIZE,
} from './virtioSpec.js';

/** One buffer of a chain: guest-physical address, length, and whether the device writes it. */
export interface DriverBuffer {
  addr: number;
  len: number;
  write?: boolean;
}

export interface UsedEntry {
  head: number;
  len: number;
}

/**
 * The driver side of a split virtqueue in guest memory, what a guest's virtio driver keeps: used by
 * the tests, the host-side administration-queue client and the benchmarks. `layout` 'modern' packs
 * the three areas at their minimum alignment; 'legacy' places them as virtio 0.9.5 does for a
 * Queue Address (page frame) with the used ring on the next 4096-byte boundary.
 */
export class DriverVirtqueue {
  /** Guest-physical address of the descriptor table. */
  readonly descAddr: number;
  /** Guest-physical address of the available ring. */
  readonly availAddr: number;
  /** Guest-physical address of the used ring. */
  readonly usedAddr: number;
  /** The driver's next avail->idx (free-running 16-bit counter). */
  availIdx = 0;
  /** Used ring index up to which the driver has consumed entries (last_used_idx). */
  lastUsed = 0;
  private readonly free: number[] = [];
  private readonly chainLen: Uint16Array;

  constructor(
    /** Guest memory the rings live in. */
    readonly memory: GuestMemory,
    /** Guest-physical address where the rings start. */
    readonly base: number,
    /** Queue size: number of descriptors (a power of two). */
    readonly size: number,
    /** Ring placement: modern (minimum alignment) or legacy (used ring on the next 4096-byte boundary). */
    readonly layout: 'modern' | 'legacy' = 'modern',
  ) {
    this.descAddr = base;
    this.availAddr = base + VRING_DESC_SIZE * size;
    const availEnd = this.availAddr + 2 * (3 + size);
    this.usedAddr = layout === 'legacy' ? Math.ceil(availEnd / VIRTIO_PCI_VRING_ALIGN) * VIRTIO_PCI_VRING_ALIGN : Math.ceil(availEnd / 4) * 4;
    if (layout === 'legacy' && base % VIRTIO_PCI_VRING_ALIGN !== 0) throw new Error('a legacy virtqueue starts on a 4096-byte boundary');
    memory.bytes.fill(0, base, this.end);
    for (let i = size - 1; i >= 0; i--) this.free.push(i);
    this.chainLen = new Uint16Array(size);
  }

  /** Bytes the rings take from `base` (what the driver must reserve). */
  static bytes(size: number, layout: 'modern' | 'legacy' = 'modern'): number {
    const avail = VRING_DESC_SIZE * size + 2 * (3 + size);
    const used = 6 + VRING_USED_ELEM_SIZE * size;
    return layout === 'legacy' ? Math.ceil(avail / VIRTIO_PCI_VRING_ALIGN) * VIRTIO_PCI_VRING_ALIGN + used : Math.ceil(avail / 4) * 4 + used;
  }

  // memory may be an embedder's buffer that is replaced at any time: never kept across calls
  private get view(): DataView {
    return this.memory.view;
  }

  /** First address after the used ring. */
  get end(): number {
    return this.usedAddr + 6 + VRING_USED_ELEM_SIZE * this.size;
  }

  /** The legacy Queue Address register value (page frame number). */
  get pfn(): number {
    return this.descAddr / VIRTIO_PCI_VRING_ALIGN;
  }

  /** Descriptors free for new chains. */
  get freeCount(): number {
    return this.free.length;
  }

  /** Writes descriptor `i`. */
  writeDesc(i: number, addr: number, len: number, flags: number, next: number, table = this.descAddr): void {
    const d = table + VRING_DESC_SIZE * i;
    const v = this.view;
    v.setUint32(d, addr % 2 ** 32, true);
    v.setUint32(d + 4, Math.floor(addr / 2 ** 32), true);
    v.setUint32(d + 8, len, true);
    v.setUint16(d + 12, flags, true);
    v.setUint16(d + 14, next, true);
  }

  /** Builds a chain from free descriptors and makes it available; returns its head (-1 when full). */
  add(bufs: DriverBuffer[]): number {
    if (bufs.length === 0 || bufs.length > this.free.length) return -1;
    const ids = bufs.map(() => this.free.pop()!);
    bufs.forEach((b, k) => {
      const last = k === bufs.length - 1;
      this.writeDesc(ids[k], b.addr, b.len, (b.write ? VRING_DESC_F_WRITE : 0) | (last ? 0 : VRING_DESC_F_NEXT), last ? 0 : ids[k + 1]);
    });
    this.chainLen[ids[0]] = bufs.length;
    this.makeAvailable(ids[0]);
    return ids[0];
  }

  /**
   * Makes one descriptor pointing at an indirect table (built at `tableAddr` from `bufs`) available
   * (needs VIRTIO_F_RING_INDIRECT_DESC).
   */
  addIndirect(bufs: DriverBuffer[], tableAddr: number): number {
    if (this.free.length === 0) return -1;
    bufs.forEach((b, k) => {
      const last = k === bufs.length - 1;
      this.writeDesc(k, b.addr, b.len, (b.write ? VRING_DESC_F_WRITE : 0) | (last ? 0 : VRING_DESC_F_NEXT), last ? 0 : k + 1, tableAddr);
    });
    const head = this.free.pop()!;
    this.writeDesc(head, tableAddr, VRING_DESC_SIZE * bufs.length, VRING_DESC_F_INDIRECT, 0);
    this.chainLen[head] = 1;
    this.makeAvailable(head);
    return head;
  }

  /** Puts `head` in the next available ring slot and publishes avail->idx. */
  makeAvailable(head: number): void {
    this.view.setUint16(this.availAddr + 4 + 2 * (this.availIdx % this.size), head, true);
    this.availIdx = (this.availIdx + 1) & 0xffff;
    this.view.setUint16(this.availAddr + 2, this.availIdx, true);
  }

  /** VRING_AVAIL_F_NO_INTERRUPT: ask the device not to notify used buffers. */
  suppressInterrupts(on: boolean): void {
    this.view.setUint16(this.availAddr, on ? VRING_AVAIL_F_NO_INTERRUPT : 0, true);
  }

  /** used->idx as the device last published it. */
  get usedIdx(): number {
    return this.view.getUint16(this.usedAddr + 2, true);
  }

  /** New used entries since the last call; their descriptors return to the free list. */
  takeUsed(): UsedEntry[] {
    const out: UsedEntry[] = [];
    const end = this.usedIdx;
    while (this.lastUsed !== end) {
      const e = this.usedAddr + 4 + VRING_USED_ELEM_SIZE * (this.lastUsed % this.size);
      const head = this.view.getUint32(e, true);
      out.push({ head, len: this.view.getUint32(e + 4, true) });
      this.release(head);
      this.lastUsed = (this.lastUsed + 1) & 0xffff;
    }
    return out;
  }

  /** Returns the used entries' count without freeing them (for drivers that reuse fixed chains). */
  reclaim(): number {
    const n = (this.usedIdx - this.lastUsed) & 0xffff;
    this.lastUsed = this.usedIdx;
    return n;
  }

  private release(head: number): void {
    let i = head;
    const n = this.chainLen[head] || 1;
    for (let k = 0; k < n && i < this.size; k++) {
      this.free.push(i);
      const flags = this.view.getUint16(this.descAddr + VRING_DESC_SIZE * i + 12, true);
      if ((flags & VRING_DESC_F_NEXT) === 0) break;
      i = this.view.getUint16(this.descAddr + VRING_DESC_SIZE * i + 14, true);
    }
  }
}
