import { L } from '../core/wasm.js';
import {
  PCI_PM_CAP_PME_MASK, PCI_PM_CAP_PME_SHIFT, PCI_PM_CTRL, PCI_PM_CTRL_PME_ENABLE, PCI_PM_CTRL_PME_STATUS, PCI_PM_CTRL_STATE_MASK,
  PCI_PM_PMC,
} from '../hw/pciRegs.js';
import type { PciDev, PciDriver } from './pciDriver.js';

// The PCI core's native power management of a device (drivers/pci/pci.c): PME enable and status in
// PMCSR, the wakeup setup runtime suspend and resume do around D3hot, and the power-up. Every access
// goes through the host's config cycles. No platform (ACPI) power management: no D3cold, no
// platform wakeup, and PME polling (pme_poll) is not modelled.

const D0 = 0;
const D3HOT = 3;


/** dev->pm_cap: the PM capability's offset, 0 without one. */
function pmCap(dev: PciDev): number {
  return dev.fn.capOffset(L.M_PM_CAP);
}

function readPmcsr(dev: PciDev, pm: number): number {
  return dev.fn.hw.configRead(dev.bdf, pm + PCI_PM_CTRL, 2);
}

function writePmcsr(dev: PciDev, pm: number, value: number): void {
  dev.fn.hw.configWrite(dev.bdf, pm + PCI_PM_CTRL, 2, value & 0xffff);
}

/** dev->pme_support (pci_pm_init): PMC's PME_Support field, bit n = PME from Dn (bit 4: D3cold). */
export function pciPmeSupport(dev: PciDev): number {
  const pm = pmCap(dev);
  if (!pm) return 0;
  return (dev.fn.hw.configRead(dev.bdf, pm + PCI_PM_PMC, 2) & PCI_PM_CAP_PME_MASK) >>> PCI_PM_CAP_PME_SHIFT;
}

/** pci_pme_capable: the device can signal PME from `state`. */
export function pciPmeCapable(dev: PciDev, state: number): boolean {
  return pmCap(dev) !== 0 && (pciPmeSupport(dev) & (1 << state)) !== 0;
}

/**
 * pci_target_state without a platform: D0 without a PM capability; with wakeup, the deepest state
 * below D3cold the device can signal PME from (D0 if only that); otherwise D3hot.
 */
export function pciTargetState(dev: PciDev, wakeup: boolean): number {
  if (!pmCap(dev)) return D0;
  const support = pciPmeSupport(dev);
  if (wakeup && support) {
    for (let s = D3HOT; s > D0; s--) if (support & (1 << s)) return s;
    if (support & 1) return D0;
  }
  return D3HOT;
}

/**
 * pci_dev_run_wake: the device can signal wakeup at run time. device_can_wakeup is set by pci_pm_init
 * for every device with PME_Support, so this is PME support from the state runtime suspend picks.
 */
export function pciDevRunWake(dev: PciDev): boolean {
  return pciPmeSupport(dev) !== 0 && pciPmeCapable(dev, pciTargetState(dev, true));
}

/** pci_pme_active: PME_Status cleared (write 1) and PME_En set or cleared, in one PMCSR write. */
export function pciPmeActive(dev: PciDev, enable: boolean): void {
  const pm = pmCap(dev);
  if (!pm || !pciPmeSupport(dev)) return;
  const csr = readPmcsr(dev, pm) | PCI_PM_CTRL_PME_STATUS;
  writePmcsr(dev, pm, enable ? csr | PCI_PM_CTRL_PME_ENABLE : csr & ~PCI_PM_CTRL_PME_ENABLE);
}

/**
 * __pci_enable_wake (the caller has decided the device may wake, as runtime PM does): enabling arms
 * PME when the device can signal it from `state` (or D3cold) and marks wakeup prepared; disabling
 * disarms it. Nothing happens without a PM capability, or when the device is already prepared (or
 * not) as asked. Returns false when enabling found no PME to arm.
 */
export function pciEnableWake(dev: PciDev, state: number, enable: boolean): boolean {
  if (!pmCap(dev)) return true;
  if (enable === dev.wakeupPrepared) return true;
  if (!enable) {
    pciPmeActive(dev, false);
    dev.wakeupPrepared = false;
    return true;
  }
  if (!pciPmeCapable(dev, state) && !pciPmeCapable(dev, 4)) return false;
  pciPmeActive(dev, true);
  dev.wakeupPrepared = true;
  return true;
}

