// VFIO_DEVICE_GET_REGION_INFO (vfio_pci_ioctl_get_region_info and vfio_pci_probe_mmaps): every fixed
// index, the MMAP flag rules, the MSI-X mappable capability on the MSI-X BAR, device-specific regions
// with their type capability, and the argsz protocol of a capability chain.
import { describe, expect, it } from 'vitest';
import { L } from '../../../src/core/wasm.js';
import type { VfioPciCoreDevice } from '../../../src/host/vfio/pciCore/vfioPciCoreDevice.js';
import {
  CONVENTIONAL_SPEC, NO_RESET_SPEC, PCIE_SPEC, VFIO, VfioClient, createEmulator, errno, getU32, getU64, openOne, u32s,
} from './machine.js';
import type { VfioDeviceFile } from './machine.js';

const R = VFIO.REGION_INFO_FLAG_READ;
const W = VFIO.REGION_INFO_FLAG_WRITE;
const MMAP = VFIO.REGION_INFO_FLAG_MMAP;
const CAPS = VFIO.REGION_INFO_FLAG_CAPS;
const PAGE = 4096;

/** A raw vfio_region_info in a buffer of `bufSize` bytes pre-filled with 0xee (to see what is written). */
function regionInfoArg(index: number, argsz: number, bufSize = Math.max(argsz, 32)): Uint8Array {
  const b = new Uint8Array(bufSize).fill(0xee);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, argsz, true);
  dv.setUint32(4, 0, true);
  dv.setUint32(8, index, true);
  dv.setUint32(12, 0, true);
  return b;
}

function rawInfo(file: VfioDeviceFile, index: number, argsz: number, bufSize?: number) {
  const arg = regionInfoArg(index, argsz, bufSize);
  file.ioctl(VFIO.DEVICE_GET_REGION_INFO, arg);
  return { arg, argsz: getU32(arg, 0), flags: getU32(arg, 4), index: getU32(arg, 8), capOffset: getU32(arg, 12), size: getU64(arg, 16), offset: getU64(arg, 24) };
}

describe('DEVICE_GET_REGION_INFO: the fixed indices', () => {
  it('describes every BAR, the ROM and config space of a PCIe device', async () => {
    const { c } = await openOne(PCIE_SPEC);
    const rows = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => {
      const r = c.getRegionInfo(i);
      return { i, flags: r.flags, size: r.size, offset: r.offset, caps: r.caps.map((x) => x.id) };
    });
    expect(rows).toEqual([
      // BAR0 mem32 16K holds the MSI-X table: mappable, with the MSIX_MAPPABLE capability
      { i: 0, flags: R | W | MMAP | CAPS, size: 0x4000n, offset: 0n, caps: [VFIO.REGION_INFO_CAP_MSIX_MAPPABLE] },
      // BAR1 I/O: never mmap
      { i: 1, flags: R | W, size: 0x20n, offset: 1n << 40n, caps: [] },
      // BAR2 mem64: the region carries the whole 64-bit BAR ...
      { i: 2, flags: R | W | MMAP, size: 0x100000n, offset: 2n << 40n, caps: [] },
      // ... and BAR3 (its upper half) is an empty region, like the unimplemented BAR4 and BAR5
      { i: 3, flags: 0, size: 0n, offset: 3n << 40n, caps: [] },
      { i: 4, flags: 0, size: 0n, offset: 4n << 40n, caps: [] },
      { i: 5, flags: 0, size: 0n, offset: 5n << 40n, caps: [] },
      // ROM: read-only, the BAR size (the image has the 0x55AA signature)
      { i: 6, flags: R, size: 0x800n, offset: 6n << 40n, caps: [] },
      // config: 4096 bytes for a PCI Express function
      { i: 7, flags: R | W, size: 4096n, offset: 7n << 40n, caps: [] },
    ]);
  });

  it('reports the ROM image the device carries, and no ROM as an empty region', async () => {
    const { file, c } = await openOne(PCIE_SPEC);
    const rom = file.read(6n << 40n, 4);
    expect([rom[0], rom[1]]).toEqual([0x55, 0xaa]);
    expect(c.getRegionInfo(VFIO.PCI_ROM_REGION_INDEX).flags).toBe(R);
    const none = (await openOne(CONVENTIONAL_SPEC)).c.getRegionInfo(VFIO.PCI_ROM_REGION_INDEX);
    expect({ flags: none.flags, size: none.size, offset: none.offset }).toEqual({ flags: 0, size: 0n, offset: 6n << 40n });
  });

  it('has 256 bytes of config space for a conventional PCI function', async () => {
    const r = (await openOne(CONVENTIONAL_SPEC)).c.getRegionInfo(VFIO.PCI_CONFIG_REGION_INDEX);
    expect({ flags: r.flags, size: r.size }).toEqual({ flags: R | W, size: 256n });
  });

  it('answers EINVAL for VGA (no VGA device), for indices past the last region, and for huge indices', async () => {
    const { file } = await openOne(PCIE_SPEC);
    for (const index of [VFIO.PCI_VGA_REGION_INDEX, 9, 10, 0x7fffffff, 0xffffffff]) {
      expect(errno(() => file.ioctl(VFIO.DEVICE_GET_REGION_INFO, regionInfoArg(index, 32)))).toBe('EINVAL');
    }
  });

  it('rejects argsz below 32 with EINVAL and a short buffer with EFAULT', async () => {
    const { file } = await openOne(PCIE_SPEC);
    for (const argsz of [0, 16, 24, 31]) expect(errno(() => file.ioctl(VFIO.DEVICE_GET_REGION_INFO, regionInfoArg(1, argsz)))).toBe('EINVAL');
    expect(errno(() => file.ioctl(VFIO.DEVICE_GET_REGION_INFO, u32s(24, 32, 0, 1)))).toBe('EFAULT');
  });
});

