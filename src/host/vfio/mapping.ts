/**
 * mmap(2) of a vfio device file: a region (a BAR) mapped into the user's address space. Loads and
 * stores through the mapping reach the device with no system call, which is how a VMM gives a guest
 * a passthrough BAR at full speed (QEMU maps every mappable BAR area straight into the guest).
 */

/** The page size mmap works in (offsets must be multiples of it, lengths are rounded up to it). */
export const MMAP_PAGE = 4096;

/**
 * A mapping from VfioDeviceFile.mmap. Accesses are little-endian loads and stores of 1, 2 or 4 bytes
 * at an offset from the start of the mapping; they throw VfioMmapFault where the process would get a
 * signal. The mapping outlives close() of its file (the mapping holds the device open, as a vma holds
 * its file) until munmap().
 */
export interface VfioMapping {
  /** bytes mapped: the length asked for, rounded up to whole pages */
  readonly length: number;
  /** A load of `size` bytes at `offset`, as an unsigned number. */
  read(offset: number, size: 1 | 2 | 4): number;
  /** A store of the low `size` bytes of `value` at `offset`. */
  write(offset: number, size: 1 | 2 | 4, value: number): void;
  /** munmap(2): later accesses fault (SIGSEGV); the last one of a closed file releases the device. */
  munmap(): void;
}

/**
 * An access through a mapping that the process would take a signal for: SIGBUS when the device does
 * not answer it (vfio_pci_mmap_fault with memory decode off, or the device removed), SIGSEGV outside
 * the mapping or after munmap.
 */
export class VfioMmapFault extends Error {
  constructor(
    /** 'SIGBUS' or 'SIGSEGV' */
    readonly code: 'SIGBUS' | 'SIGSEGV',
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'VfioMmapFault';
  }
}
