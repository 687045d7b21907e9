import { L, mem } from '../../core/wasm.js';
import type { ConfigBuilder } from '../configBuilder.js';
import { PCI_CAP_ID_PM, PCI_PM_CTRL, PCI_PM_CTRL_NO_SOFT_RESET, PCI_PM_CTRL_PME_STATUS, PCI_PM_CTRL_STATE_MASK, PCI_PM_PMC, PCI_PM_SIZEOF } from '../pciRegs.js';

/**
 * Power Management capability (PCI PM 1.2): version 3, D0 and D3hot only (no D1/D2, no PME).
 * PMCSR's PowerState field is writable; No_Soft_Reset is read-only and decides whether D3hot->D0
 * resets the function.
 */
export function buildPm(b: ConfigBuilder, noSoftReset: boolean, field = 'capabilities[pm]'): number {
  const off = b.addCapability(PCI_CAP_ID_PM, PCI_PM_SIZEOF, field);
  b.reg(off + PCI_PM_PMC, 2, 0x0003);
  b.reg(off + PCI_PM_CTRL, 2, noSoftReset ? PCI_PM_CTRL_NO_SOFT_RESET : 0, PCI_PM_CTRL_STATE_MASK, PCI_PM_CTRL_PME_STATUS, L.EV_PM);
  b.reg(off + 6, 2, 0);
  mem.u16[(mem.base(b.slot) + L.META + L.M_PM_CAP) >> 1] = off;
  return off;
}
