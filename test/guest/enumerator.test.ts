import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import type { BarSpec, EndpointSpec } from '../../src/index.js';
import { Bridge, InterruptLog } from '../../src/index.js';
import type { ConfigAccess } from '../../src/guest/configAccess.js';
import { cf8Access, cf8WithEcamAccess, ecamAccess } from '../../src/guest/configAccess.js';
import { walkCapabilities, walkExtendedCapabilities } from '../../src/guest/capabilityWalk.js';
import type { AddressPools } from '../../src/guest/enumerator.js';
import { DEFAULT_POOLS, enumerate, platformPools } from '../../src/guest/enumerator.js';
import type { Node } from './topology.js';
import { build, checkInvariants, comparable, MIXED, specBars } from './topology.js';

const bdfOf = (f: { bdf: string }) => f.bdf;

async function enumerated(nodes: Node[], mechanism: 'cf8' | 'ecam' | 'cf8+ecam' = 'cf8+ecam', pools?: AddressPools) {
  const emu = await build(nodes);
  const hw = emu.hw;
  const access = mechanism === 'cf8' ? cf8Access(hw) : mechanism === 'ecam' ? ecamAccess(hw, hw.ecamBase) : cf8WithEcamAccess(hw, hw.ecamBase);
  const result = enumerate(access, { pools: pools ?? platformPools(hw.ecamBase, hw.ecamSize) });
  return { emu, hw, access, result };
}

describe('config access mechanisms', () => {
  it('mechanism #1 and ECAM read the same registers and write through to the function', async () => {
    const { hw } = await enumerated(MIXED);
    const cf8 = cf8Access(hw);
    const ecam = ecamAccess(hw, hw.ecamBase);
    for (let reg = 0; reg < 256; reg += 4) expect(cf8.read(1, 0, 0, reg, 4)).toBe(ecam.read(1, 0, 0, reg, 4));
    expect(cf8.read(1, 0, 1, 0, 2)).toBe(0x8086);
    expect(cf8.read(1, 0, 0, 0x3d, 1)).toBe(1);
    cf8.write(1, 0, 0, 0x3c, 1, 0x5a);
    expect(hw.configRead('0000:01:00.0', 0x3c, 1)).toBe(0x5a);
    ecam.write(1, 0, 0, 0x0c, 1, 0x10);
    expect(cf8.read(1, 0, 0, 0x0c, 1)).toBe(0x10);
    expect(ecam.read(1, 0, 0, 0x100, 4) & 0xffff).toBe(0x0001); // AER header, beyond mechanism #1
  });

  it('absent functions read all-ones through both mechanisms', async () => {
    const { hw } = await enumerated(MIXED);
    expect(cf8Access(hw).read(0, 7, 0, 0, 4)).toBe(0xffffffff);
    expect(ecamAccess(hw, hw.ecamBase).read(0, 7, 0, 0, 2)).toBe(0xffff);
    expect(cf8Access(hw).read(9, 0, 0, 0, 4)).toBe(0xffffffff); // no bridge routes bus 9
  });

  it('refuses cycles a mechanism cannot form', async () => {
    const { hw } = await enumerated(MIXED);
    const cf8 = cf8Access(hw);
    expect(() => cf8.read(0, 0, 0, 0x100, 4)).toThrow(RangeError);
    expect(() => cf8.read(0, 0, 0, 2, 4)).toThrow(RangeError);
    expect(() => cf8.read(0, 32, 0, 0, 4)).toThrow(RangeError);
    expect(() => ecamAccess(hw, hw.ecamBase).read(0, 0, 8, 0, 4)).toThrow(RangeError);
    expect(() => ecamAccess(hw, hw.ecamBase).write(0, 0, 0, 4095, 2, 0)).toThrow(RangeError);
    expect(cf8WithEcamAccess(hw, hw.ecamBase).read(1, 0, 0, 0xffc, 4)).toBe(0);
  });
});

