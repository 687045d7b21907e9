import { L } from '../../../../core/wasm.js';
import { PCI_CAP_LIST_NEXT } from '../../../../hw/pciRegs.js';
import {
  PCI_PM_CAP_PME_MASK, PCI_PM_CTRL, PCI_PM_CTRL_PME_ENABLE, PCI_PM_CTRL_PME_STATUS, PCI_PM_CTRL_STATE_MASK, PCI_PM_PMC, PCI_PM_SIZEOF,
} from './capRegs.js';
import { ALL_VIRT, NO_WRITE, PermBits } from './permBits.js';

/**
 * Power Management (init_pci_cap_pm_perm). The user cannot see or arm PME (PME_Support, PME_En and
 * PME_Status are virtualized and cleared in vconfig); PowerState is read-only to the write itself,
 * and a write starting at PMCSR asks the host to change the power state (vfio_pm_config_write).
 */
export function pmPerms(): PermBits {
  const p = new PermBits('pm', PCI_PM_SIZEOF);
  p.setb(PCI_CAP_LIST_NEXT, ALL_VIRT, NO_WRITE);
  p.setw(PCI_PM_PMC, PCI_PM_CAP_PME_MASK, NO_WRITE);
  const pme = PCI_PM_CTRL_PME_ENABLE | PCI_PM_CTRL_PME_STATUS;
  p.setd(PCI_PM_CTRL, pme, ~(pme | PCI_PM_CTRL_STATE_MASK));
  p.on(PCI_PM_CTRL, 1, L.VEV_PM);
  return p;
}
