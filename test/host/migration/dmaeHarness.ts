// Shared set-up for the dmae-vfio-pci migration tests: a machine with a DMA engine bound to its
// variant driver and opened the way a VMM opens it, uapi helpers for the migration ioctls and data
// fds, and a small guest driver that keeps the engine busy through the vfio device file (BAR0
// region) while the test plays the VMM.
import { expect } from 'vitest';
import { createEmulator, MigState, VFIO, VfioError } from '../../../src/index.js';
import type { Emulator, PciFunction } from '../../../src/index.js';
import type { VfioDeviceFile } from '../../../src/host/vfio/deviceFile.js';
import type { Eventfd } from '../../../src/host/fileTable.js';
import { buildDeviceFeature } from '../../../src/host/vfio/uapi/deviceFeature.js';
import { decodeFeatureMigDataSize, decodeFeatureMigState } from '../../../src/host/vfio/uapi/migrationFeature.js';
import { buildDmaLoggingReport, buildDmaLoggingStart } from '../../../src/host/vfio/uapi/dmaLogging.js';
import { decodePrecopyInfo, encodePrecopyInfo } from '../../../src/host/vfio/uapi/precopyInfo.js';
import { VfioClient } from '../../../src/vmm/vfioClient.js';
import {
  DMAE_CQE_SIZE, DMAE_DESC_FLAG_IRQ, DMAE_DESC_SIZE, DMAE_OP, DMAE_REG, decodeCompletion, dmaEngineOf, encodeDescriptor,
} from '../../../src/hw/devices/dmaEngine/index.js';
import type { DmaEngine } from '../../../src/hw/devices/dmaEngine/index.js';
import type { DmaeVfioDevice } from '../../../src/host/variants/dmaEngine/index.js';

export { MigState, VFIO, VfioError };

export const BDF = '0000:00:04.0';
export const PAGE = 4096;

export interface Machine {
  emu: Emulator;
  fn: PciFunction;
  engine: DmaEngine;
  file: VfioDeviceFile;
  client: VfioClient;
  vdev: DmaeVfioDevice;
}

export interface MachineOptions {
  memoryBytes?: number;
  deviceMemoryBytes?: number;
  /** bind and open (default true) */
  open?: boolean;
}

/** A machine with a DMA engine at BDF bound (by best match) to dmae-vfio-pci and opened. */
export async function dmaeMachine(o: MachineOptions = {}): Promise<Machine> {
  const emu = await createEmulator({ memoryBytes: o.memoryBytes ?? 1 << 20 });
  const fn = emu.hw.addDmaEngine(BDF, { deviceMemoryBytes: o.deviceMemoryBytes ?? 64 << 10 });
  const engine = dmaEngineOf(fn)!;
  expect(emu.host.bind(BDF)).toBe('dmae-vfio-pci');
  const file = emu.host.openDevice(BDF);
  const vdev = emu.host.vfio.vfioDeviceOf(emu.host.pciDev(BDF)) as DmaeVfioDevice;
  return { emu, fn, engine, file, client: new VfioClient(file), vdev };
}

// ---- migration uapi -------------------------------------------------------------------------------

/** MIG_DEVICE_STATE SET; returns the data_fd (-1 when the new state has no stream). */
export function setState(file: VfioDeviceFile, state: MigState): number {
  const arg = buildDeviceFeature(VFIO.DEVICE_FEATURE_SET | VFIO.DEVICE_FEATURE_MIG_DEVICE_STATE, 8);
  new DataView(arg.buffer).setUint32(8, state, true);
  file.ioctl(VFIO.DEVICE_FEATURE, arg);
  return decodeFeatureMigState(arg, 8).dataFd;
}

export function getState(file: VfioDeviceFile): MigState {
  const arg = buildDeviceFeature(VFIO.DEVICE_FEATURE_GET | VFIO.DEVICE_FEATURE_MIG_DEVICE_STATE, 8);
  file.ioctl(VFIO.DEVICE_FEATURE, arg);
  return decodeFeatureMigState(arg, 8).deviceState;
}

export function dataSize(file: VfioDeviceFile): bigint {
  const arg = buildDeviceFeature(VFIO.DEVICE_FEATURE_GET | VFIO.DEVICE_FEATURE_MIG_DATA_SIZE, 8);
  file.ioctl(VFIO.DEVICE_FEATURE, arg);
  return decodeFeatureMigDataSize(arg, 8).stopCopyLength;
}

