import type { GuestMemory } from '../hw/guestMemory.js';
import {
  VIRTIO_PCI_VRING_ALIGN, VRING_AVAIL_F_NO_INTERRUPT, VRING_DESC_F_INDIRECT, VRING_DESC_F_NEXT, VRING_DESC_F_WRITE, VRING_DESC_SIZE,
  VRING_USED_ELEM_SIZE, VRING_USED_F_NO_NOTIFY,
} from '../hw/devices/virtio/virtioSpec.js';

/** One piece of a buffer: a DMA (guest-physical) address and a length. */
export interface Sg {
  addr: number;
  len: number;
}

/** What virtqueue_get_buf hands back: the driver's token for the buffer and the bytes the device wrote. */
export interface UsedBuf<T> {
  token: T;
  len: number;
}

export interface VringOptions {
  /** VIRTIO_F_RING_INDIRECT_DESC was negotiated: chains of more than one piece go in an indirect table */
  indirect?: boolean;
  /** DMA memory for the indirect tables: one table of `indirectMax` descriptors per ring entry */
  indirectArea?: number;
  indirectMax?: number;
  /** the queue has no callback: the device is asked not to interrupt (avail flags NO_INTERRUPT) */
  noCallback?: boolean;
}

/**
 * The bytes a split virtqueue of `num` entries takes in the legacy layout, as Linux's vring_size:
 * descriptors, then the available ring (flags, idx, ring[num], used_event), padded to `align`, then
 * the used ring (flags, idx, ring[num], avail_event).
 */
export function vringBytes(num: number, align = VIRTIO_PCI_VRING_ALIGN): number {
  const availEnd = VRING_DESC_SIZE * num + 2 * (3 + num);
  return Math.ceil(availEnd / align) * align + 2 * 3 + VRING_USED_ELEM_SIZE * num;
}

/** Bytes of the indirect tables a ring of `num` entries needs with `max` descriptors per table. */
export function indirectBytes(num: number, max: number): number {
  return num * max * VRING_DESC_SIZE;
}

/**
 * The driver's half of a split virtqueue, kept the way Linux's virtio_ring.c keeps it (struct
 * vring_virtqueue, split layout, without VIRTIO_RING_F_EVENT_IDX): a shadow of every descriptor's
 * next link and flags so the free list never trusts memory the device can write, the available index
 * shadowed and published on each add, buffers taken back from the used ring by their head index and
 * checked (an id out of range or not a head marks the queue broken, as BAD_RING does), notification
 * suppression through the avail flags, and kick_prepare honouring the device's NO_NOTIFY.
 *
 * Rings live in guest memory at `base`, zeroed at creation (dma_alloc_coherent). The device finds
 * them through the legacy Queue Address: `pfn` = base >> 12.
 */
export class Vring<T> {
  readonly descAddr: number;
  readonly availAddr: number;
  readonly usedAddr: number;
  numFree: number;
  broken = false;
  /** why the queue broke (BAD_RING's message) */
  brokenReason = '';
  private freeHead = 0;
  private availIdxShadow = 0;
  private availFlagsShadow = 0;
  private lastUsedIdx = 0;
  private numAdded = 0;
  private readonly extraNext: Uint16Array;
  private readonly extraFlags: Uint16Array;
  private readonly data: (T | undefined)[];
  private readonly indirect: boolean;
  private readonly indirectArea: number;
  private readonly indirectMax: number;

  // guest RAM may be an embedder's buffer that is replaced at any time: never kept across calls
  private get view(): DataView {
    return this.memory.view;
  }

