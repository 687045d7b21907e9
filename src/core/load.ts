// Where the wasm core comes from. Nothing here runs at import time: a module is compiled the first
// time an emulator asks for it, then cached per source. No `node:` import appears anywhere: in Node,
// a path or file: URL is read through process.getBuiltinModule, which bundlers leave alone.
import { coreWasmBase64 } from './coreWasm.generated.js';

/** Where an emulator's core comes from (createEmulator's `wasm` option). */
export type WasmSource = URL | string | ArrayBuffer | Uint8Array | WebAssembly.Module;

const byKey = new Map<string, Promise<WebAssembly.Module>>();
const byObject = new WeakMap<object, Promise<WebAssembly.Module>>();
let embedded: WebAssembly.Module | undefined;

/** The error every load failure rejects with: names pcisim and what was tried, keeps the cause. */
export function coreLoadError(what: string, cause: unknown): Error {
  const why = cause instanceof Error ? cause.message : String(cause);
  return new Error(`pcisim: cannot load the wasm core from ${what}: ${why}`, { cause });
}

function embeddedBytes(): Uint8Array {
  const bin = atob(coreWasmBase64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** The core built into the package, compiled synchronously (for `new Hardware()` outside createEmulator). */
export function embeddedCoreModuleSync(): WebAssembly.Module {
  embedded ??= new WebAssembly.Module(embeddedBytes() as Uint8Array<ArrayBuffer>);
  return embedded;
}

interface NodeFs {
  readFile(path: string | URL): Promise<Uint8Array>;
}

function nodeFs(): NodeFs | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  return proc?.getBuiltinModule?.('node:fs/promises') as NodeFs | undefined;
}

const SCHEME = /^[a-z][a-z0-9+.-]*:/i;
const WINDOWS_DRIVE = /^[a-z]:[\\/]/i;

async function compileBytes(bytes: BufferSource, what: string): Promise<WebAssembly.Module> {
  try {
    return await WebAssembly.compile(bytes);
  } catch (e) {
    throw coreLoadError(what, e);
  }
}

async function fetchModule(url: URL): Promise<WebAssembly.Module> {
  const what = url.href;
  let bytes: BufferSource;
  try {
    if (url.protocol === 'file:') {
      const fs = nodeFs();
      if (!fs) throw new Error('file: URLs can only be read in Node (>= 20.16, process.getBuiltinModule)');
      bytes = (await fs.readFile(url)) as Uint8Array<ArrayBuffer>;
    } else {
      const res = await fetch(url);
      if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`.trim());
      bytes = await res.arrayBuffer();
    }
  } catch (e) {
    throw coreLoadError(what, e);
  }
  return compileBytes(bytes, what);
}

async function readPath(path: string): Promise<WebAssembly.Module> {
  const fs = nodeFs();
  if (!fs) throw coreLoadError(path, new Error('a file path can only be read in Node (>= 20.16); pass a URL in a browser'));
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(path);
  } catch (e) {
    throw coreLoadError(path, e);
  }
  return compileBytes(bytes as Uint8Array<ArrayBuffer>, path);
}

function fromString(s: string): Promise<WebAssembly.Module> {
  if (SCHEME.test(s) && !WINDOWS_DRIVE.test(s)) return fetchModule(new URL(s));
  if (nodeFs()) return readPath(s);
  // a browser: relative to the page
  const base = (globalThis as { document?: { baseURI?: string } }).document?.baseURI
    ?? (globalThis as { location?: { href?: string } }).location?.href;
  let url: URL;
  try {
    url = new URL(s, base);
  } catch (e) {
    return Promise.reject(coreLoadError(s, e));
  }
  return fetchModule(url);
}

function cached<K>(map: { get(k: K): Promise<WebAssembly.Module> | undefined; set(k: K, v: Promise<WebAssembly.Module>): unknown; delete(k: K): unknown }, key: K, make: () => Promise<WebAssembly.Module>): Promise<WebAssembly.Module> {
  let p = map.get(key);
  if (!p) {
    p = make();
    map.set(key, p);
    // a failed load is not remembered: the next emulator may try again (the file may appear)
    p.catch(() => map.delete(key));
  }
  return p;
}

/** Compiles (once per source) the core module an emulator is built from. */
export function loadCoreModule(source?: WasmSource): Promise<WebAssembly.Module> {
  if (source === undefined) {
    if (embedded) return Promise.resolve(embedded);
    return cached(byKey, 'embedded', async () => (embedded = await compileBytes(embeddedBytes() as Uint8Array<ArrayBuffer>, 'the embedded core')));
  }
  if (source instanceof WebAssembly.Module) return Promise.resolve(source);
  if (typeof source === 'string') return cached(byKey, 'path-or-url:' + source, () => fromString(source));
  if (source instanceof URL) return cached(byKey, 'url:' + source.href, () => fetchModule(source));
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) {
    const what = `${source.byteLength} bytes given as the wasm option`;
    return cached(byObject, source, () => compileBytes(source as Uint8Array<ArrayBuffer>, what));
  }
  return Promise.reject(new TypeError(`pcisim: the wasm option must be a URL, a path, an ArrayBuffer, a Uint8Array or a WebAssembly.Module (got ${Object.prototype.toString.call(source)})`));
}
