// The only seam to the WebAssembly core. Nothing is compiled or instantiated at import time: an
// emulator's core is created from a compiled module (src/core/load.ts) when the emulator is.
import type { CoreExports } from './coreWasm.generated.js';
import { layout } from './coreWasm.generated.js';
import { embeddedCoreModuleSync, loadCoreModule } from './load.js';
import type { WasmSource } from './load.js';

export type { CoreExports } from './coreWasm.generated.js';
export type { WasmSource } from './load.js';

/**
 * Layout constants of the core (assembly/layout.ts), known without an instance: the build step
 * reads them from the module's exported globals, and every instance is checked against them.
 */
export const L = layout;

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  // wasm memory is little-endian; the typed views below assume the host is too (checked lazily would
  // cost a test on every access; this check is one comparison and creates nothing)
  throw new Error('pcisim: big-endian hosts are not supported');
}

/** Reads an AssemblyScript string (UTF-16, byte length at ptr - 4) for abort messages. */
function liftString(memory: WebAssembly.Memory, ptr: number): string {
  if (!ptr) return '';
  const len = new Uint32Array(memory.buffer)[(ptr - 4) >>> 2] >>> 1;
  return String.fromCharCode(...new Uint16Array(memory.buffer, ptr >>> 0, len));
}

function imports(box: { memory?: WebAssembly.Memory }): WebAssembly.Imports {
  return {
    env: {
      abort(msg: number, file: number, line: number, col: number): never {
        const m = box.memory;
        const text = m ? `${liftString(m, msg)} in ${liftString(m, file)}:${line >>> 0}:${col >>> 0}` : 'abort';
        throw new Error(`pcisim: wasm core assertion failed: ${text}`);
      },
    },
  };
}

function checkLayout(exports: WebAssembly.Exports, what: string): void {
  for (const [name, value] of Object.entries(layout)) {
    const g = exports[name] as WebAssembly.Global | undefined;
    const got = g instanceof WebAssembly.Global ? g.value : undefined;
    if (got !== value) {
      throw new Error(`pcisim: the wasm core from ${what} does not match this pcisim build (layout constant ${name} is ${value} here, ${got} in the module)`);
    }
  }
}

function start(instance: WebAssembly.Instance, box: { memory?: WebAssembly.Memory }, what: string): CoreExports {
  const raw = instance.exports as unknown as CoreExports;
  checkLayout(instance.exports, what);
  box.memory = raw.memory;
  raw._start();
  return raw;
}

/** Instantiates a core synchronously from a compiled module. */
export function instantiateCoreSync(module: WebAssembly.Module, what = 'the given module'): CoreExports {
  const box: { memory?: WebAssembly.Memory } = {};
  return start(new WebAssembly.Instance(module, imports(box)), box, what);
}

/**
 * Instantiates a core. Synchronously where the runtime allows it (a resolved promise costs a task:
 * measured ~7 ms per emulator under load in Node); a browser's main thread refuses synchronous
 * instantiation of modules past a size with a RangeError, and then the async path runs.
 */
