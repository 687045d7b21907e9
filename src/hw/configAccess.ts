// The access checks every config path shares (hw.configRead/configWrite, config handles).
import { PciRangeError, describeValue, hexValue } from './pciError.js';

/** Throws the RangeError the API promises for accesses hardware mechanisms cannot produce. */
export function checkConfigAccess(offset: number, size: number): void {
  // one cheap test on the hot path ((offset | 0) === offset is an integer test for this range);
  // the messages are built only once it failed
  // (typeof first: `offset | 0` on a BigInt would throw a TypeError instead of the RangeError below)
  if ((size === 4 || size === 2 || size === 1) && typeof offset === 'number' && (offset | 0) === offset && offset >= 0 && offset <= 4096 - size && (offset & (size - 1)) === 0) return;
  configAccessError(offset, size);
}

function configAccessError(offset: number, size: number): never {
  // EFAULT for a register no mechanism can address, as Linux's PCIBIOS_BAD_REGISTER_NUMBER becomes
  if (typeof offset === 'bigint') throw new PciRangeError('EFAULT', `config offset ${hexValue(offset)}n is a BigInt; config offsets are numbers 0x0..0xfff`);
  if (!Number.isInteger(offset) || offset < 0 || offset > 4095) throw new PciRangeError('EFAULT', `config offset ${hexValue(offset)} is outside 0x0..0xfff`);
  if (size !== 1 && size !== 2 && size !== 4) throw new PciRangeError('EINVAL', `config access size ${describeValue(size)} is not 1, 2 or 4`);
  if ((offset & (size - 1)) !== 0) throw new PciRangeError('EFAULT', `config access of ${size} bytes at offset ${hexValue(offset)} is misaligned`);
  throw new PciRangeError('EFAULT', `config access of ${size} bytes at offset ${hexValue(offset)} runs past 0xfff`);
}
