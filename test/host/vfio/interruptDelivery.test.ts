// Interrupts from the hardware to the user's eventfds (vfio_pci_intrs.c): MSI blocks with the vector
// folded into the message data, MSI-X one host vector per table entry, and INTx with automasking
// (vfio_intx_handler masks through INTx Disable; UNMASK, an unmask irqfd or the user's INTx Disable bit
// decide when it may fire again).
import { describe, expect, it } from 'vitest';
import { L } from '../../../src/core/wasm.js';
import type { Eventfd } from '../../../src/host/fileTable.js';
import type { PciFunction } from '../../../src/hw/pciFunction.js';
import { PCIE_SPEC, VFIO, fds, irqSet, openOne } from './machine.js';
import type { Opened } from './machine.js';

const EVENTFD_TRIGGER = VFIO.IRQ_SET_DATA_EVENTFD | VFIO.IRQ_SET_ACTION_TRIGGER;
const PCI_COMMAND = 0x04;
const INTX_DISABLE = 0x400;

async function setup(): Promise<Opened & { fn: PciFunction; efds: Eventfd[] }> {
  const o = await openOne(PCIE_SPEC);
  const fn = o.emu.hw.function(o.bdf)!;
  const efds = Array.from({ length: 8 }, () => o.emu.host.eventfd());
  return { ...o, fn, efds };
}

const signals = (efds: Eventfd[]) => efds.map((e) => e.signals);

describe('MSI', () => {
  it('programs a power-of-two block and delivers each vector to its own eventfd', async () => {
    const { emu, file, fn, efds } = await setup();
    file.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(EVENTFD_TRIGGER, VFIO.PCI_MSI_IRQ_INDEX, 0, 4, fds(...efds.slice(0, 4).map((e) => e.fd))));
    const cap = fn.capOffset(L.M_MSI_CAP);
    const ctl = emu.hw.configRead(fn.bdf, cap + 2, 2);
    expect(ctl & 1).toBe(1); // enabled
    expect((ctl >> 4) & 7).toBe(2); // Multiple Message Enable: 4 vectors
    expect(emu.hw.configRead(fn.bdf, cap + 4, 4)).toBe(0xfee00000);
    const data = emu.hw.configRead(fn.bdf, cap + 12, 2); // 64-bit capability: data at +12
    expect(data % 4).toBe(0); // the device ORs the vector into the low bits
    for (const v of [2, 0, 3, 3, 1]) fn.raiseMsi(v);
    expect(signals(efds.slice(0, 4))).toEqual([1, 1, 1, 2]);
    expect(emu.host.vfio.irqs.spurious).toBe(0);
  });

  it('rounds a 3-vector request up to a block of 4; the unallocated vector reaches no eventfd', async () => {
    const { emu, file, fn, efds } = await setup();
    file.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(EVENTFD_TRIGGER, VFIO.PCI_MSI_IRQ_INDEX, 0, 3, fds(efds[0].fd, -1, efds[2].fd)));
    expect((emu.hw.configRead(fn.bdf, fn.capOffset(L.M_MSI_CAP) + 2, 2) >> 4) & 7).toBe(2);
    for (const v of [0, 1, 2, 3]) fn.raiseMsi(v);
    expect(signals(efds.slice(0, 4))).toEqual([1, 0, 1, 0]);
  });

  it('rewires a vector to a new eventfd and stops delivering after disable', async () => {
    const { emu, file, fn, efds } = await setup();
    file.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(EVENTFD_TRIGGER, VFIO.PCI_MSI_IRQ_INDEX, 0, 2, fds(efds[0].fd, efds[1].fd)));
    file.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(EVENTFD_TRIGGER, VFIO.PCI_MSI_IRQ_INDEX, 1, 1, fds(efds[5].fd)));
    fn.raiseMsi(1);
    expect([efds[1].signals, efds[5].signals]).toEqual([0, 1]);
    file.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(VFIO.IRQ_SET_DATA_NONE | VFIO.IRQ_SET_ACTION_TRIGGER, VFIO.PCI_MSI_IRQ_INDEX, 0, 0));
    expect(emu.hw.configRead(fn.bdf, fn.capOffset(L.M_MSI_CAP) + 2, 2) & 1).toBe(0);
    fn.signal(0); // with MSI off the device falls back to INTx, which nobody enabled
    expect(signals(efds)).toEqual([0, 0, 0, 0, 0, 1, 0, 0]);
  });

  it('signals through DATA_NONE and DATA_BOOL loopback, per vector', async () => {
    const { file, efds } = await setup();
    file.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(EVENTFD_TRIGGER, VFIO.PCI_MSI_IRQ_INDEX, 0, 4, fds(...efds.slice(0, 4).map((e) => e.fd))));
    file.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(VFIO.IRQ_SET_DATA_NONE | VFIO.IRQ_SET_ACTION_TRIGGER, VFIO.PCI_MSI_IRQ_INDEX, 1, 2));
    file.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(VFIO.IRQ_SET_DATA_BOOL | VFIO.IRQ_SET_ACTION_TRIGGER, VFIO.PCI_MSI_IRQ_INDEX, 0, 4, Uint8Array.of(1, 0, 0, 7)));
    expect(signals(efds.slice(0, 4))).toEqual([1, 1, 1, 1]);
  });
});