  constructor(
    readonly memory: GuestMemory,
    readonly index: number,
    readonly base: number,
    readonly num: number,
    options: VringOptions = {},
  ) {
    if (!Number.isInteger(num) || num <= 0 || (num & (num - 1)) !== 0 || num > 32768) throw new RangeError(`virtqueue size ${num} is not a power of two up to 32768`);
    if (base % VIRTIO_PCI_VRING_ALIGN !== 0) throw new RangeError(`a legacy virtqueue starts on a ${VIRTIO_PCI_VRING_ALIGN}-byte boundary, not at 0x${base.toString(16)}`);
    const bytes = vringBytes(num);
    if (!memory.contains(base, bytes)) throw new RangeError(`virtqueue [0x${base.toString(16)}, +${bytes}) is outside guest memory`);
    this.descAddr = base;
    this.availAddr = base + VRING_DESC_SIZE * num;
    this.usedAddr = base + Math.ceil((VRING_DESC_SIZE * num + 2 * (3 + num)) / VIRTIO_PCI_VRING_ALIGN) * VIRTIO_PCI_VRING_ALIGN;
    memory.bytes.fill(0, base, base + bytes);
    this.indirectMax = options.indirectMax ?? 0;
    this.indirectArea = options.indirectArea ?? 0;
    this.indirect = options.indirect === true && this.indirectMax > 1;
    if (this.indirect && !memory.contains(this.indirectArea, indirectBytes(num, this.indirectMax))) throw new RangeError('indirect tables outside guest memory');
    this.extraNext = new Uint16Array(num);
    this.extraFlags = new Uint16Array(num);
    for (let i = 0; i < num; i++) this.extraNext[i] = (i + 1) & 0xffff;
    this.data = new Array(num).fill(undefined);
    this.numFree = num;
    if (options.noCallback) {
      this.availFlagsShadow |= VRING_AVAIL_F_NO_INTERRUPT;
      this.view.setUint16(this.availAddr, this.availFlagsShadow, true);
    }
  }

  /** The legacy Queue Address register value: the ring's page frame number. */
  get pfn(): number {
    return Math.floor(this.base / VIRTIO_PCI_VRING_ALIGN);
  }

  private writeDesc(at: number, addr: number, len: number, flags: number, next: number): void {
    const v = this.view;
    v.setUint32(at, addr % 2 ** 32, true);
    v.setUint32(at + 4, Math.floor(addr / 2 ** 32), true);
    v.setUint32(at + 8, len >>> 0, true);
    v.setUint16(at + 12, flags, true);
    v.setUint16(at + 14, next, true);
  }

  /**
   * virtqueue_add_sgs: `out` pieces the device reads, then `inn` pieces it writes, as one buffer
   * identified by `token`. More than one piece goes in an indirect table when that was negotiated.
   * Returns false (ENOSPC) when the ring has no room; a broken queue refuses everything.
   */
  add(out: Sg[], inn: Sg[], token: T): boolean {
    if (this.broken) return false;
    const total = out.length + inn.length;
    if (total === 0) throw new RangeError('a buffer needs at least one piece');
    const useIndirect = this.indirect && total > 1 && total <= this.indirectMax && this.numFree > 0;
    const descsUsed = useIndirect ? 1 : total;
    if (this.numFree < descsUsed) return false;
    const head = this.freeHead;
    const pieces = [...out.map((s) => [s, 0] as const), ...inn.map((s) => [s, VRING_DESC_F_WRITE] as const)];
    if (useIndirect) {
      const table = this.indirectArea + head * this.indirectMax * VRING_DESC_SIZE;
      pieces.forEach(([s, w], k) => {
        const last = k === total - 1;
        this.writeDesc(table + k * VRING_DESC_SIZE, s.addr, s.len, w | (last ? 0 : VRING_DESC_F_NEXT), last ? 0 : k + 1);
      });
      this.writeDesc(this.descAddr + head * VRING_DESC_SIZE, table, total * VRING_DESC_SIZE, VRING_DESC_F_INDIRECT, this.extraNext[head]);
      this.extraFlags[head] = VRING_DESC_F_INDIRECT;
      this.freeHead = this.extraNext[head];
    } else {
      let i = head;
      pieces.forEach(([s, w], k) => {
        const flags = w | (k === total - 1 ? 0 : VRING_DESC_F_NEXT);
        this.writeDesc(this.descAddr + i * VRING_DESC_SIZE, s.addr, s.len, flags, this.extraNext[i]);
        this.extraFlags[i] = flags;
        i = this.extraNext[i];
      });
      this.freeHead = i;
    }
    this.numFree -= descsUsed;
    this.data[head] = token;
    const slot = this.availIdxShadow & (this.num - 1);
    this.view.setUint16(this.availAddr + 4 + 2 * slot, head, true);
    this.availIdxShadow = (this.availIdxShadow + 1) & 0xffff;
    this.view.setUint16(this.availAddr + 2, this.availIdxShadow, true);
    this.numAdded++;
    return true;
  }

  /** virtqueue_kick_prepare: whether the device wants a notification (used flags without NO_NOTIFY). */
  kickPrepare(): boolean {
    this.numAdded = 0;
    return (this.view.getUint16(this.usedAddr, true) & VRING_USED_F_NO_NOTIFY) === 0;
  }

