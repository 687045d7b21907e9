// The DMA engine (hw.addDmaEngine), the migratable sample device: config space, the BAR0 register
// map at every (offset, size), descriptor processing for each opcode with results checked in
// guest and device memory, the completion ring, MSI-X and INTx, Bus Master gating, master aborts,
// the device's own migration support (quiesce, device-memory dirty tracking, DMA write logging,
// save/restore, digest), resets, and property tests that random input never escapes the device.
import fc from 'fast-check';
import * as zlib from 'node:zlib';
import { beforeEach, describe, expect, it } from 'vitest';
import { createEmulator, InterruptLog } from '../../src/index.js';
import type { Emulator, Hardware, PciFunction } from '../../src/index.js';
import {
  DEVMEM_PAGE_SIZE, DMAE_CQE_SIZE, DMAE_DESC_FLAG_IRQ, DMAE_DESC_SIZE, DMAE_INT_COMPLETION, DMAE_INT_ERROR, DMAE_INT_FAULT,
  DMAE_OP, DMAE_REG, DMAE_STATE_BYTES, DMAE_STATUS, DMAE_STATUS_BUSY, DMAE_STATUS_CQ_FULL, DMAE_STATUS_DMA_BLOCKED,
  DMAE_STATUS_ENABLED, DMAE_STATUS_FAULT, DMAE_STATUS_QUIESCED, DmaEngine, DmaEngineStateError, crc32, decodeCompletion,
  dmaEngineOf, encodeDescriptor,
} from '../../src/hw/devices/dmaEngine/index.js';
import type { Completion } from '../../src/hw/devices/dmaEngine/index.js';
import { CMD_INTX_DISABLE, CMD_MASTER, CMD_MEM, configSnapshot, programBar, walkCapabilities, walkExtCapabilities } from './helpers.js';

const BDF = '0000:00:05.0';
const REGS = 0xfe000000;
const DEVMEM = 0x8_0000_0000;
const DEVMEM_BYTES = 64 << 10;
const SQ = 0x10000;
const CQ = 0x20000;
const DATA = 0x40000;
const RING_LOG2 = 4;
const RING = 1 << RING_LOG2;
const MSIX_ADDR = [0xfee00000, 0xfee01000];
const MSIX_DATA = [0x41, 0x42];

let emu: Emulator;
let hw: Hardware;
let log: InterruptLog;
let f: PciFunction;
let dev: DmaEngine;
let sqTail = 0;
let cqHead = 0;
let phase = 1;

const rd = (off: number, size: 1 | 2 | 4 = 4) => hw.mmioRead(REGS + off, size);
const wr = (off: number, v: number, size: 1 | 2 | 4 = 4) => hw.mmioWrite(REGS + off, size, v);
const cap = (id: number) => walkCapabilities((o, s) => hw.configRead(BDF, o, s)).find(([, i]) => i === id)![0];
const statusReg = () => hw.configRead(BDF, 0x06, 2);
const RMA = 0x2000;

async function machine(memoryBytes = 4 << 20): Promise<void> {
  emu = await createEmulator({ memoryBytes });
  hw = emu.hw;
  log = new InterruptLog();
  hw.setInterruptSink(log);
  f = hw.addDmaEngine(BDF, { deviceMemoryBytes: DEVMEM_BYTES });
  dev = dmaEngineOf(f)!;
  sqTail = 0;
  cqHead = 0;
  phase = 1;
}

/** What firmware and a driver do before using the device: BARs, Command, rings, ENABLE. */
function bringUp(command = CMD_MEM | CMD_MASTER): void {
  programBar(hw, BDF, 0, REGS);
  programBar(hw, BDF, 2, DEVMEM, true);
  hw.configWrite(BDF, 0x04, 2, command);
  wr(DMAE_REG.SQ_BASE_LO, SQ);
  wr(DMAE_REG.SQ_SIZE, RING_LOG2);
  wr(DMAE_REG.CQ_BASE_LO, CQ);
  wr(DMAE_REG.CQ_SIZE, RING_LOG2);
  wr(DMAE_REG.CONTROL, 1);
}

function enableMsix(): void {
  for (let v = 0; v < 2; v++) {
    hw.mmioWrite(REGS + 0x1000 + 16 * v, 4, MSIX_ADDR[v]);
    hw.mmioWrite(REGS + 0x1000 + 16 * v + 8, 4, MSIX_DATA[v]);
    hw.mmioWrite(REGS + 0x1000 + 16 * v + 12, 4, 0);
  }
  hw.configWrite(BDF, cap(0x11) + 2, 2, 0x8000);
}

type Desc = Parameters<typeof encodeDescriptor>[0];

/** Writes descriptors at the tail and rings the doorbell. */
function submit(...ds: Desc[]): void {
  for (const d of ds) {
    emu.memory.write(SQ + sqTail * DMAE_DESC_SIZE, encodeDescriptor(d));
    sqTail = (sqTail + 1) % RING;
  }
  wr(DMAE_REG.SQ_TAIL, sqTail);
}

/** Consumes the completions the device posted (by phase bit) and returns them. */
function reap(): Completion[] {
  const out: Completion[] = [];
  for (;;) {
    const c = decodeCompletion(emu.memory.read(CQ + cqHead * DMAE_CQE_SIZE, DMAE_CQE_SIZE));
    if (c.phase !== phase) break;
    out.push(c);
    cqHead = (cqHead + 1) % RING;
    if (cqHead === 0) phase ^= 1;
  }
  wr(DMAE_REG.CQ_HEAD, cqHead);
  return out;
}

const devmemRead = (off: number, len: number) => dev.readDeviceMemory(off, len);
const bytesOf = (s: string) => new TextEncoder().encode(s);
/** Byte-array equality without vitest's element-by-element diff (slow on MiBs). */
const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
const pattern = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 7) & 0xff);

describe('config space', () => {
  beforeEach(() => machine());

  it('is a PCIe endpoint 1b36:00f0, class 088000, INTA, with PM, MSI-X, PCIe+FLR and AER', () => {
    expect(hw.configRead(BDF, 0, 4)).toBe(0x00f01b36);
    expect(hw.configRead(BDF, 0x08, 4) >>> 8).toBe(0x088000);
    expect(hw.configRead(BDF, 0x08, 1)).toBe(1);
    expect(hw.configRead(BDF, 0x2c, 4)).toBe(0x00f01b36);
    expect(hw.configRead(BDF, 0x3d, 1)).toBe(1);
    expect(walkCapabilities((o, s) => hw.configRead(BDF, o, s)).map(([, id]) => id)).toEqual([0x01, 0x11, 0x10]);
    expect(walkExtCapabilities((o, s) => hw.configRead(BDF, o, s)).map(([, id]) => id)).toEqual([0x0001]);
    expect(hw.configRead(BDF, cap(0x10) + 4, 4) & 0x10000000).toBe(0x10000000); // DevCap FLR
    const msix = cap(0x11);
    expect(hw.configRead(BDF, msix + 2, 2) & 0x7ff).toBe(1); // 2 vectors
    expect(hw.configRead(BDF, msix + 4, 4)).toBe(0x1000); // table: BAR0 + 0x1000
    expect(hw.configRead(BDF, msix + 8, 4)).toBe(0x1800); // PBA: BAR0 + 0x1800
    expect(f.vendorId).toBe(0x1b36);
    expect(f.deviceId).toBe(0x00f0);
    expect(hw.functions()).toContain(f);
  });

  it('sizes BAR0 as 8 KiB mem32 and BAR2 as a 64-bit prefetchable BAR of the device memory', () => {
    hw.configWrite(BDF, 0x10, 4, 0xffffffff);
    expect(hw.configRead(BDF, 0x10, 4)).toBe(0xffffe000);
    hw.configWrite(BDF, 0x18, 4, 0xffffffff);
    hw.configWrite(BDF, 0x1c, 4, 0xffffffff);
    expect(hw.configRead(BDF, 0x18, 4)).toBe((~(DEVMEM_BYTES - 1) & 0xfffffff0 | 0xc) >>> 0);
    expect(hw.configRead(BDF, 0x1c, 4)).toBe(0xffffffff);
    for (const bar of [0x14, 0x20, 0x24]) expect(hw.configRead(BDF, bar, 4)).toBe(0);
  });

  it('defaults to 4 MiB of device memory and validates deviceMemoryBytes', async () => {
    const e = await createEmulator();
    const g = e.hw.addDmaEngine('0000:00:01.0');
    expect(dmaEngineOf(g)!.deviceMemoryBytes).toBe(4 << 20);
    e.hw.configWrite(g.bdf, 0x18, 4, 0xffffffff);
    expect(e.hw.configRead(g.bdf, 0x18, 4)).toBe(0xffc0000c);
    for (const bad of [0, 1000, 3 << 20, 2048, 2 ** 31, -4096, 1.5, NaN, '4096' as unknown as number]) {
      expect(() => e.hw.addDmaEngine('0000:00:02.0', { deviceMemoryBytes: bad })).toThrow(/deviceMemoryBytes/);
    }
    expect(e.hw.function('0000:00:02.0')).toBeUndefined();
    expect(() => e.hw.addDmaEngine('0000:00:01.0')).toThrow(/already exists/);
    expect(dmaEngineOf(e.hw.addEndpoint('0000:00:03.0', { vendorId: 1, deviceId: 2, classCode: 0 }))).toBeNull();
  });
});

