// The low-power DEVICE_FEATUREs of vfio-pci-core (vfio_pci_core_pm_entry, _pm_entry_with_wakeup,
// _pm_exit): entry lets the device runtime suspend (D3hot through PMCSR) once the ioctl returns;
// every ioctl and region access resumes it for its duration (and, with a wakeup eventfd, signals the
// eventfd and ends low power); exit and close bring it back to D0 with its state restored.
import { describe, expect, it } from 'vitest';
import { L } from '../../../src/core/wasm.js';
import { PCIE_SPEC, VFIO, errno, feature, headerDwords, openOne, readLe, regionOffset, wakeup } from './machine.js';
import type { Opened } from './machine.js';

const GET = VFIO.DEVICE_FEATURE_GET;
const SET = VFIO.DEVICE_FEATURE_SET;
const PROBE = VFIO.DEVICE_FEATURE_PROBE;
const ENTRY = VFIO.DEVICE_FEATURE_LOW_POWER_ENTRY;
const WAKEUP = VFIO.DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP;
const EXIT = VFIO.DEVICE_FEATURE_LOW_POWER_EXIT;


function dstate(o: Opened): number {
  const pm = o.emu.hw.function(o.bdf)!.capOffset(L.M_PM_CAP);
  return o.emu.hw.configRead(o.bdf, pm + 4, 2) & 3;
}

describe('low-power feature checks (vfio_check_feature, SET only)', () => {
  it('PROBE with SET succeeds; GET, PROBE with GET, and neither answer EINVAL', async () => {
    const o = await openOne(PCIE_SPEC);
    for (const f of [ENTRY, WAKEUP, EXIT]) {
      expect(feature(o, PROBE | SET | f)).toBe(0);
      expect(errno(() => feature(o, PROBE | GET | f))).toBe('EINVAL');
      expect(errno(() => feature(o, PROBE | GET | SET | f))).toBe('EINVAL');
      expect(errno(() => feature(o, GET | f, new Uint8Array(8)))).toBe('EINVAL');
      expect(errno(() => feature(o, f, new Uint8Array(8)))).toBe('EINVAL');
    }
    expect(dstate(o)).toBe(0); // probing changes nothing
  });

  it('ENTRY_WITH_WAKEUP needs an 8-byte payload; ENTRY and EXIT need none', async () => {
    const o = await openOne(PCIE_SPEC);
    const efd = o.emu.host.eventfd();
    expect(errno(() => feature(o, SET | WAKEUP, wakeup(efd.fd).subarray(0, 4)))).toBe('EINVAL');
    expect(errno(() => feature(o, SET | WAKEUP, wakeup(efd.fd), 15))).toBe('EINVAL');
    expect(dstate(o)).toBe(0);
    expect(feature(o, SET | EXIT)).toBe(0);
    expect(feature(o, SET | ENTRY)).toBe(0);
    expect(dstate(o)).toBe(3);
  });

  it('validates the wakeup eventfd as eventfd_ctx_fdget: negative EINVAL, not open EBADF, not an eventfd EINVAL', async () => {
    const o = await openOne(PCIE_SPEC);
    expect(errno(() => feature(o, SET | WAKEUP, wakeup(-1)))).toBe('EINVAL');
    expect(errno(() => feature(o, SET | WAKEUP, wakeup(9999)))).toBe('EBADF');
    const notEventfd = (o.file as unknown as { fd: number }).fd;
    expect(o.emu.host.vfio.files.get(notEventfd)).toBeDefined();
    expect(errno(() => feature(o, SET | WAKEUP, wakeup(notEventfd)))).toBe('EINVAL');
    expect(dstate(o)).toBe(0);
  });
});

