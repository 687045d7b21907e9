// Register offsets and bits of PCI config space, named as in Linux's include/uapi/linux/pci_regs.h.

export const PCI_VENDOR_ID = 0x00;
export const PCI_DEVICE_ID = 0x02;
export const PCI_COMMAND = 0x04;
export const PCI_COMMAND_IO = 0x1;
export const PCI_COMMAND_MEMORY = 0x2;
export const PCI_COMMAND_MASTER = 0x4;
export const PCI_COMMAND_PARITY = 0x40;
export const PCI_COMMAND_SERR = 0x100;
export const PCI_COMMAND_INTX_DISABLE = 0x400;
export const PCI_STATUS = 0x06;
export const PCI_STATUS_INTERRUPT = 0x08;
export const PCI_STATUS_CAP_LIST = 0x10;
export const PCI_STATUS_PARITY = 0x100;
export const PCI_STATUS_SIG_TARGET_ABORT = 0x800;
export const PCI_STATUS_REC_TARGET_ABORT = 0x1000;
export const PCI_STATUS_REC_MASTER_ABORT = 0x2000;
export const PCI_STATUS_SIG_SYSTEM_ERROR = 0x4000;
export const PCI_STATUS_DETECTED_PARITY = 0x8000;
/** The RW1C error bits of Status. */
export const PCI_STATUS_ERROR_BITS = 0xf900;
export const PCI_REVISION_ID = 0x08;
export const PCI_CLASS_PROG = 0x09;
export const PCI_CLASS_DEVICE = 0x0a;
export const PCI_CACHE_LINE_SIZE = 0x0c;
export const PCI_LATENCY_TIMER = 0x0d;
export const PCI_HEADER_TYPE = 0x0e;
export const PCI_HEADER_TYPE_NORMAL = 0;
export const PCI_HEADER_TYPE_BRIDGE = 1;
export const PCI_HEADER_TYPE_MFD = 0x80;
export const PCI_BIST = 0x0f;
export const PCI_BASE_ADDRESS_0 = 0x10;
export const PCI_BASE_ADDRESS_SPACE_IO = 0x01;
export const PCI_BASE_ADDRESS_MEM_TYPE_64 = 0x04;
export const PCI_BASE_ADDRESS_MEM_PREFETCH = 0x08;
export const PCI_CARDBUS_CIS = 0x28;
export const PCI_SUBSYSTEM_VENDOR_ID = 0x2c;
export const PCI_SUBSYSTEM_ID = 0x2e;
export const PCI_ROM_ADDRESS = 0x30;
export const PCI_ROM_ADDRESS_ENABLE = 0x1;
export const PCI_CAPABILITY_LIST = 0x34;
export const PCI_INTERRUPT_LINE = 0x3c;
export const PCI_INTERRUPT_PIN = 0x3d;
export const PCI_MIN_GNT = 0x3e;
export const PCI_MAX_LAT = 0x3f;

// Type 1 (bridge) header
export const PCI_PRIMARY_BUS = 0x18;
export const PCI_SECONDARY_BUS = 0x19;
export const PCI_SUBORDINATE_BUS = 0x1a;
export const PCI_SEC_LATENCY_TIMER = 0x1b;
export const PCI_IO_BASE = 0x1c;
export const PCI_IO_LIMIT = 0x1d;
export const PCI_IO_RANGE_TYPE_32 = 0x01;
export const PCI_SEC_STATUS = 0x1e;
export const PCI_MEMORY_BASE = 0x20;
export const PCI_MEMORY_LIMIT = 0x22;
export const PCI_PREF_MEMORY_BASE = 0x24;
export const PCI_PREF_MEMORY_LIMIT = 0x26;
export const PCI_PREF_RANGE_TYPE_64 = 0x01;
export const PCI_PREF_BASE_UPPER32 = 0x28;
export const PCI_PREF_LIMIT_UPPER32 = 0x2c;
export const PCI_IO_BASE_UPPER16 = 0x30;
export const PCI_IO_LIMIT_UPPER16 = 0x32;
export const PCI_ROM_ADDRESS1 = 0x38;
export const PCI_BRIDGE_CONTROL = 0x3e;
export const PCI_BRIDGE_CTL_PARITY = 0x01;
export const PCI_BRIDGE_CTL_SERR = 0x02;
export const PCI_BRIDGE_CTL_ISA = 0x04;
export const PCI_BRIDGE_CTL_VGA = 0x08;
export const PCI_BRIDGE_CTL_MASTER_ABORT = 0x20;
export const PCI_BRIDGE_CTL_BUS_RESET = 0x40;