describe('DEVICE_GET_REGION_INFO: the MMAP flag', () => {
  it('maps memory BARs of at least a page; never I/O BARs', async () => {
    const { c } = await openOne({
      ...NO_RESET_SPEC,
      bars: [{ kind: 'mem32', size: PAGE }, { kind: 'io', size: 0x100 }, { kind: 'mem32', size: 0x10000, prefetchable: true }],
    });
    expect(c.getRegionInfo(0).flags).toBe(R | W | MMAP);
    expect(c.getRegionInfo(1).flags).toBe(R | W);
    expect(c.getRegionInfo(2).flags).toBe(R | W | MMAP);
  });

  it('maps a sub-page BAR only when it starts a page whose rest nothing else uses', async () => {
    const emu = await createEmulator();
    // alone on its page: the only BAR behind a bridge, at the start of the bridge's 1 MiB window
    emu.hw.addBridge('0000:00:01.0', { secondaryBus: 1 });
    emu.hw.addEndpoint('0000:01:00.0', { ...NO_RESET_SPEC, bars: [{ kind: 'mem32', size: 0x800 }] });
    // two 0x100 BARs share a page: the first starts it but the second sits in its rest, so neither maps
    emu.hw.addEndpoint('0000:00:04.0', { ...NO_RESET_SPEC, bars: [{ kind: 'mem32', size: 0x100 }, { kind: 'mem32', size: 0x100 }] });
    for (const bdf of ['0000:01:00.0', '0000:00:04.0']) emu.host.bind(bdf);
    const a = new VfioClient(emu.host.openDevice('0000:01:00.0'));
    const b = new VfioClient(emu.host.openDevice('0000:00:04.0'));
    const pa = emu.host.pciDev('0000:01:00.0');
    const pb = emu.host.pciDev('0000:00:04.0');
    // where the host put them (the rule below depends on it)
    const small = pa.resourceStart(0);
    expect(small % PAGE).toBe(0);
    const [b0, b1] = [pb.resourceStart(0), pb.resourceStart(1)].sort((x, y) => x - y);
    expect(b0 % PAGE).toBe(0);
    expect(b1).toBe(b0 + 0x100);
    // every other memory resource of the host stays off the rest of 01:00.0's page
    for (const f of emu.hw.functions()) {
      const d = emu.host.pciDev(f.bdf);
      for (let i = 0; i < 7; i++) {
        if (d === pa && i === 0) continue;
        const s = d.resourceStart(i);
        const l = d.resourceLen(i);
        if (l && f.barKind(i) !== L.BAR_IO) expect(s + l <= small || s >= small + PAGE).toBe(true);
      }
    }
    expect(a.getRegionInfo(0).flags).toBe(R | W | MMAP);
    expect(b.getRegionInfo(0).flags).toBe(R | W);
    expect(b.getRegionInfo(1).flags).toBe(R | W);
  });
});