describe('enumeration of a mixed topology', () => {
  it('finds every function with its identity, header and multi-function bit', async () => {
    const { hw, result } = await enumerated(MIXED);
    expect(result.functions.map(bdfOf)).toEqual([
      // scan order: depth first, each bridge followed by its subtree
      '0000:00:00.0', '0000:00:01.0', '0000:01:00.0', '0000:01:00.1', '0000:01:01.0', '0000:02:00.0', '0000:02:00.3',
      '0000:00:02.0', '0000:03:00.0', '0000:00:03.0', '0000:04:05.0', '0000:00:04.0', '0000:00:1f.0', '0000:00:1f.2',
    ]);
    expect(result.functions.map(bdfOf).sort()).toEqual(hw.functions().map((f) => f.bdf).sort());
    const get = (bdf: string) => result.functions.find((f) => f.bdf === bdf)!;
    expect(get('0000:01:00.0')).toMatchObject({ vendorId: 0x8086, deviceId: 0x1521, classCode: 0x020000, revision: 1, headerType: 0, multiFunction: true, pcie: true, interruptPin: 1 });
    expect(get('0000:02:00.3')).toMatchObject({ vendorId: 0x10de, deviceId: 0x1aef, multiFunction: true, pcie: false, interruptPin: 4 });
    expect(get('0000:00:1f.2').multiFunction).toBe(true);
    expect(get('0000:03:00.0').multiFunction).toBe(false);
    expect(get('0000:00:01.0')).toMatchObject({ headerType: 1, classCode: 0x060400, vendorId: 0x1b36, deviceId: 0x000c, pcie: true });
    expect(get('0000:00:03.0')).toMatchObject({ headerType: 1, pcie: false });
    expect(result.lastBus).toBe(5);
  });

  it('sizes every BAR and ROM as the specs declare', async () => {
    const { result } = await enumerated(MIXED);
    for (const node of MIXED) {
      if (node.kind !== 'endpoint') continue;
      const f = result.functions.find((x) => x.bdf === node.bdf)!;
      const want = specBars(node.spec).map(([i, b]) => ({
        index: i,
        kind: b.kind,
        size: b.size,
        prefetchable: !!b.prefetchable,
        is64: b.kind === 'mem64',
      }));
      expect(f.bars.map(({ address: _, ...rest }) => rest), node.bdf).toEqual(want);
      expect(f.rom?.size ?? null, `${node.bdf} ROM`).toBe(node.spec.romSize ?? null);
      if (f.rom) expect(f.rom.enabled).toBe(false);
    }
  });

  it('places 64-bit prefetchable BARs above 4 GiB and everything else below', async () => {
    const { result } = await enumerated(MIXED);
    for (const f of result.functions) {
      for (const b of f.bars) {
        if (b.kind === 'mem64' && b.prefetchable) expect(b.address!).toBeGreaterThanOrEqual(DEFAULT_POOLS.mem64.base);
        else if (b.kind === 'io') expect(b.address!).toBeLessThanOrEqual(0xffff);
        else expect(b.address!).toBeLessThan(2 ** 32);
      }
    }
    const gpuBridge = result.functions.find((f) => f.bdf === '0000:01:01.0')!.bridge!;
    expect(gpuBridge.prefetchable).toEqual({ base: 0x8_0000_0000, limit: 0x8_0000_0000 + 0x10100000 - 1, size: 0x10100000 });
  });

  it('assigns aligned, non-overlapping resources inside every window above them, with nested bus numbers', async () => {
    const { hw, result } = await enumerated(MIXED);
    checkInvariants(hw, result);
    const b = (bdf: string) => result.functions.find((f) => f.bdf === bdf)!.bridge!;
    expect([b('0000:00:01.0').secondaryBus, b('0000:00:01.0').subordinateBus]).toEqual([1, 2]);
    expect([b('0000:01:01.0').primaryBus, b('0000:01:01.0').secondaryBus, b('0000:01:01.0').subordinateBus]).toEqual([1, 2, 2]);
    expect([b('0000:00:02.0').secondaryBus, b('0000:00:02.0').subordinateBus]).toEqual([3, 3]);
    // an empty bridge gets a bus but no windows
    expect(b('0000:00:04.0')).toMatchObject({ secondaryBus: 5, subordinateBus: 5, io: null, memory: null, prefetchable: null });
    // a bridge with only memory behind it has its I/O window closed, in hardware too
    expect(b('0000:00:02.0').io).toBeNull();
    expect((hw.function('0000:00:02.0') as Bridge).ioWindow()).toBeNull();
    expect((hw.function('0000:00:01.0') as Bridge).ioWindow()).toEqual({ base: b('0000:00:01.0').io!.base, end: b('0000:00:01.0').io!.limit + 1 });
  });

  it('turns on decode and bus mastering as each function needs', async () => {
    const { hw, result } = await enumerated(MIXED);
    const cmd = (bdf: string) => hw.configRead(bdf, 4, 2) & 7;
    for (const f of result.functions) expect(cmd(f.bdf), f.bdf).toBe(f.command & 7);
    expect(cmd('0000:00:01.0')).toBe(7);
    expect(cmd('0000:01:00.0')).toBe(7); // I/O, memory, bus master
    expect(cmd('0000:03:00.0')).toBe(6); // memory only
    expect(cmd('0000:00:00.0')).toBe(4); // no BARs: bus master only
  });

  it('routes INTx lines the way the bridges swizzle the pins', async () => {
    const { hw, result } = await enumerated(MIXED);
    const pirqs = [10, 10, 11, 11];
    for (const f of result.functions) {
      const fn = hw.cycleTarget(f.bus, f.device, f.function)!;
      if (f.interruptPin === 0) {
        expect(f.interruptLine).toBe(0xff);
        continue;
      }
      const [dev, pin] = fn.intxRoute();
      expect(f.interruptLine, f.bdf).toBe(pirqs[(dev + pin - 1) & 3]);
      expect(hw.configRead(fn.bdf, 0x3c, 1)).toBe(f.interruptLine);
    }
  });

  it('walks the standard and extended capability lists', async () => {
    const { result } = await enumerated(MIXED);
    const nic = result.functions.find((f) => f.bdf === '0000:01:00.0')!;
    expect(nic.capabilities).toEqual([
      { id: 0x01, offset: 0x40 },
      { id: 0x05, offset: 0x48 },
      { id: 0x11, offset: 0x60 },
      { id: 0x10, offset: 0x6c },
    ]);
    expect(nic.extendedCapabilities).toEqual([
      { id: 0x0001, version: 2, offset: 0x100 },
      { id: 0x0003, version: 1, offset: 0x148 },
    ]);
    const nvme = result.functions.find((f) => f.bdf === '0000:03:00.0')!;
    expect(nvme.extendedCapabilities).toEqual([{ id: 0x0003, version: 1, offset: 0x100 }]);
    const rtl = result.functions.find((f) => f.bdf === '0000:04:05.0')!;
    expect(rtl.capabilities).toEqual([{ id: 0x01, offset: 0x40 }]);
    expect(rtl.extendedCapabilities).toEqual([]); // conventional PCI: no extended space
  });

  it('is JSON-serialisable and round-trips', async () => {
    const { result } = await enumerated(MIXED);
    expect(JSON.parse(JSON.stringify(result))).toEqual(result);
  });
});

