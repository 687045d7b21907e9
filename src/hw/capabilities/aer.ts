import type { ConfigBuilder } from '../configBuilder.js';
import {
  PCI_ERR_CAP, PCI_ERR_COR_MASK, PCI_ERR_COR_STATUS, PCI_ERR_UNCOR_MASK, PCI_ERR_UNCOR_SEVER, PCI_ERR_UNCOR_STATUS,
  PCI_EXT_CAP_AER_SIZEOF, PCI_EXT_CAP_ID_ERR,
} from '../pciRegs.js';

/** Uncorrectable errors an endpoint implements: DLP, Poisoned TLP .. Uncorrectable Internal (bits 4, 12-22). */
export const AER_UNCOR_BITS = 0x007ff010;
/** Correctable errors: Receiver, Bad TLP, Bad DLLP, Replay Rollover, Replay Timeout, Advisory, Internal, Header Log Overflow. */
export const AER_COR_BITS = 0x0000f1c1;

/**
 * Advanced Error Reporting, version 2, endpoint layout: status registers RW1C, mask and severity
 * RW with the spec's defaults, capabilities/control and header log read-only (no ECRC).
 */
export function buildAer(b: ConfigBuilder): number {
  const off = b.addExtCapability(PCI_EXT_CAP_ID_ERR, 2, PCI_EXT_CAP_AER_SIZEOF, 'extendedCapabilities[aer]');
  b.reg(off + PCI_ERR_UNCOR_STATUS, 4, 0, 0, AER_UNCOR_BITS);
  b.reg(off + PCI_ERR_UNCOR_MASK, 4, 0x00400000, AER_UNCOR_BITS);
  b.reg(off + PCI_ERR_UNCOR_SEVER, 4, 0x00462010, AER_UNCOR_BITS);
  b.reg(off + PCI_ERR_COR_STATUS, 4, 0, 0, AER_COR_BITS);
  b.reg(off + PCI_ERR_COR_MASK, 4, 0x0000e000, AER_COR_BITS);
  b.reg(off + PCI_ERR_CAP, 4, 0);
  return off;
}
