// Register offsets and bits of PCI config space, named as in Linux's include/uapi/linux/pci_regs.h.

/** Vendor ID register (16 bits) of the config header (PCI_VENDOR_ID). */
export const PCI_VENDOR_ID = 0x00;
/** Device ID register (16 bits) of the config header (PCI_DEVICE_ID). */
export const PCI_DEVICE_ID = 0x02;
/** Command register (16 bits): I/O, memory, bus master, parity, SERR, INTx disable (PCI_COMMAND). */
export const PCI_COMMAND = 0x04;
/** Command bit: respond to I/O space accesses (PCI_COMMAND_IO). */
export const PCI_COMMAND_IO = 0x1;
/** Command bit: respond to memory space accesses (PCI_COMMAND_MEMORY). */
export const PCI_COMMAND_MEMORY = 0x2;
/** Command bit: bus master enable, lets the function issue DMA (PCI_COMMAND_MASTER). */
export const PCI_COMMAND_MASTER = 0x4;
/** Command bit: parity error response enable (PCI_COMMAND_PARITY). */
export const PCI_COMMAND_PARITY = 0x40;
/** Command bit: SERR# enable, report fatal/non-fatal errors (PCI_COMMAND_SERR). */
export const PCI_COMMAND_SERR = 0x100;
/** Command bit: INTx emulation disable (PCI_COMMAND_INTX_DISABLE). */
export const PCI_COMMAND_INTX_DISABLE = 0x400;
/** Status register (16 bits): capability list, interrupt status, RW1C error bits (PCI_STATUS). */
export const PCI_STATUS = 0x06;
/** Status bit: INTx interrupt pending, read-only (PCI_STATUS_INTERRUPT). */
export const PCI_STATUS_INTERRUPT = 0x08;
/** Status bit: the function has a capability list at PCI_CAPABILITY_LIST (PCI_STATUS_CAP_LIST). */
export const PCI_STATUS_CAP_LIST = 0x10;
/** Status bit: master data parity error detected, RW1C (PCI_STATUS_PARITY). */
export const PCI_STATUS_PARITY = 0x100;
/** Status bit: signaled target abort (completer abort), RW1C (PCI_STATUS_SIG_TARGET_ABORT). */
export const PCI_STATUS_SIG_TARGET_ABORT = 0x800;
/** Status bit: received target abort (completer abort), RW1C (PCI_STATUS_REC_TARGET_ABORT). */
export const PCI_STATUS_REC_TARGET_ABORT = 0x1000;
/** Status bit: received master abort (unsupported request), RW1C (PCI_STATUS_REC_MASTER_ABORT). */
export const PCI_STATUS_REC_MASTER_ABORT = 0x2000;
/** Status bit: signaled system error (SERR#/ERR_FATAL/ERR_NONFATAL), RW1C (PCI_STATUS_SIG_SYSTEM_ERROR). */
export const PCI_STATUS_SIG_SYSTEM_ERROR = 0x4000;
/** Status bit: detected parity error (poisoned TLP), RW1C (PCI_STATUS_DETECTED_PARITY). */
export const PCI_STATUS_DETECTED_PARITY = 0x8000;
/** The RW1C error bits of Status. */
export const PCI_STATUS_ERROR_BITS = 0xf900;
/** Revision ID register (8 bits) (PCI_REVISION_ID). */
export const PCI_REVISION_ID = 0x08;
/** Programming interface byte of the class code (PCI_CLASS_PROG). */
export const PCI_CLASS_PROG = 0x09;
/** Class and subclass (16 bits) of the class code (PCI_CLASS_DEVICE). */
export const PCI_CLASS_DEVICE = 0x0a;
/** Cache Line Size register (8 bits, in dwords) (PCI_CACHE_LINE_SIZE). */
export const PCI_CACHE_LINE_SIZE = 0x0c;
/** Latency Timer register (8 bits) (PCI_LATENCY_TIMER). */
export const PCI_LATENCY_TIMER = 0x0d;
/** Header Type register: layout in bits 6:0, multi-function in bit 7 (PCI_HEADER_TYPE). */
export const PCI_HEADER_TYPE = 0x0e;
/** Header layout 0: a type 0 endpoint header (PCI_HEADER_TYPE_NORMAL). */
export const PCI_HEADER_TYPE_NORMAL = 0;
/** Header layout 1: a type 1 PCI-to-PCI bridge header (PCI_HEADER_TYPE_BRIDGE). */
export const PCI_HEADER_TYPE_BRIDGE = 1;
/** Header Type bit 7: the device has more than one function (PCI_HEADER_TYPE_MFD). */
export const PCI_HEADER_TYPE_MFD = 0x80;
/** BIST register (8 bits), built-in self test (PCI_BIST). */
export const PCI_BIST = 0x0f;
/** First Base Address Register; BARn is at PCI_BASE_ADDRESS_0 + 4n (PCI_BASE_ADDRESS_0). */
export const PCI_BASE_ADDRESS_0 = 0x10;
/** BAR bit 0: the BAR decodes I/O space, not memory (PCI_BASE_ADDRESS_SPACE_IO). */
export const PCI_BASE_ADDRESS_SPACE_IO = 0x01;
/** Memory BAR type field value: 64-bit BAR using two slots (PCI_BASE_ADDRESS_MEM_TYPE_64). */
export const PCI_BASE_ADDRESS_MEM_TYPE_64 = 0x04;
/** Memory BAR bit 3: prefetchable (PCI_BASE_ADDRESS_MEM_PREFETCH). */
export const PCI_BASE_ADDRESS_MEM_PREFETCH = 0x08;
/** CardBus CIS pointer register (32 bits) (PCI_CARDBUS_CIS). */
export const PCI_CARDBUS_CIS = 0x28;
/** Subsystem Vendor ID register (16 bits) (PCI_SUBSYSTEM_VENDOR_ID). */
export const PCI_SUBSYSTEM_VENDOR_ID = 0x2c;
/** Subsystem ID register (16 bits) (PCI_SUBSYSTEM_ID). */
export const PCI_SUBSYSTEM_ID = 0x2e;
/** Expansion ROM base address register of a type 0 header (PCI_ROM_ADDRESS). */
export const PCI_ROM_ADDRESS = 0x30;
/** Expansion ROM BAR bit 0: ROM decode enable (PCI_ROM_ADDRESS_ENABLE). */
export const PCI_ROM_ADDRESS_ENABLE = 0x1;
/** Capabilities Pointer (8 bits): offset of the first capability (PCI_CAPABILITY_LIST). */
export const PCI_CAPABILITY_LIST = 0x34;
/** Interrupt Line register (8 bits), written by software (PCI_INTERRUPT_LINE). */
export const PCI_INTERRUPT_LINE = 0x3c;
/** Interrupt Pin register: 0 none, 1..4 INTA..INTD (PCI_INTERRUPT_PIN). */
export const PCI_INTERRUPT_PIN = 0x3d;
/** Min_Gnt register (8 bits) of a type 0 header (PCI_MIN_GNT). */
export const PCI_MIN_GNT = 0x3e;
/** Max_Lat register (8 bits) of a type 0 header (PCI_MAX_LAT). */
export const PCI_MAX_LAT = 0x3f;

