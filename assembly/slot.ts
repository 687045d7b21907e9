import {
  SCRATCH, HEAP, SLOT_REC, BLOCK_ALIGN, CFG, INIT, CFG_SIZE, BASE_SIZE, VFIO_SIZE, MSIX_MAX_VECTORS,
} from "./layout";

// Blocks and slots. A function's slot is an index into the slot table, whose record points at the
// blocks the function has (layout.ts). Blocks come from a bump pointer and exact-size free lists
// (sizes are multiples of BLOCK_ALIGN); memory grows in large steps, never one block at a time.
// Addresses are unsigned 32-bit: every block up to 4 GiB works, past it allocation answers 0.

const SMALL_CLASSES: usize = 512; // exact-size lists for blocks up to 128 KiB
const freeSmall: usize = memory.data(<i32>(SMALL_CLASSES + 1) << 2);
let freeLarge: usize = 0; // blocks above 128 KiB (the slot table): +0 next, +4 size
let heapTop: u64 = <u64>HEAP;
let table: usize = 0;
let tableCap: u32 = 0;
/** Largest single growth step (pages): doubling up to here, then this many pages at a time. */
const GROW_STEP_MAX: i32 = 2048; // 128 MiB: past it, 16,384 typical functions (~330 MiB) take 384 MiB, not 512
const MAX_PAGES: i32 = 65536; // 4 GiB

// Module start (exported as _start, run by the loader): static data must end below the scratch
// buffer, and memory must reach the heap.
assert(__heap_base <= <usize>SCRATCH);
if (memory.size() < (HEAP >>> 16)) memory.grow((HEAP >>> 16) - memory.size());

@inline function roundUp(size: u32): u32 {
  return (size + <u32>(BLOCK_ALIGN - 1)) & ~<u32>(BLOCK_ALIGN - 1);
}

/** Makes memory reach `end` bytes, doubling (up to GROW_STEP_MAX pages a step). False past 4 GiB. */
function reach(end: u64): bool {
  const have = memory.size();
  if (end <= (<u64>have << 16)) return true;
  const need = <i32>((end + 0xffff) >> 16);
  if (need > MAX_PAGES) return false;
  let want = have + min(have, GROW_STEP_MAX);
  if (want < need) want = need;
  if (want > MAX_PAGES) want = MAX_PAGES;
  if (memory.grow(want - have) >= 0) return true;
  return memory.grow(need - have) >= 0;
}

/** A zeroed block of `size` bytes (rounded up to BLOCK_ALIGN), or 0 when memory cannot hold it. */
export function blockAlloc(size: u32): usize {
  const s = roundUp(size);
  const cls = <usize>(s >>> 8);
  if (cls <= SMALL_CLASSES) {
    const head = freeSmall + (cls << 2);
    const p = load<u32>(head);
    if (p != 0) {
      store<u32>(head, load<u32>(<usize>p));
      memory.fill(<usize>p, 0, s);
      return <usize>p;
    }
  } else {
    let prev: usize = 0;
    for (let p = freeLarge; p != 0; p = load<u32>(p)) {
      if (load<u32>(p + 4) == s) {
        if (prev) store<u32>(prev, load<u32>(p));
        else freeLarge = load<u32>(p);
        memory.fill(p, 0, s);
        return p;
      }
      prev = p;
    }
  }
  const p = heapTop;
  if (!reach(p + <u64>s)) return 0;
  heapTop = p + <u64>s;
  // fresh memory is already zero
  return <usize>p;
}

export function blockFree(p: usize, size: u32): void {
  if (p == 0) return;
  const s = roundUp(size);
  const cls = <usize>(s >>> 8);
  if (cls <= SMALL_CLASSES) {
    const head = freeSmall + (cls << 2);
    store<u32>(p, load<u32>(head));
    store<u32>(head, <u32>p);
  } else {
    store<u32>(p, <u32>freeLarge);
    store<u32>(p + 4, s);
    freeLarge = p;
  }
}

@inline function rec(slot: i32): usize {
  return table + (<usize>slot << 4);
}

/** Base block of a live slot (callers check validSlot first). */
@inline export function slotPtr(slot: i32): usize {
  return <usize>load<u32>(rec(slot));
}

@inline export function validSlot(slot: i32): bool {
  return <u32>slot < tableCap && load<u32>(rec(slot)) != 0;
}

/** The vfio block of a live slot, 0 if it has none. */
@inline export function vfioPtr(slot: i32): usize {
  return <usize>load<u32>(rec(slot) + 4);
}

@inline export function msixPtr(slot: i32): usize {
  return <usize>load<u32>(rec(slot) + 8);
}

@inline export function pbaPtr(slot: i32): usize {
  return <usize>load<u32>(rec(slot) + 12);
}

