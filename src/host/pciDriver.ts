import type { PciFunction } from '../hw/pciFunction.js';

/** PCI_ANY_ID: an id-table field that matches anything. */
export const PCI_ANY_ID = 0xffffffff;

/**
 * One entry of a driver's id table (struct pci_device_id). `overrideOnly` is
 * PCI_ID_F_VFIO_DRIVER_OVERRIDE: the entry never binds by itself, only through driver_override, and
 * it is published as a `vfio_pci:` alias instead of a `pci:` one.
 */
export interface PciDeviceId {
  /** Vendor ID to match, or PCI_ANY_ID. */
  vendor: number;
  /** Device ID to match, or PCI_ANY_ID. */
  device: number;
  /** Subsystem Vendor ID to match, or PCI_ANY_ID. */
  subvendor: number;
  /** Subsystem ID to match, or PCI_ANY_ID. */
  subdevice: number;
  /** class/classMask compare the 24-bit class code under the mask */
  class: number;
  /** Which class code bits `class` must match (0 = any class). */
  classMask: number;
  /** PCI_ID_F_VFIO_DRIVER_OVERRIDE: binds only through driver_override, never by itself. */
  overrideOnly?: boolean;
}

/** A PCI driver ID table entry (struct pci_device_id); fields left out match anything (PCI_ANY_ID). */
export function pciDeviceId(fields: Partial<PciDeviceId> & { vendor?: number; device?: number }): PciDeviceId {
  return {
    vendor: fields.vendor ?? PCI_ANY_ID,
    device: fields.device ?? PCI_ANY_ID,
    subvendor: fields.subvendor ?? PCI_ANY_ID,
    subdevice: fields.subdevice ?? PCI_ANY_ID,
    class: fields.class ?? 0,
    classMask: fields.classMask ?? 0,
    overrideOnly: fields.overrideOnly ?? false,
  };
}

/** The identity of a device as the PCI core sees it (IDs of VFs come from the PF, not hardware). */
export interface PciDevIdentity {
  vendor: number;
  device: number;
  subvendor: number;
  subdevice: number;
  class: number;
}

/** A PCI device as the host kernel holds it (struct pci_dev): the hardware function plus driver state. */
export interface PciDev {
  /** PCI address, e.g. "0000:01:00.0" (pci_name). */
  readonly bdf: string;
  /** The hardware function behind the device. */
  readonly fn: PciFunction;
  /** IDs and class the PCI core matches drivers against. */
  readonly id: PciDevIdentity;
  /** The device is an SR-IOV VF (pdev->is_virtfn). */
  readonly isVirtfn: boolean;
  /** the PF of a VF */
  readonly physfn: PciDev | null;
  /** The bound driver (dev->driver), null when unbound. */
  driver: PciDriver | null;
  /** sysfs driver_override: only the driver with this name may bind; null when unset. */
  driverOverride: string | null;
  /** what the bound driver keeps for this device (drvdata) */
  driverData: unknown;
  /** pci_resource_start: the address the host assigned to BAR `index` (6: ROM), 0 if none */
  resourceStart(index: number): number;
  /** pci_resource_len: 0 when not implemented or not assigned */
  resourceLen(index: number): number;
  /** dev->wakeup_prepared: PME armed by __pci_enable_wake (src/host/pciPm.ts) */
  wakeupPrepared: boolean;
}

/** pci_channel_state_t: the link is fine (non-fatal error), frozen (fatal), or gone for good. */
export type PciChannelState = 'normal' | 'frozen' | 'perm_failure';

/** pci_ers_result_t: what an error handler asks the recovery code to do next. */
export type PciErsResult = 'none' | 'can_recover' | 'need_reset' | 'disconnect' | 'recovered' | 'no_aer_driver';

/**
 * struct pci_driver: a name, an id table, probe and remove; sriov_configure when it manages a PF.
 * The optional error callbacks are its struct pci_error_handlers (err_handler), which the AER
 * recovery (src/host/aerRecovery.ts, pcie_do_recovery) calls for every device below the port that
 * saw an uncorrectable error; a callback left out is skipped the way the kernel skips it.
 */
export interface PciDriver {
  /** Driver name (/sys/bus/pci/drivers/<name>, the driver_override value that selects it). */
  readonly name: string;
  /** struct pci_device_id table the PCI core matches devices against. */
  readonly idTable: readonly PciDeviceId[];
  /** throws (a VfioError/Error with errno) to refuse the device */
  probe(dev: PciDev, id: PciDeviceId | null): void;
  /** Called at unbind: the driver releases the device. */
  remove(dev: PciDev): void;
  /** returns the number of VFs enabled, or throws */
  sriovConfigure?(dev: PciDev, numVfs: number): number;
  /**
   * error_detected: an uncorrectable error happened below the device's port; 'frozen' means the
   * link is about to be reset. Without it a non-bridge device makes the whole recovery fail.
   */
  errorDetected?(dev: PciDev, state: PciChannelState): PciErsResult;
  /** mmio_enabled: every driver answered CAN_RECOVER; MMIO works again (no reset happened for 'normal') */
  mmioEnabled?(dev: PciDev): PciErsResult;
  /** slot_reset: some driver asked for NEED_RESET; after a fatal error the device was reset */
  slotReset?(dev: PciDev): PciErsResult;
  /** resume: recovery succeeded, normal operation may go on */
  resume?(dev: PciDev): void;
  /** cor_error_detected: the device reported a correctable error (its AER Correctable Status is already cleared) */
  corErrorDetected?(dev: PciDev): void;
}
