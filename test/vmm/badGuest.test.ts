import { describe, expect, it } from 'vitest';
import { DmaEngineDriver } from '../../src/guest/dmaEngineDriver.js';
import { setupInterrupts } from '../../src/guest/interruptSetup.js';
import { DMAE_OP, DMAE_STATUS } from '../../src/hw/devices/dmaEngine/descriptor.js';
import { DMAE_REG } from '../../src/hw/devices/dmaEngine/regs.js';
import { PCI_MSI_FLAGS, PCI_STATUS, PCI_STATUS_REC_MASTER_ABORT, PCI_VENDOR_ID } from '../../src/hw/pciRegs.js';
import { VFIO } from '../../src/host/vfio/uapi/constants.js';
import type { FileLog } from './machine.js';
import { fnAt, machine, recordingFile, tickHost } from './machine.js';

const A = { kind: 'dma' as const, hostBdf: '0000:00:05.0', guestBdf: '0000:00:03.0' };
const B = { kind: 'dma' as const, hostBdf: '0000:00:06.0', guestBdf: '0000:00:04.0' };
const EP = { kind: 'endpoint' as const, hostBdf: '0000:00:07.0', guestBdf: '0000:00:05.0' };

function settle(m: Awaited<ReturnType<typeof machine>>): void {
  for (let i = 0; i < 20; i++) if (tickHost(m.emu) + m.guest.irq.service() === 0) return;
}

async function twoEngines(logs?: Map<string, FileLog>) {
  const m = await machine([A, B], {
    wrapFile: logs
      ? (file, d) => {
          const log: FileLog = { reads: [], writes: [], ioctls: [] };
          logs.set(d.guestBdf, log);
          return recordingFile(file, log);
        }
      : undefined,
  });
  const r = m.guest.enumerate();
  const drvA = new DmaEngineDriver(m.guest, fnAt(r, A.guestBdf), { irq: ['msix'] });
  const drvB = new DmaEngineDriver(m.guest, fnAt(r, B.guestBdf), { irq: ['msix'] });
  drvA.probe();
  drvB.probe();
  return { m, r, drvA, drvB };
}

/** Both engines still take work and interrupt. */
function bothWork(t: Awaited<ReturnType<typeof twoEngines>>): void {
  const a = t.drvA.completed;
  const b = t.drvB.completed;
  t.drvA.submit({ opcode: DMAE_OP.NOP, length: 0 });
  t.drvB.submit({ opcode: DMAE_OP.NOP, length: 0 });
  settle(t.m);
  expect(t.drvA.completed).toBe(a + 1);
  expect(t.drvB.completed).toBe(b + 1);
}