// Type 1 (bridge) header
/** Bridge: Primary Bus Number (PCI_PRIMARY_BUS). */
export const PCI_PRIMARY_BUS = 0x18;
/** Bridge: Secondary Bus Number, the bus directly below (PCI_SECONDARY_BUS). */
export const PCI_SECONDARY_BUS = 0x19;
/** Bridge: Subordinate Bus Number, the highest bus below (PCI_SUBORDINATE_BUS). */
export const PCI_SUBORDINATE_BUS = 0x1a;
/** Bridge: Secondary Latency Timer (PCI_SEC_LATENCY_TIMER). */
export const PCI_SEC_LATENCY_TIMER = 0x1b;
/** Bridge: I/O Base (8 bits, address bits 15:12 and a type field) (PCI_IO_BASE). */
export const PCI_IO_BASE = 0x1c;
/** Bridge: I/O Limit (8 bits, address bits 15:12 and a type field) (PCI_IO_LIMIT). */
export const PCI_IO_LIMIT = 0x1d;
/** Bridge I/O base/limit type value: 32-bit I/O addressing (PCI_IO_RANGE_TYPE_32). */
export const PCI_IO_RANGE_TYPE_32 = 0x01;
/** Bridge: Secondary Status register, errors seen on the secondary bus (PCI_SEC_STATUS). */
export const PCI_SEC_STATUS = 0x1e;
/** Bridge: Memory Base (16 bits, address bits 31:20) (PCI_MEMORY_BASE). */
export const PCI_MEMORY_BASE = 0x20;
/** Bridge: Memory Limit (16 bits, address bits 31:20) (PCI_MEMORY_LIMIT). */
export const PCI_MEMORY_LIMIT = 0x22;
/** Bridge: Prefetchable Memory Base (16 bits, address bits 31:20 and a type field) (PCI_PREF_MEMORY_BASE). */
export const PCI_PREF_MEMORY_BASE = 0x24;
/** Bridge: Prefetchable Memory Limit (16 bits) (PCI_PREF_MEMORY_LIMIT). */
export const PCI_PREF_MEMORY_LIMIT = 0x26;
/** Bridge prefetchable base/limit type value: 64-bit addressing (PCI_PREF_RANGE_TYPE_64). */
export const PCI_PREF_RANGE_TYPE_64 = 0x01;
/** Bridge: Prefetchable Base, upper 32 address bits (PCI_PREF_BASE_UPPER32). */
export const PCI_PREF_BASE_UPPER32 = 0x28;
/** Bridge: Prefetchable Limit, upper 32 address bits (PCI_PREF_LIMIT_UPPER32). */
export const PCI_PREF_LIMIT_UPPER32 = 0x2c;
/** Bridge: I/O Base, upper 16 address bits (PCI_IO_BASE_UPPER16). */
export const PCI_IO_BASE_UPPER16 = 0x30;
/** Bridge: I/O Limit, upper 16 address bits (PCI_IO_LIMIT_UPPER16). */
export const PCI_IO_LIMIT_UPPER16 = 0x32;
/** Bridge: Expansion ROM base address of a type 1 header (PCI_ROM_ADDRESS1). */
export const PCI_ROM_ADDRESS1 = 0x38;
/** Bridge Control register (16 bits) (PCI_BRIDGE_CONTROL). */
export const PCI_BRIDGE_CONTROL = 0x3e;
/** Bridge Control bit: parity error response on the secondary bus (PCI_BRIDGE_CTL_PARITY). */
export const PCI_BRIDGE_CTL_PARITY = 0x01;
/** Bridge Control bit: forward SERR# from secondary to primary (PCI_BRIDGE_CTL_SERR). */
export const PCI_BRIDGE_CTL_SERR = 0x02;
/** Bridge Control bit: ISA enable (PCI_BRIDGE_CTL_ISA). */
export const PCI_BRIDGE_CTL_ISA = 0x04;
/** Bridge Control bit: VGA enable, forward legacy VGA ranges (PCI_BRIDGE_CTL_VGA). */
export const PCI_BRIDGE_CTL_VGA = 0x08;
/** Bridge Control bit: report master aborts (PCI_BRIDGE_CTL_MASTER_ABORT). */
export const PCI_BRIDGE_CTL_MASTER_ABORT = 0x20;
/** Bridge Control bit: secondary bus reset (PCI_BRIDGE_CTL_BUS_RESET). */
export const PCI_BRIDGE_CTL_BUS_RESET = 0x40;

