// Property tests (fast-check):
//  1. read-only bits never change, and RW1C bits are never set, under any sequence of config writes
//     (masks from the golden spec tables of test/fixtures/configSpace.ts, not from the emulator);
//  2. no access escapes its slot: config writes (direct, CF8/CFC, ECAM), MMIO, port I/O and
//     interrupts aimed at one function never change another function's config space or slot.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { cf8Address, ecamOffset } from '../../src/index.js';
import type { EndpointSpec, Hardware, PciFunction } from '../../src/index.js';
import { L } from '../../src/core/wasm.js';
import { pcieEndpointBlocks, pcieEndpointSpec } from '../fixtures/configSpace.js';
import { blockBytes, configSnapshot, freshEndpoint, newHardware, programBar } from './helpers.js';

/** A naturally aligned config write: size, offset, value. */
const configWrite = (maxOffset: number) =>
  fc
    .record({ size: fc.constantFrom(1 as const, 2 as const, 4 as const), at: fc.nat({ max: maxOffset - 1 }), value: fc.oneof(fc.constant(0xffffffff), fc.constant(0), fc.nat({ max: 0xffffffff })) })
    .map(({ size, at, value }) => ({ size, off: Math.min(at - (at % size), maxOffset - size), value }));

/** Config writes, mostly where the header and capabilities are, some anywhere in the 4 KiB. */
const configWriteAnywhere = fc.oneof({ arbitrary: configWrite(0x160), weight: 4 }, { arbitrary: configWrite(4096), weight: 1 });

describe('property: read-only bits never change', () => {
  const BDF = '0000:00:10.0';
  // per-byte masks for the whole 4 KiB: unnamed bytes are reserved (read-only 0)
  const init = new Uint8Array(4096);
  const ro = new Uint8Array(4096).fill(0xff);
  const rw1c = new Uint8Array(4096);
  for (const block of pcieEndpointBlocks) {
    const b = blockBytes(block);
    for (let i = 0; i < block.length; i++) {
      init[block.base + i] = b.init[i];
      rw1c[block.base + i] = b.rw1c[i];
      ro[block.base + i] = ~(b.rw[i] | b.rw1c[i]) & 0xff;
    }
  }

  let hw: Hardware;
  beforeAll(async () => {
    hw = await newHardware();
  });

  it('holds for random write sequences to the PCIe endpoint (header, capabilities, extended space)', () => {
    fc.assert(
      fc.property(fc.array(configWriteAnywhere, { minLength: 1, maxLength: 30, size: 'max' }), (writes) => {
        const f = freshEndpoint(hw, BDF, pcieEndpointSpec);
        for (let i = 0; i < 4096; i++) if (rw1c[i]) f.setRegister(i, 1, init[i] | rw1c[i]);
        let prev = configSnapshot(hw, BDF);
        for (const w of writes) {
          hw.configWrite(BDF, w.off, w.size, w.value);
          const now = configSnapshot(hw, BDF);
          for (let i = 0; i < 4096; i++) {
            if ((now[i] & ro[i]) !== (init[i] & ro[i])) {
              throw new Error(`read-only bits of byte 0x${i.toString(16)} changed: ${now[i].toString(16)} (ro mask ${ro[i].toString(16)}) after ${JSON.stringify(w)}`);
            }
            if (now[i] & rw1c[i] & ~prev[i]) throw new Error(`an RW1C bit of byte 0x${i.toString(16)} was set by software after ${JSON.stringify(w)}`);
          }
          prev = now;
        }
      }),
      { numRuns: 100 },
    );
  });
});