  /** The device published used entries the driver has not taken yet. */
  moreUsed(): boolean {
    return this.lastUsedIdx !== this.view.getUint16(this.usedAddr + 2, true);
  }

  private badRing(reason: string): null {
    this.broken = true;
    this.brokenReason = reason;
    return null;
  }

  /** virtqueue_get_buf: the next buffer the device has finished with, or null. */
  getBuf(): UsedBuf<T> | null {
    if (this.broken || !this.moreUsed()) return null;
    const e = this.usedAddr + 4 + VRING_USED_ELEM_SIZE * (this.lastUsedIdx & (this.num - 1));
    const id = this.view.getUint32(e, true);
    const len = this.view.getUint32(e + 4, true);
    if (id >= this.num) return this.badRing(`id ${id} out of range`);
    const token = this.data[id];
    if (token === undefined) return this.badRing(`id ${id} is not a head`);
    this.detach(id);
    this.lastUsedIdx = (this.lastUsedIdx + 1) & 0xffff;
    if ((this.availFlagsShadow & VRING_AVAIL_F_NO_INTERRUPT) === 0) this.view.setUint16(this.availAddr + 4 + 2 * this.num, this.lastUsedIdx, true);
    return { token, len };
  }

  /** detach_buf_split: the chain from `head` goes back on the free list (following the shadow links). */
  private detach(head: number): void {
    this.data[head] = undefined;
    let i = head;
    while (this.extraFlags[i] & VRING_DESC_F_NEXT) {
      i = this.extraNext[i];
      this.numFree++;
    }
    this.extraNext[i] = this.freeHead;
    this.freeHead = head;
    this.numFree++;
  }

  /** virtqueue_disable_cb: ask the device not to interrupt for used buffers. */
  disableCb(): void {
    if (this.availFlagsShadow & VRING_AVAIL_F_NO_INTERRUPT) return;
    this.availFlagsShadow |= VRING_AVAIL_F_NO_INTERRUPT;
    this.view.setUint16(this.availAddr, this.availFlagsShadow, true);
  }

  /** virtqueue_enable_cb: interrupts back on; false when used buffers are already waiting (poll again). */
  enableCb(): boolean {
    if (this.availFlagsShadow & VRING_AVAIL_F_NO_INTERRUPT) {
      this.availFlagsShadow &= ~VRING_AVAIL_F_NO_INTERRUPT;
      this.view.setUint16(this.availAddr, this.availFlagsShadow, true);
    }
    this.view.setUint16(this.availAddr + 4 + 2 * this.num, this.lastUsedIdx, true);
    return !this.moreUsed();
  }

  /**
   * virtqueue_enable_cb_delayed without EVENT_IDX: interrupts back on; false when more than three
   * quarters of the outstanding buffers are already used (the caller reclaims now instead).
   */
  enableCbDelayed(): boolean {
    if (this.availFlagsShadow & VRING_AVAIL_F_NO_INTERRUPT) {
      this.availFlagsShadow &= ~VRING_AVAIL_F_NO_INTERRUPT;
      this.view.setUint16(this.availAddr, this.availFlagsShadow, true);
    }
    const bufs = Math.floor((((this.availIdxShadow - this.lastUsedIdx) & 0xffff) * 3) / 4);
    this.view.setUint16(this.availAddr + 4 + 2 * this.num, (this.lastUsedIdx + bufs) & 0xffff, true);
    return ((this.view.getUint16(this.usedAddr + 2, true) - this.lastUsedIdx) & 0xffff) <= bufs;
  }

  /** virtqueue_detach_unused_buf: after a reset, hands back buffers the device never returned. */
  detachUnusedBuf(): T | null {
    for (let i = 0; i < this.num; i++) {
      const token = this.data[i];
      if (token === undefined) continue;
      this.detach(i);
      this.availIdxShadow = (this.availIdxShadow - 1) & 0xffff;
      this.view.setUint16(this.availAddr + 2, this.availIdxShadow, true);
      return token;
    }
    return null;
  }

  /**
   * vring_interrupt: IRQ_NONE (false) when the device has used nothing new; otherwise the callback
   * runs (unless the queue is broken) and the interrupt counts as handled.
   */
  interrupt(callback: (() => void) | null): boolean {
    if (!this.moreUsed()) return false;
    if (this.broken) return true;
    callback?.();
    return true;
  }
}
