// The VMM's IOAS: VFIO_IOMMU_MAP_DMA / IOMMU_IOAS_MAP semantics with the kernel's errno, and an
// assigned device's DMA translated through it: an unmapped IOVA is an IOMMU fault (nothing written,
// nothing usable read, the fault reported with device, IOVA and direction).
import { describe, expect, it } from 'vitest';
import { GuestMemory, VfioError } from '../../src/index.js';
import { DmaEngineDriver } from '../../src/guest/dmaEngineDriver.js';
import { DMAE_OP, DMAE_STATUS } from '../../src/hw/devices/dmaEngine/descriptor.js';
import { dmaEngineOf } from '../../src/hw/devices/dmaEngine/dmaEngine.js';
import type { Completion } from '../../src/hw/devices/dmaEngine/descriptor.js';
import { deviceDma } from '../../src/hw/embedding/deviceDma.js';
import { Ioas } from '../../src/vmm/ioas.js';
import { fnAt, machine, tickHost } from './machine.js';

const code = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    if (e instanceof VfioError) return e.code;
    throw e;
  }
  return 'ok';
};

describe('IOAS map and unmap (vfio type1 v2 / iommufd semantics)', () => {
  const mem = new GuestMemory(1 << 20);

  it('checks alignment, size, wrap, the memory and overlap with the kernel errno', () => {
    const ioas = new Ioas();
    expect(code(() => ioas.map(0, 0x10000, mem, 0))).toBe('ok');
    expect(code(() => ioas.map(0x10000, 0, mem, 0))).toBe('EINVAL'); // size 0
    expect(code(() => ioas.map(0x10800, 0x1000, mem, 0))).toBe('EINVAL'); // iova misaligned
    expect(code(() => ioas.map(0x20000, 0x1800, mem, 0))).toBe('EINVAL'); // size misaligned
    expect(code(() => ioas.map(0x20000, 0x1000, mem, 0x10))).toBe('EINVAL'); // memory offset misaligned
    expect(code(() => ioas.map(-4096, 0x1000, mem, 0))).toBe('EINVAL');
    expect(code(() => ioas.map(2 ** 64 - 4096, 0x2000, mem, 0))).toBe('EINVAL'); // wraps
    expect(code(() => ioas.map(0x20000, 0x1000, mem, 1 << 20))).toBe('EFAULT'); // past the memory
    expect(code(() => ioas.map(0x8000, 0x10000, mem, 0))).toBe('EEXIST'); // overlaps [0, 0x10000)
    expect(code(() => ioas.map(0xf000, 0x1000, mem, 0))).toBe('EEXIST');
    expect(code(() => ioas.map(0x10000, 0x1000, mem, 0))).toBe('ok'); // adjacent is fine, memory may alias
    expect(ioas.domain.mappings().map((m) => [m.iova, m.size])).toEqual([[0, 0x10000], [0x10000, 0x1000]]);
  });

  it('unmap removes whole mappings only and returns the bytes unmapped', () => {
    const ioas = new Ioas();
    ioas.map(0x10000, 0x4000, mem, 0);
    ioas.map(0x20000, 0x1000, mem, 0);
    expect(code(() => ioas.unmap(0x11000, 0x1000))).toBe('EINVAL'); // would split [0x10000, 0x14000)
    expect(code(() => ioas.unmap(0x10000, 0x2000))).toBe('EINVAL');
    expect(code(() => ioas.unmap(0x10000, 0x800))).toBe('EINVAL'); // misaligned
    expect(code(() => ioas.unmap(0x10000, 0))).toBe('EINVAL');
    expect(ioas.unmap(0x30000, 0x1000)).toBe(0); // nothing there
    const gen = ioas.domain.generation;
    expect(ioas.unmap(0, 0x100000)).toBe(0x5000);
    expect(ioas.domain.mappings()).toEqual([]);
    expect(ioas.domain.generation).toBeGreaterThan(gen);
  });
});

