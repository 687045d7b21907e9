// MSI-X through the function's BAR: mask a vector (MMIO write of its Vector Control), raise it while
// masked (it pends in the PBA), unmask it (MMIO write) which replays the pending message into the
// interrupt sink. Also the two halves on their own: direct delivery and an MMIO read of the table.
import { Hardware } from '../src/hw/hardware.js';
import type { InterruptSink } from '../src/hw/interrupts.js';
import type { PciFunction } from '../src/hw/pciFunction.js';
import type { BenchCase, SuiteReport } from './harness.js';
import { BATCH, check, hex, runSuite, sink } from './harness.js';

export const SUITE = 'msix';
export const MSIX_CYCLE_CASE = 'MSI-X mask + raise (pends) + unmask (replays)';

const VECTORS = 64;
const BAR0 = 0xe0000000;
const TABLE = BAR0; // table at offset 0 of BAR0
const PBA = BAR0 + 0x2000;
const MSI_ADDR = 0xfee00000;

/** An interrupt sink that only counts the messages it gets. */
class CountingSink implements InterruptSink {
  messages = 0;
  lastData = 0;
  intxChanges = 0;
  msi(_lo: number, _hi: number, data: number, _source: PciFunction): void {
    this.messages++;
    this.lastData = data;
  }
  intx(_source: PciFunction, _asserted: boolean): void {
    this.intxChanges++;
  }
}

function findCap(hw: Hardware, bdf: string, id: number): number {
  let ptr = hw.configRead(bdf, 0x34, 1) & 0xfc;
  while (ptr !== 0) {
    const d = hw.configRead(bdf, ptr, 4);
    if ((d & 0xff) === id) return ptr;
    ptr = (d >>> 8) & 0xfc;
  }
  return 0;
}

export async function run(): Promise<SuiteReport> {
  const hw = new Hardware();
  const irq = new CountingSink();
  hw.setInterruptSink(irq);
  const BDF = '0000:00:02.0';
  const f = hw.addEndpoint(BDF, {
    vendorId: 0x15b3,
    deviceId: 0x101e,
    classCode: 0x020000,
    bars: [{ kind: 'mem32', size: 0x4000 }],
    capabilities: [{ id: 'pm' }, { id: 'msix', vectors: VECTORS, tableBar: 0, tableOffset: 0, pbaBar: 0, pbaOffset: 0x2000 }, { id: 'pcie' }],
  });
  // what a driver does: place BAR0, enable memory decode and bus mastering, program the table, enable MSI-X
  hw.configWrite(BDF, 0x10, 4, BAR0);
  hw.configWrite(BDF, 0x04, 2, 0x0006);
  for (let v = 0; v < VECTORS; v++) {
    hw.mmioWrite(TABLE + v * 16, 4, MSI_ADDR);
    hw.mmioWrite(TABLE + v * 16 + 4, 4, 0);
    hw.mmioWrite(TABLE + v * 16 + 8, 4, 0x4000 + v);
    hw.mmioWrite(TABLE + v * 16 + 12, 4, 0); // unmasked
  }
  const cap = findCap(hw, BDF, 0x11);
  check(cap !== 0, 'MSI-X capability present');
  hw.configWrite(BDF, cap + 2, 2, 0x8000);
  check(f.msixEnabled, 'MSI-X enabled');

  // sanity: one full cycle behaves as the spec says
  const vc = (v: number) => TABLE + v * 16 + 12;
  hw.mmioWrite(vc(5), 4, 1);
  check(hw.mmioRead(vc(5), 4) === 1, 'vector 5 masked');
  f.raiseMsix(5);
  check(irq.messages === 0 && (hw.mmioRead(PBA, 4) & (1 << 5)) !== 0, `masked vector pends (PBA ${hex(hw.mmioRead(PBA, 4))})`);
  hw.mmioWrite(vc(5), 4, 0);
  check(irq.messages === 1 && irq.lastData === 0x4005 && hw.mmioRead(PBA, 4) === 0, 'unmask replays the pending vector and clears its PBA bit');
  f.raiseMsix(7);
  check(irq.messages === 2 && irq.lastData === 0x4007, 'unmasked vector is delivered at once');

  let cycles = 0;
  let raises = 0;
  const base = irq.messages;
  const cases: BenchCase[] = [
    {
      name: MSIX_CYCLE_CASE,
      accesses: BATCH,
      op: 'batch',
      fn: () => {
        for (let i = 0; i < BATCH; i++) {
          const a = TABLE + ((i & (VECTORS - 1)) << 4) + 12;
          hw.mmioWrite(a, 4, 1);
          f.raiseMsix(i & (VECTORS - 1));
          hw.mmioWrite(a, 4, 0);
        }
        cycles += BATCH;
      },
    },
    {
      name: 'MSI-X raise, unmasked (direct delivery)',
      accesses: BATCH,
      op: 'batch',
      fn: () => {
        for (let i = 0; i < BATCH; i++) f.raiseMsix(i & (VECTORS - 1));
        raises += BATCH;
      },
    },
    {
      name: 'MSI-X table read (mmioRead of Vector Control)',
      accesses: BATCH,
      op: 'batch',
      fn: () => {
        let acc = 0;
        for (let i = 0; i < BATCH; i++) acc = (acc + hw.mmioRead(TABLE + ((i & (VECTORS - 1)) << 4) + 12, 4)) | 0;
        sink.value ^= acc;
      },
    },
  ];
  const report = await runSuite(SUITE, cases);
  check(irq.messages - base === cycles + raises, `every cycle and raise delivered exactly one message (${irq.messages - base} vs ${cycles + raises})`);
  check(hw.mmioRead(PBA, 4) === 0 && hw.mmioRead(PBA + 4, 4) === 0, 'nothing left pending');
  return report;
}
