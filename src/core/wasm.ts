// The only seam to the WebAssembly core. The esm bindings instantiate the module once per JS realm
// (top-level await, fetch in a browser, fs in Node); every Emulator in the realm takes its slots
// from that one instance, so a function's state is isolated by slot, not by instance.
import * as raw from '../../build/release.js';

export { raw };

/** Reads the layout constants the core exports, so TypeScript and AssemblyScript share one source. */
function g(x: { value: number }): number {
  return x.value;
}

export const L = {
  SCRATCH: g(raw.SCRATCH),
  SCRATCH_SIZE: g(raw.SCRATCH_SIZE),
  SLOTS: g(raw.SLOTS),
  SLOT_SIZE: g(raw.SLOT_SIZE),
  CFG: g(raw.CFG),
  WMASK: g(raw.WMASK),
  W1C: g(raw.W1C),
  INIT: g(raw.INIT),
  EVMAP: g(raw.EVMAP),
  VCONFIG: g(raw.VCONFIG),
  VIRT: g(raw.VIRT),
  UWRITE: g(raw.UWRITE),
  META: g(raw.META),
  PBA: g(raw.PBA),
  VARIANT: g(raw.VARIANT),
  MSIX: g(raw.MSIX),
  VEVMAP: g(raw.VEVMAP),
  CFG_SIZE: g(raw.CFG_SIZE),
  M_MSI_CAP: g(raw.M_MSI_CAP),
  M_MSIX_CAP: g(raw.M_MSIX_CAP),
  M_PM_CAP: g(raw.M_PM_CAP),
  M_PCIE_CAP: g(raw.M_PCIE_CAP),
  M_MSIX_VECTORS: g(raw.M_MSIX_VECTORS),
  M_BARS: g(raw.M_BARS),
  BAR_REC: g(raw.BAR_REC),
  ROM_INDEX: g(raw.ROM_INDEX),
  M_VFIO_HWVAL: g(raw.M_VFIO_HWVAL),
  BAR_NONE: g(raw.BAR_NONE),
  BAR_MEM32: g(raw.BAR_MEM32),
  BAR_MEM64: g(raw.BAR_MEM64),
  BAR_IO: g(raw.BAR_IO),
  BAR_ROM: g(raw.BAR_ROM),
  BAR_MEM64_HI: g(raw.BAR_MEM64_HI),
  EV_COMMAND: g(raw.EV_COMMAND),
  EV_BAR: g(raw.EV_BAR),
  EV_MSI: g(raw.EV_MSI),
  EV_MSIX: g(raw.EV_MSIX),
  EV_PM: g(raw.EV_PM),
  EV_PCIE: g(raw.EV_PCIE),
  EV_BRIDGE: g(raw.EV_BRIDGE),
  EV_DEVICE: g(raw.EV_DEVICE),
  VEV_COMMAND: g(raw.VEV_COMMAND),
  VEV_INTX: g(raw.VEV_INTX),
  VEV_BAR: g(raw.VEV_BAR),
  VEV_PM: g(raw.VEV_PM),
  VEV_MSI: g(raw.VEV_MSI),
  VEV_PCIE: g(raw.VEV_PCIE),
  VEV_AF: g(raw.VEV_AF),
  IRQ_DROPPED: g(raw.IRQ_DROPPED),
  IRQ_DELIVER: g(raw.IRQ_DELIVER),
  IRQ_PENDED: g(raw.IRQ_PENDED),
} as const;

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  // wasm memory is little-endian; the typed views below assume the host is too
  throw new Error('pcisim: big-endian hosts are not supported');
}

/**
 * Typed views over the core's memory and slot allocation. Views are rebuilt whenever memory grows
 * (only slot allocation grows it), so hot paths read `views.u32` each time instead of caching it.
 */
class CoreMemory {
  u8!: Uint8Array;
  u16!: Uint16Array;
  u32!: Uint32Array;
  f64!: Float64Array;
  private free: number[] = [];
  private next = 0;

  constructor() {
    this.refresh();
  }

  refresh(): void {
    const buf = raw.memory.buffer;
    if (this.u8 && this.u8.buffer === buf) return;
    this.u8 = new Uint8Array(buf);
    this.u16 = new Uint16Array(buf);
    this.u32 = new Uint32Array(buf);
    this.f64 = new Float64Array(buf);
  }

  /** A zeroed slot for a new function. */
  allocSlot(): number {
    let slot = this.free.pop();
    if (slot === undefined) {
      slot = this.next;
      if (raw.slotEnsure(slot + 1) < 0) throw new Error('pcisim: out of wasm memory for another function slot');
      this.next++;
      this.refresh();
    }
    raw.slotClear(slot);
    return slot;
  }

  freeSlot(slot: number): void {
    raw.slotClear(slot);
    this.free.push(slot);
  }

  base(slot: number): number {
    return L.SLOTS + slot * L.SLOT_SIZE;
  }

  /** Copies bytes out of the scratch buffer (after a bulk export filled it). */
  scratch(off: number, len: number): Uint8Array {
    return this.u8.slice(L.SCRATCH + off, L.SCRATCH + off + len);
  }

  setScratch(off: number, bytes: Uint8Array): void {
    if (off < 0 || off + bytes.length > L.SCRATCH_SIZE) throw new RangeError('scratch overflow');
    this.u8.set(bytes, L.SCRATCH + off);
  }
}

export const mem = new CoreMemory();

/** Frees the slots of functions that became unreachable without an explicit remove. */
export const slotReaper = new FinalizationRegistry<number>((slot) => mem.freeSlot(slot));
