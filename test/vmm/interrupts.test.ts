import { describe, expect, it } from 'vitest';
import { DmaEngineDriver } from '../../src/guest/dmaEngineDriver.js';
import { setupInterrupts } from '../../src/guest/interruptSetup.js';
import { DMAE_OP } from '../../src/hw/devices/dmaEngine/descriptor.js';
import { PCI_COMMAND, PCI_COMMAND_INTX_DISABLE } from '../../src/hw/pciRegs.js';
import { MSI_ADDRESS_BASE } from '../../src/host/irqDomain.js';
import { fnAt, machine, tickHost } from './machine.js';

const DMA = { kind: 'dma' as const, hostBdf: '0000:00:05.0', guestBdf: '0000:00:03.0' };
const EP = { kind: 'endpoint' as const, hostBdf: '0000:00:07.0', guestBdf: '0000:00:04.0' };

/** Runs the host devices and the guest CPU until nothing is left to do. */
function settle(m: Awaited<ReturnType<typeof machine>>, rounds = 20): void {
  for (let i = 0; i < rounds; i++) {
    const work = tickHost(m.emu);
    const irqs = m.guest.irq.service();
    if (work === 0 && irqs === 0) return;
  }
}

describe('MSI-X end to end', () => {
  it('a completion on the host device reaches the guest driver through eventfd -> VMM -> guest table message -> guest handler', async () => {
    const m = await machine([DMA]);
    const r = m.guest.enumerate();
    const drv = new DmaEngineDriver(m.guest, fnAt(r, DMA.guestBdf), { irq: ['msix'] });
    drv.probe();
    expect(drv.irqMode).toBe('msix');
    const cookies = [1, 2, 3].map(() => drv.submit({ opcode: DMAE_OP.NOP, length: 0 })!);
    expect(drv.completed).toBe(0);
    settle(m);
    expect(drv.completed).toBe(3);
    expect(cookies.every((c) => drv.isDone(c))).toBe(true);
    expect(drv.interrupts).toBeGreaterThan(0);
    const dev = m.vmm.device(DMA.guestBdf)!;
    expect(dev.msix!.sent).toBe(drv.interrupts);
    // the guest's vectors were delivered to its CPU; the host's table holds the host's messages
    const v = drv.irqVectors!.vectors[0];
    expect(m.guest.irq.delivered.get(v)).toBe(drv.interrupts);
    const host = m.hostFn.get(DMA.guestBdf)!;
    const hostEntry = host.mem.u32[host.mem.msixBase(host.slot) >>> 2];
    expect(hostEntry >>> 0).toBe(MSI_ADDRESS_BASE);
    // SET_IRQS wired the vectors the guest unmasked (both: completion and error)
    expect(dev.msix!.wired).toEqual([true, true]);
  });

  it('a vector that fires while the guest masks it is kept pending in the VMM PBA and sent on unmask', async () => {
    const m = await machine([DMA]);
    const r = m.guest.enumerate();
    const drv = new DmaEngineDriver(m.guest, fnAt(r, DMA.guestBdf), { irq: ['msix'] });
    drv.probe();
    const dev = m.vmm.device(DMA.guestBdf)!;
    drv.irqVectors!.mask(0, true);
    drv.submit({ opcode: DMAE_OP.NOP, length: 0 });
    tickHost(m.emu);
    expect(m.guest.irq.service()).toBe(0);
    expect(dev.msix!.maskedFires).toBe(1);
    // the guest reads the pending bit in the PBA (BAR0 + 0x1800)
    const bar0 = fnAt(r, DMA.guestBdf).bars[0].address!;
    expect(m.guest.io.mmioRead(bar0 + 0x1800, 4) & 1).toBe(1);
    drv.irqVectors!.mask(0, false);
    expect(m.guest.io.mmioRead(bar0 + 0x1800, 4) & 1).toBe(0);
    expect(m.guest.irq.service()).toBe(1);
    expect(drv.completed).toBe(1);
  });

  it('Function Mask holds every vector; clearing it sends what fired meanwhile, once', async () => {
    const m = await machine([DMA]);
    const r = m.guest.enumerate();
    const f = fnAt(r, DMA.guestBdf);
    const drv = new DmaEngineDriver(m.guest, f, { irq: ['msix'] });
    drv.probe();
    const cap = f.capabilities.find((c) => c.id === 0x11)!.offset;
    const ctl = m.guest.config.read(0, 3, 0, cap + 2, 2);
    m.guest.config.write(0, 3, 0, cap + 2, 2, ctl | 0x4000);
    drv.submit({ opcode: DMAE_OP.NOP, length: 0 });
    drv.submit({ opcode: DMAE_OP.NOP, length: 0, flags: 1 });
    tickHost(m.emu, 1);
    tickHost(m.emu, 1);
    expect(m.guest.irq.service()).toBe(0);
    m.guest.config.write(0, 3, 0, cap + 2, 2, ctl);
    expect(m.guest.irq.service()).toBe(1);
    expect(drv.completed).toBe(2);
  });
});

