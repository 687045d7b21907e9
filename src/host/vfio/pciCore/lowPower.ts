import { pciEnableWake, pciFinishRuntimeSuspend, pciPmeRestore, pciPowerUp } from '../../pciPm.js';
import { VFIO } from '../uapi/constants.js';
import { LOW_POWER_ENTRY_WITH_WAKEUP_SIZEOF, decodeLowPowerEntryWithWakeup } from '../uapi/lowPowerFeature.js';
import { VfioError } from '../vfioError.js';
import { vfioCheckFeature } from '../vfioMain.js';
import { Eventfd } from '../../fileTable.js';
import { pciNumVf } from '../../iov.js';
import { restoreState, saveState } from '../../pciReset.js';
import type { VfioPciCoreDevice } from './vfioPciCoreDevice.js';

// The low-power DEVICE_FEATUREs of vfio-pci-core (vfio_pci_core_pm_entry, _pm_entry_with_wakeup,
// _pm_exit) and the runtime PM around them. In the kernel, entry only drops the runtime PM usage
// count the open holds (pm_runtime_put_noidle); the device suspends when the ioctl's own reference
// is put (vfio_device_pm_runtime_put), and every later ioctl (vfio_device_fops_unl_ioctl) and region
// read/write (vfio_pci_rw) resumes it for its duration and lets it suspend again afterwards. Here
// those asynchronous runtime PM steps happen synchronously at the same points:
// - suspend (vfio_pci_core_runtime_suspend, then pci_pm_runtime_suspend): back to D0 if the user had
//   written D3hot (vfio_pci_set_power_state restores pm_save), INTx masked if it is in use and
//   unmasked, state saved, then pci_finish_runtime_suspend: PME armed (PME_Status cleared, PME_En
//   set) when the device can signal PME from D3hot, and the hardware put in D3hot through PMCSR (no
//   platform: no D3cold);
// - resume (pci_pm_runtime_resume, then vfio_pci_core_runtime_resume): D0 through PMCSR
//   (pci_power_up), the saved state restored, PME_En restored (pci_pme_restore) and then disarmed
//   with PME_Status cleared (pci_pm_default_resume); with a wakeup eventfd it is signalled and low
//   power is exited for good; INTx unmasked if suspend masked it.
// Wakeup: the kernel signals the eventfd from runtime resume only, whoever triggered it: the host's
// own resumes (an ioctl, a region access, close) or the device's PME, which the PCIe PME service
// (src/host/pme.ts) turns into pm_request_resume (vfioPciPmRequestResume below).

/** Runtime PM state of an open vfio-pci-core device. */
export interface LowPowerState {
  /** vdev->pm_runtime_engaged: the user asked for low power and has not exited it */
  engaged: boolean;
  /** vdev->pm_wake_eventfd_ctx */
  wakeEventfd: Eventfd | null;
  /** the device is runtime suspended (hardware in D3hot, or D0 for a function without PM) */
  suspended: boolean;
  /** state pci_pm_runtime_suspend saved, restored on resume */
  saved: ReturnType<typeof saveState> | null;
  /** vdev->pm_intx_masked */
  intxMasked: boolean;
}

export function newLowPowerState(): LowPowerState {
  return { engaged: false, wakeEventfd: null, suspended: false, saved: null, intxMasked: false };
}

/** pm_runtime_resume_and_get: wakes a suspended device before an ioctl or region access. */
export function vfioPciRuntimeGet(vdev: VfioPciCoreDevice): void {
  if (vdev.lowPower.suspended) runtimeResume(vdev);
}

/**
 * pm_runtime_put after an ioctl or region access: with low power engaged nothing else holds the
 * device, so it suspends again. A PF with VFs enabled holds a reference from
 * vfio_pci_core_sriov_configure and never suspends.
 */
export function vfioPciRuntimePut(vdev: VfioPciCoreDevice): void {
  const lp = vdev.lowPower;
  if (!lp.engaged || lp.suspended || !vdev.config) return;
  if (pciNumVf(vdev.pdev) > 0) return;
  runtimeSuspend(vdev);
}

function runtimeSuspend(vdev: VfioPciCoreDevice): void {
  const lp = vdev.lowPower;
  // vfio_pci_core_runtime_suspend
  vdev.setPowerState(0);
  const irqs = vdev.irqs;
  const c = irqs.ctx.get(0);
  lp.intxMasked = irqs.type === 'intx' && c !== undefined && !c.masked;
  if (lp.intxMasked) irqs.intxMask();
  // pci_pm_runtime_suspend: pci_save_state, then pci_finish_runtime_suspend (PME armed, D3hot)
  lp.saved = saveState(vdev.fn);
  pciFinishRuntimeSuspend(vdev.pdev);
  lp.suspended = true;
}

