import { PCI_CAPABILITY_LIST, PCI_CAP_LIST_NEXT, PCI_CFG_SPACE_SIZE, PCI_STATUS, PCI_STATUS_CAP_LIST } from '../../../../hw/pciRegs.js';
import { capLength, extCapLength } from './capLengths.js';
import type { ConfigReader } from './capLengths.js';
import * as R from './capRegs.js';
import { msiPerms } from './msiPerms.js';
import type { PermBits } from './permBits.js';

/** What walking the capability chains found. */
export interface ChainResult {
  /** capabilities left visible, in chain order: [id, offset, vfio length] */
  caps: [number, number, number][];
  ecaps: [number, number, number][];
  /** the per-device MSI table (vdev->msi_perm), when the device has MSI */
  msiPerm: PermBits | null;
  /** the dword at 0x100 is not zero, so there is an extended chain to walk */
  extendedCaps: boolean;
}

function little(vc: Uint8Array, off: number, size: number): number {
  let v = 0;
  for (let i = size - 1; i >= 0; i--) v = (v << 8) | vc[off + i];
  return v >>> 0;
}

function setLittle(vc: Uint8Array, off: number, size: number, v: number): void {
  for (let i = 0; i < size; i++) vc[off + i] = (v >>> (8 * i)) & 0xff;
}

function fill(rd: ConfigReader, vc: Uint8Array, pos: number, len: number): void {
  for (let i = 0; i < len; i++) vc[pos + i] = rd(pos + i, 1);
}

/**
 * vfio_cap_init and vfio_ecap_init: walks the device's standard and extended capability chains,
 * marks each visible capability's bytes in `map` with its ID, copies them from hardware into
 * `vconfig` and rewrites the next pointers in vconfig so that hidden capabilities (length 0 in the
 * kernel's tables) drop out of the chain the user sees. A hidden capability's bytes stay
 * unassigned in the map, as the kernel leaves them (raw hardware access). A hidden first extended
 * capability cannot be skipped (0x100 is where the chain starts), so its header keeps only the
 * next pointer (ID 0, version 0) and anchors the list. With no visible capability, Status.CapList
 * (or the 0x100 header) reads 0.
 */
export function walkCapChains(rd: ConfigReader, vconfig: Uint8Array, map: Uint8Array, cfgSize: number): ChainResult {
  const res: ChainResult = { caps: [], ecaps: [], msiPerm: null, extendedCaps: false };
  const probeExtended = () => {
    if (cfgSize > PCI_CFG_SPACE_SIZE) res.extendedCaps = rd(PCI_CFG_SPACE_SIZE, 4) !== 0;
  };

  if (rd(PCI_STATUS, 2) & PCI_STATUS_CAP_LIST) {
    let pos = rd(PCI_CAPABILITY_LIST, 1);
    let prev = PCI_CAPABILITY_LIST;
    let loops = (PCI_CFG_SPACE_SIZE - R.PCI_STD_HEADER_SIZEOF) / R.PCI_CAP_SIZEOF;
    while (pos && loops--) {
      const cap = rd(pos, 1);
      const next = rd(pos + PCI_CAP_LIST_NEXT, 1);
      const len = capLength(rd, cap, pos);
      if (cap === R.PCI_CAP_ID_EXP || (cap === R.PCI_CAP_ID_PCIX && len === R.PCI_CAP_PCIX_SIZEOF_V2)) probeExtended();
      if (cap === R.PCI_CAP_ID_MSI && res.msiPerm === null) res.msiPerm = msiPerms(rd(pos + R.PCI_MSI_FLAGS, 2));
      if (!len) {
        vconfig[prev] = next;
        pos = next;
        continue;
      }
      const n = Math.min(len, cfgSize - pos);
      map.fill(cap, pos, pos + n);
      fill(rd, vconfig, pos, n);
      if (cap === R.PCI_CAP_ID_PM) {
        // the user never sees PME: no PME_Support, PME_En or PME_Status
        setLittle(vconfig, pos + R.PCI_PM_PMC, 2, little(vconfig, pos + R.PCI_PM_PMC, 2) & ~R.PCI_PM_CAP_PME_MASK);
        setLittle(vconfig, pos + R.PCI_PM_CTRL, 2, little(vconfig, pos + R.PCI_PM_CTRL, 2) & ~(R.PCI_PM_CTRL_PME_ENABLE | R.PCI_PM_CTRL_PME_STATUS));
      }
      res.caps.push([cap, pos, len]);
      prev = pos + PCI_CAP_LIST_NEXT;
      pos = next;
    }
  }
  if (res.caps.length === 0) setLittle(vconfig, PCI_STATUS, 2, little(vconfig, PCI_STATUS, 2) & ~PCI_STATUS_CAP_LIST);

  if (!res.extendedCaps) return res;
  let epos = PCI_CFG_SPACE_SIZE;
  let prev = -1;
  let loops = (cfgSize - PCI_CFG_SPACE_SIZE) / R.PCI_CAP_SIZEOF;
  while (loops-- > 0 && epos >= PCI_CFG_SPACE_SIZE) {
    const header = rd(epos, 4);
    const ecap = R.extCapId(header);
    let len = extCapLength(rd, ecap, epos);
    let hidden = false;
    if (!len) {
      if (prev >= 0) {
        // skip it: the previous header points past it
        epos = R.extCapNext(header);
        setLittle(vconfig, prev, 4, ((little(vconfig, prev, 4) & ~(0xffc << 20)) | (epos << 20)) >>> 0);
        continue;
      }
      len = R.PCI_CAP_SIZEOF; // placeholder anchoring the chain
      hidden = true;
    }
    const n = Math.min(len, cfgSize - epos);
    map.fill(ecap & 0xff, epos, epos + n); // the map holds one byte per position, as the kernel's does
    fill(rd, vconfig, epos, n);
    if (hidden) setLittle(vconfig, epos, 4, (little(vconfig, epos, 4) & (0xffc << 20)) >>> 0);
    else res.ecaps.push([ecap, epos, len]);
    prev = epos;
    epos = R.extCapNext(header);
  }
  if (res.ecaps.length === 0) setLittle(vconfig, PCI_CFG_SPACE_SIZE, 4, 0);
  return res;
}

