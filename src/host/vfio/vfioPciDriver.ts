import type { PciDev, PciDeviceId, PciDriver } from '../pciDriver.js';
import { pciDeviceId } from '../pciDriver.js';
import type { PciDriverFileState } from '../pciCore.js';
import type { PciDriverRuntimePm } from '../pciPm.js';
import { PCI_HEADER_TYPE } from '../../hw/pciRegs.js';
import type { VfioCore } from './vfioCore.js';
import type { VfioDeviceOps } from './vfioDeviceOps.js';
import { VfioError } from './vfioError.js';
import { VfioPciCoreDevice } from './pciCore/vfioPciCoreDevice.js';
import { vfioPciCoreOps } from './pciCore/vfioPciCore.js';
import { vfioPciCoreSriovConfigure, vfioPciVfInit, vfioPciVfUninit } from './pciCore/sriov.js';
import { pciNumVf } from '../iov.js';
import { vfioPciPmRequestResume } from './pciCore/lowPower.js';

/** What {@link vfioPciDriver} needs to make a vfio-pci (variant) driver: name, ID table, device ops. */
export interface VfioPciDriverSpec<D extends VfioPciCoreDevice> {
  /** Driver name, e.g. "vfio-pci" or a variant's ("virtio-vfio-pci"). */
  name: string;
  /** struct pci_device_id table the driver matches devices against. */
  idTable: PciDeviceId[];
  /** The vfio device ops: vfio-pci-core's defaults with the variant's overrides. */
  ops: VfioDeviceOps<D>;
  /** the device class to allocate (vfio_alloc_device with the variant's struct) */
  create?: (vfio: VfioCore, pdev: PciDev, ops: VfioDeviceOps<D>) => D;
  /** extra probe checks; throw a VfioError to refuse */
  probe?: (pdev: PciDev) => void;
  /**
   * the driver's sriov_configure (vfio-pci's vfio_pci_sriov_configure); absent: the driver has none
   * and writing sriov_numvfs of a PF it drives is ENOENT
   */
  sriovConfigure?: (vdev: D, numVfs: number) => number;
}

/**
 * A PCI driver that registers its devices with vfio through vfio-pci-core (vfio_pci_core_register_device):
 * plain vfio-pci and every variant driver are built with this.
 */
export function vfioPciDriver<D extends VfioPciCoreDevice>(
  vfio: VfioCore,
  spec: VfioPciDriverSpec<D>,
): PciDriver & PciDriverFileState & PciDriverRuntimePm {
  const drv: PciDriver & PciDriverFileState & PciDriverRuntimePm = {
    name: spec.name,
    idTable: spec.idTable,
    probe(pdev: PciDev) {
      // vfio-pci-core drives normal (type 0) functions only
      if ((pdev.fn.configRead(PCI_HEADER_TYPE, 1) & 0x7f) !== 0) throw new VfioError('EINVAL', `${pdev.bdf} is not a type 0 function`);
      // vfio_pci_core_register_device: "Cannot bind to PF with SR-IOV enabled" - its VFs may be in
      // use, and VFs that already exist cannot be captured
      if (pciNumVf(pdev)) throw new VfioError('EBUSY', `${pdev.bdf}: cannot bind to a PF with SR-IOV enabled`);
      spec.probe?.(pdev);
      const vdev = spec.create ? spec.create(vfio, pdev, spec.ops) : (new VfioPciCoreDevice(vfio, pdev, spec.ops) as D);
      // root-bus devices and VFs reset alone; otherwise the whole bus is one reset domain
      const setId = pdev.fn.bus.bridge === null || pdev.isVirtfn ? vdev : pdev.fn.bus;
      // vfio_pci_core_register_device: the VF token and bus notifier of a PF, a VF's PF (sriov.ts)
      vfioPciVfInit(vdev, (nb) => vfio.registerBusNotifier(nb));
      try {
        vfio.register(vdev, setId);
      } catch (e) {
        vfioPciVfUninit(vdev);
        throw e;
      }
      pdev.driverData = vdev;
    },
    /** user space holds the device file: the PCI core must not move its BARs */
    hasOpenFiles(pdev: PciDev) {
      const vdev = pdev.driverData as VfioPciCoreDevice | null;
      return !!vdev && vdev.openCount > 0;
    },
    /**
     * vfio_pci_core_aer_err_detected (vfio_pci_core_err_handlers): tell user space through the ERR
     * eventfd, if it set one, and let recovery go on.
     */
    errorDetected(pdev: PciDev) {
      const vdev = pdev.driverData as VfioPciCoreDevice | null;
      vdev?.irqs.errTrigger?.signal();
      return 'can_recover';
    },
    /** pm_request_resume (a PME): vfio-pci-core's runtime PM lives with the open device (lowPower.ts) */
    runtimeRequestResume(pdev: PciDev) {
      const vdev = pdev.driverData as VfioPciCoreDevice | null;
      if (vdev) vfioPciPmRequestResume(vdev);
    },
    remove(pdev: PciDev) {
      const vdev = pdev.driverData as VfioPciCoreDevice | null;
      if (!vdev) return;
      // vfio_pci_core_unregister_device: VFs enabled through this device go first (EBUSY while one
      // of them is open), then the device leaves vfio, then its VF token
      vfioPciCoreSriovConfigure(vdev, 0);
      vfio.unregister(vdev);
      vfioPciVfUninit(vdev);
      pdev.driverData = null;
    },
  };
  const sriov = spec.sriovConfigure;
  if (sriov) {
    drv.sriovConfigure = (pdev: PciDev, numVfs: number) => {
      const vdev = pdev.driverData as D | null;
      if (!vdev) throw new VfioError('ENODEV', `${pdev.bdf} has no vfio device`);
      return sriov(vdev, numVfs);
    };
  }
  return drv;
}

/** vfio-pci's module parameters that this emulation models. */
export interface VfioPciParams {
  /**
   * enable_sriov: whether writing sriov_numvfs of a PF bound to vfio-pci enables VFs
   * (vfio_pci_sriov_configure answers ENOENT without it). Linux's default is off; the emulated host
   * loads vfio-pci with enable_sriov=1, the way hosts that pass VFs of a vfio-pci PF to guests do.
   */
  enableSriov: boolean;
}

/**
 * vfio-pci: matches any device, but only through driver_override (PCI_ID_F_VFIO_DRIVER_OVERRIDE).
 * Its sriov_configure is vfio_pci_sriov_configure: enable_sriov (`params`), then
 * vfio_pci_core_sriov_configure with the VF token flow.
 */
export function genericVfioPciDriver(vfio: VfioCore, params: Partial<VfioPciParams> = {}): PciDriver & {
  /** The module parameters the driver runs with (vfio-pci's enable_sriov ...). */
  params: VfioPciParams;
} {
  const p: VfioPciParams = { enableSriov: params.enableSriov ?? true };
  const drv = vfioPciDriver(vfio, {
    name: 'vfio-pci',
    idTable: [pciDeviceId({ overrideOnly: true })],
    ops: vfioPciCoreOps,
    sriovConfigure: (vdev, numVfs) => {
      if (!p.enableSriov) throw new VfioError('ENOENT', `${vdev.bdf}: vfio-pci was loaded without enable_sriov`);
      return vfioPciCoreSriovConfigure(vdev, numVfs);
    },
  });
  return Object.assign(drv, { params: p });
}