/** VFIO_MIG_GET_PRECOPY_INFO on a data fd. */
export function precopyInfo(emu: Emulator, fd: number, argsz = 24, flags = 0): { initial: bigint; dirty: bigint; flags: number; argsz: number } {
  const arg = encodePrecopyInfo({ argsz, flags, initialBytes: 0n, dirtyBytes: 0n });
  emu.host.fd(fd).ioctl!(VFIO.MIG_GET_PRECOPY_INFO, arg);
  const i = decodePrecopyInfo(arg);
  return { initial: i.initialBytes, dirty: i.dirtyBytes, flags: i.flags, argsz: i.argsz };
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Reads until an empty read (STOP_COPY: the end; pre-copy: nothing ready now). Copies what it gets. */
export function readAll(emu: Emulator, fd: number, chunk = 1 << 20): Uint8Array {
  const f = emu.host.fd(fd);
  const parts: Uint8Array[] = [];
  for (;;) {
    const b = f.read(chunk);
    expect(b.length).toBeLessThanOrEqual(chunk);
    if (b.length === 0) break;
    parts.push(b.slice());
  }
  return concat(parts);
}

/** Writes `bytes` in pieces of the given sizes (cycled), or of one size. */
export function writeAll(emu: Emulator, fd: number, bytes: Uint8Array, sizes: number[] | number = 1 << 20): void {
  const f = emu.host.fd(fd);
  const list = typeof sizes === 'number' ? [sizes] : sizes;
  let o = 0;
  for (let k = 0; o < bytes.length; k++) {
    const n = Math.max(1, Math.min(list[k % list.length], bytes.length - o));
    expect(f.write(bytes.subarray(o, o + n))).toBe(n);
    o += n;
  }
}

/** The whole STOP_COPY stream of a machine that is RUNNING (it ends in STOP_COPY). */
export function saveStream(m: Machine, chunk = 1 << 20): Uint8Array {
  const fd = setState(m.file, MigState.STOP_COPY);
  return readAll(m.emu, fd, chunk);
}

/** Feeds a stream to a RUNNING machine and asks for STOP (throws what RESUMING -> STOP throws). */
export function resumeStream(m: Machine, stream: Uint8Array, sizes: number[] | number = 1 << 20): void {
  const fd = setState(m.file, MigState.RESUMING);
  writeAll(m.emu, fd, stream, sizes);
  setState(m.file, MigState.STOP);
}

export function expectErrno(fn: () => unknown, code: string): VfioError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(VfioError);
    expect((e as VfioError).code).toBe(code);
    return e as VfioError;
  }
  throw new Error(`expected ${code}, nothing was thrown`);
}

export function dmaLoggingStart(file: VfioDeviceFile, ranges: { iova: bigint; length: bigint }[], page = 4096n): bigint {
  const arg = buildDmaLoggingStart(page, ranges);
  file.ioctl(VFIO.DEVICE_FEATURE, arg);
  return new DataView(arg.buffer).getBigUint64(8, true);
}

export function dmaLoggingStop(file: VfioDeviceFile): void {
  file.ioctl(VFIO.DEVICE_FEATURE, buildDeviceFeature(VFIO.DEVICE_FEATURE_SET | VFIO.DEVICE_FEATURE_DMA_LOGGING_STOP));
}

/** DMA_LOGGING_REPORT: the IOVAs of the dirty pages (at `page`) in [iova, iova+length). */
export function dmaLoggingReport(file: VfioDeviceFile, iova: bigint, length: bigint, page = 4096n): number[] {
  const arg = buildDmaLoggingReport(iova, length, page);
  file.ioctl(VFIO.DEVICE_FEATURE, arg);
  const bitmap = arg.subarray(40);
  const out: number[] = [];
  for (let bit = 0; bit < bitmap.length * 8; bit++) if ((bitmap[bit >>> 3] >>> (bit & 7)) & 1) out.push(Number(iova) + bit * Number(page));
  return out;
}

// ---- the guest ---------------------------------------------------------------------------------------

