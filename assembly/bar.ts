import { CFG, WMASK, META, M_BARS, BAR_REC, ROM_INDEX, BAR_NONE, BAR_MEM32, BAR_MEM64, BAR_IO, BAR_ROM, BAR_MEM64_HI } from "./layout";
import { slotPtr, validSlot } from "./slot";

// BAR sizing lives entirely in the writable mask: an address register only keeps the bits above
// its size, so writing all-ones reads back ~(size - 1) | flags, as hardware answers.

@inline function barReg(index: i32, romReg: i32): i32 {
  return index == ROM_INDEX ? romReg : 0x10 + (index << 2);
}

/**
 * Declares BAR `index` (0-5, or 6 for the expansion ROM at `romReg`, 0x30 for type 0 and 0x38 for
 * type 1) with its kind and size (a power of two, given as two 32-bit halves). Sets the read-only
 * flag bits and the writable mask. Returns 0, or -1 for an argument it cannot honour.
 */
export function barSetup(slot: i32, index: i32, kind: i32, sizeLo: u32, sizeHi: u32, prefetch: i32, romReg: i32): i32 {
  if (!validSlot(slot) || <u32>index > <u32>ROM_INDEX) return -1;
  const p = slotPtr(slot);
  const size: u64 = (<u64>sizeHi << 32) | <u64>sizeLo;
  if (size == 0 || (size & (size - 1)) != 0) return -1;
  const reg = barReg(index, romReg);
  const m = (size - 1);
  if (kind == BAR_IO) {
    if (size < 4 || size > 256 || index == ROM_INDEX) return -1;
    store<u32>(p + CFG + reg, 1);
    store<u32>(p + WMASK + reg, ~(<u32>m) & 0xfffffffc);
  } else if (kind == BAR_MEM32) {
    if (size < 16 || size > 0x80000000 || index == ROM_INDEX) return -1;
    store<u32>(p + CFG + reg, prefetch ? 0x8 : 0);
    store<u32>(p + WMASK + reg, ~(<u32>m) & 0xfffffff0);
  } else if (kind == BAR_MEM64) {
    if (size < 16 || index >= 5) return -1;
    store<u32>(p + CFG + reg, 0x4 | (prefetch ? 0x8 : 0));
    store<u32>(p + WMASK + reg, ~(<u32>m) & 0xfffffff0);
    store<u32>(p + CFG + reg + 4, 0);
    store<u32>(p + WMASK + reg + 4, ~(<u32>(m >>> 32)));
    const hi = p + META + M_BARS + (index + 1) * BAR_REC;
    store<u32>(hi, BAR_MEM64_HI);
    store<f64>(hi + 8, 0);
  } else if (kind == BAR_ROM) {
    if (size < 0x800 || size > 0x80000000 || index != ROM_INDEX) return -1;
    store<u32>(p + CFG + reg, 0);
    store<u32>(p + WMASK + reg, (~(<u32>m) & 0xfffff800) | 1);
  } else {
    return -1;
  }
  const rec = p + META + M_BARS + index * BAR_REC;
  store<u32>(rec, kind);
  store<f64>(rec + 8, <f64>size);
  return 0;
}

export function barKind(slot: i32, index: i32): i32 {
  if (!validSlot(slot) || <u32>index > <u32>ROM_INDEX) return BAR_NONE;
  return load<i32>(slotPtr(slot) + META + M_BARS + index * BAR_REC);
}

export function barSize(slot: i32, index: i32): f64 {
  if (!validSlot(slot) || <u32>index > <u32>ROM_INDEX) return 0;
  return load<f64>(slotPtr(slot) + META + M_BARS + index * BAR_REC + 8);
}

/** The address the BAR is programmed to (flags stripped), as a double (exact below 2^53); -1 if none. */
export function barBase(slot: i32, index: i32, romReg: i32): f64 {
  const kind = barKind(slot, index);
  if (kind == BAR_NONE || kind == BAR_MEM64_HI) return -1;
  const p = slotPtr(slot) + CFG + barReg(index, romReg);
  if (kind == BAR_IO) return <f64>(load<u32>(p) & 0xfffffffc);
  if (kind == BAR_MEM32) return <f64>(load<u32>(p) & 0xfffffff0);
  if (kind == BAR_ROM) return <f64>(load<u32>(p) & 0xfffff800);
  if (kind == BAR_MEM64) return <f64>(((<u64>load<u32>(p + 4)) << 32) | <u64>(load<u32>(p) & 0xfffffff0));
  return -1;
}

/** Whether the BAR decodes now: Command IO/MEM for its kind, and the enable bit for the ROM. */
export function barDecodes(slot: i32, index: i32, romReg: i32): i32 {
  const kind = barKind(slot, index);
  if (kind == BAR_NONE || kind == BAR_MEM64_HI) return 0;
  const p = slotPtr(slot) + CFG;
  const cmd = load<u16>(p + 4);
  if (kind == BAR_IO) return cmd & 1;
  if (kind == BAR_ROM) return (cmd >>> 1) & load<u32>(p + barReg(index, romReg)) & 1;
  return (cmd >>> 1) & 1;
}
