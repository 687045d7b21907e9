import * as R from './capRegs.js';
import { msiCapLength } from './msiPerms.js';

// How long vfio considers each capability (pci_cap_length / pci_ext_cap_length and the
// variable-length rules of vfio_cap_len / vfio_ext_cap_len). Length 0 means vfio removes the
// capability from the chain the user sees; VARIABLE means the length is read from the capability.

export const VARIABLE = 0xff;

/** Standard capabilities, indexed by ID 0..PCI_CAP_ID_MAX (0 is the header itself). */
export const CAP_LENGTH: readonly number[] = (() => {
  const t = new Array<number>(R.PCI_CAP_ID_MAX + 1).fill(0);
  t[0] = R.PCI_STD_HEADER_SIZEOF;
  t[R.PCI_CAP_ID_PM] = R.PCI_PM_SIZEOF;
  t[R.PCI_CAP_ID_AGP] = R.PCI_AGP_SIZEOF;
  t[R.PCI_CAP_ID_VPD] = R.PCI_CAP_VPD_SIZEOF;
  t[R.PCI_CAP_ID_SLOTID] = 0; // bridges only
  t[R.PCI_CAP_ID_MSI] = VARIABLE; // 10, 14, 20 or 24
  t[R.PCI_CAP_ID_CHSWP] = 0;
  t[R.PCI_CAP_ID_PCIX] = VARIABLE; // 8 or 24
  t[R.PCI_CAP_ID_HT] = VARIABLE;
  t[R.PCI_CAP_ID_VNDR] = VARIABLE;
  t[R.PCI_CAP_ID_DBG] = 0;
  t[R.PCI_CAP_ID_CCRC] = 0;
  t[R.PCI_CAP_ID_SHPC] = 0;
  t[R.PCI_CAP_ID_SSVID] = 0; // bridges only
  t[R.PCI_CAP_ID_AGP3] = 0;
  t[R.PCI_CAP_ID_SECDEV] = 0;
  t[R.PCI_CAP_ID_EXP] = VARIABLE;
  t[R.PCI_CAP_ID_MSIX] = R.PCI_CAP_MSIX_SIZEOF;
  t[R.PCI_CAP_ID_SATA] = VARIABLE;
  t[R.PCI_CAP_ID_AF] = R.PCI_CAP_AF_SIZEOF;
  // PCI_CAP_ID_EA has no entry: hidden
  return Object.freeze(t);
})();

/** Extended capabilities, indexed by ID 0..PCI_EXT_CAP_ID_MAX; IDs without an entry are hidden. */
export const EXT_CAP_LENGTH: readonly number[] = (() => {
  const t = new Array<number>(R.PCI_EXT_CAP_ID_MAX + 1).fill(0);
  t[R.PCI_EXT_CAP_ID_ERR] = R.PCI_ERR_ROOT_COMMAND;
  t[R.PCI_EXT_CAP_ID_VC] = VARIABLE;
  t[R.PCI_EXT_CAP_ID_DSN] = R.PCI_EXT_CAP_DSN_SIZEOF;
  t[R.PCI_EXT_CAP_ID_PWR] = R.PCI_EXT_CAP_PWR_SIZEOF;
  t[R.PCI_EXT_CAP_ID_RCLD] = 0; // root complex only
  t[R.PCI_EXT_CAP_ID_RCILC] = 0;
  t[R.PCI_EXT_CAP_ID_RCEC] = 0;
  t[R.PCI_EXT_CAP_ID_MFVC] = VARIABLE;
  t[R.PCI_EXT_CAP_ID_VC9] = VARIABLE;
  t[R.PCI_EXT_CAP_ID_RCRB] = 0;
  t[R.PCI_EXT_CAP_ID_VNDR] = VARIABLE;
  t[R.PCI_EXT_CAP_ID_CAC] = 0; // obsolete
  t[R.PCI_EXT_CAP_ID_ACS] = VARIABLE;
  t[R.PCI_EXT_CAP_ID_ARI] = R.PCI_EXT_CAP_ARI_SIZEOF;
  t[R.PCI_EXT_CAP_ID_ATS] = R.PCI_EXT_CAP_ATS_SIZEOF;
  t[R.PCI_EXT_CAP_ID_SRIOV] = R.PCI_EXT_CAP_SRIOV_SIZEOF;
  t[R.PCI_EXT_CAP_ID_MRIOV] = 0;
  t[R.PCI_EXT_CAP_ID_MCAST] = R.PCI_EXT_CAP_MCAST_ENDPOINT_SIZEOF;
  t[R.PCI_EXT_CAP_ID_PRI] = R.PCI_EXT_CAP_PRI_SIZEOF;
  t[R.PCI_EXT_CAP_ID_AMD_XXX] = 0;
  t[R.PCI_EXT_CAP_ID_REBAR] = VARIABLE;
  t[R.PCI_EXT_CAP_ID_DPA] = VARIABLE;
  t[R.PCI_EXT_CAP_ID_TPH] = VARIABLE;
  t[R.PCI_EXT_CAP_ID_LTR] = R.PCI_EXT_CAP_LTR_SIZEOF;
  t[R.PCI_EXT_CAP_ID_SECPCI] = 0;
  t[R.PCI_EXT_CAP_ID_PMUX] = 0;
  t[R.PCI_EXT_CAP_ID_PASID] = 0;
  t[R.PCI_EXT_CAP_ID_DVSEC] = VARIABLE;
  return Object.freeze(t);
})();

/** Reads hardware config space (what the kernel's pci_read_config_* return). */
export type ConfigReader = (off: number, size: 1 | 2 | 4) => number;