// Capability IDs
/** Capability ID of Power Management (PCI_CAP_ID_PM). */
export const PCI_CAP_ID_PM = 0x01;
/** Capability ID of MSI (PCI_CAP_ID_MSI). */
export const PCI_CAP_ID_MSI = 0x05;
/** Capability ID of a vendor-specific capability (PCI_CAP_ID_VNDR). */
export const PCI_CAP_ID_VNDR = 0x09;
/** Capability ID of PCI Express (PCI_CAP_ID_EXP). */
export const PCI_CAP_ID_EXP = 0x10;
/** Capability ID of MSI-X (PCI_CAP_ID_MSIX). */
export const PCI_CAP_ID_MSIX = 0x11;
/** Offset within a capability of its next-capability pointer (PCI_CAP_LIST_NEXT). */
export const PCI_CAP_LIST_NEXT = 1;

// Power management
/** PM capability: Power Management Capabilities register (16 bits) (PCI_PM_PMC). */
export const PCI_PM_PMC = 2;
/** PM capability: PMCSR control/status register (16 bits) (PCI_PM_CTRL). */
export const PCI_PM_CTRL = 4;
/** PMCSR field: current power state, D0..D3hot (PCI_PM_CTRL_STATE_MASK). */
export const PCI_PM_CTRL_STATE_MASK = 0x0003;
/** PMC: shift of the PME_Support field (PCI_PM_CAP_PME_SHIFT). */
export const PCI_PM_CAP_PME_SHIFT = 11;
/** PMC bit: PME# can be asserted from D0 (PCI_PM_CAP_PME_D0). */
export const PCI_PM_CAP_PME_D0 = 0x0800;
/** PMC bit: PME# can be asserted from D3hot (PCI_PM_CAP_PME_D3hot). */
export const PCI_PM_CAP_PME_D3hot = 0x4000;
/** PMC field: PME_Support, the states PME# can be asserted from (PCI_PM_CAP_PME_MASK). */
export const PCI_PM_CAP_PME_MASK = 0xf800;
/** PMCSR bit: No_Soft_Reset, state kept across D3hot to D0 (PCI_PM_CTRL_NO_SOFT_RESET). */
export const PCI_PM_CTRL_NO_SOFT_RESET = 0x0008;
/** PMCSR bit: PME enable (PCI_PM_CTRL_PME_ENABLE). */
export const PCI_PM_CTRL_PME_ENABLE = 0x0100;
/** PMCSR bit: PME status, RW1C (PCI_PM_CTRL_PME_STATUS). */
export const PCI_PM_CTRL_PME_STATUS = 0x8000;
/** Size in bytes of the PM capability (PCI_PM_SIZEOF). */
export const PCI_PM_SIZEOF = 8;

