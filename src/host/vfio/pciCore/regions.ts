import type { VfioPciCoreDevice } from './vfioPciCoreDevice.js';

/**
 * A device-specific region a variant driver adds (vfio_pci_core_register_dev_region): its index is
 * VFIO_PCI_NUM_REGIONS + position, and GET_REGION_INFO reports its type/subtype capability.
 */
export interface VfioPciRegion {
  type: number;
  subtype: number;
  size: number;
  /** VFIO.REGION_INFO_FLAG_* */
  flags: number;
  rw(vdev: VfioPciCoreDevice, offset: number, buf: Uint8Array, isWrite: boolean): number;
  release?(vdev: VfioPciCoreDevice): void;
  /** extra capabilities to append to region info (raw bytes of cap structs, headers included) */
  extraCaps?(vdev: VfioPciCoreDevice): Uint8Array[];
}

/**
 * The kernel's io chunking for BAR and config accesses: 4 bytes when aligned and enough remain,
 * else 2, else 1. Calls `piece(offset, size)` for each and returns the bytes covered.
 */
export function forEachPiece(pos: number, count: number, piece: (off: number, size: 1 | 2 | 4, i: number) => void): number {
  let done = 0;
  while (done < count) {
    const off = pos + done;
    const left = count - done;
    const size: 1 | 2 | 4 = left >= 4 && off % 4 === 0 ? 4 : left >= 2 && off % 2 === 0 ? 2 : 1;
    piece(off, size, done);
    done += size;
  }
  return done;
}

export function getLe(buf: Uint8Array, i: number, size: number): number {
  let v = 0;
  for (let k = size - 1; k >= 0; k--) v = (v << 8) | buf[i + k];
  return v >>> 0;
}

export function putLe(buf: Uint8Array, i: number, size: number, v: number): void {
  for (let k = 0; k < size; k++) buf[i + k] = (v >>> (8 * k)) & 0xff;
}
