// dmae-vfio-pci's migration state machine: binding by best match, the capability flags, every
// transition the core can ask for (the single arcs the driver sees, the state and data fd at the
// end, the device's quiesce / dirty-tracking state), failed arcs, DEVICE_RESET, MIG_DATA_SIZE, the
// data fds' file semantics and VFIO_MIG_GET_PRECOPY_INFO's errors, and a property test that random
// state sequences (with good and bad streams) never leave the legal states.
import fc from 'fast-check';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { MIG_FLAG, migrationArcs, migStateName } from '../../../src/index.js';
import { buildDeviceFeature } from '../../../src/host/vfio/uapi/deviceFeature.js';
import { decodeFeatureMigration } from '../../../src/host/vfio/uapi/migrationFeature.js';
import { encodePrecopyInfo } from '../../../src/host/vfio/uapi/precopyInfo.js';
import { dmaeMigrationOps, dmaeStreamFormat } from '../../../src/host/variants/dmaEngine/index.js';
import type { DmaeVfioDevice } from '../../../src/host/variants/dmaEngine/index.js';
import {
  BDF, GuestDriver, MigState, PAGE, VFIO, VfioError, dataSize, dmaeMachine, expectErrno, getState, precopyInfo, readAll, rng, saveStream,
  setState, writeAll,
} from './dmaeHarness.js';
import type { Machine } from './dmaeHarness.js';

const ALL = MIG_FLAG.STOP_COPY | MIG_FLAG.P2P | MIG_FLAG.PRE_COPY;
const STATES = [MigState.STOP, MigState.RUNNING, MigState.STOP_COPY, MigState.RESUMING, MigState.RUNNING_P2P, MigState.PRE_COPY, MigState.PRE_COPY_P2P];
const SAVING = new Set([MigState.PRE_COPY, MigState.PRE_COPY_P2P, MigState.STOP_COPY]);
const DEVMEM = 64 << 10;

/** Records the single arcs the driver is asked for. */
function recordArcs(): [MigState, MigState][] {
  const arcs: [MigState, MigState][] = [];
  const orig = dmaeMigrationOps.setState;
  vi.spyOn(dmaeMigrationOps, 'setState').mockImplementation((vdev: DmaeVfioDevice, next: MigState) => {
    arcs.push([vdev.migState, next]);
    return orig(vdev, next);
  });
  return arcs;
}

afterEach(() => {
  vi.restoreAllMocks();
});

function reset(m: Machine): void {
  m.client.reset();
}

/** Brings a RUNNING device to `state` (a RESUMING one gets `stream` written). */
function goTo(m: Machine, state: MigState, stream: Uint8Array): number {
  const fd = setState(m.file, state);
  if (state === MigState.RESUMING) writeAll(m.emu, fd, stream, 7777);
  return fd;
}

/** The device-side picture each state must show. */
function checkInvariants(m: Machine, state: MigState, viaPrecopy: boolean): void {
  const { engine, vdev } = m;
  expect(getState(m.file)).toBe(state);
  expect(engine.quiesced).toBe(state !== MigState.RUNNING && state !== MigState.PRE_COPY);
  const tracking = state === MigState.PRE_COPY || state === MigState.PRE_COPY_P2P || (state === MigState.STOP_COPY && viaPrecopy);
  expect(engine.dirtyTracking).toBe(tracking);
  expect(vdev.saving !== null).toBe(SAVING.has(state));
  expect(vdev.resuming !== null).toBe(state === MigState.RESUMING);
  expect(vdev.broken).toBe(false);
}