// MSI
/** MSI capability: Message Control register (16 bits) (PCI_MSI_FLAGS). */
export const PCI_MSI_FLAGS = 2;
/** MSI Message Control bit: MSI enable (PCI_MSI_FLAGS_ENABLE). */
export const PCI_MSI_FLAGS_ENABLE = 0x0001;
/** MSI Message Control field: Multiple Message Capable, log2 of vectors (PCI_MSI_FLAGS_QMASK). */
export const PCI_MSI_FLAGS_QMASK = 0x000e;
/** MSI Message Control field: Multiple Message Enable, log2 of vectors (PCI_MSI_FLAGS_QSIZE). */
export const PCI_MSI_FLAGS_QSIZE = 0x0070;
/** MSI Message Control bit: 64-bit message address capable (PCI_MSI_FLAGS_64BIT). */
export const PCI_MSI_FLAGS_64BIT = 0x0080;
/** MSI Message Control bit: per-vector masking capable (PCI_MSI_FLAGS_MASKBIT). */
export const PCI_MSI_FLAGS_MASKBIT = 0x0100;
/** MSI capability: Message Address, low 32 bits (PCI_MSI_ADDRESS_LO). */
export const PCI_MSI_ADDRESS_LO = 4;
/** MSI capability: Message Upper Address, 64-bit layout only (PCI_MSI_ADDRESS_HI). */
export const PCI_MSI_ADDRESS_HI = 8;
/** MSI capability: Message Data in the 32-bit layout (PCI_MSI_DATA_32). */
export const PCI_MSI_DATA_32 = 8;
/** MSI capability: Mask Bits in the 32-bit layout (PCI_MSI_MASK_32). */
export const PCI_MSI_MASK_32 = 12;
/** MSI capability: Pending Bits in the 32-bit layout (PCI_MSI_PENDING_32). */
export const PCI_MSI_PENDING_32 = 16;
/** MSI capability: Message Data in the 64-bit layout (PCI_MSI_DATA_64). */
export const PCI_MSI_DATA_64 = 12;
/** MSI capability: Mask Bits in the 64-bit layout (PCI_MSI_MASK_64). */
export const PCI_MSI_MASK_64 = 16;
/** MSI capability: Pending Bits in the 64-bit layout (PCI_MSI_PENDING_64). */
export const PCI_MSI_PENDING_64 = 20;

