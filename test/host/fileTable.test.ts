// The host's file tables (issue 13, bugs 4 and 5): host.fd(n) hands out only data streams (EBADF for
// device files, eventfds, free numbers, another user's numbers); each iommufd context numbers its own
// files, so a number in one user's SET_IRQS or data-fd lookup never reaches another user's file;
// closed files (eventfds included) leave the table and their numbers are reused lowest first, as
// Linux allocates fds. A fast-check property drives two users at random against a model.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createEmulator, IommufdCtx } from '../../src/index.js';
import type { Emulator } from '../../src/index.js';
import type { VfioDeviceFile } from '../../src/host/vfio/deviceFile.js';
import { VfioClient } from '../../src/vmm/vfioClient.js';
import { MigState, VFIO, VfioError, expectErrno, setState } from './migration/dmaeHarness.js';

const DEV = ['0000:00:04.0', '0000:00:05.0'];

async function twoEngines(): Promise<Emulator> {
  const emu = await createEmulator({ memoryBytes: 1 << 20 });
  for (const bdf of DEV) {
    emu.hw.addDmaEngine(bdf, { deviceMemoryBytes: 16 << 10 });
    expect(emu.host.bind(bdf)).toBe('dmae-vfio-pci');
  }
  return emu;
}

function fdOf(file: VfioDeviceFile): number {
  return (file as unknown as { fd: number }).fd;
}

/** SET_IRQS MSI-X vector 0 <- fd, then off again; returns the errno or 'OK'. */
function wire(file: VfioDeviceFile, fd: number): string {
  const c = new VfioClient(file);
  try {
    c.setIrqs(VFIO.PCI_MSIX_IRQ_INDEX, VFIO.IRQ_SET_ACTION_TRIGGER, 0, { kind: 'eventfd', fds: [fd] });
  } catch (e) {
    if (e instanceof VfioError) return e.code;
    throw e;
  }
  c.setIrqs(VFIO.PCI_MSIX_IRQ_INDEX, VFIO.IRQ_SET_ACTION_TRIGGER, 0, { kind: 'none' }, 0);
  return 'OK';
}

describe('host.fd(n): data streams only', () => {
  it('is EBADF for a device file, an eventfd, a free number, a bad number, and a closed stream', async () => {
    const emu = await twoEngines();
    const file = emu.host.openDevice(DEV[0]);
    const e = emu.host.eventfd();
    const fd = setState(file, MigState.PRE_COPY);
    expect(emu.host.fd(fd).read(16).length).toBe(16);
    for (const n of [fdOf(file), e.fd, 0, 1, 2, 99, -1, 1.5, NaN]) expectErrno(() => emu.host.fd(n), 'EBADF');
    // the device file is still open and usable: fd() handed nothing out to close it
    expect(new VfioClient(file).getInfo().numRegions).toBeGreaterThan(0);
    emu.host.fd(fd).close();
    expectErrno(() => emu.host.fd(fd), 'EBADF');
  });

  it("one iommufd context cannot reach another's stream, eventfd or device file by number", async () => {
    const emu = await twoEngines();
    const alice = new IommufdCtx('alice');
    const bob = new IommufdCtx('bob');
    const fa = emu.host.openDevice(DEV[0], { iommufd: alice });
    const fb = emu.host.openDevice(DEV[1], { iommufd: bob });
    // each user numbers its own files from 3
    expect(fdOf(fa)).toBe(3);
    expect(fdOf(fb)).toBe(3);
    const sa = setState(fa, MigState.PRE_COPY);
    expect(sa).toBe(4);
    expect(emu.host.fd(sa, alice).read(8).length).toBe(8);
    expectErrno(() => emu.host.fd(sa, bob), 'EBADF');
    expectErrno(() => emu.host.fd(sa), 'EBADF'); // the default user has nothing there either
    // bob's eventfd 4 is not alice's 4 (her stream): SET_IRQS resolves numbers in the caller's table
    const eb = emu.host.eventfd(bob);
    expect(eb.fd).toBe(4);
    expect(wire(fb, 4)).toBe('OK');
    expect(wire(fa, 4)).toBe('EINVAL'); // alice's 4 is her data stream, not an eventfd
    expect(wire(fa, 5)).toBe('EBADF');
    const ea = emu.host.eventfd(alice);
    expect(wire(fa, ea.fd)).toBe('OK');
    // a number of the other user's device file is nothing to this one
    expectErrno(() => emu.host.fd(fdOf(fb), alice), 'EBADF');
    expect(emu.host.vfio.files.size).toBe(0);
  });
});

