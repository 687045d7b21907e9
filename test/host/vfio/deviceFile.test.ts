// The vfio device file itself (vfio_device_fops, vfio_df_open/close): unknown requests, a closed file,
// bad offsets and arguments, open_device on the first open and close_device on the last, and one owner
// (iommufd context) at a time.
import { describe, expect, it } from 'vitest';
import { L } from '../../../src/core/wasm.js';
import { IommufdCtx } from '../../../src/host/vfio/iommufd.js';
import { GenericEndpoint } from '../../../src/hw/devices/genericEndpoint.js';
import { PCIE_SPEC, ROOT_DEV, VFIO, VfioClient, createEmulator, errno, fds, irqSet, openOne, readLe, regionOffset, u32s } from './machine.js';

class CountingEndpoint extends GenericEndpoint {
  resets = 0;
  override reset(): void {
    this.resets++;
    super.reset();
  }
}

describe('requests', () => {
  it('answers ENOTTY for requests vfio-pci does not implement', async () => {
    const { file } = await openOne(PCIE_SPEC);
    const requests = [
      0, 1, 0xffffffff, VFIO.GET_API_VERSION, VFIO.CHECK_EXTENSION, VFIO.SET_IOMMU, VFIO.GROUP_GET_STATUS, VFIO.GROUP_GET_DEVICE_FD,
      VFIO.DEVICE_QUERY_GFX_PLANE, VFIO.DEVICE_GET_GFX_DMABUF, VFIO.MIG_GET_PRECOPY_INFO, VFIO.DEVICE_GET_INFO + 0x100,
      (VFIO.DEVICE_GET_INFO | 0x40000000) >>> 0,
    ];
    for (const r of requests) expect(errno(() => file.ioctl(r, new Uint8Array(64)))).toBe('ENOTTY');
  });

  it('answers EFAULT for an argument that is no byte buffer', async () => {
    const { file } = await openOne(PCIE_SPEC);
    expect(errno(() => file.ioctl(VFIO.DEVICE_GET_INFO, [24, 0, 0, 0] as unknown as Uint8Array))).toBe('EFAULT');
    expect(errno(() => file.write(regionOffset(7, 0), [1] as unknown as Uint8Array))).toBe('EFAULT');
  });

  it('rejects offsets outside the u64 range and lengths that are no byte counts with EINVAL', async () => {
    const { file } = await openOne(PCIE_SPEC);
    expect(errno(() => file.read(-1n, 4))).toBe('EINVAL');
    expect(errno(() => file.read(1n << 64n, 4))).toBe('EINVAL');
    expect(errno(() => file.read(regionOffset(7, 0), -1))).toBe('EINVAL');
    expect(errno(() => file.read(regionOffset(7, 0), 1.5))).toBe('EINVAL');
    expect(errno(() => file.write(-5n, new Uint8Array(1)))).toBe('EINVAL');
  });
});

describe('a closed file', () => {
  it('answers EBADF to everything, and closing again is harmless', async () => {
    const { file } = await openOne(PCIE_SPEC);
    file.close();
    expect(errno(() => file.ioctl(VFIO.DEVICE_GET_INFO, u32s(24, 24)))).toBe('EBADF');
    expect(errno(() => file.ioctl(0x1234, new Uint8Array(0)))).toBe('EBADF');
    expect(errno(() => file.read(regionOffset(7, 0), 4))).toBe('EBADF');
    expect(errno(() => file.write(regionOffset(7, 0), new Uint8Array(4)))).toBe('EBADF');
    file.close();
  });
});

