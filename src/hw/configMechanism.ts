/**
 * The two ways a host CPU reaches config space, as pure address decoders (Hardware routes the
 * resulting cycle): PCI configuration mechanism #1 at I/O ports 0xCF8/0xCFC, and ECAM (PCIe
 * enhanced configuration access, one 4 KiB page per function in a memory window).
 */
export const CONFIG_ADDRESS_PORT = 0xcf8;
export const CONFIG_DATA_PORT = 0xcfc;
export const CONFIG_ADDRESS_ENABLE = 0x80000000;
/** The bits of CONFIG_ADDRESS that hold state: enable, bus, device, function, dword register. */
export const CONFIG_ADDRESS_MASK = 0x80fffffc;

export interface ConfigTarget {
  bus: number;
  device: number;
  fn: number;
  reg: number;
}

/** Decodes CONFIG_ADDRESS plus the data-port byte lane; null when Enable is clear. */
export function decodeCf8(address: number, dataPortOffset: number): ConfigTarget | null {
  if ((address & CONFIG_ADDRESS_ENABLE) === 0) return null;
  return {
    bus: (address >>> 16) & 0xff,
    device: (address >>> 11) & 0x1f,
    fn: (address >>> 8) & 0x7,
    reg: (address & 0xfc) | dataPortOffset,
  };
}

/** ECAM offset = bus << 20 | device << 15 | function << 12 | register. */
export function decodeEcam(offset: number): ConfigTarget {
  return {
    bus: (offset >>> 20) & 0xff,
    device: (offset >>> 15) & 0x1f,
    fn: (offset >>> 12) & 0x7,
    reg: offset & 0xfff,
  };
}

/** Offset of a config register inside the ECAM window (bus << 20 | device << 15 | function << 12 | register). */
export function ecamOffset(bus: number, device: number, fn: number, reg: number): number {
  return ((bus << 20) | (device << 15) | (fn << 12) | reg) >>> 0;
}

/** The value a CPU writes to 0xCF8 (config mechanism #1) to reach a dword-aligned config register. */
export function cf8Address(bus: number, device: number, fn: number, reg: number): number {
  return (CONFIG_ADDRESS_ENABLE | (bus << 16) | (device << 11) | (fn << 8) | (reg & 0xfc)) >>> 0;
}
