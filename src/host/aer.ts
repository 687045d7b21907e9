import { Bridge } from '../hw/bridge.js';
import {
  PCI_ERR_COR_STATUS, PCI_ERR_ROOT_STATUS, PCI_ERR_UNCOR_SEVER, PCI_ERR_UNCOR_STATUS, PCI_EXP_DEVCAP,
  PCI_EXP_DEVCAP_FLR, PCI_EXP_DEVCTL, PCI_EXP_DEVCTL_BCR_FLR, PCI_EXP_DEVCTL_CERE, PCI_EXP_DEVCTL_FERE,
  PCI_EXP_DEVCTL_NFERE, PCI_EXP_DEVCTL_URRE, PCI_EXP_DEVSTA, PCI_EXP_FLAGS, PCI_EXP_FLAGS_TYPE, PCI_EXP_TYPE_RC_EC,
  PCI_EXP_TYPE_ROOT_PORT, PCI_EXT_CAP_ID_ERR,
} from '../hw/pciRegs.js';
import type { HostPciDev } from './pciCore.js';
import type { PciErsResult } from './pciDriver.js';
import { busReset } from './pciReset.js';

// The host's AER service (drivers/pci/pcie/aer.c) as far as it touches devices: pci_aer_init at
// enumeration, the status-clearing helpers, and aer_root_reset, the reset pcie_do_recovery
// (aerRecovery.ts) asks for after a fatal error. The emulated host owns AER natively (the platform
// granted it, as _OSC does), so pcie_aer_is_native() is true for every function with AER. The root
// ports' own AER registers (Root Command/Status, the AER interrupt) are not modelled: our ports have
// no AER capability, and error messages reach the host directly from the source.

/** PCI_EXP_AER_FLAGS: the Device Control bits that let a function send ERR_COR/NONFATAL/FATAL and report URs. */
export const PCI_EXP_AER_FLAGS = PCI_EXP_DEVCTL_CERE | PCI_EXP_DEVCTL_NFERE | PCI_EXP_DEVCTL_FERE | PCI_EXP_DEVCTL_URRE;

/** pci_pcie_type(): the Device/Port Type of the PCI Express capability, -1 for a conventional function. */
export function pciPcieType(dev: HostPciDev): number {
  return dev.pcieCap === 0 ? -1 : (dev.readConfig(dev.pcieCap + PCI_EXP_FLAGS, 2) & PCI_EXP_FLAGS_TYPE) >> 4;
}

/** pcie_aer_is_native(): the function has AER and the OS (not firmware) owns it; always the latter here. */
export function pcieAerIsNative(dev: HostPciDev): boolean {
  return dev.aerCap !== 0;
}

/**
 * pci_aer_init (from pci_init_capabilities, for every function the PCI core adds, VFs included):
 * find AER; if present, clear its status (pci_aer_clear_status) and enable error reporting in
 * Device Control (pci_enable_pcie_error_reporting: set PCI_EXP_AER_FLAGS, since Linux 6.0 done here
 * for every device, not by drivers). A function without AER keeps its Device Control as it was.
 */
export function pciAerInit(dev: HostPciDev): void {
  dev.aerCap = dev.findExtCapability(PCI_EXT_CAP_ID_ERR);
  if (dev.aerCap === 0) return;
  pciAerClearStatus(dev);
  // pci_aer_available() (AER not disabled on the command line, MSI usable) holds; the kernel's
  // pcie_capability_set_word is a plain read-modify-write
  const at = dev.pcieCap + PCI_EXP_DEVCTL;
  dev.writeConfig(at, 2, dev.readConfig(at, 2) | PCI_EXP_AER_FLAGS);
}

/** Writes back the set bits of an RW1C register (a read of 0 writes nothing). */
function clearRw1c(dev: HostPciDev, off: number, bits: number): void {
  if (bits >>> 0 !== 0) dev.writeConfig(off, 4, bits >>> 0);
}

/**
 * pci_aer_raw_clear_status(): every set bit of Correctable and Uncorrectable Error Status (and of Root
 * Error Status on a Root Port or RCEC) is written back, which clears it.
 */