/** Power-on value, writable bits while ENABLE is clear, RW1C bits, for every register. */
interface RegRow {
  name: keyof typeof DMAE_REG;
  init: number;
  rw?: number;
  w1c?: number;
}
const REG_TABLE = (devmem: number): RegRow[] => [
  { name: 'ID', init: 0x45414d44 },
  { name: 'VERSION', init: 0x00010000 },
  { name: 'DEVMEM_SIZE_LO', init: devmem },
  { name: 'DEVMEM_SIZE_HI', init: 0 },
  { name: 'CONTROL', init: 0, rw: 0x1 },
  { name: 'STATUS', init: 0 },
  { name: 'INT_STATUS', init: 0, w1c: 0x7 },
  { name: 'INT_MASK', init: 0, rw: 0x7 },
  { name: 'INT_COALESCE', init: 0, rw: 0xffff },
  { name: 'SCRATCH', init: 0, rw: 0xffffffff },
  { name: 'SQ_BASE_LO', init: 0, rw: 0xffffffe0 },
  { name: 'SQ_BASE_HI', init: 0, rw: 0xffffffff },
  { name: 'SQ_SIZE', init: 0, rw: 0xf },
  { name: 'SQ_TAIL', init: 0 }, // doorbell: ignored while disabled
  { name: 'SQ_HEAD', init: 0 },
  { name: 'CQ_BASE_LO', init: 0, rw: 0xfffffff0 },
  { name: 'CQ_BASE_HI', init: 0, rw: 0xffffffff },
  { name: 'CQ_SIZE', init: 0, rw: 0xf },
  { name: 'CQ_HEAD', init: 0 },
  { name: 'CQ_TAIL', init: 0 },
  { name: 'CQ_PHASE', init: 1 },
  { name: 'COMPLETED_LO', init: 0 },
  { name: 'COMPLETED_HI', init: 0 },
  { name: 'BYTES_LO', init: 0 },
  { name: 'BYTES_HI', init: 0 },
  { name: 'ERRORS', init: 0 },
  { name: 'IRQS', init: 0 },
];

describe('register map (BAR0 register page)', () => {
  beforeEach(() => machine());

  const program = () => {
    programBar(hw, BDF, 0, REGS);
    programBar(hw, BDF, 2, DEVMEM, true);
    hw.configWrite(BDF, 0x04, 2, CMD_MEM);
  };

  it('power-on values of every register, and 0 at every unlisted offset of the page', () => {
    program();
    const byOff = new Map<number, number>(REG_TABLE(DEVMEM_BYTES).map((r) => [DMAE_REG[r.name], r.init]));
    for (let off = 0; off < 0x1000; off += 4) expect(rd(off), `0x${off.toString(16)}`).toBe(byOff.get(off) ?? 0);
  });

  it('every (offset, size) read returns the addressed bytes of the dword', () => {
    program();
    wr(DMAE_REG.SCRATCH, 0xa1b2c3d4);
    wr(DMAE_REG.SQ_BASE_HI, 0x11223344);
    for (let off = 0; off < 0x100; off++) {
      const dword = rd(off & ~3);
      for (const size of [1, 2, 4] as const) {
        if ((off & (size - 1)) !== 0) continue;
        const want = size === 4 ? dword : (dword >>> (8 * (off & 3))) & (size === 1 ? 0xff : 0xffff);
        expect(rd(off, size), `read ${size}@0x${off.toString(16)}`).toBe(want);
      }
    }
    // a misaligned dword read is split into bytes by the bus and straddles two registers
    expect(hw.mmioRead(REGS + DMAE_REG.SCRATCH + 2, 4)).toBe(((0xa1b2c3d4 >>> 16) | ((rd(0x28) & 0xffff) << 16)) >>> 0);
  });

  for (const row of REG_TABLE(DEVMEM_BYTES)) {
    it(`${row.name} (0x${DMAE_REG[row.name].toString(16).padStart(3, '0')}): writes of each size and lane touch only writable bits of their bytes`, () => {
      const off = DMAE_REG[row.name];
      for (const size of [1, 2, 4] as const) {
        for (let lane = 0; lane < 4; lane += size) {
          for (const value of [0xffffffff, 0x5a5a5a5a]) {
            f.reset('flr');
            program();
            const lanes = ((size === 4 ? 0xffffffff : (size === 1 ? 0xff : 0xffff) << (8 * lane)) >>> 0);
            const v = size === 4 ? value : (value >>> (8 * lane)) & (size === 1 ? 0xff : 0xffff);
            wr(off + lane, v, size);
            const written = (value & lanes) >>> 0;
            const want = ((row.init & ~((row.rw ?? 0) & lanes)) | (written & (row.rw ?? 0))) >>> 0;
            expect(rd(off), `write ${size}@+${lane} 0x${v.toString(16)}`).toBe(want);
            // no other register changed
            for (const other of REG_TABLE(DEVMEM_BYTES)) {
              if (other.name !== row.name && other.name !== 'STATUS') expect(rd(DMAE_REG[other.name]), other.name).toBe(other.init);
            }
          }
        }
      }
    });
  }

  it('writes of every size to every unlisted offset of the register page change nothing', () => {
    program();
    const listed = new Set<number>(Object.values(DMAE_REG));
    const before = Array.from({ length: 0x400 }, (_, i) => rd(4 * i));
    for (let off = 0; off < 0x1000; off += 4) {
      if (listed.has(off)) continue;
      wr(off, 0xffffffff);
      for (let i = 0; i < 4; i += 2) wr(off + i, 0xffff, 2);
      for (let i = 0; i < 4; i++) wr(off + i, 0xff, 1);
    }
    expect(Array.from({ length: 0x400 }, (_, i) => rd(4 * i))).toEqual(before);
  });

  it('INT_STATUS is RW1C per bit and per byte lane', () => {
    bringUp();
    submit({ opcode: 0x77, length: 0 }); // error completion: COMPLETION | ERROR
    dev.step(8);
    expect(rd(DMAE_REG.INT_STATUS)).toBe(DMAE_INT_COMPLETION | DMAE_INT_ERROR);
    wr(DMAE_REG.INT_STATUS + 1, 0xff, 1); // other lane: nothing
    expect(rd(DMAE_REG.INT_STATUS)).toBe(3);
    wr(DMAE_REG.INT_STATUS, DMAE_INT_ERROR, 1);
    expect(rd(DMAE_REG.INT_STATUS)).toBe(DMAE_INT_COMPLETION);
    wr(DMAE_REG.INT_STATUS, 0xfffffffe);
    expect(rd(DMAE_REG.INT_STATUS)).toBe(DMAE_INT_COMPLETION);
    wr(DMAE_REG.INT_STATUS, 1, 2);
    expect(rd(DMAE_REG.INT_STATUS)).toBe(0);
  });

  it('while ENABLE is set the ring setup is read-only and the doorbells are writable (masked to the ring)', () => {
    bringUp();
    wr(DMAE_REG.SQ_BASE_LO, 0x5000);
    wr(DMAE_REG.SQ_BASE_HI, 1);
    wr(DMAE_REG.SQ_SIZE, 7);
    wr(DMAE_REG.CQ_BASE_LO, 0x6000);
    wr(DMAE_REG.CQ_SIZE, 2);
    expect([rd(DMAE_REG.SQ_BASE_LO), rd(DMAE_REG.SQ_BASE_HI), rd(DMAE_REG.SQ_SIZE), rd(DMAE_REG.CQ_BASE_LO), rd(DMAE_REG.CQ_SIZE)]).toEqual([SQ, 0, RING_LOG2, CQ, RING_LOG2]);
    wr(DMAE_REG.SQ_TAIL, 0x1234);
    expect(rd(DMAE_REG.SQ_TAIL)).toBe(0x1234 & (RING - 1));
    wr(DMAE_REG.CQ_HEAD, 5, 1);
    expect(rd(DMAE_REG.CQ_HEAD)).toBe(5);
    expect(rd(DMAE_REG.STATUS)).toBe(DMAE_STATUS_ENABLED | DMAE_STATUS_BUSY);
    // clearing ENABLE tears the rings down
    wr(DMAE_REG.CONTROL, 0);
    expect([rd(DMAE_REG.SQ_TAIL), rd(DMAE_REG.SQ_HEAD), rd(DMAE_REG.CQ_HEAD), rd(DMAE_REG.CQ_TAIL), rd(DMAE_REG.CQ_PHASE), rd(DMAE_REG.STATUS)]).toEqual([0, 0, 0, 0, 1, 0]);
  });

  it('the MSI-X table and PBA answer in the second page; gaps read 0 and ignore writes', () => {
    program();
    hw.mmioWrite(REGS + 0x1000, 4, 0xfee00000);
    expect(hw.mmioRead(REGS + 0x1000, 4)).toBe(0xfee00000);
    expect(hw.mmioRead(REGS + 0x100c, 4)).toBe(1); // vector control: masked at power-on
    expect(hw.mmioRead(REGS + 0x1800, 4)).toBe(0);
    hw.mmioWrite(REGS + 0x1400, 4, 0xdeadbeef);
    expect(hw.mmioRead(REGS + 0x1400, 4)).toBe(0);
    expect(hw.mmioRead(REGS + 0x1ffc, 4)).toBe(0);
  });

  it('BAR2 is the device memory, little-endian, at every size', () => {
    program();
    hw.mmioWrite(DEVMEM + 0x100, 4, 0x44332211);
    hw.mmioWrite(DEVMEM + 0x104, 2, 0x6655);
    hw.mmioWrite(DEVMEM + 0x106, 1, 0x77);
    expect([...devmemRead(0x100, 8)]).toEqual([0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0]);
    expect(hw.mmioRead(DEVMEM + 0x102, 2)).toBe(0x4433);
    expect(hw.mmioRead(DEVMEM + 0x104, 4)).toBe(0x00776655);
    expect(hw.mmioRead(DEVMEM + DEVMEM_BYTES - 4, 4)).toBe(0);
  });
});

