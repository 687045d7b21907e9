// Test topologies for the guest enumerator, and the invariants any enumeration result must satisfy.
import { expect } from 'vitest';
import type { BarSpec, BridgeSpec, Emulator, EndpointSpec, Hardware } from '../../src/index.js';
import { createEmulator } from '../../src/index.js';
import type { EnumeratedFunction, EnumerationResult } from '../../src/guest/enumerator.js';

export type Node =
  | { kind: 'endpoint'; bdf: string; spec: EndpointSpec }
  | { kind: 'bridge'; bdf: string; spec: BridgeSpec };

/** Builds `nodes` in order (bridges before what sits behind them). */
export async function build(nodes: Node[]): Promise<Emulator> {
  const emu = await createEmulator();
  for (const n of nodes) {
    if (n.kind === 'bridge') emu.hw.addBridge(n.bdf, n.spec);
    else emu.hw.addEndpoint(n.bdf, n.spec);
  }
  return emu;
}

const nicSpec = (fn: number): EndpointSpec => ({
  vendorId: 0x8086,
  deviceId: 0x1521,
  classCode: 0x020000,
  revision: 1,
  interruptPin: (fn + 1) as 1 | 2,
  bars: [{ kind: 'mem32', size: 0x100000 }, null, { kind: 'io', size: 32 }, { kind: 'mem32', size: 0x4000 }],
  romSize: fn === 0 ? 0x80000 : undefined,
  capabilities: [
    { id: 'pm' },
    { id: 'msi', vectors: 4, is64: true, perVectorMask: true },
    { id: 'msix', vectors: 8, tableBar: 3, tableOffset: 0, pbaBar: 3, pbaOffset: 0x2000 },
    { id: 'pcie', flr: true },
  ],
  extendedCapabilities: [{ id: 'aer' }, { id: 'dsn', serial: 0x0123456789abcdefn }],
});

/**
 * Every BAR kind, a ROM on an endpoint, multi-function devices, endpoints on the root bus, a
 * second-level bridge, a conventional PCI device with INTx and an empty bridge. Buses strapped in
 * depth-first order.
 */
export const MIXED: Node[] = [
  { kind: 'endpoint', bdf: '0000:00:00.0', spec: { vendorId: 0x8086, deviceId: 0x29c0, classCode: 0x060000 } },
  { kind: 'bridge', bdf: '0000:00:01.0', spec: { secondaryBus: 1 } },
  { kind: 'endpoint', bdf: '0000:01:00.0', spec: nicSpec(0) },
  { kind: 'endpoint', bdf: '0000:01:00.1', spec: nicSpec(1) },
  { kind: 'bridge', bdf: '0000:01:01.0', spec: { secondaryBus: 2, portType: 'downstream' } },
  {
    kind: 'endpoint',
    bdf: '0000:02:00.0',
    spec: {
      vendorId: 0x10de,
      deviceId: 0x2204,
      classCode: 0x030000,
      interruptPin: 1,
      bars: [
        { kind: 'mem32', size: 16 << 20 },
        { kind: 'mem64', size: 256 << 20, prefetchable: true },
        null,
        { kind: 'mem64', size: 0x4000, prefetchable: true },
        null,
        { kind: 'io', size: 128 },
      ],
      romSize: 0x10000,
      capabilities: [{ id: 'pm' }, { id: 'msi', vectors: 1 }, { id: 'pcie' }],
    },
  },
  { kind: 'endpoint', bdf: '0000:02:00.3', spec: { vendorId: 0x10de, deviceId: 0x1aef, classCode: 0x040300, interruptPin: 4, bars: [{ kind: 'mem32', size: 0x4000 }] } },
  { kind: 'bridge', bdf: '0000:00:02.0', spec: { secondaryBus: 3 } },
  {
    kind: 'endpoint',
    bdf: '0000:03:00.0',
    spec: {
      vendorId: 0x144d,
      deviceId: 0xa808,
      classCode: 0x010802,
      bars: [{ kind: 'mem64', size: 0x4000 }, null, { kind: 'mem32', size: 0x1000, prefetchable: true }],
      capabilities: [
        { id: 'pm' },
        { id: 'msix', vectors: 33, tableBar: 0, tableOffset: 0x3000, pbaBar: 0, pbaOffset: 0x2000 },
        { id: 'pcie' },
      ],
      extendedCapabilities: [{ id: 'dsn', serial: 0xfedcba9876543210n }],
    },
  },
  { kind: 'bridge', bdf: '0000:00:03.0', spec: { secondaryBus: 4, portType: 'pci' } },
  {
    kind: 'endpoint',
    bdf: '0000:04:05.0',
    spec: { vendorId: 0x10ec, deviceId: 0x8139, classCode: 0x020000, interruptPin: 1, bars: [{ kind: 'io', size: 256 }, { kind: 'mem32', size: 256 }], romSize: 0x10000, capabilities: [{ id: 'pm' }] },
  },
  { kind: 'bridge', bdf: '0000:00:04.0', spec: { secondaryBus: 5 } },
  {
    kind: 'endpoint',
    bdf: '0000:00:1f.0',
    spec: { vendorId: 0x1af4, deviceId: 0x1000, classCode: 0x020000, interruptPin: 1, bars: [{ kind: 'io', size: 32 }, { kind: 'mem32', size: 0x1000 }, null, null, { kind: 'mem64', size: 0x4000, prefetchable: true }] },
  },
  { kind: 'endpoint', bdf: '0000:00:1f.2', spec: { vendorId: 0x8086, deviceId: 0x2922, classCode: 0x010601, bars: [null, null, null, null, { kind: 'io', size: 32 }, { kind: 'mem32', size: 0x1000 }] } },
];

