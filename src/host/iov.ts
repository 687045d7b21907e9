import { formatBdf, parseBdf } from '../hw/bdf.js';
import { Bridge } from '../hw/bridge.js';
import { PCI_COMMAND, PCI_COMMAND_MEMORY } from '../hw/pciRegs.js';
import type { PciDriverFileState } from './pciCore.js';
import { HostPciDev } from './pciCore.js';
import { PCI_SRIOV_CTRL, PCI_SRIOV_CTRL_MSE, PCI_SRIOV_CTRL_VFE, PCI_SRIOV_NUM_VF, PCI_SRIOV_TOTAL_VF, PCI_SRIOV_VF_OFFSET, PCI_SRIOV_VF_STRIDE } from '../hw/pciRegs.js';
import type { PciDev, PciDriver } from './pciDriver.js';
import { VfioError } from './vfio/vfioError.js';

// The host PCI core's SR-IOV code (drivers/pci/iov.c): the sriov_numvfs sysfs store, pci_enable_sriov
// and pci_disable_sriov as a PF driver's sriov_configure calls them, and the helpers VF drivers use to
// reach their PF (pci_iov_vf_id, pci_iov_get_pf_drvdata). The hardware creates and removes the VFs
// when VF Enable changes (src/hw/sriov.ts); the PCI core gives each one a pci_dev with its IDs from
// the PF and the capability (PciCore.addVirtfn).

const PCI_SRIOV_CAP = 0x04;
const PCI_SRIOV_CAP_VFM = 0x1;
const PCI_SRIOV_INITIAL_VF = 0x0c;

function hostDev(dev: PciDev): HostPciDev {
  if (!(dev instanceof HostPciDev)) throw new VfioError('EINVAL', `${dev.bdf} is not a device of the host PCI core`);
  return dev;
}

/** dev->is_physfn: sriov_init found an SR-IOV capability with VFs. */
export function pciIsPhysfn(dev: PciDev): boolean {
  return dev instanceof HostPciDev && dev.sriov !== null;
}

/** pci_num_vf: the VFs pci_enable_sriov enabled, 0 when SR-IOV is off or the device is no PF. */
export function pciNumVf(dev: PciDev): number {
  return dev instanceof HostPciDev && dev.sriov !== null ? dev.sriov.numVfs : 0;
}

/** pci_sriov_get_totalvfs */
export function pciSriovGetTotalvfs(dev: PciDev): number {
  return dev instanceof HostPciDev && dev.sriov !== null ? dev.sriov.totalVfs : 0;
}

/** pci_iov_vf_id: the VF's index (0-based) among its PF's VFs; EINVAL for a function that is no VF. */
export function pciIovVfId(dev: PciDev): number {
  const vf = dev instanceof HostPciDev ? dev : null;
  if (vf === null || !vf.isVirtfn || vf.physfn === null || vf.vfIndex < 0) throw new VfioError('EINVAL', `${dev.bdf} is not a VF`);
  return vf.vfIndex;
}

/**
 * pci_iov_get_pf_drvdata: the PF's driver data, provided the PF is bound to `pfDriver`; EINVAL when
 * `dev` is no VF or its PF is bound to another driver (or none).
 */
export function pciIovGetPfDrvdata(dev: PciDev, pfDriver: PciDriver): unknown {
  if (!dev.isVirtfn || dev.physfn === null) throw new VfioError('EINVAL', `${dev.bdf} is not a VF`);
  const pf = dev.physfn;
  if (pf.driver !== pfDriver) throw new VfioError('EINVAL', `the PF of ${dev.bdf} is not bound to ${pfDriver.name}`);
  return pf.driverData;
}

/** The VFs of `pf` the PCI core knows, in VF-index order. */
export function pciVirtfns(pf: PciDev): HostPciDev[] {
  const p = hostDev(pf);
  return p.core
    .devices()
    .filter((d) => d.isVirtfn && d.physfn === p && d.present)
    .sort((a, b) => a.vfIndex - b.vfIndex);
}

/** pci_iov_set_numvfs: NumVFs, then First VF Offset and VF Stride as they are for that NumVFs. */
function setNumvfs(pf: HostPciDev, n: number): { offset: number; stride: number } {
  const cap = pf.sriov!.cap;
  pf.writeConfig(cap + PCI_SRIOV_NUM_VF, 2, n);
  return { offset: pf.readConfig(cap + PCI_SRIOV_VF_OFFSET, 2), stride: pf.readConfig(cap + PCI_SRIOV_VF_STRIDE, 2) };
}

/** The last bus number the PF's bus range covers (busn_res.end): the bridge's subordinate, 0xff on a root bus. */
function busnEnd(pf: HostPciDev): number {
  const br = pf.fn.bus.bridge;
  return br instanceof Bridge ? br.subordinateBus : 0xff;
}

