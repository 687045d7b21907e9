// Single Root I/O Virtualization extended capability (PCIe SR-IOV 1.1, chapter 3.3; register names as in
// Linux's include/uapi/linux/pci_regs.h). Offsets are relative to the capability.

import { L } from '../../core/wasm.js';
import type { Core } from '../../core/wasm.js';
import type { ConfigBuilder } from '../configBuilder.js';
import { PCI_EXT_CAP_ID_SRIOV, PCI_SRIOV_CAP, PCI_SRIOV_CTRL, PCI_SRIOV_CTRL_VFE, PCI_SRIOV_CTRL_MSE, PCI_SRIOV_CTRL_ARI, PCI_SRIOV_STATUS, PCI_SRIOV_INITIAL_VF, PCI_SRIOV_TOTAL_VF, PCI_SRIOV_NUM_VF, PCI_SRIOV_FUNC_LINK, PCI_SRIOV_VF_OFFSET, PCI_SRIOV_VF_STRIDE, PCI_SRIOV_VF_DID, PCI_SRIOV_SUP_PGSIZE, PCI_SRIOV_SYS_PGSIZE, PCI_SRIOV_BAR, PCI_SRIOV_VFM, PCI_EXT_CAP_SRIOV_SIZEOF } from '../pciRegs.js';
import type { BarSpec } from '../spec.js';
import { checkInt } from '../spec.js';
import { validateBars } from '../bars.js';

/** Page sizes the function supports for VF BAR alignment: 4K, 8K, 64K, 256K, 1M, 4M (bit n = 2^(n+12)). */
export const SRIOV_SUPPORTED_PAGE_SIZES = 0x00000553;

export interface SriovCapabilitySpec {
  totalVfs: number;
  /** defaults to totalVfs */
  initialVfs?: number;
  firstVfOffset: number;
  vfStride: number;
  vfDeviceId: number;
  /** the function number of the PF (Function Dependency Link) */
  functionLink: number;
  /** one VF's BARs, index 0..5 as in EndpointSpec.bars (a mem64 BAR takes the next index too) */
  vfBars: (BarSpec | null)[];
  supportedPageSizes?: number;
}

/** What buildSriov returns: where the capability is and the checked VF BAR layout. */
export interface SriovCapabilityLayout {
  offset: number;
  totalVfs: number;
  vfBars: (BarSpec | null)[];
  supportedPageSizes: number;
}

/**
 * The SR-IOV extended capability, version 1. Read-only: Capabilities (no VF migration), Status,
 * InitialVFs, TotalVFs, Function Dependency Link, First VF Offset, VF Stride, VF Device ID,
 * Supported Page Sizes, VF Migration State Array Offset. Writable: Control (VF Enable, VF MSE,
 * ARI Capable Hierarchy), NumVFs, System Page Size (only supported sizes), and the VF BARs, which
 * size through the capability like ordinary BARs (flags read-only, address bits above one VF's BAR
 * size writable). Control, NumVFs and System Page Size report EV_DEVICE so the write reaches the
 * function's SR-IOV state (src/hw/sriov.ts); the VF BARs report EV_BAR (address decode changes).
 */
