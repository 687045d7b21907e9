// DMA logging through dmae-vfio-pci: DMA_LOGGING_START/STOP/REPORT over the DMA engine's write log
// report exactly the guest pages the device wrote, at the report's page size, inside the logged
// ranges, clearing what they report; the device's own answers (page size chosen, already started,
// not started) and the bitmap conversion against a brute-force model.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DMAE_OP } from '../../../src/hw/devices/dmaEngine/index.js';
import { dirtyBitmap } from '../../../src/host/variants/dmaEngine/dmaeLogging.js';
import { buildDeviceFeature } from '../../../src/host/vfio/uapi/deviceFeature.js';
import {
  BDF, CQ, DATA, GuestDriver, PAGE, VFIO, dmaLoggingReport, dmaLoggingStart, dmaLoggingStop, dmaeMachine, expectErrno, getState, rng,
} from './dmaeHarness.js';

const MEM = 1 << 20;
const DEVMEM = 64 << 10;

async function running() {
  const m = await dmaeMachine({ memoryBytes: MEM, deviceMemoryBytes: DEVMEM });
  const guest = new GuestDriver(rng(9));
  guest.bringUp(m);
  return { m, guest };
}

describe('DMA logging', () => {
  it('reports exactly the pages the device wrote (completion ring, COPY_FROM_DEVICE data), and a report clears them', async () => {
    const { m, guest } = await running();
    expect(dmaLoggingStart(m.file, [{ iova: 0n, length: BigInt(MEM) }])).toBe(4096n);
    expect(dmaLoggingReport(m.file, 0n, BigInt(MEM))).toEqual([]);
    guest.submitDescs(
      { opcode: DMAE_OP.FILL, length: 3 * PAGE, src: 0x11223344, dst: 0 },
      { opcode: DMAE_OP.COPY_FROM_DEVICE, length: PAGE + 10, src: 0, dst: DATA + 3 * PAGE - 5 }, // touches 3 pages
      { opcode: DMAE_OP.COPY_TO_DEVICE, length: 100, src: DATA, dst: 0 }, // reads guest memory only
    );
    guest.run(1);
    expect(guest.completed).toHaveLength(3);
    expect(dmaLoggingReport(m.file, 0n, BigInt(MEM))).toEqual([CQ, DATA + 2 * PAGE, DATA + 3 * PAGE, DATA + 4 * PAGE]);
    expect(dmaLoggingReport(m.file, 0n, BigInt(MEM))).toEqual([]);
    // the guest's own writes (descriptors, data) are the VMM's CPU dirty tracking, not the device's
    guest.submitDescs({ opcode: DMAE_OP.NOP, length: 0 });
    guest.run(1);
    expect(dmaLoggingReport(m.file, 0n, BigInt(MEM))).toEqual([CQ]);
  });

  it('only the logged ranges; coarser report pages aggregate; a window reports and clears only its part', async () => {
    const { m, guest } = await running();
    dmaLoggingStart(m.file, [{ iova: 0n, length: 0x30000n }, { iova: BigInt(DATA + 8 * PAGE), length: 0x10000n }]);
    guest.submitDescs(
      { opcode: DMAE_OP.COPY_FROM_DEVICE, length: 16, src: 0, dst: DATA }, // outside both ranges
      { opcode: DMAE_OP.COPY_FROM_DEVICE, length: 16, src: 0, dst: DATA + 9 * PAGE },
      { opcode: DMAE_OP.COPY_FROM_DEVICE, length: 16, src: 0, dst: DATA + 12 * PAGE + 8 },
    );
    guest.run(1);
    // 64 KiB report pages: CQ (0x20000) is in page 2, DATA+9 and DATA+12 pages in page 4 (0x40000..0x4ffff)
    expect(dmaLoggingReport(m.file, 0n, BigInt(MEM), 0x10000n)).toEqual([0x20000, 0x40000]);
    guest.submitDescs({ opcode: DMAE_OP.COPY_FROM_DEVICE, length: 16, src: 0, dst: DATA + 9 * PAGE }, { opcode: DMAE_OP.COPY_FROM_DEVICE, length: 16, src: 0, dst: DATA + 12 * PAGE });
    guest.run(1);
    // a window over DATA+8..DATA+11 pages: reports page 9 only, leaves 12 and the CQ page dirty
    expect(dmaLoggingReport(m.file, BigInt(DATA + 8 * PAGE), BigInt(4 * PAGE))).toEqual([DATA + 9 * PAGE]);
    expect(dmaLoggingReport(m.file, 0n, BigInt(MEM))).toEqual([CQ, DATA + 12 * PAGE]);
  });

  it('page_size is in/out: the device tracks at 4 KiB..1 GiB and says so; reports at finer sizes than tracked set every covered bit', async () => {
    const { m, guest } = await running();
    expect(dmaLoggingStart(m.file, [{ iova: 0n, length: BigInt(MEM) }], 512n)).toBe(4096n);
    dmaLoggingStop(m.file);
    expect(dmaLoggingStart(m.file, [{ iova: 0n, length: 1n << 21n }], 1n << 21n)).toBe(1n << 21n);
    guest.submitDescs({ opcode: DMAE_OP.NOP, length: 0 });
    guest.run(1);
    // tracked at 2 MiB: the dirty 2 MiB page covers all of the 1 MiB of memory
    const pages = dmaLoggingReport(m.file, 0n, BigInt(MEM));
    expect(pages).toHaveLength(MEM / PAGE);
    dmaLoggingStop(m.file);
    expect(dmaLoggingStart(m.file, [{ iova: 0n, length: 1n << 40n }], 1n << 40n)).toBe(1n << 30n);
  });

  it('START while started and REPORT while stopped are EINVAL; STOP is idempotent; the last close stops logging', async () => {
    const { m } = await running();
    expectErrno(() => dmaLoggingReport(m.file, 0n, BigInt(MEM)), 'EINVAL');
    dmaLoggingStop(m.file);
    dmaLoggingStart(m.file, [{ iova: 0n, length: BigInt(MEM) }]);
    expectErrno(() => dmaLoggingStart(m.file, [{ iova: 0n, length: BigInt(MEM) }]), 'EINVAL');
    // the core's own validation comes first (the uapi's rules)
    expectErrno(() => m.file.ioctl(VFIO.DEVICE_FEATURE, buildDeviceFeature(VFIO.DEVICE_FEATURE_GET | VFIO.DEVICE_FEATURE_DMA_LOGGING_START, 24)), 'EINVAL');
    expectErrno(() => dmaLoggingReport(m.file, 0n, BigInt(MEM), 2048n), 'EINVAL');
    expect(m.engine.dmaLogging).toBe(true);
    m.file.close();
    expect(m.engine.dmaLogging).toBe(false);
    const again = m.emu.host.openDevice(BDF);
    expect(getState(again)).toBe(2);
    expectErrno(() => dmaLoggingReport(again, 0n, BigInt(MEM)), 'EINVAL');
  });

  it('the bitmap conversion matches a brute-force model (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.nat(255), { maxLength: 20 }),
        fc.integer({ min: 12, max: 16 }),
        fc.nat(64),
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 12, max: 17 }),
        (pageIdx, trackShift, startPage, lenPages, reportShift) => {
          const track = 2 ** trackShift;
          const dirty = pageIdx.map((p) => p * track).sort((a, b) => a - b);
          const iova = startPage * 4096;
          const length = lenPages * 4096;
          const page = 2 ** reportShift;
          const got = dirtyBitmap(dirty, track, BigInt(iova), BigInt(length), BigInt(page));
          expect(got.length).toBe(Math.ceil(Math.ceil(length / page) / 64) * 8);
          for (let bit = 0; bit < got.length * 8; bit++) {
            const lo = iova + bit * page;
            const hi = Math.min(lo + page, iova + length);
            const want = lo < iova + length && dirty.some((a) => a < hi && a + track > lo);
            expect(((got[bit >>> 3] >>> (bit & 7)) & 1) === 1).toBe(want);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
