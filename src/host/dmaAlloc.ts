import type { GuestMemory } from '../hw/guestMemory.js';
import { VfioError } from './vfio/vfioError.js';

/**
 * The host kernel's coherent DMA memory (what dma_alloc_coherent hands a driver for its rings and
 * command buffers), carved out of the machine's DMA-visible memory from the top down, in whole
 * 4 KiB pages, so it stays clear of guest RAM and test buffers placed from low addresses. One
 * allocator per memory, shared by every driver of every host on it. Freed blocks are reused for
 * requests of the same size. Everything from the lowest page handed out to the top is marked as the
 * host's (GuestMemory.hostReservedFrom): no device a VMM owns reaches it, whatever the VMM maps.
 */
export class HostDmaAllocator {
  private top: number;
  private readonly free = new Map<number, number[]>();
  private readonly live = new Map<number, number>();

  constructor(readonly memory: GuestMemory) {
    this.top = Math.floor(memory.size / PAGE) * PAGE;
  }

  /** The lowest address handed out so far (everything from here to the top may be the host's). */
  get low(): number {
    return this.top;
  }

  /** `bytes` (rounded up to whole pages) of page-aligned memory; ENOMEM when memory runs out. */
  alloc(bytes: number): number {
    if (!Number.isInteger(bytes) || bytes <= 0) throw new VfioError('EINVAL', `cannot allocate ${bytes} bytes of DMA memory`);
    const size = Math.ceil(bytes / PAGE) * PAGE;
    const reuse = this.free.get(size);
    let addr: number;
    if (reuse !== undefined && reuse.length > 0) {
      addr = reuse.pop()!;
    } else {
      // the lowest page stays out of reach: address 0 reads as "no buffer" to many drivers
      if (this.top - size < PAGE) throw new VfioError('ENOMEM', `no room for ${size} bytes of host DMA memory`);
      this.top -= size;
      addr = this.top;
      this.memory.hostReservedFrom = this.top;
    }
    this.live.set(addr, size);
    this.memory.fill(addr, size, 0);
    return addr;
  }

  /** dma_free_coherent: gives back a block alloc() returned (anything else is ignored). */
  release(addr: number): void {
    const size = this.live.get(addr);
    if (size === undefined) return;
    this.live.delete(addr);
    let list = this.free.get(size);
    if (list === undefined) this.free.set(size, (list = []));
    list.push(addr);
  }
}

const PAGE = 4096;
const allocators = new WeakMap<GuestMemory, HostDmaAllocator>();

/** The host DMA allocator of `memory`. */
export function hostDma(memory: GuestMemory): HostDmaAllocator {
  let a = allocators.get(memory);
  if (a === undefined) allocators.set(memory, (a = new HostDmaAllocator(memory)));
  return a;
}
