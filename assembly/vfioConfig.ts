import { CFG, VCONFIG, VIRT, UWRITE, VEVMAP, VMETA, M_VFIO_HWVAL } from "./layout";
import { slotPtr, validSlot, vfioPtr } from "./slot";
import { cfgWrite } from "./config";

// vfio config space virtualization (Linux drivers/vfio/pci/vfio_pci_config.c) reduced to one rule per
// byte. Every byte of a function's config space has, in its vfio block (slotVfio allocates it):
//   VIRT     bits read from (and written to) VCONFIG instead of the hardware register
//   UWRITE   bits a user write may change
//   VEVMAP   VEV_* classes of the writefn that must run after a user write touching the byte
// A read returns (hw & ~virt) | (vconfig & virt). A write stores (value & write & virt) in VCONFIG
// and merges (value & write & ~virt) into the current hardware value, which then goes through the
// hardware write (masks, RW1C, EV_* events) as the kernel's read-modify-write of the register does;
// bits outside `write` are dropped. The tables that give every kernel perm case (raw gaps, direct
// reads, virtualized registers, hidden capabilities) are written by src/host/vfio/pciCore/config.
//
// The TypeScript caller has validated offset and size against the device's config size and split
// the access at capability boundaries; the checks here only keep a bad call inside its slot.

@inline function aligned(off: i32, size: i32): bool {
  return (size == 1 || size == 2 || size == 4) && <u32>off <= 0xfff - <u32>(size - 1) && (off & (size - 1)) == 0;
}

/** A live slot that has its vfio block. */
@inline function vfioSlot(slot: i32): bool {
  return validSlot(slot) && vfioPtr(slot) != 0;
}

/** Mask of the low `size` bytes (size 1, 2 or 4). */
@inline function sizeMask(size: i32): u32 {
  return <u32>0xffffffff >>> (<u32>(4 - size) << 3);
}

/**
 * The user-visible value of 1, 2 or 4 bytes at `off`: virtualized bits from VCONFIG, the rest from
 * hardware. All-ones for an invalid slot or access. Loads are 32 bits wide whatever the size (the
 * bytes past the register stay inside the slot) and masked, so the path has no size branches.
 */
export function vfioCfgRead(slot: i32, off: i32, size: i32): i32 {
  if (!vfioSlot(slot) || !aligned(off, size)) return <i32>sizeMask(size == 1 || size == 2 ? size : 4);
  const q = vfioPtr(slot) + <usize>off;
  const v = load<u32>(q + VIRT);
  return <i32>(((load<u32>(slotPtr(slot) + <usize>off + CFG) & ~v) | (load<u32>(q + VCONFIG) & v)) & sizeMask(size));
}

/**
 * vfioCfgRead for a register whose hardware read has side effects (a device's read trap): the
 * caller made the hardware read and passes its value `hw`; the same merge applies to it.
 */
export function vfioCfgMerge(slot: i32, off: i32, size: i32, hw: u32): i32 {
  if (!vfioSlot(slot) || !aligned(off, size)) return <i32>sizeMask(size == 1 || size == 2 ? size : 4);
  const q = vfioPtr(slot) + <usize>off;
  const v = load<u32>(q + VIRT);
  return <i32>(((hw & ~v) | (load<u32>(q + VCONFIG) & v)) & sizeMask(size));
}

/** Whether every bit of the `size` bytes at `off` is virtualized (a read then never reaches hardware). */
export function vfioCfgAllVirt(slot: i32, off: i32, size: i32): i32 {
  if (!vfioSlot(slot) || !aligned(off, size)) return 0;
  const m = sizeMask(size);
  return <i32>((load<u32>(vfioPtr(slot) + <usize>off + VIRT) & m) == m);
}

@inline function storeSized(a: usize, v: u32, size: i32): void {
  if (size == 4) store<u32>(a, v);
  else if (size == 2) store<u16>(a, <u16>v);
  else store<u8>(a, <u8>v);
}

/**
 * A user write of 1, 2 or 4 bytes at `off`. Returns the hardware event classes (EV_*) of the
 * hardware write it made (0 when no writable non-virtualized bit was touched, so no hardware write
 * happened) ORed with the vfio event classes (VEV_*) of the bytes touched, shifted left by 8. The
 * value that went to hardware is left in VMETA + M_VFIO_HWVAL for the caller's side effects.
 */
export function vfioCfgWrite(slot: i32, off: i32, size: i32, val: u32): i32 {
  if (!vfioSlot(slot) || !aligned(off, size)) return 0;
  const vbase = vfioPtr(slot);
  const q = vbase + <usize>off;
  const m = sizeMask(size);
  const w = load<u32>(q + UWRITE) & m;
  const v = load<u32>(q + VIRT);
  let e = load<u32>(q + VEVMAP) & m;
  e |= e >>> 16;
  e |= e >>> 8;
  const vw = w & v;
  if (vw != 0) storeSized(q + VCONFIG, (load<u32>(q + VCONFIG) & ~vw) | (val & vw), size);
  const hw = w & ~v;
  let ev: i32 = 0;
  if (hw != 0) {
    const merged = ((load<u32>(slotPtr(slot) + <usize>off + CFG) & ~hw) | (val & hw)) & m;
    store<u32>(vbase + VMETA + M_VFIO_HWVAL, merged);
    ev = cfgWrite(slot, off, size, merged);
  }
  return ev | <i32>((e & 0xff) << 8);
}
