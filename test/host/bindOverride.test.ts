// host.bind(bdf) without a name honours a driver_override the user set (issue 11 §5), as the
// kernel's driver core does: with driver_override set only that driver may bind, so bind picks it
// (whatever the best vfio_pci: alias would be), keeps the override as written, and fails with
// ENODEV when no driver of that name is registered; nothing is bound then.
import { describe, expect, it } from 'vitest';
import { createEmulator, VfioError } from '../../src/index.js';

const DMA = '0000:00:04.0';

function errno(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof VfioError) return e.code;
    throw e;
  }
  return 'OK';
}

async function engine() {
  const emu = await createEmulator();
  emu.hw.addDmaEngine(DMA, { deviceMemoryBytes: 16 << 10 });
  return emu;
}

describe('host.bind(bdf) with a driver_override set', () => {
  it('binds the override, not the best vfio_pci: match, and keeps the override', async () => {
    const emu = await engine();
    emu.host.driverOverride(DMA, 'vfio-pci'); // plain vfio-pci, where best match is dmae-vfio-pci
    expect(emu.host.bind(DMA)).toBe('vfio-pci');
    expect(emu.host.pciDev(DMA).driverOverride).toBe('vfio-pci');
    expect(emu.host.pciDev(DMA).driver?.name).toBe('vfio-pci');
  });

  it('fails with ENODEV when the override names no registered driver, and binds nothing', async () => {
    const emu = await engine();
    emu.host.driverOverride(DMA, 'no-such-driver');
    expect(errno(() => emu.host.bind(DMA))).toBe('ENODEV');
    expect(emu.host.pciDev(DMA).driver).toBeNull();
    expect(emu.host.pciDev(DMA).driverOverride).toBe('no-such-driver');
    // clearing it brings the best match back
    emu.host.driverOverride(DMA, null);
    expect(emu.host.bind(DMA)).toBe('dmae-vfio-pci');
  });

  it('without an override still writes the best match into driver_override', async () => {
    const emu = await engine();
    expect(emu.host.bind(DMA)).toBe('dmae-vfio-pci');
    expect(emu.host.pciDev(DMA).driverOverride).toBe('dmae-vfio-pci');
  });

  it('an override naming a driver that is not a vfio driver binds that driver too (the core does not care)', async () => {
    const emu = await createEmulator();
    emu.hw.addVirtioNet('0000:00:05.0', {});
    emu.host.unbind('0000:00:05.0');
    emu.host.driverOverride('0000:00:05.0', 'vfio-pci');
    expect(emu.host.bind('0000:00:05.0')).toBe('vfio-pci');
  });
});
