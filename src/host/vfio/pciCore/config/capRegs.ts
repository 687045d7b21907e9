// Register offsets, bits and sizes the vfio config tables need beyond src/hw/pciRegs.ts, named and
// valued as in Linux's include/uapi/linux/pci_regs.h.

// the registers src/hw/pciRegs.ts already names come from there, so each value is written once
export * from '../../../../hw/pciRegs.js';

/** The standard header: the kernel's fake capability 0 (PCI_CAP_ID_BASIC) covers it. */
export const PCI_STD_HEADER_SIZEOF = 64;
export const PCI_BASE_ADDRESS_5 = 0x24;
export const PCI_CAP_LIST_ID = 0;
export const PCI_CAP_FLAGS = 2;
export const PCI_CAP_SIZEOF = 4;

// Capability IDs (PCI_CAP_ID_*), PCI_CAP_ID_MAX = PCI_CAP_ID_EA.
export const PCI_CAP_ID_AGP = 0x02;
export const PCI_CAP_ID_VPD = 0x03;
export const PCI_CAP_ID_SLOTID = 0x04;
export const PCI_CAP_ID_CHSWP = 0x06;
export const PCI_CAP_ID_PCIX = 0x07;
export const PCI_CAP_ID_HT = 0x08;
export const PCI_CAP_ID_DBG = 0x0a;
export const PCI_CAP_ID_CCRC = 0x0b;
export const PCI_CAP_ID_SHPC = 0x0c;
export const PCI_CAP_ID_SSVID = 0x0d;
export const PCI_CAP_ID_AGP3 = 0x0e;
export const PCI_CAP_ID_SECDEV = 0x0f;
export const PCI_CAP_ID_SATA = 0x12;
export const PCI_CAP_ID_AF = 0x13;
export const PCI_CAP_ID_EA = 0x14;
export const PCI_CAP_ID_MAX = PCI_CAP_ID_EA;

// Extended capability IDs (PCI_EXT_CAP_ID_*), PCI_EXT_CAP_ID_MAX = PCI_EXT_CAP_ID_PL_64GT.
export const PCI_EXT_CAP_ID_VC = 0x02;
export const PCI_EXT_CAP_ID_PWR = 0x04;
export const PCI_EXT_CAP_ID_RCLD = 0x05;
export const PCI_EXT_CAP_ID_RCILC = 0x06;
export const PCI_EXT_CAP_ID_RCEC = 0x07;
export const PCI_EXT_CAP_ID_MFVC = 0x08;
export const PCI_EXT_CAP_ID_VC9 = 0x09;
export const PCI_EXT_CAP_ID_RCRB = 0x0a;
export const PCI_EXT_CAP_ID_VNDR = 0x0b;
export const PCI_EXT_CAP_ID_CAC = 0x0c;
export const PCI_EXT_CAP_ID_ACS = 0x0d;
export const PCI_EXT_CAP_ID_ARI = 0x0e;
export const PCI_EXT_CAP_ID_ATS = 0x0f;
export const PCI_EXT_CAP_ID_MRIOV = 0x11;
export const PCI_EXT_CAP_ID_MCAST = 0x12;
export const PCI_EXT_CAP_ID_PRI = 0x13;
export const PCI_EXT_CAP_ID_AMD_XXX = 0x14;
export const PCI_EXT_CAP_ID_REBAR = 0x15;
export const PCI_EXT_CAP_ID_DPA = 0x16;
export const PCI_EXT_CAP_ID_TPH = 0x17;
export const PCI_EXT_CAP_ID_LTR = 0x18;
export const PCI_EXT_CAP_ID_SECPCI = 0x19;
export const PCI_EXT_CAP_ID_PMUX = 0x1a;
export const PCI_EXT_CAP_ID_PASID = 0x1b;
export const PCI_EXT_CAP_ID_DVSEC = 0x23;
export const PCI_EXT_CAP_ID_PL_64GT = 0x31;
export const PCI_EXT_CAP_ID_MAX = PCI_EXT_CAP_ID_PL_64GT;

/** Fields of an extended capability header dword. */
export const extCapId = (header: number): number => header & 0xffff;
export const extCapNext = (header: number): number => (header >>> 20) & 0xffc;

// Sizes
export const PCI_AGP_SIZEOF = 12;
export const PCI_CAP_VPD_SIZEOF = 8;
export const PCI_CAP_AF_SIZEOF = 6;
export const PCI_CAP_PCIX_SIZEOF_V0 = 8;
export const PCI_CAP_PCIX_SIZEOF_V2 = 24;
export const PCI_CAP_EXP_RC_ENDPOINT_SIZEOF_V1 = 12;
export const PCI_CAP_EXP_ENDPOINT_SIZEOF_V1 = 20;
export const PCI_CAP_EXP_RC_ENDPOINT_SIZEOF_V2 = 0x2c;
/** End of a v2 endpoint's PCIe capability with a link, as the kernel sizes it (Slot 2 registers excluded). */
export const HT_CAP_SIZEOF_LONG = 28;
export const HT_CAP_SIZEOF_SHORT = 24;
export const HT_3BIT_CAP_MASK = 0xe0;
export const PCI_SATA_REGS = 4;
export const PCI_SATA_REGS_MASK = 0xf;
export const PCI_SATA_REGS_INLINE = 0xf;
export const PCI_SATA_SIZEOF_SHORT = 8;
export const PCI_SATA_SIZEOF_LONG = 16;
export const PCI_EXT_CAP_PWR_SIZEOF = 0x10;
export const PCI_EXT_CAP_ARI_SIZEOF = 8;
export const PCI_EXT_CAP_ATS_SIZEOF = 8;
export const PCI_EXT_CAP_SRIOV_SIZEOF = 0x40;
export const PCI_EXT_CAP_MCAST_ENDPOINT_SIZEOF = 40;
export const PCI_EXT_CAP_PRI_SIZEOF = 16;
export const PCI_EXT_CAP_LTR_SIZEOF = 8;