describe('mechanisms agree', () => {
  it('mechanism #1 (+ECAM for extended space) and ECAM give the same result', async () => {
    const a = await enumerated(MIXED, 'cf8+ecam');
    const b = await enumerated(MIXED, 'ecam');
    expect(a.result.mechanism).toBe('cf8+ecam');
    expect(b.result.mechanism).toBe('ecam');
    expect(comparable(a.result)).toEqual(comparable(b.result));
  });

  it('mechanism #1 alone gives the same result except the extended capabilities it cannot reach', async () => {
    const a = await enumerated(MIXED, 'cf8');
    const b = await enumerated(MIXED, 'ecam');
    expect(a.result.functions.every((f) => f.extendedCapabilities.length === 0)).toBe(true);
    expect(comparable(a.result)).toEqual(comparable(b.result, true));
    checkInvariants(a.hw, a.result);
  });

  it('enumerates through config cycles only, never the direct config API', async () => {
    const emu = await build(MIXED);
    const hw = emu.hw;
    const read = vi.spyOn(hw, 'configRead');
    const write = vi.spyOn(hw, 'configWrite');
    const io = vi.spyOn(hw, 'ioWrite');
    enumerate(cf8Access(hw), { pools: platformPools(hw.ecamBase) });
    expect(read).not.toHaveBeenCalled();
    expect(write).not.toHaveBeenCalled();
    expect(io.mock.calls.every(([port]) => port === 0xcf8 || (port >= 0xcfc && port < 0xd00))).toBe(true);
    expect(io).toHaveBeenCalled();
  });

  it('enumerating again gives the same result', async () => {
    const { access, result, hw } = await enumerated(MIXED);
    const again = enumerate(access, { pools: platformPools(hw.ecamBase) });
    expect(again).toEqual(result);
    checkInvariants(hw, again);
  });
});

