// Guest RAM owned by an embedder: GuestMemory.wrap over an array or a function giving the current
// one. The buffer is replaced (and the old one detached, as a growing wasm memory does) between and
// in the middle of virtio-net frames and DMA engine jobs; traffic keeps flowing because nothing in
// pcisim keeps a view of memory across calls.
import { describe, expect, it } from 'vitest';
import { createEmulator, GuestMemory, InterruptLog } from '../../src/index.js';
import { enableVfs, placeBars } from '../../src/hw/devices/virtio/bringUp.js';
import { DMAE_OP, DMAE_STATUS } from '../../src/hw/devices/dmaEngine/index.js';
import { bringUpNet, transmit } from '../hw/virtio/helpers.js';
import { DmaRig } from './dmaEngineRig.js';

/** Moves `old`'s bytes into a new, larger buffer and detaches the old one (what memory.grow does). */
function grow(old: Uint8Array, extra = 0): Uint8Array {
  const next = new Uint8Array(old.length + extra);
  next.set(old);
  structuredClone(old.buffer, { transfer: [old.buffer] });
  expect(old.byteLength).toBe(0);
  return next;
}

const frame = (n: number) => {
  const f = new Uint8Array(60);
  f.set([0x52, 0x54, 0x00, 0x12, 0x34, 0x57]); // VF1's MAC
  f.set([0x52, 0x54, 0x00, 0x12, 0x34, 0x56], 6);
  f[12] = 0x88;
  f[13] = 0xb5;
  for (let i = 14; i < 60; i++) f[i] = (n * 7 + i) & 0xff;
  return f;
};

