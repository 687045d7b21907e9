import { cf8Address, CONFIG_ADDRESS_PORT, CONFIG_DATA_PORT, ecamOffset } from '../hw/configMechanism.js';

/**
 * How guest software (firmware, an OS) reaches PCI configuration space: config cycles addressed by
 * bus, device, function and register. A guest sees the hardware only through this and through port
 * I/O and MMIO; it never holds PciFunction objects.
 */
export interface ConfigAccess {
  /** 'cf8' (mechanism #1), 'ecam', or a combination such as 'cf8+ecam' */
  readonly mechanism: string;
  /** bytes of config space per function this access reaches: 256 (mechanism #1) or 4096 (ECAM) */
  readonly configSpaceSize: number;
  /** unsigned result; a function that is not there reads all-ones */
  read(bus: number, dev: number, fn: number, reg: number, size: 1 | 2 | 4): number;
  write(bus: number, dev: number, fn: number, reg: number, size: 1 | 2 | 4, value: number): void;
}

/** The CPU's port I/O instructions (in/out). `Hardware` is one. */
export interface PortIo {
  /** An IN of `size` bytes from `port`. */
  ioRead(port: number, size: 1 | 2 | 4): number;
  /** An OUT of `size` bytes of `value` to `port`. */
  ioWrite(port: number, size: 1 | 2 | 4, value: number): void;
}

/** The CPU's memory-mapped loads and stores to device space. `Hardware` is one. */
export interface Mmio {
  /** A load of `size` bytes from physical address `addr`. */
  mmioRead(addr: number, size: 1 | 2 | 4): number;
  /** A store of `size` bytes of `value` to physical address `addr`. */
  mmioWrite(addr: number, size: 1 | 2 | 4, value: number): void;
}

// module level, not a closure per call: tsx (keepNames) wraps every function expression it creates
// in a __name() call, which made each config cycle cost several hundred ns
function ok(v: number, max: number): boolean {
  return Number.isInteger(v) && v >= 0 && v <= max;
}

function checkCycle(bus: number, dev: number, fn: number, reg: number, size: number, space: number): void {
  if (!ok(bus, 255) || !ok(dev, 31) || !ok(fn, 7)) throw new RangeError(`config cycle to bad address ${bus}:${dev}.${fn}`);
  if (size !== 1 && size !== 2 && size !== 4) throw new RangeError(`config access size ${size} is not 1, 2 or 4`);
  if (!ok(reg, space - size) || (reg & (size - 1)) !== 0) {
    throw new RangeError(`config access of ${size} bytes at 0x${Number(reg).toString(16)} is misaligned or beyond the ${space}-byte space this mechanism reaches`);
  }
}

/**
 * PCI configuration mechanism #1: the dword address goes to CONFIG_ADDRESS (0xCF8), the data moves
 * through the CONFIG_DATA byte lane (0xCFC + reg & 3). Only the first 256 bytes are reachable.
 */
export function cf8Access(io: PortIo): ConfigAccess {
  return {
    mechanism: 'cf8',
    configSpaceSize: 256,
    read(bus, dev, fn, reg, size) {
      checkCycle(bus, dev, fn, reg, size, 256);
      io.ioWrite(CONFIG_ADDRESS_PORT, 4, cf8Address(bus, dev, fn, reg));
      return io.ioRead(CONFIG_DATA_PORT + (reg & 3), size) >>> 0;
    },
    write(bus, dev, fn, reg, size, value) {
      checkCycle(bus, dev, fn, reg, size, 256);
      io.ioWrite(CONFIG_ADDRESS_PORT, 4, cf8Address(bus, dev, fn, reg));
      io.ioWrite(CONFIG_DATA_PORT + (reg & 3), size, value >>> 0);
    },
  };
}

/** ECAM (PCIe enhanced configuration access): one 4 KiB page per function in a memory window. */
export function ecamAccess(mmio: Mmio, ecamBase: number): ConfigAccess {
  return {
    mechanism: 'ecam',
    configSpaceSize: 4096,
    read(bus, dev, fn, reg, size) {
      checkCycle(bus, dev, fn, reg, size, 4096);
      return mmio.mmioRead(ecamBase + ecamOffset(bus, dev, fn, reg), size) >>> 0;
    },
    write(bus, dev, fn, reg, size, value) {
      checkCycle(bus, dev, fn, reg, size, 4096);
      mmio.mmioWrite(ecamBase + ecamOffset(bus, dev, fn, reg), size, value >>> 0);
    },
  };
}

/**
 * What Linux does on x86 (raw_pci_read): mechanism #1 for the first 256 bytes, ECAM for the
 * extended space that mechanism #1 cannot address.
 */
export function cf8WithEcamAccess(hw: PortIo & Mmio, ecamBase: number): ConfigAccess {
  const legacy = cf8Access(hw);
  const ecam = ecamAccess(hw, ecamBase);
  return {
    mechanism: 'cf8+ecam',
    configSpaceSize: 4096,
    read: (bus, dev, fn, reg, size) => (reg < 256 ? legacy : ecam).read(bus, dev, fn, reg, size),
    write: (bus, dev, fn, reg, size, value) => (reg < 256 ? legacy : ecam).write(bus, dev, fn, reg, size, value),
  };
}
