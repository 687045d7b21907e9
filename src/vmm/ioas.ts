import type { GuestMemory } from '../hw/guestMemory.js';
import { IommuDomain } from '../hw/embedding/iommu.js';
import { VfioError } from '../host/vfio/vfioError.js';

/** The IOMMU page size the maps are checked against (x86: 4 KiB, the smallest the type1 bitmap allows). */
export const IOMMU_PAGE = 4096;

const MAX_IOVA = 2 ** 64;

function isCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0;
}

/**
 * A VMM's I/O address space: what it maps for its assigned devices (VFIO_IOMMU_MAP_DMA on a type1
 * container, IOMMU_IOAS_MAP on iommufd), with the kernel's checks and errno (vfio_dma_do_map /
 * vfio_dma_do_unmap, type1 v2): iova, size and the memory offset are page aligned and size is not 0
 * (EINVAL), the range does not wrap (EINVAL), the memory holds it (EFAULT: the pages cannot be
 * pinned), and it overlaps no mapping (EEXIST). Unmapping may not cut a mapping in two (EINVAL) and
 * returns the bytes it unmapped. Devices attached to `domain` DMA through these mappings only.
 */
export class Ioas {
  /** the IOMMU domain the mappings are programmed into; assigned devices' DMA goes through it */
  readonly domain: IommuDomain;

  constructor(name = 'ioas') {
    this.domain = new IommuDomain(name);
  }

  /** Maps [iova, iova+size) to `memory` from `offset`. */
  map(iova: number, size: number, memory: GuestMemory, offset = 0): void {
    if (!isCount(iova) || !isCount(size) || !isCount(offset)) throw new VfioError('EINVAL', `MAP_DMA: iova ${String(iova)}, size ${String(size)} and offset ${String(offset)} must be non-negative integers`);
    if (size === 0) throw new VfioError('EINVAL', 'MAP_DMA: size 0');
    if ((iova % IOMMU_PAGE) + (size % IOMMU_PAGE) + (offset % IOMMU_PAGE) !== 0) {
      throw new VfioError('EINVAL', `MAP_DMA: iova 0x${iova.toString(16)}, size 0x${size.toString(16)} and offset 0x${offset.toString(16)} must be multiples of ${IOMMU_PAGE}`);
    }
    if (iova + size > MAX_IOVA) throw new VfioError('EINVAL', `MAP_DMA: [0x${iova.toString(16)}, +0x${size.toString(16)}) wraps the IOVA space`);
    if (offset + size > memory.size) throw new VfioError('EFAULT', `MAP_DMA: ${size} bytes from offset 0x${offset.toString(16)} are not inside the ${memory.size}-byte memory`);
    for (const m of this.domain.mappings()) {
      if (iova < m.iova + m.size && m.iova < iova + size) {
        throw new VfioError('EEXIST', `MAP_DMA: [0x${iova.toString(16)}, +0x${size.toString(16)}) overlaps the mapping at 0x${m.iova.toString(16)}`);
      }
    }
    this.domain.insert({ iova, size, memory, offset });
  }

  /** Unmaps every mapping inside [iova, iova+size); returns the bytes unmapped (0 when none). */
  unmap(iova: number, size: number): number {
    if (!isCount(iova) || !isCount(size)) throw new VfioError('EINVAL', `UNMAP_DMA: iova ${String(iova)} and size ${String(size)} must be non-negative integers`);
    if (size === 0 || iova % IOMMU_PAGE !== 0 || size % IOMMU_PAGE !== 0) throw new VfioError('EINVAL', `UNMAP_DMA: iova 0x${iova.toString(16)} and size 0x${size.toString(16)} must be non-zero multiples of ${IOMMU_PAGE}`);
    if (iova + size > MAX_IOVA) throw new VfioError('EINVAL', 'UNMAP_DMA: the range wraps the IOVA space');
    const end = iova + size;
    for (const m of this.domain.mappings()) {
      const mEnd = m.iova + m.size;
      // type1 v2: a range that starts or ends inside a mapping would bisect it
      if ((m.iova < iova && mEnd > iova) || (m.iova < end && mEnd > end)) {
        throw new VfioError('EINVAL', `UNMAP_DMA: [0x${iova.toString(16)}, +0x${size.toString(16)}) would split the mapping [0x${m.iova.toString(16)}, +0x${m.size.toString(16)})`);
      }
    }
    const gone = this.domain.remove((m) => m.iova >= iova && m.iova + m.size <= end);
    return gone.reduce((n, m) => n + m.size, 0);
  }
}
