import { CFG, WMASK, W1C, EVMAP, SCRATCH, SCRATCH_SIZE } from "./layout";
import { slotPtr, validSlot } from "./slot";

// Config-space access with hardware semantics. Callers (TypeScript) have already rejected
// misaligned or out-of-range accesses with a RangeError; the checks here only keep a bad call inside
// its slot, they are not the API's validation.

@inline function aligned(off: i32, size: i32): bool {
  return (size == 1 || size == 2 || size == 4) && <u32>off <= 0xfff - <u32>(size - 1) && (off & (size - 1)) == 0;
}

/** Hardware read of 1, 2 or 4 bytes. All-ones for an invalid slot or access. */
export function cfgRead(slot: i32, off: i32, size: i32): i32 {
  if (!validSlot(slot) || !aligned(off, size)) return <i32>(size == 4 ? 0xffffffff : ((1 << (size << 3)) - 1));
  const p = slotPtr(slot) + CFG + off;
  if (size == 4) return <i32>(load<u32>(p));
  if (size == 2) return <i32>(<u32>load<u16>(p));
  return <i32>(<u32>load<u8>(p));
}

/**
 * Hardware write: writable bits take the value, RW1C bits clear where a 1 is written, everything
 * else keeps its value. Returns the OR of the event classes of the bytes written (EV_*), so the
 * caller only does more work for registers with side effects.
 */
export function cfgWrite(slot: i32, off: i32, size: i32, val: u32): i32 {
  if (!validSlot(slot) || !aligned(off, size)) return <i32>(0);
  const p = slotPtr(slot) + off;
  if (size == 4) {
    const old = load<u32>(p + CFG);
    const wm = load<u32>(p + WMASK);
    const c = load<u32>(p + W1C);
    store<u32>(p + CFG, ((old & ~wm) | (val & wm)) & ~(val & c));
    let e = load<u32>(p + EVMAP);
    e |= e >>> 16;
    e |= e >>> 8;
    return <i32>(e & 0xff);
  }
  if (size == 2) {
    const old = <u32>load<u16>(p + CFG);
    const wm = <u32>load<u16>(p + WMASK);
    const c = <u32>load<u16>(p + W1C);
    store<u16>(p + CFG, <u16>(((old & ~wm) | (val & wm)) & ~(val & c)));
    const e = <u32>load<u16>(p + EVMAP);
    return <i32>((e | (e >>> 8)) & 0xff);
  }
  const old = <u32>load<u8>(p + CFG);
  const wm = <u32>load<u8>(p + WMASK);
  const c = <u32>load<u8>(p + W1C);
  store<u8>(p + CFG, <u8>(((old & ~wm) | (val & wm)) & ~(val & c)));
  return <i32>(<u32>load<u8>(p + EVMAP));
}

/**
 * Bulk read: SCRATCH holds `count` i32 slot indices (-1 for an absent function); the result for
 * entry i goes to SCRATCH + outOff + 4 * i (all-ones for absent). One call for a whole bus scan.
 */
export function cfgReadMany(count: i32, off: i32, size: i32, outOff: i32): i32 {
  if (count < 0 || count > (SCRATCH_SIZE >> 3) || outOff < count * 4 || outOff > SCRATCH_SIZE - count * 4) return -1;
  // the access is the same for every entry: check it once, then only the slot per entry
  if (!aligned(off, size)) return -1;
  const none: u32 = size == 4 ? 0xffffffff : ((1 << (size << 3)) - 1);
  for (let i = 0; i < count; i++) {
    const slot = load<i32>(<usize>SCRATCH + (i << 2));
    let v: u32 = none;
    if (validSlot(slot)) {
      const p = slotPtr(slot) + CFG + off;
      v = size == 4 ? load<u32>(p) : size == 2 ? <u32>load<u16>(p) : <u32>load<u8>(p);
    }
    store<u32>(<usize>SCRATCH + outOff + (i << 2), v);
  }
  return count;
}
