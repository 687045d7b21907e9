import { L } from '../core/wasm.js';
import type { ConfigBuilder } from './configBuilder.js';
import type { BarSpec } from './spec.js';
import { isPowerOfTwo } from './spec.js';

const KIND = { mem32: L.BAR_MEM32, mem64: L.BAR_MEM64, io: L.BAR_IO } as const;

/** Checks a BAR list the way hardware constrains it; errors name the offending field. */
export function validateBars(bars: (BarSpec | null | undefined)[] | undefined): (BarSpec | null)[] {
  const out: (BarSpec | null)[] = [null, null, null, null, null, null];
  if (bars === undefined) return out;
  if (!Array.isArray(bars) || bars.length > 6) throw new Error('bars must be an array of at most 6 entries (BAR0-BAR5)');
  for (let i = 0; i < bars.length; i++) {
    const b = bars[i];
    if (b === null || b === undefined) continue;
    const f = `bars[${i}]`;
    if (out[i] === undefined) throw new Error(`${f} must be null: BAR${i - 1} is a mem64 BAR and uses it as its upper half`);
    if (!(b.kind in KIND)) throw new Error(`${f}.kind must be 'mem32', 'mem64' or 'io', got ${JSON.stringify(b.kind)}`);
    if (!isPowerOfTwo(b.size)) throw new Error(`${f}.size must be a power of two, got ${b.size}`);
    if (b.kind === 'io') {
      if (b.size < 4 || b.size > 256) throw new Error(`${f}.size of an io BAR must be 4..256 bytes, got ${b.size}`);
      if (b.prefetchable) throw new Error(`${f}: an io BAR cannot be prefetchable`);
    } else if (b.size < 16) {
      throw new Error(`${f}.size of a memory BAR must be at least 16 bytes, got ${b.size}`);
    }
    if (b.kind === 'mem32' && b.size > 2 ** 31) throw new Error(`${f}.size of a mem32 BAR must be at most 2 GiB, got ${b.size}`);
    if (b.kind === 'mem64') {
      if (i === 5) throw new Error(`${f}: a mem64 BAR needs the next register, and BAR5 is the last`);
      if (b.size > 2 ** 52) throw new Error(`${f}.size must be at most 2^52 bytes, got ${b.size}`);
      if (bars[i + 1] !== null && bars[i + 1] !== undefined) {
        throw new Error(`bars[${i + 1}] must be null: BAR${i} is a mem64 BAR and uses it as its upper half`);
      }
      out[i + 1] = undefined as unknown as null; // marks the upper half as taken for the check above
    }
    out[i] = { kind: b.kind, size: b.size, prefetchable: !!b.prefetchable };
  }
  return out.map((b) => b ?? null);
}

/** Programs the BAR registers: flags read-only, address bits above the size writable. */
export function setupBars(b: ConfigBuilder, bars: (BarSpec | null)[]): void {
  for (let i = 0; i < 6; i++) {
    const s = bars[i];
    b.events(0x10 + 4 * i, 4, L.EV_BAR);
    if (!s) continue;
    const r = b.core.raw.barSetup(b.slot, i, KIND[s.kind], s.size % 2 ** 32, Math.floor(s.size / 2 ** 32), s.prefetchable ? 1 : 0, 0x30);
    if (r !== 0) throw new Error(`bars[${i}]: the core refused ${s.kind} of ${s.size} bytes`);
  }
}

/** Programs the expansion ROM BAR at `reg` (0x30 type 0, 0x38 type 1). */
export function setupRom(b: ConfigBuilder, size: number | undefined, reg: number): void {
  b.events(reg, 4, L.EV_BAR);
  if (size === undefined) return;
  if (!isPowerOfTwo(size) || size < 2048 || size > 2 ** 31) throw new Error(`romSize must be a power of two from 2 KiB to 2 GiB, got ${size}`);
  if (b.core.raw.barSetup(b.slot, L.ROM_INDEX, L.BAR_ROM, size % 2 ** 32, 0, 0, reg) !== 0) throw new Error(`romSize ${size} refused by the core`);
}