function writeCtrl(pf: HostPciDev, set: number, clear: number): void {
  const at = pf.sriov!.cap + PCI_SRIOV_CTRL;
  const ctrl = pf.readConfig(at, 2);
  pf.writeConfig(at, 2, (ctrl & ~clear) | set);
}

/**
 * pci_enable_sriov (sriov_enable): NumVFs, memory decode for the VF BARs, VF Enable and VF MSE; then
 * each VF the hardware created gets its pci_dev (pci_iov_add_virtfn, in VF order), which bus
 * notifiers and the driver core see as a new device. Errors as the kernel's: ENOSYS for a device
 * that is no PF, EINVAL when VFs are already enabled or `n` is out of range, EIO for an InitialVFs
 * the kernel cannot use, ENOMEM when the VF BARs have no address or a VF's bus is outside the PF's
 * bus range. A VF the hardware could not create (its routing ID is taken) undoes the enable (EIO).
 */
export function pciEnableSriov(dev: PciDev, n: number): void {
  const pf = hostDev(dev);
  const iov = pf.sriov;
  if (iov === null) throw new VfioError('ENOSYS', `${pf.bdf} has no SR-IOV capability`);
  if (!pf.present) throw new VfioError('ENODEV', `${pf.bdf}: the device is gone`);
  if (n === 0) return;
  if (iov.numVfs) throw new VfioError('EINVAL', `${pf.bdf} already has ${iov.numVfs} VFs enabled`);
  const cap = iov.cap;
  const vfm = (pf.readConfig(cap + PCI_SRIOV_CAP, 4) & PCI_SRIOV_CAP_VFM) !== 0;
  const initial = pf.readConfig(cap + PCI_SRIOV_INITIAL_VF, 2);
  if (initial > iov.totalVfs || (!vfm && initial !== iov.totalVfs)) throw new VfioError('EIO', `${pf.bdf}: InitialVFs ${initial} does not fit TotalVFs ${iov.totalVfs}`);
  if (!Number.isInteger(n) || n < 0 || n > iov.totalVfs || (!vfm && n > initial)) throw new VfioError('EINVAL', `${pf.bdf}: cannot enable ${n} of ${iov.totalVfs} VFs`);
  if (iov.vfBars.some((r) => r !== null && r.start === null)) throw new VfioError('ENOMEM', `${pf.bdf}: not enough MMIO resources for SR-IOV`);
  const here = parseBdf(pf.bdf);
  const pfRid = pf.routingId;
  // First VF Offset and VF Stride may depend on NumVFs: read them as they are for n
  const { offset, stride } = setNumvfs(pf, n);
  const lastBus = (pfRid + offset + stride * (n - 1)) >> 8;
  if (lastBus > busnEnd(pf)) {
    setNumvfs(pf, 0);
    throw new VfioError('ENOMEM', `${pf.bdf}: can't enable ${n} VFs (bus ${lastBus.toString(16).padStart(2, '0')} out of range)`);
  }
  // pci_enable_resources(dev, IOV BARs): the PF's memory decode for the VF BARs
  if (iov.vfBars.some((r) => r !== null && r.kind === 'mem')) {
    const cmd = pf.readConfig(PCI_COMMAND, 2);
    if ((cmd & PCI_COMMAND_MEMORY) === 0) pf.writeConfig(PCI_COMMAND, 2, cmd | PCI_COMMAND_MEMORY);
  }
  writeCtrl(pf, PCI_SRIOV_CTRL_VFE | PCI_SRIOV_CTRL_MSE, 0);
  // sriov_add_vfs: a pci_dev for each VF, in order; a VF that is not there undoes everything
  const hw = pf.core.hw;
  const added: HostPciDev[] = [];
  for (let i = 0; i < n; i++) {
    const rid = pfRid + offset + stride * i;
    const bdf = formatBdf(here.domain, rid >> 8, (rid >> 3) & 31, rid & 7);
    const fn = hw.function(bdf);
    if (fn === undefined || !fn.isVirtfn || !fn.alive) {
      for (const vf of added.reverse()) pf.core.removeVirtfn(vf);
      writeCtrl(pf, 0, PCI_SRIOV_CTRL_VFE | PCI_SRIOV_CTRL_MSE);
      setNumvfs(pf, 0);
      throw new VfioError('EIO', `${pf.bdf}: VF ${i + 1} did not appear at ${bdf}`);
    }
    added.push(pf.core.addVirtfn(pf, fn, iov.vfDevice, i));
  }
  iov.numVfs = n;
}

