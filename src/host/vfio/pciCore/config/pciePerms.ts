import { L } from '../../../../core/wasm.js';
import { PCI_CAP_LIST_NEXT } from '../../../../hw/pciRegs.js';
import {
  PCI_CAP_EXP_ENDPOINT_SIZEOF_V2, PCI_EXP_DEVCTL, PCI_EXP_DEVCTL2, PCI_EXP_DEVCTL2_ARI, PCI_EXP_DEVCTL_BCR_FLR, PCI_EXP_DEVCTL_PAYLOAD,
  PCI_EXP_DEVCTL_PHANTOM, PCI_EXP_DEVCTL_READRQ,
} from './capRegs.js';
import { ALL_VIRT, NO_VIRT, NO_WRITE, PermBits } from './permBits.js';

/**
 * PCI Express (init_pci_cap_exp_perm), sized for the largest layout (v2 endpoint with a link).
 * Device Control is writable except Phantom Functions; Max_Payload_Size, Max_Read_Request_Size
 * and Initiate FLR are virtual, and vfio_exp_config_write turns them into an FLR and a hardware
 * MRRS no lower than the device's MPS. Device Control 2 is writable except ARI Forwarding.
 * Everything else reads from hardware and drops writes.
 */
export function pciePerms(): PermBits {
  const p = new PermBits('pcie', PCI_CAP_EXP_ENDPOINT_SIZEOF_V2);
  p.setb(PCI_CAP_LIST_NEXT, ALL_VIRT, NO_WRITE);
  p.setw(PCI_EXP_DEVCTL, PCI_EXP_DEVCTL_BCR_FLR | PCI_EXP_DEVCTL_PAYLOAD | PCI_EXP_DEVCTL_READRQ, ~PCI_EXP_DEVCTL_PHANTOM);
  p.setw(PCI_EXP_DEVCTL2, NO_VIRT, ~PCI_EXP_DEVCTL2_ARI);
  // the FLR bit and MRRS live in Device Control's upper byte: only a write there can change them
  p.on(PCI_EXP_DEVCTL + 1, 1, L.VEV_PCIE);
  return p;
}
