import { Hardware } from './hw/hardware.js';
import type { GuestMemory } from './hw/guestMemory.js';
import { Host } from './host/host.js';
import { createCore } from './core/wasm.js';
import type { WasmSource } from './core/wasm.js';
import { poison } from './core/lifetime.js';

/** Options of {@link createEmulator}. */
export interface EmulatorOptions {
  /** size of DMA-visible guest memory (default 64 MiB) */
  memoryBytes?: number;
  /** host memory supplied by the embedder (GuestMemory.wrap); memoryBytes is then ignored */
  memory?: GuestMemory;
  /** base of the ECAM window (default 0xB0000000) */
  ecamBase?: number;
  /**
   * Where the wasm core comes from: a URL (fetched; file: URLs read in Node), a path or URL string,
   * the module's bytes, or a compiled WebAssembly.Module. Default: the core built into the package.
   */
  wasm?: WasmSource;
}

/**
 * One emulated machine: its PCI hardware, the host kernel that drives it and the DMA-visible
 * memory. Made by {@link createEmulator}; two emulators share no mutable state.
 */
export interface Emulator {
  /** The emulated PCI hardware: topology, config access, port I/O and MMIO. */
  hw: Hardware;
  /** The emulated host kernel (PCI core, drivers, vfio) that drives `hw`. */
  host: Host;
  /** The DMA-visible memory devices read and write (guest RAM for a VMM). */
  memory: GuestMemory;
  /** Releases everything the emulator holds (its wasm instance and memory included); later calls throw. */
  destroy(): void;
}

class EmulatorImpl implements Emulator {
  readonly memory: GuestMemory;

  constructor(
    readonly hw: Hardware,
    readonly host: Host,
  ) {
    this.memory = hw.memory;
  }

  destroy(): void {
    const { hw, host } = this;
    host.destroy();
    hw.core.destroy(); // destroys every Hardware on the core (this hw, VMM guest buses)
    poison(host);
    poison(this);
  }
}

/**
 * A new emulated machine: empty hardware topology (root bus 0), its host kernel and memory, and its
 * own wasm core (instance and memory). Rejects with an Error naming pcisim when the core cannot load.
 */
export async function createEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const core = await createCore(options.wasm);
  const hw = new Hardware({ memoryBytes: options.memoryBytes, memory: options.memory, ecamBase: options.ecamBase, core });
  const host = new Host(hw);
  return new EmulatorImpl(hw, host);
}