/** The BARs a spec declares, as [index, spec]. */
export function specBars(spec: EndpointSpec): [number, BarSpec][] {
  return (spec.bars ?? []).flatMap((b, i) => (b ? [[i, b] as [number, BarSpec]] : []));
}

interface Range {
  base: number;
  end: number;
  what: string;
}

function noOverlaps(ranges: Range[], space: string): void {
  const sorted = [...ranges].sort((a, b) => a.base - b.base);
  for (let i = 1; i < sorted.length; i++) {
    expect(sorted[i].base >= sorted[i - 1].end, `${space}: ${sorted[i - 1].what} overlaps ${sorted[i].what}`).toBe(true);
  }
}

function inside(r: Range, w: { base: number; limit: number } | null, what: string): void {
  expect(w, `${r.what}: ${what} window is closed`).not.toBeNull();
  expect(r.base >= w!.base && r.end - 1 <= w!.limit, `${r.what} [${r.base.toString(16)}, ${r.end.toString(16)}) inside ${what} ${w!.base.toString(16)}-${w!.limit.toString(16)}`).toBe(true);
}

/**
 * What any enumeration must give: every function of the hardware found once, at the routing the
 * bridges now do; addresses aligned, from the pools, without overlaps; every resource inside the
 * windows of all bridges above it; bus numbers nested depth first.
 */
