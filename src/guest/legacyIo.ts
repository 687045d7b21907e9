import type { PortIo } from './configAccess.js';

/** An access width the CPU's in/out instructions have: inb/inw/inl, outb/outw/outl. */
export type IoSize = 1 | 2 | 4;

/**
 * A device's legacy virtio I/O BAR as a driver sees it through ioread/iowrite on the address
 * pci_iomap(dev, 0, 0) gave: offsets are relative to the BAR, values unsigned.
 */
export interface LegacyIo {
  read(off: number, size: IoSize): number;
  write(off: number, size: IoSize, value: number): void;
}

/**
 * The legacy I/O BAR at port `base` (the address the enumerator assigned to BAR0) of `length` bytes,
 * reached with port I/O. An access outside the window is a driver bug and throws instead of going
 * out on the bus to some other device's ports.
 */
export function portLegacyIo(io: PortIo, base: number, length: number): LegacyIo {
  if (!Number.isInteger(base) || base < 0 || base + length > 0x10000 * 0x10000) throw new RangeError(`I/O BAR at ${base} is not a port address`);
  if (!Number.isInteger(length) || length <= 0) throw new RangeError(`I/O BAR length ${length}`);
  const check = (off: number, size: number) => {
    if (!Number.isInteger(off) || off < 0 || off + size > length) {
      throw new RangeError(`legacy register access of ${size} bytes at ${off} is outside the ${length}-byte I/O BAR`);
    }
  };
  return {
    read(off, size) {
      check(off, size);
      return io.ioRead(base + off, size) >>> 0;
    },
    write(off, size, value) {
      check(off, size);
      io.ioWrite(base + off, size, value >>> 0);
    },
  };
}