// Capability IDs
export const PCI_CAP_ID_PM = 0x01;
export const PCI_CAP_ID_MSI = 0x05;
export const PCI_CAP_ID_VNDR = 0x09;
export const PCI_CAP_ID_EXP = 0x10;
export const PCI_CAP_ID_MSIX = 0x11;
export const PCI_CAP_LIST_NEXT = 1;

// Power management
export const PCI_PM_PMC = 2;
export const PCI_PM_CTRL = 4;
export const PCI_PM_CTRL_STATE_MASK = 0x0003;
export const PCI_PM_CAP_PME_SHIFT = 11;
export const PCI_PM_CAP_PME_D0 = 0x0800;
export const PCI_PM_CAP_PME_D3hot = 0x4000;
export const PCI_PM_CAP_PME_MASK = 0xf800;
export const PCI_PM_CTRL_NO_SOFT_RESET = 0x0008;
export const PCI_PM_CTRL_PME_ENABLE = 0x0100;
export const PCI_PM_CTRL_PME_STATUS = 0x8000;
export const PCI_PM_SIZEOF = 8;

// MSI
export const PCI_MSI_FLAGS = 2;
export const PCI_MSI_FLAGS_ENABLE = 0x0001;
export const PCI_MSI_FLAGS_QMASK = 0x000e;
export const PCI_MSI_FLAGS_QSIZE = 0x0070;
export const PCI_MSI_FLAGS_64BIT = 0x0080;
export const PCI_MSI_FLAGS_MASKBIT = 0x0100;
export const PCI_MSI_ADDRESS_LO = 4;
export const PCI_MSI_ADDRESS_HI = 8;
export const PCI_MSI_DATA_32 = 8;
export const PCI_MSI_MASK_32 = 12;
export const PCI_MSI_PENDING_32 = 16;
export const PCI_MSI_DATA_64 = 12;
export const PCI_MSI_MASK_64 = 16;
export const PCI_MSI_PENDING_64 = 20;

// MSI-X
export const PCI_MSIX_FLAGS = 2;
export const PCI_MSIX_FLAGS_QSIZE = 0x07ff;
export const PCI_MSIX_FLAGS_MASKALL = 0x4000;
export const PCI_MSIX_FLAGS_ENABLE = 0x8000;
export const PCI_MSIX_TABLE = 4;
export const PCI_MSIX_PBA = 8;
export const PCI_MSIX_FLAGS_BIRMASK = 0x7;
export const PCI_CAP_MSIX_SIZEOF = 12;
export const PCI_MSIX_ENTRY_SIZE = 16;
export const PCI_MSIX_ENTRY_VECTOR_CTRL = 12;
export const PCI_MSIX_ENTRY_CTRL_MASKBIT = 1;

// PCI Express
export const PCI_EXP_FLAGS = 2;
export const PCI_EXP_FLAGS_TYPE = 0x00f0;
export const PCI_EXP_TYPE_ENDPOINT = 0x0;
export const PCI_EXP_TYPE_ROOT_PORT = 0x4;
export const PCI_EXP_TYPE_DOWNSTREAM = 0x6;
export const PCI_EXP_TYPE_RC_END = 0x9;
export const PCI_EXP_TYPE_RC_EC = 0xa;
export const PCI_EXP_DEVCAP = 4;
export const PCI_EXP_DEVCAP_FLR = 0x10000000;
export const PCI_EXP_DEVCTL = 8;
export const PCI_EXP_DEVCTL_CERE = 0x0001;
export const PCI_EXP_DEVCTL_NFERE = 0x0002;
export const PCI_EXP_DEVCTL_FERE = 0x0004;
export const PCI_EXP_DEVCTL_URRE = 0x0008;
export const PCI_EXP_DEVCTL_BCR_FLR = 0x8000;
export const PCI_EXP_DEVSTA = 10;
export const PCI_EXP_DEVSTA_CED = 0x0001;
export const PCI_EXP_DEVSTA_NFED = 0x0002;
export const PCI_EXP_DEVSTA_FED = 0x0004;
export const PCI_EXP_DEVSTA_URD = 0x0008;
export const PCI_EXP_LNKCAP = 12;
export const PCI_EXP_LNKCTL = 16;
export const PCI_EXP_LNKSTA = 18;
export const PCI_EXP_SLTCAP = 20;
export const PCI_EXP_SLTCTL = 24;
export const PCI_EXP_SLTSTA = 26;
export const PCI_EXP_RTCTL = 28;
export const PCI_EXP_RTCAP = 30;
export const PCI_EXP_RTSTA = 32;
export const PCI_EXP_DEVCAP2 = 36;
export const PCI_EXP_DEVCTL2 = 40;
export const PCI_EXP_DEVSTA2 = 42;
export const PCI_EXP_LNKCAP2 = 44;
export const PCI_EXP_LNKCTL2 = 48;
export const PCI_EXP_LNKSTA2 = 50;
/** the whole v2 capability including the Slot 2 registers (what our hardware implements) */
export const PCI_CAP_EXP_SIZEOF = 0x3c;
/** end of a v2 endpoint's registers without slot (pci_regs.h) */
export const PCI_CAP_EXP_ENDPOINT_SIZEOF_V2 = 0x34;