export function pciAerRawClearStatus(dev: HostPciDev): void {
  const aer = dev.aerCap;
  if (aer === 0) return;
  const type = pciPcieType(dev);
  if (type === PCI_EXP_TYPE_ROOT_PORT || type === PCI_EXP_TYPE_RC_EC) clearRw1c(dev, aer + PCI_ERR_ROOT_STATUS, dev.readConfig(aer + PCI_ERR_ROOT_STATUS, 4));
  clearRw1c(dev, aer + PCI_ERR_COR_STATUS, dev.readConfig(aer + PCI_ERR_COR_STATUS, 4));
  clearRw1c(dev, aer + PCI_ERR_UNCOR_STATUS, dev.readConfig(aer + PCI_ERR_UNCOR_STATUS, 4));
}

/** pci_aer_clear_status(): pci_aer_raw_clear_status when the OS owns AER. */
export function pciAerClearStatus(dev: HostPciDev): void {
  if (pcieAerIsNative(dev)) pciAerRawClearStatus(dev);
}

/** pci_aer_clear_nonfatal_status(): the uncorrectable status bits whose severity is non-fatal. */
export function pciAerClearNonfatalStatus(dev: HostPciDev): void {
  if (!pcieAerIsNative(dev)) return;
  const aer = dev.aerCap;
  clearRw1c(dev, aer + PCI_ERR_UNCOR_STATUS, dev.readConfig(aer + PCI_ERR_UNCOR_STATUS, 4) & ~dev.readConfig(aer + PCI_ERR_UNCOR_SEVER, 4));
}

/** pci_aer_clear_fatal_status(): the uncorrectable status bits whose severity is fatal. */
export function pciAerClearFatalStatus(dev: HostPciDev): void {
  if (!pcieAerIsNative(dev)) return;
  const aer = dev.aerCap;
  clearRw1c(dev, aer + PCI_ERR_UNCOR_STATUS, dev.readConfig(aer + PCI_ERR_UNCOR_STATUS, 4) & dev.readConfig(aer + PCI_ERR_UNCOR_SEVER, 4));
}

/** pcie_clear_device_status(): Device Status read and written back, clearing its RW1C error bits. */
export function pcieClearDeviceStatus(dev: HostPciDev): void {
  if (dev.pcieCap === 0) return;
  dev.writeConfig(dev.pcieCap + PCI_EXP_DEVSTA, 2, dev.readConfig(dev.pcieCap + PCI_EXP_DEVSTA, 2));
}

/**
 * pcie_reset_flr(dev, PCI_RESET_DO_RESET): Initiate Function Level Reset when DevCap advertises it
 * (pcie_flr). No state is saved or restored: that is the drivers' business in slot_reset.
 */
function pcieResetFlr(dev: HostPciDev): boolean {
  if (dev.pcieCap === 0 || (dev.readConfig(dev.pcieCap + PCI_EXP_DEVCAP, 4) & PCI_EXP_DEVCAP_FLR) === 0) return false; // -ENOTTY
  const at = dev.pcieCap + PCI_EXP_DEVCTL;
  dev.writeConfig(at, 2, dev.readConfig(at, 2) | PCI_EXP_DEVCTL_BCR_FLR);
  return true;
}

/**
 * aer_root_reset: the reset of everything pcie_do_recovery covers after a fatal error. A port gets
 * a Secondary Bus Reset of its subordinate bus (pci_bus_error_reset; no hotplug slots, so never a
 * slot reset); a function without a subordinate bus (an RCiEP or RCEC, which recovery treats as its
 * own "bridge") is reset alone by FLR, and fails without FLR. Nothing is saved or restored around it.
 */
export function aerRootReset(bridge: HostPciDev): PciErsResult {
  const fn = bridge.fn;
  if (fn instanceof Bridge) {
    busReset(bridge.core.hw, fn);
    return 'recovered';
  }
  return pcieResetFlr(bridge) ? 'recovered' : 'disconnect';
}
