import { describe, expect, it } from 'vitest';
import { createEmulator, MIG_FLAG, MigState, VFIO, VfioError } from '../../../src/index.js';
import { vfioPciDriver } from '../../../src/host/vfio/vfioPciDriver.js';
import { vfioPciCoreOps } from '../../../src/host/vfio/pciCore/vfioPciCore.js';
import { pciDeviceId } from '../../../src/host/pciDriver.js';
import type { VfioPciCoreDevice } from '../../../src/host/vfio/pciCore/vfioPciCoreDevice.js';
import type { DataStreamFile } from '../../../src/host/vfio/dataStream.js';
import { buildDeviceFeature } from '../../../src/host/vfio/uapi/deviceFeature.js';
import { decodeFeatureMigState, decodeFeatureMigration, decodeFeatureMigDataSize } from '../../../src/host/vfio/uapi/migrationFeature.js';
import { buildDmaLoggingStart, buildDmaLoggingReport } from '../../../src/host/vfio/uapi/dmaLogging.js';
import type { VfioDeviceFile } from '../../../src/host/vfio/deviceFile.js';

// A fake migration driver: it records every single arc it is asked for, opens a stream where the
// uapi says one starts, and can be told to fail an arc.
class FakeStream implements DataStreamFile {
  finished = false;
  closed = false;
  read(length: number): Uint8Array {
    if (this.finished) throw new VfioError('ENODEV', 'stream over');
    return new Uint8Array(Math.min(length, 4));
  }
  write(data: Uint8Array): number {
    if (this.finished) throw new VfioError('ENODEV', 'stream over');
    return data.length;
  }
  close(): void {
    this.closed = true;
  }
  finish(): void {
    this.finished = true;
  }
}

async function setup(flags: number) {
  const emu = await createEmulator();
  const fn = emu.hw.addEndpoint('0000:00:05.0', {
    vendorId: 0x1234, deviceId: 0x5678, classCode: 0x088000, bars: [{ kind: 'mem32', size: 0x1000 }],
    capabilities: [{ id: 'pm' }, { id: 'pcie', flr: true }],
  });
  const arcs: [MigState, MigState][] = [];
  const streams: FakeStream[] = [];
  let failOn: MigState | null = null;
  let failInto: MigState | null = null;
  const logged: { ranges: { iova: bigint; length: bigint }[]; page: bigint } = { ranges: [], page: 0n };
  emu.host.registerDriver(
    vfioPciDriver(emu.host.vfio, {
      name: 'fake-mig',
      idTable: [pciDeviceId({ vendor: 0x1234, device: 0x5678, overrideOnly: true })],
      ops: {
        ...vfioPciCoreOps,
        name: 'fake-mig',
        migrationOps: {
          flags,
          setState(vdev: VfioPciCoreDevice, next: MigState) {
            arcs.push([vdev.migState, next]);
            if (next === failOn) {
              if (failInto !== null) (vdev as unknown as { fakeState: MigState }).fakeState = failInto;
              throw new VfioError('EIO', 'arc failed on purpose');
            }
            if (next === MigState.STOP_COPY && vdev.migState === MigState.STOP) return track(new FakeStream());
            if (next === MigState.PRE_COPY || next === MigState.PRE_COPY_P2P) {
              if (vdev.migState === MigState.RUNNING || vdev.migState === MigState.RUNNING_P2P) return track(new FakeStream());
            }
            if (next === MigState.RESUMING) return track(new FakeStream());
            return null;
          },
          getState(vdev: VfioPciCoreDevice) {
            return (vdev as unknown as { fakeState?: MigState }).fakeState ?? vdev.migState;
          },
          getDataSize: () => 12345n,
        },
        logOps: {
          start(_v, ranges, page) {
            logged.ranges = ranges;
            logged.page = page;
          },
          stop() {
            logged.ranges = [];
          },
          readAndClear(_v, _iova, length, page) {
            const pages = Number(length / page);
            const b = new Uint8Array(Math.ceil(pages / 64) * 8);
            b[0] = 0b101; // pages 0 and 2 dirty
            return b;
          },
        },
      },
    }),
  );
  function track(s: FakeStream) {
    streams.push(s);
    return s;
  }
  expect(emu.host.bind(fn.bdf)).toBe('fake-mig');
  const file = emu.host.openDevice(fn.bdf);
  return {
    emu, file, arcs, streams, logged,
    failArc(state: MigState | null, into: MigState | null = null) {
      failOn = state;
      failInto = into;
    },
  };
}

