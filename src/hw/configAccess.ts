// The access checks every config path shares (hw.configRead/configWrite, config handles).

/** Throws the RangeError the API promises for accesses hardware mechanisms cannot produce. */
export function checkConfigAccess(offset: number, size: number): void {
  // one cheap test on the hot path ((offset | 0) === offset is an integer test for this range);
  // the messages are built only once it failed
  // (typeof first: `offset | 0` on a BigInt would throw a TypeError instead of the RangeError below)
  if ((size === 4 || size === 2 || size === 1) && typeof offset === 'number' && (offset | 0) === offset && offset >= 0 && offset <= 4096 - size && (offset & (size - 1)) === 0) return;
  configAccessError(offset, size);
}

function configAccessError(offset: number, size: number): never {
  if (typeof offset === 'bigint') throw new RangeError(`config offset ${offset}n is a BigInt; config offsets are numbers 0..4095`);
  if (!Number.isInteger(offset) || offset < 0 || offset > 4095) throw new RangeError(`config offset ${String(offset)} is outside 0..4095`);
  if (size !== 1 && size !== 2 && size !== 4) throw new RangeError(`config access size ${String(size)} is not 1, 2 or 4`);
  if ((offset & (size - 1)) !== 0) throw new RangeError(`config access of ${size} bytes at offset ${offset} is misaligned`);
  throw new RangeError(`config access of ${size} bytes at offset ${offset} runs past 4095`);
}