describe('descriptor processing', () => {
  beforeEach(async () => {
    await machine();
    bringUp();
  });

  it('doorbell writes only queue work; step() does it', () => {
    emu.memory.write(DATA, bytesOf('hello'));
    submit({ opcode: DMAE_OP.COPY_TO_DEVICE, length: 5, src: DATA, dst: 0x10, cookie: 1 });
    expect(rd(DMAE_REG.SQ_HEAD)).toBe(0);
    expect(devmemRead(0x10, 5)).toEqual(new Uint8Array(5));
    expect(rd(DMAE_REG.STATUS) & DMAE_STATUS_BUSY).toBe(DMAE_STATUS_BUSY);
    expect(dev.step(0)).toBe(0);
    expect(dev.step(4)).toBe(1);
    expect(devmemRead(0x10, 5)).toEqual(bytesOf('hello'));
    expect(rd(DMAE_REG.SQ_HEAD)).toBe(1);
    expect(rd(DMAE_REG.STATUS) & DMAE_STATUS_BUSY).toBe(0);
    expect(() => dev.step(-1)).toThrow(RangeError);
  });

  it('NOP completes with its cookie and result 0', () => {
    submit({ opcode: DMAE_OP.NOP, length: 123, cookie: 0xfedcba9876543210n });
    dev.run();
    expect(reap()).toEqual([{ cookie: 0xfedcba9876543210n, result: 0, status: DMAE_STATUS.SUCCESS, phase: 1, sqIndex: 0 }]);
  });

  it('COPY_TO_DEVICE moves guest bytes into device memory', () => {
    const data = pattern(5000);
    emu.memory.write(DATA + 3, data);
    submit({ opcode: DMAE_OP.COPY_TO_DEVICE, length: data.length, src: DATA + 3, dst: 0x2ffe, cookie: 9 });
    dev.run();
    expect(same(devmemRead(0x2ffe, data.length), data)).toBe(true);
    expect(devmemRead(0x2ffd, 1)[0]).toBe(0);
    expect(devmemRead(0x2ffe + data.length, 1)[0]).toBe(0);
    expect(reap()).toEqual([{ cookie: 9n, result: 5000, status: 0, phase: 1, sqIndex: 0 }]);
    expect(rd(DMAE_REG.BYTES_LO)).toBe(5000);
  });

  it('COPY_FROM_DEVICE moves device memory into guest memory', () => {
    const data = pattern(777, 3);
    dev.writeDeviceMemory(0x800, data);
    submit({ opcode: DMAE_OP.COPY_FROM_DEVICE, length: 777, src: 0x800, dst: DATA + 1, cookie: 2 });
    dev.run();
    expect(emu.memory.read(DATA + 1, 777)).toEqual(data);
    expect(emu.memory.read(DATA, 1)[0]).toBe(0);
    expect(emu.memory.read(DATA + 778, 1)[0]).toBe(0);
    expect(reap()[0]).toMatchObject({ cookie: 2n, status: 0, result: 777 });
  });

  it('FILL repeats the 32-bit pattern little-endian from dst, cutting the last repetition short', () => {
    submit({ opcode: DMAE_OP.FILL, length: 4099, src: 0xffffffff_a1b2c3d4n, dst: 0x1001, cookie: 3 });
    dev.run();
    const want = new Uint8Array(4101);
    for (let i = 0; i < 4099; i++) want[1 + i] = [0xd4, 0xc3, 0xb2, 0xa1][i % 4];
    expect(same(devmemRead(0x1000, 4101), want)).toBe(true);
    expect(reap()[0]).toMatchObject({ cookie: 3n, status: 0, result: 4099 });
  });

  it('CHECKSUM returns the CRC-32 of a device memory range', () => {
    dev.writeDeviceMemory(0x40, bytesOf('123456789'));
    const big = pattern(DEVMEM_BYTES - 0x1000, 5);
    dev.writeDeviceMemory(0x1000, big);
    submit(
      { opcode: DMAE_OP.CHECKSUM, length: 9, src: 0x40, cookie: 4 },
      { opcode: DMAE_OP.CHECKSUM, length: big.length, src: 0x1000, cookie: 5 },
      { opcode: DMAE_OP.CHECKSUM, length: 0, src: 0xffffffffn, cookie: 6 },
    );
    dev.run();
    const [a, b, c] = reap();
    expect(a).toMatchObject({ cookie: 4n, status: 0, result: 0xcbf43926 });
    expect(b).toMatchObject({ cookie: 5n, status: 0, result: zlib.crc32(big) });
    expect(c).toMatchObject({ cookie: 6n, status: 0, result: 0 });
    expect(crc32(big)).toBe(zlib.crc32(big));
  });

  it('COPY_DEVICE copies within device memory with memmove semantics', () => {
    const data = pattern(300, 9);
    dev.writeDeviceMemory(0x100, data);
    submit({ opcode: DMAE_OP.COPY_DEVICE, length: 300, src: 0x100, dst: 0x180, cookie: 7 });
    dev.run();
    expect(devmemRead(0x180, 300)).toEqual(data);
    expect(devmemRead(0x100, 0x80)).toEqual(data.subarray(0, 0x80));
    expect(reap()[0]).toMatchObject({ cookie: 7n, status: 0, result: 300 });
  });

  it('bad opcode, reserved bits and device memory ranges complete with an error status and change nothing', () => {
    const before = dev.readDeviceMemory(0, DEVMEM_BYTES);
    submit(
      { opcode: 0x06, length: 4, cookie: 1 },
      { opcode: 0xff, length: 4, cookie: 2 },
      { opcode: DMAE_OP.FILL, flags: 0x02, length: 4, cookie: 3 },
      { opcode: DMAE_OP.FILL, length: 4, dst: DEVMEM_BYTES - 3, cookie: 4 },
      { opcode: DMAE_OP.COPY_DEVICE, length: 16, src: 0, dst: 2 ** 40, cookie: 5 },
      { opcode: DMAE_OP.CHECKSUM, length: 0xffffffff, src: 0, cookie: 6 },
      { opcode: DMAE_OP.COPY_TO_DEVICE, length: 1, src: DATA, dst: 2n ** 64n - 1n, cookie: 7 },
    );
    // a non-zero reserved u16 in an otherwise good descriptor
    const raw = encodeDescriptor({ opcode: DMAE_OP.NOP, length: 0, cookie: 8 });
    raw[2] = 1;
    emu.memory.write(SQ + sqTail * 32, raw);
    sqTail++;
    wr(DMAE_REG.SQ_TAIL, sqTail);
    expect(dev.run()).toBe(8);
    expect(reap().map((c) => [Number(c.cookie), c.status, c.result])).toEqual([
      [1, DMAE_STATUS.BAD_OPCODE, 0],
      [2, DMAE_STATUS.BAD_OPCODE, 0],
      [3, DMAE_STATUS.BAD_DESCRIPTOR, 0],
      [4, DMAE_STATUS.DEVMEM_RANGE, 0],
      [5, DMAE_STATUS.DEVMEM_RANGE, 0],
      [6, DMAE_STATUS.DEVMEM_RANGE, 0],
      [7, DMAE_STATUS.DEVMEM_RANGE, 0],
      [8, DMAE_STATUS.BAD_DESCRIPTOR, 0],
    ]);
    expect(same(dev.readDeviceMemory(0, DEVMEM_BYTES), before)).toBe(true);
    expect([rd(DMAE_REG.COMPLETED_LO), rd(DMAE_REG.ERRORS), rd(DMAE_REG.BYTES_LO)]).toEqual([8, 8, 0]);
    expect(statusReg() & RMA).toBe(0); // no DMA was attempted
  });

  it('counters count completions, bytes of successful descriptors, and errors', () => {
    submit(
      { opcode: DMAE_OP.FILL, length: 100, dst: 0 },
      { opcode: DMAE_OP.CHECKSUM, length: 50, src: 0 },
      { opcode: 9, length: 1 },
    );
    dev.run();
    expect([rd(DMAE_REG.COMPLETED_LO), rd(DMAE_REG.COMPLETED_HI), rd(DMAE_REG.BYTES_LO), rd(DMAE_REG.BYTES_HI), rd(DMAE_REG.ERRORS)]).toEqual([3, 0, 150, 0, 1]);
  });

  it('the completion ring wraps with the phase bit flipping, and a full ring stalls until CQ_HEAD moves', () => {
    const seen: Completion[] = [];
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 10; i++) submit({ opcode: DMAE_OP.NOP, length: 0, cookie: round * 10 + i });
      expect(dev.run()).toBe(10);
      seen.push(...reap());
    }
    expect(seen.map((c) => Number(c.cookie))).toEqual([...Array(30).keys()]);
    expect(seen.map((c) => c.sqIndex)).toEqual([...Array(30).keys()].map((i) => i % RING));
    expect(seen.map((c) => c.phase)).toEqual([...Array(30).keys()].map((i) => (Math.floor(i / RING) % 2 === 0 ? 1 : 0)));
    expect(rd(DMAE_REG.CQ_PHASE)).toBe(0);

    // fill the CQ without reaping: 15 of 16 entries are usable
    for (let i = 0; i < 15; i++) submit({ opcode: DMAE_OP.NOP, length: 0, cookie: 100 + i });
    expect(dev.run()).toBe(15);
    expect(rd(DMAE_REG.STATUS) & DMAE_STATUS_CQ_FULL).toBe(0);
    submit({ opcode: DMAE_OP.NOP, length: 0, cookie: 200 });
    expect(dev.run()).toBe(0);
    expect(rd(DMAE_REG.STATUS) & (DMAE_STATUS_CQ_FULL | DMAE_STATUS_BUSY)).toBe(DMAE_STATUS_CQ_FULL | DMAE_STATUS_BUSY);
    expect(reap().map((c) => Number(c.cookie))).toEqual([...Array(15).keys()].map((i) => 100 + i));
    expect(dev.run()).toBe(1);
    expect(reap().map((c) => Number(c.cookie))).toEqual([200]);
  });

  it('the device works when the embedding code ticks every function through DeviceModel.tick', () => {
    hw.addEndpoint('0000:00:06.0', { vendorId: 0x8086, deviceId: 0x1234, classCode: 0 });
    for (let i = 0; i < 6; i++) submit({ opcode: DMAE_OP.NOP, length: 0, cookie: i });
    let done = 0;
    for (let round = 0; round < 3; round++) for (const fn of hw.functions()) done += fn.model.tick?.(fn, 2) ?? 0;
    expect(done).toBe(6);
    expect(reap()).toHaveLength(6);
  });
});