function setState(file: VfioDeviceFile, state: MigState): { fd: number } {
  const arg = buildDeviceFeature(VFIO.DEVICE_FEATURE_SET | VFIO.DEVICE_FEATURE_MIG_DEVICE_STATE, 8);
  new DataView(arg.buffer).setUint32(8, state, true);
  file.ioctl(VFIO.DEVICE_FEATURE, arg);
  return { fd: decodeFeatureMigState(arg, 8).dataFd };
}

function getState(file: VfioDeviceFile): MigState {
  const arg = buildDeviceFeature(VFIO.DEVICE_FEATURE_GET | VFIO.DEVICE_FEATURE_MIG_DEVICE_STATE, 8);
  file.ioctl(VFIO.DEVICE_FEATURE, arg);
  const s = decodeFeatureMigState(arg, 8);
  expect(s.dataFd).toBe(-1);
  return s.deviceState;
}

const ALL = MIG_FLAG.STOP_COPY | MIG_FLAG.P2P | MIG_FLAG.PRE_COPY;

describe('VFIO_DEVICE_FEATURE migration', () => {
  it('MIGRATION GET reports the flags; SET is refused; PROBE succeeds', async () => {
    const { file } = await setup(ALL);
    const arg = buildDeviceFeature(VFIO.DEVICE_FEATURE_GET | VFIO.DEVICE_FEATURE_MIGRATION, 8);
    file.ioctl(VFIO.DEVICE_FEATURE, arg);
    expect(decodeFeatureMigration(arg, 8).flags).toBe(BigInt(ALL));
    expect(() => file.ioctl(VFIO.DEVICE_FEATURE, buildDeviceFeature(VFIO.DEVICE_FEATURE_SET | VFIO.DEVICE_FEATURE_MIGRATION, 8))).toThrow(/EINVAL/);
    expect(file.ioctl(VFIO.DEVICE_FEATURE, buildDeviceFeature(VFIO.DEVICE_FEATURE_PROBE | VFIO.DEVICE_FEATURE_GET | VFIO.DEVICE_FEATURE_MIGRATION))).toBe(0);
    // a payload smaller than the struct
    expect(() => file.ioctl(VFIO.DEVICE_FEATURE, buildDeviceFeature(VFIO.DEVICE_FEATURE_GET | VFIO.DEVICE_FEATURE_MIGRATION, 4))).toThrow(/EINVAL/);
  });

  it('a device without migration ops answers ENOTTY', async () => {
    const emu = await createEmulator();
    const fn = emu.hw.addEndpoint('0000:00:06.0', { vendorId: 1, deviceId: 2, classCode: 0, bars: [{ kind: 'mem32', size: 0x1000 }] });
    emu.host.bind(fn.bdf);
    const file = emu.host.openDevice(fn.bdf);
    for (const f of [VFIO.DEVICE_FEATURE_MIGRATION, VFIO.DEVICE_FEATURE_MIG_DEVICE_STATE, VFIO.DEVICE_FEATURE_MIG_DATA_SIZE, VFIO.DEVICE_FEATURE_DMA_LOGGING_STOP]) {
      expect(() => file.ioctl(VFIO.DEVICE_FEATURE, buildDeviceFeature(VFIO.DEVICE_FEATURE_GET | f, 32))).toThrow(/ENOTTY/);
    }
  });

  it('runs a combination transition arc by arc and returns the stream of the final state', async () => {
    const { file, arcs, emu } = await setup(ALL);
    expect(getState(file)).toBe(MigState.RUNNING);
    const { fd } = setState(file, MigState.STOP_COPY);
    // RUNNING -> RUNNING_P2P -> STOP -> STOP_COPY: only single arcs reach the driver
    expect(arcs).toEqual([
      [MigState.RUNNING, MigState.RUNNING_P2P],
      [MigState.RUNNING_P2P, MigState.STOP],
      [MigState.STOP, MigState.STOP_COPY],
    ]);
    expect(fd).toBeGreaterThan(2);
    expect(emu.host.fd(fd).read(100).length).toBe(4);
    expect(getState(file)).toBe(MigState.STOP_COPY);
    // leaving STOP_COPY ends the stream
    setState(file, MigState.STOP);
    expect(() => emu.host.fd(fd).read(4)).toThrow(/ENODEV/);
  });

  it('PRE_COPY -> STOP_COPY continues the same saving stream', async () => {
    const { file, streams } = await setup(ALL);
    const a = setState(file, MigState.PRE_COPY);
    expect(a.fd).toBeGreaterThan(2);
    const b = setState(file, MigState.STOP_COPY);
    expect(b.fd).toBe(-1);
    expect(streams).toHaveLength(1);
    expect(streams[0].finished).toBe(false);
    setState(file, MigState.STOP);
    expect(streams[0].finished).toBe(true);
  });

  it('refuses states the device does not support with EINVAL and stays put', async () => {
    const { file } = await setup(MIG_FLAG.STOP_COPY);
    expect(() => setState(file, MigState.PRE_COPY)).toThrow(/EINVAL/);
    expect(() => setState(file, MigState.RUNNING_P2P)).toThrow(/EINVAL/);
    expect(() => setState(file, 99 as MigState)).toThrow(/EINVAL/);
    expect(getState(file)).toBe(MigState.RUNNING);
  });

  it('STOP_COPY -> PRE_COPY is not a transition: EINVAL, still in STOP_COPY', async () => {
    const { file } = await setup(ALL);
    setState(file, MigState.STOP_COPY);
    expect(() => setState(file, MigState.PRE_COPY)).toThrow(/EINVAL/);
    expect(getState(file)).toBe(MigState.STOP_COPY);
  });

  it('a failed arc leaves the state the driver reports; ERROR is left only by DEVICE_RESET', async () => {
    const { file, failArc } = await setup(ALL);
    failArc(MigState.STOP);
    expect(() => setState(file, MigState.STOP_COPY)).toThrow(/EIO/);
    expect(getState(file)).toBe(MigState.RUNNING_P2P);
    failArc(MigState.STOP, MigState.ERROR);
    expect(() => setState(file, MigState.STOP)).toThrow(/EIO/);
    expect(getState(file)).toBe(MigState.ERROR);
    failArc(null);
    expect(() => setState(file, MigState.RUNNING)).toThrow(/EINVAL/);
    file.ioctl(VFIO.DEVICE_RESET, new Uint8Array(0));
    expect(getState(file)).toBe(MigState.RUNNING);
  });

  it('MIG_DATA_SIZE reports the driver figure', async () => {
    const { file } = await setup(ALL);
    const arg = buildDeviceFeature(VFIO.DEVICE_FEATURE_GET | VFIO.DEVICE_FEATURE_MIG_DATA_SIZE, 8);
    file.ioctl(VFIO.DEVICE_FEATURE, arg);
    expect(decodeFeatureMigDataSize(arg, 8).stopCopyLength).toBe(12345n);
  });

  it('last close returns the device to RUNNING', async () => {
    const { emu, file } = await setup(ALL);
    setState(file, MigState.STOP);
    file.close();
    const again = emu.host.openDevice('0000:00:05.0');
    expect(getState(again)).toBe(MigState.RUNNING);
  });
});

