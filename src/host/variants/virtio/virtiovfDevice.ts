import type { PciDev } from '../../pciDriver.js';
import { VfioPciCoreDevice } from '../../vfio/pciCore/vfioPciCoreDevice.js';
import type { VfioSubsystem } from '../../vfio/vfioDevice.js';
import type { VfioDeviceOps } from '../../vfio/vfioDeviceOps.js';

/**
 * struct virtiovf_pci_core_device: a virtio-net VF driven through vfio-pci-core with an emulated
 * legacy I/O BAR0 (Linux drivers/vfio/pci/virtio/). Everything here is the variant's own state; the
 * core's state it reaches only through what vfio-pci-core exports.
 */
export class VirtiovfPciCoreDevice extends VfioPciCoreDevice {
  /** virtvdev->pci_cmd: the Command register as the user last wrote it (its IO bit gates BAR0) */
  pciCmd = 0;
  /** virtvdev->pci_base_addr_0: BAR0 as the user last wrote it (sizing reads ~(size-1) | IO) */
  pciBaseAddr0 = 0;
  /** virtvdev->bar0_virtual_buf_size: VIRTIO_PCI_CONFIG_OFF(true) + offsetofend(virtio_net_config, status) */
  bar0Size: number;
  /** where the VF's legacy notify register is (LEGACY_NOTIFY_INFO, learned once at init) */
  notifyBar: number;
  /** Offset of the VF's legacy notify register in notifyBar. */
  notifyOffset: number;
  /** the VF's member id in its PF's SR-IOV group (pci_iov_vf_id + 1) */
  memberId: number;
  /** legacy BAR0 accesses that reached the PF's admin queue, and notifications written directly */
  adminAccesses = 0;
  /** Queue notifications written directly to the VF's notify register. */
  notifies = 0;

  constructor(vfio: VfioSubsystem, pdev: PciDev, ops: VfioDeviceOps<any>, legacy: { bar0Size: number; notifyBar: number; notifyOffset: number; memberId: number }) {
    super(vfio, pdev, ops);
    this.bar0Size = legacy.bar0Size;
    this.notifyBar = legacy.notifyBar;
    this.notifyOffset = legacy.notifyOffset;
    this.memberId = legacy.memberId;
  }
}
