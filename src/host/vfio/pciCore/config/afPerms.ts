import { L } from '../../../../core/wasm.js';
import { PCI_CAP_LIST_NEXT } from '../../../../hw/pciRegs.js';
import { PCI_AF_CTRL, PCI_AF_CTRL_FLR, PCI_CAP_AF_SIZEOF } from './capRegs.js';
import { ALL_VIRT, NO_WRITE, PermBits } from './permBits.js';

/** Advanced Features (init_pci_cap_af_perm): only Initiate FLR is writable, and it is virtual. */
export function afPerms(): PermBits {
  const p = new PermBits('af', PCI_CAP_AF_SIZEOF);
  p.setb(PCI_CAP_LIST_NEXT, ALL_VIRT, NO_WRITE);
  p.setb(PCI_AF_CTRL, PCI_AF_CTRL_FLR, PCI_AF_CTRL_FLR);
  p.on(PCI_AF_CTRL, 1, L.VEV_AF);
  return p;
}
