import type { Decode } from '../addressMap.js';
import type { PciFunction } from '../pciFunction.js';

/**
 * One address range a function decodes right now: [base, end) of the memory or I/O space reaches
 * BAR `bar` (0-5; 6 is the expansion ROM) of `fn`, starting at byte `offset` of that BAR. Ranges are
 * what actually reaches the function: clipped to the bridge windows above it, and where two BARs
 * overlap, the address goes to one of them only.
 */
export interface DecodedRange {
  /** memory space or I/O port space */
  space: 'mem' | 'io';
  /** first address of the range */
  base: number;
  /** exclusive */
  end: number;
  /** the function that claims the range */
  fn: PciFunction;
  /** routing ID of fn: bus << 8 | device << 3 | function */
  rid: number;
  /** BAR index 0-5, 6 for the expansion ROM */
  bar: number;
  /** byte offset inside the BAR that `base` reaches */
  offset: number;
}

/**
 * What changed in the decode of the whole topology: every range now decoded (`mem`, `io`), and the
 * ranges that appeared and went away since the last event. A moved BAR is one removed and one added.
 */
export interface DecodeChange {
  /** every memory range decoded now */
  mem: readonly DecodedRange[];
  /** every I/O port range decoded now */
  io: readonly DecodedRange[];
  /** ranges decoded now that were not at the last event */
  added: readonly DecodedRange[];
  /** ranges decoded at the last event that are not now */
  removed: readonly DecodedRange[];
}

/** Called with each change of the decoded ranges (Hardware.onDecodeChange). */
export type DecodeListener = (change: DecodeChange) => void;

const key = (r: DecodedRange) => `${r.space}:${r.base}:${r.end}:${r.rid}:${r.bar}:${r.offset}`;

function ranges(space: 'mem' | 'io', list: readonly Decode[]): DecodedRange[] {
  return list.map((d) => ({ space, base: d.base, end: d.end, fn: d.fn, rid: (d.fn.bus.number << 8) | d.fn.devfn, bar: d.bar, offset: d.barOffset }));
}

/** Hardware's decode listeners and the decode they were last told about. */
export class DecodeEvents {
  private readonly listeners: DecodeListener[] = [];
  private last = new Map<string, DecodedRange>();
  private lastFns = new Map<string, PciFunction>();

  get active(): boolean {
    return this.listeners.length > 0;
  }

  add(listener: DecodeListener, mem: readonly Decode[], io: readonly Decode[]): () => void {
    if (typeof listener !== 'function') throw new TypeError('a decode listener must be a function');
    if (this.listeners.length === 0) this.remember(ranges('mem', mem), ranges('io', io));
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  private remember(m: DecodedRange[], i: DecodedRange[]): void {
    this.last = new Map([...m, ...i].map((r) => [key(r), r]));
    this.lastFns = new Map([...m, ...i].map((r) => [key(r), r.fn]));
  }

  /** Compares the rebuilt maps with the last event's and tells the listeners if anything differs. */
  update(mem: readonly Decode[], io: readonly Decode[]): void {
    const m = ranges('mem', mem);
    const i = ranges('io', io);
    const now = new Map([...m, ...i].map((r) => [key(r), r]));
    const added: DecodedRange[] = [];
    const removed: DecodedRange[] = [];
    for (const [k, r] of now) if (!this.last.has(k) || this.lastFns.get(k) !== r.fn) added.push(r);
    for (const [k, r] of this.last) if (!now.has(k) || now.get(k)!.fn !== this.lastFns.get(k)) removed.push(r);
    if (added.length === 0 && removed.length === 0) return;
    this.remember(m, i);
    const change: DecodeChange = { mem: m, io: i, added, removed };
    for (const l of [...this.listeners]) l(change);
  }
}