describe('binding and capabilities', () => {
  it('best match binds dmae-vfio-pci (override_only: never by itself); vfio-pci still binds by name', async () => {
    const m = await dmaeMachine({ deviceMemoryBytes: DEVMEM });
    const aliases = m.emu.host.aliases().filter((a) => a.driver === 'dmae-vfio-pci').map((a) => a.alias);
    expect(aliases).toEqual(['vfio_pci:v00001B36d000000F0sv*sd*bc*sc*i*']);
    // a second engine added later stays unbound until asked
    const f2 = m.emu.hw.addDmaEngine('0000:00:06.0', { deviceMemoryBytes: DEVMEM });
    expect(m.emu.host.pciDev(f2.bdf).driver).toBeNull();
    m.emu.host.driverOverride(f2.bdf, 'vfio-pci');
    expect(m.emu.host.bind(f2.bdf, 'vfio-pci')).toBe('vfio-pci');
    const plain = m.emu.host.openDevice(f2.bdf);
    expectErrno(() => plain.ioctl(VFIO.DEVICE_FEATURE, buildDeviceFeature(VFIO.DEVICE_FEATURE_GET | VFIO.DEVICE_FEATURE_MIGRATION, 8)), 'ENOTTY');
    // something else with the same IDs but no DMA engine model behind it is refused at probe
    const fake = m.emu.hw.addEndpoint('0000:00:07.0', { vendorId: 0x1b36, deviceId: 0x00f0, classCode: 0x088000, bars: [{ kind: 'mem32', size: 0x1000 }] });
    expectErrno(() => m.emu.host.bind(fake.bdf), 'ENODEV');
  });

  it('MIGRATION reports STOP_COPY | P2P | PRE_COPY', async () => {
    const m = await dmaeMachine({ deviceMemoryBytes: DEVMEM });
    const arg = buildDeviceFeature(VFIO.DEVICE_FEATURE_GET | VFIO.DEVICE_FEATURE_MIGRATION, 8);
    m.file.ioctl(VFIO.DEVICE_FEATURE, arg);
    expect(decodeFeatureMigration(arg, 8).flags).toBe(BigInt(ALL));
    expect(getState(m.file)).toBe(MigState.RUNNING);
  });
});

describe('every transition the core generates', () => {
  let m: Machine;
  let stream: Uint8Array;
  beforeAll(async () => {
    m = await dmaeMachine({ deviceMemoryBytes: DEVMEM });
    stream = saveStream(m);
    setState(m.file, MigState.RUNNING);
  });

  for (const from of STATES) {
    for (const to of STATES) {
      const route = migrationArcs(from, to, ALL);
      const forbidden = route[route.length - 1] === MigState.ERROR;
      it(`${migStateName(from)} -> ${migStateName(to)}: ${forbidden ? 'EINVAL' : route.map(migStateName).join(' -> ') || 'nothing'}`, () => {
        reset(m);
        goTo(m, from, stream);
        const arcs = recordArcs();
        if (forbidden) {
          expectErrno(() => setState(m.file, to), 'EINVAL');
          expect(arcs).toEqual([]);
          expect(getState(m.file)).toBe(from);
          return;
        }
        const fd = setState(m.file, to);
        // only single arcs reach the driver, exactly the kernel's route
        const expected: [MigState, MigState][] = [];
        let s = from;
        for (const next of route) {
          expected.push([s, next]);
          s = next;
        }
        expect(arcs).toEqual(expected);
        // a data fd comes back when the last arc opened a stream
        const opened = route.length > 0 && (to === MigState.RESUMING || (SAVING.has(to) && !SAVING.has(route.length > 1 ? route[route.length - 2] : from)));
        if (opened) {
          expect(fd).toBeGreaterThan(2);
          expect(m.emu.host.fd(fd)).toBe(to === MigState.RESUMING ? m.vdev.resuming : m.vdev.saving);
        } else expect(fd).toBe(-1);
        const viaPrecopy = to === MigState.STOP_COPY && (from === MigState.PRE_COPY || from === MigState.PRE_COPY_P2P);
        checkInvariants(m, to, viaPrecopy);
      });
    }
  }
});

