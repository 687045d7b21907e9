import { VFIO } from '../uapi/constants.js';
import { VfioError } from '../vfioError.js';
import { MMAP_PAGE, VfioMmapFault } from '../mapping.js';
import type { VfioMapping } from '../mapping.js';
import type { MappingHolder } from '../vfioDeviceOps.js';
import type { VfioPciCoreDevice } from './vfioPciCoreDevice.js';

/**
 * vfio_pci_core_mmap: region `index` from byte `start` (page aligned), `length` bytes (whole pages),
 * mapped for `holder` (the file). Only a BAR whose mmap vfio-pci-core allowed at enable (memory, a
 * page or more, or a sub-page BAR that got its dummy reservation) can be mapped, and only within the
 * BAR rounded up to a page; everything else is EINVAL, as Linux answers.
 */
export function vfioPciCoreMmapRegion(vdev: VfioPciCoreDevice, index: number, start: number, length: number, holder: MappingHolder): VfioMapping {
  vdev.requireOpen();
  if (index >= VFIO.PCI_NUM_REGIONS + vdev.regions.length) throw new VfioError('EINVAL', `region index ${index} does not exist`);
  // a device-specific region maps only through its own mmap op, which none of pcisim's regions has
  if (index >= VFIO.PCI_NUM_REGIONS) throw new VfioError('EINVAL', `device region ${index} cannot be mapped`);
  if (index >= VFIO.PCI_ROM_REGION_INDEX) throw new VfioError('EINVAL', `region ${index} (ROM, config or VGA) cannot be mapped`);
  if (vdev.barMmapSupported[index] !== true) throw new VfioError('EINVAL', `BAR ${index} cannot be mapped (not a memory BAR, unassigned, or a sub-page BAR without its reservation)`);
  const physLen = Math.ceil(vdev.barLen(index) / MMAP_PAGE) * MMAP_PAGE;
  if (start + length > physLen) throw new VfioError('EINVAL', `mapping 0x${start.toString(16)}+0x${length.toString(16)} runs past BAR ${index} (0x${physLen.toString(16)} bytes in whole pages)`);
  return new BarMapping(vdev, index, start, length, holder);
}

/**
 * The pages of a BAR as the user's loads and stores see them. Each access is a fault-in of its page
 * (vfio_pci_mmap_fault): with memory decode off, or the device gone, it is SIGBUS; Linux zaps the
 * mappings whenever decode goes off or the device resets, so checking at every access answers the same.
 * A load or store goes to the BAR's physical address, as the CPU's would.
 */
class BarMapping implements VfioMapping {
  private mapped = true;

  constructor(
    private readonly vdev: VfioPciCoreDevice,
    private readonly bar: number,
    private readonly start: number,
    readonly length: number,
    private readonly holder: MappingHolder,
  ) {}

  private check(offset: number, size: number): void {
    if (!this.mapped) throw new VfioMmapFault('SIGSEGV', `access to BAR ${this.bar} of ${this.vdev.bdf} after munmap`);
    if ((offset >>> 0) !== offset || offset + size > this.length || (size !== 1 && size !== 2 && size !== 4)) {
      throw new VfioMmapFault('SIGSEGV', `${String(size)}-byte access at ${String(offset)} is outside the ${this.length}-byte mapping of BAR ${this.bar} of ${this.vdev.bdf}`);
    }
    if (!this.holder.mapped()) throw new VfioMmapFault('SIGBUS', `${this.vdev.bdf} was removed from the hardware`);
    if (!this.vdev.memoryEnabled()) throw new VfioMmapFault('SIGBUS', `BAR ${this.bar} of ${this.vdev.bdf}: memory decode is disabled (or the device is in D3)`);
  }

  read(offset: number, size: 1 | 2 | 4): number {
    this.check(offset, size);
    return this.vdev.hwBarRead(this.bar, this.start + offset, size) >>> 0;
  }

  write(offset: number, size: 1 | 2 | 4, value: number): void {
    this.check(offset, size);
    this.vdev.hwBarWrite(this.bar, this.start + offset, size, size === 4 ? value >>> 0 : value & (size === 2 ? 0xffff : 0xff));
  }

  munmap(): void {
    if (!this.mapped) return;
    this.mapped = false;
    this.holder.unmapped();
  }
}