describe('interrupts', () => {
  beforeEach(async () => {
    await machine();
    bringUp();
  });

  const messages = () => log.messages.map((m) => MSIX_ADDR.indexOf(m.addressLo) * 1000 + MSIX_DATA.indexOf(m.data));

  it('MSI-X: one message on vector 0 per completion batch; errors on vector 1', () => {
    enableMsix();
    for (let i = 0; i < 3; i++) submit({ opcode: DMAE_OP.NOP, length: 0 });
    dev.run();
    expect(log.messages).toEqual([{ addressLo: MSIX_ADDR[0], addressHi: 0, data: MSIX_DATA[0], source: BDF }]);
    submit({ opcode: DMAE_OP.NOP, length: 0 });
    dev.step(1);
    submit({ opcode: 0x55, length: 0 });
    dev.step(1);
    expect(messages()).toEqual([0, 0, 0, 1001]);
    expect(rd(DMAE_REG.IRQS)).toBe(4);
    expect(log.intxLevels.get(BDF) ?? false).toBe(false);
  });

  it('coalescing: INT_COALESCE completions per interrupt, but a drained ring or the IRQ flag always interrupts', () => {
    enableMsix();
    wr(DMAE_REG.INT_COALESCE, 4);
    for (let i = 0; i < 9; i++) submit({ opcode: DMAE_OP.NOP, length: 0 });
    const counts: number[] = [];
    for (let i = 0; i < 5; i++) {
      dev.step(2);
      counts.push(log.messages.length);
    }
    // 2: no, 4: yes, 6: no, 8: yes, 9 (drained): yes
    expect(counts).toEqual([0, 1, 1, 2, 3]);
    submit({ opcode: DMAE_OP.NOP, length: 0, flags: DMAE_DESC_FLAG_IRQ }, { opcode: DMAE_OP.NOP, length: 0 }, { opcode: DMAE_OP.NOP, length: 0 });
    dev.step(1);
    expect(log.messages.length).toBe(4);
  });

  it('INT_MASK holds a cause back in INT_STATUS; unmasking interrupts then', () => {
    enableMsix();
    wr(DMAE_REG.INT_MASK, DMAE_INT_COMPLETION);
    submit({ opcode: DMAE_OP.NOP, length: 0 });
    dev.run();
    expect(log.messages).toHaveLength(0);
    expect(rd(DMAE_REG.INT_STATUS)).toBe(DMAE_INT_COMPLETION);
    wr(DMAE_REG.INT_MASK, 0);
    expect(messages()).toEqual([0]);
  });

  it('a masked MSI-X vector pends in the PBA and is sent on unmask', () => {
    enableMsix();
    hw.mmioWrite(REGS + 0x100c, 4, 1);
    submit({ opcode: DMAE_OP.NOP, length: 0 });
    dev.run();
    expect(log.messages).toHaveLength(0);
    expect(hw.mmioRead(REGS + 0x1800, 4)).toBe(1);
    hw.mmioWrite(REGS + 0x100c, 4, 0);
    expect(messages()).toEqual([0]);
    expect(hw.mmioRead(REGS + 0x1800, 4)).toBe(0);
  });

  it('INTx: asserted while an unmasked cause is latched, deasserted by the acknowledgement; INTx Disable gates the pin', () => {
    submit({ opcode: DMAE_OP.NOP, length: 0 });
    dev.run();
    expect(log.intxLevels.get(BDF)).toBe(true);
    expect(statusReg() & 0x08).toBe(0x08);
    expect(log.messages).toHaveLength(0);
    wr(DMAE_REG.INT_STATUS, DMAE_INT_COMPLETION);
    expect(log.intxLevels.get(BDF)).toBe(false);
    expect(statusReg() & 0x08).toBe(0);

    wr(DMAE_REG.INT_MASK, DMAE_INT_COMPLETION);
    submit({ opcode: DMAE_OP.NOP, length: 0 });
    dev.run();
    expect(log.intxLevels.get(BDF)).toBe(false);
    wr(DMAE_REG.INT_MASK, 0);
    expect(log.intxLevels.get(BDF)).toBe(true);
    wr(DMAE_REG.INT_STATUS, 7);
    expect(log.intxLevels.get(BDF)).toBe(false);

    hw.configWrite(BDF, 0x04, 2, CMD_MEM | CMD_MASTER | CMD_INTX_DISABLE);
    submit({ opcode: DMAE_OP.NOP, length: 0 });
    dev.run();
    expect(statusReg() & 0x08).toBe(0x08); // the function's interrupt is pending ...
    expect(log.intxLevels.get(BDF)).toBe(false); // ... but the pin is disabled
    expect(rd(DMAE_REG.IRQS)).toBe(3);
  });
});