/**
 * pci_finish_runtime_suspend, after pci_save_state: PME armed when the device can wake at run time
 * (__pci_enable_wake), then the target state through PMCSR (pci_set_low_power_state keeps the other
 * PMCSR bits as read). Returns the D-state the device is in afterwards.
 */
export function pciFinishRuntimeSuspend(dev: PciDev): number {
  const pm = pmCap(dev);
  const target = pciTargetState(dev, pciPmeSupport(dev) !== 0);
  pciEnableWake(dev, target, pciDevRunWake(dev));
  if (!pm || target === D0) return D0;
  const csr = readPmcsr(dev, pm);
  // D1/D2 need PMC's D1_Support/D2_Support (bits 9, 10); the error path disarms wakeup again
  if ((target === 1 || target === 2) && (dev.fn.hw.configRead(dev.bdf, pm + PCI_PM_PMC, 2) & (0x100 << target)) === 0) {
    pciEnableWake(dev, target, false);
    return csr & PCI_PM_CTRL_STATE_MASK;
  }
  writePmcsr(dev, pm, (csr & ~PCI_PM_CTRL_STATE_MASK) | target);
  return readPmcsr(dev, pm) & PCI_PM_CTRL_STATE_MASK;
}

/**
 * pci_power_up: a device not in D0 gets PMCSR written with 0, which selects D0 and clears PME_En but
 * leaves PME_Status alone (0 is no RW1C clear). A function without No_Soft_Reset resets on the way.
 */
export function pciPowerUp(dev: PciDev): void {
  const pm = pmCap(dev);
  if (pm && (readPmcsr(dev, pm) & PCI_PM_CTRL_STATE_MASK) !== D0) writePmcsr(dev, pm, 0);
}

/**
 * pci_pme_restore, after pci_restore_state: PME_En back as __pci_enable_wake left it (a soft reset or
 * the power-up cleared it); PME_Status is cleared only when wakeup is not prepared.
 */
export function pciPmeRestore(dev: PciDev): void {
  const pm = pmCap(dev);
  if (!pm || !pciPmeSupport(dev)) return;
  const csr = readPmcsr(dev, pm);
  writePmcsr(
    dev,
    pm,
    dev.wakeupPrepared ? (csr | PCI_PM_CTRL_PME_ENABLE) & ~PCI_PM_CTRL_PME_STATUS : (csr & ~PCI_PM_CTRL_PME_ENABLE) | PCI_PM_CTRL_PME_STATUS,
  );
}

/**
 * pci_check_pme_status: when PME_Status is set it is cleared, and PME_En with it (so the device cannot
 * flood the host with PMEs); true only when both were set, i.e. the device really asked for a wakeup.
 */
export function pciCheckPmeStatus(dev: PciDev): boolean {
  const pm = pmCap(dev);
  if (!pm) return false;
  const csr = readPmcsr(dev, pm);
  if ((csr & PCI_PM_CTRL_PME_STATUS) === 0) return false;
  const armed = (csr & PCI_PM_CTRL_PME_ENABLE) !== 0;
  writePmcsr(dev, pm, (csr | PCI_PM_CTRL_PME_STATUS) & ~PCI_PM_CTRL_PME_ENABLE);
  return armed;
}

/**
 * Runtime PM a PCI driver brings along (an optional hook, like PciDriverFileState). Linux keeps the
 * runtime PM status and usage count in the PM core and calls the PCI bus's and then the driver's
 * dev_pm_ops; here runtime PM is modelled only inside vfio-pci-core (lowPower.ts), which keeps that
 * state itself, so its driver answers pm_request_resume as a whole.
 */
export interface PciDriverRuntimePm {
  /**
   * pm_request_resume: a runtime-suspended device is resumed (pci_pm_runtime_resume, then the
   * driver's runtime_resume); as rpm_resume ends with rpm_idle, it suspends again at once when
   * nothing holds it. An active device is left alone.
   */
  runtimeRequestResume?(dev: PciDev): void;
}

/** pm_request_resume(&dev->dev): nothing for a device without a driver (unbound devices stay in D0). */
export function pmRequestResume(dev: PciDev): void {
  const drv = dev.driver as (PciDriver & PciDriverRuntimePm) | null;
  drv?.runtimeRequestResume?.(dev);
}