describe('large and odd BARs', () => {
  it('sizes and places a 16 GiB 64-bit prefetchable BAR and a 2 GiB 32-bit BAR', async () => {
    const nodes: Node[] = [
      { kind: 'bridge', bdf: '0000:00:01.0', spec: { secondaryBus: 1 } },
      {
        kind: 'endpoint',
        bdf: '0000:01:00.0',
        spec: { vendorId: 0x10de, deviceId: 0x20b0, classCode: 0x030200, bars: [{ kind: 'mem32', size: 0x1000 }, { kind: 'mem64', size: 2 ** 34, prefetchable: true }] },
      },
      { kind: 'endpoint', bdf: '0000:00:02.0', spec: { vendorId: 0x1af4, deviceId: 0x1110, classCode: 0x050000, bars: [{ kind: 'mem32', size: 2 ** 29 }] } },
    ];
    const { hw, result } = await enumerated(nodes);
    checkInvariants(hw, result);
    const gpu = result.functions.find((f) => f.bdf === '0000:01:00.0')!;
    expect(gpu.bars[1]).toMatchObject({ index: 1, kind: 'mem64', size: 2 ** 34, is64: true, prefetchable: true });
    expect(gpu.bars[1].address! % 2 ** 34).toBe(0);
    const addr = gpu.bars[1].address! + 2 ** 34 - 4;
    hw.mmioWrite(addr, 4, 0xabcd1234);
    expect(hw.mmioRead(addr, 4)).toBe(0xabcd1234);
    expect(hw.configRead('0000:01:00.0', 0x18, 4)).toBe(gpu.bars[1].address! / 2 ** 32);
    const big = result.functions.find((f) => f.bdf === '0000:00:02.0')!;
    expect(big.bars[0]).toMatchObject({ size: 2 ** 29, address: 0xc0000000 });
  });
});

describe('bus numbering', () => {
  it('renumbers bridges strapped out of depth-first order, and config cycles follow', async () => {
    const nodes: Node[] = [
      { kind: 'bridge', bdf: '0000:00:01.0', spec: { secondaryBus: 5 } },
      { kind: 'bridge', bdf: '0000:05:00.0', spec: { secondaryBus: 7, portType: 'downstream' } },
      { kind: 'endpoint', bdf: '0000:07:00.0', spec: { vendorId: 0x1af4, deviceId: 0x1041, classCode: 0x020000, bars: [{ kind: 'mem32', size: 0x1000 }] } },
      { kind: 'bridge', bdf: '0000:00:02.0', spec: { secondaryBus: 2 } },
      { kind: 'endpoint', bdf: '0000:02:00.0', spec: { vendorId: 0x1af4, deviceId: 0x1042, classCode: 0x010000, bars: [{ kind: 'io', size: 64 }] } },
    ];
    const { hw, result } = await enumerated(nodes);
    expect(result.functions.map((f) => [f.bdf, f.vendorId, f.deviceId])).toEqual([
      ['0000:00:01.0', 0x1b36, 0x000c],
      ['0000:01:00.0', 0x1b36, 0x000c],
      ['0000:02:00.0', 0x1af4, 0x1041],
      ['0000:00:02.0', 0x1b36, 0x000c],
      ['0000:03:00.0', 0x1af4, 0x1042],
    ]);
    // the same hardware function object answers at its new bus number
    expect(hw.cycleTarget(2, 0, 0)).toBe(hw.function('0000:07:00.0'));
    expect(hw.cycleTarget(3, 0, 0)).toBe(hw.function('0000:02:00.0'));
    checkInvariants(hw, result);
  });
});