describe('LOW_POWER_ENTRY and EXIT', () => {
  it('entry puts the hardware in D3hot; exit brings it back to D0 with BARs and config restored', async () => {
    const o = await openOne(PCIE_SPEC);
    o.file.write(regionOffset(0, 4), Uint8Array.of(0x5a, 0, 0, 0));
    const header = headerDwords(o.emu, o.bdf);
    expect(feature(o, SET | ENTRY)).toBe(0);
    expect(dstate(o)).toBe(3);
    expect(feature(o, SET | EXIT)).toBe(0);
    expect(dstate(o)).toBe(0);
    expect(headerDwords(o.emu, o.bdf)).toEqual(header);
    // the device soft-reset its own registers on D3hot -> D0 (no No_Soft_Reset); its BAR decodes again
    o.file.write(regionOffset(0, 4), Uint8Array.of(0x5b, 0, 0, 0));
    expect(readLe(o.file, 0, 4, 4)).toBe(0x5b);
    // out of low power: accesses no longer suspend the device
    expect(dstate(o)).toBe(0);
  });

  it('a BAR or config access while in low power resumes the device for the access, then it suspends again', async () => {
    // No_Soft_Reset, so the device's registers survive each D3hot round trip
    const o = await openOne({ ...PCIE_SPEC, capabilities: [{ id: 'pm', noSoftReset: true }, ...PCIE_SPEC.capabilities!.slice(1)] });
    o.file.write(regionOffset(0, 4), Uint8Array.of(0x77, 0, 0, 0));
    const header = headerDwords(o.emu, o.bdf);
    feature(o, SET | ENTRY);
    expect(dstate(o)).toBe(3);
    expect(readLe(o.file, 0, 4, 4)).toBe(0x77);
    expect(dstate(o)).toBe(3);
    o.file.write(regionOffset(0, 4), Uint8Array.of(0x78, 0, 0, 0));
    expect(dstate(o)).toBe(3);
    expect(readLe(o.file, 0, 4, 4)).toBe(0x78);
    expect(readLe(o.file, VFIO.PCI_CONFIG_REGION_INDEX, 0, 2)).toBe(PCIE_SPEC.vendorId);
    // any other ioctl too (vfio_device_fops_unl_ioctl's pm_runtime_resume_and_get / put)
    o.c.reset();
    expect(dstate(o)).toBe(3);
    feature(o, SET | EXIT);
    expect(dstate(o)).toBe(0);
    expect(headerDwords(o.emu, o.bdf)).toEqual(header);
  });

  it('entry twice is EINVAL (pm_runtime_engaged); exit without entry, or twice, succeeds', async () => {
    const o = await openOne(PCIE_SPEC);
    expect(feature(o, SET | EXIT)).toBe(0);
    feature(o, SET | ENTRY);
    expect(errno(() => feature(o, SET | ENTRY))).toBe('EINVAL');
    const efd = o.emu.host.eventfd();
    expect(errno(() => feature(o, SET | WAKEUP, wakeup(efd.fd)))).toBe('EINVAL');
    expect(dstate(o)).toBe(3);
    expect(feature(o, SET | EXIT)).toBe(0);
    expect(feature(o, SET | EXIT)).toBe(0);
    expect(dstate(o)).toBe(0);
    expect(efd.signals).toBe(0);
  });

  it('closing the device in low power brings it back to D0 with its state', async () => {
    const o = await openOne(PCIE_SPEC);
    const efd = o.emu.host.eventfd();
    feature(o, SET | WAKEUP, wakeup(efd.fd));
    expect(dstate(o)).toBe(3);
    o.file.close();
    expect(dstate(o)).toBe(0);
    // vfio_pci_core_disable exits low power before resuming: no wakeup signal
    expect(efd.signals).toBe(0);
    const again = o.emu.host.openDevice(o.bdf);
    expect(readLe(again, VFIO.PCI_CONFIG_REGION_INDEX, 0, 2)).toBe(PCIE_SPEC.vendorId);
  });
});

describe('LOW_POWER_ENTRY_WITH_WAKEUP', () => {
  it('the first resume (a region access) signals the eventfd and ends low power', async () => {
    const o = await openOne(PCIE_SPEC);
    o.file.write(regionOffset(0, 4), Uint8Array.of(0x33, 0, 0, 0));
    const header = headerDwords(o.emu, o.bdf);
    const efd = o.emu.host.eventfd();
    expect(feature(o, SET | WAKEUP, wakeup(efd.fd))).toBe(0);
    expect(dstate(o)).toBe(3);
    expect(efd.signals).toBe(0);
    // the access goes to the resumed device (soft-reset by D3hot -> D0, so its register reads 0)
    expect(readLe(o.file, 0, 4, 4)).toBe(0);
    expect(efd.signals).toBe(1);
    expect(dstate(o)).toBe(0);
    expect(headerDwords(o.emu, o.bdf)).toEqual(header);
    readLe(o.file, 0, 4, 4);
    expect(efd.signals).toBe(1);
    // low power is over, so a new entry is accepted
    expect(feature(o, SET | ENTRY)).toBe(0);
    expect(dstate(o)).toBe(3);
  });

  it('an ioctl resumes too: LOW_POWER_EXIT signals the eventfd, and a second entry succeeds', async () => {
    const o = await openOne(PCIE_SPEC);
    const efd = o.emu.host.eventfd();
    feature(o, SET | WAKEUP, wakeup(efd.fd));
    expect(feature(o, SET | EXIT)).toBe(0);
    expect(efd.signals).toBe(1);
    expect(dstate(o)).toBe(0);
    feature(o, SET | WAKEUP, wakeup(efd.fd));
    expect(dstate(o)).toBe(3);
    // the entry ioctl itself resumes first (signal, exit), so entering again is not EINVAL
    expect(feature(o, SET | WAKEUP, wakeup(efd.fd))).toBe(0);
    expect(efd.signals).toBe(2);
    expect(dstate(o)).toBe(3);
  });
});
