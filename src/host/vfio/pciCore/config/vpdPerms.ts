import { PCI_CAP_LIST_NEXT } from '../../../../hw/pciRegs.js';
import { PCI_CAP_VPD_SIZEOF, PCI_VPD_ADDR, PCI_VPD_DATA } from './capRegs.js';
import { ALL_VIRT, ALL_WRITE, NO_WRITE, PermBits } from './permBits.js';

/**
 * Vital Product Data (init_pci_cap_vpd_perm): address and data are virtual; the kernel then
 * performs the access with pci_read_vpd/pci_write_vpd and toggles the F flag. The emulated
 * hardware has no VPD storage behind the capability, so that access fails as pci_read_vpd does on
 * a function without VPD, which leaves F untouched: no write handler is needed here.
 */
export function vpdPerms(): PermBits {
  const p = new PermBits('vpd', PCI_CAP_VPD_SIZEOF);
  p.setb(PCI_CAP_LIST_NEXT, ALL_VIRT, NO_WRITE);
  p.setw(PCI_VPD_ADDR, ALL_VIRT, ALL_WRITE);
  p.setd(PCI_VPD_DATA, ALL_VIRT, ALL_WRITE);
  return p;
}
