import { Hardware } from './hw/hardware.js';
import type { GuestMemory } from './hw/guestMemory.js';
import { Host } from './host/host.js';

export interface EmulatorOptions {
  /** size of DMA-visible guest memory (default 64 MiB) */
  memoryBytes?: number;
  /** host memory supplied by the embedder (GuestMemory.wrap); memoryBytes is then ignored */
  memory?: GuestMemory;
  /** base of the ECAM window (default 0xB0000000) */
  ecamBase?: number;
}

export interface Emulator {
  hw: Hardware;
  host: Host;
  memory: GuestMemory;
}

/** A new emulated machine: empty hardware topology (root bus 0), its host kernel and memory. */
export async function createEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const hw = new Hardware(options);
  const host = new Host(hw);
  return { hw, host, memory: hw.memory };
}
