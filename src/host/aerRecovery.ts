import { Bridge } from '../hw/bridge.js';
import type { AerSeverity } from '../hw/interrupts.js';
import {
  PCI_ERR_COR_MASK, PCI_ERR_COR_STATUS, PCI_ERR_UNCOR_MASK, PCI_ERR_UNCOR_STATUS, PCI_EXP_TYPE_DOWNSTREAM,
  PCI_EXP_TYPE_RC_EC, PCI_EXP_TYPE_RC_END, PCI_EXP_TYPE_ROOT_PORT, PCI_HEADER_TYPE_BRIDGE,
} from '../hw/pciRegs.js';
import {
  aerRootReset, pciAerClearNonfatalStatus, pciPcieType, pcieAerIsNative, pcieClearDeviceStatus,
} from './aer.js';
import type { HostPciDev, PciCore } from './pciCore.js';
import type { PciChannelState, PciErsResult } from './pciDriver.js';

// What the host does with a PCIe error message: the AER service's handling of one error source
// (aer.c: aer_get_device_error_info, pci_aer_handle_error) and the recovery it starts for
// uncorrectable errors (err.c: pcie_do_recovery and its report_* walkers).

/** merge_result(): how one driver's vote combines with the votes so far. */
function mergeResult(orig: PciErsResult, vote: PciErsResult): PciErsResult {
  if (vote === 'no_aer_driver') return 'no_aer_driver';
  if (vote === 'none') return orig;
  if (orig === 'can_recover' || orig === 'recovered') return vote;
  if (orig === 'disconnect' && vote === 'need_reset') return 'need_reset';
  return orig;
}

/** pci_dev_set_io_state(): false (nothing changes) once a device is permanently failed. */
function setIoState(dev: HostPciDev, state: PciChannelState): boolean {
  if (dev.errorState === 'perm_failure' && state !== 'perm_failure') return false;
  dev.errorState = state;
  return true;
}

/**
 * The devices pci_walk_bridge visits for `bridge`: with a subordinate bus, every device below it,
 * depth first in bus order (pci_walk_bus); otherwise (RCiEP, RCEC) the device itself. Only
 * functions the PCI core knows are visited, as only those have a pci_dev.
 */
function bridgeDevices(core: PciCore, bridge: HostPciDev): HostPciDev[] {
  if (!(bridge.fn instanceof Bridge)) return [bridge];
  const out: HostPciDev[] = [];
  const walk = (b: Bridge) => {
    for (const f of b.secondary.ordered()) {
      const d = core.device(f.bdf);
      if (d === undefined || d.fn !== f) continue;
      out.push(d);
      if (f instanceof Bridge) walk(f);
    }
  };
  walk(bridge.fn);
  return out;
}

/**
 * The device recovery runs on (err.c's "bridge"): a port, RCEC or RCiEP that saw the error itself;
 * otherwise pci_upstream_bridge() (a VF's is its PF's). An endpoint on the root bus has no upstream
 * bridge; on real machines such a function is an RCiEP (QEMU presents root-bus endpoints so), so it
 * is its own "bridge" too.
 */
function recoveryBridge(core: PciCore, dev: HostPciDev): HostPciDev {
  const type = pciPcieType(dev);
  if (type === PCI_EXP_TYPE_ROOT_PORT || type === PCI_EXP_TYPE_DOWNSTREAM || type === PCI_EXP_TYPE_RC_EC || type === PCI_EXP_TYPE_RC_END) return dev;
  const up = (dev.physfn ?? dev).fn.bus.bridge;
  const d = up === null ? undefined : core.device(up.bdf);
  return d !== undefined && d.fn === up ? d : dev;
}

/**
 * pcie_do_recovery(): recovery from an uncorrectable error of `dev` over every device below its
 * bridge, in the kernel's steps. error_detected goes to each (a non-bridge without a driver or
 * without error_detected votes NO_AER_DRIVER, which makes the recovery fail); after a fatal error
 * ('frozen') `resetSubordinates` resets them whatever the votes. If all can recover, mmio_enabled;
 * if one needs a reset, slot_reset; unless a vote was DISCONNECT or NO_AER_DRIVER, resume (every
 * device's channel is 'normal' again). On success the source's Device Status and its non-fatal AER
 * status are cleared; its fatal AER bits stay for pci_restore_state (a driver's slot_reset, or a
 * later reset through vfio) to clear, as in Linux. On failure nothing more happens: the devices keep
 * their error state. Returns the final vote.
 */