describe('opening and closing', () => {
  async function machine() {
    const emu = await createEmulator();
    const model = new CountingEndpoint();
    const fn = emu.hw.addFunction(ROOT_DEV, PCIE_SPEC, model);
    emu.host.bind(ROOT_DEV);
    return { emu, model, fn };
  }

  it('runs open_device on the first open only and close_device on the last close only', async () => {
    const { emu, model, fn } = await machine();
    const a = emu.host.openDevice(ROOT_DEV);
    expect(model.resets).toBe(1); // vfio_pci_core_enable resets the device
    const b = emu.host.openDevice(ROOT_DEV);
    expect(model.resets).toBe(1);
    // both files see one device: MSI-X enabled through a, its vector signals, b can loop it back
    const efd = emu.host.eventfd();
    a.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(VFIO.IRQ_SET_DATA_EVENTFD | VFIO.IRQ_SET_ACTION_TRIGGER, VFIO.PCI_MSIX_IRQ_INDEX, 0, 1, fds(efd.fd)));
    b.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(VFIO.IRQ_SET_DATA_NONE | VFIO.IRQ_SET_ACTION_TRIGGER, VFIO.PCI_MSIX_IRQ_INDEX, 0, 1));
    expect(efd.signals).toBe(1);
    new VfioClient(a).configWrite(0x0c, 1, 0x10); // cache line size, a plain writable register
    expect(new VfioClient(b).configRead(0x0c, 1)).toBe(0x10);
    // closing one keeps the device open
    a.close();
    fn.raiseMsix(0);
    expect(efd.signals).toBe(2);
    expect(readLe(b, 7, 0, 2)).toBe(0x8086);
    // the last close disables everything: MSI-X off, bus mastering off (pci_disable_device leaves the
    // decode bits pci_enable_device set)
    new VfioClient(b).configWrite(4, 2, 0x7);
    b.close();
    expect(emu.hw.configRead(ROOT_DEV, fn.capOffset(L.M_MSIX_CAP) + 2, 2) & 0x8000).toBe(0);
    expect(emu.hw.configRead(ROOT_DEV, 4, 2) & 0x7).toBe(0x3);
    fn.raiseMsix(0);
    expect(efd.signals).toBe(2);
    // a new first open runs open_device again (and starts from a clean slate)
    const c = emu.host.openDevice(ROOT_DEV);
    expect(model.resets).toBe(3); // close_device reset it, open resets it again
    expect(errno(() => c.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(VFIO.IRQ_SET_DATA_NONE | VFIO.IRQ_SET_ACTION_TRIGGER, VFIO.PCI_MSIX_IRQ_INDEX, 0, 1)))).toBe('EINVAL');
  });

  it('starts with bus mastering off, whatever the device had before open (pci_clear_master)', async () => {
    const { emu } = await machine();
    emu.hw.configWrite(ROOT_DEV, 4, 2, 0x4);
    const f = new VfioClient(emu.host.openDevice(ROOT_DEV));
    expect(emu.hw.configRead(ROOT_DEV, 4, 2) & 0x4).toBe(0);
    expect(f.configRead(4, 2) & 0x4).toBe(0);
    expect(f.configRead(4, 2) & 0x3).toBe(0x3); // pci_enable_device turned decoding on
  });

  it('refuses a second iommufd context while the device is open (EBUSY), and lets it in after the last close', async () => {
    const { emu } = await machine();
    const mine = emu.host.openDevice(ROOT_DEV);
    const again = emu.host.openDevice(ROOT_DEV);
    const other = new IommufdCtx('other user');
    expect(errno(() => emu.host.openDevice(ROOT_DEV, { iommufd: other }))).toBe('EBUSY');
    mine.close();
    expect(errno(() => emu.host.openDevice(ROOT_DEV, { iommufd: other }))).toBe('EBUSY');
    again.close();
    const theirs = emu.host.openDevice(ROOT_DEV, { iommufd: other });
    expect(new VfioClient(theirs).getInfo().numIrqs).toBe(5);
    expect(errno(() => emu.host.openDevice(ROOT_DEV))).toBe('EBUSY');
  });

  it('answers ENODEV for a device without a vfio driver and EINVAL for a VF token on a device that takes none', async () => {
    const emu = await createEmulator();
    emu.hw.addEndpoint(ROOT_DEV, PCIE_SPEC);
    expect(errno(() => emu.host.openDevice(ROOT_DEV))).toBe('ENODEV');
    emu.host.bind(ROOT_DEV);
    expect(errno(() => emu.host.openDevice(ROOT_DEV, { vfToken: '2ab74924-c335-45f4-9b16-8569e5b08258' }))).toBe('EINVAL');
    expect(new VfioClient(emu.host.openDevice(ROOT_DEV)).getInfo().flags & VFIO.DEVICE_FLAGS_PCI).toBe(VFIO.DEVICE_FLAGS_PCI);
  });

  it('gives each open file its own fd in the file table and releases it on close', async () => {
    const { emu } = await machine();
    const a = emu.host.openDevice(ROOT_DEV) as unknown as { fd: number; close(): void };
    const b = emu.host.openDevice(ROOT_DEV) as unknown as { fd: number; close(): void };
    expect(a.fd).not.toBe(b.fd);
    expect(emu.host.vfio.files.get(a.fd)).toBe(a);
    a.close();
    expect(emu.host.vfio.files.get(a.fd)).toBe(undefined);
    expect(emu.host.vfio.files.get(b.fd)).toBe(b);
  });
});
