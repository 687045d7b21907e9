import { CFG, META, M_MSI_CAP, IRQ_DROPPED, IRQ_DELIVER, IRQ_PENDED } from "./layout";
import { slotPtr, validSlot } from "./slot";

// MSI capability (PCI Local Bus 3.0, 6.8.1): Message Control at +2; address at +4; then either
// data at +8 (32-bit) or upper address at +8 and data at +0xC (64-bit); with per-vector masking the
// Mask Bits follow the data (+0xC / +0x10) and the Pending Bits after them.

@inline function msiCap(p: usize): usize {
  return <usize>load<u16>(p + META + M_MSI_CAP);
}

@inline function dataOff(ctl: u32): usize {
  return ctl & 0x80 ? 0xc : 0x8;
}

@inline function maskOff(ctl: u32): usize {
  return ctl & 0x80 ? 0x10 : 0xc;
}

/** Number of vectors software enabled (2^MME), 0 while MSI is disabled. */
export function msiEnabledVectors(slot: i32): i32 {
  if (!validSlot(slot)) return 0;
  const p = slotPtr(slot);
  const cap = msiCap(p);
  if (cap == 0) return 0;
  const ctl = <u32>load<u16>(p + CFG + cap + 2);
  return ctl & 1 ? 1 << ((ctl >>> 4) & 7) : 0;
}

/** The function signals `vec`: delivered, pended (masked), or dropped (disabled / out of range). */
export function msiRaise(slot: i32, vec: i32): i32 {
  if (!validSlot(slot)) return IRQ_DROPPED;
  const p = slotPtr(slot);
  const cap = msiCap(p);
  if (cap == 0) return IRQ_DROPPED;
  const c = p + CFG + cap;
  const ctl = <u32>load<u16>(c + 2);
  if ((ctl & 1) == 0) return IRQ_DROPPED;
  if (<u32>vec >= <u32>(1 << ((ctl >>> 4) & 7))) return IRQ_DROPPED;
  if (ctl & 0x100) {
    const m = c + maskOff(ctl);
    if (load<u32>(m) & (1 << vec)) {
      store<u32>(m + 4, load<u32>(m + 4) | (1 << vec));
      return IRQ_PENDED;
    }
  }
  return IRQ_DELIVER;
}

export function msiAddrLo(slot: i32): i32 {
  if (!validSlot(slot)) return <i32>(0);
  const p = slotPtr(slot);
  const cap = msiCap(p);
  return <i32>(cap ? load<u32>(p + CFG + cap + 4) : 0);
}

export function msiAddrHi(slot: i32): i32 {
  if (!validSlot(slot)) return <i32>(0);
  const p = slotPtr(slot);
  const cap = msiCap(p);
  if (cap == 0) return <i32>(0);
  const ctl = <u32>load<u16>(p + CFG + cap + 2);
  return <i32>(ctl & 0x80 ? load<u32>(p + CFG + cap + 8) : 0);
}

/** Message data for `vec`: the function may modify the low MME bits of the programmed data. */
export function msiData(slot: i32, vec: i32): i32 {
  if (!validSlot(slot)) return <i32>(0);
  const p = slotPtr(slot);
  const cap = msiCap(p);
  if (cap == 0) return <i32>(0);
  const ctl = <u32>load<u16>(p + CFG + cap + 2);
  const low = (1 << ((ctl >>> 4) & 7)) - 1;
  const data = <u32>load<u16>(p + CFG + cap + dataOff(ctl));
  return <i32>((data & ~low) | (<u32>vec & low));
}

/** Next vector that is pending and no longer masked (its pending bit is cleared), or -1. */
export function msiNextPending(slot: i32): i32 {
  if (!validSlot(slot)) return -1;
  const p = slotPtr(slot);
  const cap = msiCap(p);
  if (cap == 0) return -1;
  const c = p + CFG + cap;
  const ctl = <u32>load<u16>(c + 2);
  if ((ctl & 1) == 0 || (ctl & 0x100) == 0) return -1;
  const m = c + maskOff(ctl);
  const n = (ctl >>> 4) & 7;
  const live: u32 = n == 5 ? 0xffffffff : (<u32>1 << (1 << n)) - 1;
  const ready = load<u32>(m + 4) & ~load<u32>(m) & live;
  if (ready == 0) return -1;
  const v = ctz(ready);
  store<u32>(m + 4, load<u32>(m + 4) & ~(1 << v));
  return <i32>v;
}
