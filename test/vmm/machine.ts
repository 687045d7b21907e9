// Shared set-up for the VMM tests: a host emulator with devices bound to vfio-pci, a VMM with the
// device files assigned, and a guest on the VMM's bus. Everything goes through the public layers:
// hw builds the host, the host binds and opens device files, the VMM assigns them, the guest uses
// config cycles, MMIO and its interrupt controller.
import { expect } from 'vitest';
import { createEmulator } from '../../src/emulator.js';
import type { Emulator } from '../../src/emulator.js';
import type { EndpointSpec } from '../../src/hw/spec.js';
import type { PciFunction } from '../../src/hw/pciFunction.js';
import type { VfioDeviceFile } from '../../src/host/vfio/deviceFile.js';
import { Guest } from '../../src/guest/guest.js';
import type { EnumeratedFunction, EnumerationResult } from '../../src/guest/enumerator.js';
import { Vmm } from '../../src/vmm/vmm.js';
import type { VmmOptions } from '../../src/vmm/vmm.js';

/** A plain PCIe endpoint with MSI (4 vectors, 64-bit, per-vector mask), INTx pin B, FLR. */
export const MSI_SPEC: EndpointSpec = {
  vendorId: 0x8086,
  deviceId: 0x10d3,
  classCode: 0x020000,
  interruptPin: 2,
  bars: [{ kind: 'mem32', size: 0x4000 }, { kind: 'io', size: 0x20 }],
  capabilities: [{ id: 'pm' }, { id: 'msi', vectors: 4, is64: true, perVectorMask: true }, { id: 'pcie', flr: true }],
};

export interface HostDevice {
  kind: 'dma' | 'endpoint';
  hostBdf: string;
  guestBdf: string;
  spec?: EndpointSpec;
  deviceMemoryBytes?: number;
  /** host driver: 'vfio-pci' (through driver_override), or the best `vfio_pci:` match (default) */
  driver?: 'vfio-pci' | 'best';
}

export interface Machine {
  emu: Emulator;
  vmm: Vmm;
  guest: Guest;
  /** host functions by guest bdf */
  hostFn: Map<string, PciFunction>;
}

/** Builds the host devices, binds them to vfio, assigns them to a VMM and puts a guest on its bus. */
export async function machine(
  devices: HostDevice[],
  opts: { memoryBytes?: number; vmm?: VmmOptions; beforeBind?: (emu: Emulator) => void; wrapFile?: (file: VfioDeviceFile, d: HostDevice) => VfioDeviceFile } = {},
): Promise<Machine> {
  const emu = await createEmulator({ memoryBytes: opts.memoryBytes ?? 4 << 20 });
  const hostFn = new Map<string, PciFunction>();
  for (const d of devices) {
    const fn = d.kind === 'dma' ? emu.hw.addDmaEngine(d.hostBdf, { deviceMemoryBytes: d.deviceMemoryBytes ?? 64 << 10 }) : emu.hw.addEndpoint(d.hostBdf, d.spec ?? MSI_SPEC);
    hostFn.set(d.guestBdf, fn);
  }
  opts.beforeBind?.(emu);
  const vmm = new Vmm(emu, opts.vmm);
  for (const d of devices) {
    if (d.driver === 'vfio-pci') {
      emu.host.driverOverride(d.hostBdf, 'vfio-pci');
      expect(emu.host.bind(d.hostBdf, 'vfio-pci')).toBe('vfio-pci');
    } else {
      expect(emu.host.bind(d.hostBdf)).toMatch(/vfio-pci$/);
    }
    const file = emu.host.openDevice(d.hostBdf);
    vmm.assign(opts.wrapFile ? opts.wrapFile(file, d) : file, d.guestBdf);
  }
  const guest = new Guest(vmm);
  vmm.connectInterruptController(guest.irq);
  return { emu, vmm, guest, hostFn };
}

/** Lets every host device with work do up to `budget` units (devices only work when ticked). */
export function tickHost(emu: Emulator, budget = 64): number {
  let n = 0;
  for (const f of emu.hw.functions()) n += f.model.tick?.(f, budget) ?? 0;
  return n;
}

export function fnAt(result: EnumerationResult, bdf: string): EnumeratedFunction {
  const f = result.functions.find((x) => x.bdf === bdf);
  if (!f) throw new Error(`${bdf} was not enumerated (found ${result.functions.map((x) => x.bdf).join(', ')})`);
  return f;
}

/** Every access a VMM makes to a device file, for checking what reached it. */
export interface FileLog {
  reads: [index: number, offset: number, length: number][];
  /** value: the written bytes as a little-endian number (first 4) */
  writes: [index: number, offset: number, length: number, value: number][];
  ioctls: number[];
}

/** A device file that records every read, write and ioctl before passing it on. */
export function recordingFile(file: VfioDeviceFile, log: FileLog): VfioDeviceFile {
  const split = (o: bigint): [number, number] => [Number(o >> 40n), Number(o & 0xffffffffffn)];
  return {
    ioctl: (req, arg) => (log.ioctls.push(req), file.ioctl(req, arg)),
    read: (o, len) => (log.reads.push([...split(o), len]), file.read(o, len)),
    write: (o, data) => (log.writes.push([...split(o), data.length, data.subarray(0, 4).reduceRight((v, b) => v * 256 + b, 0)]), file.write(o, data)),
    readInto: (o, buf) => (log.reads.push([...split(o), buf.length]), file.readInto(o, buf)),
    readValue: (o, size) => (log.reads.push([...split(o), size]), file.readValue(o, size)),
    writeValue: (o, size, value) => (log.writes.push([...split(o), size, size === 4 ? value >>> 0 : value & (size === 2 ? 0xffff : 0xff)]), file.writeValue(o, size, value)),
    close: () => file.close(),
  };
}
