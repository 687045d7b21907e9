// A device-initiated wakeup of a vfio-pci device in low power, end to end: runtime suspend arms PME
// (pci_finish_runtime_suspend -> __pci_enable_wake -> pci_pme_active), the device's PME reaches the
// host's PCIe PME service (pcie_pme_handle_request: pci_check_pme_status clears PME_Status and
// PME_En, then pm_request_resume), runtime resume powers up, restores, and disarms PME
// (pci_pm_runtime_resume: pci_power_up, pci_restore_state, pci_pme_restore, pci_enable_wake(D0,
// false)), and vfio_pci_core_runtime_resume signals the wakeup eventfd and exits low power. Without
// an eventfd nothing is signalled and, as rpm_resume ends with rpm_idle, the device suspends again.
import { describe, expect, it, vi } from 'vitest';
import { L } from '../../../src/core/wasm.js';
import type { EndpointSpec } from '../../../src/hw/spec.js';
import { PCIE_SPEC, VFIO, errno, feature, headerDwords, openOne, readLe, regionOffset, wakeup } from './machine.js';
import type { Opened } from './machine.js';

const SET = VFIO.DEVICE_FEATURE_SET;
const ENTRY = VFIO.DEVICE_FEATURE_LOW_POWER_ENTRY;
const WAKEUP = VFIO.DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP;
const EXIT = VFIO.DEVICE_FEATURE_LOW_POWER_EXIT;
const PME_EN = 0x0100;
const PME_STATUS = 0x8000;

/** PCIE_SPEC with PME from D0 and D3hot; no No_Soft_Reset, so D3hot -> D0 resets the function. */
const PME_SPEC: EndpointSpec = {
  ...PCIE_SPEC,
  capabilities: PCIE_SPEC.capabilities!.map((c) => (c.id === 'pm' ? { ...c, pme: true } : c)),
};


const fnOf = (o: Opened) => o.emu.hw.function(o.bdf)!;
const pmcsrAt = (o: Opened) => fnOf(o).capOffset(L.M_PM_CAP) + 4;
const pmcsr = (o: Opened) => o.emu.hw.configRead(o.bdf, pmcsrAt(o), 2);

/** Every PMCSR word the host writes from now on. */
function recordPmcsrWrites(o: Opened): number[] {
  const writes: number[] = [];
  const hw = o.emu.hw;
  const real = hw.configWrite.bind(hw);
  const at = pmcsrAt(o);
  vi.spyOn(hw, 'configWrite').mockImplementation((bdf, off, size, value) => {
    if (bdf === o.bdf && off === at && size === 2) writes.push(value);
    real(bdf, off, size, value);
  });
  return writes;
}

describe('runtime suspend arms PME, runtime resume disarms it', () => {
  it('a PME-capable device enters D3hot with PME_En set and PME_Status clear; exit clears PME_En', async () => {
    const o = await openOne(PME_SPEC);
    // a stale PME_Status from before is cleared by pci_pme_active(dev, true)
    fnOf(o).raisePme();
    expect(pmcsr(o) & PME_STATUS).toBe(PME_STATUS);
    feature(o, SET | ENTRY);
    expect(pmcsr(o)).toBe(PME_EN | 3);
    feature(o, SET | EXIT);
    expect(pmcsr(o)).toBe(0);
  });

  it('a device without PME support suspends without PME_En, and raisePme cannot wake it', async () => {
    const o = await openOne(PCIE_SPEC);
    const efd = o.emu.host.eventfd();
    feature(o, SET | WAKEUP, wakeup(efd.fd));
    expect(pmcsr(o)).toBe(3);
    expect(fnOf(o).raisePme()).toBe(false);
    expect(pmcsr(o)).toBe(3);
    expect(efd.signals).toBe(0);
  });
});

describe('LOW_POWER_ENTRY_WITH_WAKEUP + a device PME', () => {
  it('signals the eventfd once, brings the device back to D0 with its state, PME clear, low power exited', async () => {
    const o = await openOne(PME_SPEC);
    o.file.write(regionOffset(0, 4), Uint8Array.of(0x33, 0, 0, 0));
    const header = headerDwords(o.emu, o.bdf);
    const efd = o.emu.host.eventfd();
    expect(feature(o, SET | WAKEUP, wakeup(efd.fd))).toBe(0);
    expect(pmcsr(o)).toBe(PME_EN | 3);
    expect(efd.signals).toBe(0);

    expect(fnOf(o).raisePme()).toBe(true);
    expect(efd.signals).toBe(1);
    expect(pmcsr(o) & 3).toBe(0);
    expect(pmcsr(o) & (PME_EN | PME_STATUS)).toBe(0);
    expect(headerDwords(o.emu, o.bdf)).toEqual(header);
    // the BAR decodes again (the device's own register was soft-reset by D3hot -> D0)
    expect(readLe(o.file, 0, 4, 4)).toBe(0);
    expect(efd.signals).toBe(1);
    // low power is over: a new entry is accepted rather than EINVAL
    expect(feature(o, SET | ENTRY)).toBe(0);
    expect(pmcsr(o)).toBe(PME_EN | 3);
    expect(efd.signals).toBe(1);
  });

  it('the host touches PMCSR in the kernel order', async () => {
    const o = await openOne(PME_SPEC);
    const efd = o.emu.host.eventfd();
    const writes = recordPmcsrWrites(o);
    feature(o, SET | WAKEUP, wakeup(efd.fd));
    // __pci_enable_wake -> pci_pme_active(true): clear PME_Status, set PME_En; then D3hot
    expect(writes).toEqual([PME_STATUS | PME_EN, PME_EN | 3]);
    writes.length = 0;
    fnOf(o).raisePme();
    expect(writes).toEqual([
      PME_STATUS | 3, // pci_check_pme_status: PME_Status cleared, PME_En cleared, still D3hot
      0, // pci_power_up: D0 with PME_En off, PME_Status untouched
      PME_EN, // pci_pme_restore: wakeup still prepared (the soft reset had cleared PME_En)
      PME_STATUS, // pci_enable_wake(D0, false) -> pci_pme_active(false)
    ]);
    expect(efd.signals).toBe(1);
  });

  it('a second PME after the wakeup is not armed: PME_Status is set, nothing is sent or signalled', async () => {
    const o = await openOne(PME_SPEC);
    const efd = o.emu.host.eventfd();
    feature(o, SET | WAKEUP, wakeup(efd.fd));
    fnOf(o).raisePme();
    expect(fnOf(o).raisePme()).toBe(false);
    expect(pmcsr(o)).toBe(PME_STATUS);
    expect(efd.signals).toBe(1);
  });
});