describe('after enumeration, the assigned resources are live', () => {
  it('every BAR decodes at its address to its own function', async () => {
    const { hw, result } = await enumerated(MIXED);
    for (const f of result.functions) {
      const fn = hw.cycleTarget(f.bus, f.device, f.function)!;
      const resources = f.bars.map((b) => ({ index: b.index, io: b.kind === 'io', base: b.address!, size: b.size }));
      for (const r of resources) {
        for (const addr of [r.base, r.base + r.size - 1]) {
          const d = hw.decodedRanges(r.io ? 'io' : 'mem').find((x) => x.base <= addr && addr < x.end);
          expect(d?.fn, `${f.bdf} BAR ${r.index} @ ${addr.toString(16)}`).toBe(fn);
          expect(d?.bar).toBe(r.index);
          expect(d!.barOffset + (addr - d!.base)).toBe(addr - r.base);
        }
      }
    }
  });

  it('MMIO and port I/O at the assigned addresses reach the devices, and only them', async () => {
    const { hw, result } = await enumerated(MIXED);
    let tag = 0x1000;
    const written: { what: string; io: boolean; addr: number; value: number }[] = [];
    for (const f of result.functions) {
      for (const b of f.bars) {
        // the last word of each BAR: clear of the MSI-X tables and PBAs at the start of theirs
        const io = b.kind === 'io';
        const addr = b.address! + b.size - (io ? 2 : 4);
        const value = io ? tag & 0xffff : (tag * 0x10001) >>> 0;
        if (io) hw.ioWrite(addr, 2, value);
        else hw.mmioWrite(addr, 4, value);
        written.push({ what: `${f.bdf} BAR ${b.index}`, io, addr, value });
        tag++;
      }
    }
    expect(written.length).toBe(result.functions.reduce((n, f) => n + f.bars.length, 0));
    expect(written.length).toBeGreaterThan(15);
    for (const w of written) expect(w.io ? hw.ioRead(w.addr, 2) : hw.mmioRead(w.addr, 4), w.what).toBe(w.value);
    // nothing decodes outside the assigned ranges
    expect(hw.mmioRead(DEFAULT_POOLS.mem32.limit - 3, 4)).toBe(0xffffffff);
    expect(hw.ioRead(0xfffe, 2)).toBe(0xffff);
  });

  it('before enumeration nothing decodes; the ROM decodes once enabled', async () => {
    const emu = await build(MIXED);
    const hw = emu.hw;
    const access = ecamAccess(hw, hw.ecamBase);
    const pools = platformPools(hw.ecamBase);
    expect(hw.decodedRanges('mem')).toEqual([]);
    expect(hw.decodedRanges('io')).toEqual([]);
    const result = enumerate(access, { pools });
    const nic = result.functions.find((f) => f.bdf === '0000:01:00.0')!;
    const rom = nic.rom!.address!;
    expect(hw.mmioRead(rom, 2)).toBe(0xffff); // ROM decode left off
    access.write(1, 0, 0, 0x30, 4, rom | 1);
    expect(hw.mmioRead(rom, 2)).toBe(0xaa55);
    expect(hw.mmioRead(rom + 0x1c, 4)).toBe(0x52494350); // "PCIR"
  });

  it('an MSI-X vector programmed through the table BAR is delivered', async () => {
    const { hw, access, result } = await enumerated(MIXED);
    const log = new InterruptLog();
    hw.setInterruptSink(log);
    const f = result.functions.find((x) => x.bdf === '0000:03:00.0')!;
    const cap = f.capabilities.find((c) => c.id === 0x11)!.offset;
    const table = access.read(3, 0, 0, cap + 4, 4);
    const entry = f.bars.find((b) => b.index === (table & 7))!.address! + (table & ~7) + 5 * 16;
    hw.mmioWrite(entry, 4, 0xfee01000);
    hw.mmioWrite(entry + 4, 4, 0);
    hw.mmioWrite(entry + 8, 4, 0x4055);
    hw.mmioWrite(entry + 12, 4, 0);
    access.write(3, 0, 0, cap + 2, 2, access.read(3, 0, 0, cap + 2, 2) | 0x8000);
    hw.function('0000:03:00.0')!.signal(5);
    expect(log.messages).toEqual([{ addressLo: 0xfee01000, addressHi: 0, data: 0x4055, source: '0000:03:00.0' }]);
  });
});

