// Linux 6.1 parity through the device file: a 4-vector MSI function's Multiple Message Capable reads
// one vector (0) in the vfio config region until MSI is enabled through SET_IRQS (vdev->msi_qmax is
// 0 until vfio_msi_enable), then the log2 of the vectors enabled; IRQ_INFO keeps the hardware count.
// A user write of Multiple Message Capable does not stick (docs/linux-parity.md, item 1).
import { describe, expect, it } from 'vitest';
import { VFIO, fds, irqSet, openOne } from './machine.js';

const EVENTFD_TRIGGER = VFIO.IRQ_SET_DATA_EVENTFD | VFIO.IRQ_SET_ACTION_TRIGGER;

describe('MSI Multiple Message Capable as Linux 6.1 shows it', () => {
  it('reads 0 before the first enable, the enabled count after, and ignores user writes', async () => {
    const { emu, bdf, file, c } = await openOne();
    let cap = emu.hw.configRead(bdf, 0x34, 1);
    while (cap !== 0 && emu.hw.configRead(bdf, cap, 1) !== 0x05) cap = emu.hw.configRead(bdf, cap + 1, 1);
    expect(cap).toBeGreaterThan(0);
    const mmc = () => (c.configRead(cap + 2, 2) >> 1) & 7;
    expect((emu.hw.configRead(bdf, cap + 2, 2) >> 1) & 7).toBe(2); // the hardware can do 4
    expect(c.getIrqInfo(VFIO.PCI_MSI_IRQ_INDEX).count).toBe(4);
    expect(mmc()).toBe(0);
    c.configWrite(cap + 2, 2, 2 << 1);
    expect(mmc()).toBe(0);
    const e = [emu.host.eventfd(), emu.host.eventfd()];
    file.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(EVENTFD_TRIGGER, VFIO.PCI_MSI_IRQ_INDEX, 0, 2, fds(e[0].fd, e[1].fd)));
    expect(mmc()).toBe(1); // two vectors enabled
    file.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(VFIO.IRQ_SET_DATA_NONE | VFIO.IRQ_SET_ACTION_TRIGGER, VFIO.PCI_MSI_IRQ_INDEX, 0, 0));
    expect(c.getIrqInfo(VFIO.PCI_MSI_IRQ_INDEX).count).toBe(4);
  });
});
