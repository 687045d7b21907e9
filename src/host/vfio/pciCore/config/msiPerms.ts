import { L } from '../../../../core/wasm.js';
import { PCI_CAP_LIST_NEXT } from '../../../../hw/pciRegs.js';
import {
  PCI_MSI_ADDRESS_HI, PCI_MSI_ADDRESS_LO, PCI_MSI_DATA_32, PCI_MSI_DATA_64, PCI_MSI_FLAGS, PCI_MSI_FLAGS_64BIT, PCI_MSI_FLAGS_MASKBIT,
  PCI_MSI_MASK_32, PCI_MSI_MASK_64, PCI_MSI_PENDING_32, PCI_MSI_PENDING_64,
} from './capRegs.js';
import { ALL_VIRT, ALL_WRITE, NO_VIRT, NO_WRITE, PermBits } from './permBits.js';

/** Length of an MSI capability from its Message Control (vfio_msi_cap_len): 10, 14, 20 or 24. */
export function msiCapLength(flags: number): number {
  let len = 10;
  if (flags & PCI_MSI_FLAGS_64BIT) len += 4;
  if (flags & PCI_MSI_FLAGS_MASKBIT) len += 10;
  return len;
}

/**
 * MSI (init_pci_cap_msi_perm), one of four layouts chosen by the device's Message Control. Address
 * and data are virtual (the host programs the real ones when the user enables MSI through
 * SET_IRQS); only the low byte of Message Control is, its upper byte being reserved. Mask and
 * Pending go to hardware. A write touching Message Control (a piece whose start is at or before
 * it and whose end reaches it: bytes 1 and 2) runs vfio_msi_config_write.
 */
export function msiPerms(flags: number): PermBits {
  const p = new PermBits(`msi${flags & PCI_MSI_FLAGS_64BIT ? '64' : '32'}${flags & PCI_MSI_FLAGS_MASKBIT ? '-mask' : ''}`, msiCapLength(flags));
  p.setb(PCI_CAP_LIST_NEXT, ALL_VIRT, NO_WRITE);
  p.setb(PCI_MSI_FLAGS, ALL_VIRT, ALL_WRITE);
  p.setd(PCI_MSI_ADDRESS_LO, ALL_VIRT, ALL_WRITE);
  if (flags & PCI_MSI_FLAGS_64BIT) {
    p.setd(PCI_MSI_ADDRESS_HI, ALL_VIRT, ALL_WRITE);
    p.setw(PCI_MSI_DATA_64, ALL_VIRT, ALL_WRITE);
    if (flags & PCI_MSI_FLAGS_MASKBIT) {
      p.setd(PCI_MSI_MASK_64, NO_VIRT, ALL_WRITE);
      p.setd(PCI_MSI_PENDING_64, NO_VIRT, ALL_WRITE);
    }
  } else {
    p.setw(PCI_MSI_DATA_32, ALL_VIRT, ALL_WRITE);
    if (flags & PCI_MSI_FLAGS_MASKBIT) {
      p.setd(PCI_MSI_MASK_32, NO_VIRT, ALL_WRITE);
      p.setd(PCI_MSI_PENDING_32, NO_VIRT, ALL_WRITE);
    }
  }
  p.on(PCI_MSI_FLAGS - 1, 2, L.VEV_MSI);
  return p;
}