describe('bus mastering and bad DMA addresses', () => {
  beforeEach(async () => {
    await machine();
    bringUp(CMD_MEM);
  });

  it('without Bus Master Enable the device initiates no DMA; the work waits and runs once it is set', () => {
    enableMsix();
    emu.memory.write(DATA, bytesOf('data'));
    submit({ opcode: DMAE_OP.COPY_TO_DEVICE, length: 4, src: DATA, dst: 0, cookie: 1 }, { opcode: DMAE_OP.COPY_FROM_DEVICE, length: 4, src: 0, dst: DATA + 0x100, cookie: 2 });
    const guest = emu.memory.read(0, 0x80000);
    expect(dev.run()).toBe(0);
    expect(same(emu.memory.read(0, 0x80000), guest)).toBe(true);
    expect(devmemRead(0, 4)).toEqual(new Uint8Array(4));
    expect(rd(DMAE_REG.SQ_HEAD)).toBe(0);
    expect(rd(DMAE_REG.STATUS)).toBe(DMAE_STATUS_ENABLED | DMAE_STATUS_BUSY | DMAE_STATUS_DMA_BLOCKED);
    expect(log.messages).toHaveLength(0);
    hw.configWrite(BDF, 0x04, 2, CMD_MEM | CMD_MASTER);
    expect(dev.run()).toBe(2);
    expect(emu.memory.read(DATA + 0x100, 4)).toEqual(bytesOf('data'));
    expect(log.messages).toHaveLength(1);
  });

  it('an MSI-X message raised while Bus Master is clear is held until it is set again', () => {
    enableMsix();
    wr(DMAE_REG.INT_MASK, DMAE_INT_COMPLETION);
    hw.configWrite(BDF, 0x04, 2, CMD_MEM | CMD_MASTER);
    submit({ opcode: DMAE_OP.NOP, length: 0 });
    dev.run();
    hw.configWrite(BDF, 0x04, 2, CMD_MEM);
    wr(DMAE_REG.INT_MASK, 0);
    expect(log.messages).toHaveLength(0);
    hw.configWrite(BDF, 0x04, 2, CMD_MEM | CMD_MASTER);
    dev.step(1);
    expect(log.messages).toHaveLength(1);
  });

  it('a data DMA outside guest memory ends the descriptor with an error and sets Received Master Abort', () => {
    hw.configWrite(BDF, 0x04, 2, CMD_MEM | CMD_MASTER);
    enableMsix();
    dev.writeDeviceMemory(0, pattern(64));
    const devBefore = dev.readDeviceMemory(0, DEVMEM_BYTES);
    submit(
      { opcode: DMAE_OP.COPY_TO_DEVICE, length: 16, src: emu.memory.size - 8, dst: 0x100, cookie: 1 },
      { opcode: DMAE_OP.COPY_FROM_DEVICE, length: 16, src: 0, dst: 2n ** 63n, cookie: 2 },
      { opcode: DMAE_OP.COPY_FROM_DEVICE, length: 16, src: 0, dst: 2n ** 64n - 8n, cookie: 3 },
    );
    const guestBefore = emu.memory.read(0, emu.memory.size);
    expect(() => dev.run()).not.toThrow();
    expect(reap().map((c) => [Number(c.cookie), c.status])).toEqual([
      [1, DMAE_STATUS.DMA_READ_ERROR],
      [2, DMAE_STATUS.DMA_WRITE_ERROR],
      [3, DMAE_STATUS.DMA_WRITE_ERROR],
    ]);
    expect(same(dev.readDeviceMemory(0, DEVMEM_BYTES), devBefore)).toBe(true);
    const guestAfter = emu.memory.read(0, emu.memory.size);
    guestAfter.fill(0, CQ, CQ + 3 * 16); // the completions are the only change
    guestBefore.fill(0, CQ, CQ + 3 * 16);
    expect(same(guestAfter, guestBefore)).toBe(true);
    expect(statusReg() & RMA).toBe(RMA);
    expect(rd(DMAE_REG.INT_STATUS)).toBe(DMAE_INT_COMPLETION | DMAE_INT_ERROR);
    expect(messages2()).toEqual([0, 1]);
    hw.configWrite(BDF, 0x06, 2, RMA); // RW1C
    expect(statusReg() & RMA).toBe(0);
  });

  const messages2 = () => log.messages.map((m) => MSIX_ADDR.indexOf(m.addressLo));

  it('a ring outside guest memory halts the engine with FAULT and Received Master Abort, until ENABLE is cycled', () => {
    hw.configWrite(BDF, 0x04, 2, CMD_MEM | CMD_MASTER);
    wr(DMAE_REG.CONTROL, 0);
    wr(DMAE_REG.SQ_BASE_HI, 0x10); // 64 GiB: no memory there
    wr(DMAE_REG.CONTROL, 1);
    wr(DMAE_REG.SQ_TAIL, 1);
    expect(() => dev.run()).not.toThrow();
    expect(rd(DMAE_REG.STATUS) & DMAE_STATUS_FAULT).toBe(DMAE_STATUS_FAULT);
    expect(rd(DMAE_REG.INT_STATUS)).toBe(DMAE_INT_FAULT);
    expect(statusReg() & RMA).toBe(RMA);
    expect(rd(DMAE_REG.ERRORS)).toBe(1);
    expect(dev.run()).toBe(0); // halted
    // completion ring outside memory: the descriptor runs, its completion cannot be written
    wr(DMAE_REG.CONTROL, 0);
    wr(DMAE_REG.SQ_BASE_HI, 0);
    wr(DMAE_REG.CQ_BASE_LO, emu.memory.size - 16);
    wr(DMAE_REG.CQ_SIZE, 4);
    wr(DMAE_REG.CONTROL, 1);
    expect(rd(DMAE_REG.STATUS) & DMAE_STATUS_FAULT).toBe(0);
    emu.memory.write(SQ, encodeDescriptor({ opcode: DMAE_OP.NOP, length: 0 }));
    emu.memory.write(SQ + 32, encodeDescriptor({ opcode: DMAE_OP.NOP, length: 0 }));
    wr(DMAE_REG.SQ_TAIL, 2);
    expect(dev.run()).toBe(1);
    expect(rd(DMAE_REG.STATUS) & DMAE_STATUS_FAULT).toBe(DMAE_STATUS_FAULT);
  });
});