export const SQ = 0x10000;
export const CQ = 0x20000;
export const DATA = 0x40000;
export const DATA_BYTES = 0x40000;
const RING_LOG2 = 6;
const RING = 1 << RING_LOG2;

type Desc = Parameters<typeof encodeDescriptor>[0];

/** A tiny deterministic PRNG (mulberry32) so a failing run can be replayed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The guest's driver for the DMA engine, reaching the device only through what a VMM passes through:
 * BAR0 accesses on the vfio device file, DMA-visible guest memory, and the MSI-X vectors the VMM
 * wired to eventfds. It can move to another machine (after a migration) and carries on with the
 * same ring positions and bookkeeping.
 */
export class GuestDriver {
  m!: Machine;
  sqTail = 0;
  cqHead = 0;
  phase = 1;
  private nextCookie = 1n;
  /** cookie -> descriptor, for everything submitted */
  readonly submitted = new Map<bigint, Desc>();
  /** every cookie seen in a completion, in order */
  readonly completed: bigint[] = [];
  /** MSI-X messages received per vector, over all machines */
  readonly signals = [0, 0];
  /** guest pages the CPU wrote since the last takeGuestDirty() */
  private guestDirty = new Set<number>();
  /** guest pages the device wrote, as the completions tell, since the last takeDeviceWrote() */
  private deviceWrote = new Set<number>();
  eventfds: Eventfd[] = [];

  constructor(private readonly rand: () => number) {}

  private reg(off: number, value: number): void {
    this.m.client.writeRegion(0, off, 4, value);
  }

  readReg(off: number): number {
    return this.m.client.readRegion(0, off, 4);
  }

  /** What the VMM does for the guest's MSI-X setup: one eventfd per vector, counted. */
  wireInterrupts(m: Machine): void {
    this.eventfds = [0, 1].map((v) => {
      const e = m.emu.host.eventfd();
      e.onSignal(() => this.signals[v]++);
      return e;
    });
    m.client.setIrqs(VFIO.PCI_MSIX_IRQ_INDEX, VFIO.IRQ_SET_ACTION_TRIGGER, 0, { kind: 'eventfd', fds: this.eventfds.map((e) => e.fd) });
  }

  /** Firmware + driver bring-up on machine `m`. */
  bringUp(m: Machine): void {
    this.m = m;
    m.client.configWrite(0x04, 2, 0x0006); // memory decode, bus master
    this.wireInterrupts(m);
    this.reg(DMAE_REG.SQ_BASE_LO, SQ);
    this.reg(DMAE_REG.SQ_SIZE, RING_LOG2);
    this.reg(DMAE_REG.CQ_BASE_LO, CQ);
    this.reg(DMAE_REG.CQ_SIZE, RING_LOG2);
    this.reg(DMAE_REG.INT_COALESCE, 4);
    this.reg(DMAE_REG.CONTROL, 1);
  }

  /** The guest now runs on `m` (its memory and device were migrated there). */
  moveTo(m: Machine): void {
    this.m = m;
  }

  private write(addr: number, bytes: Uint8Array): void {
    this.m.emu.memory.write(addr, bytes);
    for (let p = Math.floor(addr / PAGE); p <= Math.floor((addr + bytes.length - 1) / PAGE); p++) this.guestDirty.add(p * PAGE);
  }

  get outstanding(): number {
    return this.submitted.size - this.completed.length;
  }

  /** A random descriptor over device memory and the guest data area. */
  randomDesc(devmemBytes: number): Desc {
    const r = this.rand;
    const len = 1 + Math.floor(r() * 3 * PAGE);
    const devOff = Math.floor(r() * (devmemBytes - len));
    const guestOff = DATA + Math.floor(r() * (DATA_BYTES - len));
    const flags = r() < 0.2 ? DMAE_DESC_FLAG_IRQ : 0;
    switch (Math.floor(r() * 6)) {
      case 0: {
        const data = Uint8Array.from({ length: len }, () => Math.floor(r() * 256));
        this.write(guestOff, data);
        return { opcode: DMAE_OP.COPY_TO_DEVICE, flags, length: len, src: guestOff, dst: devOff };
      }
      case 1:
        return { opcode: DMAE_OP.COPY_FROM_DEVICE, flags, length: len, src: devOff, dst: guestOff };
      case 2:
        return { opcode: DMAE_OP.FILL, flags, length: len, src: Math.floor(r() * 2 ** 32), dst: devOff };
      case 3:
        return { opcode: DMAE_OP.CHECKSUM, flags, length: len, src: devOff };
      case 4:
        return { opcode: DMAE_OP.COPY_DEVICE, flags, length: len, src: Math.floor(r() * (devmemBytes - len)), dst: devOff };
      default:
        return { opcode: DMAE_OP.NOP, flags, length: 0 };
    }
  }

