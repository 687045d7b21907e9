import { PCI_CAP_LIST_NEXT } from '../../../../hw/pciRegs.js';
import { PCI_CAP_PCIX_SIZEOF_V2, PCI_X_CMD, PCI_X_ECC_CSR } from './capRegs.js';
import { ALL_VIRT, ALL_WRITE, NO_VIRT, NO_WRITE, PermBits } from './permBits.js';

/** PCI-X (init_pci_cap_pcix_perm): Command and ECC control go to hardware. Sized for v1/v2 (24). */
export function pcixPerms(): PermBits {
  const p = new PermBits('pcix', PCI_CAP_PCIX_SIZEOF_V2);
  p.setb(PCI_CAP_LIST_NEXT, ALL_VIRT, NO_WRITE);
  p.setw(PCI_X_CMD, NO_VIRT, ALL_WRITE);
  p.setd(PCI_X_ECC_CSR, NO_VIRT, ALL_WRITE);
  return p;
}