describe('DMA logging', () => {
  it('START validates page size, alignment, overlap and count; REPORT fills the bitmap', async () => {
    const { file, logged } = await setup(ALL);
    const start = (page: bigint, ranges: { iova: bigint; length: bigint }[]) => file.ioctl(VFIO.DEVICE_FEATURE, buildDmaLoggingStart(page, ranges));
    expect(() => start(4096n, [])).toThrow(/EINVAL/);
    expect(() => start(4096n, [{ iova: 0x1000n, length: 0x1800n }])).toThrow(/EINVAL/);
    expect(() => start(4096n, [{ iova: 0n, length: 0x4000n }, { iova: 0x2000n, length: 0x2000n }])).toThrow(/EINVAL/);
    expect(() => start(3000n, [{ iova: 0n, length: 0x4000n }])).toThrow(/EINVAL/);
    expect(() => start(4096n, [{ iova: 0xfffffffffffff000n, length: 0x2000n }])).toThrow(/EOVERFLOW/);
    start(4096n, [{ iova: 0n, length: 0x10000n }, { iova: 0x100000n, length: 0x1000n }]);
    expect(logged.ranges).toEqual([{ iova: 0n, length: 0x10000n }, { iova: 0x100000n, length: 0x1000n }]);
    expect(logged.page).toBe(4096n);
    const rep = buildDmaLoggingReport(0n, 0x10000n, 4096n);
    file.ioctl(VFIO.DEVICE_FEATURE, rep);
    expect(rep[rep.length - 8]).toBe(0b101);
    expect(() => file.ioctl(VFIO.DEVICE_FEATURE, buildDmaLoggingReport(0n, 0x10000n, 2048n))).toThrow(/EINVAL/);
    file.ioctl(VFIO.DEVICE_FEATURE, buildDeviceFeature(VFIO.DEVICE_FEATURE_SET | VFIO.DEVICE_FEATURE_DMA_LOGGING_STOP));
    expect(logged.ranges).toEqual([]);
  });
});
