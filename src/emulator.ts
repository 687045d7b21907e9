import { Hardware } from './hw/hardware.js';
import type { GuestMemory } from './hw/guestMemory.js';
import { Host } from './host/host.js';
import { loadProcessCore } from './core/wasm.js';
import type { WasmSource } from './core/wasm.js';

/** Options of {@link createEmulator}. */
export interface EmulatorOptions {
  /** size of DMA-visible guest memory (default 64 MiB) */
  memoryBytes?: number;
  /** base of the ECAM window (default 0xB0000000) */
  ecamBase?: number;
  /** where the wasm core comes from (default: the core built into the package) */
  wasm?: WasmSource;
}

/**
 * One emulated machine: its PCI hardware, the host kernel that drives it and the DMA-visible
 * memory. Made by {@link createEmulator}; two emulators share no mutable state.
 */
export interface Emulator {
  hw: Hardware;
  host: Host;
  memory: GuestMemory;
}

/** A new emulated machine: empty hardware topology (root bus 0), its host kernel and memory. */
export async function createEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  await loadProcessCore(options.wasm);
  const hw = new Hardware(options);
  const host = new Host(hw);
  return { hw, host, memory: hw.memory };
}
