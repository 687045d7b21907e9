import { PCI_EXT_CAP_PWR_SIZEOF, PCI_PWR_DATA } from './capRegs.js';
import { ALL_VIRT, ALL_WRITE, NO_VIRT, NO_WRITE, PermBits } from './permBits.js';

/**
 * Power Budgeting (init_pci_ext_cap_pwr_perm). The kernel means to let the user write the Data
 * Select register but names PCI_PWR_DATA (0x08), the read-only Data register's low byte; that is
 * what it does, so that is what this does: Data Select (0x04) drops writes, 0x08 passes them.
 */
export function pwrPerms(): PermBits {
  const p = new PermBits('pwr', PCI_EXT_CAP_PWR_SIZEOF);
  p.setd(0, ALL_VIRT, NO_WRITE);
  p.setb(PCI_PWR_DATA, NO_VIRT, ALL_WRITE);
  return p;
}
