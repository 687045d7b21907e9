import type { Window } from './bridge.js';
import { Bridge } from './bridge.js';
import type { PciBus } from './pciBus.js';
import type { PciFunction } from './pciFunction.js';

/** A decoded address range: [base, end) reaches BAR `bar` of `fn`, starting at BAR offset `barOffset`. */
export interface Decode {
  base: number;
  end: number;
  fn: PciFunction;
  bar: number;
  barOffset: number;
}

const MEM_ALL: Window[] = [{ base: 0, end: 2 ** 64 }];
const IO_ALL: Window[] = [{ base: 0, end: 2 ** 32 }];

function clip(ranges: Window[], windows: Window[]): Window[] {
  const out: Window[] = [];
  for (const r of ranges) {
    for (const w of windows) {
      const base = Math.max(r.base, w.base);
      const end = Math.min(r.end, w.end);
      if (base < end) out.push({ base, end });
    }
  }
  return out;
}

/**
 * What each address of one space (memory or I/O) reaches right now, as sorted disjoint ranges. It
 * is rebuilt from the config registers after any change to Command, a BAR, a bridge window or a
 * power state: a BAR is reachable where it decodes and where every bridge above forwards it. Where
 * two BARs overlap, the one met first in a depth-first scan by devfn claims the address.
 */
export class AddressMap {
  private ranges: Decode[] = [];
  private starts: number[] = [];

  rebuild(root: PciBus, io: boolean): void {
    const claimed: Decode[] = [];
    const visit = (bus: PciBus, windows: Window[]) => {
      for (const f of bus.ordered()) {
        if (f.powerState !== 0) continue; // D1-D3hot: only config space responds
        for (const { bar, base, size } of f.decodedBars(io)) {
          for (const piece of clip([{ base, end: base + size }], windows)) {
            for (const free of subtract(piece, claimed)) claimed.push({ ...free, fn: f, bar, barOffset: free.base - base });
          }
        }
        if (f instanceof Bridge) {
          const own = io ? (f.ioWindow() ? [f.ioWindow()!] : []) : f.memWindows();
          const inner = clip(own, windows);
          if (inner.length > 0) visit(f.secondary, inner);
        }
      }
    };
    visit(root, io ? IO_ALL : MEM_ALL);
    claimed.sort((a, b) => a.base - b.base);
    this.ranges = claimed;
    this.starts = claimed.map((r) => r.base);
  }

  /** The range holding [addr, addr + size), or null (master abort). */
  lookup(addr: number, size: number): Decode | null {
    const s = this.starts;
    let lo = 0;
    let hi = s.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (s[mid] <= addr) lo = mid + 1;
      else hi = mid - 1;
    }
    if (hi < 0) return null;
    const r = this.ranges[hi];
    return addr + size <= r.end ? r : null;
  }

  all(): readonly Decode[] {
    return this.ranges;
  }
}

function subtract(piece: Window, claimed: Decode[]): Window[] {
  let parts: Window[] = [piece];
  for (const c of claimed) {
    const next: Window[] = [];
    for (const p of parts) {
      if (c.end <= p.base || c.base >= p.end) {
        next.push(p);
        continue;
      }
      if (p.base < c.base) next.push({ base: p.base, end: c.base });
      if (c.end < p.end) next.push({ base: c.end, end: p.end });
    }
    parts = next;
    if (parts.length === 0) break;
  }
  return parts;
}
