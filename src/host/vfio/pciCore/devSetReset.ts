import type { PciFunction } from '../../../hw/pciFunction.js';
import { Bridge } from '../../../hw/bridge.js';
import type { VfioPciCoreDevice } from './vfioPciCoreDevice.js';
import { busReset, restoreState, saveState } from '../../pciReset.js';

// Bus resets of a whole vfio device set (vfio_pci_dev_set_resettable, pci_reset_bus and
// vfio_pci_dev_set_try_reset): used by PCI_HOT_RESET and, when the last device of a set closes, to
// clean up devices that could not reset alone.

/** The bridge whose Secondary Bus Reset reaches the device, or null (root bus or VF: no bus reset). */
export function resetBridge(fn: PciFunction): Bridge | null {
  return fn.isVirtfn ? null : fn.bus.bridge;
}

/** Every function a reset of `bridge`'s secondary bus reaches, depth first (pci_walk_bus). */
export function functionsBelow(bridge: Bridge): PciFunction[] {
  const out: PciFunction[] = [];
  const walk = (b: Bridge) => {
    for (const f of b.secondary.ordered()) {
      out.push(f);
      if (f instanceof Bridge) walk(f);
    }
  };
  walk(bridge);
  return out;
}

/** The vfio-pci-core device of `f` if it is in `vdev`'s device set, else null. */
function setMember(vdev: VfioPciCoreDevice, f: PciFunction): VfioPciCoreDevice | null {
  const pdev = vdev.vfio.pciDevOf(f);
  const other = pdev ? vdev.vfio.vfioDeviceOf(pdev) : undefined;
  if (!other || other.devSet !== vdev.devSet || typeof (other as Partial<VfioPciCoreDevice>).tryResetFunction !== 'function') return null;
  return other as VfioPciCoreDevice;
}

/**
 * vfio_pci_dev_set_resettable: the bus reset that reaches `vdev`, if there is one and every function
 * it reaches is a vfio-pci-core device of the same set. `outsider` gets the first function that is not.
 */
export function devSetResettable(vdev: VfioPciCoreDevice, outsider?: (f: PciFunction) => void): { bridge: Bridge; members: VfioPciCoreDevice[] } | null {
  const bridge = resetBridge(vdev.fn);
  if (!bridge) return null;
  const members: VfioPciCoreDevice[] = [];
  for (const f of functionsBelow(bridge)) {
    const m = setMember(vdev, f);
    if (!m) {
      outsider?.(f);
      return null;
    }
    members.push(m);
  }
  return { bridge, members };
}

/** pci_reset_bus over the set: every member to D0, its config saved, the Secondary Bus Reset, config restored. */
export function resetDevSetBus(bridge: Bridge, members: VfioPciCoreDevice[]): void {
  if (members.length === 0) return;
  const hw = members[0].vfio.hw;
  for (const m of members) m.setPowerState(0);
  const saved = members.map((m) => saveState(m.fn));
  busReset(hw, bridge);
  members.forEach((m, i) => restoreState(hw, m.fn, saved[i]));
}

/**
 * vfio_pci_dev_set_try_reset, run as `vdev` closes for the last time: when no other device of its set
 * is open and some member still needs a reset (one that could not reset itself, needs_reset), reset
 * the whole bus if the set covers it.
 */
export function devSetTryReset(vdev: VfioPciCoreDevice): void {
  const set = [...vdev.devSet.devices] as VfioPciCoreDevice[];
  // the closing device's own count already dropped (vfio_device_set_open_count(dev_set) > 1 in the kernel)
  if (set.some((d) => d !== vdev && d.openCount > 0)) return;
  if (!set.some((d) => d.needsReset)) return;
  const r = devSetResettable(vdev);
  if (!r) return;
  resetDevSetBus(r.bridge, r.members);
  for (const d of set) d.needsReset = false;
}