describe('LOW_POWER_ENTRY (no eventfd) + a device PME', () => {
  it('resumes the device, signals nothing, and suspends it again at once (rpm_idle): low power stays engaged', async () => {
    const o = await openOne(PME_SPEC);
    o.file.write(regionOffset(0, 4), Uint8Array.of(0x44, 0, 0, 0));
    const header = headerDwords(o.emu, o.bdf);
    feature(o, SET | ENTRY);
    const writes = recordPmcsrWrites(o);
    expect(fnOf(o).raisePme()).toBe(true);
    expect(writes).toEqual([PME_STATUS | 3, 0, PME_EN, PME_STATUS, PME_STATUS | PME_EN, PME_EN | 3]);
    // resumed (vfio_pci_core_runtime_resume has no eventfd to signal), then back in D3hot, PME armed
    expect(pmcsr(o)).toBe(PME_EN | 3);
    // still engaged: a second entry is EINVAL (the ioctl resumes and suspends around it)
    expect(errno(() => feature(o, SET | ENTRY))).toBe('EINVAL');
    expect(pmcsr(o)).toBe(PME_EN | 3);
    // the state survived the round trip through the resume: exit restores it
    feature(o, SET | EXIT);
    expect(pmcsr(o)).toBe(0);
    expect(headerDwords(o.emu, o.bdf)).toEqual(header);
  });

  it('every PME wakes it again', async () => {
    const o = await openOne(PME_SPEC);
    feature(o, SET | ENTRY);
    for (let i = 0; i < 3; i++) {
      expect(fnOf(o).raisePme()).toBe(true);
      expect(pmcsr(o)).toBe(PME_EN | 3);
    }
  });
});

describe('PMEs the service does not turn into a resume', () => {
  it('while the device is not suspended (PME_En set behind vfio): status and PME_En cleared, nothing else', async () => {
    const o = await openOne(PME_SPEC);
    const efd = o.emu.host.eventfd();
    feature(o, SET | WAKEUP, wakeup(efd.fd));
    readLe(o.file, 0, 0, 4); // the access resumes the device: signalled once, low power exited
    expect(efd.signals).toBe(1);
    const header = headerDwords(o.emu, o.bdf);
    o.emu.hw.configWrite(o.bdf, pmcsrAt(o), 2, PME_EN);
    expect(fnOf(o).raisePme()).toBe(true);
    expect(pmcsr(o)).toBe(0);
    expect(efd.signals).toBe(1);
    expect(headerDwords(o.emu, o.bdf)).toEqual(header);
  });

  it('with PME_En clear the device sends nothing: PME_Status stays set until the next suspend clears it', async () => {
    const o = await openOne(PME_SPEC);
    expect(fnOf(o).raisePme()).toBe(false);
    expect(pmcsr(o)).toBe(PME_STATUS);
    feature(o, SET | ENTRY);
    expect(pmcsr(o)).toBe(PME_EN | 3);
  });

  it('a PME from a function the PCI core has not enumerated yet is spurious: nothing is cleared', async () => {
    const o = await openOne(PME_SPEC);
    const bdf = '0000:00:05.0';
    const f = o.emu.hw.addEndpoint(bdf, PME_SPEC);
    o.emu.hw.configWrite(bdf, f.capOffset(L.M_PM_CAP) + 4, 2, PME_EN);
    expect(f.raisePme()).toBe(true);
    expect(o.emu.hw.configRead(bdf, f.capOffset(L.M_PM_CAP) + 4, 2)).toBe(PME_STATUS | PME_EN);
  });

  it('a device bound to vfio-pci but not open is not runtime suspended: the PME is only cleared', async () => {
    const o = await openOne(PME_SPEC);
    o.file.close();
    o.emu.hw.configWrite(o.bdf, pmcsrAt(o), 2, PME_EN);
    expect(fnOf(o).raisePme()).toBe(true);
    expect(pmcsr(o)).toBe(0);
  });
});