describe('GuestMemory.wrap', () => {
  it('reads and writes the embedder array itself; a function source is asked again on every access', () => {
    const a = new Uint8Array(8192);
    const m = GuestMemory.wrap(a);
    m.writeU32(16, 0xdeadbeef);
    expect(a[16]).toBe(0xef);
    expect(m.size).toBe(8192);
    let cur: Uint8Array = new Uint8Array(4096);
    const g = GuestMemory.wrap(() => cur);
    g.writeU16(2, 0x1234);
    cur = grow(cur, 4096);
    expect(g.size).toBe(8192);
    expect(g.readU16(2)).toBe(0x1234);
    g.writeU32(8000, 7);
    expect(new DataView(cur.buffer).getUint32(8000, true)).toBe(7);
  });

  it('rejects what is not a Uint8Array, now or when the function later returns one', () => {
    expect(() => GuestMemory.wrap(new ArrayBuffer(16) as never)).toThrow(TypeError);
    let bad: unknown = new Uint8Array(16);
    const g = GuestMemory.wrap(() => bad as Uint8Array);
    bad = [1, 2, 3];
    expect(() => g.bytes).toThrow(TypeError);
  });

  it('virtio-net frames and DMA engine jobs keep working while the buffer is replaced between and inside them', async () => {
    let ram: Uint8Array = new Uint8Array(8 << 20);
    const memory = GuestMemory.wrap(() => ram);
    const emu = await createEmulator({ memory });
    const hw = emu.hw;
    expect(hw.memory).toBe(memory);
    hw.setInterruptSink(new InterruptLog());
    const pf = hw.addVirtioNet('0000:00:04.0', { totalVfs: 2 });
    placeBars(hw, '0000:00:04.0', { 1: 0xfe000000, 4: 0x8_0000_0000 });
    const [vf1] = enableVfs(hw, pf, 1, { 2: 0xe0000000 });
    const pfNet = bringUpNet(hw, pf.bdf, 0x100000);
    const vfNet = bringUpNet(hw, vf1.bdf, 0x200000);
    const rig = new DmaRig(hw, '0000:00:05.0', 0xfd000000, 0x400000, 0x410000);
    // device work runs after the notification (a scheduler), so the buffer is replaced between the
    // guest's kick and the device's processing of it, as when an embedder's memory grows meanwhile
    const pending: (() => void)[] = [];
    hw.setScheduler((w) => pending.push(w));
    const drain = () => {
      while (pending.length > 0) pending.shift()!();
    };
    let received = 0;
    for (let n = 0; n < 12; n++) {
      ram = grow(ram, n % 3 === 0 ? 4096 : 0);
      transmit(hw, pfNet, frame(n));
      expect(vfNet.rx.takeUsed()).toEqual([]);
      ram = grow(ram);
      drain();
      const used = vfNet.rx.takeUsed();
      expect(used.length).toBe(1);
      const at = vfNet.rxAddr.get(used[0].head)!;
      expect(memory.read(at + 12, 60)).toEqual(frame(n));
      received++;
      vfNet.rxAddr.set(vfNet.rx.add([{ addr: at, len: 2048, write: true }]), at);
      vfNet.driver.kick(0);
      ram = grow(ram);
      drain();
      // a DMA engine job in and out of device memory across another replacement
      const src = 0x500000 + n * 0x1000;
      memory.write(src, Uint8Array.from({ length: 256 }, (_, i) => (i + n) & 0xff));
      rig.submit({ opcode: DMAE_OP.COPY_TO_DEVICE, length: 256, src, dst: 0 });
      ram = grow(ram);
      rig.submit({ opcode: DMAE_OP.COPY_FROM_DEVICE, length: 256, src: 0, dst: src + 0x800 });
      const done = rig.run();
      expect(done.map((c) => c.status)).toEqual([DMAE_STATUS.SUCCESS, DMAE_STATUS.SUCCESS]);
      expect(memory.read(src + 0x800, 256)).toEqual(memory.read(src, 256));
    }
    expect(received).toBe(12);
    expect(pfNet.tx.takeUsed().length).toBeGreaterThan(0);
  });

  it('onWrite hears of every byte a device writes (frames, used rings, DMA engine jobs) and every store, before it changes', async () => {
    const ram = new Uint8Array(8 << 20);
    // shadow: ram as of the last announcement (or the last resync); a device write must come after
    // its own announcement and before the next, so the announced range joins the shadow then
    const shadow = new Uint8Array(ram.length);
    let last: [number, number] | null = null;
    const sync = () => {
      if (last) shadow.set(ram.subarray(last[0], last[1]), last[0]);
    };
    const ranges: [number, number][] = [];
    let unannounced = -1;
    const memory = GuestMemory.wrap(ram, {
      onWrite: (o, n) => {
        expect(n).toBeGreaterThan(0);
        sync();
        for (let i = o; i < o + n; i++) if (ram[i] !== shadow[i] && unannounced < 0) unannounced = i;
        last = [o, o + n];
        ranges.push(last);
      },
    });
    // the test's drivers store through memory.view, as a CPU would (an embedder's CPU knows its own
    // stores): what they wrote is taken into the shadow before the device runs
    const resync = () => {
      shadow.set(ram);
      last = null;
    };
    const unannouncedNow = () => {
      sync();
      for (let a = 0; a < ram.length; a++) if (ram[a] !== shadow[a]) return a;
      return -1;
    };
    const emu = await createEmulator({ memory });
    const hw = emu.hw;
    hw.setInterruptSink(new InterruptLog());
    const pf = hw.addVirtioNet('0000:00:04.0', { totalVfs: 2 });
    placeBars(hw, '0000:00:04.0', { 1: 0xfe000000, 4: 0x8_0000_0000 });
    const [vf1] = enableVfs(hw, pf, 1, { 2: 0xe0000000 });
    const pfNet = bringUpNet(hw, pf.bdf, 0x100000);
    const vfNet = bringUpNet(hw, vf1.bdf, 0x200000);
    const rig = new DmaRig(hw, '0000:00:05.0', 0xfd000000, 0x400000, 0x410000);
    const pending: (() => void)[] = [];
    hw.setScheduler((w) => pending.push(w));
    for (let n = 0; n < 4; n++) {
      transmit(hw, pfNet, frame(n));
      resync();
      ranges.length = 0;
      while (pending.length > 0) pending.shift()!();
      expect(unannounced).toBe(-1);
      expect(unannouncedNow()).toBe(-1);
      // the frame went into a receive buffer, announced; so did both used rings
      const [u] = vfNet.rx.takeUsed();
      const at = vfNet.rxAddr.get(u.head)!;
      expect(ranges.some(([s0, e]) => s0 <= at + 12 && e >= at + 12 + 60)).toBe(true);
      expect(ranges.length).toBeGreaterThanOrEqual(4);
      vfNet.rxAddr.set(vfNet.rx.add([{ addr: at, len: 2048, write: true }]), at);
      vfNet.driver.kick(0);
      while (pending.length > 0) pending.shift()!();
    }
    rig.submit({ opcode: DMAE_OP.COPY_FROM_DEVICE, length: 300, src: 0, dst: 0x600000 + 3 });
    resync();
    ranges.length = 0;
    expect(rig.run().map((c) => c.status)).toEqual([DMAE_STATUS.SUCCESS]);
    expect(unannounced).toBe(-1);
    expect(unannouncedNow()).toBe(-1);
    expect(ranges.some(([s0, e]) => s0 <= 0x600003 && e >= 0x600003 + 300)).toBe(true);
    // stores through the GuestMemory's own methods; an empty one writes and announces nothing
    ranges.length = 0;
    memory.writeU32(0x700000, 0xdeadbeef);
    memory.fill(0x700010, 8, 0x5a);
    memory.write(0x700020, new Uint8Array(0));
    expect(unannounced).toBe(-1);
    expect(unannouncedNow()).toBe(-1);
    expect(ranges).toEqual([
      [0x700000, 0x700004],
      [0x700010, 0x700018],
    ]);
    expect(() => GuestMemory.wrap(ram, { onWrite: 5 as never })).toThrow(/onWrite must be a function/);
  });
});
