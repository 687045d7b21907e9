import type { GuestMemory } from '../hw/guestMemory.js';
import type { ConfigAccess, Mmio, PortIo } from './configAccess.js';
import { cf8WithEcamAccess } from './configAccess.js';
import { DmaAllocator } from './dmaAllocator.js';
import type { EnumerationOptions, EnumerationResult } from './enumerator.js';
import { enumerate, platformPools } from './enumerator.js';
import { GuestInterruptController } from './interruptController.js';

/** The CPU's view of the machine's bus: port I/O, MMIO and where ECAM sits. A VMM's guest bus is one. */
export interface GuestBus extends PortIo, Mmio {
  /** Base address of the ECAM window the guest uses for config access above offset 256. */
  readonly ecamBase: number;
  /** Size of the ECAM window in bytes. */
  readonly ecamSize: number;
}

/** What a VMM gives its guest: the bus, physical memory and the RAM window in it. */
export interface GuestBoard {
  /** The bus the guest's port I/O and MMIO go to. */
  readonly hw: GuestBus;
  /** The guest's physical memory (device DMA lands here). */
  readonly memory: GuestMemory;
  /** The window of guest RAM in the physical address space. */
  readonly ram: {
    /** Guest-physical address where RAM starts. */
    base: number;
    /** RAM size in bytes. */
    size: number;
  };
}

/**
 * A guest OS: config access (mechanism #1 below 256, ECAM above, as Linux on x86), port I/O and MMIO,
 * its physical memory, an interrupt controller and a DMA allocator. Drivers reach the machine only
 * through it, so `attach` can move the whole guest to another board (the destination of a live
 * migration) between two instructions.
 */
export class Guest {
  /** The guest's interrupt controller: MSI vectors and INTx lines are delivered to its handlers. */
  readonly irq: GuestInterruptController;
  /** Allocator for DMA buffers and rings in the guest's RAM window. */
  readonly dma: DmaAllocator;
  private board_: GuestBoard;
  private config_: ConfigAccess;

  constructor(board: GuestBoard, options: { pirqs?: readonly number[] } = {}) {
    this.board_ = board;
    this.config_ = cf8WithEcamAccess(board.hw, board.hw.ecamBase);
    this.irq = new GuestInterruptController(options.pirqs);
    this.dma = new DmaAllocator(board.ram.base, board.ram.size);
  }

  /** The board the guest currently runs on (changes on attach, e.g. after migration). */
  get board(): GuestBoard {
    return this.board_;
  }

  /** PCI config access: mechanism #1 below offset 256, ECAM above, as Linux on x86. */
  get config(): ConfigAccess {
    return this.config_;
  }

  /** Port I/O and MMIO of the current board's bus. */
  get io(): PortIo & Mmio {
    return this.board_.hw;
  }

  /** The current board's physical memory. */
  get memory(): GuestMemory {
    return this.board_.memory;
  }

  /** Boot-time PCI enumeration (firmware's job): scan, size, assign, enable. */
  enumerate(options: EnumerationOptions = {}): EnumerationResult {
    const hw = this.board_.hw;
    return enumerate(this.config_, { pirqs: this.irq.pirqs as [number, number, number, number], pools: platformPools(hw.ecamBase, hw.ecamSize), ...options });
  }

  /** Continues on another board (same RAM layout): what a migrated guest's CPU does after resume. */
  attach(board: GuestBoard): void {
    if (board.ram.base !== this.board_.ram.base || board.ram.size !== this.board_.ram.size) throw new Error('the new board has a different RAM layout');
    this.board_ = board;
    this.config_ = cf8WithEcamAccess(board.hw, board.hw.ecamBase);
  }
}
