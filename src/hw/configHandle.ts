import { checkConfigAccess } from './configAccess.js';
import type { PciFunction } from './pciFunction.js';

/**
 * Config access to one function without finding it by address on every call (`hw.handle(bdf)`):
 * the same checks and hardware semantics as hw.configRead/configWrite, straight to the function's
 * registers. It stays bound to that function: once the function is removed the handle reads
 * all-ones and drops writes, like any absent function, even if another one is plugged in at the
 * same address later (take a new handle for it).
 */
export class ConfigHandle {
  /** @param fn the function the handle stays bound to */
  constructor(readonly fn: PciFunction) {}

  /** the function's canonical address (domain:bus:device.function) */
  get bdf(): string {
    return this.fn.bdf;
  }

  /** Unsigned result; RangeError for an access hardware cannot make (as hw.configRead). */
  read(offset: number, size: 1 | 2 | 4): number {
    checkConfigAccess(offset, size);
    return this.fn.configRead(offset, size);
  }

  /** Writes the low `size` bytes of `value`; RangeError for an access hardware cannot make (as hw.configWrite). */
  write(offset: number, size: 1 | 2 | 4, value: number): void {
    checkConfigAccess(offset, size);
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new RangeError(`config write value ${String(value)} is not a number`);
    this.fn.configWrite(offset, size, value >>> 0);
  }
}
