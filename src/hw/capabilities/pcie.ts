import { L } from '../../core/wasm.js';
import type { ConfigBuilder } from '../configBuilder.js';
import {
  PCI_CAP_EXP_SIZEOF, PCI_CAP_ID_EXP, PCI_EXP_DEVCAP, PCI_EXP_DEVCAP_FLR, PCI_EXP_DEVCTL, PCI_EXP_DEVSTA, PCI_EXP_FLAGS,
  PCI_EXP_LNKCAP, PCI_EXP_LNKCAP2, PCI_EXP_LNKCTL, PCI_EXP_LNKCTL2, PCI_EXP_LNKSTA, PCI_EXP_TYPE_ENDPOINT,
} from '../pciRegs.js';

/**
 * PCI Express capability, version 2, for an endpoint (or, with `portType`, a bridge's port):
 * a x1 2.5 GT/s link, 256-byte max payload supported, role-based error reporting; FLR advertised in
 * DevCap when asked for. Writing Initiate FLR (DevCtl bit 15) is reported as EV_PCIE and always
 * reads back 0.
 */
export function buildPcie(b: ConfigBuilder, flr: boolean, portType = PCI_EXP_TYPE_ENDPOINT, field = 'capabilities[pcie]'): number {
  const off = b.addCapability(PCI_CAP_ID_EXP, PCI_CAP_EXP_SIZEOF, field);
  b.reg(off + PCI_EXP_FLAGS, 2, 0x0002 | (portType << 4));
  // MPS 256B, extended tags, L0s/L1 acceptable latency unlimited, role-based error reporting
  const devcap = 0x00000001 | 0x20 | (7 << 6) | (7 << 9) | 0x8000 | (flr ? PCI_EXP_DEVCAP_FLR : 0);
  b.reg(off + PCI_EXP_DEVCAP, 4, devcap >>> 0);
  // error reporting enables, relaxed ordering, MPS, extended tag, no snoop, MRRS; bit 15 is FLR
  b.reg(off + PCI_EXP_DEVCTL, 2, 0x2810, 0x79ff, 0, L.EV_PCIE);
  b.reg(off + PCI_EXP_DEVSTA, 2, 0, 0, 0x000f);
  b.reg(off + PCI_EXP_LNKCAP, 4, 0x00000011);
  // ASPM Control (1:0) is RW even without ASPM support (PCIe r4.0 7.5.3.7); RCB, Common Clock, Extended Synch
  b.reg(off + PCI_EXP_LNKCTL, 2, 0, 0x00cb);
  b.reg(off + PCI_EXP_LNKSTA, 2, 0x1011);
  b.reg(off + PCI_EXP_LNKCAP2, 4, 0x00000002);
  b.reg(off + PCI_EXP_LNKCTL2, 2, 0x0001, 0x003f);
  b.core.mem.u16[(b.core.mem.base(b.slot) + L.META + L.M_PCIE_CAP) >>> 1] = off;
  return off;
}
