// Bad input at the virtio-vfio-pci variant (issue 5, "Bad input"): offsets outside the legacy BAR,
// odd sizes, straddling accesses, a queue select beyond the queues, accesses while the VF is
// disabled or its PF gone, commands that would name another member - an errno or an ignored write,
// never a crash and never a change to another VF. Ends with the fast-check property that random
// legacy accesses on one VF leave every other VF (and the PF) as they were.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PCI_SRIOV_CTRL } from '../../../src/hw/pciRegs.js';
import { VIRTIO_MSI_NO_VECTOR } from '../../../src/hw/devices/virtio/virtioSpec.js';
import { virtiovfDevice } from '../../../src/host/variants/virtio/main.js';
import {
  BAR0, LegacyBar, PF, VF1, VF2, VF3, VFIO, VfioError, enableMsix, errno, legacyBringUp, openVf, outcome, regionOffset, vfDevice, vfState,
  virtioVfMachine,
} from './virtioMachine.js';

describe('virtio-vfio-pci: bad input on the legacy BAR0', () => {
  it('offsets at or past 32 bytes, and past any sane region, are EINVAL', async () => {
    const m = await virtioVfMachine(2);
    const { file } = openVf(m.emu, VF1);
    const bar = new LegacyBar(file);
    for (const off of [32, 33, 40, 0xff, 0x1000, 2 ** 32, 2 ** 40 - 1]) {
      for (const size of [1, 2, 4]) {
        expect(errno(() => bar.read(off, size)), `read ${off}`).toBe('EINVAL');
        expect(errno(() => bar.write(off, size, 0)), `write ${off}`).toBe('EINVAL');
      }
    }
    expect(errno(() => bar.read(31, 2))).toBe('EINVAL');
    expect(errno(() => bar.read(30, 4))).toBe('EINVAL');
    expect(errno(() => file.read(regionOffset(BAR0, 0), 32))).toBe('EINVAL'); // not one register
  });

  it('size 3, 5 and 8 are EINVAL at every offset; straddling registers are EINVAL and the write is dropped', async () => {
    const m = await virtioVfMachine(2);
    const { file } = openVf(m.emu, VF1);
    const bar = new LegacyBar(file);
    const dev = vfDevice(m, 1);
    for (let off = 0; off < 32; off++) for (const size of [3, 5, 8]) expect(errno(() => bar.write(off, size, 0xffffff)), `${off}/${size}`).toBe('EINVAL');
    const before = vfState(dev);
    expect(errno(() => bar.write(2, 4, 0xffffffff))).toBe('EINVAL'); // host/guest features
    expect(errno(() => bar.write(6, 4, 0xffffffff))).toBe('EINVAL'); // guest features/pfn
    expect(errno(() => bar.write(13, 2, 0xffff))).toBe('EINVAL'); // queue_num/queue_sel
    expect(errno(() => bar.write(17, 2, 0x0101))).toBe('EINVAL'); // notify/status
    expect(errno(() => bar.write(18, 4, 0xffffffff))).toBe('EINVAL'); // common/device seam
    expect(errno(() => bar.write(24, 4, 0xffffffff))).toBe('EINVAL'); // MAC/status (device offset 4..7)
    expect(vfState(dev)).toEqual(before);
  });

  it('a queue select beyond the queues: size 0, QUEUE_PFN and vector writes ignored', async () => {
    const m = await virtioVfMachine(2);
    const { emu } = m;
    const { file, c } = openVf(emu, VF1);
    enableMsix(emu, c, 3);
    const bar = new LegacyBar(file);
    const dev = vfDevice(m, 1);
    for (const sel of [2, 3, 0xffff]) {
      bar.write(14, 2, sel);
      expect(bar.read(14, 2)).toBe(sel);
      expect(bar.read(12, 2)).toBe(0);
      const before = vfState(dev);
      bar.write(8, 4, 0x1234);
      bar.write(22, 2, 1);
      expect(bar.read(8, 4)).toBe(0);
      expect(bar.read(22, 2)).toBe(VIRTIO_MSI_NO_VECTOR);
      expect(vfState(dev)).toEqual(before);
      bar.write(16, 2, sel); // a kick of a queue that does not exist is counted and ignored
    }
    expect(dev.queues.every((q) => !q.enabled)).toBe(true);
  });

  it('with the VF disabled behind the host: admin commands fail (EINVAL), notifications go nowhere', async () => {
    const m = await virtioVfMachine(2);
    const { emu } = m;
    const { file } = openVf(emu, VF1);
    const bar = new LegacyBar(file);
    emu.hw.configWrite(PF, m.pf.sriov!.cap + PCI_SRIOV_CTRL, 2, 0);
    expect(m.pf.vfs).toHaveLength(0);
    expect(errno(() => bar.read(0, 4))).toBe('EINVAL'); // VIRTIO_ADMIN_STATUS_EINVAL (Q_INVALID_GROUP)
    expect(errno(() => bar.write(18, 1, 7))).toBe('EINVAL');
    expect(bar.write(16, 2, 0)).toBe(2);
    // config space of a function that left reads as the core has it (all-ones hardware) with the
    // variant's transitional Device ID on top
    expect(Array.from(file.read(regionOffset(VFIO.PCI_CONFIG_REGION_INDEX, 2), 2))).toEqual([0x00, 0x10]);
    file.close();
  });

  it('with the PF gone: its driver cannot be unbound under an open VF (EBUSY); after hot removal accesses are ENODEV', async () => {
    const m = await virtioVfMachine(2);
    const { emu } = m;
    const { file } = openVf(emu, VF1);
    const bar = new LegacyBar(file);
    expect(errno(() => emu.host.unbind(PF))).toBe('EBUSY');
    expect(emu.host.pciDev(PF).driver?.name).toBe('virtio-pci');
    expect(bar.read(0, 4)).toBe(vfDevice(m, 1).featuresLo);
    // hot removal of the VFs and the PF: the host's removal path runs first; the VF's file, still
    // open after the REQ irq, is revoked, so every call on it is ENODEV until it is closed
    emu.hw.removeFunction(VF1);
    emu.hw.removeFunction(VF2);
    emu.hw.removeFunction(PF);
    expect(errno(() => bar.read(0, 4))).toBe('ENODEV');
    expect(errno(() => bar.write(4, 4, 0))).toBe('ENODEV');
    expect(errno(() => bar.write(16, 2, 0))).toBe('ENODEV');
    expect(errno(() => file.read(regionOffset(VFIO.PCI_CONFIG_REGION_INDEX, 0), 4))).toBe('ENODEV');
    expect(outcome(() => file.close())).toBe('OK');
  });

  it('commands carry the VF itself as the member: no access names another VF', async () => {
    const m = await virtioVfMachine(3);
    const { emu } = m;
    const { file } = openVf(emu, VF2);
    expect(virtiovfDevice(emu.host.pciDev(VF2))!.memberId).toBe(2);
    const seen: number[] = [];
    const admin = m.pf.admin!;
    const orig = admin.process.bind(admin);
    admin.process = (vq) => {
      // the member id of the command at the head of the available ring
      const mem = emu.memory;
      const head = mem.readU16(vq.availAddr + 4 + 2 * (vq.lastAvailIdx % vq.size));
      const addr = Number(mem.readU64(vq.descAddr + 16 * head));
      seen.push(Number(mem.readU64(addr + 16)));
      return orig(vq);
    };
    const n = legacyBringUp(emu, file, 0x100000, false);
    n.bar.write(16, 2, 1);
    expect(seen.length).toBeGreaterThan(10);
    expect(new Set(seen)).toEqual(new Set([2]));
    expect(vfDevice(m, 1).status).toBe(0);
    expect(vfDevice(m, 3).status).toBe(0);
    file.close();
  });

  it('binding refuses what the variant cannot drive: the PF, a VF whose PF is not virtio-pci', async () => {
    const m = await virtioVfMachine(1);
    const { emu } = m;
    emu.host.driverOverride(PF, 'virtio-vfio-pci');
    expect(errno(() => emu.host.bind(PF))).toBe('EBUSY'); // virtio-pci holds it
    emu.host.driverOverride(PF, null);
    // the alias lists the variant first for virtio-net functions, and the probe decides
    expect(emu.host.driverCore.vfioMatches(emu.host.pciDev(VF1)).map((x) => x.driver.name)).toEqual(['virtio-vfio-pci', 'vfio-pci']);
    expect(emu.host.aliases().filter((a) => a.driver === 'virtio-vfio-pci').map((a) => a.alias)).toEqual(['vfio_pci:v00001AF4d00001041sv*sd*bc*sc*i*']);
    emu.host.unbind(PF); // VFs go with it
    emu.host.driverOverride(PF, 'vfio-pci');
    emu.host.bind(PF, 'vfio-pci');
    emu.host.sriovConfigure(PF, 1); // VF captured by vfio-pci
    expect(emu.host.pciDev(VF1).driver?.name).toBe('vfio-pci');
    emu.host.unbind(VF1);
    emu.host.driverOverride(VF1, 'virtio-vfio-pci');
    expect(errno(() => emu.host.bind(VF1, 'virtio-vfio-pci'))).toBe('ENODEV');
    emu.host.sriovConfigure(PF, 0);
    emu.host.unbind(PF);
    emu.host.driverOverride(PF, 'virtio-vfio-pci');
    expect(errno(() => emu.host.bind(PF, 'virtio-vfio-pci'))).toBe('ENODEV');
  });
});

