// The read fast paths of vfio-pci-core (one VfioConfig.read, or one device read, for a naturally
// aligned 1/2/4-byte read) must answer byte for byte what the chunked general paths answer: config
// dwords a capability boundary cuts in two, BAR bytes around the excluded MSI-X table, the
// memory-enable EIO. And the bigint offset split must agree with the number one.
import { describe, expect, it } from 'vitest';
import { createEmulator } from '../../../src/emulator.js';
import { readValueOpOf, splitOffset } from '../../../src/host/vfio/deviceFile.js';
import { vfioPciCoreOps, vfioPciCoreRead } from '../../../src/host/vfio/pciCore/vfioPciCore.js';
import { dmaeVfioPciOps } from '../../../src/host/variants/dmaEngine/dmaeVfioPciDriver.js';
import type { VfioPciCoreDevice } from '../../../src/host/vfio/pciCore/vfioPciCoreDevice.js';
import { VFIO } from '../../../src/host/vfio/uapi/constants.js';
import { regionOffset } from '../../../src/vmm/vfioClient.js';

const BDF = '0000:00:04.0';

describe('read fast paths', () => {
  it('every aligned 1/2/4-byte read through the file equals the chunked config rw', async () => {
    const emu = await createEmulator();
    emu.hw.addEndpoint(BDF, {
      vendorId: 0x1af4,
      deviceId: 0x1041,
      classCode: 0x020000,
      interruptPin: 1,
      bars: [{ kind: 'mem32', size: 0x1000 }, { kind: 'io', size: 0x40 }, { kind: 'mem64', size: 0x4000, prefetchable: true }],
      romSize: 0x800,
      // MSI of 10 bytes and a vendor capability of 7 bytes leave dwords shared by two map entries
      capabilities: [{ id: 'pm' }, { id: 'msi', vectors: 2 }, { id: 'vendor', length: 7 }, { id: 'msix', vectors: 4, tableBar: 2, tableOffset: 0, pbaBar: 2, pbaOffset: 0x1000 }, { id: 'pcie', flr: true }],
      extendedCapabilities: [{ id: 'aer' }, { id: 'dsn', serial: 0x0123456789abcdefn }],
    });
    emu.host.driverOverride(BDF, 'vfio-pci');
    emu.host.bind(BDF, 'vfio-pci');
    const file = emu.host.openDevice(BDF);
    const cfg = (emu.host.pciDev(BDF).driverData as VfioPciCoreDevice).config!;
    // make vconfig differ from hardware in places: BAR sizing, command, interrupt line
    file.write(regionOffset(VFIO.PCI_CONFIG_REGION_INDEX, 0x10), Uint8Array.of(0xff, 0xff, 0xff, 0xff));
    file.write(regionOffset(VFIO.PCI_CONFIG_REGION_INDEX, 0x3c), Uint8Array.of(0x0a));
    file.write(regionOffset(VFIO.PCI_CONFIG_REGION_INDEX, 0x04), Uint8Array.of(0x06, 0x04));
    let mismatches = 0;
    let compared = 0;
    for (const size of [1, 2, 4]) {
      for (let off = 0; off + size <= cfg.size; off += size) {
        const ref = new Uint8Array(size);
        expect(cfg.rw(off, ref, false)).toBe(size);
        const big = file.read(regionOffset(VFIO.PCI_CONFIG_REGION_INDEX, off), size);
        const num = file.read((VFIO.PCI_CONFIG_REGION_INDEX * 2 ** 40 + off) as unknown as bigint, size);
        // the wasm core's merge is the reference for the typed-array one, readValue answers the same
        const core = emu.hw.core.raw.vfioCfgRead(cfg.slot, off, size) >>> 0;
        const value = file.readValue(regionOffset(VFIO.PCI_CONFIG_REGION_INDEX, off), size as 1 | 2 | 4);
        const into = new Uint8Array(size);
        const n = file.readInto(regionOffset(VFIO.PCI_CONFIG_REGION_INDEX, off), into);
        compared++;
        if (n !== size || into.some((b, i) => b !== ref[i])) mismatches++;
        if (big.length !== size || num.length !== size || big.some((b, i) => b !== ref[i] || num[i] !== b)) mismatches++;
        if (ref.reduceRight((v, b) => v * 256 + b, 0) !== core || value !== core) mismatches++;
      }
    }
    expect(cfg.size).toBe(4096);
    expect(compared).toBe(4096 + 2048 + 1024);
    expect(mismatches).toBe(0);
    // the general path still answers unaligned and odd-length reads, and the bounds
    expect(Array.from(file.read(regionOffset(VFIO.PCI_CONFIG_REGION_INDEX, 1), 3))).toEqual([0x1a, 0x41, 0x10]);
    expect(() => file.read(regionOffset(VFIO.PCI_CONFIG_REGION_INDEX, 4094), 4)).toThrow(expect.objectContaining({ code: 'EFAULT' }));
    expect(() => file.read(regionOffset(VFIO.PCI_CONFIG_REGION_INDEX, 4096), 4)).toThrow(expect.objectContaining({ code: 'EFAULT' }));
    // offsets the fast path declines answer as the general path does, whichever type carries them
    const code = (f: () => unknown) => {
      try {
        return Array.from(f() as Uint8Array).join(',');
      } catch (e) {
        return (e as { code: string }).code;
      }
    };
    for (const [pos, n] of [[2 ** 32, 4], [2 ** 32 + 4, 2], [2 ** 40 - 4, 4], [2, 4], [6, 2], [0x100, 3], [0x100, 8], [0xffe, 2]] as const) {
      const big = code(() => file.read(regionOffset(VFIO.PCI_CONFIG_REGION_INDEX, pos), n));
      const num = code(() => file.read((VFIO.PCI_CONFIG_REGION_INDEX * 2 ** 40 + pos) as unknown as bigint, n));
      const ref = new Uint8Array(n);
      const want = code(() => (cfg.rw(pos, ref, false), ref));
      expect([pos, big, num]).toEqual([pos, want, want]);
    }
    // outside low power only: an engaged device takes the general path, and reads the same
    const hdr = Array.from(file.read(regionOffset(VFIO.PCI_CONFIG_REGION_INDEX, 0), 4));
    const arg = new Uint8Array(8);
    new DataView(arg.buffer).setUint32(0, 8, true);
    new DataView(arg.buffer).setUint32(4, VFIO.DEVICE_FEATURE_SET | VFIO.DEVICE_FEATURE_LOW_POWER_ENTRY, true);
    file.ioctl(VFIO.DEVICE_FEATURE, arg);
    expect(Array.from(file.read(regionOffset(VFIO.PCI_CONFIG_REGION_INDEX, 0), 4))).toEqual(hdr);
  });

  it('every aligned 1/2/4-byte BAR read equals the same bytes of one whole-BAR read (the piece loop)', async () => {
    const emu = await createEmulator();
    emu.hw.addEndpoint(BDF, {
      vendorId: 0x1af4,
      deviceId: 0x1041,
      classCode: 0x020000,
      bars: [{ kind: 'mem32', size: 0x1000 }, { kind: 'io', size: 0x40 }, { kind: 'mem64', size: 0x2000 }],
      capabilities: [{ id: 'msix', vectors: 4, tableBar: 2, tableOffset: 0x800, pbaBar: 2, pbaOffset: 0x1000 }],
    });
    emu.host.driverOverride(BDF, 'vfio-pci');
    emu.host.bind(BDF, 'vfio-pci');
    const file = emu.host.openDevice(BDF);
    for (const [index, size] of [[0, 0x1000], [1, 0x40], [2, 0x2000]] as const) {
      for (let off = 0; off < size; off += 4) file.write(regionOffset(index, off), Uint8Array.of(off, off >> 8, index, 0x5a));
      const whole = file.read(regionOffset(index, 0), size); // one call: the chunked loop
      if (index === 2) expect(whole.subarray(0x800, 0x840).every((b) => b === 0xff)).toBe(true); // the MSI-X table
      let mismatches = 0;
      for (const n of [1, 2, 4]) {
        for (let off = 0; off + n <= size; off += n) {
          const got = file.read(regionOffset(index, off), n);
          if (got.some((b, i) => b !== whole[off + i])) mismatches++;
        }
      }
      expect(mismatches).toBe(0);
    }
    // memory decode off: the fast path fails as the loop does; I/O BARs do not care
    const cmd = file.read(regionOffset(VFIO.PCI_CONFIG_REGION_INDEX, 4), 2);
    file.write(regionOffset(VFIO.PCI_CONFIG_REGION_INDEX, 4), Uint8Array.of(cmd[0] & ~2, cmd[1]));
    expect(() => file.read(regionOffset(0, 0x10), 4)).toThrow(expect.objectContaining({ code: 'EIO' }));
    expect(() => file.read(regionOffset(2, 0x10), 8)).toThrow(expect.objectContaining({ code: 'EIO' }));
    expect(Array.from(file.read(regionOffset(2, 0x800), 4))).toEqual([0xff, 0xff, 0xff, 0xff]); // excluded: no EIO
    expect(file.read(regionOffset(1, 0x10), 4)[3]).toBe(0x5a);
  });

  it('splitOffset: bigint and number offsets give the same index and position', () => {
    const cases: [number, number][] = [[0, 0], [7, 0], [7, 0xffc], [0, 2 ** 40 - 1], [9, 0x123456789], [255, 2 ** 32], [8191, 2 ** 40 - 1]];
    for (const [index, pos] of cases) {
      expect(splitOffset((BigInt(index) << 40n) | BigInt(pos))).toEqual([index, pos]);
      expect(splitOffset(index * 2 ** 40 + pos)).toEqual([index, pos]);
    }
    // the top of the u64 range: index bits up to 63
    expect(splitOffset((1n << 64n) - 1n)).toEqual([2 ** 24 - 1, 2 ** 40 - 1]);
  });

  it('readValue takes the number-returning config read only while it mirrors the ops\' read', () => {
    expect(readValueOpOf(vfioPciCoreOps)).toBe(vfioPciCoreOps.readConfigValue);
    expect(readValueOpOf(dmaeVfioPciOps)).toBe(vfioPciCoreOps.readConfigValue); // spreads the core's ops, keeps its read
    // a variant that spreads the core's ops but reads its own way is never bypassed
    const own = (vdev: VfioPciCoreDevice, offset: bigint, buf: Uint8Array) => vfioPciCoreRead(vdev, offset, buf);
    expect(readValueOpOf({ ...vfioPciCoreOps, read: own })).toBeNull();
    expect(readValueOpOf({ name: 'no-read' })).toBeNull();
  });
});