describe('pools', () => {
  it('platformPools keeps the ECAM window out of the 32-bit pool', () => {
    expect(platformPools(0xb0000000).mem32).toEqual(DEFAULT_POOLS.mem32);
    const p = platformPools(0xe0000000);
    expect(p.mem32).toEqual({ base: 0xc0000000, limit: 0xdfffffff });
    expect(platformPools(0xc0000000).mem32).toEqual({ base: 0xd0000000, limit: 0xfebfffff });
  });

  it('reports what does not fit, and leaves that decode off', async () => {
    const emu = await build(MIXED);
    const hw = emu.hw;
    // room for one bridge's 4 KiB I/O window only
    const result = enumerate(ecamAccess(hw, hw.ecamBase), { pools: { ...platformPools(hw.ecamBase), io: { base: 0xc000, limit: 0xcfff } } });
    expect(result.problems.length).toBeGreaterThan(0);
    expect(result.problems.join('\n')).toMatch(/no room/);
    const unassigned = result.functions.filter((f) => f.bars.some((b) => b.kind === 'io' && b.address === null));
    expect(unassigned.length).toBeGreaterThan(0);
    for (const f of unassigned) expect(hw.configRead(hw.cycleTarget(f.bus, f.device, f.function)!.bdf, 4, 2) & 1, f.bdf).toBe(0);
    // what was assigned is still consistent
    const assigned = result.functions.filter((f) => f.bars.every((b) => b.address !== null));
    expect(assigned.length).toBeGreaterThan(0);
  });

  it('uses the pools it is given', async () => {
    const emu = await build(MIXED);
    const hw = emu.hw;
    const pools = { io: { base: 0x2000, limit: 0x7fff }, mem32: { base: 0x80000000, limit: 0x9fffffff }, mem64: { base: 2 ** 40, limit: 2 ** 41 - 1 } };
    const result = enumerate(ecamAccess(hw, hw.ecamBase), { pools });
    expect(result.pools).toEqual(pools);
    checkInvariants(hw, result);
  });
});

describe('capability walking is robust', () => {
  /** A fake function 00:00.0 with a caller-made config space. */
  function fake(bytes: Uint8Array): ConfigAccess {
    const dv = new DataView(bytes.buffer);
    return {
      mechanism: 'fake',
      configSpaceSize: bytes.length,
      read: (bus, dev, fn, reg, size) => {
        if (bus || dev || fn) return size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff;
        return size === 4 ? dv.getUint32(reg, true) : size === 2 ? dv.getUint16(reg, true) : dv.getUint8(reg);
      },
      write: () => {},
    };
  }

  it('stops at a loop in the standard list', () => {
    const cfg = new Uint8Array(256);
    cfg[0x06] = 0x10; // Capabilities List
    cfg[0x34] = 0x40;
    cfg.set([0x01, 0x50], 0x40);
    cfg.set([0x05, 0x40], 0x50); // points back
    expect(walkCapabilities(fake(cfg), 0, 0, 0)).toEqual([{ id: 1, offset: 0x40 }, { id: 5, offset: 0x50 }]);
  });

  it('ignores the pointer without the Capabilities List bit, and the low pointer bits', () => {
    const cfg = new Uint8Array(256);
    cfg[0x34] = 0x40;
    cfg.set([0x01, 0x00], 0x40);
    expect(walkCapabilities(fake(cfg), 0, 0, 0)).toEqual([]);
    cfg[0x06] = 0x10;
    cfg[0x34] = 0x43;
    expect(walkCapabilities(fake(cfg), 0, 0, 0)).toEqual([{ id: 1, offset: 0x40 }]);
  });

  it('stops at a loop in the extended list and at an empty header', () => {
    const cfg = new Uint8Array(4096);
    const dv = new DataView(cfg.buffer);
    dv.setUint32(0x100, 0x0001 | (1 << 16) | (0x200 << 20), true);
    dv.setUint32(0x200, 0x0003 | (1 << 16) | (0x100 << 20), true);
    expect(walkExtendedCapabilities(fake(cfg), 0, 0, 0)).toEqual([
      { id: 1, version: 1, offset: 0x100 },
      { id: 3, version: 1, offset: 0x200 },
    ]);
    dv.setUint32(0x100, 0, true);
    expect(walkExtendedCapabilities(fake(cfg), 0, 0, 0)).toEqual([]);
    expect(walkExtendedCapabilities(fake(new Uint8Array(256)), 0, 0, 0)).toEqual([]);
  });
});

