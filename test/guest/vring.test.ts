// The guest's split virtqueue (driver side, legacy layout) against the ring format in guest memory.
import { describe, expect, it } from 'vitest';
import { GuestMemory } from '../../src/hw/guestMemory.js';
import { indirectBytes, Vring, vringBytes } from '../../src/guest/vring.js';

const F_NEXT = 1;
const F_WRITE = 2;
const F_INDIRECT = 4;

function desc(mem: GuestMemory, at: number) {
  const v = mem.view;
  return { addr: v.getUint32(at, true) + v.getUint32(at + 4, true) * 2 ** 32, len: v.getUint32(at + 8, true), flags: v.getUint16(at + 12, true), next: v.getUint16(at + 14, true) };
}

/** The device returns chain `head` with `len` bytes written. */
function deviceUse(mem: GuestMemory, q: Vring<number>, head: number, len: number): void {
  const v = mem.view;
  const idx = v.getUint16(q.usedAddr + 2, true);
  const e = q.usedAddr + 4 + 8 * (idx % q.num);
  v.setUint32(e, head, true);
  v.setUint32(e + 4, len, true);
  v.setUint16(q.usedAddr + 2, (idx + 1) & 0xffff, true);
}

describe('legacy vring layout', () => {
  it('vring_size: descriptors, avail (with used_event) padded to 4096, used (with avail_event)', () => {
    expect(vringBytes(256)).toBe(8192 + 6 + 8 * 256);
    expect(vringBytes(16)).toBe(4096 + 6 + 8 * 16);
    expect(vringBytes(1024)).toBe(20480 + 6 + 8 * 1024); // 16 KiB of descriptors + 2054 of avail, padded to 20 KiB
    const mem = new GuestMemory(1 << 20);
    const q = new Vring<number>(mem, 0, 0x10000, 256);
    expect([q.descAddr, q.availAddr, q.usedAddr, q.pfn]).toEqual([0x10000, 0x11000, 0x12000, 0x10]);
  });

  it('refuses a misaligned base, a size that is not a power of two, and memory it does not have', () => {
    const mem = new GuestMemory(1 << 16);
    expect(() => new Vring(mem, 0, 0x1800, 16)).toThrow(/boundary/);
    expect(() => new Vring(mem, 0, 0x1000, 24)).toThrow(/power of two/);
    expect(() => new Vring(mem, 0, 0xf000, 256)).toThrow(/outside guest memory/);
  });
});