// MSI-X
/** MSI-X capability: Message Control register (16 bits) (PCI_MSIX_FLAGS). */
export const PCI_MSIX_FLAGS = 2;
/** MSI-X Message Control field: table size minus one (PCI_MSIX_FLAGS_QSIZE). */
export const PCI_MSIX_FLAGS_QSIZE = 0x07ff;
/** MSI-X Message Control bit: function mask, masks all vectors (PCI_MSIX_FLAGS_MASKALL). */
export const PCI_MSIX_FLAGS_MASKALL = 0x4000;
/** MSI-X Message Control bit: MSI-X enable (PCI_MSIX_FLAGS_ENABLE). */
export const PCI_MSIX_FLAGS_ENABLE = 0x8000;
/** MSI-X capability: Table Offset/BIR register (PCI_MSIX_TABLE). */
export const PCI_MSIX_TABLE = 4;
/** MSI-X capability: PBA Offset/BIR register (PCI_MSIX_PBA). */
export const PCI_MSIX_PBA = 8;
/** MSI-X Table/PBA field: BAR indicator, bits 2:0 (PCI_MSIX_FLAGS_BIRMASK). */
export const PCI_MSIX_FLAGS_BIRMASK = 0x7;
/** Size in bytes of the MSI-X capability (PCI_CAP_MSIX_SIZEOF). */
export const PCI_CAP_MSIX_SIZEOF = 12;
/** Size in bytes of one MSI-X table entry (PCI_MSIX_ENTRY_SIZE). */
export const PCI_MSIX_ENTRY_SIZE = 16;
/** MSI-X table entry: offset of Vector Control (PCI_MSIX_ENTRY_VECTOR_CTRL). */
export const PCI_MSIX_ENTRY_VECTOR_CTRL = 12;
/** MSI-X Vector Control bit: the vector is masked (PCI_MSIX_ENTRY_CTRL_MASKBIT). */
export const PCI_MSIX_ENTRY_CTRL_MASKBIT = 1;

