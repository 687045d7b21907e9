import type { PciFunction } from '../hw/pciFunction.js';
import type { PciCore } from './pciCore.js';
import { pciCheckPmeStatus, pmRequestResume } from './pciPm.js';

/**
 * The PCIe PME service driver's handling of one PME message (pcie_pme_irq -> pcie_pme_work_fn ->
 * pcie_pme_handle_request), for a message that names its source: the pci_dev of that function has
 * its PME checked and cleared (pci_check_pme_status: PME_Status and PME_En cleared through config
 * writes), and only a device that had both set counts as a wakeup (pci_wakeup_event, not modelled)
 * and gets pm_request_resume, which runtime-resumes it if it is runtime suspended. Returns whether
 * the PME was genuine; otherwise the kernel logs a spurious PME interrupt.
 *
 * Not modelled: the root port's Root Status (PME Status, PME Requester ID) and its interrupt, a PME
 * from the root port itself (its subordinate bus is walked), PMEs a PCIe-PCI bridge reports for the
 * conventional devices behind it, and the ACPI GPE path conventional PCI uses in Linux: every PME
 * message the hardware sends arrives here, tagged with its source.
 */
export function pciePmeHandleRequest(pci: PciCore, fn: PciFunction): boolean {
  const dev = pci.device(fn.bdf);
  // a function the PCI core has not enumerated has no pci_dev: nothing on the bus matches the requester
  if (!dev || dev.fn !== fn) return false;
  if (!pciCheckPmeStatus(dev)) return false;
  pmRequestResume(dev);
  return true;
}