describe('property: no access escapes its slot', () => {
  const ep = (deviceId: number, extra: Partial<EndpointSpec> = {}): EndpointSpec => ({
    vendorId: 0x1de5,
    deviceId,
    classCode: 0x020000,
    interruptPin: 1,
    bars: [{ kind: 'mem32', size: 0x4000 }, { kind: 'io', size: 0x40 }, { kind: 'mem64', size: 0x10000, prefetchable: true }, null],
    capabilities: [{ id: 'pm' }, { id: 'msi', vectors: 8, is64: true, perVectorMask: true }, { id: 'pcie', flr: true }],
    extendedCapabilities: [{ id: 'aer' }],
    ...extra,
  });
  const msixSpec = ep(0x11, {
    capabilities: [
      { id: 'pm', noSoftReset: false },
      { id: 'msix', vectors: 64, tableBar: 0, tableOffset: 0, pbaBar: 0, pbaOffset: 0x2000 },
      { id: 'pcie', flr: true },
    ],
  });
  // [bdf, spec or bridge secondary bus, mem BAR0 base, io BAR1 base, mem64 BAR2 base]
  const layout: [string, EndpointSpec | number, number, number, number][] = [
    ['0000:00:00.0', ep(0x10), 0xfe000000, 0x1000, 0x8_0000_0000],
    ['0000:00:00.1', msixSpec, 0xfe004000, 0x1040, 0x8_0001_0000],
    ['0000:00:03.0', ep(0x30), 0xfe008000, 0x1080, 0x8_0002_0000],
    ['0000:00:1c.0', 1, 0, 0, 0],
    ['0000:01:00.0', msixSpec, 0xc0000000, 0x2000, 0xc0100000],
    ['0000:01:00.1', ep(0x31), 0xc0004000, 0x2040, 0xc0110000],
  ];
  const targets = layout.filter(([, s]) => typeof s !== 'number').map(([bdf]) => bdf);

  let hw: Hardware;
  beforeAll(async () => {
    hw = await newHardware();
  });

  function build(): PciFunction[] {
    const fns: PciFunction[] = [];
    for (const [bdf, s, m, io, m64] of layout) {
      if (typeof s === 'number') {
        fns.push(hw.addBridge(bdf, { secondaryBus: s }));
        hw.configWrite(bdf, 0x1c, 2, 0x2121); // I/O 0x2000-0x2fff
        hw.configWrite(bdf, 0x20, 4, 0xc010c000); // memory 0xc0000000-0xc01fffff
        hw.configWrite(bdf, 0x04, 2, 0x0007);
        continue;
      }
      fns.push(hw.addEndpoint(bdf, s));
      programBar(hw, bdf, 0, m);
      programBar(hw, bdf, 1, io);
      programBar(hw, bdf, 2, m64, true);
      hw.configWrite(bdf, 0x04, 2, 0x0007);
    }
    return fns;
  }
  function teardown(): void {
    for (const [bdf] of [...layout].reverse()) hw.removeFunction(bdf);
  }

  /** Whether an access at addr decodes to `bdf` or to nothing (never to another function). */
  function ownOrNone(space: 'mem' | 'io', addr: number, size: number, bdf: string): boolean {
    for (const r of hw.decodedRanges(space)) {
      if (addr + size > r.base && addr < r.end && r.fn.bdf !== bdf) return false;
    }
    return true;
  }

  const size = fc.constantFrom(1 as const, 2 as const, 4 as const);
  const value = fc.oneof(fc.constant(0xffffffff), fc.constant(0), fc.nat({ max: 0xffffffff }));
  const op = fc.oneof(
    configWriteAnywhere.map((w) => ({ kind: 'config' as const, ...w })),
    configWrite(256).map((w) => ({ kind: 'cf8' as const, ...w })),
    configWriteAnywhere.map((w) => ({ kind: 'ecam' as const, ...w })),
    fc.record({ kind: fc.constant('bar' as const), bar: fc.constantFrom(0, 1, 2), offset: fc.nat({ max: 0xffff }), size, value, write: fc.boolean() }),
    fc.record({ kind: fc.constant('mmio' as const), addr: fc.nat({ max: 0xffffffff }), size, value, write: fc.boolean() }),
    fc.record({ kind: fc.constant('io' as const), port: fc.nat({ max: 0xffff }), size, value, write: fc.boolean() }),
    fc.record({ kind: fc.constant('irq' as const), vector: fc.nat({ max: 70 }), level: fc.boolean() }),
  );

  type Op = typeof op extends fc.Arbitrary<infer T> ? T : never;
  function run(f: PciFunction, o: Op): void {
    const bdf = f.bdf;
    const bus = Number.parseInt(bdf.slice(5, 7), 16);
    switch (o.kind) {
      case 'config':
        hw.configWrite(bdf, o.off, o.size, o.value);
        break;
      case 'cf8':
        hw.ioWrite(0xcf8, 4, cf8Address(bus, f.device, f.fn, o.off));
        hw.ioWrite(0xcfc + (o.off & 3), o.size, o.value);
        break;
      case 'ecam':
        hw.mmioWrite(hw.ecamBase + ecamOffset(bus, f.device, f.fn, o.off), o.size, o.value);
        break;
      case 'bar': {
        const base = f.barBase(o.bar);
        const addr = base + (o.offset % Math.max(f.barSize(o.bar), 1));
        const space = o.bar === 1 ? 'io' : 'mem';
        if (addr + o.size > (space === 'io' ? 2 ** 32 : 2 ** 64) || !ownOrNone(space, addr, o.size, bdf)) break;
        if (space === 'io' && addr >= 0xcf8 - 3 && addr < 0xd00) break;
        if (space === 'mem' && addr + o.size > hw.ecamBase && addr < hw.ecamBase + hw.ecamSize) break;
        if (space === 'io') {
          if (o.write) hw.ioWrite(addr, o.size, o.value);
          else hw.ioRead(addr, o.size);
        } else if (o.write) hw.mmioWrite(addr, o.size, o.value);
        else hw.mmioRead(addr, o.size);
        break;
      }
      case 'mmio':
        if (o.addr + o.size > hw.ecamBase && o.addr < hw.ecamBase + hw.ecamSize) break;
        if (!ownOrNone('mem', o.addr, o.size, bdf)) break;
        if (o.write) hw.mmioWrite(o.addr, o.size, o.value);
        else hw.mmioRead(o.addr, o.size);
        break;
      case 'io':
        if (o.port + o.size > 0xcf8 && o.port < 0xd00) break;
        if (!ownOrNone('io', o.port, o.size, bdf)) break;
        if (o.write) hw.ioWrite(o.port, o.size, o.value);
        else hw.ioRead(o.port, o.size);
        break;
      case 'irq':
        f.signal(o.vector);
        f.setIntx(o.level);
        break;
    }
  }

  const slotBytes = (f: PciFunction) => f.mem.slotBytes(f.slot);

  it('random accesses to one function leave every other function untouched', () => {
    fc.assert(
      fc.property(fc.constantFrom(...targets), fc.array(op, { minLength: 1, maxLength: 60, size: 'max' }), (target, ops) => {
        const fns = build();
        try {
          const f = fns.find((x) => x.bdf === target)!;
          const others = fns.filter((x) => x !== f);
          const cfgBefore = others.map((o) => configSnapshot(hw, o.bdf));
          const slotBefore = others.map(slotBytes);
          for (const o of ops) run(f, o);
          others.forEach((o, i) => {
            expect(Buffer.compare(configSnapshot(hw, o.bdf), cfgBefore[i]), `config of ${o.bdf} changed`).toBe(0);
            expect(Buffer.compare(slotBytes(o), slotBefore[i]), `slot of ${o.bdf} changed`).toBe(0);
          });
        } finally {
          teardown();
        }
      }),
      { numRuns: 100 },
    );
  });
});
