// Shared set-up for the vfio device file tests: machines with known devices, opened through the
// public surface (createEmulator, hw.addEndpoint/addBridge, host.bind/openDevice/eventfd), and small
// helpers for errno checks, raw ioctl structs and config-space snapshots.
import { expect } from 'vitest';
import { createEmulator } from '../../../src/emulator.js';
import type { Emulator } from '../../../src/emulator.js';
import type { EndpointSpec } from '../../../src/hw/spec.js';
import type { VfioDeviceFile } from '../../../src/host/vfio/deviceFile.js';
import { VFIO } from '../../../src/host/vfio/uapi/constants.js';
import { VfioError } from '../../../src/host/vfio/vfioError.js';
import { VfioClient, regionOffset } from '../../../src/vmm/vfioClient.js';

export { VFIO, VfioClient, VfioError, regionOffset };

/** A device on the root bus (its own device set). */
export const ROOT_DEV = '0000:00:03.0';

/** A PCIe endpoint with FLR: BAR0 mem32 16K with the MSI-X table (8 vectors) at 0x2000 and PBA at 0x3000,
 * BAR1 io 32 bytes, BAR2-3 mem64 prefetchable 1M, BAR4-5 unimplemented, a 2K ROM, INTA, PM, MSI (4
 * vectors, 64-bit), AER. */
export const PCIE_SPEC: EndpointSpec = {
  vendorId: 0x8086,
  deviceId: 0x10fb,
  classCode: 0x020000,
  subsystemVendorId: 0x8086,
  subsystemId: 0x000c,
  revision: 0x01,
  interruptPin: 1,
  bars: [{ kind: 'mem32', size: 0x4000 }, { kind: 'io', size: 0x20 }, { kind: 'mem64', size: 0x100000, prefetchable: true }, null],
  romSize: 0x800,
  capabilities: [
    { id: 'pm' },
    { id: 'msi', vectors: 4, is64: true },
    { id: 'msix', vectors: 8, tableBar: 0, tableOffset: 0x2000, pbaBar: 0, pbaOffset: 0x3000 },
    { id: 'pcie', flr: true },
  ],
  extendedCapabilities: [{ id: 'aer' }],
};

/** A conventional PCI function: no PCIe (config size 256), no INTx pin, PM (soft reset works), MSI 1 vector. */
export const CONVENTIONAL_SPEC: EndpointSpec = {
  vendorId: 0x1234,
  deviceId: 0x1111,
  classCode: 0x030000,
  interruptPin: 0,
  bars: [{ kind: 'mem32', size: 0x1000 }],
  capabilities: [{ id: 'pm' }, { id: 'msi', vectors: 1 }],
};

/** A function with no reset method at all: no PM, no PCIe, on the root bus. */
export const NO_RESET_SPEC: EndpointSpec = {
  vendorId: 0x1234,
  deviceId: 0x2222,
  classCode: 0x058000,
  interruptPin: 2,
  bars: [{ kind: 'mem32', size: 0x100 }, { kind: 'io', size: 0x8 }],
};

export interface Opened {
  emu: Emulator;
  bdf: string;
  file: VfioDeviceFile;
  c: VfioClient;
}

/** A machine with one device at `bdf` (root bus unless a bridge is asked for), bound to vfio-pci and opened. */
export async function openOne(spec: EndpointSpec = PCIE_SPEC, bdf = ROOT_DEV): Promise<Opened> {
  const emu = await createEmulator();
  emu.hw.addEndpoint(bdf, spec);
  expect(emu.host.bind(bdf)).toBe('vfio-pci');
  const file = emu.host.openDevice(bdf);
  return { emu, bdf, file, c: new VfioClient(file) };
}

