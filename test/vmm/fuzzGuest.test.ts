import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DmaEngineDriver } from '../../src/guest/dmaEngineDriver.js';
import { DMAE_OP } from '../../src/hw/devices/dmaEngine/descriptor.js';
import { VFIO } from '../../src/host/vfio/uapi/constants.js';
import type { FileLog } from './machine.js';
import { MSI_SPEC, fnAt, machine, recordingFile, tickHost } from './machine.js';

// A guest that does random things to one assigned device (config writes of any width anywhere,
// including BARs, MSI, Command, FLR; MMIO and port I/O into its BARs wherever it moved them; device
// events on the host) must not make the VMM throw, and must not disturb the other assigned device:
// its driver keeps completing work with interrupts, and nothing the VMM sends its device file
// touches the MSI-X table range.

const VICTIM = { kind: 'dma' as const, hostBdf: '0000:00:05.0', guestBdf: '0000:00:02.0' };
const FUZZED = { kind: 'endpoint' as const, hostBdf: '0000:00:07.0', guestBdf: '0000:00:03.0', spec: { ...MSI_SPEC, romSize: 0x2000 } };

type Op =
  | { k: 'cfgw'; off: number; size: 1 | 2 | 4; value: number }
  | { k: 'cfgr'; off: number; size: 1 | 2 | 4 }
  | { k: 'mmio'; bar: number; off: number; size: 1 | 2 | 4; value: number; write: boolean }
  | { k: 'event'; what: 'msi' | 'intx-on' | 'intx-off'; vector: number }
  | { k: 'service' };

const size = fc.constantFrom<1 | 2 | 4>(1, 2, 4);
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ k: fc.constant('cfgw' as const), off: fc.integer({ min: 0, max: 4095 }), size, value: fc.integer({ min: 0, max: 0xffffffff }) }) },
  // the registers with side effects, more often
  { weight: 3, arbitrary: fc.record({ k: fc.constant('cfgw' as const), off: fc.constantFrom(0x04, 0x10, 0x14, 0x30, 0x3c, 0x50, 0x52, 0x54, 0x58, 0x5c, 0x60, 0x64, 0x78, 0x7c), size, value: fc.integer({ min: 0, max: 0xffffffff }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('cfgr' as const), off: fc.integer({ min: 0, max: 4095 }), size }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('mmio' as const), bar: fc.constantFrom(0, 1, 6), off: fc.integer({ min: 0, max: 0x3fff }), size, value: fc.integer({ min: 0, max: 0xffffffff }), write: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('event' as const), what: fc.constantFrom('msi' as const, 'intx-on' as const, 'intx-off' as const), vector: fc.integer({ min: 0, max: 7 }) }) },
  { weight: 1, arbitrary: fc.constant({ k: 'service' as const }) },
);

describe('random guest behaviour on one device is contained', () => {
  it('no exception escapes, the other device keeps working, the device file never sees MSI-X table accesses', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 60 }), async (ops) => {
        const logs = new Map<string, FileLog>();
        const m = await machine([VICTIM, FUZZED], {
          memoryBytes: 1 << 20,
          wrapFile: (file, d) => {
            const log: FileLog = { reads: [], writes: [], ioctls: [] };
            logs.set(d.guestBdf, log);
            return recordingFile(file, log);
          },
        });
        const r = m.guest.enumerate();
        const drv = new DmaEngineDriver(m.guest, fnAt(r, VICTIM.guestBdf), { irq: ['msix'] });
        drv.probe();
        // the fuzzed device gets a handler on whatever line its pin routes to, as a driver would
        m.guest.irq.requestIrq(fnAt(r, FUZZED.guestBdf).interruptLine, () => true);
        const fuzzed = m.vmm.device(FUZZED.guestBdf)!;
        const host = m.hostFn.get(FUZZED.guestBdf)!;
        const g = m.guest;
        for (const o of ops) {
          switch (o.k) {
            case 'cfgw':
              if ((o.off & (o.size - 1)) === 0) g.config.write(0, 3, 0, o.off, o.size, o.value);
              break;
            case 'cfgr':
              if ((o.off & (o.size - 1)) === 0) g.config.read(0, 3, 0, o.off, o.size);
              break;
            case 'mmio': {
              const bar = fuzzed.decodedBars(o.bar === 1).find((b) => b.bar === o.bar);
              if (!bar) break;
              const addr = bar.base + (o.off % bar.size) - ((o.off % bar.size) % o.size);
              const io = o.bar === 1;
              if (o.write) (io ? g.io.ioWrite(addr, o.size, o.value) : g.io.mmioWrite(addr, o.size, o.value));
              else io ? g.io.ioRead(addr, o.size) : g.io.mmioRead(addr, o.size);
              break;
            }
            case 'event':
              if (o.what === 'msi') host.signal(o.vector);
              else host.setIntx(o.what === 'intx-on');
              break;
            case 'service':
              g.irq.service(100);
              break;
          }
        }
        host.setIntx(false);
        g.irq.service(1000);
        // the victim still works, with interrupts
        const done = drv.completed;
        const irqs = drv.interrupts;
        drv.submit({ opcode: DMAE_OP.FILL, length: 256, src: 0x01020304, dst: 0 });
        for (let i = 0; i < 10 && drv.completed === done; i++) {
          tickHost(m.emu);
          g.irq.service(1000);
        }
        expect(drv.completed).toBe(done + 1);
        expect(drv.interrupts).toBeGreaterThan(irqs);
        expect(drv.duplicates + drv.unknown + drv.errors).toBe(0);
        // the victim's MSI-X table range (BAR0 0x1000..0x1020, PBA 0x1800..0x1808) never reached its file
        const vlog = logs.get(VICTIM.guestBdf)!;
        const hit = ([i, o, l]: [number, number, number, ...unknown[]]) => i === VFIO.PCI_BAR0_REGION_INDEX && ((o < 0x1020 && o + l > 0x1000) || (o < 0x1808 && o + l > 0x1800));
        expect(vlog.writes.filter(hit)).toEqual([]);
        expect(vlog.reads.filter(hit)).toEqual([]);
        m.vmm.close();
      }),
      { numRuns: 60 },
    );
  }, 120_000);
});
