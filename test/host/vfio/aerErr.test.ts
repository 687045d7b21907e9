// The ERR irq end to end: the hardware reports an uncorrectable AER error, the error message reaches
// the host (its interrupt domain, then the AER recovery calling the bound driver's error_detected),
// and vfio-pci's vfio_pci_core_aer_err_detected signals the ERR eventfd user space set with SET_IRQS.
// The rest of the recovery is tested in test/host/aerRecovery.test.ts.
import { describe, expect, it } from 'vitest';
import { L } from '../../../src/core/wasm.js';
import { PCI_ERR_UNCOR_MASK, PCI_EXP_DEVCTL, PCI_EXT_CAP_ID_ERR } from '../../../src/hw/pciRegs.js';
import type { PciFunction } from '../../../src/hw/pciFunction.js';
import type { PciDriver } from '../../../src/host/pciDriver.js';
import { CONVENTIONAL_SPEC, PCIE_SPEC, VFIO, errno, fds, irqSet, openOne } from './machine.js';
import type { Opened } from './machine.js';

const TRIGGER = VFIO.IRQ_SET_ACTION_TRIGGER;
/** Completion Timeout (non-fatal by default) and Malformed TLP (fatal by default). */
const CMPL_TIMEOUT = 14;
const MALF_TLP = 18;

/**
 * The hardware function behind the device; the host's pci_aer_init enabled error reporting in its
 * Device Control at enumeration, as Linux does for native AER.
 */
function hwFn({ emu, bdf }: Opened): PciFunction {
  const fn = emu.host.pciDev(bdf).fn;
  const exp = fn.capOffset(L.M_PCIE_CAP);
  expect(fn.configRead(exp + PCI_EXP_DEVCTL, 2) & 0xf).toBe(0xf);
  return fn;
}

async function withErrFd() {
  const o = await openOne(PCIE_SPEC);
  const err = o.emu.host.eventfd();
  o.file.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(VFIO.IRQ_SET_DATA_EVENTFD | TRIGGER, VFIO.PCI_ERR_IRQ_INDEX, 0, 1, fds(err.fd)));
  return { ...o, err, fn: hwFn(o) };
}

describe('ERR irq from a hardware AER error', () => {
  it('is signalled for non-fatal and fatal uncorrectable errors', async () => {
    const { err, fn } = await withErrFd();
    fn.reportAerError(CMPL_TIMEOUT);
    expect(err.signals).toBe(1);
    fn.reportAerError(MALF_TLP);
    expect(err.signals).toBe(2);
    // the fatal error's recovery reset the device (FLR: a root-bus device is its own reset domain)
    // and vfio-pci has no slot_reset to restore it: reporting is off until user space resets it
    fn.reportAerError(MALF_TLP);
    expect(err.signals).toBe(2);
  });

  it('is not signalled for correctable errors (Linux only counts them)', async () => {
    const { err, fn } = await withErrFd();
    fn.reportAerError(0, { correctable: true });
    expect(err.signals).toBe(0);
  });

  it('is not signalled when the error is masked in AER', async () => {
    const { err, fn } = await withErrFd();
    const aer = fn.extCapOffset(PCI_EXT_CAP_ID_ERR);
    fn.configWrite(aer + PCI_ERR_UNCOR_MASK, 4, 1 << MALF_TLP);
    fn.reportAerError(MALF_TLP);
    expect(err.signals).toBe(0);
  });

  it('does nothing without an ERR eventfd, after it is torn down, or after close_device', async () => {
    const o = await openOne(PCIE_SPEC);
    const fn = hwFn(o);
    fn.reportAerError(CMPL_TIMEOUT); // no trigger: nothing to signal, nothing throws
    const err = o.emu.host.eventfd();
    o.file.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(VFIO.IRQ_SET_DATA_EVENTFD | TRIGGER, VFIO.PCI_ERR_IRQ_INDEX, 0, 1, fds(err.fd)));
    o.file.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(VFIO.IRQ_SET_DATA_NONE | TRIGGER, VFIO.PCI_ERR_IRQ_INDEX, 0, 0));
    fn.reportAerError(CMPL_TIMEOUT);
    expect(err.signals).toBe(0);
    o.file.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(VFIO.IRQ_SET_DATA_EVENTFD | TRIGGER, VFIO.PCI_ERR_IRQ_INDEX, 0, 1, fds(err.fd)));
    o.file.close();
    fn.reportAerError(CMPL_TIMEOUT);
    expect(err.signals).toBe(0);
  });

  it('reaches the error_detected of whatever driver is bound, with the channel state of the severity', async () => {
    const o = await openOne(PCIE_SPEC);
    o.file.close();
    o.emu.host.unbind(o.bdf);
    const calls: string[] = [];
    const drv: PciDriver = {
      name: 'aer-probe',
      idTable: [],
      probe() {},
      remove() {},
      errorDetected(dev, state) {
        calls.push(`${dev.bdf} ${state}`);
        return 'can_recover';
      },
    };
    o.emu.host.registerDriver(drv);
    o.emu.host.driverOverride(o.bdf, 'aer-probe');
    o.emu.host.bind(o.bdf, 'aer-probe');
    const fn = hwFn(o);
    fn.reportAerError(CMPL_TIMEOUT);
    fn.reportAerError(MALF_TLP);
    expect(calls).toEqual([`${o.bdf} normal`, `${o.bdf} frozen`]);
    o.emu.host.unbind(o.bdf);
    // the fatal recovery's FLR turned reporting off; turn it on again to see the next error handled
    const exp = fn.capOffset(L.M_PCIE_CAP);
    fn.configWrite(exp + PCI_EXP_DEVCTL, 2, fn.configRead(exp + PCI_EXP_DEVCTL, 2) | 0xf);
    fn.reportAerError(MALF_TLP); // no driver: nobody to call (the recovery fails)
    expect(calls).toHaveLength(2);
  });

  it('a conventional PCI device has no ERR index', async () => {
    const { emu, file } = await openOne(CONVENTIONAL_SPEC);
    const err = emu.host.eventfd();
    expect(errno(() => file.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(VFIO.IRQ_SET_DATA_EVENTFD | TRIGGER, VFIO.PCI_ERR_IRQ_INDEX, 0, 1, fds(err.fd))))).toBe('EINVAL');
  });
});