describe('closing releases the number; numbers are reused lowest first', () => {
  it('eventfds leave the table on close and the lowest free number comes back first', async () => {
    const emu = await createEmulator();
    const t = emu.host.vfio.files;
    const es = Array.from({ length: 5 }, () => emu.host.eventfd());
    expect(es.map((e) => e.fd)).toEqual([3, 4, 5, 6, 7]);
    es[3].close();
    es[1].close();
    es[1].close(); // twice is harmless
    expect(t.size).toBe(3);
    expect(t.get(4)).toBeUndefined();
    expect(emu.host.eventfd().fd).toBe(4);
    expect(emu.host.eventfd().fd).toBe(6);
    expect(emu.host.eventfd().fd).toBe(8);
    // a closed eventfd's late release does not drop the file that reuses its number
    const old = es[0];
    old.close();
    const reuse = emu.host.eventfd();
    expect(reuse.fd).toBe(3);
    old.close();
    expect(t.get(3)).toBe(reuse);
  });

  it('device files and data streams release their numbers on close too', async () => {
    const emu = await twoEngines();
    const t = emu.host.vfio.files;
    const file = emu.host.openDevice(DEV[0]);
    const e = emu.host.eventfd();
    const fd = setState(file, MigState.PRE_COPY);
    expect([fdOf(file), e.fd, fd]).toEqual([3, 4, 5]);
    emu.host.fd(fd).close();
    file.close();
    expect(t.numbers()).toEqual([4]);
    expect(fdOf(emu.host.openDevice(DEV[1]))).toBe(3);
  });
});

type Op =
  | { k: 'eventfd'; u: number }
  | { k: 'close'; u: number; pick: number }
  | { k: 'stream'; u: number }
  | { k: 'lookup'; u: number; n: number }
  | { k: 'wire'; u: number; n: number };

interface Entry {
  kind: 'device' | 'eventfd' | 'stream';
  close(): void;
}

describe('property: two users, random opens, closes and lookups', () => {
  const user = fc.integer({ min: 0, max: 1 });
  const num = fc.integer({ min: 0, max: 14 });
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ k: fc.constant('eventfd' as const), u: user }),
    fc.record({ k: fc.constant('close' as const), u: user, pick: fc.nat() }),
    fc.record({ k: fc.constant('stream' as const), u: user }),
    fc.record({ k: fc.constant('lookup' as const), u: user, n: num }),
    fc.record({ k: fc.constant('wire' as const), u: user, n: num }),
  );

  it('no user reaches the other one\'s files, closed numbers come back lowest first, everything else is EBADF', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 40 }), async (ops) => {
        const emu = await twoEngines();
        const ctx = [new IommufdCtx('u0'), new IommufdCtx('u1')];
        const files = DEV.map((bdf, u) => emu.host.openDevice(bdf, { iommufd: ctx[u] }));
        // the model: each user's numbers and what they name
        const model = [new Map<number, Entry>(), new Map<number, Entry>()];
        files.forEach((f, u) => model[u].set(fdOf(f), { kind: 'device', close: () => f.close() }));
        const lowestFree = (u: number) => {
          let n = 3;
          while (model[u].has(n)) n++;
          return n;
        };
        for (const o of ops) {
          const mine = model[o.u];
          if (o.k === 'eventfd') {
            const expected = lowestFree(o.u);
            const e = emu.host.eventfd(ctx[o.u]);
            expect(e.fd).toBe(expected);
            mine.set(e.fd, { kind: 'eventfd', close: () => e.close() });
          } else if (o.k === 'stream') {
            // RUNNING -> PRE_COPY opens a new saving data fd (back to RUNNING first if needed)
            setState(files[o.u], MigState.RUNNING);
            const expected = lowestFree(o.u);
            const fd = setState(files[o.u], MigState.PRE_COPY);
            expect(fd).toBe(expected);
            const s = emu.host.fd(fd, ctx[o.u]);
            mine.set(fd, { kind: 'stream', close: () => s.close() });
          } else if (o.k === 'close') {
            const closable = [...mine.entries()].filter(([, e]) => e.kind !== 'device');
            if (closable.length === 0) continue;
            const [n, e] = closable[o.pick % closable.length];
            e.close();
            mine.delete(n);
          } else if (o.k === 'lookup') {
            const e = mine.get(o.n);
            if (e?.kind === 'stream') expect(emu.host.fd(o.n, ctx[o.u])).toBeDefined();
            else expectErrno(() => emu.host.fd(o.n, ctx[o.u]), 'EBADF');
          } else {
            const e = mine.get(o.n);
            expect(wire(files[o.u], o.n)).toBe(e === undefined ? 'EBADF' : e.kind === 'eventfd' ? 'OK' : 'EINVAL');
          }
          for (const u of [0, 1]) expect(ctx[u].files.numbers()).toEqual([...model[u].keys()].sort((a, b) => a - b));
        }
        // the default user never got anything
        expect(emu.host.vfio.files.size).toBe(0);
      }),
      { numRuns: 60 },
    );
  });
});
