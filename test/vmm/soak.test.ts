// Soak: many VMM lifetimes on one host (open, assign, guest probe with MSI-X or INTx eventfds, close),
// interleaved with eventfds made and closed, leave nothing behind (issue 13, bug 5): the host's file
// table returns to exactly its size, the wasm memory does not grow, and the JS heap stays within a
// generous bound after a GC. No timing is measured.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { createEmulator } from '../../src/emulator.js';
import { DmaEngineDriver } from '../../src/guest/dmaEngineDriver.js';
import { Guest } from '../../src/guest/guest.js';
import { Vmm } from '../../src/vmm/vmm.js';
import { MSI_SPEC, fnAt } from './machine.js';

const DMA = { host: '0000:00:04.0', guest: '0000:00:02.0' };
const EP = { host: '0000:00:05.0', guest: '0000:00:03.0' };

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

describe('soak: VMM assign/close cycles and eventfd churn', () => {
  it('keep the file table size, wasm memory and JS heap flat', async () => {
    const emu = await createEmulator({ memoryBytes: 4 << 20 });
    emu.hw.addDmaEngine(DMA.host, { deviceMemoryBytes: 16 << 10 });
    emu.hw.addEndpoint(EP.host, MSI_SPEC);
    emu.host.bind(DMA.host);
    emu.host.bind(EP.host);
    const table = emu.host.vfio.files;

    const cycle = (i: number) => {
      const vmm = new Vmm(emu);
      vmm.assign(emu.host.openDevice(DMA.host), DMA.guest);
      vmm.assign(emu.host.openDevice(EP.host), EP.guest);
      const guest = new Guest(vmm);
      vmm.connectInterruptController(guest.irq);
      const r = guest.enumerate();
      const drv = new DmaEngineDriver(guest, fnAt(r, DMA.guest), { irq: [i % 2 ? 'msix' : 'intx'] });
      drv.probe();
      // eventfds made and closed by the embedding code, a few left open across the VMM's life
      const extra = Array.from({ length: 3 }, () => emu.host.eventfd());
      extra[1].close();
      expect(table.size).toBeGreaterThan(2);
      vmm.close();
      extra[0].close();
      extra[2].close();
    };

    for (let i = 0; i < 30; i++) cycle(i); // warm up: lazily built tables, JIT
    const files = table.size;
    const wasmBytes = emu.hw.core.mem.u8.buffer.byteLength;
    const heap = heapAfterGc();
    for (let i = 0; i < 200; i++) {
      cycle(i);
      expect(table.size).toBe(files);
    }
    expect(table.size).toBe(0);
    // numbers start again at the lowest free one
    expect(emu.host.eventfd().fd).toBe(3);
    expect(emu.hw.core.mem.u8.buffer.byteLength).toBe(wasmBytes);
    // ~1 KB leaked per cycle would be 0.2 MB; the bound only catches real growth, not GC noise
    expect(heapAfterGc() - heap).toBeLessThan(8 << 20);
  });
});
