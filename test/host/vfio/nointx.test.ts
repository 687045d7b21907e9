// Devices whose INTx masking is broken (vfio_pci_nointx: i40e, X550): vfio hides INTx - the virtual pin
// reads 0, GET_IRQ_INFO counts no INTx vector, SET_IRQS on INTx is EINVAL - and keeps INTx Disable set
// in hardware whatever the user writes or enables.
import { describe, expect, it } from 'vitest';
import { PCIE_SPEC, VFIO, errno, fds, irqSet, openOne } from './machine.js';

const PCI_COMMAND = 0x04;
const INTX_DISABLE = 0x400;
const PCI_INTERRUPT_PIN = 0x3d;

describe('nointx devices', () => {
  for (const deviceId of [0x1572, 0x1583, 0x158b, 0x37d1, 0x1563]) {
    it(`hides INTx of 8086:${deviceId.toString(16)}`, async () => {
      const { emu, bdf, c, file } = await openOne({ ...PCIE_SPEC, deviceId, interruptPin: 1 });
      expect(emu.hw.configRead(bdf, PCI_INTERRUPT_PIN, 1)).toBe(1); // the hardware has a pin
      expect(c.configRead(PCI_INTERRUPT_PIN, 1)).toBe(0);
      expect(c.getIrqInfo(VFIO.PCI_INTX_IRQ_INDEX).count).toBe(0);
      expect(emu.hw.configRead(bdf, PCI_COMMAND, 2) & INTX_DISABLE).toBe(INTX_DISABLE);
      const efd = emu.host.eventfd();
      expect(errno(() => file.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(VFIO.IRQ_SET_DATA_EVENTFD | VFIO.IRQ_SET_ACTION_TRIGGER, 0, 0, 1, fds(efd.fd))))).toBe('EINVAL');
      // the user's INTx Disable does not reach the hardware bit
      c.configWrite(PCI_COMMAND, 2, c.configRead(PCI_COMMAND, 2) | INTX_DISABLE);
      c.configWrite(PCI_COMMAND, 2, c.configRead(PCI_COMMAND, 2) & ~INTX_DISABLE);
      expect(emu.hw.configRead(bdf, PCI_COMMAND, 2) & INTX_DISABLE).toBe(INTX_DISABLE);
      // nor does leaving MSI
      file.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(VFIO.IRQ_SET_DATA_EVENTFD | VFIO.IRQ_SET_ACTION_TRIGGER, VFIO.PCI_MSI_IRQ_INDEX, 0, 1, fds(efd.fd)));
      file.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(VFIO.IRQ_SET_DATA_NONE | VFIO.IRQ_SET_ACTION_TRIGGER, VFIO.PCI_MSI_IRQ_INDEX, 0, 0));
      expect(emu.hw.configRead(bdf, PCI_COMMAND, 2) & INTX_DISABLE).toBe(INTX_DISABLE);
    });
  }

  it('leaves other Intel devices their INTx (and INTx Disable follows the user while INTx is unused)', async () => {
    for (const deviceId of [0x1571, 0x1582, 0x158c, 0x10fb]) {
      const { emu, bdf, c } = await openOne({ ...PCIE_SPEC, deviceId, interruptPin: 1 });
      expect(c.getIrqInfo(VFIO.PCI_INTX_IRQ_INDEX).count).toBe(1);
      expect(c.configRead(PCI_INTERRUPT_PIN, 1)).toBe(1);
      expect(emu.hw.configRead(bdf, PCI_COMMAND, 2) & INTX_DISABLE).toBe(0);
      c.configWrite(PCI_COMMAND, 2, c.configRead(PCI_COMMAND, 2) | INTX_DISABLE);
      expect(emu.hw.configRead(bdf, PCI_COMMAND, 2) & INTX_DISABLE).toBe(INTX_DISABLE);
    }
  });
});