// PCI Express
/** PCIe capability: Capabilities register, version and device/port type (PCI_EXP_FLAGS). */
export const PCI_EXP_FLAGS = 2;
/** PCIe Capabilities field: device/port type (PCI_EXP_FLAGS_TYPE). */
export const PCI_EXP_FLAGS_TYPE = 0x00f0;
/** PCIe device/port type: Express endpoint (PCI_EXP_TYPE_ENDPOINT). */
export const PCI_EXP_TYPE_ENDPOINT = 0x0;
/** PCIe device/port type: root port (PCI_EXP_TYPE_ROOT_PORT). */
export const PCI_EXP_TYPE_ROOT_PORT = 0x4;
/** PCIe device/port type: switch downstream port (PCI_EXP_TYPE_DOWNSTREAM). */
export const PCI_EXP_TYPE_DOWNSTREAM = 0x6;
/** PCIe device/port type: root complex integrated endpoint (PCI_EXP_TYPE_RC_END). */
export const PCI_EXP_TYPE_RC_END = 0x9;
/** PCIe device/port type: root complex event collector (PCI_EXP_TYPE_RC_EC). */
export const PCI_EXP_TYPE_RC_EC = 0xa;
/** PCIe capability: Device Capabilities register (PCI_EXP_DEVCAP). */
export const PCI_EXP_DEVCAP = 4;
/** Device Capabilities bit: Function Level Reset capable (PCI_EXP_DEVCAP_FLR). */
export const PCI_EXP_DEVCAP_FLR = 0x10000000;
/** PCIe capability: Device Control register (PCI_EXP_DEVCTL). */
export const PCI_EXP_DEVCTL = 8;
/** Device Control bit: correctable error reporting enable (PCI_EXP_DEVCTL_CERE). */
export const PCI_EXP_DEVCTL_CERE = 0x0001;
/** Device Control bit: non-fatal error reporting enable (PCI_EXP_DEVCTL_NFERE). */
export const PCI_EXP_DEVCTL_NFERE = 0x0002;
/** Device Control bit: fatal error reporting enable (PCI_EXP_DEVCTL_FERE). */
export const PCI_EXP_DEVCTL_FERE = 0x0004;
/** Device Control bit: unsupported request reporting enable (PCI_EXP_DEVCTL_URRE). */
export const PCI_EXP_DEVCTL_URRE = 0x0008;
/** Device Control bit: initiate Function Level Reset (PCI_EXP_DEVCTL_BCR_FLR). */
export const PCI_EXP_DEVCTL_BCR_FLR = 0x8000;
/** PCIe capability: Device Status register (PCI_EXP_DEVSTA). */
export const PCI_EXP_DEVSTA = 10;
/** Device Status bit: correctable error detected, RW1C (PCI_EXP_DEVSTA_CED). */
export const PCI_EXP_DEVSTA_CED = 0x0001;
/** Device Status bit: non-fatal error detected, RW1C (PCI_EXP_DEVSTA_NFED). */
export const PCI_EXP_DEVSTA_NFED = 0x0002;
/** Device Status bit: fatal error detected, RW1C (PCI_EXP_DEVSTA_FED). */
export const PCI_EXP_DEVSTA_FED = 0x0004;
/** Device Status bit: unsupported request detected, RW1C (PCI_EXP_DEVSTA_URD). */
export const PCI_EXP_DEVSTA_URD = 0x0008;
/** PCIe capability: Link Capabilities register (PCI_EXP_LNKCAP). */
export const PCI_EXP_LNKCAP = 12;
/** PCIe capability: Link Control register (PCI_EXP_LNKCTL). */
export const PCI_EXP_LNKCTL = 16;
/** PCIe capability: Link Status register (PCI_EXP_LNKSTA). */
export const PCI_EXP_LNKSTA = 18;
/** PCIe capability: Slot Capabilities register (PCI_EXP_SLTCAP). */
export const PCI_EXP_SLTCAP = 20;
/** PCIe capability: Slot Control register (PCI_EXP_SLTCTL). */
export const PCI_EXP_SLTCTL = 24;
/** PCIe capability: Slot Status register (PCI_EXP_SLTSTA). */
export const PCI_EXP_SLTSTA = 26;
/** PCIe capability: Root Control register (PCI_EXP_RTCTL). */
export const PCI_EXP_RTCTL = 28;
/** PCIe capability: Root Capabilities register (PCI_EXP_RTCAP). */
export const PCI_EXP_RTCAP = 30;
/** PCIe capability: Root Status register (PCI_EXP_RTSTA). */
export const PCI_EXP_RTSTA = 32;
/** PCIe capability: Device Capabilities 2 register (PCI_EXP_DEVCAP2). */
export const PCI_EXP_DEVCAP2 = 36;
/** PCIe capability: Device Control 2 register (PCI_EXP_DEVCTL2). */
export const PCI_EXP_DEVCTL2 = 40;
/** PCIe capability: Device Status 2 register (PCI_EXP_DEVSTA2). */
export const PCI_EXP_DEVSTA2 = 42;
/** PCIe capability: Link Capabilities 2 register (PCI_EXP_LNKCAP2). */
export const PCI_EXP_LNKCAP2 = 44;
/** PCIe capability: Link Control 2 register (PCI_EXP_LNKCTL2). */
export const PCI_EXP_LNKCTL2 = 48;
/** PCIe capability: Link Status 2 register (PCI_EXP_LNKSTA2). */
export const PCI_EXP_LNKSTA2 = 50;
/** the whole v2 capability including the Slot 2 registers (what our hardware implements) */
export const PCI_CAP_EXP_SIZEOF = 0x3c;
/** end of a v2 endpoint's registers without slot (pci_regs.h) */
export const PCI_CAP_EXP_ENDPOINT_SIZEOF_V2 = 0x34;