function runtimeResume(vdev: VfioPciCoreDevice): void {
  const lp = vdev.lowPower;
  // pci_pm_runtime_resume: pci_pm_default_resume_early (power up, restore the saved state, PME_En as
  // wakeup left it), then pci_pm_default_resume (wakeup disarmed: PME_En and PME_Status cleared)
  pciPowerUp(vdev.pdev);
  if (lp.saved) restoreState(vdev.vfio.hw, vdev.fn, lp.saved);
  lp.saved = null;
  pciPmeRestore(vdev.pdev);
  pciEnableWake(vdev.pdev, 0, false);
  lp.suspended = false;
  // vfio_pci_core_runtime_resume: a wakeup eventfd is signalled and ends low power
  if (lp.wakeEventfd) {
    lp.wakeEventfd.signal();
    pmExit(vdev);
  }
  if (lp.intxMasked) vdev.irqs.intxUnmask();
  lp.intxMasked = false;
}

/**
 * pm_request_resume from outside the device file: the PCIe PME service after a genuine PME
 * (src/host/pme.ts). A runtime-suspended device resumes as above (with a wakeup eventfd: signalled,
 * low power exited); rpm_resume then ends with rpm_idle, so a device nothing holds (low power still
 * engaged, entered without an eventfd) suspends again right away, PME armed again. An active device
 * is left alone.
 */
export function vfioPciPmRequestResume(vdev: VfioPciCoreDevice): void {
  if (!vdev.lowPower.suspended) return;
  runtimeResume(vdev);
  vfioPciRuntimePut(vdev);
}

/** __vfio_pci_runtime_pm_exit */
function pmExit(vdev: VfioPciCoreDevice): void {
  const lp = vdev.lowPower;
  if (!lp.engaged) return;
  lp.engaged = false;
  lp.wakeEventfd = null;
}

/** vfio_pci_runtime_pm_entry: EINVAL when low power is already engaged. */
function pmEntry(vdev: VfioPciCoreDevice, efd: Eventfd | null): number {
  const lp = vdev.lowPower;
  if (lp.engaged) throw new VfioError('EINVAL', `${vdev.bdf}: low power is already engaged`);
  lp.engaged = true;
  lp.wakeEventfd = efd;
  return 0;
}

/**
 * LOW_POWER_ENTRY (3), LOW_POWER_ENTRY_WITH_WAKEUP (4), LOW_POWER_EXIT (5): SET only. `data` is the
 * payload (argsz - 8 bytes). Returns -1 for a feature that is not one of these.
 */
export function vfioPciCoreLowPowerFeature(vdev: VfioPciCoreDevice, flags: number, data: Uint8Array): number {
  switch (flags & VFIO.DEVICE_FEATURE_MASK) {
    case VFIO.DEVICE_FEATURE_LOW_POWER_ENTRY:
      if (vfioCheckFeature(flags, data.length, VFIO.DEVICE_FEATURE_SET, 0) === 0) return 0;
      return pmEntry(vdev, null);
    case VFIO.DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP: {
      if (vfioCheckFeature(flags, data.length, VFIO.DEVICE_FEATURE_SET, LOW_POWER_ENTRY_WITH_WAKEUP_SIZEOF) === 0) return 0;
      const entry = decodeLowPowerEntryWithWakeup(data);
      if (entry.wakeupEventfd < 0) throw new VfioError('EINVAL', `wakeup_eventfd ${entry.wakeupEventfd} is negative`);
      // eventfd_ctx_fdget: EBADF when nothing is open at the fd, EINVAL when it is not an eventfd
      const f = vdev.files.get(entry.wakeupEventfd);
      if (!f) throw new VfioError('EBADF', `fd ${entry.wakeupEventfd} is not open`);
      if (!(f instanceof Eventfd)) throw new VfioError('EINVAL', `fd ${entry.wakeupEventfd} is not an eventfd`);
      return pmEntry(vdev, f);
    }
    case VFIO.DEVICE_FEATURE_LOW_POWER_EXIT:
      if (vfioCheckFeature(flags, data.length, VFIO.DEVICE_FEATURE_SET, 0) === 0) return 0;
      // the ioctl's resume ran first (and, with a wakeup eventfd, already exited); exiting twice is fine
      pmExit(vdev);
      return 0;
    default:
      return -1;
  }
}

/** vfio_pci_core_disable's vfio_pci_runtime_pm_exit + pm_runtime_resume: the device is closing. */
export function vfioPciLowPowerClose(vdev: VfioPciCoreDevice): void {
  // exit first: the resume that follows signals no wakeup eventfd
  pmExit(vdev);
  if (vdev.lowPower.suspended) runtimeResume(vdev);
  vdev.lowPower = newLowPowerState();
}
