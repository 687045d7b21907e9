// What a read of the saving data fd returns belongs to the caller, as read(2)'s buffer does: a VMM
// may reuse it, change it, or transfer its ArrayBuffer to a worker (postMessage with a transfer
// list, structuredClone with transfer, ArrayBuffer.prototype.transfer where the runtime has it),
// and the source device must not notice. A cancelled migration then resumes an intact source;
// DEVICE_RESET and later saves keep working (issue 13, bug 3).
import { MessageChannel } from 'node:worker_threads';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MigState, concat, dmaeMachine, expectErrno, resumeStream, saveStream, setState } from './dmaeHarness.js';
import type { Machine } from './dmaeHarness.js';

const DEVMEM = 256 << 10;

/** Fills device memory with a pattern (a zeroed device would hide writes of zeros). */
function pattern(m: Machine, seed: number): void {
  const v = m.engine.deviceMemoryView(0, DEVMEM);
  for (let i = 0; i < v.length; i++) v[i] = (i * 31 + seed) & 0xff;
}

/** Byte equality without the matcher's element-wise diff (slow on 256 KiB arrays). */
function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

type Action = 'keep' | 'mutate' | 'zero' | 'structuredClone' | 'postMessage' | 'transfer';

/** Detaches `b`'s ArrayBuffer from this realm as a VMM handing it to a worker would. */
function transfer(b: Uint8Array, how: 'structuredClone' | 'postMessage' | 'transfer'): void {
  const buf = b.buffer as ArrayBuffer;
  if (how === 'postMessage') {
    const ch = new MessageChannel();
    ch.port1.postMessage(buf, [buf]);
    ch.port1.close();
    ch.port2.close();
  } else {
    // ArrayBuffer.prototype.transfer is newer than Node 20's V8; structuredClone detaches the same way
    const t = (buf as { transfer?: () => ArrayBuffer }).transfer;
    if (how === 'transfer' && typeof t === 'function') t.call(buf);
    else structuredClone(buf, { transfer: [buf] });
  }
  expect(b.byteLength).toBe(0); // detached: the caller's memory is gone, not the device's
}

/** Applies `action` to a returned buffer after keeping a copy of its bytes (the stream as sent). */
function abuse(b: Uint8Array, action: Action, kept: Uint8Array[]): void {
  kept.push(b.slice());
  if (action === 'mutate') for (let i = 0; i < b.length; i += 7) b[i] ^= 0x5a;
  else if (action === 'zero') b.fill(0);
  else if (action !== 'keep') transfer(b, action);
}

/** Reads the saving fd to its (temporary) end with the given chunk sizes and actions, cycled. */
function readAbusing(m: Machine, fd: number, chunks: number[], actions: Action[]): Uint8Array {
  const f = m.emu.host.fd(fd);
  const kept: Uint8Array[] = [];
  for (let k = 0; ; k++) {
    const b = f.read(chunks[k % chunks.length]);
    if (b.length === 0) break;
    abuse(b, actions[k % actions.length], kept);
  }
  return concat(kept);
}

