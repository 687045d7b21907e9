// After emu.destroy(), every method of the emulator's objects throws a clear Error. Instead of a
// flag tested on every call (a cost on the hot paths), a destroyed object gets a prototype whose
// methods and accessors all throw: nothing changes for live objects.
import { destroyedError } from './wasm.js';

const poisoned = new WeakMap<object, object>();
const poisonedProtos = new WeakSet<object>();

function fail(): never {
  throw destroyedError();
}

/** A prototype with the same method and accessor names as `proto`'s chain, every one throwing. */
function poisonedPrototype(proto: object): object {
  let p = poisoned.get(proto);
  if (p) return p;
  p = Object.create(null) as object;
  for (let o: object | null = proto; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o) as object | null) {
    for (const name of Object.getOwnPropertyNames(o)) {
      if (name === 'constructor' || Object.prototype.hasOwnProperty.call(p, name)) continue;
      const d = Object.getOwnPropertyDescriptor(o, name)!;
      if (typeof d.value === 'function') Object.defineProperty(p, name, { value: fail });
      else if (d.get || d.set) Object.defineProperty(p, name, { get: fail, set: fail });
    }
  }
  poisoned.set(proto, p);
  poisonedProtos.add(p);
  return p;
}

/** Makes every method and accessor of `obj` (from its class) throw 'pcisim: this emulator was destroyed'. */
export function poison(obj: object): void {
  const proto = Object.getPrototypeOf(obj) as object | null;
  if (proto === null || poisonedProtos.has(proto)) return;
  Object.setPrototypeOf(obj, poisonedPrototype(proto));
  // own function-valued properties (methods assigned in a constructor) throw as well
  for (const name of Object.getOwnPropertyNames(obj)) {
    const d = Object.getOwnPropertyDescriptor(obj, name)!;
    if (typeof d.value === 'function' && d.configurable) Object.defineProperty(obj, name, { value: fail });
  }
}