export function buildSriov(b: ConfigBuilder, spec: SriovCapabilitySpec, field = 'sriov'): SriovCapabilityLayout {
  const totalVfs = checkInt(spec.totalVfs, 1, 0xffff, `${field}.totalVfs`);
  const initialVfs = checkInt(spec.initialVfs ?? totalVfs, 0, totalVfs, `${field}.initialVfs`);
  checkInt(spec.firstVfOffset, 1, 0xffff, `${field}.firstVfOffset`);
  checkInt(spec.vfStride, totalVfs > 1 ? 1 : 0, 0xffff, `${field}.vfStride`);
  checkInt(spec.vfDeviceId, 0, 0xffff, `${field}.vfDeviceId`);
  checkInt(spec.functionLink, 0, 0xff, `${field}.functionLink`);
  const sup = checkInt(spec.supportedPageSizes ?? SRIOV_SUPPORTED_PAGE_SIZES, 1, 0xffffffff, `${field}.supportedPageSizes`);
  if ((sup & 1) === 0) throw new Error(`${field}.supportedPageSizes must include 4 KiB (bit 0), got 0x${sup.toString(16)}`);
  const vfBars = validateBars(spec.vfBars);
  for (const [i, bar] of vfBars.entries()) {
    if (bar?.kind === 'io') throw new Error(`${field}.vfBars[${i}]: VF BARs are memory BARs (SR-IOV 3.3.14), not io`);
  }

  const off = b.addExtCapability(PCI_EXT_CAP_ID_SRIOV, 1, PCI_EXT_CAP_SRIOV_SIZEOF, field);
  b.reg(off + PCI_SRIOV_CAP, 4, 0);
  b.reg(off + PCI_SRIOV_CTRL, 2, 0, PCI_SRIOV_CTRL_VFE | PCI_SRIOV_CTRL_MSE | PCI_SRIOV_CTRL_ARI, 0, L.EV_DEVICE);
  b.reg(off + PCI_SRIOV_STATUS, 2, 0);
  b.reg(off + PCI_SRIOV_INITIAL_VF, 2, initialVfs);
  b.reg(off + PCI_SRIOV_TOTAL_VF, 2, totalVfs);
  b.reg(off + PCI_SRIOV_NUM_VF, 2, 0, 0xffff, 0, L.EV_DEVICE);
  b.reg(off + PCI_SRIOV_FUNC_LINK, 1, spec.functionLink);
  b.reg(off + PCI_SRIOV_VF_OFFSET, 2, spec.firstVfOffset);
  b.reg(off + PCI_SRIOV_VF_STRIDE, 2, spec.vfStride);
  b.reg(off + PCI_SRIOV_VF_DID, 2, spec.vfDeviceId);
  b.reg(off + PCI_SRIOV_SUP_PGSIZE, 4, sup >>> 0);
  // System Page Size powers on as 4 KiB; only supported sizes can be written
  b.reg(off + PCI_SRIOV_SYS_PGSIZE, 4, 1, sup >>> 0, 0, L.EV_DEVICE);
  for (let i = 0; i < 6; i++) {
    const reg = off + PCI_SRIOV_BAR + 4 * i;
    b.reg(reg, 4, 0, 0, 0, L.EV_BAR);
    const bar = vfBars[i];
    if (bar) b.reg(reg, 4, bar.kind === 'mem64' ? 0x4 | (bar.prefetchable ? 0x8 : 0) : bar.prefetchable ? 0x8 : 0);
  }
  setVfBarMasks(b.core, b.slot, off, vfBars, 4096);
  b.reg(off + PCI_SRIOV_VFM, 4, 0);
  return { offset: off, totalVfs, vfBars, supportedPageSizes: sup >>> 0 };
}

/** One VF's BAR size once System Page Size applies: VF BARs are at least a system page (SR-IOV 3.3.13). */
export function effectiveVfBarSize(bar: BarSpec, pageSize: number): number {
  return Math.max(bar.size, pageSize);
}

/**
 * Programs the VF BAR writable masks for a system page size: address bits at and above one VF's
 * (page-rounded) BAR size are writable, so writing all-ones reads back ~(size - 1) | flags. Address
 * bits that are no longer writable read as zero afterwards.
 */
export function setVfBarMasks(core: Core, slot: number, cap: number, vfBars: (BarSpec | null)[], pageSize: number): void {
  const base = core.mem.base(slot);
  const u32 = core.mem.u32;
  for (let i = 0; i < 6; i++) {
    const reg = cap + PCI_SRIOV_BAR + 4 * i;
    const bar = vfBars[i];
    if (!bar) continue;
    const size = effectiveVfBarSize(bar, pageSize);
    const lo = (~((size - 1) % 2 ** 32) & 0xfffffff0) >>> 0;
    setMasked(u32, base, reg, lo, 0xf);
    if (bar.kind === 'mem64') setMasked(u32, base, reg + 4, ~Math.floor((size - 1) / 2 ** 32) >>> 0, 0);
  }
}

/** Sets a register's writable mask; its value keeps the read-only `flags` bits and the still-writable bits. */
function setMasked(u32: Uint32Array, base: number, reg: number, wmask: number, flags: number): void {
  const c = (base + L.CFG + reg) >>> 2;
  u32[(base + L.WMASK + reg) >>> 2] = wmask;
  u32[c] = (u32[c] & (wmask | flags)) >>> 0;
}
