// A fake migration variant driver for orchestration tests (as test/host/migration/migrationUapi.test.ts
// does): it records every single arc the vfio core asks of it, per device; its saving stream is a
// fixed pseudo-random byte string per device (part of it "initial" pre-copy data, the rest only in
// STOP_COPY), and its resuming stream accepts the bytes and, on RESUMING -> STOP, requires exactly
// what the source produced. Arcs can be made to fail, optionally leaving the device in ERROR.
import { MIG_FLAG, MigState, VFIO, VfioError } from '../../src/index.js';
import type { Emulator } from '../../src/emulator.js';
import { vfioPciDriver } from '../../src/host/vfio/vfioPciDriver.js';
import { vfioPciCoreOps } from '../../src/host/vfio/pciCore/vfioPciCore.js';
import { pciDeviceId } from '../../src/host/pciDriver.js';
import type { VfioPciCoreDevice } from '../../src/host/vfio/pciCore/vfioPciCoreDevice.js';
import type { DataStreamFile } from '../../src/host/vfio/dataStream.js';
import { decodePrecopyInfo, encodePrecopyInfo } from '../../src/host/vfio/uapi/precopyInfo.js';
import type { EndpointSpec } from '../../src/hw/spec.js';

export const FAKE_VENDOR = 0x1234;
export const FAKE_DEVICE = 0x5678;
export const FAKE_SPEC: EndpointSpec = {
  vendorId: FAKE_VENDOR,
  deviceId: FAKE_DEVICE,
  classCode: 0x088000,
  interruptPin: 1,
  bars: [{ kind: 'mem32', size: 0x4000 }],
  capabilities: [{ id: 'pm' }, { id: 'msi', vectors: 4, is64: true, perVectorMask: true }, { id: 'msix', vectors: 4, tableBar: 0, tableOffset: 0x2000, pbaBar: 0, pbaOffset: 0x3000 }, { id: 'pcie', flr: true }],
};

export const ALL_FLAGS = MIG_FLAG.STOP_COPY | MIG_FLAG.P2P | MIG_FLAG.PRE_COPY;

