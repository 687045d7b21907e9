// The ERR and REQ irq indices (vfio_pci_set_err_trigger / vfio_pci_set_req_trigger): an eventfd the
// kernel signals on an AER error (ERR, PCIe only) or when the driver wants the device back (REQ:
// vfio_pci_core_request, called by vfio_unregister_group_dev when unbinding a device that is open).
import { describe, expect, it } from 'vitest';
import { CONVENTIONAL_SPEC, PCIE_SPEC, VFIO, VfioClient, errno, fds, irqSet, openOne } from './machine.js';

const TRIGGER = VFIO.IRQ_SET_ACTION_TRIGGER;

describe('REQ', () => {
  it('is signalled when unbind is attempted while the file is open; unbind then fails EBUSY and the device stays usable', async () => {
    const { emu, bdf, file, c } = await openOne(PCIE_SPEC);
    const req = emu.host.eventfd();
    file.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(VFIO.IRQ_SET_DATA_EVENTFD | TRIGGER, VFIO.PCI_REQ_IRQ_INDEX, 0, 1, fds(req.fd)));
    expect(errno(() => emu.host.unbind(bdf))).toBe('EBUSY');
    expect(req.signals).toBe(1);
    expect(emu.host.pciDev(bdf).driver?.name).toBe('vfio-pci');
    expect(c.getInfo().numRegions).toBe(9);
    // asked again on the next attempt
    expect(errno(() => emu.host.unbind(bdf))).toBe('EBUSY');
    expect(req.signals).toBe(2);
  });

  it('lets unbind finish when the listener closes the file synchronously', async () => {
    const { emu, bdf, file } = await openOne(PCIE_SPEC);
    const req = emu.host.eventfd();
    file.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(VFIO.IRQ_SET_DATA_EVENTFD | TRIGGER, VFIO.PCI_REQ_IRQ_INDEX, 0, 1, fds(req.fd)));
    req.onSignal(() => file.close());
    emu.host.unbind(bdf);
    expect(req.signals).toBe(1);
    expect(emu.host.pciDev(bdf).driver).toBe(null);
    expect(errno(() => file.ioctl(VFIO.DEVICE_GET_INFO, new Uint8Array(24)))).toBe('EBADF');
    expect(errno(() => emu.host.openDevice(bdf))).toBe('ENODEV');
    // and it can be bound and opened again
    emu.host.bind(bdf);
    expect(new VfioClient(emu.host.openDevice(bdf)).getInfo().numIrqs).toBe(5);
  });

  it('fails unbind with EBUSY when no REQ eventfd is set, and unbinds freely once closed', async () => {
    const { emu, bdf, file } = await openOne(PCIE_SPEC);
    expect(errno(() => emu.host.unbind(bdf))).toBe('EBUSY');
    file.close();
    emu.host.unbind(bdf);
    expect(emu.host.pciDev(bdf).driver).toBe(null);
  });

  it('loops back DATA_NONE/BOOL, is cleared by close_device, and exists on conventional PCI too', async () => {
    const { emu, bdf, file } = await openOne(CONVENTIONAL_SPEC);
    const req = emu.host.eventfd();
    file.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(VFIO.IRQ_SET_DATA_EVENTFD | TRIGGER, VFIO.PCI_REQ_IRQ_INDEX, 0, 1, fds(req.fd)));
    file.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(VFIO.IRQ_SET_DATA_NONE | TRIGGER, VFIO.PCI_REQ_IRQ_INDEX, 0, 1));
    file.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(VFIO.IRQ_SET_DATA_BOOL | TRIGGER, VFIO.PCI_REQ_IRQ_INDEX, 0, 1, Uint8Array.of(0)));
    file.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(VFIO.IRQ_SET_DATA_BOOL | TRIGGER, VFIO.PCI_REQ_IRQ_INDEX, 0, 1, Uint8Array.of(2)));
    expect(req.signals).toBe(2);
    file.close();
    const again = emu.host.openDevice(bdf);
    expect(errno(() => again.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(VFIO.IRQ_SET_DATA_NONE | TRIGGER, VFIO.PCI_REQ_IRQ_INDEX, 0, 1)))).toBe('EINVAL');
    expect(errno(() => emu.host.unbind(bdf))).toBe('EBUSY');
    expect(req.signals).toBe(2);
  });
});

describe('ERR', () => {
  it('takes an eventfd on a PCIe device and signals it on DATA_NONE/BOOL loopback', async () => {
    const { emu, file } = await openOne(PCIE_SPEC);
    const err = emu.host.eventfd();
    const other = emu.host.eventfd();
    file.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(VFIO.IRQ_SET_DATA_EVENTFD | TRIGGER, VFIO.PCI_ERR_IRQ_INDEX, 0, 1, fds(err.fd)));
    file.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(VFIO.IRQ_SET_DATA_NONE | TRIGGER, VFIO.PCI_ERR_IRQ_INDEX, 0, 1));
    file.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(VFIO.IRQ_SET_DATA_BOOL | TRIGGER, VFIO.PCI_ERR_IRQ_INDEX, 0, 1, Uint8Array.of(1)));
    expect(err.signals).toBe(2);
    // replacing it moves the signals to the new eventfd; an unbind request does not touch ERR
    file.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(VFIO.IRQ_SET_DATA_EVENTFD | TRIGGER, VFIO.PCI_ERR_IRQ_INDEX, 0, 1, fds(other.fd)));
    file.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(VFIO.IRQ_SET_DATA_NONE | TRIGGER, VFIO.PCI_ERR_IRQ_INDEX, 0, 1));
    expect([err.signals, other.signals]).toEqual([2, 1]);
  });

  it('does not exist on conventional PCI (count 0: every SET_IRQS is EINVAL)', async () => {
    const { emu, file } = await openOne(CONVENTIONAL_SPEC);
    const err = emu.host.eventfd();
    expect(errno(() => file.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(VFIO.IRQ_SET_DATA_EVENTFD | TRIGGER, VFIO.PCI_ERR_IRQ_INDEX, 0, 1, fds(err.fd))))).toBe('EINVAL');
    expect(errno(() => file.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(VFIO.IRQ_SET_DATA_BOOL | TRIGGER, VFIO.PCI_ERR_IRQ_INDEX, 0, 1, Uint8Array.of(1))))).toBe('EINVAL');
  });
});