  /** Writes up to `n` descriptors at the tail (never more than the ring holds) and rings the doorbell once. */
  submit(n: number, devmemBytes: number): number {
    let k = 0;
    for (; k < n && this.outstanding < RING - 1; k++) {
      const d = { ...this.randomDesc(devmemBytes), cookie: this.nextCookie++ };
      this.submitted.set(d.cookie as bigint, d);
      this.write(SQ + this.sqTail * DMAE_DESC_SIZE, encodeDescriptor(d));
      this.sqTail = (this.sqTail + 1) % RING;
    }
    this.reg(DMAE_REG.SQ_TAIL, this.sqTail);
    return k;
  }

  /** Submits these descriptors (cookies assigned here) and rings the doorbell. */
  submitDescs(...ds: Desc[]): void {
    for (const d0 of ds) {
      const d = { ...d0, cookie: this.nextCookie++ };
      this.submitted.set(d.cookie as bigint, d);
      this.write(SQ + this.sqTail * DMAE_DESC_SIZE, encodeDescriptor(d));
      this.sqTail = (this.sqTail + 1) % RING;
    }
    this.reg(DMAE_REG.SQ_TAIL, this.sqTail);
  }

  /** Consumes the completions the device posted (by phase bit); returns how many. */
  reap(): number {
    const mem = this.m.emu.memory;
    let n = 0;
    for (;;) {
      const at = CQ + this.cqHead * DMAE_CQE_SIZE;
      const c = decodeCompletion(mem.read(at, DMAE_CQE_SIZE));
      if (c.phase !== this.phase) break;
      this.completed.push(c.cookie);
      this.deviceWrote.add(Math.floor(at / PAGE) * PAGE);
      const d = this.submitted.get(c.cookie);
      if (d && d.opcode === DMAE_OP.COPY_FROM_DEVICE && c.status === 0 && d.length > 0) {
        const dst = Number(d.dst);
        for (let p = Math.floor(dst / PAGE); p <= Math.floor((dst + d.length - 1) / PAGE); p++) this.deviceWrote.add(p * PAGE);
      }
      this.cqHead = (this.cqHead + 1) % RING;
      if (this.cqHead === 0) this.phase ^= 1;
      n++;
    }
    this.reg(DMAE_REG.CQ_HEAD, this.cqHead);
    return n;
  }

  /** Lets the device work (hardware time) and reaps, `rounds` times. */
  run(rounds: number, budget = 8): void {
    for (let i = 0; i < rounds; i++) {
      this.m.engine.step(budget);
      this.reap();
    }
  }

  takeGuestDirty(): number[] {
    const out = [...this.guestDirty].sort((a, b) => a - b);
    this.guestDirty = new Set();
    return out;
  }

  takeDeviceWrote(): number[] {
    const out = [...this.deviceWrote].sort((a, b) => a - b);
    this.deviceWrote = new Set();
    return out;
  }
}

/** Snapshot of everything of a machine a stream must not touch: config spaces, guest memory, device memories. */
export function machineSnapshot(emu: Emulator, except?: string): string[] {
  const out: string[] = [];
  for (const f of emu.hw.functions()) {
    if (f.bdf === except) continue;
    let cfg = '';
    for (let o = 0; o < 4096; o += 4) cfg += emu.hw.configRead(f.bdf, o, 4).toString(16) + ',';
    out.push(`${f.bdf} ${cfg}`);
    const e = dmaEngineOf(f);
    if (e) out.push(`${f.bdf} ${e.digest()}`);
  }
  out.push(`memory ${hashBytes(emu.memory.bytes)}`);
  return out;
}

function hashBytes(b: Uint8Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i], 0x01000193);
  return (h >>> 0).toString(16);
}