describe('MSI-X', () => {
  it('gives each table entry its own message and eventfd', async () => {
    const { emu, file, fn, efds } = await setup();
    file.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(EVENTFD_TRIGGER, VFIO.PCI_MSIX_IRQ_INDEX, 0, 8, fds(efds[0].fd, -1, -1, efds[3].fd, -1, -1, -1, efds[7].fd)));
    const cap = fn.capOffset(L.M_MSIX_CAP);
    expect(emu.hw.configRead(fn.bdf, cap + 2, 2) & 0xc000).toBe(0x8000); // enabled, not function-masked
    const m = fn.msix!;
    const entry = (v: number, dw: number) => fn.barRead(m.tableBar, m.tableOffset + v * 16 + dw * 4, 4);
    const datas = new Set<number>();
    for (const v of [0, 3, 7]) {
      expect(entry(v, 0)).toBe(0xfee00000);
      expect(entry(v, 1)).toBe(0);
      expect(entry(v, 3) & 1).toBe(0); // unmasked
      datas.add(entry(v, 2));
    }
    expect(datas.size).toBe(3);
    expect(entry(1, 3) & 1).toBe(1); // vectors without an eventfd stay masked
    for (const v of [7, 3, 3, 0, 1]) fn.raiseMsix(v);
    expect(signals(efds)).toEqual([1, 0, 0, 2, 0, 0, 0, 1]);
    expect(emu.host.vfio.irqs.spurious).toBe(0);
  });

  it('delivers a masked vector that fired once it gets an eventfd (pending bit); vectors enabled without one can get one later', async () => {
    const { file, fn, efds } = await setup();
    // six vectors enabled, only the first with an eventfd (Linux 6.1 cannot add vectors later: NORESIZE)
    file.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(EVENTFD_TRIGGER, VFIO.PCI_MSIX_IRQ_INDEX, 0, 6, fds(efds[0].fd, -1, -1, -1, -1, -1)));
    fn.raiseMsix(5); // no host vector yet: masked, so it stays pending
    expect(efds[5].signals).toBe(0);
    file.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(EVENTFD_TRIGGER, VFIO.PCI_MSIX_IRQ_INDEX, 5, 1, fds(efds[5].fd)));
    expect(efds[5].signals).toBe(1);
    fn.raiseMsix(5);
    expect(efds[5].signals).toBe(2);
    // detaching masks the entry again
    file.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(EVENTFD_TRIGGER, VFIO.PCI_MSIX_IRQ_INDEX, 5, 1, fds(-1)));
    fn.raiseMsix(5);
    expect(efds[5].signals).toBe(2);
  });
});