// Extended capabilities
/** Size in bytes of conventional PCI config space (PCI_CFG_SPACE_SIZE). */
export const PCI_CFG_SPACE_SIZE = 256;
/** Size in bytes of PCIe extended config space (PCI_CFG_SPACE_EXP_SIZE). */
export const PCI_CFG_SPACE_EXP_SIZE = 4096;
/** Extended capability ID of Advanced Error Reporting (PCI_EXT_CAP_ID_ERR). */
export const PCI_EXT_CAP_ID_ERR = 0x0001;
/** Extended capability ID of Device Serial Number (PCI_EXT_CAP_ID_DSN). */
export const PCI_EXT_CAP_ID_DSN = 0x0003;
/** Extended capability ID of Single Root I/O Virtualization (PCI_EXT_CAP_ID_SRIOV). */
export const PCI_EXT_CAP_ID_SRIOV = 0x0010;
/** AER: Uncorrectable Error Status register, RW1C (PCI_ERR_UNCOR_STATUS). */
export const PCI_ERR_UNCOR_STATUS = 4;
/** AER uncorrectable error bit: Unsupported Request (PCI_ERR_UNC_UNSUP). */
export const PCI_ERR_UNC_UNSUP = 0x00100000;
/** AER: Uncorrectable Error Mask register (PCI_ERR_UNCOR_MASK). */
export const PCI_ERR_UNCOR_MASK = 8;
/** AER: Uncorrectable Error Severity register, 1 = fatal (PCI_ERR_UNCOR_SEVER). */
export const PCI_ERR_UNCOR_SEVER = 12;
/** AER: Correctable Error Status register, RW1C (PCI_ERR_COR_STATUS). */
export const PCI_ERR_COR_STATUS = 16;
/** AER: Correctable Error Mask register (PCI_ERR_COR_MASK). */
export const PCI_ERR_COR_MASK = 20;
/** AER: Advanced Error Capabilities and Control register (PCI_ERR_CAP). */
export const PCI_ERR_CAP = 24;
/** AER: Header Log, four dwords of the failing TLP header (PCI_ERR_HEADER_LOG). */
export const PCI_ERR_HEADER_LOG = 28;
/** AER: Root Error Command register, root ports only (PCI_ERR_ROOT_COMMAND). */
export const PCI_ERR_ROOT_COMMAND = 44;
/** AER: Root Error Status register, root ports only (PCI_ERR_ROOT_STATUS). */
export const PCI_ERR_ROOT_STATUS = 48;
/** Size in bytes of the AER extended capability (PCI_EXT_CAP_ERR_SIZEOF in pci_regs.h). */
export const PCI_EXT_CAP_AER_SIZEOF = 0x48;
/** Size in bytes of the Device Serial Number extended capability (PCI_EXT_CAP_DSN_SIZEOF). */
export const PCI_EXT_CAP_DSN_SIZEOF = 12;

