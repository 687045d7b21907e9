/**
 * The parts of a running v86 (0.5.x, `emulator.v86.cpu`) the adapter touches, as v86's own
 * src/cpu.js, src/io.js and src/pci.js define them. These names survive v86's minified build.
 */

/** One entry of v86's port table (src/io.js): handlers called with `device` as `this`. */
export interface V86PortEntry {
  read8: (port: number) => number;
  read16: (port: number) => number;
  read32: (port: number) => number;
  write8: (value: number) => void;
  write16: (value: number) => void;
  write32: (value: number) => void;
  device: unknown;
}

export type MmioRead = (addr: number) => number;
export type MmioWrite = (addr: number, value: number) => void;

/** v86's PCI host (src/pci.js): configuration mechanism #1 over static 256-byte images. */
export interface V86Pci {
  /** CONFIG_ADDRESS as written to 0xCF8, as bytes (register, devfn, bus, enable) */
  pci_addr: Uint8Array;
  /** per routing ID (bus << 8 | devfn): the device's config image, or undefined */
  device_spaces: (Int32Array | undefined)[];
  devices: ({ name?: string } | undefined)[];
  /** the PIIX3 ISA bridge's config image; bytes 0x60-0x63 are PIRQA-D routing */
  isa_bridge_space8: Uint8Array;
}

export interface V86Cpu {
  io: { ports: V86PortEntry[] };
  devices: { pci: V86Pci };
  memory_map_read8: MmioRead[];
  memory_map_write8: MmioWrite[];
  memory_map_read32: MmioRead[];
  memory_map_write32: MmioWrite[];
  /** JS entry the wasm calls for a 16-bit MMIO write (v86 splits it into two byte writes) */
  mmap_write16: (addr: number, value: number) => void;
  /** one slice of guest execution (v86's do_tick calls it): ~TIME_PER_FRAME ms, or until the guest halts */
  main_loop: () => number;
  /** JS entry the wasm calls on every pass of its main loop; returns ms until the next timer */
  run_hardware_timers: (acpiEnabled: number, now: number) => number;
  device_raise_irq(irq: number): void;
  device_lower_irq(irq: number): void;
  handle_irqs(): void;
  /** physical memory write (reaches the local APIC at 0xfee00000) */
  write32(addr: number, value: number): void;
  get_ioapic_addr(): number;
  /** where v86's struct Apic is in wasm memory */
  get_apic_addr(): number;
  acpi_enabled: ArrayLike<number>;
  wasm_memory: WebAssembly.Memory;
  /** guest RAM: a view of wasm_memory (replaced when the wasm memory grows) */
  mem8: Uint8Array;
  memory_size: ArrayLike<number>;
  /** drops the JIT's compiled code for the guest pages in [start, end) (physical addresses) */
  jit_dirty_cache?: (start: number, end: number) => void;
  /** instructions run (a view of wasm memory): the main loop hands back to its timers and interrupt check after LOOP_COUNTER of them */
  instruction_counter: Uint32Array;
}

/** v86's LOOP_COUNTER (src/rust/cpu/cpu.rs): instructions its main loop runs between interrupt checks. */
export const V86_LOOP_COUNTER = 100_003;

/**
 * v86's TIME_PER_FRAME (src/rust/cpu/cpu.rs), in ms: its main loop hands back to the host's event
 * loop once a pass ends this long after the slice began.
 */
export const V86_TIME_PER_FRAME_MS = 1;

/**
 * A `V86` emulator object from the v86 npm package. Its type declarations do not describe the
 * internals the adapter uses (`emulator.v86.cpu`), so any object is taken and checked at run time.
 */
export type V86Like = object;

export function v86Cpu(emulator: V86Like): V86Cpu {
  const cpu = (emulator as { v86?: { cpu?: V86Cpu } })?.v86?.cpu;
  if (!cpu || !cpu.io?.ports || !cpu.devices?.pci || !Array.isArray(cpu.memory_map_read8)) {
    throw new TypeError('attachV86: the first argument is not a loaded v86 emulator (expected emulator.v86.cpu with io.ports, devices.pci and memory maps; attach after the "emulator-loaded" event)');
  }
  return cpu;
}
