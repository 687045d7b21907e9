import { CFG, META, M_MSIX_CAP, M_MSIX_VECTORS, IRQ_DROPPED, IRQ_DELIVER, IRQ_PENDED, SCRATCH, SCRATCH_SIZE } from "./layout";
import { slotPtr, validSlot, msixPtr, pbaPtr, slotMsixAlloc } from "./slot";

// MSI-X (PCI Local Bus 3.0, 6.8.2): Message Control at cap+2 (Enable bit 15, Function Mask bit 14);
// a 16-byte table entry per vector (address low, address high, data, vector control with Mask bit 0)
// and a Pending Bit Array, both in the function's MSI-X block (sized by its vectors) and served
// through the function's BAR. A function without the capability has no block and 0 vectors.

/**
 * Records where the capability is and how many vectors the table has (1-2048), and gives the function
 * its MSI-X block (entries masked). -1 for a bad argument or when memory is exhausted.
 */
export function msixSetup(slot: i32, cap: i32, vectors: i32): i32 {
  if (!validSlot(slot) || vectors < 1 || vectors > 2048 || cap < 0x40 || cap > 0xf4) return -1;
  if (slotMsixAlloc(slot, vectors) == 0) return -1;
  const p = slotPtr(slot);
  store<u16>(p + META + M_MSIX_CAP, <u16>cap);
  store<u32>(p + META + M_MSIX_VECTORS, vectors);
  return 0;
}

@inline function vectors(p: usize): u32 {
  return load<u32>(p + META + M_MSIX_VECTORS);
}

@inline function control(p: usize): u32 {
  const cap = <usize>load<u16>(p + META + M_MSIX_CAP);
  return cap ? <u32>load<u16>(p + CFG + cap + 2) : 0;
}

@inline function fits(off: i32, size: i32, limit: u32): bool {
  return (size == 1 || size == 2 || size == 4) && (off & (size - 1)) == 0 && <u32>off + <u32>size <= limit;
}

/** Table read at byte `off` of the table; all-ones outside it. */
export function msixTableRead(slot: i32, off: i32, size: i32): i32 {
  if (!validSlot(slot)) return <i32>(0xffffffff);
  const p = slotPtr(slot);
  if (!fits(off, size, vectors(p) << 4)) return <i32>(size == 4 ? 0xffffffff : ((1 << (size << 3)) - 1));
  const a = msixPtr(slot) + off;
  if (size == 4) return <i32>(load<u32>(a));
  if (size == 2) return <i32>(<u32>load<u16>(a));
  return <i32>(<u32>load<u8>(a));
}

/**
 * Table write. Vector Control keeps only its Mask bit (the rest is reserved); the lowest two bits
 * of Message Address are read-only zero (DWORD-aligned). Returns 1 when the write cleared a Mask bit
 * (the caller then replays pending vectors), else 0.
 */
export function msixTableWrite(slot: i32, off: i32, size: i32, val: u32): i32 {
  if (!validSlot(slot)) return 0;
  const p = slotPtr(slot);
  if (!fits(off, size, vectors(p) << 4)) return 0;
  const entry = msixPtr(slot) + (off & ~15);
  const wasMasked = load<u32>(entry + 12) & 1;
  const a = msixPtr(slot) + off;
  if (size == 4) store<u32>(a, val);
  else if (size == 2) store<u16>(a, <u16>val);
  else store<u8>(a, <u8>val);
  store<u32>(entry, load<u32>(entry) & 0xfffffffc);
  store<u32>(entry + 12, load<u32>(entry + 12) & 1);
  return wasMasked & ~load<u32>(entry + 12) & 1;
}

/** Pending Bit Array read at byte `off`; the PBA is read-only. */
export function msixPbaRead(slot: i32, off: i32, size: i32): i32 {
  if (!validSlot(slot)) return <i32>(0xffffffff);
  const p = slotPtr(slot);
  const bytes = ((vectors(p) + 63) >>> 6) << 3;
  if (!fits(off, size, bytes)) return <i32>(size == 4 ? 0xffffffff : ((1 << (size << 3)) - 1));
  const a = pbaPtr(slot) + off;
  if (size == 4) return <i32>(load<u32>(a));
  if (size == 2) return <i32>(<u32>load<u16>(a));
  return <i32>(<u32>load<u8>(a));
}

/** The function signals `vec`: delivered, pended (function or vector masked), or dropped. */
export function msixRaise(slot: i32, vec: i32): i32 {
  if (!validSlot(slot)) return IRQ_DROPPED;
  const p = slotPtr(slot);
  if (<u32>vec >= vectors(p)) return IRQ_DROPPED;
  const ctl = control(p);
  if ((ctl & 0x8000) == 0) return IRQ_DROPPED;
  if ((ctl & 0x4000) != 0 || (load<u32>(msixPtr(slot) + (<usize>vec << 4) + 12) & 1) != 0) {
    const w = pbaPtr(slot) + ((<usize>vec >>> 5) << 2);
    store<u32>(w, load<u32>(w) | (1 << (vec & 31)));
    return IRQ_PENDED;
  }
  return IRQ_DELIVER;
}

export function msixAddrLo(slot: i32, vec: i32): i32 {
  if (!validSlot(slot) || <u32>vec >= vectors(slotPtr(slot))) return <i32>(0);
  return <i32>(load<u32>(msixPtr(slot) + (<usize>vec << 4)));
}

export function msixAddrHi(slot: i32, vec: i32): i32 {
  if (!validSlot(slot) || <u32>vec >= vectors(slotPtr(slot))) return <i32>(0);
  return <i32>(load<u32>(msixPtr(slot) + (<usize>vec << 4) + 4));
}

export function msixData(slot: i32, vec: i32): i32 {
  if (!validSlot(slot) || <u32>vec >= vectors(slotPtr(slot))) return <i32>(0);
  return <i32>(load<u32>(msixPtr(slot) + (<usize>vec << 4) + 8));
}

/**
 * Pending replay in one call: every pending vector that may be sent now (enabled, function and vector
 * unmasked) has its pending bit cleared and its number written as a u16 to SCRATCH + outOff, in
 * vector order. Returns how many, or -1 for an output area outside the scratch buffer.
 */
export function msixTakePending(slot: i32, outOff: i32): i32 {
  if (!validSlot(slot)) return 0;
  const p = slotPtr(slot);
  const ctl = control(p);
  if ((ctl & 0xc000) != 0x8000) return 0;
  const n = vectors(p);
  if (outOff < 0 || <u32>outOff + (n << 1) > <u32>SCRATCH_SIZE) return -1;
  let count = 0;
  const words = (n + 31) >>> 5;
  for (let w: u32 = 0; w < words; w++) {
    const wa = pbaPtr(slot) + (<usize>w << 2);
    let bits = load<u32>(wa);
    let keep = bits;
    while (bits != 0) {
      const b = ctz(bits);
      bits &= bits - 1;
      const vec = (w << 5) + b;
      if ((load<u32>(msixPtr(slot) + (<usize>vec << 4) + 12) & 1) == 0) {
        keep &= ~(<u32>1 << b);
        store<u16>(<usize>SCRATCH + outOff + (count << 1), <u16>vec);
        count++;
      }
    }
    store<u32>(wa, keep);
  }
  return count;
}