/** The length vfio gives a standard capability `cap` at `pos` (0: hidden). */
export function capLength(rd: ConfigReader, cap: number, pos: number): number {
  if (cap === 0 || cap > R.PCI_CAP_ID_MAX) return 0; // ID 0 is a null capability: hidden
  const len = CAP_LENGTH[cap];
  if (len !== VARIABLE) return len;
  switch (cap) {
    case R.PCI_CAP_ID_MSI:
      return msiCapLength(rd(pos + R.PCI_MSI_FLAGS, 2));
    case R.PCI_CAP_ID_PCIX:
      return R.pciXCmdVersion(rd(pos + R.PCI_X_CMD, 2)) ? R.PCI_CAP_PCIX_SIZEOF_V2 : R.PCI_CAP_PCIX_SIZEOF_V0;
    case R.PCI_CAP_ID_VNDR:
      return rd(pos + R.PCI_CAP_FLAGS, 1); // the length byte follows the next pointer
    case R.PCI_CAP_ID_EXP: {
      const flags = rd(pos + R.PCI_EXP_FLAGS, 2);
      const rcEnd = (flags & R.PCI_EXP_FLAGS_TYPE) >> 4 === R.PCI_EXP_TYPE_RC_END;
      if ((flags & R.PCI_EXP_FLAGS_VERS) === 1) return rcEnd ? R.PCI_CAP_EXP_RC_ENDPOINT_SIZEOF_V1 : R.PCI_CAP_EXP_ENDPOINT_SIZEOF_V1;
      return rcEnd ? R.PCI_CAP_EXP_RC_ENDPOINT_SIZEOF_V2 : R.PCI_CAP_EXP_ENDPOINT_SIZEOF_V2;
    }
    case R.PCI_CAP_ID_HT:
      return rd(pos + 3, 1) & R.HT_3BIT_CAP_MASK ? R.HT_CAP_SIZEOF_SHORT : R.HT_CAP_SIZEOF_LONG;
    case R.PCI_CAP_ID_SATA:
      return (rd(pos + R.PCI_SATA_REGS, 1) & R.PCI_SATA_REGS_MASK) === R.PCI_SATA_REGS_INLINE ? R.PCI_SATA_SIZEOF_LONG : R.PCI_SATA_SIZEOF_SHORT;
    default:
      return 0;
  }
}

/** Virtual Channel (and MFVC) length: base, one record per VC, the VC arbitration table if any. */
function vcLength(rd: ConfigReader, pos: number): number {
  const evcc = rd(pos + R.PCI_VC_PORT_CAP1, 4) & R.PCI_VC_CAP1_EVCC;
  const cap2 = rd(pos + R.PCI_VC_PORT_CAP2, 4);
  const phases = cap2 & R.PCI_VC_CAP2_128_PHASE ? 128 : cap2 & R.PCI_VC_CAP2_64_PHASE ? 64 : cap2 & R.PCI_VC_CAP2_32_PHASE ? 32 : 0;
  const vcArb = phases * 4;
  let len = R.PCI_CAP_VC_BASE_SIZEOF + (1 + evcc) * R.PCI_CAP_VC_PER_VC_SIZEOF;
  if (vcArb) len = ((len + 15) & ~15) + vcArb / 8;
  return len;
}

/** The length vfio gives an extended capability `ecap` at `epos` (0: hidden). */
export function extCapLength(rd: ConfigReader, ecap: number, epos: number): number {
  if (ecap > R.PCI_EXT_CAP_ID_MAX) return 0;
  const len = EXT_CAP_LENGTH[ecap];
  if (len !== VARIABLE) return len;
  switch (ecap) {
    case R.PCI_EXT_CAP_ID_VNDR:
      return rd(epos + R.PCI_VNDR_HEADER, 4) >>> 20;
    case R.PCI_EXT_CAP_ID_VC:
    case R.PCI_EXT_CAP_ID_VC9:
    case R.PCI_EXT_CAP_ID_MFVC:
      return vcLength(rd, epos);
    case R.PCI_EXT_CAP_ID_ACS: {
      if ((rd(epos + R.PCI_ACS_CAP, 1) & R.PCI_ACS_EC) === 0) return 8;
      const n = rd(epos + R.PCI_ACS_EGRESS_BITS, 1);
      const bits = n ? (n + 31) & ~31 : 256;
      return 8 + bits / 8;
    }
    case R.PCI_EXT_CAP_ID_REBAR:
      return 4 + ((rd(epos + R.PCI_REBAR_CTRL, 1) & R.PCI_REBAR_CTRL_NBAR_MASK) >> R.PCI_REBAR_CTRL_NBAR_SHIFT) * 8;
    case R.PCI_EXT_CAP_ID_DPA:
      return R.PCI_DPA_BASE_SIZEOF + (rd(epos + R.PCI_DPA_CAP, 1) & R.PCI_DPA_CAP_SUBSTATE_MASK) + 1;
    case R.PCI_EXT_CAP_ID_TPH: {
      const cap = rd(epos + R.PCI_TPH_CAP, 4);
      if ((cap & R.PCI_TPH_CAP_LOC_MASK) !== R.PCI_TPH_LOC_CAP) return R.PCI_TPH_BASE_SIZEOF;
      return R.PCI_TPH_BASE_SIZEOF + ((cap & R.PCI_TPH_CAP_ST_MASK) >>> R.PCI_TPH_CAP_ST_SHIFT) * 2 + 2;
    }
    case R.PCI_EXT_CAP_ID_DVSEC:
      return (rd(epos + R.PCI_DVSEC_HEADER1, 4) >>> 20) & 0xfff;
    default:
      return 0;
  }
}