describe('the saving data fd hands out buffers the caller owns', () => {
  for (const action of ['mutate', 'zero', 'structuredClone', 'postMessage', 'transfer'] as const) {
    it(`STOP_COPY, every returned buffer ${action === 'mutate' || action === 'zero' ? `${action}d` : `transferred (${action})`}: the cancelled migration resumes an intact source`, async () => {
      const m = await dmaeMachine({ deviceMemoryBytes: DEVMEM });
      pattern(m, 1);
      const before = m.engine.digest();
      const devmem = m.engine.readDeviceMemory(0, DEVMEM);
      setState(m.file, MigState.STOP);
      const fd = setState(m.file, MigState.STOP_COPY);
      const stream = readAbusing(m, fd, [64 << 10, 4096, 1 << 20], [action]);
      // the migration is cancelled: the source runs again, as it was
      setState(m.file, MigState.STOP);
      setState(m.file, MigState.RUNNING);
      expect(same(m.engine.readDeviceMemory(0, DEVMEM), devmem)).toBe(true);
      expect(m.engine.digest()).toBe(before);
      // the stream as it was read restores the same device elsewhere
      const dst = await dmaeMachine({ deviceMemoryBytes: DEVMEM });
      resumeStream(dst, stream);
      expect(dst.engine.digest()).toBe(before);
      // the source saves again and resets
      setState(m.file, MigState.RUNNING);
      const again = saveStream(m);
      expect(same(again, stream)).toBe(true);
      setState(m.file, MigState.RUNNING);
      expect(m.client.reset()).toBeUndefined();
      expect(same(m.engine.readDeviceMemory(0, DEVMEM), new Uint8Array(DEVMEM))).toBe(true); // FLR clears device memory
      const dst2 = await dmaeMachine({ deviceMemoryBytes: DEVMEM });
      resumeStream(dst2, saveStream(m));
      expect(dst2.engine.digest()).toBe(m.engine.digest());
    });
  }

  it('PRE_COPY then STOP_COPY with reused and transferred buffers: the source is intact, the stream is whole', async () => {
    const m = await dmaeMachine({ deviceMemoryBytes: DEVMEM });
    pattern(m, 9);
    const before = m.engine.digest();
    const fd = setState(m.file, MigState.PRE_COPY);
    const pre = readAbusing(m, fd, [8192, 100_000], ['mutate', 'postMessage', 'zero']);
    setState(m.file, MigState.STOP_COPY);
    const rest = readAbusing(m, fd, [3000, 1 << 20], ['transfer', 'mutate']);
    expect(m.engine.digest()).toBe(before);
    setState(m.file, MigState.STOP);
    setState(m.file, MigState.RUNNING);
    expect(m.engine.digest()).toBe(before);
    const dst = await dmaeMachine({ deviceMemoryBytes: DEVMEM });
    resumeStream(dst, concat([pre, rest]));
    expect(dst.engine.digest()).toBe(before);
  });

  it('after a transferred STOP_COPY buffer the stream goes on and the saving fd still answers its errors', async () => {
    const m = await dmaeMachine({ deviceMemoryBytes: DEVMEM });
    pattern(m, 3);
    setState(m.file, MigState.STOP);
    const fd = setState(m.file, MigState.STOP_COPY);
    const f = m.emu.host.fd(fd);
    const kept: Uint8Array[] = [];
    abuse(f.read(1 << 20), 'structuredClone', kept);
    abuse(f.read(1 << 20), 'structuredClone', kept);
    setState(m.file, MigState.STOP);
    expectErrno(() => f.read(16), 'ENODEV');
    setState(m.file, MigState.RUNNING);
    const fresh = saveStream(m);
    expect(same(fresh.subarray(0, kept[0].length + kept[1].length), concat(kept))).toBe(true);
  });
});

describe('property: random chunking and random treatment of returned buffers never reach the device', () => {
  const action = fc.constantFrom<Action>('keep', 'mutate', 'zero', 'structuredClone', 'postMessage', 'transfer');
  it('source digest and device memory intact, and the stream read restores an equal device', async () => {
    const m = await dmaeMachine({ deviceMemoryBytes: DEVMEM });
    const dst = await dmaeMachine({ deviceMemoryBytes: DEVMEM });
    pattern(m, 5);
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.array(fc.integer({ min: 1, max: 300_000 }), { minLength: 1, maxLength: 6 }),
        fc.array(action, { minLength: 1, maxLength: 6 }),
        async (precopy, chunks, actions) => {
          setState(m.file, MigState.RUNNING);
          const before = m.engine.digest();
          const devmem = m.engine.readDeviceMemory(0, DEVMEM);
          const parts: Uint8Array[] = [];
          let fd: number;
          if (precopy) {
            fd = setState(m.file, MigState.PRE_COPY);
            parts.push(readAbusing(m, fd, chunks, actions));
            setState(m.file, MigState.STOP_COPY);
          } else {
            setState(m.file, MigState.STOP);
            fd = setState(m.file, MigState.STOP_COPY);
          }
          parts.push(readAbusing(m, fd, chunks, actions));
          setState(m.file, MigState.STOP);
          setState(m.file, MigState.RUNNING);
          expect(same(m.engine.readDeviceMemory(0, DEVMEM), devmem)).toBe(true);
          expect(m.engine.digest()).toBe(before);
          setState(dst.file, MigState.RUNNING);
          resumeStream(dst, concat(parts));
          expect(dst.engine.digest()).toBe(before);
        },
      ),
      { numRuns: 40 },
    );
  });
});
