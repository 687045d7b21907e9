// Shared helpers for the hardware-layer tests: building a machine, expanding golden register tables
// into per-byte masks, and snapshotting config space.
import { createEmulator } from '../../src/index.js';
import type { BridgeSpec, EndpointSpec, Hardware, PciFunction } from '../../src/index.js';
import type { GoldenBlock } from '../fixtures/configSpace.js';

/** A new machine; these tests do no DMA, so guest memory is kept small (allocating it dominates otherwise). */
export async function newHardware(): Promise<Hardware> {
  return (await createEmulator({ memoryBytes: 1 << 20 })).hw;
}

/**
 * Removes every function, children before their bridge, so their wasm slots are reused by the next
 * machine instead of growing the shared core memory test after test.
 */
export function disposeHardware(hw: Hardware | undefined): void {
  if (!hw) return;
  for (const f of hw.functions().reverse()) hw.removeFunction(f.bdf);
}

export const ALL_ONES = { 1: 0xff, 2: 0xffff, 4: 0xffffffff } as const;
export const SIZES = [1, 2, 4] as const;

/** Per-byte view of a golden block: value, writable bits, RW1C bits, and the constrained all-ones readback. */
export interface BlockBytes {
  init: number[];
  rw: number[];
  rw1c: number[];
  ones: (number | undefined)[];
  owner: string[];
}

/** Expands a block's registers into bytes; unnamed bytes are reserved (0, read-only). Rejects overlaps. */
export function blockBytes(block: GoldenBlock): BlockBytes {
  const n = block.length;
  const out: BlockBytes = {
    init: new Array(n).fill(0),
    rw: new Array(n).fill(0),
    rw1c: new Array(n).fill(0),
    ones: new Array(n).fill(undefined),
    owner: new Array(n).fill('reserved'),
  };
  for (const r of block.regs) {
    for (let i = 0; i < r.size; i++) {
      const at = r.off + i;
      if (at >= n) throw new Error(`${block.name}: ${r.name} runs past the block`);
      if (out.owner[at] !== 'reserved') throw new Error(`${block.name}: ${r.name} overlaps ${out.owner[at]}`);
      const sh = 8 * i;
      out.owner[at] = r.name;
      out.init[at] = (r.init >>> sh) & 0xff;
      out.rw[at] = ((r.rw ?? 0) >>> sh) & 0xff;
      out.rw1c[at] = ((r.rw1c ?? 0) >>> sh) & 0xff;
      if (r.ones !== undefined) out.ones[at] = (r.ones >>> sh) & 0xff;
    }
  }
  return out;
}

/** Little-endian value of `size` bytes at `off` of a byte array. */
export function pack(bytes: number[], off: number, size: number): number {
  let v = 0;
  for (let i = size - 1; i >= 0; i--) v = v * 256 + bytes[off + i];
  return v;
}

/** Every naturally aligned (offset, size) pair inside [0, length). */
export function accessPairs(length: number): { off: number; size: 1 | 2 | 4 }[] {
  const out: { off: number; size: 1 | 2 | 4 }[] = [];
  for (const size of SIZES) for (let off = 0; off + size <= length; off += size) out.push({ off, size });
  return out;
}

/** The register names an access touches, for test titles. */
export function touched(bytes: BlockBytes, off: number, size: number): string {
  return [...new Set(bytes.owner.slice(off, off + size))].join(' + ');
}

/** All 4096 config bytes of a function, read through the public API a dword at a time. */
export function configSnapshot(hw: Hardware, bdf: string): Uint8Array {
  const out = new Uint8Array(4096);
  const v = new DataView(out.buffer);
  for (let off = 0; off < 4096; off += 4) v.setUint32(off, hw.configRead(bdf, off, 4), true);
  return out;
}

/** Offsets where two config snapshots differ, as "0xoff: before -> after" (empty when equal). */
export function configDiff(before: Uint8Array, after: Uint8Array): string[] {
  if (Buffer.compare(before, after) === 0) return [];
  const out: string[] = [];
  for (let i = 0; i < before.length; i++) if (before[i] !== after[i]) out.push(`${hex(i)}: ${hex(before[i])} -> ${hex(after[i])}`);
  return out;
}

/** Config bytes [off, off+len) one byte at a time. */
export function readBytes(hw: Hardware, bdf: string, off: number, len: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < len; i++) out.push(hw.configRead(bdf, off + i, 1));
  return out;
}

export function hex(n: number): string {
  return '0x' + n.toString(16);
}

/** Replaces the function at `bdf` with a freshly powered-on one built from `spec` (an endpoint or a bridge). */
export function freshEndpoint(hw: Hardware, bdf: string, spec: EndpointSpec | { bridge: BridgeSpec }): PciFunction {
  hw.removeFunction(bdf);
  return 'bridge' in spec ? hw.addBridge(bdf, spec.bridge) : hw.addEndpoint(bdf, spec);
}

/** Walks the standard capability list: [offset, id] in chain order. */
export function walkCapabilities(read: (off: number, size: 1 | 2 | 4) => number): [number, number][] {
  const out: [number, number][] = [];
  let off = read(0x34, 1);
  while (off !== 0) {
    if (out.length > 48) throw new Error('capability list loops');
    out.push([off, read(off, 1)]);
    off = read(off + 1, 1);
  }
  return out;
}

/** Walks the extended capability list from 0x100: [offset, id, version]. */
export function walkExtCapabilities(read: (off: number, size: 1 | 2 | 4) => number): [number, number, number][] {
  const out: [number, number, number][] = [];
  let off = 0x100;
  for (;;) {
    const h = read(off, 4);
    if (h === 0) break;
    out.push([off, h & 0xffff, (h >>> 16) & 0xf]);
    if (out.length > 960) throw new Error('extended capability list loops');
    off = h >>> 20;
    if (off === 0) break;
  }
  return out;
}

/** Programs a BAR register (and the upper half for a 64-bit address). */
export function programBar(hw: Hardware, bdf: string, index: number, address: number, is64 = false): void {
  hw.configWrite(bdf, 0x10 + 4 * index, 4, address % 2 ** 32);
  if (is64) hw.configWrite(bdf, 0x14 + 4 * index, 4, Math.floor(address / 2 ** 32));
}

export const CMD_IO = 0x1;
export const CMD_MEM = 0x2;
export const CMD_MASTER = 0x4;
export const CMD_INTX_DISABLE = 0x400;