/** The bytes a device at host `bdf` saves: `total` pseudo-random bytes. */
export function payloadOf(bdf: string, total: number): Uint8Array {
  let x = [...bdf].reduce((h, c) => Math.imul(h ^ c.charCodeAt(0), 0x01000193), 0x811c9dc5) >>> 0;
  const out = new Uint8Array(total);
  for (let i = 0; i < total; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

class SavingFake implements DataStreamFile {
  fd = -1;
  finished = false;
  pos = 0;
  stopCopy = false;
  constructor(
    readonly data: Uint8Array,
    readonly initial: number,
  ) {}
  private limit(): number {
    return this.stopCopy ? this.data.length : this.initial;
  }
  read(length: number): Uint8Array {
    if (this.finished) throw new VfioError('ENODEV', 'stream over');
    const n = Math.min(length, this.limit() - this.pos);
    const out = this.data.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  write(): number {
    throw new VfioError('EINVAL', 'saving stream');
  }
  ioctl(request: number, arg: Uint8Array): number {
    if (request !== VFIO.MIG_GET_PRECOPY_INFO || this.stopCopy) throw new VfioError('EINVAL', 'not in pre-copy');
    const i = decodePrecopyInfo(arg);
    encodePrecopyInfo({ argsz: i.argsz, flags: 0, initialBytes: BigInt(this.initial - this.pos), dirtyBytes: 0n }, arg);
    return 0;
  }
  close(): void {}
  finish(): void {
    this.finished = true;
  }
}

class ResumingFake implements DataStreamFile {
  fd = -1;
  finished = false;
  parts: Uint8Array[] = [];
  read(): Uint8Array {
    throw new VfioError('EINVAL', 'resuming stream');
  }
  write(data: Uint8Array): number {
    if (this.finished) throw new VfioError('ENODEV', 'stream over');
    this.parts.push(data.slice());
    return data.length;
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
  close(): void {}
  finish(): void {
    this.finished = true;
  }
}

export interface FakeControl {
  /** single arcs per host bdf, as [from, to] */
  arcs: Map<string, [MigState, MigState][]>;
  /** resets the driver was told about (DEVICE_RESET) per host bdf */
  resets: Map<string, number>;
  /** what each host bdf's resuming stream received and accepted */
  received: Map<string, Uint8Array>;
  /** make the arc into `state` fail (on `bdf`, or any device), leaving the device in `into` (default: where it was) */
  failArc(state: MigState | null, into?: MigState | null, bdf?: string): void;
  /** saved stream size and its initial (pre-copy) part */
  total: number;
  initial: number;
}

/**
 * Registers the fake driver `name` with `flags` on `emu`; devices with FAKE_SPEC bind to it by best
 * match. Saving streams carry payloadOf(sourceBdf) — the destination checks against `sourceOf(bdf)`.
 */
export function registerFakeMigration(emu: Emulator, flags: number, opts: { total?: number; initial?: number; sourceOf?: (bdf: string) => string } = {}): FakeControl {
  const total = opts.total ?? 10000;
  const initial = opts.initial ?? 6000;
  const ctl: FakeControl = {
    arcs: new Map(),
    resets: new Map(),
    received: new Map(),
    total,
    initial,
    failArc(state, into = null, bdf) {
      failOn = state;
      failInto = into;
      failBdf = bdf ?? null;
    },
  };
  let failOn: MigState | null = null;
  let failInto: MigState | null = null;
  let failBdf: string | null = null;
  const broken = new Set<string>();
  const saving = new Map<string, SavingFake>();
  const resuming = new Map<string, ResumingFake>();
  emu.host.registerDriver(
    vfioPciDriver(emu.host.vfio, {
      name: 'fake-mig',
      idTable: [pciDeviceId({ vendor: FAKE_VENDOR, device: FAKE_DEVICE, overrideOnly: true })],
      ops: {
        ...vfioPciCoreOps,
        name: 'fake-mig',
        migrationOps: {
          flags,
          setState(vdev: VfioPciCoreDevice, next: MigState) {
            const bdf = vdev.bdf;
            const from = vdev.migState;
            const list = ctl.arcs.get(bdf) ?? [];
            ctl.arcs.set(bdf, list);
            list.push([from, next]);
            if (next === failOn && (failBdf === null || failBdf === bdf)) {
              if (failInto === MigState.ERROR) broken.add(bdf);
              throw new VfioError('EIO', `arc to ${MigState[next]} failed on purpose`);
            }
            if ((from === MigState.RUNNING || from === MigState.RUNNING_P2P) && (next === MigState.PRE_COPY || next === MigState.PRE_COPY_P2P)) {
              const s = new SavingFake(payloadOf(bdf, total), initial);
              saving.set(bdf, s);
              return s;
            }
            if (next === MigState.STOP_COPY) {
              if (from === MigState.STOP) {
                const s = new SavingFake(payloadOf(bdf, total), initial);
                s.stopCopy = true;
                saving.set(bdf, s);
                return s;
              }
              saving.get(bdf)!.stopCopy = true;
              return null;
            }
            if (next === MigState.RESUMING) {
              const s = new ResumingFake();
              resuming.set(bdf, s);
              return s;
            }
            if (from === MigState.RESUMING && next === MigState.STOP) {
              const got = resuming.get(bdf)!.bytes();
              const want = payloadOf(opts.sourceOf ? opts.sourceOf(bdf) : bdf, total);
              if (got.length !== want.length || got.some((b, i) => b !== want[i])) {
                broken.add(bdf);
                throw new VfioError('EINVAL', `resumed ${got.length} bytes that are not the source's ${want.length}`);
              }
              ctl.received.set(bdf, got);
            }
            return null;
          },
          getState(vdev: VfioPciCoreDevice) {
            return broken.has(vdev.bdf) ? MigState.ERROR : vdev.migState;
          },
          getDataSize: () => BigInt(total),
          reset(vdev: VfioPciCoreDevice) {
            broken.delete(vdev.bdf);
            ctl.resets.set(vdev.bdf, (ctl.resets.get(vdev.bdf) ?? 0) + 1);
          },
        },
      },
    }),
  );
  return ctl;
}
