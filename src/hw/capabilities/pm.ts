import { L } from '../../core/wasm.js';
import type { ConfigBuilder } from '../configBuilder.js';
import {
  PCI_CAP_ID_PM, PCI_PM_CAP_PME_D0, PCI_PM_CAP_PME_D3hot, PCI_PM_CTRL, PCI_PM_CTRL_NO_SOFT_RESET, PCI_PM_CTRL_PME_ENABLE,
  PCI_PM_CTRL_PME_STATUS, PCI_PM_CTRL_STATE_MASK, PCI_PM_PMC, PCI_PM_SIZEOF,
} from '../pciRegs.js';

/**
 * Power Management capability (PCI PM 1.2): version 3, D0 and D3hot only (no D1/D2, no aux current).
 * PMCSR's PowerState field is writable; No_Soft_Reset is read-only and decides whether D3hot->D0
 * resets the function. PME_Status is RW1C.
 *
 * `pme` adds PME: PMC advertises PME_Support from D0 and D3hot (not D3cold), and PME_En becomes
 * writable; PciFunction.raisePme sets PME_Status and sends the message. Without it (the default)
 * PME_Support is 0 and PME_En is read-only 0, which PM 1.2 permits for a function without PME.
 * PME_En and PME_Status are sticky only for a function that can signal PME from D3cold; ours
 * cannot, so every reset (FLR, bus, the D3hot->D0 soft reset, power-on) clears them.
 */
export function buildPm(b: ConfigBuilder, noSoftReset: boolean, field = 'capabilities[pm]', pme = false): number {
  const off = b.addCapability(PCI_CAP_ID_PM, PCI_PM_SIZEOF, field);
  b.reg(off + PCI_PM_PMC, 2, 0x0003 | (pme ? PCI_PM_CAP_PME_D0 | PCI_PM_CAP_PME_D3hot : 0));
  const writable = PCI_PM_CTRL_STATE_MASK | (pme ? PCI_PM_CTRL_PME_ENABLE : 0);
  b.reg(off + PCI_PM_CTRL, 2, noSoftReset ? PCI_PM_CTRL_NO_SOFT_RESET : 0, writable, PCI_PM_CTRL_PME_STATUS, L.EV_PM);
  b.reg(off + 6, 2, 0);
  b.core.mem.u16[(b.core.mem.base(b.slot) + L.META + L.M_PM_CAP) >>> 1] = off;
  return off;
}
