// The VMM maps an assigned device's mappable BAR areas (VfioDeviceFile.mmap) and serves the guest's
// accesses there with loads and stores through the mapping, as QEMU maps them into the guest; the
// MSI-X table and PBA pages stay trapped, a file that cannot map goes through read/write, and the
// VMM's close unmaps before it closes the file. The virtio variant's emulated BAR0 never maps.
import { describe, expect, it } from 'vitest';
import { createEmulator } from '../../src/emulator.js';
import { LoopbackPeer } from '../../src/hw/devices/virtio/loopbackPeer.js';
import { DMAE_REG } from '../../src/hw/devices/dmaEngine/regs.js';
import type { VfioDeviceFile, VfioDeviceFileImpl } from '../../src/host/vfio/deviceFile.js';
import { VFIO } from '../../src/host/vfio/uapi/constants.js';
import { VfioError } from '../../src/host/vfio/vfioError.js';
import { VfioClient, regionOffset } from '../../src/vmm/vfioClient.js';
import { fnAt, machine } from './machine.js';

const A = { kind: 'dma' as const, hostBdf: '0000:00:05.0', guestBdf: '0000:00:03.0' };

const openCount = (file: VfioDeviceFile) => (file as VfioDeviceFileImpl).vdev.openCount;

describe('BAR mappings in the VMM', () => {
  it("serves the guest's BAR accesses through the mapping, MSI-X pages trapped, and unmaps on close", async () => {
    let file: VfioDeviceFile | null = null;
    const m = await machine([A], { wrapFile: (f) => (file = f) });
    const r = m.guest.enumerate();
    const f = fnAt(r, A.guestBdf);
    const dev = m.vmm.device(A.guestBdf)!;
    const bar0 = dev.regions[0]!;
    expect(bar0.mappedSpans.length).toBeGreaterThan(0);
    expect(bar0.mappedSpans).toEqual(bar0.direct);
    // the MSI-X table and PBA pages are the VMM's, never mapped
    const l = dev.msix!.layout;
    for (const s of bar0.mappedSpans) {
      if (l.tableBar === 0) expect(l.tableOffset >= s.end || l.tableOffset + dev.msix!.tableBytes <= s.start).toBe(true);
      if (l.pbaBar === 0) expect(l.pbaOffset >= s.end || l.pbaOffset + dev.msix!.pbaBytes <= s.start).toBe(true);
    }
    const before = bar0.directAccesses;
    m.guest.io.mmioWrite(f.bars[0].address! + DMAE_REG.SCRATCH, 4, 0x5eed1234);
    expect(m.guest.io.mmioRead(f.bars[0].address! + DMAE_REG.SCRATCH, 4)).toBe(0x5eed1234);
    expect(bar0.directAccesses).toBe(before + 2);
    // the store reached the device: the host sees it at the BAR's host address
    expect(m.emu.hw.mmioRead(m.emu.host.pciDev(A.hostBdf).resourceStart(0) + DMAE_REG.SCRATCH, 4)).toBe(0x5eed1234);
    expect(openCount(file!)).toBe(1);
    m.vmm.close();
    expect(openCount(file!)).toBe(0);
  });

  it("the guest bus hands an assigned function's aligned BAR accesses straight to the VMM's device; misaligned ones are split, the MSI-X table stays the VMM's", async () => {
    const m = await machine([A]);
    const f = fnAt(m.guest.enumerate(), A.guestBdf);
    const dev = m.vmm.device(A.guestBdf)!;
    const pt = m.vmm.hw.function(A.guestBdf)!;
    expect(pt.barsToModel).toBe(true);
    const calls: string[] = [];
    const ptWrite = pt.barWrite.bind(pt);
    pt.barWrite = (bar, off, size, v) => {
      calls.push(`fn ${off} ${size}`);
      ptWrite(bar, off, size, v);
    };
    const devWrite = dev.barWrite.bind(dev);
    dev.barWrite = (fn, bar, off, size, v) => {
      calls.push(`dev ${off} ${size}`);
      devWrite(fn, bar, off, size, v);
    };
    const base = f.bars[0].address!;
    m.guest.io.mmioWrite(base + DMAE_REG.SCRATCH, 4, 0x01020304);
    expect(calls).toEqual([`dev ${DMAE_REG.SCRATCH} 4`]);
    calls.length = 0;
    // a bus splits a misaligned access into bytes, through the function as before
    m.guest.io.mmioWrite(base + DMAE_REG.SCRATCH + 1, 2, 0xaabb);
    expect(calls).toEqual([`fn ${DMAE_REG.SCRATCH + 1} 1`, `dev ${DMAE_REG.SCRATCH + 1} 1`, `fn ${DMAE_REG.SCRATCH + 2} 1`, `dev ${DMAE_REG.SCRATCH + 2} 1`]);
    expect(m.guest.io.mmioRead(base + DMAE_REG.SCRATCH, 4)).toBe(0x01aabb04);
    // the MSI-X table is emulated by the VMM's device, reached the same direct way
    const l = dev.msix!.layout;
    const tableAt = fnAt(m.guest.enumerate(), A.guestBdf).bars[l.tableBar].address! + l.tableOffset;
    m.guest.io.mmioWrite(tableAt + 8, 4, 0x4242);
    expect(dev.msix!.table[2]).toBe(0x4242);
    m.vmm.close();
  });

  it('a file that cannot map (a wrapper without mmap) is served through read/write, unchanged for the guest', async () => {
    const m = await machine([A], {
      wrapFile: (f) => ({
        ioctl: (r, a) => f.ioctl(r, a),
        read: (o, n) => f.read(o, n),
        readInto: (o, b) => f.readInto(o, b),
        readValue: (o, s) => f.readValue(o, s),
        writeValue: (o, s, v) => f.writeValue(o, s, v),
        write: (o, d) => f.write(o, d),
        close: () => f.close(),
      }),
    });
    const f = fnAt(m.guest.enumerate(), A.guestBdf);
    const bar0 = m.vmm.device(A.guestBdf)!.regions[0]!;
    expect(bar0.mappedSpans).toEqual([]);
    m.guest.io.mmioWrite(f.bars[0].address! + DMAE_REG.SCRATCH, 4, 0x600d);
    expect(m.guest.io.mmioRead(f.bars[0].address! + DMAE_REG.SCRATCH, 4)).toBe(0x600d);
    m.vmm.close();
  });

  it('mmap succeeds exactly where GET_REGION_INFO offers it: vfio-pci, and the virtio variant (its emulated BAR0 never)', async () => {
    const emu = await createEmulator({ memoryBytes: 16 << 20 });
    const pf = emu.hw.addVirtioNet('0000:00:04.0', { totalVfs: 2 });
    new LoopbackPeer({ mac: '02:00:00:00:00:fe', ip: '10.0.2.2' }).attach(pf.uplink);
    emu.hw.addDmaEngine('0000:00:06.0', { deviceMemoryBytes: 64 << 10 });
    expect(emu.host.sriovConfigure('0000:00:04.0', 1)).toBe(1);
    const vf = pf.vfs[0].bdf;
    expect(emu.host.bind(vf)).toBe('virtio-vfio-pci');
    emu.host.bind('0000:00:06.0');
    let mapped = 0;
    for (const bdf of [vf, '0000:00:06.0']) {
      const file = emu.host.openDevice(bdf);
      const c = new VfioClient(file);
      c.configWrite(0x04, 2, c.configRead(0x04, 2) | 0x2);
      for (let index = 0; index < VFIO.PCI_NUM_REGIONS; index++) {
        let info: ReturnType<VfioClient['getRegionInfo']> | null = null;
        try {
          info = c.getRegionInfo(index);
        } catch (e) {
          expect(e).toBeInstanceOf(VfioError); // VGA: no such region
        }
        const offered = info !== null && info.size > 0n && (info.flags & VFIO.REGION_INFO_FLAG_MMAP) !== 0;
        let ok = true;
        try {
          file.mmap!(regionOffset(index, 0), 0x1000).munmap();
        } catch (e) {
          expect((e as VfioError).code).toBe('EINVAL');
          ok = false;
        }
        expect({ bdf, index, ok }).toEqual({ bdf, index, ok: offered });
        if (ok) mapped++;
      }
      file.close();
      expect(openCount(file)).toBe(0);
    }
    expect(mapped).toBeGreaterThanOrEqual(2);
  });
});
