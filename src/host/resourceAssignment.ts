// Host resource assignment: what the firmware and Linux's PCI core (setup-bus.c, setup-res.c) do
// before any driver binds: every BAR, expansion ROM and SR-IOV VF BAR gets an address from the
// host's pools, and every bridge gets windows covering what sits behind it.

/** An address range [base, end). */
export interface Span {
  base: number;
  end: number;
}

/** The host's address pools (end exclusive). */
export interface HostPools {
  /** I/O ports */
  io: Span;
  /** 32-bit non-prefetchable MMIO (and everything that cannot go above 4 GiB) */
  mem32: Span;
  /** 64-bit prefetchable MMIO, above 4 GiB */
  mem64: Span;
}

export const DEFAULT_HOST_POOLS: Readonly<HostPools> = Object.freeze({
  io: { base: 0x1000, end: 0x10000 },
  mem32: { base: 0xe0000000, end: 0xf0000000 },
  mem64: { base: 0x40_0000_0000, end: 0x80_0000_0000 },
});

/** The three kinds of space a bridge forwards, each with its own window. */
export type Space = 'io' | 'mem' | 'pref';
export const SPACES: readonly Space[] = ['io', 'mem', 'pref'];

/** Bridge window granularity: 4 KiB for I/O, 1 MiB for memory (PCI-to-PCI Bridge spec 3.2.5). */
export const WINDOW_GRANULARITY: Readonly<Record<Space, number>> = Object.freeze({ io: 0x1000, mem: 0x100000, pref: 0x100000 });

/** Something that needs addresses: a BAR, a ROM, an SR-IOV resource, or a bridge window and its contents. */
export interface Item {
  size: number;
  /** a power of two */
  align: number;
  /** scan order, the last tie-break so that the same topology always gets the same addresses */
  order: number;
  what: string;
  place(base: number): void;
  fail(reason: string): void;
}

/** What one bus needs in one space: its items in placement order and their packed size from offset 0. */
export interface Needs {
  items: Item[];
  offsets: number[];
  size: number;
  align: number;
}

export const alignUp = (x: number, a: number): number => Math.ceil(x / a) * a;
export const hex = (n: number): string => '0x' + n.toString(16);

/**
 * Packs items largest alignment first (then larger size, then scan order). Power-of-two BARs
 * sorted that way leave no holes; windows (a multiple of their granularity) may leave some.
 */
export function pack(items: Item[]): Needs {
  const list = [...items].sort((x, y) => y.align - x.align || y.size - x.size || x.order - y.order);
  const offsets: number[] = [];
  let end = 0;
  let align = 1;
  for (const it of list) {
    const off = alignUp(end, it.align);
    offsets.push(off);
    end = off + it.size;
    align = Math.max(align, it.align);
  }
  return { items: list, offsets, size: end, align };
}

/** Places packed items at `base` (aligned to needs.align by the caller). */
export function placePacked(needs: Needs, base: number): void {
  needs.items.forEach((it, i) => it.place(base + needs.offsets[i]));
}

/** A first-fit allocator over free spans, with natural alignment. */
export class Pool {
  private free: Span[];

  constructor(
    readonly name: string,
    span: Span,
    holes: Span[] = [],
  ) {
    let free: Span[] = [{ ...span }];
    for (const h of holes) {
      const next: Span[] = [];
      for (const f of free) {
        if (h.end <= f.base || h.base >= f.end) {
          next.push(f);
          continue;
        }
        if (f.base < h.base) next.push({ base: f.base, end: h.base });
        if (h.end < f.end) next.push({ base: h.end, end: f.end });
      }
      free = next;
    }
    this.free = free;
  }

  /** The base of `size` bytes aligned to `align`, or null when no free span has room. */
  alloc(size: number, align: number): number | null {
    for (let i = 0; i < this.free.length; i++) {
      const f = this.free[i];
      const base = alignUp(f.base, align);
      if (base + size > f.end) continue;
      const pieces: Span[] = [];
      if (f.base < base) pieces.push({ base: f.base, end: base });
      if (base + size < f.end) pieces.push({ base: base + size, end: f.end });
      this.free.splice(i, 1, ...pieces);
      return base;
    }
    return null;
  }

  spans(): readonly Span[] {
    return this.free;
  }
}

/**
 * Allocates each root-bus item from the pool in packing order; an item that does not fit is
 * reported through its fail() (Linux logs "can't assign; no space" and leaves the resource unset).
 */
export function allocateFromPool(pool: Pool, items: Item[]): void {
  const { items: list } = pack(items);
  for (const it of list) {
    const base = pool.alloc(it.size, it.align);
    if (base === null) it.fail(`no room for ${hex(it.size)} bytes (aligned to ${hex(it.align)}) in the ${pool.name} pool`);
    else it.place(base);
  }
}
