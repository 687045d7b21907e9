// VFIO_DEVICE_GET_IRQ_INFO (vfio_pci_ioctl_get_irq_info, vfio_pci_get_irq_count): INTx is maskable and
// automasked with count 1 when the (virtual) pin is set; MSI counts Multiple Message Capable; MSI-X the
// table size, NORESIZE as Linux 6.1 reports it (6.5+ drops it for dynamic MSI-X); ERR exists only on PCI
// Express; REQ always.
import { describe, expect, it } from 'vitest';
import { CONVENTIONAL_SPEC, NO_RESET_SPEC, PCIE_SPEC, VFIO, errno, getU32, openOne, u32s } from './machine.js';

const EVENTFD = VFIO.IRQ_INFO_EVENTFD;
const MASKABLE = VFIO.IRQ_INFO_MASKABLE;
const AUTOMASKED = VFIO.IRQ_INFO_AUTOMASKED;
const NORESIZE = VFIO.IRQ_INFO_NORESIZE;

describe('DEVICE_GET_IRQ_INFO', () => {
  it('describes the five indices of a PCIe device with INTA, 4 MSI and 8 MSI-X vectors', async () => {
    const { c } = await openOne(PCIE_SPEC);
    expect([0, 1, 2, 3, 4].map((i) => c.getIrqInfo(i))).toEqual([
      { argsz: 16, index: 0, count: 1, flags: EVENTFD | MASKABLE | AUTOMASKED },
      { argsz: 16, index: 1, count: 4, flags: EVENTFD | NORESIZE },
      // Linux 6.1: 0x9; 6.5+ reports 0x1 where vectors can be added while MSI-X is enabled
      { argsz: 16, index: 2, count: 8, flags: EVENTFD | NORESIZE },
      { argsz: 16, index: 3, count: 1, flags: EVENTFD | NORESIZE },
      { argsz: 16, index: 4, count: 1, flags: EVENTFD | NORESIZE },
    ]);
  });

  it('counts INTx 0 without a pin, MSI from MMC, MSI-X 0 (NORESIZE) without the capability', async () => {
    const { c } = await openOne(CONVENTIONAL_SPEC);
    expect(c.getIrqInfo(VFIO.PCI_INTX_IRQ_INDEX)).toEqual({ argsz: 16, index: 0, count: 0, flags: EVENTFD | MASKABLE | AUTOMASKED });
    expect(c.getIrqInfo(VFIO.PCI_MSI_IRQ_INDEX)).toEqual({ argsz: 16, index: 1, count: 1, flags: EVENTFD | NORESIZE });
    expect(c.getIrqInfo(VFIO.PCI_MSIX_IRQ_INDEX)).toEqual({ argsz: 16, index: 2, count: 0, flags: EVENTFD | NORESIZE });
    expect(c.getIrqInfo(VFIO.PCI_REQ_IRQ_INDEX)).toEqual({ argsz: 16, index: 4, count: 1, flags: EVENTFD | NORESIZE });
  });

  it('reads the MSI count from Multiple Message Capable for every size', async () => {
    for (const vectors of [1, 2, 4, 8, 16, 32] as const) {
      const { c } = await openOne({ ...NO_RESET_SPEC, capabilities: [{ id: 'msi', vectors }] });
      expect(c.getIrqInfo(VFIO.PCI_MSI_IRQ_INDEX).count).toBe(vectors);
      expect(c.getIrqInfo(VFIO.PCI_MSIX_IRQ_INDEX).count).toBe(0);
    }
  });

  it('reads the MSI-X count from the table size', async () => {
    for (const vectors of [1, 3, 64, 2048]) {
      const { c } = await openOne({
        ...NO_RESET_SPEC,
        bars: [{ kind: 'mem32', size: 0x10000 }],
        capabilities: [{ id: 'msix', vectors, tableBar: 0, tableOffset: 0, pbaBar: 0, pbaOffset: 0x8000 }],
      });
      expect(c.getIrqInfo(VFIO.PCI_MSIX_IRQ_INDEX)).toEqual({ argsz: 16, index: 2, count: vectors, flags: EVENTFD | NORESIZE });
    }
  });

  it('answers EINVAL for ERR on a conventional PCI function', async () => {
    const { file } = await openOne(CONVENTIONAL_SPEC);
    expect(errno(() => file.ioctl(VFIO.DEVICE_GET_IRQ_INFO, u32s(16, 16, 0, VFIO.PCI_ERR_IRQ_INDEX)))).toBe('EINVAL');
  });

  it('answers EINVAL for a bad index or argsz, EFAULT for a short buffer, and writes 16 bytes only', async () => {
    const { file } = await openOne(PCIE_SPEC);
    for (const index of [5, 6, 0x80000000, 0xffffffff]) {
      expect(errno(() => file.ioctl(VFIO.DEVICE_GET_IRQ_INFO, u32s(16, 16, 0, index)))).toBe('EINVAL');
    }
    for (const argsz of [0, 8, 15]) expect(errno(() => file.ioctl(VFIO.DEVICE_GET_IRQ_INFO, u32s(16, argsz, 0, 0)))).toBe('EINVAL');
    expect(errno(() => file.ioctl(VFIO.DEVICE_GET_IRQ_INFO, u32s(12, 16, 0, 0)))).toBe('EFAULT');
    const arg = new Uint8Array(24).fill(0x5a);
    arg.set(u32s(12, 64, 0xffffffff, VFIO.PCI_MSI_IRQ_INDEX));
    expect(file.ioctl(VFIO.DEVICE_GET_IRQ_INFO, arg)).toBe(0);
    expect([getU32(arg, 0), getU32(arg, 4), getU32(arg, 8), getU32(arg, 12)]).toEqual([64, EVENTFD | NORESIZE, 1, 4]);
    expect([...arg.subarray(16)]).toEqual(new Array(8).fill(0x5a));
  });
});