export function checkInvariants(hw: Hardware, result: EnumerationResult): void {
  expect(result.problems).toEqual([]);
  const byBus = new Map<number, EnumeratedFunction>(); // secondary bus -> bridge
  for (const f of result.functions) if (f.bridge) byBus.set(f.bridge.secondaryBus, f);

  // every function found, and a config cycle at its new address reaches exactly it
  expect(result.functions.length).toBe(hw.functions().length);
  const seen = new Set<unknown>();
  for (const f of result.functions) {
    const target = hw.cycleTarget(f.bus, f.device, f.function);
    expect(target, `${f.bdf} reaches a function`).toBeDefined();
    expect(seen.has(target), `${f.bdf} found twice`).toBe(false);
    seen.add(target);
    expect([target!.vendorId, target!.deviceId]).toEqual([f.vendorId, f.deviceId]);
  }

  // bus numbers: depth first, nested, matching the registers
  for (const f of result.functions) {
    if (!f.bridge) continue;
    const b = f.bridge;
    expect(b.primaryBus).toBe(f.bus);
    expect(b.secondaryBus).toBeGreaterThan(f.bus);
    expect(b.subordinateBus).toBeGreaterThanOrEqual(b.secondaryBus);
    const regs = hw.configRead(hw.cycleTarget(f.bus, f.device, f.function)!.bdf, 0x18, 4);
    expect(regs & 0xffffff).toBe(b.primaryBus | (b.secondaryBus << 8) | (b.subordinateBus << 16));
    const below = result.functions.filter((g) => g.bus >= b.secondaryBus && g.bus <= b.subordinateBus);
    for (const g of below) {
      // the chain of bridges from g up must pass through f
      let up = byBus.get(g.bus);
      while (up && up !== f) up = byBus.get(up.bus);
      expect(up, `${g.bdf} is behind ${f.bdf}`).toBe(f);
    }
  }
  expect(result.lastBus).toBe(Math.max(0, ...result.functions.map((f) => f.bridge?.subordinateBus ?? f.bus)));

  // resources
  const spaces: Record<'io' | 'mem' | 'pref', Range[]> = { io: [], mem: [], pref: [] };
  const pref64Path = (f: EnumeratedFunction): boolean => {
    for (let up = byBus.get(f.bus); up; up = byBus.get(up.bus)) if (!up.bridge!.prefetchable64) return false;
    return true;
  };
  const place = (f: EnumeratedFunction, r: Range, space: 'io' | 'mem' | 'pref') => {
    spaces[space].push(r);
    const pool = space === 'io' ? result.pools.io : space === 'mem' ? result.pools.mem32 : result.pools.mem64;
    inside(r, pool, `${space} pool`);
    for (let up = byBus.get(f.bus); up; up = byBus.get(up.bus)) {
      const br = up.bridge!;
      inside(r, space === 'io' ? br.io : space === 'mem' ? br.memory : br.prefetchable, `${up.bdf} ${space}`);
    }
  };
  for (const f of result.functions) {
    for (const bar of f.bars) {
      expect(bar.address, `${f.bdf} BAR ${bar.index} assigned`).not.toBeNull();
      expect(bar.address! % bar.size, `${f.bdf} BAR ${bar.index} aligned`).toBe(0);
      const space = bar.kind === 'io' ? 'io' : bar.kind === 'mem64' && bar.prefetchable && pref64Path(f) ? 'pref' : 'mem';
      place(f, { base: bar.address!, end: bar.address! + bar.size, what: `${f.bdf} BAR ${bar.index}` }, space);
    }
    if (f.rom) {
      expect(f.rom.address! % f.rom.size).toBe(0);
      place(f, { base: f.rom.address!, end: f.rom.address! + f.rom.size, what: `${f.bdf} ROM` }, 'mem');
    }
    if (f.bridge) {
      const br = f.bridge;
      for (const [w, space, gran] of [[br.io, 'io', 0x1000], [br.memory, 'mem', 0x100000], [br.prefetchable, 'pref', 0x100000]] as const) {
        if (!w) continue;
        expect(w.base % gran, `${f.bdf} ${space} window base aligned`).toBe(0);
        expect((w.limit + 1) % gran, `${f.bdf} ${space} window limit aligned`).toBe(0);
        // windows nest inside the windows of the bridges above (siblings are checked below)
        const r = { base: w.base, end: w.limit + 1, what: `${f.bdf} ${space} window` };
        const pool = space === 'io' ? result.pools.io : space === 'mem' ? result.pools.mem32 : result.pools.mem64;
        inside(r, pool, `${space} pool`);
        for (let up = byBus.get(f.bus); up; up = byBus.get(up.bus)) {
          const ub = up.bridge!;
          inside(r, space === 'io' ? ub.io : space === 'mem' ? ub.memory : ub.prefetchable, `${up.bdf} ${space}`);
        }
      }
    }
  }
  for (const [space, ranges] of Object.entries(spaces)) noOverlaps(ranges, space);
  // sibling bridges' windows never overlap
  for (const space of ['io', 'memory', 'prefetchable'] as const) {
    const bySegment = new Map<number, Range[]>();
    for (const f of result.functions) {
      const w = f.bridge?.[space];
      if (!w) continue;
      const list = bySegment.get(f.bus) ?? [];
      list.push({ base: w.base, end: w.limit + 1, what: `${f.bdf} ${space} window` });
      bySegment.set(f.bus, list);
    }
    for (const list of bySegment.values()) noOverlaps(list, space);
  }
}

/** A result without the fields that name the access mechanism. */
export function comparable(result: EnumerationResult, dropExtended = false): unknown {
  return {
    ...result,
    mechanism: undefined,
    functions: result.functions.map((f) => (dropExtended ? { ...f, extendedCapabilities: [] } : f)),
  };
}
