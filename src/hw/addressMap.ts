import { L } from '../core/wasm.js';
import type { Window } from './bridge.js';
import { Bridge } from './bridge.js';
import type { PciBus } from './pciBus.js';
import { PciFunction } from './pciFunction.js';

/** A decoded address range: [base, end) reaches BAR `bar` of `fn`, starting at BAR offset `barOffset`. */
export interface Decode {
  base: number;
  end: number;
  fn: PciFunction;
  bar: number;
  barOffset: number;
  /** BAR offset of an address in the range = address + delta (barOffset - base) */
  delta: number;
  /**
   * The range reaches the device model only (no MSI-X table or PBA inside it, not the ROM), so an
   * access may skip PciFunction.barRead/barWrite and call the model's handler directly.
   */
  direct: boolean;
}

/** Ports a flat table covers: the x86 I/O space (PCI I/O BARs above it go through the sorted search). */
const IO_TABLE_PORTS = 0x10000;

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
  /** the claimed ranges, whole (what decodedRanges() shows) */
  private ranges: Decode[] = [];
  /**
   * The dispatch list: the ranges cut at MSI-X table and PBA edges, so the rest of a BAR that holds
   * them reaches the model directly. Sorted, disjoint; `wholeOf[i]` is the range piece i was cut from.
   */
  private pieces: Decode[] = [];
  private wholeOf: Decode[] = [];
  private starts = new Float64Array(0);
  /**
   * I/O space only: port -> 1 + index into `pieces` (0 = nothing decodes), so a port access finds
   * its range in one load. Allocated on the first rebuild that has an I/O range below 0x10000.
   */
  private portTable: Uint16Array | null = null;
  /** the last piece a lookup found: a driver's accesses come in runs to one BAR */
  private last: Decode | null = null;

  constructor(private readonly io = false) {}

  rebuild(root: PciBus, io: boolean = this.io): void {
    const claimed: Decode[] = [];
    const visit = (bus: PciBus, windows: Window[]) => {
      for (const f of bus.ordered()) {
        if (f.powerState !== 0) continue; // D1-D3hot: only config space responds
        for (const { bar, base, size } of f.decodedBars(io)) {
          for (const piece of clip([{ base, end: base + size }], windows)) {
            for (const free of subtract(piece, claimed)) claimed.push(decode(f, bar, base, free.base, free.end));
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
    this.clearPortTable();
    this.ranges = claimed;
    this.pieces = [];
    this.wholeOf = [];
    for (const r of claimed) {
      for (const p of cut(r)) {
        this.pieces.push(p);
        this.wholeOf.push(r);
      }
    }
    this.starts = Float64Array.from(this.pieces, (r) => r.base);
    this.last = null;
    if (io) this.fillPortTable();
  }

  /** Zeroes only what the previous pieces filled (a rebuild follows every BAR sizing write). */
  private clearPortTable(): void {
    const t = this.portTable;
    if (t === null) return;
    for (const r of this.pieces) if (r.base < IO_TABLE_PORTS) t.fill(0, r.base, Math.min(r.end, IO_TABLE_PORTS));
  }

  private fillPortTable(): void {
    const rs = this.pieces;
    if (rs.length === 0 || rs[0].base >= IO_TABLE_PORTS) return;
    if (rs.length >= 0xffff) {
      // more pieces than a table entry can name: every lookup takes the sorted search
      this.portTable = null;
      return;
    }
    const t = (this.portTable ??= new Uint16Array(IO_TABLE_PORTS));
    for (let i = 0; i < rs.length && rs[i].base < IO_TABLE_PORTS; i++) t.fill(i + 1, rs[i].base, Math.min(rs[i].end, IO_TABLE_PORTS));
  }

  /** Port I/O: the range holding [port, port + size), or null (master abort): the last hit, else the port table. */
  lookupIo(port: number, size: number): Decode | null {
    const l = this.last;
    if (l !== null && port >= l.base && port + size <= l.end) return l;
    const t = this.portTable;
    if (t === null || port >= IO_TABLE_PORTS) return this.search(port, size);
    const k = t[port];
    if (k === 0) return null;
    const r = this.pieces[k - 1];
    if (port + size > r.end) return this.straddle(k - 1, port, size);
    this.last = r;
    return r;
  }

  /** MMIO: the range holding [addr, addr + size), or null (master abort): the last hit, else a binary search. */
  lookupMem(addr: number, size: number): Decode | null {
    const l = this.last;
    if (l !== null && addr >= l.base && addr + size <= l.end) return l;
    return this.search(addr, size);
  }

  /** Either space, for callers off the hot paths. */
  lookup(addr: number, size: number): Decode | null {
    return this.io ? this.lookupIo(addr, size) : this.lookupMem(addr, size);
  }

  /** Binary search of the sorted starts (the pieces are disjoint). */
  private search(addr: number, size: number): Decode | null {
    const s = this.starts;
    let lo = 0;
    let hi = s.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (s[mid] <= addr) lo = mid + 1;
      else hi = mid - 1;
    }
    if (hi < 0) return null;
    const r = this.pieces[hi];
    if (addr + size > r.end) return this.straddle(hi, addr, size);
    this.last = r;
    return r;
  }

  /** An access running past the end of piece i: the whole range answers it if it holds it. */
  private straddle(i: number, addr: number, size: number): Decode | null {
    if (addr >= this.pieces[i].end) return null;
    const w = this.wholeOf[i];
    return addr + size <= w.end ? w : null;
  }

  all(): readonly Decode[] {
    return this.ranges;
  }
}

function decode(fn: PciFunction, bar: number, barBase: number, base: number, end: number): Decode {
  return { base, end, fn, bar, barOffset: base - barBase, delta: -barBase, direct: isDirect(fn, bar, base - barBase, end - barBase) };
}

/** A range cut at the MSI-X table and PBA edges inside it (the range itself when none is). */
function cut(r: Decode): Decode[] {
  const m = r.fn.msix;
  if (r.direct || m === null) return [r];
  const barBase = -r.delta;
  const edges = new Set<number>([r.base, r.end]);
  for (const [b, off, len] of [
    [m.tableBar, m.tableOffset, m.tableBytes],
    [m.pbaBar, m.pbaOffset, m.pbaBytes],
  ]) {
    if (b !== r.bar) continue;
    for (const e of [barBase + off, barBase + off + len]) if (e > r.base && e < r.end) edges.add(e);
  }
  const at = [...edges].sort((a, b) => a - b);
  const out: Decode[] = [];
  for (let i = 0; i + 1 < at.length; i++) out.push(decode(r.fn, r.bar, barBase, at[i], at[i + 1]));
  return out;
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

/** Whether BAR offsets [from, to) of `bar` reach the device model alone (see Decode.direct). */
function isDirect(f: PciFunction, bar: number, from: number, to: number): boolean {
  if (bar === L.ROM_INDEX) return false; // PciFunction serves the ROM image or asks the model's romRead
  // the VMM's passthrough function hands every BAR access to its backend (the model), MSI-X
  // table included: nothing of PciFunction's path applies
  if (f.barsToModel) return true;
  // any other subclass that serves its BARs itself keeps its own path
  if (f.barRead !== PciFunction.prototype.barRead || f.barWrite !== PciFunction.prototype.barWrite) return false;
  const m = f.msix;
  if (m === null) return true;
  const hits = (b: number, off: number, len: number) => b === bar && off < to && off + len > from;
  return !hits(m.tableBar, m.tableOffset, m.tableBytes) && !hits(m.pbaBar, m.pbaOffset, m.pbaBytes);
}
