import type { GuestMemory } from '../guestMemory.js';

/** Which way a device's DMA went: it read memory, or wrote it. */
export type DmaDirection = 'read' | 'write';

/** A device DMA the IOMMU refused: nothing was written and a read got nothing usable. */
export interface IommuFault {
  /** the device's address (host bdf of the function that issued the DMA) */
  device: string;
  /** the I/O virtual address the device used, and how many bytes */
  iova: number;
  /** bytes the DMA covered */
  length: number;
  /** whether the device read or wrote */
  direction: DmaDirection;
}

/** One IOVA range of a domain and the memory behind it. */
export interface IommuMapping {
  /** first I/O virtual address of the range */
  iova: number;
  /** bytes in the range */
  size: number;
  /** the memory the range translates into */
  memory: GuestMemory;
  /** where the range starts inside `memory` */
  offset: number;
}

/**
 * An IOMMU domain: the translation an assigned device's DMA goes through (what an iommufd IOAS or
 * a vfio type1 container programs into the hardware). It holds mappings only; the kernel's checks
 * (alignment, overlap, errno) live with the caller that programs it (src/vmm/ioas.ts). A DMA is
 * translated only when it lies entirely inside one mapping and does not reach memory the host keeps
 * for itself (GuestMemory.hostReservedFrom); anything else is a fault, reported to the listeners.
 */
export class IommuDomain {
  private list: IommuMapping[] = [];
  /** bumped on every change, so translation caches know to look again */
  generation = 0;
  private readonly listeners: ((fault: IommuFault) => void)[] = [];
  /** faults seen so far (a count: the listeners get the details) */
  faults = 0;

  /** @param name names the domain in fault reports and logs */
  constructor(readonly name = 'iommu') {}

  /** The mappings, by IOVA. */
  mappings(): readonly IommuMapping[] {
    return this.list;
  }

  /** Adds a mapping (the caller checked it does not overlap). */
  insert(m: IommuMapping): void {
    this.list = [...this.list, { ...m }].sort((a, b) => a.iova - b.iova);
    this.generation++;
  }

  /** Removes the mappings for which `drop` is true; returns them. */
  remove(drop: (m: IommuMapping) => boolean): IommuMapping[] {
    const gone = this.list.filter(drop);
    if (gone.length > 0) {
      this.list = this.list.filter((m) => !drop(m));
      this.generation++;
    }
    return gone;
  }

  /** The mapping holding all of [iova, iova+len), or undefined. */
  find(iova: number, len: number): IommuMapping | undefined {
    for (const m of this.list) {
      if (iova >= m.iova && iova + len <= m.iova + m.size) return m;
      if (m.iova > iova) break;
    }
    return undefined;
  }

  /** Calls `listener` for every fault from now on; returns a function that stops it. */
  onFault(listener: (fault: IommuFault) => void): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /** Reports a refused DMA. */
  fault(f: IommuFault): void {
    this.faults++;
    for (const l of this.listeners) l(f);
  }
}