describe('a misbehaving guest is contained', () => {
  it("the guest's MSI-X table and PBA accesses never reach the device file's table range", async () => {
    const logs = new Map<string, FileLog>();
    const t = await twoEngines(logs);
    const bar0 = fnAt(t.r, A.guestBdf).bars[0].address!;
    // table reads and writes of every width, while enabled and unmasked too
    for (let off = 0; off < 32; off += 4) t.m.guest.io.mmioRead(bar0 + 0x1000 + off, 4);
    // (rewriting what is there, so the guest's own interrupts keep working)
    t.m.guest.io.mmioWrite(bar0 + 0x1000 + 9, 1, t.m.guest.io.mmioRead(bar0 + 0x1000 + 9, 1));
    t.m.guest.io.mmioWrite(bar0 + 0x1000 + 16, 2, t.m.guest.io.mmioRead(bar0 + 0x1000 + 16, 2));
    t.m.guest.io.mmioWrite(bar0 + 0x1000 + 28, 4, 0);
    t.m.guest.io.mmioRead(bar0 + 0x1800, 4);
    t.m.guest.io.mmioWrite(bar0 + 0x1800, 4, 0xffffffff);
    bothWork(t);
    for (const log of logs.values()) {
      const inTable = (idx: number, off: number, len: number) => idx === VFIO.PCI_BAR0_REGION_INDEX && off < 0x1808 && off + len > 0x1000 && (off < 0x1020 || off >= 0x1800);
      expect(log.writes.filter(([i, o, l]) => inTable(i, o, l))).toEqual([]);
      expect(log.reads.filter(([i, o, l]) => inTable(i, o, l))).toEqual([]);
      expect(log.writes.filter(([i]) => i === VFIO.PCI_BAR0_REGION_INDEX).length).toBeGreaterThan(0);
    }
    expect(t.m.vmm.log.grep('PBA; dropped')).toHaveLength(1);
  });

  it('an MSI-X entry rewritten while enabled and unmasked takes effect from the next interrupt, logged once', async () => {
    const t = await twoEngines();
    const bar0 = fnAt(t.r, A.guestBdf).bars[0].address!;
    const got: number[] = [];
    const other = t.m.guest.irq.allocVectors(1, () => got.push(1));
    for (let i = 0; i < 3; i++) t.m.guest.io.mmioWrite(bar0 + 0x1000 + 8, 4, other);
    expect(t.m.vmm.log.grep('while it was unmasked')).toHaveLength(1);
    t.drvA.submit({ opcode: DMAE_OP.NOP, length: 0 });
    settle(t.m);
    expect(got).toEqual([1]);
    expect(t.drvA.completed).toBe(0); // its handler was not the one called
    t.drvA.poll();
    expect(t.drvA.completed).toBe(1);
  });

  it('a BAR placed over another device\'s BAR is logged once; the address goes to one of them and both work again once moved back', async () => {
    const t = await twoEngines();
    const g = t.m.guest.config;
    const aBar = fnAt(t.r, A.guestBdf).bars[0].address!;
    const bBar = fnAt(t.r, B.guestBdf).bars[0].address!;
    g.write(0, 4, 0, 0x10, 4, aBar);
    g.write(0, 4, 0, 0x10, 4, aBar);
    expect(t.m.vmm.log.grep('over 0000:00:03.0 BAR0').length + t.m.vmm.log.grep('0000:00:03.0 BAR0 [').length).toBeGreaterThan(0);
    expect(t.m.vmm.log.grep('guest placed')).toHaveLength(1);
    // the overlap is A's (first by devfn): A's driver keeps working
    t.m.guest.io.mmioWrite(aBar + DMAE_REG.SCRATCH, 4, 0x1234);
    expect(t.m.guest.io.mmioRead(aBar + DMAE_REG.SCRATCH, 4)).toBe(0x1234);
    const a = t.drvA.completed;
    t.drvA.submit({ opcode: DMAE_OP.NOP, length: 0 });
    settle(t.m);
    expect(t.drvA.completed).toBe(a + 1);
    // B's config space still answers
    expect(g.read(0, 4, 0, PCI_VENDOR_ID, 2)).toBe(0x1b36);
    g.write(0, 4, 0, 0x10, 4, bBar);
    bothWork(t);
  });

  it('a DMA address outside guest memory fails that descriptor (master abort), nothing else', async () => {
    const t = await twoEngines();
    const beyond = t.m.emu.memory.size + 0x1000;
    const bad = t.drvA.submit({ opcode: DMAE_OP.COPY_TO_DEVICE, length: 64, src: beyond, dst: 0 })!;
    const after = t.drvA.submit({ opcode: DMAE_OP.FILL, length: 64, src: 0x11223344, dst: 0 })!;
    const statuses = new Map<bigint, number>();
    t.drvA.onCompletion = (c) => statuses.set(c.cookie, c.status);
    settle(t.m);
    expect(statuses.get(bad)).toBe(DMAE_STATUS.DMA_READ_ERROR);
    expect(statuses.get(after)).toBe(DMAE_STATUS.SUCCESS);
    expect(t.drvA.errors).toBe(1);
    // the guest sees Received Master Abort in its view of Status
    expect(t.m.guest.config.read(0, 3, 0, PCI_STATUS, 2) & PCI_STATUS_REC_MASTER_ABORT).toBe(PCI_STATUS_REC_MASTER_ABORT);
    bothWork(t);
  });

  it('out-of-range vectors: MSI Multiple Message Enable above capable is clamped; an illegal vector in an MSI-X entry is dropped by the guest CPU', async () => {
    const m = await machine([A, EP]);
    const r = m.guest.enumerate();
    const ep = fnAt(r, EP.guestBdf);
    const cap = ep.capabilities.find((c) => c.id === 0x05)!.offset;
    const flags = m.guest.config.read(0, 5, 0, cap + PCI_MSI_FLAGS, 2);
    m.guest.config.write(0, 5, 0, cap + PCI_MSI_FLAGS, 2, flags | (5 << 4));
    expect((m.guest.config.read(0, 5, 0, cap + PCI_MSI_FLAGS, 2) >> 4) & 7).toBe(2);
    m.guest.config.write(0, 5, 0, cap + PCI_MSI_FLAGS, 2, flags | (7 << 4));
    expect(m.vmm.log.grep('Multiple Message Enable clamped')).toHaveLength(1);
    const drv = new DmaEngineDriver(m.guest, fnAt(r, A.guestBdf), { irq: ['msix'] });
    drv.probe();
    const bar0 = fnAt(r, A.guestBdf).bars[0].address!;
    drv.irqVectors!.mask(0, true);
    m.guest.io.mmioWrite(bar0 + 0x1000 + 8, 4, 0x05);
    drv.irqVectors!.mask(0, false);
    drv.submit({ opcode: DMAE_OP.NOP, length: 0 });
    tickHost(m.emu);
    expect(m.guest.irq.service()).toBe(0);
    expect(m.guest.irq.spurious).toBe(1);
    expect(m.guest.irq.log.join()).toContain('illegal vector');
    // writes past the table's last entry do not touch the VMM's table
    const table = [...m.vmm.device(A.guestBdf)!.msix!.table];
    m.guest.io.mmioWrite(bar0 + 0x1000 + 32, 4, 0xdead);
    expect([...m.vmm.device(A.guestBdf)!.msix!.table]).toEqual(table);
    // the other device still interrupts
    const got: number[] = [];
    setupInterrupts(m.guest, ep, ['msi'], [() => got.push(0)]);
    m.hostFn.get(EP.guestBdf)!.signal(0);
    m.guest.irq.service();
    expect(got).toEqual([0]);
  });

  it('writes to read-only registers are dropped', async () => {
    const t = await twoEngines();
    const g = t.m.guest.config;
    for (const [reg, size] of [[0x00, 4], [0x08, 4], [0x2c, 4], [0x3d, 1], [0x0e, 1]] as const) {
      const before = g.read(0, 3, 0, reg, size);
      g.write(0, 3, 0, reg, size, ~before >>> 0);
      expect(g.read(0, 3, 0, reg, size)).toBe(before);
    }
    bothWork(t);
  });
});