describe('property: random legacy accesses on one VF never touch another VF or the PF', () => {
  it('holds for random offsets, sizes, values, directions and MSI-X state', async () => {
    const m = await virtioVfMachine(3);
    const { emu } = m;
    const peer = openVf(emu, VF3);
    const peerNet = legacyBringUp(emu, peer.file, 0x300000, false);
    const { file, c } = openVf(emu, VF2);
    const vfio = VFIO;
    // the PF's own device: its admin queue moves with every command and counts the notifications;
    // everything else of it must stay
    const pfState = () => {
      const s = vfState(m.pf.virtio) as { queues: unknown[]; stats: unknown };
      return { ...s, queues: s.queues.slice(0, 2), stats: null };
    };
    const others = () => ({ vf1: vfState(vfDevice(m, 1)), vf3: vfState(vfDevice(m, 3)), pf: pfState() });
    const access = fc.record({
      off: fc.oneof(fc.integer({ min: 0, max: 31 }), fc.integer({ min: 0, max: 80 })),
      size: fc.constantFrom(1, 2, 4, 1, 2, 4, 3, 0, 8),
      write: fc.boolean(),
      value: fc.oneof(fc.constantFrom(0, 1, 3, 7, 0xff, 0xffff, 0xffffffff), fc.nat({ max: 0xffffffff })),
    });
    let msixOn = false;
    await fc.assert(
      fc.property(fc.boolean(), fc.array(access, { minLength: 1, maxLength: 40 }), (msix, ops) => {
        if (msix !== msixOn) {
          if (msix) enableMsix(emu, c, 3);
          else c.setIrqs(vfio.PCI_MSIX_IRQ_INDEX, vfio.IRQ_SET_ACTION_TRIGGER, 0, { kind: 'none' }, 0);
          msixOn = msix;
        }
        const before = others();
        for (const op of ops) {
          try {
            if (op.write) {
              const b = new Uint8Array(op.size);
              for (let i = 0; i < op.size; i++) b[i] = Math.floor(op.value / 2 ** (8 * (i % 4))) & 0xff;
              file.write(regionOffset(BAR0, op.off), b);
            } else {
              file.read(regionOffset(BAR0, op.off), op.size);
            }
          } catch (e) {
            if (!(e instanceof VfioError) || e.code === 'EIO') throw e;
          }
        }
        const after = others();
        expect(after.vf1).toEqual(before.vf1);
        // VF 3 may only receive frames VF 2 transmitted; its own set-up is untouched
        expect({ ...(after.vf3 as object), stats: null }).toEqual({ ...(before.vf3 as object), stats: null });
        expect(after.pf).toEqual(before.pf);
      }),
      { numRuns: 60 },
    );
    expect(vfDevice(m, 3).queues[0].legacyPfn).toBe(peerNet.rx.pfn);
  });
});