describe('failed arcs, ERROR and DEVICE_RESET', () => {
  it('a bad stream: RESUMING -> STOP fails with EINVAL, the state is ERROR, only DEVICE_RESET leaves it, to a clean RUNNING', async () => {
    const m = await dmaeMachine({ deviceMemoryBytes: DEVMEM });
    const fresh = m.engine.digest();
    const fd = setState(m.file, MigState.RESUMING);
    m.emu.host.fd(fd).write(new Uint8Array(100));
    const e = expectErrno(() => setState(m.file, MigState.RUNNING), 'EINVAL');
    expect(e.message).toMatch(/invalid migration stream: bad magic/);
    expect(getState(m.file)).toBe(MigState.ERROR);
    expect(m.engine.digest()).toBe(fresh); // nothing of it was applied
    expectErrno(() => m.emu.host.fd(fd).write(new Uint8Array(4)), 'ENODEV');
    for (const s of STATES) expectErrno(() => setState(m.file, s), 'EINVAL');
    expect(getState(m.file)).toBe(MigState.ERROR);
    m.client.reset();
    checkInvariants(m, MigState.RUNNING, false);
    // usable again: a full save works
    expect(saveStream(m).length).toBeGreaterThan(DEVMEM);
  });

  it('RUNNING is refused while the interrupt setup of the source is missing; the device stays in RUNNING_P2P', async () => {
    const src = await dmaeMachine({ deviceMemoryBytes: DEVMEM });
    const guest = new GuestDriver(rng(1));
    guest.bringUp(src);
    const stream = saveStream(src);
    const dst = await dmaeMachine({ deviceMemoryBytes: DEVMEM });
    writeAll(dst.emu, setState(dst.file, MigState.RESUMING), stream);
    const arcs = recordArcs();
    const e = expectErrno(() => setState(dst.file, MigState.RUNNING), 'EINVAL');
    expect(e.message).toMatch(/msix with trigger eventfds on vectors \[0, 1\].*msix|none on \[none\]/);
    expect(arcs).toEqual([
      [MigState.RESUMING, MigState.STOP],
      [MigState.STOP, MigState.RUNNING_P2P],
      [MigState.RUNNING_P2P, MigState.RUNNING],
    ]);
    expect(getState(dst.file)).toBe(MigState.RUNNING_P2P);
    // one vector is not enough either
    const e0 = dst.emu.host.eventfd();
    dst.client.setIrqs(VFIO.PCI_MSIX_IRQ_INDEX, VFIO.IRQ_SET_ACTION_TRIGGER, 0, { kind: 'eventfd', fds: [e0.fd] });
    expectErrno(() => setState(dst.file, MigState.RUNNING), 'EINVAL');
    const e1 = dst.emu.host.eventfd();
    // Linux 6.1 cannot add MSI-X vectors while enabled (NORESIZE): disable, enable both, as QEMU does
    expectErrno(() => dst.client.setIrqs(VFIO.PCI_MSIX_IRQ_INDEX, VFIO.IRQ_SET_ACTION_TRIGGER, 1, { kind: 'eventfd', fds: [e1.fd] }), 'EINVAL');
    dst.client.setIrqs(VFIO.PCI_MSIX_IRQ_INDEX, VFIO.IRQ_SET_ACTION_TRIGGER, 0, { kind: 'none' }, 0);
    dst.client.setIrqs(VFIO.PCI_MSIX_IRQ_INDEX, VFIO.IRQ_SET_ACTION_TRIGGER, 0, { kind: 'eventfd', fds: [e0.fd, e1.fd] });
    setState(dst.file, MigState.RUNNING);
    expect(dst.engine.quiesced).toBe(false);
    // once running, the expectation is gone: the user may change its interrupts freely
    dst.client.setIrqs(VFIO.PCI_MSIX_IRQ_INDEX, VFIO.IRQ_SET_ACTION_TRIGGER, 0, { kind: 'none' }, 0);
    setState(dst.file, MigState.RUNNING_P2P);
    setState(dst.file, MigState.RUNNING);
  });

  it('DEVICE_RESET mid pre-copy ends the stream, stops tracking and resumes DMA; last close does too', async () => {
    const m = await dmaeMachine({ deviceMemoryBytes: DEVMEM });
    const fd = setState(m.file, MigState.PRE_COPY_P2P);
    expect(m.engine.quiesced && m.engine.dirtyTracking).toBe(true);
    m.client.reset();
    checkInvariants(m, MigState.RUNNING, false);
    expectErrno(() => m.emu.host.fd(fd).read(10), 'ENODEV');
    setState(m.file, MigState.PRE_COPY_P2P);
    m.file.close();
    expect(m.engine.quiesced || m.engine.dirtyTracking).toBe(false);
    const again = m.emu.host.openDevice(BDF);
    expect(getState(again)).toBe(MigState.RUNNING);
  });
});

describe('MIG_DATA_SIZE', () => {
  it('is the exact STOP_COPY stream length before a stream, and what is left of it during one', async () => {
    const m = await dmaeMachine({ deviceMemoryBytes: DEVMEM });
    const size = dataSize(m.file);
    const stream = saveStream(m);
    expect(size).toBe(BigInt(stream.length));
    setState(m.file, MigState.RUNNING);
    const fd = setState(m.file, MigState.PRE_COPY);
    expect(dataSize(m.file)).toBe(size);
    const first = m.emu.host.fd(fd).read(1000);
    expect(dataSize(m.file)).toBe(size - BigInt(first.length));
    readAll(m.emu, fd);
    const tail = dataSize(m.file);
    setState(m.file, MigState.STOP_COPY);
    expect(BigInt(readAll(m.emu, fd).length)).toBe(tail);
    expect(dataSize(m.file)).toBe(0n);
  });
});

