// Replays, on a pcisim clone of a real device bound to vfio-pci, what scripts/real-vfio-dump asked
// the real Linux 6.1 vfio-pci: DEVICE_GET_INFO, REGION_INFO and IRQ_INFO of every index, the config
// region one dword at a time, and the same writes with their read-backs.
import { createEmulator } from '../../src/emulator.js';
import type { Emulator } from '../../src/emulator.js';
import type { ConfigImageSpec } from '../../src/hw/spec.js';
import type { HostPools } from '../../src/host/resourceAssignment.js';
import { VFIO } from '../../src/host/vfio/uapi/constants.js';
import { VfioError } from '../../src/host/vfio/vfioError.js';
import type { VfioDeviceFile } from '../../src/host/vfio/deviceFile.js';
import { regionOffset } from '../../src/vmm/vfioClient.js';
import { barSizesOf, hexBytes, romSizeOf } from '../fixtures/real/load.js';
import type { RealDump, RealIrqStep, RealRegion, RealWrite } from '../fixtures/real/load.js';
import { buildIrqSet } from '../../src/host/vfio/uapi/irqSet.js';

/**
 * Host address pools that start where the dump's firmware put the device's resources (1 MiB windows
 * for memory, 4 KiB for I/O). SeaBIOS and pcisim's host both place the largest resource first, so
 * the clone's BARs get the real addresses.
 */
export function poolsOf(dump: RealDump): Partial<HostPools> {
  const res = dump.raw.resource.slice(0, 7).filter((r) => r.size > 0);
  const start = (r: { start: string }) => Number(r.start);
  const MEM64 = 0x00100000; // IORESOURCE_MEM_64
  const pool = (rs: typeof res, gran: number) =>
    rs.length ? { base: Math.floor(Math.min(...rs.map(start)) / gran) * gran, end: Math.floor(Math.min(...rs.map(start)) / gran) * gran + 4 * gran } : undefined;
  const PREFETCH = 0x2000; // IORESOURCE_PREFETCH: only a prefetchable 64-bit BAR goes above 4 GiB
  const isMem = (r: (typeof res)[number]) => (Number(r.flags) & 0x200) !== 0;
  const isPref64 = (r: (typeof res)[number]) => (Number(r.flags) & MEM64) !== 0 && (Number(r.flags) & PREFETCH) !== 0;
  const io = pool(res.filter((r) => Number(r.flags) & 0x100), 0x1000);
  const mem32 = pool(res.filter((r) => isMem(r) && !isPref64(r)), 0x100000);
  const mem64 = pool(res.filter((r) => isMem(r) && isPref64(r)), 0x100000);
  return { ...(io && { io }), ...(mem32 && { mem32 }), ...(mem64 && { mem64 }) };
}

const ERRNO: Record<string, number> = { EINVAL: 22, EFAULT: 14, EPERM: 1, ENOTTY: 25, EIO: 5 };

export interface CloneView {
  emu: Emulator;
  bdf: string;
  file: VfioDeviceFile;
  deviceInfo: { flags: number; numRegions: number; numIrqs: number };
  regions: Pick<RealRegion, 'index' | 'ret' | 'errno' | 'argsz' | 'flags' | 'capOffset' | 'size' | 'offset' | 'bytes'>[];
  irqs: { index: number; ret: number; errno: number; flags: number; count: number }[];
  config: string;
  writes: RealWrite[];
  configAfterWrites: string;
  irqSequence: RealIrqStep[];
}

function u32(b: Uint8Array, o: number): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(o, true);
}

function ioctl(file: VfioDeviceFile, req: number, arg: Uint8Array): { ret: number; errno: number } {
  try {
    return { ret: file.ioctl(req, arg), errno: 0 };
  } catch (e) {
    if (!(e instanceof VfioError)) throw e;
    return { ret: -1, errno: ERRNO[e.code] ?? -1 };
  }
}

function cfgRead(file: VfioDeviceFile, off: number, size: 1 | 2 | 4): number {
  const b = file.read(regionOffset(VFIO.PCI_CONFIG_REGION_INDEX, off), size);
  let v = 0;
  for (let i = size - 1; i >= 0; i--) v = v * 256 + b[i];
  return v;
}

function cfgWrite(file: VfioDeviceFile, off: number, size: 1 | 2 | 4, value: number): number {
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i++) b[i] = (value >>> (8 * i)) & 0xff;
  try {
    file.write(regionOffset(VFIO.PCI_CONFIG_REGION_INDEX, off), b);
    return 0;
  } catch (e) {
    if (!(e instanceof VfioError)) throw e;
    return -(ERRNO[e.code] ?? 1);
  }
}

function configHex(file: VfioDeviceFile): string {
  const out = new Uint8Array(4096);
  const dv = new DataView(out.buffer);
  for (let o = 0; o < 4096; o += 4) dv.setUint32(o, cfgRead(file, o, 4), true);
  return Buffer.from(out).toString('hex');
}

/**
 * Clones `dump` from its raw sysfs image behind a root port at bus 1 (as the dump's QEMU machine had
 * it), binds vfio-pci through driver_override, and asks what the dump asked.
 */