/** The errno name a call throws; fails the test if it returns or throws anything but a VfioError. */
export function errno(fn: () => unknown): string {
  let result: unknown;
  try {
    result = fn();
  } catch (e) {
    if (!(e instanceof VfioError)) throw new Error(`expected a VfioError, got ${String(e)}`);
    return e.code;
  }
  throw new Error(`expected a VfioError, but the call returned ${String(result)}`);
}

/** 'OK' when the call returns, else the errno name (for tables mixing both). */
export function outcome(fn: () => unknown): string {
  try {
    fn();
    return 'OK';
  } catch (e) {
    if (!(e instanceof VfioError)) throw e;
    return e.code;
  }
}

/** Little-endian u32 fields written at 4-byte steps into a new buffer of `size` bytes. */
export function u32s(size: number, ...fields: number[]): Uint8Array {
  const b = new Uint8Array(size);
  const dv = new DataView(b.buffer);
  fields.forEach((v, i) => dv.setUint32(i * 4, v >>> 0, true));
  return b;
}

export function getU32(b: Uint8Array, off: number): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(off, true);
}

export function getU64(b: Uint8Array, off: number): bigint {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(off, true);
}

/** A raw struct vfio_irq_set: header (argsz defaults to header + data) and the data bytes. */
export function irqSet(flags: number, index: number, start: number, count: number, data: Uint8Array = new Uint8Array(0), argsz?: number): Uint8Array {
  const b = new Uint8Array(20 + data.length);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, argsz ?? 20 + data.length, true);
  dv.setUint32(4, flags >>> 0, true);
  dv.setUint32(8, index >>> 0, true);
  dv.setUint32(12, start >>> 0, true);
  dv.setUint32(16, count >>> 0, true);
  b.set(data, 20);
  return b;
}

/** s32 eventfd numbers as DATA_EVENTFD bytes. */
export function fds(...n: number[]): Uint8Array {
  const b = new Uint8Array(4 * n.length);
  const dv = new DataView(b.buffer);
  n.forEach((v, i) => dv.setInt32(4 * i, v, true));
  return b;
}

/** Every present function's 4096 config bytes, read through the hardware (for "nothing else changed"). */
export function snapshotConfig(emu: Emulator, except: string[] = []): Map<string, Uint32Array> {
  const out = new Map<string, Uint32Array>();
  for (const f of emu.hw.functions()) {
    if (except.includes(f.bdf)) continue;
    const words = new Uint32Array(1024);
    for (let i = 0; i < 1024; i++) words[i] = emu.hw.configRead(f.bdf, i * 4, 4);
    out.set(f.bdf, words);
  }
  return out;
}

/** The registers of the type 0 header that a reset and restore must bring back (BARs, ROM, Command, ...). */
export function headerDwords(emu: Emulator, bdf: string): number[] {
  const out: number[] = [];
  for (let off = 0x04; off <= 0x3c; off += 4) out.push(emu.hw.configRead(bdf, off, 4));
  return out;
}

/** Reads `size` bytes at `offset` of region `index` as a little-endian number. */
export function readLe(file: VfioDeviceFile, index: number, offset: number, size: number): number {
  const b = file.read(regionOffset(index, offset), size);
  let v = 0;
  for (let i = size - 1; i >= 0; i--) v = v * 256 + b[i];
  return v;
}

/** VFIO_DEVICE_FEATURE on an opened device: the 8-byte header (argsz, flags) then `payload`. */
export function feature(o: Pick<Opened, 'file'>, flags: number, payload: Uint8Array = new Uint8Array(0), argsz = 8 + payload.length): number {
  const arg = new Uint8Array(8 + payload.length);
  arg.set(u32s(8, argsz, flags));
  arg.set(payload, 8);
  return o.file.ioctl(VFIO.DEVICE_FEATURE, arg);
}

/** struct vfio_device_low_power_entry_with_wakeup */
export function wakeup(fd: number): Uint8Array {
  const b = new Uint8Array(8);
  b.set(fds(fd));
  return b;
}

export { createEmulator };
export type { Emulator, VfioDeviceFile };