describe('device-memory dirty tracking', () => {
  beforeEach(async () => {
    await machine();
    bringUp();
  });

  it('reports exactly the pages written by descriptors and BAR2 MMIO, and clears on read', () => {
    expect(() => dev.takeDirtyPages()).toThrow(/not started/);
    dev.writeDeviceMemory(0, pattern(DEVMEM_BYTES)); // before tracking: not reported
    dev.startDirtyTracking();
    expect(dev.dirtyTracking).toBe(true);
    expect(dev.takeDirtyPages()).toEqual([]);
    emu.memory.write(DATA, pattern(0x1002));
    submit(
      { opcode: DMAE_OP.COPY_TO_DEVICE, length: 0x1002, src: DATA, dst: 0x1fff }, // pages 1, 2, 3
      { opcode: DMAE_OP.FILL, length: 1, dst: 5 * 4096 + 4095, src: 7 }, // page 5
      { opcode: DMAE_OP.CHECKSUM, length: DEVMEM_BYTES, src: 0 }, // reads only
      { opcode: DMAE_OP.COPY_FROM_DEVICE, length: 4096, src: 0x8000, dst: DATA }, // reads device memory only
      { opcode: DMAE_OP.COPY_DEVICE, length: 2, src: 0, dst: 0xb000 }, // page 11
      { opcode: DMAE_OP.FILL, length: 4, dst: DEVMEM_BYTES - 2, src: 7 }, // DEVMEM_RANGE: nothing written
    );
    dev.run();
    hw.mmioWrite(DEVMEM + 9 * 4096 + 2, 2, 0xffff); // page 9
    hw.mmioRead(DEVMEM + 10 * 4096, 4); // reads do not dirty
    expect(dev.dirtyPageCount()).toBe(6);
    expect(dev.takeDirtyPages()).toEqual([1, 2, 3, 5, 9, 11]);
    expect(dev.dirtyPageCount()).toBe(0);
    expect(dev.takeDirtyPages()).toEqual([]);
    submit({ opcode: DMAE_OP.FILL, length: DEVMEM_BYTES, dst: 0, src: 1 });
    dev.run();
    expect(dev.takeDirtyPages()).toEqual([...Array(DEVMEM_BYTES / DEVMEM_PAGE_SIZE).keys()]);
    dev.stopDirtyTracking();
    expect(() => dev.dirtyPageCount()).toThrow(/not started/);
  });

  it('a function reset clears device memory, which tracking sees as every page dirty', () => {
    dev.startDirtyTracking();
    f.reset('flr');
    expect(dev.dirtyTracking).toBe(true);
    expect(dev.takeDirtyPages()).toHaveLength(DEVMEM_BYTES / DEVMEM_PAGE_SIZE);
  });
});

describe('DMA write logging (guest pages the device wrote)', () => {
  beforeEach(async () => {
    await machine();
    bringUp();
  });

  const MiB = 1n << 20n;

  it('reports exactly the guest pages written (data and completions), inside the ranges, read-and-clear', () => {
    expect(dev.dmaLogStart([{ iova: 0n, length: MiB }], 4096n)).toBe(4096n);
    expect(dev.dmaLogging).toBe(true);
    dev.writeDeviceMemory(0, pattern(0x3000));
    submit(
      { opcode: DMAE_OP.COPY_FROM_DEVICE, length: 0x1001, src: 0, dst: 0x30fff }, // 0x30000, 0x31000
      { opcode: DMAE_OP.COPY_FROM_DEVICE, length: 0x100, src: 0, dst: 0x200000 }, // outside the range
      { opcode: DMAE_OP.COPY_TO_DEVICE, length: 0x100, src: 0x50000, dst: 0 }, // a read: not logged
    );
    dev.run();
    expect(dev.dmaLogReport(0n, MiB)).toEqual([CQ, 0x30000, 0x31000]);
    expect(dev.dmaLogReport(0n, MiB)).toEqual([]);
    expect(emu.memory.read(0x200000, 4)).toEqual(pattern(4)); // the unlogged write did happen
    dev.dmaLogStop();
    expect(dev.dmaLogging).toBe(false);
    expect(dev.dmaLogReport(0n, MiB)).toEqual([]);
  });

  it('a report clears only the pages of its window; several ranges; page size chosen by the device', () => {
    expect(dev.dmaLogStart([{ iova: 0x30000n, length: 0x10000n }, { iova: 0x100000n, length: 0x100000n }, { iova: 2n ** 40n, length: MiB }], 1024n)).toBe(4096n);
    expect(dev.dmaLogPageSize).toBe(4096);
    dev.writeDeviceMemory(0, pattern(0x100));
    for (const dst of [0x30000, 0x35000, 0x3f000, 0x40000, 0x100000, 0x1ff000]) submit({ opcode: DMAE_OP.COPY_FROM_DEVICE, length: 8, src: 0, dst });
    dev.run();
    expect(dev.dmaLogReport(0x34000n, 0x2000n)).toEqual([0x35000]); // window inside range 1
    expect(dev.dmaLogReport(0n, 1n << 41n)).toEqual([0x30000, 0x3f000, 0x100000, 0x1ff000]); // CQ (0x20000) and 0x40000 are not tracked
    dev.dmaLogStop();
    expect(dev.dmaLogStart([{ iova: 0n, length: MiB }], 1n << 21n)).toBe(1n << 21n);
    submit({ opcode: DMAE_OP.COPY_FROM_DEVICE, length: 8, src: 0, dst: 0x30000 });
    dev.run();
    expect(dev.dmaLogReport(0n, MiB)).toEqual([0]); // one 2 MiB page covers it all
  });

  it('start validates its input and changes nothing when it refuses', () => {
    const bad: [Parameters<DmaEngine['dmaLogStart']>[0], bigint, RegExp][] = [
      [[], 4096n, /at least one/],
      [Array.from({ length: 257 }, (_, i) => ({ iova: BigInt(i) << 20n, length: 4096n })), 4096n, /at most 256/],
      [[{ iova: 0n, length: 0n }], 4096n, /empty/],
      [[{ iova: 2n ** 64n - 4096n, length: 8192n }], 4096n, /64-bit/],
      [[{ iova: 0n, length: 8192n }, { iova: 4096n, length: 4096n }], 4096n, /overlap/],
      [[{ iova: 0n, length: 4096n }], 3000n, /power of two/],
      [[{ iova: 0n, length: 4096n }], 0n, /power of two/],
      [[{ iova: 0, length: 4096 } as unknown as { iova: bigint; length: bigint }], 4096n, /bigint/],
    ];
    for (const [ranges, ps, msg] of bad) {
      expect(() => dev.dmaLogStart(ranges, ps)).toThrow(msg);
      expect(dev.dmaLogging).toBe(false);
    }
    expect(dev.dmaLogStart(Array.from({ length: 256 }, (_, i) => ({ iova: BigInt(i) << 20n, length: 4096n })), 4096n)).toBe(4096n);
    expect(() => dev.dmaLogStart([{ iova: 0n, length: 4096n }], 4096n)).toThrow(/already/);
    expect(dev.dmaLogging).toBe(true);
  });
});

/** A second machine with the same guest memory contents and the device programmed the same way. */
async function destination(src: Emulator): Promise<{ emu: Emulator; dev: DmaEngine; log: InterruptLog }> {
  const e = await createEmulator({ memoryBytes: src.memory.size });
  const l = new InterruptLog();
  e.hw.setInterruptSink(l);
  const g = e.hw.addDmaEngine(BDF, { deviceMemoryBytes: DEVMEM_BYTES });
  programBar(e.hw, BDF, 0, REGS);
  programBar(e.hw, BDF, 2, DEVMEM, true);
  e.hw.configWrite(BDF, 0x04, 2, CMD_MEM | CMD_MASTER);
  e.memory.write(0, src.memory.read(0, src.memory.size));
  return { emu: e, dev: dmaEngineOf(g)!, log: l };
}