/** Bytes of the MSI-X block for `vectors`: the table, then the PBA (8 bytes per 64 vectors). */
@inline function msixBytes(vectors: u32): u32 {
  return (vectors << 4) + (((vectors + 63) >>> 6) << 3);
}

/**
 * Gives slot `slot` a zeroed base block (a function being created). Returns the block's address as
 * a u32 bit pattern (read it with >>> 0), or 0 when memory is exhausted (4 GiB), -1 for a bad index.
 */
export function slotCreate(slot: i32): i32 {
  if (slot < 0) return -1;
  if (<u32>slot >= tableCap) {
    let cap = tableCap < 64 ? <u32>64 : tableCap;
    while (<u32>slot >= cap) cap <<= 1;
    const t = blockAlloc(cap * <u32>SLOT_REC);
    if (t == 0) return 0;
    if (table != 0) {
      memory.copy(t, table, <usize>tableCap * SLOT_REC);
      blockFree(table, tableCap * <u32>SLOT_REC);
    }
    table = t;
    tableCap = cap;
  }
  if (load<u32>(rec(slot)) != 0) return -1;
  const p = blockAlloc(BASE_SIZE);
  if (p == 0) return 0;
  store<u32>(rec(slot), <u32>p);
  return <i32>p;
}

/** Returns every block of a slot (a function removed); the slot index may be created again. */
export function slotDestroy(slot: i32): void {
  if (!validSlot(slot)) return;
  const r = rec(slot);
  const m = msixPtr(slot);
  if (m != 0) blockFree(m, msixBytes(<u32>((pbaPtr(slot) - m) >>> 4)));
  blockFree(vfioPtr(slot), VFIO_SIZE);
  blockFree(slotPtr(slot), BASE_SIZE);
  store<u64>(r, 0);
  store<u64>(r + 8, 0);
}

/** Base block address (u32 bit pattern), 0 for a slot that does not exist. */
export function slotBase(slot: i32): i32 {
  return validSlot(slot) ? <i32>slotPtr(slot) : 0;
}

/**
 * The vfio block of a slot; with `create`, allocated (zeroed) on first use. 0 when the slot has none
 * (or memory is exhausted, or there is no such slot).
 */
export function slotVfio(slot: i32, create: i32): i32 {
  if (!validSlot(slot)) return 0;
  let v = vfioPtr(slot);
  if (v == 0 && create != 0) {
    v = blockAlloc(VFIO_SIZE);
    store<u32>(rec(slot) + 4, <u32>v);
  }
  return <i32>v;
}

/** The MSI-X block (table, then PBA), 0 if the function has none. */
export function slotMsix(slot: i32): i32 {
  return validSlot(slot) ? <i32>msixPtr(slot) : 0;
}

/** Gives a slot an MSI-X block for `vectors` (1-2048), all entries masked. 0 when memory is exhausted. */
export function slotMsixAlloc(slot: i32, vectors: i32): i32 {
  if (!validSlot(slot) || vectors < 1 || vectors > MSIX_MAX_VECTORS) return 0;
  const old = msixPtr(slot);
  if (old != 0) blockFree(old, msixBytes(<u32>((pbaPtr(slot) - old) >>> 4)));
  const m = blockAlloc(msixBytes(<u32>vectors));
  store<u32>(rec(slot) + 8, <u32>m);
  store<u32>(rec(slot) + 12, m == 0 ? 0 : <u32>(m + (<usize>vectors << 4)));
  if (m != 0) resetMsixTable(slot);
  return <i32>m;
}

/**
 * Forgets every slot and block and zeroes all memory above the static data: the instance is as new
 * (memory keeps its size). Lets a destroyed emulator's small instance serve the next emulator.
 */
export function coreReset(): void {
  memory.fill(freeSmall, 0, <usize>(SMALL_CLASSES + 1) << 2);
  freeLarge = 0;
  heapTop = <u64>HEAP;
  table = 0;
  tableCap = 0;
  memory.fill(<usize>SCRATCH, 0, (<usize>memory.size() << 16) - <usize>SCRATCH);
}

/** Memory size in 64 KiB pages (for tests and measurements). */
export function memoryPages(): i32 {
  return memory.size();
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
  resetMsixTable(slot);
}

/** All MSI-X entries masked (Vector Control Mask bit set at reset, PCI spec), no pending bits. */
export function resetMsixTable(slot: i32): void {
  const m = msixPtr(slot);
  if (m == 0) return;
  const end = pbaPtr(slot);
  memory.fill(m, 0, msixBytes(<u32>((end - m) >>> 4)));
  for (let e = m; e < end; e += 16) store<u32>(e + 12, 1);
}