describe('the data fds', () => {
  it('saving: read-only, reads validate the length, ENODEV once the device left the state, EBADF after close', async () => {
    const m = await dmaeMachine({ deviceMemoryBytes: DEVMEM });
    const fd = setState(m.file, MigState.PRE_COPY);
    const f = m.emu.host.fd(fd);
    expectErrno(() => f.write(new Uint8Array(4)), 'EINVAL');
    for (const bad of [-1, 1.5, NaN]) expectErrno(() => f.read(bad), 'EINVAL');
    expect(f.read(0).length).toBe(0);
    expect(f.read(8).length).toBe(8);
    setState(m.file, MigState.RUNNING);
    expectErrno(() => f.read(8), 'ENODEV');
    f.close();
    expectErrno(() => m.emu.host.fd(fd), 'EBADF');
    expectErrno(() => f.read(8), 'EBADF');
  });

  it('resuming: write-only, no ioctls, writes validate their data', async () => {
    const m = await dmaeMachine({ deviceMemoryBytes: DEVMEM });
    const fd = setState(m.file, MigState.RESUMING);
    const f = m.emu.host.fd(fd);
    expectErrno(() => f.read(4), 'EINVAL');
    expectErrno(() => f.ioctl!(VFIO.MIG_GET_PRECOPY_INFO, new Uint8Array(24)), 'ENOTTY');
    expectErrno(() => f.write([1, 2] as unknown as Uint8Array), 'EFAULT');
    expect(f.write(new Uint8Array(0))).toBe(0);
    f.close();
    expectErrno(() => f.write(new Uint8Array(4)), 'EBADF');
    // closing the fd does not change the state; the (empty) stream is still what STOP gets
    expect(getState(m.file)).toBe(MigState.RESUMING);
    expectErrno(() => setState(m.file, MigState.STOP), 'EINVAL');
    expect(getState(m.file)).toBe(MigState.ERROR);
  });
});

