// Numeric config access by routing ID and decode events: what an embedder's CF8/CFC handler and its
// port/MMIO tables are built on.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createEmulator } from '../../src/index.js';
import type { DecodeChange } from '../../src/index.js';

const EP = { vendorId: 0x8086, deviceId: 0x10d3, classCode: 0x020000, bars: [{ kind: 'mem32' as const, size: 0x4000 }, { kind: 'io' as const, size: 0x20 }] };

async function rig() {
  const emu = await createEmulator({ memoryBytes: 1 << 20 });
  const hw = emu.hw;
  hw.addEndpoint('0000:00:03.0', EP);
  const br = hw.addBridge('0000:00:1c.0', { secondaryBus: 1 });
  hw.addEndpoint('0000:01:00.2', EP);
  return { emu, hw, br };
}

describe('config access by routing ID', () => {
  it('reads and writes as the config cycles of mechanism #1 do, routed through bridges by bus number', async () => {
    const { hw } = await rig();
    expect(hw.configReadRid(0x0018, 0, 4)).toBe(0x10d38086);
    expect(hw.configReadRid(0x0018, 0, 4)).toBe(hw.configRead('0000:00:03.0', 0, 4));
    expect(hw.isPresent(0x0018)).toBe(true);
    expect(hw.isPresent(0x0019)).toBe(false);
    // bus 1 is unreachable until the bridge's bus numbers route it
    expect(hw.isPresent(0x0102)).toBe(true); // the bridge was built with secondary bus 1
    expect(hw.configReadRid(0x0102, 0, 2)).toBe(0x8086);
    hw.configWriteRid(0x00e0, 0x19, 1, 0); // bridge secondary bus := 0: bus 1 no longer routed
    expect(hw.isPresent(0x0102)).toBe(false);
    expect(hw.configReadRid(0x0102, 0, 4)).toBe(0xffffffff);
    hw.configWriteRid(0x00e0, 0x19, 1, 1);
    hw.configWriteRid(0x0102, 0x10, 4, 0xfebf0000);
    expect(hw.configRead('0000:01:00.2', 0x10, 4)).toBe(0xfebf0000);
    // a straddling access goes byte by byte, as on the bus
    expect(hw.configReadRid(0x0018, 1, 2)).toBe(0xd380);
  });

  it('absent functions read all-ones and drop writes; a bad routing ID, offset or size is a RangeError', async () => {
    const { hw } = await rig();
    expect(hw.configReadRid(0x0500, 0, 4)).toBe(0xffffffff);
    expect(hw.configReadRid(0x0500, 0, 1)).toBe(0xff);
    hw.configWriteRid(0x0500, 4, 2, 7);
    fc.assert(
      fc.property(fc.oneof(fc.integer({ min: -5, max: -1 }), fc.integer({ min: 0x10000, max: 2 ** 31 }), fc.double({ noInteger: true })), (rid) => {
        expect(() => hw.configReadRid(rid, 0, 4)).toThrow(RangeError);
        expect(() => hw.configWriteRid(rid, 0, 4, 0)).toThrow(RangeError);
        expect(hw.isPresent(rid)).toBe(false);
      }),
    );
    expect(() => hw.configReadRid(0x18, 4094, 4)).toThrow(RangeError);
    expect(() => hw.configReadRid(0x18, 0, 3 as never)).toThrow(RangeError);
    expect(() => hw.configWriteRid(0x18, 4, 2, Number.NaN)).toThrow(RangeError);
  });
});

describe('decode events', () => {
  it('report each range a function decodes when Command, a BAR or a bridge window changes, and nothing else', async () => {
    const { hw } = await rig();
    const events: DecodeChange[] = [];
    const off = hw.onDecodeChange((c) => events.push(c));
    hw.configWriteRid(0x18, 0x10, 4, 0xfe000000);
    hw.configWriteRid(0x18, 0x14, 4, 0xc000);
    expect(events).toEqual([]); // decode is off: nothing decoded changed
    hw.configWriteRid(0x18, 0x04, 2, 0x3); // I/O + memory
    expect(events).toHaveLength(1);
    const [first] = events;
    expect(first.added.map(({ space, base, end, rid, bar, offset }) => ({ space, base, end, rid, bar, offset }))).toEqual([
      { space: 'mem', base: 0xfe000000, end: 0xfe004000, rid: 0x18, bar: 0, offset: 0 },
      { space: 'io', base: 0xc000, end: 0xc020, rid: 0x18, bar: 1, offset: 0 },
    ]);
    expect(first.removed).toEqual([]);
    expect(first.added[0].fn).toBe(hw.function('0000:00:03.0'));
    // the BAR moves: one removed, one added
    hw.configWriteRid(0x18, 0x10, 4, 0xfd000000);
    expect(events).toHaveLength(2);
    expect(events[1].removed.map((r) => r.base)).toEqual([0xfe000000]);
    expect(events[1].added.map((r) => r.base)).toEqual([0xfd000000]);
    expect(events[1].mem.map((r) => r.base)).toEqual([0xfd000000]);
    // memory decode off: the memory range goes, the I/O range stays
    hw.configWriteRid(0x18, 0x04, 2, 0x1);
    expect(events[2].removed.map((r) => r.space)).toEqual(['mem']);
    expect(events[2].io).toHaveLength(1);
    // behind the bridge: the endpoint decodes only once the bridge forwards its window
    hw.configWriteRid(0x0102, 0x10, 4, 0xfe100000);
    hw.configWriteRid(0x0102, 0x04, 2, 0x2);
    expect(events).toHaveLength(3);
    hw.configWriteRid(0x00e0, 0x20, 4, 0xfe10fe10); // memory window 0xfe100000-0xfe1fffff
    expect(events).toHaveLength(3); // bridge memory decode still off
    hw.configWriteRid(0x00e0, 0x04, 2, 0x2);
    expect(events).toHaveLength(4);
    expect(events[3].added.map((r) => [r.rid, r.base, r.end])).toEqual([[0x0102, 0xfe100000, 0xfe104000]]);
    // removing a function takes its ranges away
    hw.removeFunction('0000:01:00.2');
    expect(events[4].removed.map((r) => r.rid)).toEqual([0x0102]);
    off();
    hw.configWriteRid(0x18, 0x04, 2, 0x3);
    expect(events).toHaveLength(5);
  });
});
