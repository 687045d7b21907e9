/** The interrupt mode vfio-pci-core has set up through SET_IRQS (vdev->irq_type). */
export type VfioIrqType = 'none' | 'intx' | 'msi' | 'msix';

/**
 * What config virtualization asks of the vfio-pci-core device when a user write means more than a
 * register update. The core implements these with its own locking and interrupt state, as the
 * kernel's writefns call into vfio_pci_core.
 */
export interface VfioConfigHooks {
  /**
   * The user set (true) or cleared (false) INTx Disable in the virtual Command register:
   * vfio_pci_intx_mask / vfio_pci_intx_unmask. Called only on a change.
   */
  intxMask(masked: boolean): void;
  /** The interrupt type in use; a user may only enable MSI in config space while it is 'msi'. */
  irqType(): VfioIrqType;
  /**
   * A write to PMCSR asked for power state `state` (0 = D0 .. 3 = D3hot): the host performs it
   * (vfio_pci_set_power_state); the PowerState bits themselves are not user-writable.
   */
  setPowerState(state: number): void;
  /**
   * The user wrote Initiate FLR (PCIe Device Control, or the AF capability) on a function that
   * advertises FLR: reset the function (pci_try_reset_function).
   */
  flr(): void;
}