export async function instantiateCore(module: WebAssembly.Module, what = 'the given module'): Promise<CoreExports> {
  const box: { memory?: WebAssembly.Memory } = {};
  let instance: WebAssembly.Instance;
  try {
    try {
      instance = new WebAssembly.Instance(module, imports(box));
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
      instance = await WebAssembly.instantiate(module, imports(box));
    }
  } catch (e) {
    throw new Error(`pcisim: cannot instantiate the wasm core from ${what}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  return start(instance, box, what);
}

export { loadCoreModule, embeddedCoreModuleSync };

/** The Error every use of a destroyed emulator's core throws. */
export function destroyedError(): Error {
  return new Error('pcisim: this emulator was destroyed');
}

let destroyedRaw: CoreExports | undefined;

/** Stands in for a destroyed core's exports: every export throws, nothing refers to the old memory. */
function destroyedExports(names: string[]): CoreExports {
  if (!destroyedRaw) {
    const o: Record<string, unknown> = {};
    const fail = (): never => {
      throw destroyedError();
    };
    for (const n of names) Object.defineProperty(o, n, { get: fail });
    destroyedRaw = Object.freeze(o) as unknown as CoreExports;
  }
  return destroyedRaw;
}

const EMPTY = new ArrayBuffer(0);

/**
 * Typed views over one core's memory and its slot allocation. Views are rebuilt whenever memory
 * grows (slot, vfio and MSI-X allocation may grow it), so hot paths read `mem.u32` each time
 * instead of caching it. Addresses are unsigned up to 4 GiB: index views with `>>>`, never `>>`.
 */
export class CoreMemory {
  u8: Uint8Array = new Uint8Array(EMPTY);
  u16: Uint16Array = new Uint16Array(EMPTY);
  u32: Uint32Array = new Uint32Array(EMPTY);
  f64: Float64Array = new Float64Array(EMPTY);
  private free: number[] = [];
  private next = 0;
  private dead = -1;

  constructor(private readonly core: Core) {
    this.refresh();
  }

  refresh(): void {
    // growing the memory detaches its old buffer, and views over a detached buffer read as empty:
    // cheaper than asking the Memory for its buffer, which hot paths (vfioBase) do on every call
    if (this.u8.length !== 0) return;
    const buf = this.core.raw.memory.buffer;
    this.u8 = new Uint8Array(buf);
    this.u16 = new Uint16Array(buf);
    this.u32 = new Uint32Array(buf);
    this.f64 = new Float64Array(buf);
  }

  /** Zero-length views: a destroyed core's memory is no longer referenced. */
  release(): void {
    this.u8 = new Uint8Array(EMPTY);
    this.u16 = new Uint16Array(EMPTY);
    this.u32 = new Uint32Array(EMPTY);
    this.f64 = new Float64Array(EMPTY);
    this.free = [];
  }

  /** A zeroed slot (base block) for a new function. */
  allocSlot(): number {
    const slot = this.free.length > 0 ? this.free.pop()! : this.next;
    const base = this.core.raw.slotCreate(slot);
    if (base === 0) {
      if (slot !== this.next) this.free.push(slot);
      throw outOfMemory('another PCI function');
    }
    if (slot === this.next) this.next++;
    this.refresh();
    return slot;
  }

  /** Returns every block of the slot; the slot index goes to the next function. */
  freeSlot(slot: number): void {
    this.core.raw.slotDestroy(slot);
    this.free.push(slot);
  }

  /** Slots in use (for tests and measurements). */
  get slotsInUse(): number {
    return this.next - this.free.length;
  }

  /** Address of the slot's base block (CFG, WMASK, W1C, INIT, EVMAP, META). */
  base(slot: number): number {
    return this.core.raw.slotBase(slot) >>> 0;
  }

  /** Address of the slot's vfio block (VCONFIG, VIRT, UWRITE, VEVMAP, VMETA), allocated on first use. */
  vfioBase(slot: number): number {
    const v = this.core.raw.slotVfio(slot, 1) >>> 0;
    if (v === 0) throw outOfMemory("a function's vfio state");
    this.refresh();
    return v;
  }

  /** Address of the slot's MSI-X table (the PBA follows it), 0 when it has none. */
  msixBase(slot: number): number {
    return this.core.raw.slotMsix(slot) >>> 0;
  }

  /**
   * A copy of every byte the slot owns: its base block, then its vfio and MSI-X blocks when it has
   * them (tests use it to show that nothing outside a function's own state changed).
   */
  slotBytes(slot: number): Uint8Array {
    const raw = this.core.raw;
    const base = this.base(slot);
    const vfio = raw.slotVfio(slot, 0) >>> 0;
    const msix = this.msixBase(slot);
    const vectors = this.u32[(base + L.META + L.M_MSIX_VECTORS) >>> 2];
    const parts = [this.u8.subarray(base, base + L.BASE_SIZE)];
    if (vfio !== 0) parts.push(this.u8.subarray(vfio, vfio + L.VFIO_SIZE));
    if (msix !== 0) parts.push(this.u8.subarray(msix, msix + vectors * 16 + Math.ceil(vectors / 64) * 8));
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  /** msixSetup through the core, then fresh views (the block may have grown memory). */
  msixSetup(slot: number, cap: number, vectors: number): number {
    const r = this.core.raw.msixSetup(slot, cap, vectors);
    this.refresh();
    return r;
  }

  /** The slot removed functions point at: all-ones config space (power-on image too), no writable bit. */
  deadSlot(): number {
    if (this.dead < 0) {
      this.dead = this.allocSlot();
      const b = this.base(this.dead);
      this.u8.fill(0xff, b + L.CFG, b + L.CFG + L.CFG_SIZE);
      this.u8.fill(0xff, b + L.INIT, b + L.INIT + L.CFG_SIZE);
    }
    return this.dead;
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

function outOfMemory(what: string): Error {
  return new Error(`pcisim: the emulator's wasm memory is full (4 GiB, the wasm32 limit): no room for ${what}`);
}

/** Something built on a core that must let go of it when the core is destroyed. */
export interface CoreOwner {
  coreDestroyed(): void;
}

/**
 * One emulator's wasm core: its own instance and memory. Everything that reaches wasm does so
 * through the core of the emulator it belongs to (`hw.core`, `fn.core`): `core.raw` are the
 * number-only exports, `core.mem` the typed views and the slot allocator.
 */
export class Core {
  raw: CoreExports;
  readonly mem: CoreMemory;
  private dead = false;
  /**
   * What is built on this core (the emulator's Hardware, open VMMs' guest buses), held strongly
   * until it disowns itself (Vmm.close). Not WeakRefs: each new WeakRef keeps its target alive to the
   * end of the current job (ECMAScript AddToKeptObjects), so a synchronous loop of VMM lifetimes kept
   * every closed guest bus, ~90 KB each, until it returned to the event loop.
   */
  private readonly owners = new Set<CoreOwner>();
  constructor(
    raw: CoreExports,
    private readonly module: WebAssembly.Module,
  ) {
    this.raw = raw;
    this.mem = new CoreMemory(this);
  }

  get destroyed(): boolean {
    return this.dead;
  }

  /** `owner.coreDestroyed()` runs when the core is destroyed (the owner releases what it holds on it). */
  own(owner: CoreOwner): void {
    this.owners.add(owner);
  }

  /** The owner let go of the core by itself (a closed VMM's guest bus): the core no longer holds it. */
  disown(owner: CoreOwner): void {
    this.owners.delete(owner);
  }

  /** Drops the instance and its memory; later uses throw 'pcisim: this emulator was destroyed'. */
  destroy(): void {
    if (this.dead) return;
    this.dead = true;
    for (const o of this.owners) o.coreDestroyed();
    this.owners.clear();
    const raw = this.raw;
    this.raw = destroyedExports(Object.keys(raw));
    this.mem.release();
    recycle(this.module, raw);
  }
}

// Creating a wasm instance costs milliseconds (V8 reserves the memory's guard region and frees it
// only on GC), so a loop of create/destroy would spend its time there. A destroyed emulator's
// instance, when its memory is still small, is wiped (coreReset zeroes all of it) and kept for the
// next emulator built from the same module; the pool is bounded, so memory stays bounded.
const POOL_MAX = 4;
const POOL_MAX_PAGES = 16; // 1 MiB
const pool = new WeakMap<WebAssembly.Module, CoreExports[]>();

function recycle(module: WebAssembly.Module, raw: CoreExports): void {
  if (raw.memoryPages() > POOL_MAX_PAGES) return;
  let free = pool.get(module);
  if (!free) pool.set(module, (free = []));
  if (free.length >= POOL_MAX) return;
  raw.coreReset();
  free.push(raw);
}

function reuse(module: WebAssembly.Module): CoreExports | undefined {
  return pool.get(module)?.pop();
}

/** A core from `source` (default: the embedded one), compiled once per source, instantiated anew. */
export async function createCore(source?: WasmSource): Promise<Core> {
  const what = source === undefined ? 'the embedded core' : describeSource(source);
  const module = await loadCoreModule(source);
  return new Core(reuse(module) ?? (await instantiateCore(module, what)), module);
}

/** A core from the embedded module, synchronously (Node, workers; `new Hardware()` without a core). */
export function createCoreSync(module?: WebAssembly.Module): Core {
  const m = module ?? embeddedCoreModuleSync();
  return new Core(reuse(m) ?? instantiateCoreSync(m, module ? 'the given module' : 'the embedded core'), m);
}

export function describeSource(source: WasmSource): string {
  if (typeof source === 'string') return source;
  if (source instanceof URL) return source.href;
  if (source instanceof WebAssembly.Module) return 'the given WebAssembly.Module';
  return 'the given bytes';
}
