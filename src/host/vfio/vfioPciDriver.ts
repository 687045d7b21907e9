import type { PciDev, PciDeviceId, PciDriver } from '../pciDriver.js';
import { pciDeviceId } from '../pciDriver.js';
import type { PciDriverFileState } from '../pciCore.js';
import { PCI_HEADER_TYPE } from '../../hw/pciRegs.js';
import type { VfioCore } from './vfioCore.js';
import type { VfioDeviceOps } from './vfioDeviceOps.js';
import { VfioError } from './vfioError.js';
import { VfioPciCoreDevice } from './pciCore/vfioPciCoreDevice.js';
import { vfioPciCoreOps } from './pciCore/vfioPciCore.js';

export interface VfioPciDriverSpec<D extends VfioPciCoreDevice> {
  name: string;
  idTable: PciDeviceId[];
  ops: VfioDeviceOps<D>;
  /** the device class to allocate (vfio_alloc_device with the variant's struct) */
  create?: (vfio: VfioCore, pdev: PciDev, ops: VfioDeviceOps<D>) => D;
  /** extra probe checks; throw a VfioError to refuse */
  probe?: (pdev: PciDev) => void;
}

/**
 * A PCI driver that registers its devices with vfio through vfio-pci-core (vfio_pci_core_register_device):
 * plain vfio-pci and every variant driver are built with this.
 */
export function vfioPciDriver<D extends VfioPciCoreDevice>(vfio: VfioCore, spec: VfioPciDriverSpec<D>): PciDriver & PciDriverFileState {
  return {
    name: spec.name,
    idTable: spec.idTable,
    probe(pdev: PciDev) {
      // vfio-pci-core drives normal (type 0) functions only
      if ((pdev.fn.configRead(PCI_HEADER_TYPE, 1) & 0x7f) !== 0) throw new VfioError('EINVAL', `${pdev.bdf} is not a type 0 function`);
      spec.probe?.(pdev);
      const vdev = spec.create ? spec.create(vfio, pdev, spec.ops) : (new VfioPciCoreDevice(vfio, pdev, spec.ops) as D);
      // root-bus devices and VFs reset alone; otherwise the whole bus is one reset domain
      const setId = pdev.fn.bus.bridge === null || pdev.isVirtfn ? vdev : pdev.fn.bus;
      vfio.register(vdev, setId);
      pdev.driverData = vdev;
    },
    /** user space holds the device file: the PCI core must not move its BARs */
    hasOpenFiles(pdev: PciDev) {
      const vdev = pdev.driverData as VfioPciCoreDevice | null;
      return !!vdev && vdev.openCount > 0;
    },
    remove(pdev: PciDev) {
      const vdev = pdev.driverData as VfioPciCoreDevice | null;
      if (!vdev) return;
      vfio.unregister(vdev);
      pdev.driverData = null;
    },
  };
}

/** vfio-pci: matches any device, but only through driver_override (PCI_ID_F_VFIO_DRIVER_OVERRIDE). */
export function genericVfioPciDriver(vfio: VfioCore): PciDriver {
  return vfioPciDriver(vfio, { name: 'vfio-pci', idTable: [pciDeviceId({ overrideOnly: true })], ops: vfioPciCoreOps });
}