describe('MSI end to end', () => {
  it('each enabled vector of a device event on the host arrives at its guest handler; masked vectors wait', async () => {
    const m = await machine([EP]);
    const r = m.guest.enumerate();
    const f = fnAt(r, EP.guestBdf);
    const got: number[] = [];
    const irqs = setupInterrupts(m.guest, f, ['msi'], [0, 1, 2, 3].map(() => (i: number) => got.push(i)));
    expect(irqs.mode).toBe('msi');
    expect(irqs.count).toBe(4);
    const dev = m.vmm.device(EP.guestBdf)!;
    expect(dev.msi!.hostVectors).toBe(4);
    const host = m.hostFn.get(EP.guestBdf)!;
    host.signal(2);
    host.signal(0);
    expect(m.guest.irq.service()).toBe(2);
    expect(got.sort()).toEqual([0, 2]);
    // the guest's message went out with the vector number in the data's low bits
    expect(m.guest.irq.delivered.get(irqs.vectors[2])).toBe(1);
    got.length = 0;
    irqs.mask(1, true);
    host.signal(1);
    expect(m.guest.irq.service()).toBe(0);
    irqs.mask(1, false);
    expect(m.guest.irq.service()).toBe(1);
    expect(got).toEqual([1]);
    // disabling MSI goes back to INTx on the host
    irqs.free();
    expect(dev.msi!.hostVectors).toBe(0);
    expect(dev.intx!.active).toBe(true);
  });
});

describe('INTx with resampling end to end', () => {
  it('the device asserts, the VMM raises the guest line, the handler acks, EOI unmasks, the next interrupt comes through', async () => {
    const m = await machine([DMA]);
    const r = m.guest.enumerate();
    const drv = new DmaEngineDriver(m.guest, fnAt(r, DMA.guestBdf), { irq: ['intx'] });
    drv.probe();
    expect(drv.irqMode).toBe('intx');
    const dev = m.vmm.device(DMA.guestBdf)!;
    for (let round = 1; round <= 3; round++) {
      drv.submit({ opcode: DMAE_OP.FILL, length: 64, src: 0x5a5a5a5a, dst: 0 });
      tickHost(m.emu);
      expect(dev.intx!.level).toBe(true);
      expect(m.guest.irq.service()).toBe(1);
      expect(drv.completed).toBe(round);
      expect(drv.interrupts).toBe(round);
      // after the EOI the VMM lowered the pin and signalled unmask
      expect(dev.intx!.level).toBe(false);
      expect(dev.intx!.resamples).toBe(round);
    }
    expect(dev.intx!.triggers).toBe(3);
  });

  it('a line still asserted at EOI is delivered again (the unmask makes vfio trigger anew)', async () => {
    const m = await machine([EP]);
    const r = m.guest.enumerate();
    const f = fnAt(r, EP.guestBdf);
    let calls = 0;
    setupInterrupts(m.guest, f, ['intx'], [], () => (calls++, true));
    const host = m.hostFn.get(EP.guestBdf)!;
    const dev = m.vmm.device(EP.guestBdf)!;
    host.setIntx(true);
    expect(m.guest.irq.service(1)).toBe(1);
    expect(calls).toBe(1);
    // the handler did not quiet the device: the resample triggered again
    expect(m.guest.irq.pending).toBe(true);
    expect(dev.intx!.triggers).toBe(2);
    host.setIntx(false);
    expect(m.guest.irq.service()).toBe(1);
    expect(calls).toBe(2);
    expect(m.guest.irq.pending).toBe(false);
    expect(dev.intx!.level).toBe(false);
  });

  it('the guest INTx Disable keeps the line low; the pending interrupt arrives when it is cleared', async () => {
    const m = await machine([EP]);
    const r = m.guest.enumerate();
    const f = fnAt(r, EP.guestBdf);
    let calls = 0;
    setupInterrupts(m.guest, f, ['intx'], [], () => (calls++, true));
    const host = m.hostFn.get(EP.guestBdf)!;
    const cmd = m.guest.config.read(0, 4, 0, PCI_COMMAND, 2);
    m.guest.config.write(0, 4, 0, PCI_COMMAND, 2, cmd | PCI_COMMAND_INTX_DISABLE);
    host.setIntx(true);
    expect(m.guest.irq.service()).toBe(0);
    m.guest.config.write(0, 4, 0, PCI_COMMAND, 2, cmd);
    host.setIntx(false);
    expect(m.guest.irq.service()).toBe(1);
    expect(calls).toBe(1);
  });
});