describe("an assigned device's DMA through the VMM's IOAS", () => {
  const DMA = { kind: 'dma' as const, hostBdf: '0000:00:05.0', guestBdf: '0000:00:03.0' };

  async function rig(opts: Parameters<typeof machine>[1] = {}) {
    const m = await machine([DMA], opts);
    const r = m.guest.enumerate();
    const drv = new DmaEngineDriver(m.guest, fnAt(r, DMA.guestBdf), { irq: ['msix'] });
    drv.probe();
    const done: Completion[] = [];
    drv.onCompletion = (c) => done.push(c);
    const run = () => {
      for (let i = 0; i < 10 && tickHost(m.emu) + m.guest.irq.service() > 0; i++);
      drv.poll();
    };
    const host = m.hostFn.get(DMA.guestBdf)!;
    return { m, drv, done, run, host, engine: dmaEngineOf(host)! };
  }

  it('inside guest RAM works; an unmapped IOVA faults: nothing written or read, the fault reported and logged once per page', async () => {
    const { m, drv, done, run, host, engine } = await rig();
    expect(deviceDma(host).domain).toBe(m.vmm.ioas.domain);
    const ramEnd = m.vmm.ram.base + m.vmm.ram.size;
    const buf = m.guest.dma.alloc(4096, 4096);
    m.guest.memory.write(buf, Uint8Array.from({ length: 64 }, (_, i) => i + 1));
    drv.submit({ opcode: DMAE_OP.COPY_TO_DEVICE, length: 64, src: buf, dst: 0 });
    drv.submit({ opcode: DMAE_OP.COPY_FROM_DEVICE, length: 64, src: 0, dst: ramEnd });
    drv.submit({ opcode: DMAE_OP.COPY_FROM_DEVICE, length: 64, src: 0, dst: ramEnd + 8 });
    drv.submit({ opcode: DMAE_OP.COPY_TO_DEVICE, length: 64, src: 2 ** 40, dst: 4096 });
    run();
    expect(done.map((c) => c.status)).toEqual([DMAE_STATUS.SUCCESS, DMAE_STATUS.DMA_WRITE_ERROR, DMAE_STATUS.DMA_WRITE_ERROR, DMAE_STATUS.DMA_READ_ERROR]);
    expect(engine.readDeviceMemory(4096, 64)).toEqual(new Uint8Array(64));
    expect(m.vmm.iommuFaults).toEqual([
      { device: DMA.hostBdf, iova: ramEnd, length: 64, direction: 'write' },
      { device: DMA.hostBdf, iova: ramEnd + 8, length: 64, direction: 'write' },
      { device: DMA.hostBdf, iova: 2 ** 40, length: 64, direction: 'read' },
    ]);
    expect(m.vmm.log.grep('IOMMU fault')).toHaveLength(2); // one line per device, direction and page
    expect(m.vmm.log.grep('IOMMU fault')[0]).toContain(DMA.hostBdf);
  });

  it('mapDma makes more memory reachable at an IOVA; unmapDma takes it away again', async () => {
    const { m, drv, done, run } = await rig();
    const extra = new GuestMemory(64 << 10);
    const iova = 0x4000_0000;
    drv.submit({ opcode: DMAE_OP.FILL, length: 256, src: 0xa5a5a5a5, dst: 0 });
    drv.submit({ opcode: DMAE_OP.COPY_FROM_DEVICE, length: 256, src: 0, dst: iova + 0x1000 });
    run();
    expect(done.at(-1)!.status).toBe(DMAE_STATUS.DMA_WRITE_ERROR);
    m.vmm.mapDma(iova, 64 << 10, extra, 0);
    expect(code(() => m.vmm.mapDma(iova, 4096, extra, 0))).toBe('EEXIST');
    drv.submit({ opcode: DMAE_OP.COPY_FROM_DEVICE, length: 256, src: 0, dst: iova + 0x1000 });
    run();
    expect(done.at(-1)!.status).toBe(DMAE_STATUS.SUCCESS);
    expect(extra.read(0x1000, 256).every((b) => b === 0xa5)).toBe(true);
    expect(m.vmm.unmapDma(iova, 64 << 10)).toBe(64 << 10);
    extra.fill(0, 64 << 10, 0);
    drv.submit({ opcode: DMAE_OP.COPY_FROM_DEVICE, length: 256, src: 0, dst: iova + 0x1000 });
    run();
    expect(done.at(-1)!.status).toBe(DMAE_STATUS.DMA_WRITE_ERROR);
    expect(extra.read(0, 64 << 10).every((b) => b === 0)).toBe(true);
  });

  it('guest RAM owned by an embedder: device DMA lands in its array, the host memory is untouched', async () => {
    let ram = new Uint8Array(2 << 20);
    const memory = GuestMemory.wrap(() => ram);
    const { m, drv, done, run, host } = await rig({ vmm: { memory } });
    expect(m.vmm.memory).toBe(memory);
    expect(m.vmm.ioas.domain.mappings()).toEqual([{ iova: 0, size: 2 << 20, memory, offset: 0 }]);
    const before = m.emu.memory.read(0, m.emu.memory.size);
    const buf = m.guest.dma.alloc(4096, 4096);
    drv.submit({ opcode: DMAE_OP.FILL, length: 128, src: 0x11223344, dst: 0 });
    const grown = new Uint8Array(ram.length);
    grown.set(ram);
    ram = grown; // the embedder replaced its buffer between submit and the device's work
    drv.submit({ opcode: DMAE_OP.COPY_FROM_DEVICE, length: 128, src: 0, dst: buf });
    drv.submit({ opcode: DMAE_OP.COPY_FROM_DEVICE, length: 128, src: 0, dst: 2 << 20 }); // past its RAM
    run();
    expect(done.map((c) => c.status)).toEqual([DMAE_STATUS.SUCCESS, DMAE_STATUS.SUCCESS, DMAE_STATUS.DMA_WRITE_ERROR]);
    expect(new DataView(ram.buffer).getUint32(buf, true)).toBe(0x11223344);
    expect(Buffer.from(m.emu.memory.read(0, m.emu.memory.size)).equals(Buffer.from(before))).toBe(true);
    m.vmm.close();
    expect(deviceDma(host).domain).toBe(null);
  });
});