export async function replayOnClone(dump: RealDump, extra: Partial<ConfigImageSpec> = {}): Promise<CloneView> {
  const emu = await createEmulator({ memoryBytes: 1 << 20 });
  // BAR addresses are the host's choice: give pcisim's host the windows the dump's firmware used
  // (both place the largest resources first), so the addresses can be compared too
  Object.assign(emu.host.pci.pools, poolsOf(dump));
  emu.hw.addBridge('0000:00:02.0', { secondaryBus: 1, portType: 'root' });
  const bdf = '0000:01:00.0';
  emu.hw.addEndpoint(bdf, { configImage: hexBytes(dump.raw.config), barSizes: barSizesOf(dump), romSize: romSizeOf(dump), ...extra });
  // pcisim's host has virtio-pci and probes on hot-add; the dump's guest had no driver loaded
  emu.host.driverOverride(bdf, 'vfio-pci');
  if (emu.host.pci.device(bdf)?.driver) emu.host.unbind(bdf);
  emu.host.bind(bdf, 'vfio-pci');
  const file = emu.host.openDevice(bdf);

  const di = new Uint8Array(24);
  di.set(new Uint8Array(new Uint32Array([20]).buffer));
  ioctl(file, VFIO.DEVICE_GET_INFO, di);
  const deviceInfo = { flags: u32(di, 4), numRegions: u32(di, 8), numIrqs: u32(di, 12) };

  const regions: CloneView['regions'] = [];
  for (let i = 0; i < deviceInfo.numRegions; i++) {
    let arg = new Uint8Array(32);
    new DataView(arg.buffer).setUint32(0, 32, true);
    new DataView(arg.buffer).setUint32(8, i, true);
    const r = ioctl(file, VFIO.DEVICE_GET_REGION_INFO, arg);
    const want = u32(arg, 0);
    if (r.ret === 0 && want > 32) {
      arg = new Uint8Array(want);
      new DataView(arg.buffer).setUint32(0, want, true);
      new DataView(arg.buffer).setUint32(8, i, true);
      ioctl(file, VFIO.DEVICE_GET_REGION_INFO, arg);
    }
    const dv = new DataView(arg.buffer);
    regions.push({
      index: i, ret: r.ret, errno: r.errno, argsz: want, flags: u32(arg, 4), capOffset: u32(arg, 12),
      size: Number(dv.getBigUint64(16, true)), offset: '0x' + dv.getBigUint64(24, true).toString(16),
      bytes: Buffer.from(arg.subarray(0, Math.max(32, Math.min(want, arg.length)))).toString('hex'),
    });
  }
  const irqs: CloneView['irqs'] = [];
  for (let i = 0; i < deviceInfo.numIrqs; i++) {
    const arg = new Uint8Array(16);
    new DataView(arg.buffer).setUint32(0, 16, true);
    new DataView(arg.buffer).setUint32(8, i, true);
    const r = ioctl(file, VFIO.DEVICE_GET_IRQ_INFO, arg);
    irqs.push({ index: i, ret: r.ret, errno: r.errno, flags: u32(arg, 4), count: u32(arg, 12) });
  }
  const config = configHex(file);
  const writes: RealWrite[] = dump.vfio.writes.map((w) => {
    const before = cfgRead(file, w.offset, w.size);
    const writeErr = cfgWrite(file, w.offset, w.size, w.value);
    const readBack = cfgRead(file, w.offset, w.size);
    const restoreErr = cfgWrite(file, w.offset, w.size, before);
    const restored = cfgRead(file, w.offset, w.size);
    return { what: w.what, offset: w.offset, size: w.size, value: w.value, before, writeErr, readBack, restoreErr, restored };
  });
  const configAfterWrites = configHex(file);
  // the interrupt steps, with Message Control read where the dump read it
  const msi = capAt(config, 0x05);
  const msix = capAt(config, 0x11);
  const irqSequence = dump.vfio.irqSequence.map((step) => {
    const data = step.count ? { kind: 'eventfd' as const, fds: Array.from({ length: step.count }, () => emu.host.eventfd().fd) } : { kind: 'none' as const };
    const r = ioctl(file, VFIO.DEVICE_SET_IRQS, buildIrqSet({ flags: VFIO.IRQ_SET_ACTION_TRIGGER, index: step.index, start: 0, count: step.count }, data));
    return {
      what: step.what, index: step.index, count: step.count, ret: r.ret, errno: r.errno,
      msiFlags: msi ? cfgRead(file, msi + 2, 2) : -1, msixFlags: msix ? cfgRead(file, msix + 2, 2) : -1,
    };
  });
  return { emu, bdf, file, deviceInfo, regions, irqs, config, writes, configAfterWrites, irqSequence };
}

/** Offset of the first standard capability `id` in a config hex string, or 0. */
function capAt(config: string, id: number): number {
  const b = hexBytes(config);
  for (let p = b[0x34] & 0xfc, n = 0; p !== 0 && n < 48; p = b[p + 1] & 0xfc, n++) if (b[p] === id) return p;
  return 0;
}

/** Dwords where two 4096-byte config hex strings differ: offset and both values. */
export function dwordDiff(real: string, clone: string): { offset: number; real: number; clone: number }[] {
  const a = hexBytes(real);
  const b = hexBytes(clone);
  const out: { offset: number; real: number; clone: number }[] = [];
  for (let o = 0; o < 4096; o += 4) if (u32(a, o) !== u32(b, o)) out.push({ offset: o, real: u32(a, o), clone: u32(b, o) });
  return out;
}