/**
 * pci_disable_sriov (sriov_disable): each VF's pci_dev goes first (its driver is unbound), then VF
 * Enable and VF MSE clear (the hardware removes the VFs) and NumVFs goes back to 0. A VF whose
 * driver holds files user space has open (a vfio device fd) cannot go: the kernel would block until
 * the user closes it; here its driver is asked to release the device (vfio's request) and, if the
 * file stays open, EBUSY is thrown with the VFs removed so far gone and SR-IOV still enabled.
 */
export function pciDisableSriov(dev: PciDev): void {
  const pf = hostDev(dev);
  const iov = pf.sriov;
  if (iov === null) return;
  const vfs = pciVirtfns(pf);
  for (const vf of vfs) {
    const drv = vf.driver as (PciDriver & PciDriverFileState) | null;
    if (drv === null || drv.hasOpenFiles?.(vf) !== true) continue;
    drv.remove(vf); // vfio: the request op, then EBUSY while the file stays open
    vf.driver = null;
    vf.driverData = null;
  }
  for (const vf of vfs.reverse()) pf.core.removeVirtfn(vf);
  if (pf.present && pf.fn.alive) {
    writeCtrl(pf, 0, PCI_SRIOV_CTRL_VFE | PCI_SRIOV_CTRL_MSE);
    setNumvfs(pf, 0);
  }
  iov.numVfs = 0;
}

/**
 * What a write of `numVfs` to /sys/bus/pci/devices/<pf>/sriov_numvfs does (sriov_numvfs_store),
 * returning the number of VFs enabled afterwards. ENOENT for a device without the file (no SR-IOV
 * capability), EINVAL for a value that is not a u16 number (ERANGE above 65535, as kstrtou16), ERANGE
 * above TotalVFs; the same number again changes nothing; ENOENT when no driver is bound or it has no
 * sriov_configure; 0 disables through the driver; enabling while VFs are enabled is EBUSY (go through
 * 0 first); else the driver's sriov_configure decides (its errno is thrown).
 */
export function sriovNumvfsStore(dev: PciDev, numVfs: number): number {
  const pf = hostDev(dev);
  const iov = pf.sriov;
  if (iov === null) throw new VfioError('ENOENT', `${pf.bdf} has no sriov_numvfs (not an SR-IOV PF)`);
  if (typeof numVfs !== 'number' || !Number.isInteger(numVfs) || numVfs < 0) throw new VfioError('EINVAL', `sriov_numvfs takes a number of VFs, not ${String(numVfs)}`);
  if (numVfs > 0xffff) throw new VfioError('ERANGE', `${numVfs} does not fit a u16`);
  if (numVfs > pciSriovGetTotalvfs(pf)) throw new VfioError('ERANGE', `${pf.bdf}: ${numVfs} VFs is more than TotalVFs ${iov.totalVfs}`);
  reconcile(pf);
  if (numVfs === iov.numVfs) return iov.numVfs;
  const drv = pf.driver;
  if (drv === null || typeof drv.sriovConfigure !== 'function') {
    throw new VfioError('ENOENT', `${pf.bdf}: ${drv === null ? 'no driver is bound' : `driver ${drv.name} does not support SR-IOV configuration via sysfs`}`);
  }
  if (numVfs === 0) {
    drv.sriovConfigure(pf, 0);
    return iov.numVfs;
  }
  if (iov.numVfs) throw new VfioError('EBUSY', `${pf.bdf}: ${iov.numVfs} VFs already enabled; disable before enabling ${numVfs} VFs`);
  drv.sriovConfigure(pf, numVfs);
  return iov.numVfs;
}

/**
 * The hardware lost the VFs behind the PCI core's back (a reset of the PF, or a VF Enable write that
 * did not come from here): their pci_devs go and the PF counts none, so sriov_numvfs starts again
 * from 0.
 */
function reconcile(pf: HostPciDev): void {
  const iov = pf.sriov!;
  if (iov.numVfs === 0) return;
  const vfe = pf.fn.alive && (pf.readConfig(iov.cap + PCI_SRIOV_CTRL, 2) & PCI_SRIOV_CTRL_VFE) !== 0;
  if (vfe) return;
  for (const vf of pciVirtfns(pf).reverse()) pf.core.removeVirtfn(vf);
  iov.numVfs = 0;
  if (pf.fn.alive) setNumvfs(pf, 0);
}

/** sriov_totalvfs as sysfs shows it (the TotalVFs register of the capability). */
export function sriovTotalvfs(dev: PciDev): number {
  const pf = hostDev(dev);
  return pf.sriov === null ? 0 : pf.readConfig(pf.sriov.cap + PCI_SRIOV_TOTAL_VF, 2);
}