describe('VFIO_MIG_GET_PRECOPY_INFO', () => {
  it('argsz below 24 is EINVAL, a short arg EFAULT, another request ENOTTY; flags come back as given', async () => {
    const m = await dmaeMachine({ deviceMemoryBytes: DEVMEM });
    const fd = setState(m.file, MigState.PRE_COPY);
    const f = m.emu.host.fd(fd);
    for (const argsz of [0, 8, 16, 23]) expectErrno(() => precopyInfo(m.emu, fd, argsz), 'EINVAL');
    expectErrno(() => f.ioctl!(VFIO.MIG_GET_PRECOPY_INFO, new Uint8Array(16)), 'EFAULT');
    expectErrno(() => f.ioctl!(VFIO.DEVICE_GET_INFO, encodePrecopyInfo({ argsz: 24, flags: 0, initialBytes: 0n, dirtyBytes: 0n })), 'ENOTTY');
    // a larger argsz is fine; the kernel copies the 24 bytes it knows
    const big = new Uint8Array(32).fill(0xee);
    encodePrecopyInfo({ argsz: 32, flags: 0, initialBytes: 0n, dirtyBytes: 0n }, big);
    f.ioctl!(VFIO.MIG_GET_PRECOPY_INFO, big);
    expect([...big.subarray(24)]).toEqual(new Array(8).fill(0xee));
    // no input flags are defined; as the kernel (without the PRECOPY_INFOv2 opt-in) they are echoed
    expect(precopyInfo(m.emu, fd, 24, 0x5a5a).flags).toBe(0x5a5a);
    const all = dmaeStreamFormat.STREAM_HEADER_BYTES + dmaeStreamFormat.pagesSectionBytes(DEVMEM / PAGE, PAGE);
    expect(precopyInfo(m.emu, fd)).toMatchObject({ initial: BigInt(all), dirty: 0n, argsz: 24 });
    setState(m.file, MigState.PRE_COPY_P2P);
    expect(precopyInfo(m.emu, fd).initial).toBe(BigInt(all));
  });

  it('only in PRE_COPY and PRE_COPY_P2P (EINVAL in STOP_COPY); ENODEV for a finished stream; EBADF once closed', async () => {
    const m = await dmaeMachine({ deviceMemoryBytes: DEVMEM });
    const fd = setState(m.file, MigState.PRE_COPY);
    setState(m.file, MigState.STOP_COPY);
    expectErrno(() => precopyInfo(m.emu, fd), 'EINVAL');
    setState(m.file, MigState.STOP);
    expectErrno(() => precopyInfo(m.emu, fd), 'EINVAL');
    setState(m.file, MigState.RUNNING);
    const fd2 = setState(m.file, MigState.PRE_COPY);
    expectErrno(() => precopyInfo(m.emu, fd), 'ENODEV');
    expect(precopyInfo(m.emu, fd2).initial).toBeGreaterThan(0n);
    m.emu.host.fd(fd2).close();
    expectErrno(() => m.emu.host.fd(fd2), 'EBADF');
  });

  it('dirty_bytes follows the device writing its memory; initial_bytes only shrinks', async () => {
    const m = await dmaeMachine({ deviceMemoryBytes: DEVMEM });
    const guest = new GuestDriver(rng(5));
    guest.bringUp(m);
    const fd = setState(m.file, MigState.PRE_COPY);
    let last = precopyInfo(m.emu, fd).initial;
    while (last > 0n) {
      m.emu.host.fd(fd).read(5000);
      const now = precopyInfo(m.emu, fd).initial;
      expect(now).toBeLessThan(last);
      last = now;
    }
    expect(precopyInfo(m.emu, fd).dirty).toBe(0n);
    m.engine.writeDeviceMemory(3 * PAGE, new Uint8Array(10).fill(1));
    m.engine.writeDeviceMemory(9 * PAGE, new Uint8Array(10).fill(1));
    // an upper bound: each dirty page as a section of its own (here it is exact: two runs of one page)
    expect(precopyInfo(m.emu, fd).dirty).toBe(BigInt(2 * (PAGE + 16)));
    const two = readAll(m.emu, fd);
    expect(two.length).toBe(2 * (PAGE + 16));
    m.engine.writeDeviceMemory(4 * PAGE, new Uint8Array(3 * PAGE).fill(2));
    expect(precopyInfo(m.emu, fd).dirty).toBe(BigInt(3 * (PAGE + 16)));
    expect(readAll(m.emu, fd).length).toBe(3 * PAGE + 16); // one run of three
    expect(precopyInfo(m.emu, fd).dirty).toBe(0n);
  });
});

describe('random state sequences (fast-check)', () => {
  it('never leave the legal states; the device side always matches the state', async () => {
    const m = await dmaeMachine({ deviceMemoryBytes: 16 << 10 });
    const good = saveStream(m);
    setState(m.file, MigState.RUNNING);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ target: fc.integer({ min: 0, max: 9 }), goodStream: fc.boolean(), readBytes: fc.nat(40000) }), { maxLength: 25 }),
        async (steps) => {
          m.client.reset();
          let viaPrecopy = false;
          let written = false;
          for (const step of steps) {
            const before = getState(m.file);
            if (before === MigState.RESUMING && !written) {
              const fd = m.emu.host.fd(m.vdev.resuming!.fd);
              fd.write(step.goodStream ? good : good.subarray(0, step.readBytes % good.length));
              written = true;
            }
            if (SAVING.has(before) && m.vdev.saving) m.vdev.saving.read(step.readBytes);
            let threw: unknown = null;
            try {
              setState(m.file, step.target as MigState);
            } catch (e) {
              threw = e;
            }
            const after = getState(m.file);
            expect(after).toBeGreaterThanOrEqual(0);
            expect(after).toBeLessThanOrEqual(7);
            if (threw) {
              expect(threw).toBeInstanceOf(VfioError);
              expect((threw as VfioError).code).toBe('EINVAL');
              if (after === MigState.ERROR) {
                // only a bad stream on RESUMING -> STOP breaks the device
                expect(before).toBe(MigState.RESUMING);
                m.client.reset();
                checkInvariants(m, MigState.RUNNING, false);
                viaPrecopy = false;
                written = false;
                continue;
              }
              expect(after).toBe(before);
            } else {
              expect(after).toBe(step.target);
            }
            if (after !== before) {
              if (after === MigState.RESUMING) written = false;
              if (after === MigState.STOP_COPY) viaPrecopy = before === MigState.PRE_COPY || before === MigState.PRE_COPY_P2P;
            }
            checkInvariants(m, after, after === MigState.STOP_COPY && viaPrecopy);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