// SR-IOV extended capability
/** SR-IOV: SR-IOV Capabilities register (PCI_SRIOV_CAP). */
export const PCI_SRIOV_CAP = 0x04;
/** SR-IOV Capabilities bit: VF Migration capable (PCI_SRIOV_CAP_VFM). */
export const PCI_SRIOV_CAP_VFM = 0x00000001;
/** SR-IOV: SR-IOV Control register (PCI_SRIOV_CTRL). */
export const PCI_SRIOV_CTRL = 0x08;
/** SR-IOV Control bit: VF Enable (PCI_SRIOV_CTRL_VFE). */
export const PCI_SRIOV_CTRL_VFE = 0x0001;
/** SR-IOV Control bit: VF Migration Enable (PCI_SRIOV_CTRL_VFM). */
export const PCI_SRIOV_CTRL_VFM = 0x0002;
/** SR-IOV Control bit: VF Migration Interrupt Enable (PCI_SRIOV_CTRL_INTR). */
export const PCI_SRIOV_CTRL_INTR = 0x0004;
/** SR-IOV Control bit: VF Memory Space Enable (PCI_SRIOV_CTRL_MSE). */
export const PCI_SRIOV_CTRL_MSE = 0x0008;
/** SR-IOV Control bit: ARI Capable Hierarchy (PCI_SRIOV_CTRL_ARI). */
export const PCI_SRIOV_CTRL_ARI = 0x0010;
/** SR-IOV: SR-IOV Status register (PCI_SRIOV_STATUS). */
export const PCI_SRIOV_STATUS = 0x0a;
/** SR-IOV Status bit: VF Migration Status, RW1C (PCI_SRIOV_STATUS_VFM). */
export const PCI_SRIOV_STATUS_VFM = 0x0001;
/** SR-IOV: InitialVFs, VFs initially associated with the PF (PCI_SRIOV_INITIAL_VF). */
export const PCI_SRIOV_INITIAL_VF = 0x0c;
/** SR-IOV: TotalVFs, the most VFs the PF can have (PCI_SRIOV_TOTAL_VF). */
export const PCI_SRIOV_TOTAL_VF = 0x0e;
/** SR-IOV: NumVFs, VFs software made visible (PCI_SRIOV_NUM_VF). */
export const PCI_SRIOV_NUM_VF = 0x10;
/** SR-IOV: Function Dependency Link (PCI_SRIOV_FUNC_LINK). */
export const PCI_SRIOV_FUNC_LINK = 0x12;
/** SR-IOV: First VF Offset, routing ID distance from the PF to VF1 (PCI_SRIOV_VF_OFFSET). */
export const PCI_SRIOV_VF_OFFSET = 0x14;
/** SR-IOV: VF Stride, routing ID distance between consecutive VFs (PCI_SRIOV_VF_STRIDE). */
export const PCI_SRIOV_VF_STRIDE = 0x16;
/** SR-IOV: VF Device ID (PCI_SRIOV_VF_DID). */
export const PCI_SRIOV_VF_DID = 0x1a;
/** SR-IOV: Supported Page Sizes bitmap (PCI_SRIOV_SUP_PGSIZE). */
export const PCI_SRIOV_SUP_PGSIZE = 0x1c;
/** SR-IOV: System Page Size, one bit of the supported set (PCI_SRIOV_SYS_PGSIZE). */
export const PCI_SRIOV_SYS_PGSIZE = 0x20;
/** SR-IOV: VF BAR0; VF BARn is at PCI_SRIOV_BAR + 4n (PCI_SRIOV_BAR). */
export const PCI_SRIOV_BAR = 0x24;
/** SR-IOV: VF Migration State Array Offset (PCI_SRIOV_VFM). */
export const PCI_SRIOV_VFM = 0x3c;
/** Size in bytes of the SR-IOV extended capability (PCI_EXT_CAP_SRIOV_SIZEOF). */
export const PCI_EXT_CAP_SRIOV_SIZEOF = 0x40;
