// Register map of the DMA engine (the migratable sample device), BAR0.
//
// BAR0 is a 32-bit non-prefetchable memory BAR of 8 KiB. The first 4 KiB page holds the device
// registers below; the second page holds the MSI-X table (0x1000) and PBA (0x1800), so a VMM can
// map the register page straight through while it traps the MSI-X page. Every register is 32 bits
// wide and little-endian; 64-bit values are LO/HI pairs. Byte and word accesses are byte-enabled
// writes (only the addressed bytes change, RW1C clears only bits in the addressed bytes) and
// reads of the addressed bytes. Offsets not listed read 0 and ignore writes. Reads never have side
// effects.
//
//  off    name           access  meaning
//  0x000  ID             RO      0x45414d44, "DMAE" in memory order
//  0x004  VERSION        RO      0x00010000: register interface 1.0
//  0x008  DEVMEM_SIZE_LO RO      device memory (BAR2) size in bytes, low dword
//  0x00c  DEVMEM_SIZE_HI RO      ... high dword
//  0x010  CONTROL        RW      bit 0 ENABLE. Setting or clearing ENABLE tears down / sets up the
//                                rings: SQ_HEAD, SQ_TAIL, CQ_HEAD, CQ_TAIL return to 0, CQ_PHASE to 1,
//                                the FAULT state and the coalescing count are cleared.
//  0x014  STATUS         RO      bit 0 ENABLED, bit 1 BUSY (SQ_HEAD != SQ_TAIL), bit 2 FAULT (a ring
//                                DMA failed: the engine halted until ENABLE is cleared), bit 3 CQ_FULL
//                                (work is waiting for completion-ring space), bit 4 QUIESCED (the
//                                migration driver stopped DMA initiation), bit 5 DMA_BLOCKED (work is
//                                pending but Command.Bus Master is clear or the function is not in D0)
//  0x018  INT_STATUS     RW1C    interrupt causes: bit 0 COMPLETION (a completion batch was posted),
//                                bit 1 ERROR (a descriptor completed with an error status), bit 2 FAULT
//  0x01c  INT_MASK       RW      bits 2:0, one per cause: a masked cause still latches in INT_STATUS but
//                                does not interrupt; unmasking a latched cause interrupts then
//  0x020  INT_COALESCE   RW      bits 15:0: completions per COMPLETION interrupt (0 and 1: every
//                                batch). A batch that drains the SQ, stalls on a full CQ or contains
//                                a descriptor with the IRQ flag always interrupts, so no completion
//                                waits for an interrupt that never comes.
//  0x024  SCRATCH        RW      32 bits for the driver; no effect on the device
//  0x040  SQ_BASE_LO     RW      submission ring guest address, bits 31:5 (32-byte aligned)
//  0x044  SQ_BASE_HI     RW      ... bits 63:32
//  0x048  SQ_SIZE        RW      bits 3:0: log2 of the number of 32-byte descriptors (1 .. 32768)
//  0x04c  SQ_TAIL        RW      doorbell: the driver's producer index (masked to the ring size)
//  0x050  SQ_HEAD        RO      the device's consumer index
//  0x060  CQ_BASE_LO     RW      completion ring guest address, bits 31:4 (16-byte aligned)
//  0x064  CQ_BASE_HI     RW      ... bits 63:32
//  0x068  CQ_SIZE        RW      bits 3:0: log2 of the number of 16-byte completion entries
//  0x06c  CQ_HEAD        RW      doorbell: the driver's consumer index (masked to the ring size)
//  0x070  CQ_TAIL        RO      the device's producer index
//  0x074  CQ_PHASE       RO      bit 0: the phase bit the device writes into new completions
//  0x080  COMPLETED_LO   RO      descriptors completed (any status), low dword
//  0x084  COMPLETED_HI   RO      ... high dword
//  0x088  BYTES_LO       RO      bytes processed by successful descriptors, low dword
//  0x08c  BYTES_HI       RO      ... high dword
//  0x090  ERRORS         RO      error completions plus ring faults (wraps at 2^32)
//  0x094  IRQS           RO      MSI-X messages sent plus INTx assertions by a raised or unmasked
//                                cause (wraps at 2^32)
//
// The ring base and size registers ignore writes while ENABLE is set; the doorbells ignore writes
// while it is clear. All counters and registers return to the values above on any function reset
// (FLR, D3hot->D0, bus reset).

/** Size of BAR0's register page; the MSI-X page follows it. */
export const DMAE_REG_PAGE = 0x1000;
/** BAR0 size: the register page and the MSI-X page. */
export const DMAE_BAR0_SIZE = 0x2000;
/** Offset of the MSI-X table in BAR0. */
export const DMAE_MSIX_TABLE_OFFSET = 0x1000;
/** Offset of the MSI-X pending bit array in BAR0. */
export const DMAE_MSIX_PBA_OFFSET = 0x1800;
/** Number of MSI-X vectors: COMPLETION, and ERROR/FAULT. */
export const DMAE_MSIX_VECTORS = 2;
/** MSI-X vector of the COMPLETION cause. */
export const DMAE_VECTOR_COMPLETION = 0;
/** MSI-X vector of the ERROR and FAULT causes. */
export const DMAE_VECTOR_ERROR = 1;

/** BAR index of the registers and MSI-X structures (BAR0). */
export const DMAE_BAR_REGS = 0;
/** BAR index of device memory (BAR2). */
export const DMAE_BAR_DEVMEM = 2;

/** Value of the ID register: "DMAE" in memory order. */
export const DMAE_ID_VALUE = 0x45414d44;
/** Value of the VERSION register: register interface 1.0. */
export const DMAE_VERSION_VALUE = 0x00010000;