// Extended capabilities
export const PCI_CFG_SPACE_SIZE = 256;
export const PCI_CFG_SPACE_EXP_SIZE = 4096;
export const PCI_EXT_CAP_ID_ERR = 0x0001;
export const PCI_EXT_CAP_ID_DSN = 0x0003;
export const PCI_EXT_CAP_ID_SRIOV = 0x0010;
export const PCI_ERR_UNCOR_STATUS = 4;
export const PCI_ERR_UNC_UNSUP = 0x00100000;
export const PCI_ERR_UNCOR_MASK = 8;
export const PCI_ERR_UNCOR_SEVER = 12;
export const PCI_ERR_COR_STATUS = 16;
export const PCI_ERR_COR_MASK = 20;
export const PCI_ERR_CAP = 24;
export const PCI_ERR_HEADER_LOG = 28;
export const PCI_ERR_ROOT_COMMAND = 44;
export const PCI_ERR_ROOT_STATUS = 48;
export const PCI_EXT_CAP_AER_SIZEOF = 0x48;
export const PCI_EXT_CAP_DSN_SIZEOF = 12;

// SR-IOV extended capability
export const PCI_SRIOV_CAP = 0x04; // SR-IOV Capabilities
export const PCI_SRIOV_CAP_VFM = 0x00000001; // VF Migration Capable
export const PCI_SRIOV_CTRL = 0x08; // SR-IOV Control
export const PCI_SRIOV_CTRL_VFE = 0x0001; // VF Enable
export const PCI_SRIOV_CTRL_VFM = 0x0002; // VF Migration Enable
export const PCI_SRIOV_CTRL_INTR = 0x0004; // VF Migration Interrupt Enable
export const PCI_SRIOV_CTRL_MSE = 0x0008; // VF Memory Space Enable
export const PCI_SRIOV_CTRL_ARI = 0x0010; // ARI Capable Hierarchy
export const PCI_SRIOV_STATUS = 0x0a; // SR-IOV Status
export const PCI_SRIOV_STATUS_VFM = 0x0001; // VF Migration Status
export const PCI_SRIOV_INITIAL_VF = 0x0c;
export const PCI_SRIOV_TOTAL_VF = 0x0e;
export const PCI_SRIOV_NUM_VF = 0x10;
export const PCI_SRIOV_FUNC_LINK = 0x12; // Function Dependency Link
export const PCI_SRIOV_VF_OFFSET = 0x14; // First VF Offset
export const PCI_SRIOV_VF_STRIDE = 0x16;
export const PCI_SRIOV_VF_DID = 0x1a; // VF Device ID
export const PCI_SRIOV_SUP_PGSIZE = 0x1c; // Supported Page Sizes
export const PCI_SRIOV_SYS_PGSIZE = 0x20; // System Page Size
export const PCI_SRIOV_BAR = 0x24; // VF BAR0; VF BARn at PCI_SRIOV_BAR + 4n
export const PCI_SRIOV_VFM = 0x3c; // VF Migration State Array Offset
export const PCI_EXT_CAP_SRIOV_SIZEOF = 0x40;