describe('INTx', () => {
  async function intx() {
    const s = await setup();
    const trig = s.efds[0];
    s.file.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(EVENTFD_TRIGGER, VFIO.PCI_INTX_IRQ_INDEX, 0, 1, fds(trig.fd)));
    const hwMasked = () => (s.emu.hw.configRead(s.bdf, PCI_COMMAND, 2) & INTX_DISABLE) !== 0;
    const unmask = () => s.file.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(VFIO.IRQ_SET_DATA_NONE | VFIO.IRQ_SET_ACTION_UNMASK, VFIO.PCI_INTX_IRQ_INDEX, 0, 1));
    const mask = () => s.file.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(VFIO.IRQ_SET_DATA_NONE | VFIO.IRQ_SET_ACTION_MASK, VFIO.PCI_INTX_IRQ_INDEX, 0, 1));
    return { ...s, trig, hwMasked, unmask, mask };
  }

  it('automasks: a fired INTx stays masked (INTx Disable set) until UNMASK', async () => {
    const { fn, trig, hwMasked, unmask } = await intx();
    expect(hwMasked()).toBe(false);
    fn.setIntx(true);
    expect(trig.signals).toBe(1);
    expect(hwMasked()).toBe(true);
    // the device drops and raises the line again: still masked, nothing new
    fn.setIntx(false);
    fn.setIntx(true);
    fn.setIntx(false);
    expect(trig.signals).toBe(1);
    unmask();
    expect(hwMasked()).toBe(false);
    expect(trig.signals).toBe(1);
    fn.setIntx(true);
    expect(trig.signals).toBe(2);
  });

  it('fires again on UNMASK when the line is still asserted, and stays masked', async () => {
    const { fn, trig, hwMasked, unmask } = await intx();
    fn.setIntx(true);
    expect(trig.signals).toBe(1);
    unmask();
    expect(trig.signals).toBe(2);
    expect(hwMasked()).toBe(true);
    fn.setIntx(false);
    unmask();
    expect(hwMasked()).toBe(false);
    expect(trig.signals).toBe(2);
  });

  it('masks on MASK, and a line that rose meanwhile fires at UNMASK', async () => {
    const { fn, trig, hwMasked, mask, unmask } = await intx();
    mask();
    expect(hwMasked()).toBe(true);
    fn.setIntx(true);
    expect(trig.signals).toBe(0);
    unmask();
    expect(trig.signals).toBe(1);
  });

  it('honours the INTx Disable bit the user writes through config space', async () => {
    const { c, fn, trig, hwMasked, unmask } = await intx();
    const cmd = c.configRead(PCI_COMMAND, 2);
    c.configWrite(PCI_COMMAND, 2, cmd | INTX_DISABLE);
    expect(c.configRead(PCI_COMMAND, 2) & INTX_DISABLE).toBe(INTX_DISABLE);
    expect(hwMasked()).toBe(true);
    fn.setIntx(true);
    expect(trig.signals).toBe(0);
    unmask(); // no effect while the user has INTx disabled
    expect(trig.signals).toBe(0);
    expect(hwMasked()).toBe(true);
    // clearing it unmasks, and the pending line fires
    c.configWrite(PCI_COMMAND, 2, cmd & ~INTX_DISABLE);
    expect(trig.signals).toBe(1);
    expect(hwMasked()).toBe(true);
    fn.setIntx(false);
    unmask();
    expect(hwMasked()).toBe(false);
  });

  it('starts masked when the user disabled INTx before enabling it', async () => {
    const s = await setup();
    const cmd = s.c.configRead(PCI_COMMAND, 2);
    s.c.configWrite(PCI_COMMAND, 2, cmd | INTX_DISABLE);
    // not using INTx: the physical bit follows the virtual one
    expect(s.emu.hw.configRead(s.bdf, PCI_COMMAND, 2) & INTX_DISABLE).toBe(INTX_DISABLE);
    s.file.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(EVENTFD_TRIGGER, VFIO.PCI_INTX_IRQ_INDEX, 0, 1, fds(s.efds[0].fd)));
    s.fn.setIntx(true);
    expect(s.efds[0].signals).toBe(0);
    s.c.configWrite(PCI_COMMAND, 2, cmd);
    expect(s.efds[0].signals).toBe(1);
  });

  it('unmasks when the unmask eventfd (irqfd resampler) is signalled, consuming its count', async () => {
    const { emu, file, fn, trig, hwMasked } = await intx();
    const resample = emu.host.eventfd();
    file.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(VFIO.IRQ_SET_DATA_EVENTFD | VFIO.IRQ_SET_ACTION_UNMASK, VFIO.PCI_INTX_IRQ_INDEX, 0, 1, fds(resample.fd)));
    fn.setIntx(true);
    expect(trig.signals).toBe(1);
    fn.setIntx(false);
    resample.signal();
    expect(resample.count).toBe(0);
    expect(hwMasked()).toBe(false);
    fn.setIntx(true);
    expect(trig.signals).toBe(2);
    // still asserted at the next resample: it fires again
    resample.signal();
    expect(trig.signals).toBe(3);
    // removed with fd -1: signalling it no longer unmasks
    file.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(VFIO.IRQ_SET_DATA_EVENTFD | VFIO.IRQ_SET_ACTION_UNMASK, VFIO.PCI_INTX_IRQ_INDEX, 0, 1, fds(-1)));
    fn.setIntx(false);
    resample.signal();
    expect(hwMasked()).toBe(true);
  });

  it('runs an unmask eventfd that was already signalled when it is installed', async () => {
    const { emu, file, fn, trig, hwMasked } = await intx();
    fn.setIntx(true);
    fn.setIntx(false);
    const resample = emu.host.eventfd();
    resample.signal();
    file.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(VFIO.IRQ_SET_DATA_EVENTFD | VFIO.IRQ_SET_ACTION_UNMASK, VFIO.PCI_INTX_IRQ_INDEX, 0, 1, fds(resample.fd)));
    expect(hwMasked()).toBe(false);
    expect(resample.count).toBe(0);
    expect(trig.signals).toBe(1);
  });

  it('loops back DATA_NONE/BOOL triggers, and swaps or clears the trigger eventfd', async () => {
    const { file, fn, efds } = await intx();
    const T = VFIO.IRQ_SET_ACTION_TRIGGER;
    file.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(VFIO.IRQ_SET_DATA_NONE | T, 0, 0, 1));
    file.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(VFIO.IRQ_SET_DATA_BOOL | T, 0, 0, 1, Uint8Array.of(0)));
    file.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(VFIO.IRQ_SET_DATA_BOOL | T, 0, 0, 1, Uint8Array.of(1)));
    expect(efds[0].signals).toBe(2);
    file.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(EVENTFD_TRIGGER, 0, 0, 1, fds(efds[1].fd)));
    fn.setIntx(true);
    expect([efds[0].signals, efds[1].signals]).toEqual([2, 1]);
    file.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(EVENTFD_TRIGGER, 0, 0, 1, fds(-1)));
    fn.setIntx(false);
    file.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(VFIO.IRQ_SET_DATA_NONE | VFIO.IRQ_SET_ACTION_UNMASK, 0, 0, 1));
    fn.setIntx(true); // still enabled and automasking, just no eventfd to tell
    expect([efds[0].signals, efds[1].signals]).toEqual([2, 1]);
  });

  it('stops delivering after DATA_NONE|TRIGGER count 0', async () => {
    const { file, fn, trig } = await intx();
    file.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(VFIO.IRQ_SET_DATA_NONE | VFIO.IRQ_SET_ACTION_TRIGGER, 0, 0, 0));
    fn.setIntx(true);
    expect(trig.signals).toBe(0);
  });
});