describe('random topologies', () => {
  const barArb: fc.Arbitrary<BarSpec> = fc.oneof(
    fc.record({ kind: fc.constant('io' as const), size: fc.constantFrom(4, 16, 32, 256) }),
    fc.record({ kind: fc.constant('mem32' as const), size: fc.constantFrom(16, 0x1000, 0x4000, 0x100000), prefetchable: fc.boolean() }),
    fc.record({ kind: fc.constant('mem64' as const), size: fc.constantFrom(0x4000, 0x200000), prefetchable: fc.constant(false) }),
    fc.record({ kind: fc.constant('mem64' as const), size: fc.constantFrom(0x4000, 2 ** 24, 2 ** 30), prefetchable: fc.constant(true) }),
  );
  const endpointArb = fc.record({
    bars: fc.array(barArb, { maxLength: 3 }),
    rom: fc.option(fc.constantFrom(0x800, 0x10000), { nil: undefined }),
    functions: fc.integer({ min: 1, max: 3 }),
  });
  type Tree = { endpoints: { bars: BarSpec[]; rom?: number; functions: number }[]; bridges: Tree[] };
  // depth 2: at most 6 bridges, so their 4 KiB I/O windows fit the pool below
  const treeArb = (depth: number): fc.Arbitrary<Tree> =>
    fc.record({
      endpoints: fc.array(endpointArb, { maxLength: 3 }),
      bridges: depth === 0 ? fc.constant([]) : fc.array(treeArb(depth - 1), { maxLength: 2 }),
    });
  const pools = { ...DEFAULT_POOLS, io: { base: 0x1000, limit: 0xffff } };

  /** Lays a tree out as hardware: bridges first at each level, buses numbered depth first. */
  function layout(tree: Tree): Node[] {
    const nodes: Node[] = [];
    let nextBus = 0;
    const place = (t: Tree, bus: number) => {
      let dev = 0;
      const hx = (n: number) => n.toString(16).padStart(2, '0');
      const children: [Tree, string][] = [];
      for (const b of t.bridges) {
        if (dev > 31) break;
        const bdf = `0000:${hx(bus)}:${hx(dev++)}.0`;
        children.push([b, bdf]);
      }
      for (const e of t.endpoints) {
        if (dev > 31) break;
        const d = dev++;
        for (let fn = 0; fn < e.functions; fn++) {
          const bars: (BarSpec | null)[] = [];
          for (const b of e.bars) {
            if (bars.length + (b.kind === 'mem64' ? 2 : 1) > 6) break;
            bars.push(b);
            if (b.kind === 'mem64') bars.push(null);
          }
          const spec: EndpointSpec = { vendorId: 0x1af4, deviceId: 0x1000 + d, classCode: 0xff0000, bars, romSize: e.rom, interruptPin: 1 };
          nodes.push({ kind: 'endpoint', bdf: `0000:${hx(bus)}:${hx(d)}.${fn}`, spec });
        }
      }
      for (const [child, bdf] of children) {
        const sec = ++nextBus;
        nodes.push({ kind: 'bridge', bdf, spec: { secondaryBus: sec } });
        place(child, sec);
      }
    };
    place(tree, 0);
    // bridges must exist before their buses are used: order by bus number of the address
    const bridges = nodes.filter((n) => n.kind === 'bridge');
    const endpoints = nodes.filter((n) => n.kind === 'endpoint');
    return [...bridges, ...endpoints];
  }

  it('always yields a consistent, complete assignment through either mechanism', async () => {
    await fc.assert(
      fc.asyncProperty(treeArb(2), async (tree) => {
        const nodes = layout(tree);
        const a = await enumerated(nodes, 'cf8', pools);
        checkInvariants(a.hw, a.result);
        // buses were strapped depth first, so every function keeps its address
        expect(a.result.functions.map(bdfOf).sort()).toEqual(nodes.map(bdfOf).sort());
        for (const f of a.result.functions) {
          const spec = nodes.find((n) => n.kind === 'endpoint' && n.bdf === f.bdf);
          if (spec?.kind === 'endpoint') expect(f.bars.map((b) => b.size)).toEqual(specBars(spec.spec).map(([, b]) => b.size));
        }
        const b = await enumerated(nodes, 'ecam', pools);
        expect(comparable(a.result)).toEqual(comparable(b.result));
      }),
      { numRuns: 40 },
    );
  });
});

