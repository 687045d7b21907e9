// VFIO_DEVICE_RESET (vfio_pci_ioctl_reset): EINVAL unless open found a working reset method
// (reset_works); otherwise back to D0 and pci_try_reset_function - save config, reset by the first
// method in Linux's order (FLR, PM D3hot->D0 soft reset, secondary bus reset of a lone device), restore.
import { describe, expect, it, vi } from 'vitest';
import { L } from '../../../src/core/wasm.js';
import { GenericEndpoint } from '../../../src/hw/devices/genericEndpoint.js';
import type { EndpointSpec } from '../../../src/hw/spec.js';
import {
  CONVENTIONAL_SPEC, NO_RESET_SPEC, PCIE_SPEC, ROOT_DEV, VFIO, VfioClient, createEmulator, errno, fds, headerDwords, irqSet,
  readLe, regionOffset,
} from './machine.js';

const PCI_COMMAND = 0x04;
const PCI_BRIDGE_CONTROL = 0x3e;
const SBR = 0x40;

class CountingEndpoint extends GenericEndpoint {
  resets = 0;
  override reset(): void {
    this.resets++;
    super.reset();
  }
}

/** Opens `bdf` with a reset-counting model; `bridge` puts it alone behind 00:01.0. Records config writes. */
async function machine(spec: EndpointSpec, opts: { bridge?: boolean; sibling?: boolean } = {}) {
  const emu = await createEmulator();
  let bdf = ROOT_DEV;
  if (opts.bridge) {
    emu.hw.addBridge('0000:00:01.0', { secondaryBus: 1 });
    bdf = '0000:01:00.0';
    if (opts.sibling) emu.hw.addEndpoint('0000:01:00.1', NO_RESET_SPEC);
  }
  const model = new CountingEndpoint();
  emu.hw.addFunction(bdf, spec, model);
  emu.host.bind(bdf);
  const file = emu.host.openDevice(bdf);
  const writes: string[] = [];
  const real = emu.hw.configWrite.bind(emu.hw);
  vi.spyOn(emu.hw, 'configWrite').mockImplementation((b: string, off: number, size: 1 | 2 | 4, value: number) => {
    writes.push(`${b}@${off.toString(16)}=${value.toString(16)}`);
    real(b, off, size, value);
  });
  return { emu, bdf, file, c: new VfioClient(file), model, writes, fn: emu.hw.function(bdf)! };
}

describe('DEVICE_RESET', () => {
  it('resets by FLR when the device has it, and restores the header', async () => {
    const { emu, bdf, file, model, writes, fn } = await machine(PCIE_SPEC);
    const resetsAtOpen = model.resets; // open resets the device too (vfio_pci_core_enable)
    expect(resetsAtOpen).toBe(1);
    file.write(regionOffset(0, 0x40), Uint8Array.of(1, 2, 3, 4));
    const header = headerDwords(emu, bdf);
    writes.length = 0;
    expect(file.ioctl(VFIO.DEVICE_RESET, new Uint8Array(0))).toBe(0);
    expect(model.resets).toBe(resetsAtOpen + 1);
    const devctl = fn.capOffset(L.M_PCIE_CAP) + 8;
    expect(writes.some((w) => w.startsWith(`${bdf}@${devctl.toString(16)}=`) && (parseInt(w.split('=')[1], 16) & 0x8000) !== 0)).toBe(true);
    expect(headerDwords(emu, bdf)).toEqual(header);
    expect(readLe(file, 0, 0x40, 4)).toBe(0); // device state is gone
  });

  it('uses the PM soft reset (D3hot -> D0) without FLR', async () => {
    const { emu, bdf, file, model, writes, fn } = await machine(CONVENTIONAL_SPEC);
    const pmcsr = fn.capOffset(L.M_PM_CAP) + 4;
    const header = headerDwords(emu, bdf);
    writes.length = 0;
    file.ioctl(VFIO.DEVICE_RESET, new Uint8Array(0));
    expect(model.resets).toBe(2);
    expect(writes.filter((w) => w.startsWith(`${bdf}@${pmcsr.toString(16)}=`)).map((w) => parseInt(w.split('=')[1], 16) & 3)).toEqual([3, 0]);
    expect(headerDwords(emu, bdf)).toEqual(header);
  });

  it('uses a secondary bus reset for a lone device behind a bridge', async () => {
    const { emu, bdf, file, model, writes } = await machine(NO_RESET_SPEC, { bridge: true });
    const header = headerDwords(emu, bdf);
    writes.length = 0;
    file.ioctl(VFIO.DEVICE_RESET, new Uint8Array(0));
    expect(model.resets).toBe(2);
    const sbr = writes.filter((w) => w.startsWith(`0000:00:01.0@${PCI_BRIDGE_CONTROL.toString(16)}=`)).map((w) => parseInt(w.split('=')[1], 16) & SBR);
    expect(sbr).toEqual([SBR, 0]);
    expect(headerDwords(emu, bdf)).toEqual(header);
  });

  it('is EINVAL with no method: on the root bus, or sharing the bus behind the bridge', async () => {
    for (const m of [await machine(NO_RESET_SPEC), await machine(NO_RESET_SPEC, { bridge: true, sibling: true })]) {
      expect(m.c.getInfo().flags & VFIO.DEVICE_FLAGS_RESET).toBe(0);
      expect(errno(() => m.file.ioctl(VFIO.DEVICE_RESET, new Uint8Array(0)))).toBe('EINVAL');
      expect(m.model.resets).toBe(0);
    }
  });

  it('brings a device the user put in D3hot back to D0 first (its soft reset there, then the PM reset)', async () => {
    const { emu, bdf, c, file, fn, model } = await machine(CONVENTIONAL_SPEC);
    const pmcsr = fn.capOffset(L.M_PM_CAP) + 4;
    const header = headerDwords(emu, bdf);
    c.configWrite(pmcsr, 2, (c.configRead(pmcsr, 2) & ~3) | 3);
    expect(fn.configRead(pmcsr, 2) & 3).toBe(3);
    file.ioctl(VFIO.DEVICE_RESET, new Uint8Array(0));
    expect(model.resets).toBe(3);
    expect(fn.configRead(pmcsr, 2) & 3).toBe(0);
    expect(headerDwords(emu, bdf)).toEqual(header);
  });

  it('keeps the user state the kernel restores: Command, BARs, MSI-X vectors keep working', async () => {
    const { emu, bdf, c, file, fn } = await machine(PCIE_SPEC);
    const efd = emu.host.eventfd();
    c.configWrite(PCI_COMMAND, 2, c.configRead(PCI_COMMAND, 2) | 0x4); // bus master
    file.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(VFIO.IRQ_SET_DATA_EVENTFD | VFIO.IRQ_SET_ACTION_TRIGGER, VFIO.PCI_MSIX_IRQ_INDEX, 0, 1, fds(efd.fd)));
    const cmd = emu.hw.configRead(bdf, PCI_COMMAND, 2);
    file.ioctl(VFIO.DEVICE_RESET, new Uint8Array(0));
    expect(emu.hw.configRead(bdf, PCI_COMMAND, 2)).toBe(cmd);
    expect(c.configRead(PCI_COMMAND, 2) & 0x7).toBe(0x7);
    fn.raiseMsix(0);
    expect(efd.signals).toBe(1);
    // and the BARs still reach the device
    file.write(regionOffset(2, 8), Uint8Array.of(0xab));
    expect(readLe(file, 2, 8, 1)).toBe(0xab);
  });
});
