import { L } from '../../../../core/wasm.js';
import {
  PCI_BASE_ADDRESS_0, PCI_CACHE_LINE_SIZE, PCI_CAPABILITY_LIST, PCI_COMMAND, PCI_COMMAND_INTX_DISABLE, PCI_DEVICE_ID,
  PCI_INTERRUPT_LINE, PCI_INTERRUPT_PIN, PCI_LATENCY_TIMER, PCI_ROM_ADDRESS, PCI_STATUS, PCI_STATUS_CAP_LIST, PCI_VENDOR_ID,
} from '../../../../hw/pciRegs.js';
import { PCI_BIST, PCI_STD_HEADER_SIZEOF } from './capRegs.js';
import { ALL_VIRT, ALL_WRITE, NO_VIRT, NO_WRITE, PermBits } from './permBits.js';

/**
 * The type 0 header (init_pci_cap_basic_perm). Registers not listed read from hardware and drop
 * writes (revision, class, header type, CardBus CIS, subsystem IDs, Min_Gnt/Max_Lat).
 */
export function headerPerms(): PermBits {
  const p = new PermBits('header', PCI_STD_HEADER_SIZEOF);
  // the IDs are virtualized because an SR-IOV VF reads 0xffff there
  p.setw(PCI_VENDOR_ID, ALL_VIRT, NO_WRITE);
  p.setw(PCI_DEVICE_ID, ALL_VIRT, NO_WRITE);
  // INTx Disable is vfio's own (it masks INTx with it); the user's bit is emulated
  p.setw(PCI_COMMAND, PCI_COMMAND_INTX_DISABLE, ALL_WRITE);
  // the capability list may be edited, so its Status flag is too
  p.setw(PCI_STATUS, PCI_STATUS_CAP_LIST, NO_WRITE);
  p.setb(PCI_CACHE_LINE_SIZE, NO_VIRT, ALL_WRITE);
  p.setb(PCI_LATENCY_TIMER, NO_VIRT, ALL_WRITE);
  p.setb(PCI_BIST, NO_VIRT, ALL_WRITE);
  // the user programs virtual BARs; the real ones stay as the host assigned them
  for (let bar = PCI_BASE_ADDRESS_0; bar < PCI_BASE_ADDRESS_0 + 24; bar += 4) p.setd(bar, ALL_VIRT, ALL_WRITE);
  p.setd(PCI_ROM_ADDRESS, ALL_VIRT, ALL_WRITE);
  p.setb(PCI_CAPABILITY_LIST, ALL_VIRT, NO_WRITE);
  p.setb(PCI_INTERRUPT_LINE, ALL_VIRT, ALL_WRITE);
  // virtualized so that INTx can be hidden (pin 0)
  p.setb(PCI_INTERRUPT_PIN, ALL_VIRT, NO_WRITE);

  // vfio_basic_config_write: a write starting at Command checks for a backdoor reset and remembers
  // MEM/IO; one starting in Command emulates INTx Disable; one in a BAR redoes BAR sizing
  p.on(PCI_COMMAND, 1, L.VEV_COMMAND | L.VEV_INTX);
  p.on(PCI_COMMAND + 1, 1, L.VEV_INTX);
  p.on(PCI_BASE_ADDRESS_0, 24, L.VEV_BAR);
  p.on(PCI_ROM_ADDRESS, 4, L.VEV_BAR);
  return p;
}