describe('save and restore', () => {
  beforeEach(async () => {
    await machine();
    bringUp();
  });

  /** Puts work in flight: some completed, some queued behind the doorbell. */
  function busy(): void {
    wr(DMAE_REG.SCRATCH, 0xc0ffee);
    wr(DMAE_REG.INT_COALESCE, 3);
    emu.memory.write(DATA, pattern(0x3000, 4));
    submit(
      { opcode: DMAE_OP.COPY_TO_DEVICE, length: 0x3000, src: DATA, dst: 0x1000, cookie: 1 },
      { opcode: DMAE_OP.FILL, length: 0x800, dst: 0x8000, src: 0x01020304, cookie: 2 },
      { opcode: 0x42, length: 0, cookie: 3 },
    );
    dev.step(2);
    submit(
      { opcode: DMAE_OP.CHECKSUM, length: 0x3000, src: 0x1000, cookie: 4 },
      { opcode: DMAE_OP.COPY_FROM_DEVICE, length: 0x100, src: 0x8000, dst: DATA + 0x10000, cookie: 5 },
    );
  }

  it('round-trips: the destination has the same digest and continues the work in flight identically', async () => {
    busy();
    dev.quiesce();
    const blob = dev.saveState();
    expect(blob.length).toBe(DMAE_STATE_BYTES);
    expect(dev.stateBytes).toBe(DMAE_STATE_BYTES);
    const d = await destination(emu);
    expect(d.dev.digest()).not.toBe(dev.digest());
    d.dev.restoreState(blob);
    for (let off = 0; off < DEVMEM_BYTES; off += 0x4000) d.dev.writeDeviceMemory(off, dev.deviceMemoryView(off, 0x4000));
    expect(() => dev.deviceMemoryView(DEVMEM_BYTES - 4, 8)).toThrow(RangeError);
    expect(() => dev.readDeviceMemory(-1, 1)).toThrow(RangeError);
    expect(() => d.dev.writeDeviceMemory(DEVMEM_BYTES, new Uint8Array(1))).toThrow(RangeError);
    expect(d.dev.digest()).toBe(dev.digest());
    expect(d.dev.saveState()).toEqual(blob);
    for (let off = 0; off < 0x100; off += 4) {
      if (off !== DMAE_REG.STATUS) expect(d.emu.hw.mmioRead(REGS + off, 4), `0x${off.toString(16)}`).toBe(rd(off));
    }
    // STATUS shows the migration driver's quiesce, which is not device state
    expect(rd(DMAE_REG.STATUS)).toBe(DMAE_STATUS_ENABLED | DMAE_STATUS_BUSY | DMAE_STATUS_QUIESCED);
    expect(d.emu.hw.mmioRead(REGS + DMAE_REG.STATUS, 4)).toBe(DMAE_STATUS_ENABLED | DMAE_STATUS_BUSY);

    // both continue: same completions, same memory, same digest
    dev.resume();
    expect(dev.run()).toBe(3);
    expect(d.dev.run()).toBe(3);
    expect(same(d.emu.memory.read(0, emu.memory.size), emu.memory.read(0, emu.memory.size))).toBe(true);
    expect(d.dev.digest()).toBe(dev.digest());
    expect(reap().map((c) => [Number(c.cookie), c.status])).toEqual([[1, 0], [2, 0], [3, 1], [4, 0], [5, 0]]);
  });

  it('a restored INTx cause drives the destination pin without counting a new interrupt', async () => {
    submit({ opcode: DMAE_OP.NOP, length: 0 });
    dev.run();
    expect(f.intxLevel).toBe(true);
    const d = await destination(emu);
    d.dev.restoreState(dev.saveState());
    expect(d.dev.fn.intxLevel).toBe(true);
    expect(d.log.intxLevels.get(BDF)).toBe(true);
    expect(d.dev.digest()).toBe(dev.digest());
  });

  it('quiesce stops DMA initiation but MMIO keeps working; resume continues', () => {
    enableMsix();
    dev.quiesce();
    expect(dev.quiesced).toBe(true);
    submit({ opcode: DMAE_OP.FILL, length: 4, dst: 0, src: 0x11111111 });
    expect(rd(DMAE_REG.SQ_TAIL)).toBe(1);
    wr(DMAE_REG.SCRATCH, 5);
    expect(rd(DMAE_REG.SCRATCH)).toBe(5);
    expect(rd(DMAE_REG.STATUS) & DMAE_STATUS_QUIESCED).toBe(DMAE_STATUS_QUIESCED);
    const before = dev.digest();
    expect(dev.run()).toBe(0);
    expect(dev.digest()).toBe(before);
    dev.resume();
    expect(dev.run()).toBe(1);
    expect(log.messages).toHaveLength(1);
    expect(hw.mmioRead(DEVMEM, 4)).toBe(0x11111111);
  });

  describe('malformed blobs are refused and change nothing', () => {
    let good: Uint8Array;
    let digest: string;
    let blob: Uint8Array;
    const refuse = (b: Uint8Array, msg: RegExp) => {
      expect(() => dev.restoreState(b)).toThrow(DmaEngineStateError);
      expect(() => dev.restoreState(b)).toThrow(msg);
      expect(dev.digest()).toBe(digest);
      expect(dev.saveState()).toEqual(blob);
    };
    /** A blob from the state with one field changed and the CRC fixed up. */
    const withField = (at: number, v: number) => {
      const b = good.slice();
      const dv = new DataView(b.buffer);
      dv.setUint32(at, v, true);
      dv.setUint32(b.length - 4, crc32(b, 0, b.length - 4), true);
      return b;
    };

    beforeEach(async () => {
      busy();
      const other = await destination(emu);
      good = other.dev.saveState(); // a valid blob of a different state
      digest = dev.digest();
      blob = dev.saveState();
    });

    it('truncated at every length, oversized, and not bytes at all', () => {
      for (let n = 0; n < good.length; n++) refuse(good.subarray(0, n), /truncated|length field/);
      const big = new Uint8Array(good.length + 1);
      big.set(good);
      refuse(big, /oversized/);
      refuse(new Uint8Array(1 << 20), /magic/);
      expect(() => dev.restoreState('nope' as unknown as Uint8Array)).toThrow(/Uint8Array/);
    });

    it('every single corrupted byte is caught', () => {
      for (let i = 0; i < good.length; i++) {
        const b = good.slice();
        b[i] ^= 0x40;
        expect(() => dev.restoreState(b), `byte ${i}`).toThrow(DmaEngineStateError);
      }
      expect(dev.digest()).toBe(digest);
    });

    it('header checks: magic, version, flags, length field, identity, device memory size', () => {
      const hdr = (at: number, bytes: number[]) => {
        const b = good.slice();
        b.set(bytes, at);
        new DataView(b.buffer).setUint32(b.length - 4, crc32(b, 0, b.length - 4), true);
        return b;
      };
      refuse(hdr(0, [0x44, 0x4d, 0x41, 0x46]), /magic/);
      refuse(hdr(4, [2, 0]), /version 2/);
      refuse(hdr(6, [1, 0]), /flags/);
      refuse(hdr(8, [0x81, 0, 0, 0]), /length field/);
      refuse(hdr(12, [0x86, 0x80]), /saved from device 8086:00f0/);
      refuse(hdr(14, [0xf1, 0x00]), /1b36:00f1/);
      refuse(hdr(16, [2]), /rev 02/);
      refuse(hdr(17, [1]), /reserved/);
      refuse(hdr(20, [0, 0, 2, 0]), /device memory/);
    });

    it('fields outside what the registers can hold', () => {
      const F = (i: number) => 0x18 + 4 * i; // narrow fields before the counters
      refuse(withField(F(0), 2), /control/);
      refuse(withField(F(1), 8), /intStatus/);
      refuse(withField(F(2), 0x10), /intMask/);
      refuse(withField(F(3), 0x10000), /coalesce/);
      refuse(withField(F(5), 0x1001), /sqBaseLo/);
      refuse(withField(F(7), 16), /sqSizeLog2/);
      refuse(withField(F(8), 1), /sqTail .* outside a ring of 1/); // the other device's rings are unset
      refuse(withField(F(10), 8), /cqBaseLo/);
      refuse(withField(F(15), 2), /cqPhase/);
      refuse(withField(0x18 + 16 * 4 + 4, 0x200000), /completed .* exceeds 2\^53/);
      refuse(withField(0x18 + 16 * 4 + 16 + 4 * 3, 8), /pendingMessages/);
      refuse(withField(0x18 + 16 * 4 + 16 + 4 * 4, 2), /fault/);
    });

    it('a blob from a device with other device memory is foreign', async () => {
      const e = await createEmulator();
      const g = dmaEngineOf(e.hw.addDmaEngine(BDF, { deviceMemoryBytes: DEVMEM_BYTES * 2 }))!;
      expect(() => g.restoreState(blob)).toThrow(/device memory/);
      refuse(g.saveState(), /device memory/);
    });
  });
});