/** Offsets of the BAR0 registers (see the register map at the top of regs.ts). */
export const DMAE_REG = {
  /** ID, RO: DMAE_ID_VALUE. */
  ID: 0x000,
  /** VERSION, RO: DMAE_VERSION_VALUE. */
  VERSION: 0x004,
  /** DEVMEM_SIZE_LO, RO: device memory (BAR2) size in bytes, low dword. */
  DEVMEM_SIZE_LO: 0x008,
  /** DEVMEM_SIZE_HI, RO: device memory size, high dword. */
  DEVMEM_SIZE_HI: 0x00c,
  /** CONTROL, RW: bit 0 ENABLE; toggling it resets the rings. */
  CONTROL: 0x010,
  /** STATUS, RO: DMAE_STATUS_* bits. */
  STATUS: 0x014,
  /** INT_STATUS, RW1C: latched interrupt causes, DMAE_INT_* bits. */
  INT_STATUS: 0x018,
  /** INT_MASK, RW: masked causes latch but do not interrupt. */
  INT_MASK: 0x01c,
  /** INT_COALESCE, RW: completions per COMPLETION interrupt, bits 15:0. */
  INT_COALESCE: 0x020,
  /** SCRATCH, RW: 32 bits for the driver, no effect on the device. */
  SCRATCH: 0x024,
  /** SQ_BASE_LO, RW: submission ring guest address bits 31:5. */
  SQ_BASE_LO: 0x040,
  /** SQ_BASE_HI, RW: submission ring guest address bits 63:32. */
  SQ_BASE_HI: 0x044,
  /** SQ_SIZE, RW: log2 of the number of 32-byte descriptors. */
  SQ_SIZE: 0x048,
  /** SQ_TAIL, RW doorbell: the driver's producer index. */
  SQ_TAIL: 0x04c,
  /** SQ_HEAD, RO: the device's consumer index. */
  SQ_HEAD: 0x050,
  /** CQ_BASE_LO, RW: completion ring guest address bits 31:4. */
  CQ_BASE_LO: 0x060,
  /** CQ_BASE_HI, RW: completion ring guest address bits 63:32. */
  CQ_BASE_HI: 0x064,
  /** CQ_SIZE, RW: log2 of the number of 16-byte completion entries. */
  CQ_SIZE: 0x068,
  /** CQ_HEAD, RW doorbell: the driver's consumer index. */
  CQ_HEAD: 0x06c,
  /** CQ_TAIL, RO: the device's producer index. */
  CQ_TAIL: 0x070,
  /** CQ_PHASE, RO: bit 0, the phase the device writes into new completions. */
  CQ_PHASE: 0x074,
  /** COMPLETED_LO, RO: descriptors completed, low dword. */
  COMPLETED_LO: 0x080,
  /** COMPLETED_HI, RO: descriptors completed, high dword. */
  COMPLETED_HI: 0x084,
  /** BYTES_LO, RO: bytes processed by successful descriptors, low dword. */
  BYTES_LO: 0x088,
  /** BYTES_HI, RO: bytes processed, high dword. */
  BYTES_HI: 0x08c,
  /** ERRORS, RO: error completions plus ring faults, wraps at 2^32. */
  ERRORS: 0x090,
  /** IRQS, RO: MSI-X messages sent plus INTx assertions, wraps at 2^32. */
  IRQS: 0x094,
} as const;

/** CONTROL bit 0: ENABLE, the rings are set up and the doorbells work. */
export const DMAE_CONTROL_ENABLE = 0x1;
/** CONTROL bits that are writable. */
export const DMAE_CONTROL_RW = DMAE_CONTROL_ENABLE;

/** STATUS bit: CONTROL.ENABLE is set. */
export const DMAE_STATUS_ENABLED = 0x01;
/** STATUS bit: descriptors are pending (SQ_HEAD != SQ_TAIL). */
export const DMAE_STATUS_BUSY = 0x02;
/** STATUS bit: a ring DMA failed; the engine is halted until ENABLE is cleared. */
export const DMAE_STATUS_FAULT = 0x04;
/** STATUS bit: work waits for completion-ring space. */
export const DMAE_STATUS_CQ_FULL = 0x08;
/** STATUS bit: the migration driver stopped DMA initiation. */
export const DMAE_STATUS_QUIESCED = 0x10;
/** STATUS bit: work is pending but Bus Master is clear or the function is not in D0. */
export const DMAE_STATUS_DMA_BLOCKED = 0x20;

/** Interrupt cause: a completion batch was posted. */
export const DMAE_INT_COMPLETION = 0x1;
/** Interrupt cause: a descriptor completed with an error status. */
export const DMAE_INT_ERROR = 0x2;
/** Interrupt cause: the engine halted on a ring fault. */
export const DMAE_INT_FAULT = 0x4;
/** All interrupt cause bits. */
export const DMAE_INT_ALL = 0x7;

/** Writable bits of INT_COALESCE. */
export const DMAE_COALESCE_MASK = 0xffff;
/** Writable bits of SQ_SIZE and CQ_SIZE (the log2 size). */
export const DMAE_RING_SIZE_MASK = 0xf;
/** Largest ring: 2^15 entries (SQ indices fit the 15-bit index field of a completion). */
export const DMAE_RING_LOG2_MAX = 15;
/** Writable bits of SQ_BASE_LO: the ring is 32-byte aligned. */
export const DMAE_SQ_BASE_MASK = 0xffffffe0;
/** Writable bits of CQ_BASE_LO: the ring is 16-byte aligned. */
export const DMAE_CQ_BASE_MASK = 0xfffffff0;
