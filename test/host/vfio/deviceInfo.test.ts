// VFIO_DEVICE_GET_INFO (vfio_pci_ioctl_get_info): flags PCI, RESET when a reset method works,
// num_regions = 9 + device-specific regions, num_irqs = 5; argsz below offsetofend(num_irqs) is EINVAL
// and only min(argsz, sizeof) bytes are written back.
import { describe, expect, it } from 'vitest';
import type { VfioPciCoreDevice } from '../../../src/host/vfio/pciCore/vfioPciCoreDevice.js';
import { CONVENTIONAL_SPEC, NO_RESET_SPEC, PCIE_SPEC, VFIO, VfioClient, createEmulator, errno, getU32, openOne, u32s } from './machine.js';

const FLAGS_PCI_RESET = VFIO.DEVICE_FLAGS_PCI | VFIO.DEVICE_FLAGS_RESET;

describe('DEVICE_GET_INFO', () => {
  it('reports PCI|RESET, 9 regions and 5 irqs for a device with FLR', async () => {
    const { c } = await openOne(PCIE_SPEC);
    const info = c.getInfo();
    expect(info).toEqual({ argsz: 24, flags: FLAGS_PCI_RESET, numRegions: 9, numIrqs: 5, capOffset: 0, pad: 0 });
  });

  it('sets RESET for a PM soft reset and leaves it clear when the device has no reset method', async () => {
    expect((await openOne(CONVENTIONAL_SPEC)).c.getInfo().flags).toBe(FLAGS_PCI_RESET);
    expect((await openOne({ ...CONVENTIONAL_SPEC, capabilities: [{ id: 'pm', noSoftReset: true }] })).c.getInfo().flags).toBe(VFIO.DEVICE_FLAGS_PCI);
    expect((await openOne(NO_RESET_SPEC)).c.getInfo().flags).toBe(VFIO.DEVICE_FLAGS_PCI);
  });

  it('sets RESET for a lone device behind a bridge (secondary bus reset)', async () => {
    const emu = await createEmulator();
    emu.hw.addBridge('0000:00:01.0', { secondaryBus: 1 });
    emu.hw.addEndpoint('0000:01:00.0', NO_RESET_SPEC);
    emu.host.bind('0000:01:00.0');
    expect(new VfioClient(emu.host.openDevice('0000:01:00.0')).getInfo().flags).toBe(FLAGS_PCI_RESET);
  });

  it('counts device-specific regions after the 9 fixed ones', async () => {
    const { emu, bdf, c } = await openOne(PCIE_SPEC);
    const vdev = emu.host.pciDev(bdf).driverData as VfioPciCoreDevice;
    const index = vdev.registerDevRegion({ type: 0x80008086, subtype: 1, size: 0x100, flags: VFIO.REGION_INFO_FLAG_READ, rw: () => 0 });
    expect(index).toBe(9);
    expect(c.getInfo().numRegions).toBe(10);
  });

  it('rejects argsz below 16 with EINVAL and a buffer shorter than 16 bytes with EFAULT', async () => {
    const { file } = await openOne();
    for (const argsz of [0, 1, 15]) {
      const arg = u32s(24, argsz);
      expect(errno(() => file.ioctl(VFIO.DEVICE_GET_INFO, arg))).toBe('EINVAL');
      expect(getU32(arg, 0)).toBe(argsz);
      expect(getU32(arg, 4)).toBe(0); // nothing written
    }
    expect(errno(() => file.ioctl(VFIO.DEVICE_GET_INFO, u32s(12, 16)))).toBe('EFAULT');
  });

  it('writes only the first min(argsz, 24) bytes back', async () => {
    const { file } = await openOne();
    // argsz 16: the v1 struct; cap_offset and pad belong to the caller
    const a16 = new Uint8Array(32).fill(0xaa);
    new DataView(a16.buffer).setUint32(0, 16, true);
    expect(file.ioctl(VFIO.DEVICE_GET_INFO, a16)).toBe(0);
    expect(getU32(a16, 0)).toBe(16);
    expect(getU32(a16, 4)).toBe(FLAGS_PCI_RESET);
    expect(getU32(a16, 8)).toBe(9);
    expect(getU32(a16, 12)).toBe(5);
    expect([...a16.subarray(16)]).toEqual(new Array(16).fill(0xaa));

    // argsz 20: the kernel copies 20 bytes of its zero-initialised struct
    const a20 = new Uint8Array(32).fill(0xaa);
    new DataView(a20.buffer).setUint32(0, 20, true);
    file.ioctl(VFIO.DEVICE_GET_INFO, a20);
    expect(getU32(a20, 16)).toBe(0);
    expect([...a20.subarray(20)]).toEqual(new Array(12).fill(0xaa));

    // argsz 24 or more: the whole struct, cap_offset 0 (no capabilities) and pad 0; nothing past it
    for (const argsz of [24, 32, 4096]) {
      const a = new Uint8Array(32).fill(0xaa);
      new DataView(a.buffer).setUint32(0, argsz, true);
      file.ioctl(VFIO.DEVICE_GET_INFO, a);
      expect(getU32(a, 0)).toBe(argsz);
      expect(getU32(a, 16)).toBe(0);
      expect(getU32(a, 20)).toBe(0);
      expect([...a.subarray(24)]).toEqual(new Array(8).fill(0xaa));
    }
  });
});
