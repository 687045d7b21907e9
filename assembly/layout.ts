// The one place the per-function memory layout is defined. The build step (scripts/embed-wasm.mjs)
// copies these values from the module's exported globals into TypeScript (src/core/wasm.ts, `L`), and
// every loaded instance is checked against that copy, so the two sides cannot drift apart.
//
// Linear memory (one memory per emulator; addresses are unsigned, up to 4 GiB):
//   page 0            AssemblyScript static data (tiny; checked at start)
//   SCRATCH (64 KiB)  bulk in/out buffer for one-call loops (scans, MSI-X replay at 0xf000)
//   HEAP ...          blocks (assembly/slot.ts): a function's areas and the slot table, sized by
//                     what the function has; memory grows in large steps
//
// Slot table: SLOT_REC bytes per slot: +0 base block, +4 vfio block (0 = none), +8 MSI-X block (0 = none),
// +12 PBA (inside the MSI-X block).
//
// Base block (every function, BASE_SIZE bytes):
//   0x0000 CFG     4 KiB  live hardware config registers (PCIe extended space)
//   0x1000 WMASK   4 KiB  per-byte hardware writable bits
//   0x2000 W1C     4 KiB  per-byte hardware RW1C bits
//   0x3000 INIT    4 KiB  power-on image of CFG; reset copies it back
//   0x4000 EVMAP   4 KiB  per-byte event class: a write touching the byte reports these bits
//   0x5000 META  256 B    hw metadata (M_* below)
// vfio block (only once vfio-pci-core opens the function, VFIO_SIZE bytes):
//   0x0000 VCONFIG 4 KiB  virtual config space (vfio_pci_core_device.vconfig)
//   0x1000 VIRT    4 KiB  perm bits: virtualized mask (read from VCONFIG, not hardware)
//   0x2000 UWRITE  4 KiB  perm bits: user-writable mask
//   0x3000 VEVMAP  4 KiB  per-byte event class of vfio's special config writes (VEV_* below)
//   0x4000 VMETA 256 B    vfio metadata (M_VFIO_*)
// MSI-X block (only with an MSI-X capability): the table, 16 bytes per vector, then the PBA
// (8 bytes per 64 vectors). Every 32-bit load at an area's last byte stays inside its block.
export const SCRATCH: i32 = 0x10000;
export const SCRATCH_SIZE: i32 = 0x10000;
export const HEAP: i32 = 0x20000;
export const SLOT_REC: i32 = 16;
export const BLOCK_ALIGN: i32 = 256;

export const CFG: i32 = 0x00000;
export const WMASK: i32 = 0x01000;
export const W1C: i32 = 0x02000;
export const INIT: i32 = 0x03000;
export const EVMAP: i32 = 0x04000;
export const META: i32 = 0x05000;
export const BASE_SIZE: i32 = 0x05100;

export const VCONFIG: i32 = 0x00000;
export const VIRT: i32 = 0x01000;
export const UWRITE: i32 = 0x02000;
// vfio's config writes with side effects beyond the per-byte perm rule (vfio_pci_config.c writefns):
// a user write touching a byte reports that byte's VEV_* bits, shifted left by 8, from vfioCfgWrite.
export const VEVMAP: i32 = 0x03000;
export const VMETA: i32 = 0x04000;
export const VFIO_SIZE: i32 = 0x04100;

export const MSIX_MAX_VECTORS: i32 = 2048;
export const CFG_SIZE: i32 = 0x1000;

// META fields (byte offsets inside META).
export const M_MSI_CAP: i32 = 0x00; // u16: offset of the MSI capability, 0 = none
export const M_MSIX_CAP: i32 = 0x02; // u16: offset of the MSI-X capability, 0 = none
export const M_PM_CAP: i32 = 0x04; // u16
export const M_PCIE_CAP: i32 = 0x06; // u16
export const M_MSIX_VECTORS: i32 = 0x08; // u32: MSI-X table size in entries
// 7 BAR records (BAR0-5, then the expansion ROM), BAR_REC bytes each:
//   +0 kind u32 (BAR_* below), +8 size f64 (bytes; 0 for the upper half of a mem64 BAR)
export const M_BARS: i32 = 0x40;
export const BAR_REC: i32 = 16;
export const ROM_INDEX: i32 = 6;
export const M_HW_END: i32 = 0x100;
// VMETA fields.
export const M_VFIO_HWVAL: i32 = 0x00; // u32: the value vfioCfgWrite last wrote to hardware (merged)

export const BAR_NONE: i32 = 0;
export const BAR_MEM32: i32 = 1;
export const BAR_MEM64: i32 = 2;
export const BAR_IO: i32 = 3;
export const BAR_ROM: i32 = 4;
export const BAR_MEM64_HI: i32 = 5;

// Event classes a config write reports (OR of the EVMAP bytes it touched).
export const EV_COMMAND: i32 = 1;
export const EV_BAR: i32 = 2;
export const EV_MSI: i32 = 4;
export const EV_MSIX: i32 = 8;
export const EV_PM: i32 = 16;
export const EV_PCIE: i32 = 32;
export const EV_BRIDGE: i32 = 64;
export const EV_DEVICE: i32 = 128;

// vfio event classes (VEVMAP bytes); the handlers live in src/host/vfio/pciCore/config.
export const VEV_COMMAND: i32 = 1; // Command low byte: BAR restore check, MEM/IO remembered in vconfig
export const VEV_INTX: i32 = 2; // Command bytes: virtualized INTx Disable -> INTx mask/unmask
export const VEV_BAR: i32 = 4; // BAR0-5 and ROM: BAR sizing on vconfig
export const VEV_PM: i32 = 8; // PMCSR low byte: power state change
export const VEV_MSI: i32 = 16; // MSI Message Control: enable/queue size fixup, written to hardware
export const VEV_PCIE: i32 = 32; // PCIe Device Control high byte: Initiate FLR, Max Read Request Size
export const VEV_AF: i32 = 64; // Advanced Features Control: Initiate FLR

// Answers of msiRaise / msixRaise.
export const IRQ_DROPPED: i32 = 0;
export const IRQ_DELIVER: i32 = 1;
export const IRQ_PENDED: i32 = 2;
