import { L } from '../core/wasm.js';
import type { PciFunction } from '../hw/pciFunction.js';
import type { Hardware } from '../hw/hardware.js';
import { Bridge } from '../hw/bridge.js';
import { PCI_BRIDGE_CONTROL, PCI_BRIDGE_CTL_BUS_RESET, PCI_EXP_DEVCTL, PCI_EXP_DEVCTL_BCR_FLR, PCI_EXP_DEVCTL2, PCI_EXP_FLAGS, PCI_EXP_LNKCTL, PCI_EXP_LNKCTL2, PCI_MSIX_FLAGS, PCI_PM_CTRL, PCI_PM_CTRL_NO_SOFT_RESET, PCI_EXT_CAP_ID_SRIOV, PCI_EXT_CAP_ID_ERR, PCI_ERR_COR_STATUS, PCI_ERR_UNCOR_STATUS, PCI_SRIOV_BAR, PCI_SRIOV_CTRL, PCI_SRIOV_CTRL_VFE, PCI_SRIOV_NUM_VF, PCI_SRIOV_SYS_PGSIZE } from '../hw/pciRegs.js';

// The host PCI core's function reset (pci_reset_function and pci_reset_bus): pick a method, save the
// config state, reset through the hardware's own mechanism, restore the state.

export type ResetMethod = 'flr' | 'pm' | 'bus';

/** The first reset method the function supports, in Linux's order, or null (-ENOTTY). */
export function probeResetMethod(hw: Hardware, fn: PciFunction): ResetMethod | null {
  if (fn.hasFlr) return 'flr';
  const pm = fn.capOffset(L.M_PM_CAP);
  if (pm && (fn.configRead(pm + PCI_PM_CTRL, 2) & PCI_PM_CTRL_NO_SOFT_RESET) === 0) return 'pm';
  if (canBusReset(fn) && fn.bus.functions.size === 1) return 'bus';
  void hw;
  return null;
}

/** A secondary bus reset can reach the function: it sits behind a bridge and is not a VF. */
export function canBusReset(fn: PciFunction): boolean {
  return fn.bus.bridge !== null && !fn.isVirtfn && !(fn instanceof Bridge);
}

/** pci_save_state: the config registers and MSI-X table as they are now. */
export interface SavedState {
  cfg: Uint8Array;
  msix: Uint8Array;
}

export function saveState(fn: PciFunction): SavedState {
  // through the hardware's own accesses: config reads, and the MSI-X table as the device's BAR
  // answers it (what the kernel keeps in its saved state and msi descriptors)
  const cfg = new Uint8Array(256);
  const dv = new DataView(cfg.buffer);
  for (let off = 0; off < 256; off += 4) dv.setUint32(off, fn.hw.configRead(fn.bdf, off, 4), true);
  const m = fn.msix;
  const msix = new Uint8Array(m ? m.tableBytes : 0);
  if (m) {
    const tv = new DataView(msix.buffer);
    for (let off = 0; off < m.tableBytes; off += 4) tv.setUint32(off, fn.barRead(m.tableBar, m.tableOffset + off, 4), true);
  }
  return { cfg, msix };
}

/**
 * pci_restore_state: the AER status cleared (pci_aer_clear_status: a reset leaves the sticky error
 * bits set), header dwords written back from 0x3c down (as pci_restore_config_space does), the PCIe
 * control registers, then MSI and MSI-X (the table first, then Message Control).
 */
export function restoreState(hw: Hardware, fn: PciFunction, s: SavedState): void {
  const aer = findExtCap(fn, PCI_EXT_CAP_ID_ERR);
  if (aer) {
    for (const r of [PCI_ERR_COR_STATUS, PCI_ERR_UNCOR_STATUS]) {
      const bits = fn.configRead(aer + r, 4);
      if (bits) hw.configWrite(fn.bdf, aer + r, 4, bits);
    }
  }
  const dv = new DataView(s.cfg.buffer, s.cfg.byteOffset);
  for (let off = 0x3c; off >= 0x04; off -= 4) {
    const v = dv.getUint32(off, true);
    if (fn.configRead(off, 4) !== v) hw.configWrite(fn.bdf, off, 4, v);
  }
  const exp = fn.capOffset(L.M_PCIE_CAP);
  if (exp) {
    // the "2" registers exist from capability version 2 on (pcie_capability_reg_implemented)
    const v2 = (fn.configRead(exp + PCI_EXP_FLAGS, 2) & 0xf) > 1;
    for (const r of v2 ? [PCI_EXP_DEVCTL, PCI_EXP_LNKCTL, PCI_EXP_DEVCTL2, PCI_EXP_LNKCTL2] : [PCI_EXP_DEVCTL, PCI_EXP_LNKCTL]) {
      hw.configWrite(fn.bdf, exp + r, 2, dv.getUint16(exp + r, true) & ~PCI_EXP_DEVCTL_BCR_FLR);
    }
  }
  const msi = fn.capOffset(L.M_MSI_CAP);
  if (msi) {
    for (let off = msi + 4; off < msi + 0x18 && off < 0x100; off += 4) hw.configWrite(fn.bdf, off, 4, dv.getUint32(off, true));
    hw.configWrite(fn.bdf, msi + 2, 2, dv.getUint16(msi + 2, true));
  }
  const msix = fn.capOffset(L.M_MSIX_CAP);
  const m = fn.msix;
  if (msix && m) {
    const tv = new DataView(s.msix.buffer, s.msix.byteOffset);
    for (let off = 0; off < s.msix.length; off += 4) fn.barWrite(m.tableBar, m.tableOffset + off, 4, tv.getUint32(off, true));
    hw.configWrite(fn.bdf, msix + PCI_MSIX_FLAGS, 2, dv.getUint16(msix + PCI_MSIX_FLAGS, true));
  }
}

