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

/** Instantiates a core (async: browsers refuse synchronous instantiation on the main thread past a size). */
export async function instantiateCore(module: WebAssembly.Module, what = 'the given module'): Promise<CoreExports> {
  const box: { memory?: WebAssembly.Memory } = {};
  let instance: WebAssembly.Instance;
  try {
    instance = await WebAssembly.instantiate(module, imports(box));
  } catch (e) {
    throw new Error(`pcisim: cannot instantiate the wasm core from ${what}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  return start(instance, box, what);
}

export { loadCoreModule, embeddedCoreModuleSync };

/**
 * Typed views over one core's memory and its slot allocation. Views are rebuilt whenever memory
 * grows (only slot allocation grows it), so hot paths read `mem.u32` each time instead of caching it.
 */
export class CoreMemory {
  u8!: Uint8Array;
  u16!: Uint16Array;
  u32!: Uint32Array;
  f64!: Float64Array;
  private free: number[] = [];
  private next = 0;

  constructor(private readonly raw: CoreExports) {
    this.refresh();
  }

  refresh(): void {
    const buf = this.raw.memory.buffer;
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
      if (this.raw.slotEnsure(slot + 1) < 0) throw new Error('pcisim: out of wasm memory for another function slot');
      this.next++;
      this.refresh();
    }
    this.raw.slotClear(slot);
    return slot;
  }

  freeSlot(slot: number): void {
    this.raw.slotClear(slot);
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

// ---- interim: one process-wide core, created by the first emulator (or Hardware) that needs it ----

export let raw: CoreExports = undefined as unknown as CoreExports;
export let mem: CoreMemory = undefined as unknown as CoreMemory;

function install(r: CoreExports): void {
  raw = r;
  mem = new CoreMemory(r);
}

/** The process core, instantiated from the embedded module on first use. */
export function ensureProcessCore(): void {
  if (!raw) install(instantiateCoreSync(embeddedCoreModuleSync(), 'the embedded core'));
}

/** Loads the core from `source` (once) and makes it the process core if there is none yet. */
export async function loadProcessCore(source?: WasmSource): Promise<void> {
  const what = source === undefined ? 'the embedded core' : describeSource(source);
  const module = await loadCoreModule(source);
  const r = await instantiateCore(module, what);
  if (!raw) install(r);
}

export function describeSource(source: WasmSource): string {
  if (typeof source === 'string') return source;
  if (source instanceof URL) return source.href;
  if (source instanceof WebAssembly.Module) return 'the given WebAssembly.Module';
  return 'the given bytes';
}

/** Frees the slots of functions that became unreachable without an explicit remove. */
export const slotReaper = new FinalizationRegistry<number>((slot) => mem.freeSlot(slot));
