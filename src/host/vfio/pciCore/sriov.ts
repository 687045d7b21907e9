import { pciDisableSriov, pciEnableSriov, pciIsPhysfn, pciNumVf } from '../../iov.js';
import type { PciDev } from '../../pciDriver.js';
import { VfioError } from '../vfioError.js';
import type { VfioPciCoreDevice } from './vfioPciCoreDevice.js';

// vfio-pci-core's SR-IOV support (vfio_pci_core.c): the VF token a PF bound to vfio-pci hands out
// (vfio_pci_vf_init / _uninit, vfio_pci_validate_vf_token), the bus notifier that points the PF's new
// VFs at the same driver, and vfio_pci_core_sriov_configure.

/**
 * vfio_pci_sriov_pfs: the PFs whose VFs were enabled through vfio_pci_core_sriov_configure. A VF
 * bound to vfio-pci finds its PF's device here when it registers (vfio_pci_vf_init), and from then
 * on needs that PF's VF token to be opened.
 */
const sriovPfs = new Set<VfioPciCoreDevice>();

/** uuid_parse: "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (hex, either case) into its 16 bytes; EINVAL otherwise. */
export function parseUuid(s: string): Uint8Array {
  if (typeof s !== 'string' || s.length !== 36 || !/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(s)) {
    throw new VfioError('EINVAL', `VF token ${JSON.stringify(s)} is not a UUID`);
  }
  const hex = s.replace(/-/g, '');
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** The UUID string of 16 bytes (uuid_t byte order, lower-case). */
export function formatUuid(b: Uint8Array): string {
  const h = Array.from(b.subarray(0, 16), (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** uuid_gen: a random (version 4) UUID. */
function uuidGen(): Uint8Array {
  const b = new Uint8Array(16);
  globalThis.crypto.getRandomValues(b);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  return b;
}

function sameUuid(a: Uint8Array | null, b: Uint8Array): boolean {
  if (a === null || a.length < 16) return false;
  for (let i = 0; i < 16; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Registers bus notifiers with the host PCI core (bus_register_notifier); returns the unregister. */
export type BusNotifierRegistrar = (nb: (action: 'add', dev: PciDev) => void) => () => void;

/**
 * vfio_pci_vf_init, when the driver registers the device. A VF looks for its PF among the PFs that
 * enabled SR-IOV through vfio-pci (then its users need that PF's VF token). A PF gets a VF token
 * (a random UUID until the user sets one) and a bus notifier: each VF of it that appears gets
 * driver_override set to this device's driver, so it binds to vfio-pci as well.
 */
export function vfioPciVfInit(vdev: VfioPciCoreDevice, registerBusNotifier?: BusNotifierRegistrar): void {
  const pdev = vdev.pdev;
  if (pdev.isVirtfn) {
    vdev.sriovPfCoreDev = null;
    for (const pf of sriovPfs) if (pf.pdev === pdev.physfn) vdev.sriovPfCoreDev = pf;
    return;
  }
  if (!pciIsPhysfn(pdev)) return;
  vdev.vfToken = { uuid: uuidGen(), users: 0 };
  vdev.busNotifierOff =
    registerBusNotifier?.((action, dev) => {
      // vfio_pci_bus_notifier: "Captured SR-IOV VF <bdf> driver_override"
      if (action === 'add' && dev.isVirtfn && dev.physfn === pdev) dev.driverOverride = vdev.ops.name;
    }) ?? null;
}

/** vfio_pci_vf_uninit: the notifier goes, and the token with it. */
export function vfioPciVfUninit(vdev: VfioPciCoreDevice): void {
  if (vdev.vfToken === null) return;
  vdev.busNotifierOff?.();
  vdev.busNotifierOff = null;
  vdev.vfToken = null;
}

/**
 * vfio_pci_vf_token_user_add: a VF whose PF is a vfio-pci device counts as one of the PF's VF users
 * while it is open (vfio_pci_core_finish_enable +1, vfio_pci_core_close_device -1).
 */
export function vfioPciVfTokenUserAdd(vdev: VfioPciCoreDevice, val: number): void {
  if (!vdev.pdev.isVirtfn) return;
  const pf = vdev.sriovPfCoreDev;
  if (pf === null || pf.vfToken === null) return;
  pf.vfToken.users = Math.max(0, pf.vfToken.users + val);
}

/**
 * vfio_pci_validate_vf_token. A VF whose PF is a vfio-pci device that enabled it: the token is
 * required and must be the PF's (EACCES otherwise). A VF of a PF not bound to vfio-pci: no token
 * (EINVAL when one is given). A PF with a VF token: while its VFs are open the token is required and
 * must match (EACCES); otherwise a token given here becomes the PF's token. Any other device: no
 * token (EINVAL when one is given).
 */
export function vfioPciValidateVfToken(vdev: VfioPciCoreDevice, uuid: Uint8Array | null): void {
  if (vdev.pdev.isVirtfn) {
    const pf = vdev.sriovPfCoreDev;
    if (pf === null) {
      if (uuid === null) return; // PF is not vfio-pci, no VF token
      throw new VfioError('EINVAL', `${vdev.bdf}: VF token incorrectly provided, PF not bound to vfio-pci`);
    }
    if (uuid === null) throw new VfioError('EACCES', `${vdev.bdf}: VF token required to access device`);
    if (pf.vfToken === null || !sameUuid(pf.vfToken.uuid, uuid)) throw new VfioError('EACCES', `${vdev.bdf}: incorrect VF token provided for device`);
    return;
  }
  if (vdev.vfToken !== null) {
    if (vdev.vfToken.users > 0) {
      if (uuid === null) throw new VfioError('EACCES', `${vdev.bdf}: VF token required to access device`);
      if (!sameUuid(vdev.vfToken.uuid, uuid)) throw new VfioError('EACCES', `${vdev.bdf}: incorrect VF token provided for device`);
    } else if (uuid !== null) {
      vdev.vfToken.uuid = uuid.slice();
    }
    return;
  }
  if (uuid !== null) throw new VfioError('EINVAL', `${vdev.bdf}: VF token incorrectly provided, not a PF or VF`);
}

/**
 * vfio_pci_core_sriov_configure. Enabling: only once without going through 0 (EINVAL), the PF is
 * brought to D0, pci_enable_sriov, and the PF joins vfio_pci_sriov_pfs so its VFs find it; returns
 * `n`. Disabling: pci_disable_sriov (EBUSY while a VF's device file stays open), the PF leaves the
 * list; returns 0.
 */
export function vfioPciCoreSriovConfigure(vdev: VfioPciCoreDevice, n: number): number {
  const pdev = vdev.pdev;
  if (n) {
    if (sriovPfs.has(vdev)) throw new VfioError('EINVAL', `${vdev.bdf}: SR-IOV is already enabled through vfio-pci`);
    sriovPfs.add(vdev);
    try {
      vdev.setPowerState(0);
      pciEnableSriov(pdev, n);
    } catch (e) {
      sriovPfs.delete(vdev);
      throw e;
    }
    return n;
  }
  if (pciNumVf(pdev)) pciDisableSriov(pdev);
  sriovPfs.delete(vdev);
  return 0;
}

/** The vfio-pci device of a PF that enabled SR-IOV through vfio-pci, for tests and tools. */
export function isVfioSriovPf(vdev: VfioPciCoreDevice): boolean {
  return sriovPfs.has(vdev);
}