/**
 * The SR-IOV state the host keeps for a PF with VFs enabled (struct pci_sriov: ctrl, num_VFs, pgsz,
 * the VF BARs), read before a reset; null when the function has no SR-IOV capability or no VFs.
 */
function saveIovState(fn: PciFunction): { cap: number; regs: Uint32Array } | null {
  const cap = findExtCap(fn, PCI_EXT_CAP_ID_SRIOV);
  if (cap === 0 || (fn.configRead(cap + PCI_SRIOV_CTRL, 2) & PCI_SRIOV_CTRL_VFE) === 0) return null;
  const regs = new Uint32Array(16);
  for (let i = 0; i < 16; i++) regs[i] = fn.configRead(cap + 4 * i, 4);
  return { cap, regs };
}

/**
 * pci_restore_iov_state (sriov_restore_state): a PF whose reset cleared VF Enable gets its SR-IOV
 * state back - VF BARs, System Page Size, NumVFs, then Control with VF Enable and VF MSE - so its VFs
 * come back (as freshly reset functions, which the host PCI core picks up again).
 */
function restoreIovState(hw: Hardware, fn: PciFunction, iov: { cap: number; regs: Uint32Array }): void {
  const { cap, regs } = iov;
  if (!fn.alive || (fn.configRead(cap + PCI_SRIOV_CTRL, 2) & PCI_SRIOV_CTRL_VFE) !== 0) return;
  for (let i = 0; i < 6; i++) hw.configWrite(fn.bdf, cap + PCI_SRIOV_BAR + 4 * i, 4, regs[(PCI_SRIOV_BAR >> 2) + i]);
  hw.configWrite(fn.bdf, cap + PCI_SRIOV_SYS_PGSIZE, 4, regs[PCI_SRIOV_SYS_PGSIZE >> 2]);
  hw.configWrite(fn.bdf, cap + PCI_SRIOV_NUM_VF, 2, regs[PCI_SRIOV_NUM_VF >> 2] & 0xffff);
  hw.configWrite(fn.bdf, cap + PCI_SRIOV_CTRL, 2, regs[PCI_SRIOV_CTRL >> 2] & 0xffff);
}


/** Offset of extended capability `id` of the function, 0 if absent. */
function findExtCap(fn: PciFunction, id: number): number {
  if (!fn.capOffset(L.M_PCIE_CAP)) return 0;
  let pos = 0x100;
  for (let ttl = (4096 - 256) / 8; ttl > 0 && pos >= 0x100; ttl--) {
    const h = fn.configRead(pos, 4);
    if (h === 0 || h === 0xffffffff) return 0;
    if ((h & 0xffff) === id) return pos;
    pos = (h >>> 20) & 0xffc;
  }
  return 0;
}

/**
 * Performs `method` through the hardware: DevCtl Initiate FLR, D3hot->D0, or Secondary Bus Reset; a PF
 * with VFs enabled gets its SR-IOV state back afterwards (pci_restore_iov_state).
 */
export function doReset(hw: Hardware, fn: PciFunction, method: ResetMethod): void {
  // the PF's VFs outlive its reset: the host puts SR-IOV back as pci_restore_state does
  const iov = saveIovState(fn);
  try {
    resetBy(hw, fn, method);
  } finally {
    if (iov !== null) restoreIovState(hw, fn, iov);
  }
}

function resetBy(hw: Hardware, fn: PciFunction, method: ResetMethod): void {
  if (method === 'flr') {
    const exp = fn.capOffset(L.M_PCIE_CAP);
    hw.configWrite(fn.bdf, exp + PCI_EXP_DEVCTL, 2, fn.configRead(exp + PCI_EXP_DEVCTL, 2) | PCI_EXP_DEVCTL_BCR_FLR);
  } else if (method === 'pm') {
    const pm = fn.capOffset(L.M_PM_CAP);
    const csr = fn.configRead(pm + PCI_PM_CTRL, 2);
    hw.configWrite(fn.bdf, pm + PCI_PM_CTRL, 2, (csr & ~3) | 3);
    hw.configWrite(fn.bdf, pm + PCI_PM_CTRL, 2, csr & ~3);
  } else {
    busReset(hw, fn.bus.bridge!);
  }
}

/** pci_reset_secondary_bus: set, then clear, Secondary Bus Reset on the bridge. */
export function busReset(hw: Hardware, bridge: Bridge): void {
  const ctl = bridge.configRead(PCI_BRIDGE_CONTROL, 2);
  hw.configWrite(bridge.bdf, PCI_BRIDGE_CONTROL, 2, ctl | PCI_BRIDGE_CTL_BUS_RESET);
  hw.configWrite(bridge.bdf, PCI_BRIDGE_CONTROL, 2, ctl & ~PCI_BRIDGE_CTL_BUS_RESET);
}

/** pci_try_reset_function: save, reset with the first method that works, restore. */
export function resetFunction(hw: Hardware, fn: PciFunction): void {
  const method = probeResetMethod(hw, fn);
  if (!method) throw new Error('no reset method');
  const s = saveState(fn);
  doReset(hw, fn, method);
  restoreState(hw, fn, s);
}

