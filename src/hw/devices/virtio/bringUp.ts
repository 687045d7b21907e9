import { PCI_SRIOV_BAR, PCI_SRIOV_CTRL, PCI_SRIOV_CTRL_MSE, PCI_SRIOV_CTRL_VFE, PCI_SRIOV_NUM_VF } from '../../pciRegs.js';
import type { Hardware } from '../../hardware.js';
import { PCI_BASE_ADDRESS_0, PCI_COMMAND, PCI_COMMAND_MASTER, PCI_COMMAND_MEMORY } from '../../pciRegs.js';
import type { VirtualFunction } from '../../sriov.js';
import type { VirtioNetPf } from './virtioNetPf.js';

/**
 * What firmware and the host's PCI core do before a driver runs, in one call for tests, the admin
 * client and benchmarks: program BAR `n` of `bdf` to `bars[n]` (both halves of a 64-bit BAR) and turn
 * on memory decode and bus mastering.
 */
export function placeBars(hw: Hardware, bdf: string, bars: Record<number, number>): void {
  const fn = hw.function(bdf);
  if (!fn) throw new Error(`${bdf}: no such function`);
  for (const [k, addr] of Object.entries(bars)) {
    const n = Number(k);
    const reg = PCI_BASE_ADDRESS_0 + 4 * n;
    hw.configWrite(bdf, reg, 4, addr % 2 ** 32);
    if ((hw.configRead(bdf, reg, 4) & 0x6) === 0x4) hw.configWrite(bdf, reg + 4, 4, Math.floor(addr / 2 ** 32));
  }
  hw.configWrite(bdf, PCI_COMMAND, 2, hw.configRead(bdf, PCI_COMMAND, 2) | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
}

/**
 * Enables `numVfs` VFs of a virtio-net PF the way the PCI core does (NumVFs, VF BARs, VF Enable with
 * VF MSE), with VF BAR n of VF 0 at `vfBars[n]`, and turns on bus mastering in each VF.
 */
export function enableVfs(hw: Hardware, pf: VirtioNetPf, numVfs: number, vfBars: Record<number, number>): VirtualFunction[] {
  const sriov = pf.sriov;
  if (!sriov) throw new Error(`${pf.bdf} has no SR-IOV capability`);
  const cap = sriov.cap;
  hw.configWrite(pf.bdf, cap + PCI_SRIOV_CTRL, 2, 0);
  hw.configWrite(pf.bdf, cap + PCI_SRIOV_NUM_VF, 2, numVfs);
  for (const [k, addr] of Object.entries(vfBars)) {
    const reg = cap + PCI_SRIOV_BAR + 4 * Number(k);
    hw.configWrite(pf.bdf, reg, 4, addr % 2 ** 32);
    if ((hw.configRead(pf.bdf, reg, 4) & 0x6) === 0x4) hw.configWrite(pf.bdf, reg + 4, 4, Math.floor(addr / 2 ** 32));
  }
  hw.configWrite(pf.bdf, cap + PCI_SRIOV_CTRL, 2, PCI_SRIOV_CTRL_VFE | PCI_SRIOV_CTRL_MSE);
  for (const vf of sriov.vfs) hw.configWrite(vf.bdf, PCI_COMMAND, 2, PCI_COMMAND_MASTER);
  return sriov.vfs;
}
