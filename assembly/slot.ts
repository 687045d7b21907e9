import { SCRATCH, SCRATCH_SIZE, SLOTS, SLOT_SHIFT, SLOT_SIZE, CFG, INIT, MSIX, PBA, CFG_SIZE } from "./layout";

// Number of slots the memory currently holds; every export checks slot indices against it so that
// no access can land outside the slot it names.
let slotCapacity: i32 = 0;

// Module start (exported as _start, run by the bindings): static data must end below the scratch
// buffer, and memory must reach the first slot.
assert(__heap_base <= <usize>SCRATCH);
if (memory.size() < (SLOTS >>> 16)) memory.grow((SLOTS >>> 16) - memory.size());

@inline export function slotPtr(slot: i32): usize {
  return <usize>SLOTS + (<usize>slot << SLOT_SHIFT);
}

@inline export function validSlot(slot: i32): bool {
  return <u32>slot < <u32>slotCapacity;
}

/** Makes room for `count` slots; returns the capacity (slots), or -1 when memory cannot grow. */
export function slotEnsure(count: i32): i32 {
  if (count <= slotCapacity) return slotCapacity;
  const pagesPerSlot = SLOT_SIZE >>> 16;
  const needPages = (SLOTS >>> 16) + count * pagesPerSlot;
  const have = memory.size();
  if (needPages > have && memory.grow(needPages - have) < 0) return -1;
  slotCapacity = count;
  return slotCapacity;
}

export function slotCount(): i32 {
  return slotCapacity;
}

export function slotBase(slot: i32): i32 {
  return validSlot(slot) ? <i32>slotPtr(slot) : -1;
}

/** Zeroes a whole slot (a function being created or removed). */
export function slotClear(slot: i32): void {
  if (!validSlot(slot)) return;
  memory.fill(slotPtr(slot), 0, SLOT_SIZE);
}

/** Takes the current config registers as the power-on image. */
export function slotCommitInit(slot: i32): void {
  if (!validSlot(slot)) return;
  const p = slotPtr(slot);
  memory.copy(p + INIT, p + CFG, CFG_SIZE);
}

/** Returns the function to its power-on state: config from INIT, MSI-X entries masked, no pending bits. */
export function slotReset(slot: i32): void {
  if (!validSlot(slot)) return;
  const p = slotPtr(slot);
  memory.copy(p + CFG, p + INIT, CFG_SIZE);
  resetMsixTable(p);
  memory.fill(p + PBA, 0, 0x1000);
}

export function resetMsixTable(p: usize): void {
  memory.fill(p + MSIX, 0, 0x8000);
  // Vector Control Mask bit is set at reset (PCI spec, MSI-X table entry).
  for (let e: usize = 0; e < 0x8000; e += 16) store<u32>(p + MSIX + e + 12, 1);
}

/** Copies `len` bytes at `area` of a slot into SCRATCH + dst. Returns bytes copied, or -1. */
export function slotCopyOut(slot: i32, area: i32, len: i32, dst: i32): i32 {
  if (!validSlot(slot) || area < 0 || len < 0 || area > SLOT_SIZE - len) return -1;
  if (dst < 0 || dst > SCRATCH_SIZE - len) return -1;
  memory.copy(<usize>SCRATCH + dst, slotPtr(slot) + area, len);
  return len;
}

/** Copies `len` bytes from SCRATCH + src into a slot at `area`. Returns bytes copied, or -1. */
export function slotCopyIn(slot: i32, area: i32, len: i32, src: i32): i32 {
  if (!validSlot(slot) || area < 0 || len < 0 || area > SLOT_SIZE - len) return -1;
  if (src < 0 || src > SCRATCH_SIZE - len) return -1;
  memory.copy(slotPtr(slot) + area, <usize>SCRATCH + src, len);
  return len;
}