describe('DEVICE_GET_REGION_INFO: capability chains', () => {
  it('asks for more room: CAPS set, argsz raised to what the chain needs, cap_offset 0, nothing past the struct written', async () => {
    const { file } = await openOne(PCIE_SPEC);
    const small = rawInfo(file, 0, 32, 48);
    expect(small.flags).toBe(R | W | MMAP | CAPS);
    expect(small.argsz).toBe(40); // 32-byte struct + the 8-byte MSIX_MAPPABLE header
    expect(small.capOffset).toBe(0);
    expect(small.size).toBe(0x4000n);
    expect([...small.arg.subarray(32)]).toEqual(new Array(16).fill(0xee));
  });

  it('places the chain right after the struct when argsz has room, leaving argsz as given', async () => {
    const { file } = await openOne(PCIE_SPEC);
    for (const argsz of [40, 64]) {
      const big = rawInfo(file, 0, argsz, 72);
      expect(big.flags).toBe(R | W | MMAP | CAPS);
      expect(big.argsz).toBe(argsz);
      expect(big.capOffset).toBe(32);
      // struct vfio_info_cap_header { u16 id = 3 (MSIX_MAPPABLE); u16 version = 1; u32 next = 0 }
      expect([...big.arg.subarray(32, 40)]).toEqual([3, 0, 1, 0, 0, 0, 0, 0]);
      expect([...big.arg.subarray(40)]).toEqual(new Array(32).fill(0xee));
    }
  });

  it('is EFAULT when argsz promises room the buffer does not have', async () => {
    const { file } = await openOne(PCIE_SPEC);
    expect(errno(() => file.ioctl(VFIO.DEVICE_GET_REGION_INFO, regionInfoArg(0, 40, 32)))).toBe('EFAULT');
  });

  it('never gives a BAR without the MSI-X table a capability', async () => {
    const { file } = await openOne(PCIE_SPEC);
    const r = rawInfo(file, 2, 32);
    expect(r.flags & CAPS).toBe(0);
    expect(r.argsz).toBe(32);
    expect(r.capOffset).toBe(0);
  });

  it('describes a device-specific region with its TYPE capability and any extra ones, chained by next', async () => {
    const { emu, bdf, file, c } = await openOne(PCIE_SPEC);
    const vdev = emu.host.pciDev(bdf).driverData as VfioPciCoreDevice;
    const extra = new Uint8Array(16);
    new DataView(extra.buffer).setUint16(0, 0x1234, true); // a made-up capability id, version 7, 8 payload bytes
    new DataView(extra.buffer).setUint16(2, 7, true);
    extra.set([1, 2, 3, 4, 5, 6, 7, 8], 8);
    const index = vdev.registerDevRegion({
      type: (VFIO.REGION_TYPE_PCI_VENDOR_TYPE | 0x8086) >>> 0,
      subtype: 5,
      size: 0x300,
      flags: R | W,
      rw: () => 0,
      extraCaps: () => [extra],
    });
    expect(index).toBe(9);
    const short = rawInfo(file, 9, 32);
    expect(short).toMatchObject({ flags: R | W | CAPS, argsz: 32 + 16 + 16, capOffset: 0, size: 0x300n, offset: 9n << 40n });
    const full = rawInfo(file, 9, 64);
    expect(full.capOffset).toBe(32);
    const cap = full.arg;
    // vfio_region_info_cap_type { header {2, 1, next 48}, type, subtype }
    expect([getU32(cap, 32) & 0xffff, getU32(cap, 32) >>> 16, getU32(cap, 36), getU32(cap, 40), getU32(cap, 44)]).toEqual([
      VFIO.REGION_INFO_CAP_TYPE, 1, 48, (VFIO.REGION_TYPE_PCI_VENDOR_TYPE | 0x8086) >>> 0, 5,
    ]);
    // the extra capability, last in the chain (next 0)
    expect([getU32(cap, 48) & 0xffff, getU32(cap, 48) >>> 16, getU32(cap, 52)]).toEqual([0x1234, 7, 0]);
    expect([...cap.subarray(56, 64)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(c.getRegionInfo(9).caps.map((x) => x.id)).toEqual([VFIO.REGION_INFO_CAP_TYPE, 0x1234]);
    expect(errno(() => file.ioctl(VFIO.DEVICE_GET_REGION_INFO, regionInfoArg(10, 32)))).toBe('EINVAL');
  });
});