// VPD
export const PCI_VPD_ADDR = 2;
export const PCI_VPD_DATA = 4;

// MSI

// PCI-X
export const PCI_X_CMD = 2;
export const PCI_X_ECC_CSR = 8;
export const pciXCmdVersion = (cmd: number): number => (cmd >> 12) & 3;
export const PCI_X_STATUS = 4;
export const PCI_X_STATUS_266MHZ = 0x40000000;
export const PCI_X_STATUS_533MHZ = 0x80000000;

// PCI Express
export const PCI_EXP_FLAGS_VERS = 0x000f;
export const PCI_EXP_TYPE_RC_END = 0x9;
export const PCI_EXP_DEVCTL_PAYLOAD = 0x00e0;
export const PCI_EXP_DEVCTL_PHANTOM = 0x0200;
export const PCI_EXP_DEVCTL_READRQ = 0x7000;
export const PCI_EXP_DEVCTL2_ARI = 0x0020;

// Advanced Features
export const PCI_AF_CAP = 3;
export const PCI_AF_CAP_TP = 0x01;
export const PCI_AF_CAP_FLR = 0x02;
export const PCI_AF_CTRL = 4;
export const PCI_AF_CTRL_FLR = 0x01;

// AER
export const PCI_ERR_UNC_UND = 0x00000001;
export const PCI_ERR_UNC_DLP = 0x00000010;
export const PCI_ERR_UNC_SURPDN = 0x00000020;
export const PCI_ERR_UNC_POISON_TLP = 0x00001000;
export const PCI_ERR_UNC_FCP = 0x00002000;
export const PCI_ERR_UNC_COMP_TIME = 0x00004000;
export const PCI_ERR_UNC_COMP_ABORT = 0x00008000;
export const PCI_ERR_UNC_UNX_COMP = 0x00010000;
export const PCI_ERR_UNC_RX_OVER = 0x00020000;
export const PCI_ERR_UNC_MALF_TLP = 0x00040000;
export const PCI_ERR_UNC_ECRC = 0x00080000;
export const PCI_ERR_UNC_UNSUP = 0x00100000;
export const PCI_ERR_UNC_ACSV = 0x00200000;
export const PCI_ERR_UNC_INTN = 0x00400000;
export const PCI_ERR_UNC_MCBTLP = 0x00800000;
export const PCI_ERR_UNC_ATOMEG = 0x01000000;
export const PCI_ERR_UNC_TLPPRE = 0x02000000;
export const PCI_ERR_COR_RCVR = 0x00000001;
export const PCI_ERR_COR_BAD_TLP = 0x00000040;
export const PCI_ERR_COR_BAD_DLLP = 0x00000080;
export const PCI_ERR_COR_REP_ROLL = 0x00000100;
export const PCI_ERR_COR_REP_TIMER = 0x00001000;
export const PCI_ERR_COR_ADV_NFAT = 0x00002000;
export const PCI_ERR_COR_INTERNAL = 0x00004000;
export const PCI_ERR_COR_LOG_OVER = 0x00008000;
export const PCI_ERR_CAP_ECRC_GENE = 0x00000040;
export const PCI_ERR_CAP_ECRC_CHKE = 0x00000100;

// Power Budgeting
export const PCI_PWR_DATA = 0x08;

// Variable-length extended capabilities
export const PCI_VNDR_HEADER = 4;
export const PCI_DVSEC_HEADER1 = 4;
export const PCI_VC_PORT_CAP1 = 0x04;
export const PCI_VC_CAP1_EVCC = 0x00000007;
export const PCI_VC_PORT_CAP2 = 0x08;
export const PCI_VC_CAP2_32_PHASE = 0x00000002;
export const PCI_VC_CAP2_64_PHASE = 0x00000004;
export const PCI_VC_CAP2_128_PHASE = 0x00000008;
export const PCI_CAP_VC_BASE_SIZEOF = 0x10;
export const PCI_CAP_VC_PER_VC_SIZEOF = 0x0c;
export const PCI_ACS_CAP = 0x04;
export const PCI_ACS_EC = 0x0020;
export const PCI_ACS_EGRESS_BITS = 0x05;
export const PCI_REBAR_CTRL = 8;
export const PCI_REBAR_CTRL_NBAR_MASK = 0x000000e0;
export const PCI_REBAR_CTRL_NBAR_SHIFT = 5;
export const PCI_DPA_CAP = 4;
export const PCI_DPA_CAP_SUBSTATE_MASK = 0x1f;
export const PCI_DPA_BASE_SIZEOF = 16;
export const PCI_TPH_CAP = 4;
export const PCI_TPH_CAP_LOC_MASK = 0x00000600;
export const PCI_TPH_LOC_CAP = 0x00000200;
export const PCI_TPH_CAP_ST_MASK = 0x07ff0000;
export const PCI_TPH_CAP_ST_SHIFT = 16;
export const PCI_TPH_BASE_SIZEOF = 0xc;