describe('host vectors', () => {
  it('are given back on disable: MSI and MSI-X enable/disable cycles reuse the same messages', async () => {
    const { emu, file, fn, efds } = await setup();
    const cap = fn.capOffset(L.M_MSI_CAP);
    const none = VFIO.IRQ_SET_DATA_NONE | VFIO.IRQ_SET_ACTION_TRIGGER;
    const datas = new Set<number>();
    const msixDatas = new Set<number>();
    const m = fn.msix!;
    for (let i = 0; i < 200; i++) {
      file.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(EVENTFD_TRIGGER, VFIO.PCI_MSI_IRQ_INDEX, 0, 1 + (i % 4), fds(...efds.slice(0, 1 + (i % 4)).map((e) => e.fd))));
      datas.add(emu.hw.configRead(fn.bdf, cap + 12, 2));
      file.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(none, VFIO.PCI_MSI_IRQ_INDEX, 0, 0));
      file.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(EVENTFD_TRIGGER, VFIO.PCI_MSIX_IRQ_INDEX, 0, 2, fds(efds[0].fd, efds[1].fd)));
      msixDatas.add(fn.barRead(m.tableBar, m.tableOffset + 8, 4));
      file.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(none, VFIO.PCI_MSIX_IRQ_INDEX, 0, 0));
    }
    expect(datas.size).toBeLessThanOrEqual(4);
    expect(msixDatas.size).toBeLessThanOrEqual(2);
    // and the messages still arrive
    file.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(EVENTFD_TRIGGER, VFIO.PCI_MSI_IRQ_INDEX, 0, 2, fds(efds[6].fd, efds[7].fd)));
    fn.raiseMsi(1);
    expect([efds[6].signals, efds[7].signals]).toEqual([0, 1]);
    expect(emu.host.vfio.irqs.spurious).toBe(0);
  });
});
