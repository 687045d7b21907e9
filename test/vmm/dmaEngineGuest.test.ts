import { describe, expect, it } from 'vitest';
import { DmaEngineDriver } from '../../src/guest/dmaEngineDriver.js';
import { DmaEngineWorkload } from '../../src/guest/dmaEngineWorkload.js';
import { dmaEngineOf } from '../../src/hw/devices/dmaEngine/dmaEngine.js';
import { DMAE_REG } from '../../src/hw/devices/dmaEngine/regs.js';
import type { IrqMode } from '../../src/guest/interruptSetup.js';
import { fnAt, machine, tickHost } from './machine.js';

const DMA = { kind: 'dma' as const, hostBdf: '0000:00:05.0', guestBdf: '0000:00:03.0', deviceMemoryBytes: 64 << 10 };

describe('the guest keeps the DMA engine busy through the VMM', () => {
  for (const mode of ['msix', 'intx'] as IrqMode[]) {
    it(`${mode}: jobs copy in, checksum and copy back correctly; every cookie completes once; the device counts what the driver counts`, async () => {
      const m = await machine([DMA]);
      const r = m.guest.enumerate();
      const drv = new DmaEngineDriver(m.guest, fnAt(r, DMA.guestBdf), { irq: [mode], sqLog2: 5, cqLog2: 5, coalesce: 3 });
      drv.probe();
      expect(drv.irqMode).toBe(mode);
      const w = new DmaEngineWorkload(m.guest, drv, DMA.deviceMemoryBytes, { slots: 6, jobBytes: 2048, seed: 5 });
      for (let i = 0; i < 200; i++) {
        w.fill();
        tickHost(m.emu, 5);
        m.guest.irq.service();
      }
      for (let i = 0; i < 50 && w.outstanding > 0; i++) {
        tickHost(m.emu, 64);
        m.guest.irq.service();
      }
      expect(w.failures).toEqual([]);
      expect(w.jobsVerified).toBeGreaterThan(100);
      expect(w.outstanding).toBe(0);
      expect(drv.completed).toBe(drv.submitted);
      expect(drv.duplicates + drv.unknown + drv.errors).toBe(0);
      expect(drv.interrupts).toBeGreaterThan(0);
      // the device's own counter, read by the guest over MMIO, agrees
      expect(drv.readReg(DMAE_REG.COMPLETED_LO)).toBe(drv.completed);
      expect(dmaEngineOf(m.hostFn.get(DMA.guestBdf)!)!.readReg(DMAE_REG.COMPLETED_LO)).toBe(drv.completed);
    });
  }
});