describe('reset', () => {
  beforeEach(async () => {
    await machine();
    bringUp();
  });

  async function powerOnDigest(): Promise<string> {
    const e = await createEmulator();
    return dmaEngineOf(e.hw.addDmaEngine(BDF, { deviceMemoryBytes: DEVMEM_BYTES }))!.digest();
  }

  function work(): void {
    submit({ opcode: DMAE_OP.FILL, length: 0x100, dst: 0x10, src: 0xabcdef01 });
    dev.run();
    wr(DMAE_REG.SCRATCH, 77);
    hw.mmioWrite(DEVMEM + 0x4000, 4, 1);
    expect(f.intxLevel).toBe(true);
  }

  const resets: [string, () => void][] = [
    ['FLR', () => hw.configWrite(BDF, cap(0x10) + 8, 2, 0x8000 | hw.configRead(BDF, cap(0x10) + 8, 2))],
    ['D3hot -> D0', () => {
      hw.configWrite(BDF, cap(0x01) + 4, 2, 3);
      hw.configWrite(BDF, cap(0x01) + 4, 2, 0);
    }],
    ['bus reset', () => f.reset('bus')],
  ];
  for (const [name, doReset] of resets) {
    it(`${name} returns registers, counters and device memory to power-on`, async () => {
      work();
      doReset();
      expect(dev.digest()).toBe(await powerOnDigest());
      expect(f.intxLevel).toBe(false);
      programBar(hw, BDF, 0, REGS);
      programBar(hw, BDF, 2, DEVMEM, true);
      hw.configWrite(BDF, 0x04, 2, CMD_MEM | CMD_MASTER);
      for (const row of REG_TABLE(DEVMEM_BYTES)) expect(rd(DMAE_REG[row.name]), row.name).toBe(row.init);
      expect(hw.mmioRead(DEVMEM + 0x10, 4)).toBe(0);
    });
  }

  it('a secondary bus reset through a bridge resets the device behind it', async () => {
    const e = await createEmulator();
    e.hw.addBridge('0000:00:01.0', { secondaryBus: 1 });
    const g = e.hw.addDmaEngine('0000:01:00.0', { deviceMemoryBytes: DEVMEM_BYTES });
    const m = dmaEngineOf(g)!;
    m.writeDeviceMemory(0, pattern(16));
    const fresh = await powerOnDigest();
    expect(m.digest()).not.toBe(fresh);
    e.hw.configWrite('0000:00:01.0', 0x3e, 2, 0x40);
    expect(m.digest()).toBe(fresh);
  });

  it('in D3hot the device does no work', () => {
    submit({ opcode: DMAE_OP.NOP, length: 0 });
    hw.configWrite(BDF, cap(0x01) + 4, 2, 3); // D3hot
    expect(dev.run()).toBe(0);
  });
});

describe('properties', () => {
  const OTHER = '0000:00:07.0';
  const PEER = '0000:00:08.0';

  const op = fc.oneof(
    fc.record({
      kind: fc.constant('mmio' as const),
      off: fc.oneof(fc.integer({ min: 0, max: 0x1fff }), fc.constantFrom(...Object.values(DMAE_REG)), fc.integer({ min: 0, max: DEVMEM_BYTES - 1 }).map((o) => 0x10000 + o)),
      size: fc.constantFrom(1 as const, 2 as const, 4 as const),
      value: fc.integer({ min: 0, max: 0xffffffff }),
      read: fc.boolean(),
    }),
    fc.record({
      kind: fc.constant('desc' as const),
      index: fc.integer({ min: 0, max: RING - 1 }),
      opcode: fc.oneof(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 255 })),
      flags: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 255 })),
      length: fc.oneof(fc.integer({ min: 0, max: 0x3000 }), fc.integer({ min: 0, max: 0xffffffff })),
      src: fc.oneof(fc.integer({ min: 0, max: 0x80000 }).map(BigInt), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })),
      dst: fc.oneof(fc.integer({ min: 0, max: 0x80000 }).map(BigInt), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })),
    }),
    fc.record({ kind: fc.constant('tick' as const), budget: fc.integer({ min: 0, max: 20 }) }),
    fc.record({ kind: fc.constant('command' as const), value: fc.integer({ min: 0, max: 0xffff }) }),
    fc.record({ kind: fc.constant('migration' as const), which: fc.integer({ min: 0, max: 5 }) }),
  );

  /** One machine for every run (building one per run costs more than the run): fresh functions, zeroed memory. */
  let shared: Emulator | null = null;
  async function reuseMachine(): Promise<void> {
    if (shared === null) shared = await createEmulator({ memoryBytes: 1 << 20 });
    emu = shared;
    hw = emu.hw;
    for (const b of [BDF, OTHER, PEER]) hw.removeFunction(b);
    emu.memory.bytes.fill(0);
    log = new InterruptLog();
    hw.setInterruptSink(log);
    f = hw.addDmaEngine(BDF, { deviceMemoryBytes: DEVMEM_BYTES });
    dev = dmaEngineOf(f)!;
    sqTail = 0;
    cqHead = 0;
    phase = 1;
  }

  it('random register writes, descriptors and ticks never throw and never touch another function', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 60 }), async (ops) => {
        await reuseMachine();
        bringUp();
        const other = hw.addEndpoint(OTHER, {
          vendorId: 0x8086, deviceId: 0x1533, classCode: 0x020000, interruptPin: 1,
          bars: [{ kind: 'mem32', size: 0x1000 }],
          capabilities: [{ id: 'msix', vectors: 2, tableBar: 0, tableOffset: 0x800, pbaBar: 0, pbaOffset: 0xc00 }, { id: 'pcie', flr: true }],
        });
        programBar(hw, OTHER, 0, 0xfd000000);
        hw.configWrite(OTHER, 0x04, 2, CMD_MEM | CMD_MASTER);
        hw.mmioWrite(0xfd000010, 4, 0x12345678);
        const peer = dmaEngineOf(hw.addDmaEngine(PEER, { deviceMemoryBytes: DEVMEM_BYTES }))!;
        peer.writeDeviceMemory(0, pattern(DEVMEM_BYTES, 2));
        const otherCfg = configSnapshot(hw, OTHER);
        const peerCfg = configSnapshot(hw, PEER);
        const peerDigest = peer.digest();
        for (const o of ops) {
          switch (o.kind) {
            case 'mmio': {
              const addr = o.off >= 0x10000 ? DEVMEM + (o.off - 0x10000) : REGS + o.off;
              if (o.read) expect(hw.mmioRead(addr, o.size)).toBeLessThanOrEqual(0xffffffff);
              else hw.mmioWrite(addr, o.size, o.value);
              break;
            }
            case 'desc':
              emu.memory.write(SQ + o.index * 32, encodeDescriptor({ opcode: o.opcode, flags: o.flags, length: o.length, src: o.src, dst: o.dst, cookie: o.index }));
              break;
            case 'tick':
              for (const fn of hw.functions()) fn.model.tick?.(fn, o.budget);
              break;
            case 'command':
              hw.configWrite(BDF, 0x04, 2, o.value);
              break;
            case 'migration':
              [() => dev.quiesce(), () => dev.resume(), () => dev.restoreState(dev.saveState()), () => f.reset('flr'), () => bringUp(), () => dev.startDirtyTracking()][o.which]();
              break;
          }
        }
        // the device's state is always one its own restore accepts
        const d = dev.digest();
        dev.restoreState(dev.saveState());
        expect(dev.digest()).toBe(d);
        // nothing reached the other functions
        expect(same(configSnapshot(hw, OTHER), otherCfg)).toBe(true);
        expect(hw.mmioRead(0xfd000010, 4)).toBe(0x12345678);
        expect(same(configSnapshot(hw, PEER), peerCfg)).toBe(true);
        expect(peer.digest()).toBe(peerDigest);
        expect(log.messages.every((m) => m.source === BDF)).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it('any byte string fed to restore gives an error or a device whose state round-trips', async () => {
    await machine();
    bringUp();
    const valid = dev.saveState();
    await fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          fc.tuple(fc.integer({ min: 0, max: valid.length - 1 }), fc.integer({ min: 0, max: 255 })).map(([i, b]) => {
            const x = valid.slice();
            x[i] = b;
            return x;
          }),
        ),
        (bytes) => {
          const before = dev.digest();
          try {
            dev.restoreState(bytes);
          } catch (e) {
            expect(e).toBeInstanceOf(DmaEngineStateError);
            expect(dev.digest()).toBe(before);
            return;
          }
          expect(dev.saveState()).toEqual(bytes);
        },
      ),
      { numRuns: 500 },
    );
  });
});