export function pcieDoRecovery(
  core: PciCore,
  dev: HostPciDev,
  state: 'normal' | 'frozen',
  resetSubordinates: (bridge: HostPciDev) => PciErsResult,
): PciErsResult {
  const bridge = recoveryBridge(core, dev);
  // one list for all steps: a reset may drop a PF's VFs from the hardware, but their pci_devs (and
  // drivers) still take part until the PCI core next syncs, as the kernel's do
  const devs = bridgeDevices(core, bridge);
  const walk = (cb: (d: HostPciDev) => void) => {
    for (const d of devs) if (d.present) cb(d);
  };
  // the votes so far, as the kernel's walkers merge them into one pci_ers_result_t
  const vote = { status: 'can_recover' as PciErsResult };
  const merge = (v: PciErsResult) => {
    vote.status = mergeResult(vote.status, v);
  };

  walk((d) => {
    const handler = d.driver?.errorDetected;
    if (!setIoState(d, state) || handler === undefined) merge(d.hdrType !== PCI_HEADER_TYPE_BRIDGE ? 'no_aer_driver' : 'none');
    else merge(handler.call(d.driver, d, state));
  });
  if (state === 'frozen' && resetSubordinates(bridge) !== 'recovered') return vote.status;

  if (vote.status === 'can_recover') {
    vote.status = 'recovered';
    walk((d) => {
      const drv = d.driver;
      if (drv?.mmioEnabled) merge(drv.mmioEnabled(d));
    });
  }
  if (vote.status === 'need_reset') {
    // the kernel resets nothing more here before slot_reset (a TODO in err.c)
    vote.status = 'recovered';
    walk((d) => {
      const drv = d.driver;
      if (drv?.slotReset) merge(drv.slotReset(d));
    });
  }
  if (vote.status !== 'recovered') return vote.status;

  walk((d) => {
    if (setIoState(d, 'normal')) d.driver?.resume?.(d);
  });
  if (pcieAerIsNative(dev)) {
    pcieClearDeviceStatus(dev);
    pciAerClearNonfatalStatus(dev);
  }
  return vote.status;
}

/**
 * An error message from `dev` (aer_isr_one_error for one source): aer_get_device_error_info, then
 * pci_aer_handle_error. A function without AER is not handled at all, nor is one whose status shows
 * no unmasked error (the status is read for correctable and non-fatal errors only; after a fatal one
 * the link may be down). Correctable: the Correctable Status is cleared, the driver's
 * cor_error_detected told, Device Status cleared; no recovery. Uncorrectable: pcie_do_recovery with
 * aer_root_reset, 'normal' for non-fatal and 'frozen' for fatal errors.
 */
export function pciAerHandleError(core: PciCore, dev: HostPciDev, severity: AerSeverity): void {
  const aer = dev.aerCap;
  if (aer === 0) return;
  if (severity === 'correctable') {
    const cor = dev.readConfig(aer + PCI_ERR_COR_STATUS, 4);
    if ((cor & ~dev.readConfig(aer + PCI_ERR_COR_MASK, 4)) === 0) return;
    dev.writeConfig(aer + PCI_ERR_COR_STATUS, 4, cor);
    if (pcieAerIsNative(dev)) {
      dev.driver?.corErrorDetected?.(dev);
      pcieClearDeviceStatus(dev);
    }
    return;
  }
  if (severity === 'nonfatal') {
    const uncor = dev.readConfig(aer + PCI_ERR_UNCOR_STATUS, 4);
    if ((uncor & ~dev.readConfig(aer + PCI_ERR_UNCOR_MASK, 4)) === 0) return;
  }
  pcieDoRecovery(core, dev, severity === 'fatal' ? 'frozen' : 'normal', aerRootReset);
}