describe('adding and reclaiming buffers', () => {
  it('a direct chain: out pieces then device-writable pieces, linked, published in avail; reclaimed by head', () => {
    const mem = new GuestMemory(1 << 20);
    const q = new Vring<number>(mem, 0, 0x10000, 8);
    expect(q.add([{ addr: 0x20000, len: 10 }], [{ addr: 0x30000, len: 100 }, { addr: 0x40000, len: 200 }], 7)).toBe(true);
    expect(q.numFree).toBe(5);
    expect(desc(mem, q.descAddr)).toEqual({ addr: 0x20000, len: 10, flags: F_NEXT, next: 1 });
    expect(desc(mem, q.descAddr + 16)).toEqual({ addr: 0x30000, len: 100, flags: F_NEXT | F_WRITE, next: 2 });
    expect(desc(mem, q.descAddr + 32)).toMatchObject({ addr: 0x40000, len: 200, flags: F_WRITE });
    expect(mem.view.getUint16(q.availAddr + 2, true)).toBe(1);
    expect(mem.view.getUint16(q.availAddr + 4, true)).toBe(0);
    expect(q.getBuf()).toBeNull();
    deviceUse(mem, q, 0, 300);
    expect(q.getBuf()).toEqual({ token: 7, len: 300 });
    expect(q.numFree).toBe(8);
    // used_event follows the driver (interrupts are on)
    expect(mem.view.getUint16(q.availAddr + 4 + 2 * 8, true)).toBe(1);
    // the freed chain is reused first
    q.add([{ addr: 0x50000, len: 1 }], [], 8);
    expect(mem.view.getUint16(q.availAddr + 6, true)).toBe(0);
  });

  it('indirect: a multi-piece buffer takes one descriptor pointing at its table', () => {
    const mem = new GuestMemory(1 << 20);
    const q = new Vring<number>(mem, 0, 0x10000, 8, { indirect: true, indirectArea: 0x80000, indirectMax: 2 });
    expect(indirectBytes(8, 2)).toBe(256);
    q.add([{ addr: 0x20000, len: 10 }, { addr: 0x20010, len: 60 }], [], 1);
    expect(q.numFree).toBe(7);
    expect(desc(mem, q.descAddr)).toMatchObject({ addr: 0x80000, len: 32, flags: F_INDIRECT });
    expect(desc(mem, 0x80000)).toEqual({ addr: 0x20000, len: 10, flags: F_NEXT, next: 1 });
    expect(desc(mem, 0x80010)).toEqual({ addr: 0x20010, len: 60, flags: 0, next: 0 });
    // one piece, or more than the table holds, goes direct
    q.add([{ addr: 0x21000, len: 5 }], [], 2);
    expect(desc(mem, q.descAddr + 16).flags).toBe(0);
    q.add([{ addr: 1, len: 1 }, { addr: 2, len: 1 }, { addr: 3, len: 1 }], [], 3);
    expect(q.numFree).toBe(3);
    deviceUse(mem, q, 0, 0);
    expect(q.getBuf()).toEqual({ token: 1, len: 0 });
    expect(q.numFree).toBe(4);
  });

  it('a full ring refuses (ENOSPC) until buffers come back', () => {
    const mem = new GuestMemory(1 << 20);
    const q = new Vring<number>(mem, 0, 0x10000, 4);
    for (let i = 0; i < 4; i++) expect(q.add([{ addr: 0x20000 + i, len: 1 }], [], i)).toBe(true);
    expect(q.add([{ addr: 0x20000, len: 1 }], [], 9)).toBe(false);
    expect(q.add([{ addr: 1, len: 1 }, { addr: 2, len: 1 }], [], 9)).toBe(false);
    deviceUse(mem, q, 2, 0);
    expect(q.getBuf()).toEqual({ token: 2, len: 0 });
    expect(q.add([{ addr: 0x20000, len: 1 }], [], 9)).toBe(true);
  });

  it('after a reset the buffers the device never used come back, avail idx rewinding', () => {
    const mem = new GuestMemory(1 << 20);
    const q = new Vring<number>(mem, 0, 0x10000, 8);
    for (let i = 0; i < 3; i++) q.add([], [{ addr: 0x20000 + i * 0x100, len: 0x100 }], 10 + i);
    const got: number[] = [];
    for (let t = q.detachUnusedBuf(); t !== null; t = q.detachUnusedBuf()) got.push(t);
    expect(got.sort()).toEqual([10, 11, 12]);
    expect(q.numFree).toBe(8);
    expect(mem.view.getUint16(q.availAddr + 2, true)).toBe(0);
  });
});

describe('the device misbehaving (BAD_RING)', () => {
  it.each([
    ['an id beyond the ring', 99, /id 99 out of range/],
    ['an id that is not a posted head', 1, /id 1 is not a head/],
  ])('%s breaks the queue: nothing more is taken or added', (_what, id, reason) => {
    const mem = new GuestMemory(1 << 20);
    const q = new Vring<number>(mem, 0, 0x10000, 8);
    q.add([{ addr: 0x20000, len: 1 }, { addr: 0x20001, len: 1 }], [], 5);
    deviceUse(mem, q, id, 0);
    expect(q.getBuf()).toBeNull();
    expect(q.broken).toBe(true);
    expect(q.brokenReason).toMatch(reason);
    expect(q.add([{ addr: 0x20000, len: 1 }], [], 6)).toBe(false);
    expect(q.interrupt(() => { throw new Error('no callback on a broken queue'); })).toBe(true);
  });
});

describe('notification suppression', () => {
  it('kick_prepare honours the device\'s NO_NOTIFY; disable/enable_cb drive avail flags NO_INTERRUPT', () => {
    const mem = new GuestMemory(1 << 20);
    const q = new Vring<number>(mem, 0, 0x10000, 8);
    expect(q.kickPrepare()).toBe(true);
    mem.view.setUint16(q.usedAddr, 1, true);
    expect(q.kickPrepare()).toBe(false);
    q.disableCb();
    expect(mem.view.getUint16(q.availAddr, true)).toBe(1);
    expect(q.enableCb()).toBe(true);
    expect(mem.view.getUint16(q.availAddr, true)).toBe(0);
    q.add([{ addr: 0x20000, len: 1 }], [], 1);
    deviceUse(mem, q, 0, 0);
    expect(q.enableCb()).toBe(false); // used already waiting: poll again
    let ran = 0;
    expect(q.interrupt(() => ran++)).toBe(true);
    expect(ran).toBe(1);
    q.getBuf();
    expect(q.interrupt(() => ran++)).toBe(false); // IRQ_NONE
  });

  it('a queue without a callback asks the device not to interrupt from the start', () => {
    const mem = new GuestMemory(1 << 20);
    const q = new Vring<number>(mem, 0, 0x10000, 8, { noCallback: true });
    expect(mem.view.getUint16(q.availAddr, true)).toBe(1);
  });
});
