// End to end: a DMA engine doing real work is live-migrated from one emulator to another through
// dmae-vfio-pci, with the test playing the VMM on both sides (device state through the data fds,
// guest RAM copied by the pages the CPU and the device's DMA log say are dirty) and a guest driver
// that keeps submitting descriptors until the very end.
import { describe, expect, it } from 'vitest';
import {
  BDF, CQ, GuestDriver, MigState, PAGE, VFIO, dmaLoggingReport, dmaLoggingStart, dmaLoggingStop, dmaeMachine, expectErrno, getState,
  precopyInfo, readAll, rng, setState, writeAll,
} from './dmaeHarness.js';
import type { Machine } from './dmaeHarness.js';
import { DMAE_REG } from '../../../src/hw/devices/dmaEngine/index.js';
import { dmaeStreamFormat } from '../../../src/host/variants/dmaEngine/index.js';

const MEM = 1 << 20;
const DEVMEM = 256 << 10;
const PAGES = DEVMEM / PAGE;

function copyPages(from: Machine, to: Machine, pages: Iterable<number>): void {
  for (const p of pages) to.emu.memory.write(p, from.emu.memory.read(p, PAGE));
}

const sameBytes = (a: Uint8Array, b: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));

describe('dmae-vfio-pci: live migration between two emulators', () => {
  it('pre-copy passes while the guest keeps the engine busy, then STOP_COPY; the destination carries on where the source stopped', async () => {
    const src = await dmaeMachine({ memoryBytes: MEM, deviceMemoryBytes: DEVMEM });
    const dst = await dmaeMachine({ memoryBytes: MEM, deviceMemoryBytes: DEVMEM });
    const guest = new GuestDriver(rng(42));
    guest.bringUp(src);
    for (let i = 0; i < 20; i++) {
      guest.submit(6, DEVMEM);
      guest.run(2);
    }
    expect(guest.completed.length).toBeGreaterThan(50);

    // the VMM starts migrating RAM: everything once, then what gets dirty, from the CPU's and the
    // device's side (the latter through DMA logging)
    dst.emu.memory.write(0, src.emu.memory.bytes);
    guest.takeGuestDirty();
    guest.takeDeviceWrote();
    expect(dmaLoggingStart(src.file, [{ iova: 0n, length: BigInt(MEM) }])).toBe(4096n);

    // the destination device waits in RESUMING and takes the stream in whatever pieces arrive
    const dfd = setState(dst.file, MigState.RESUMING);
    expect(dfd).toBeGreaterThan(2);
    const r = rng(7);
    const forward = (bytes: Uint8Array) => writeAll(dst.emu, dfd, bytes, Array.from({ length: 64 }, () => 1 + Math.floor(r() * 9000)));

    const sfd = setState(src.file, MigState.PRE_COPY);
    expect(sfd).toBeGreaterThan(2);
    const initialBytes = dmaeStreamFormat.STREAM_HEADER_BYTES + dmaeStreamFormat.pagesSectionBytes(PAGES, PAGE);
    expect(precopyInfo(src.emu, sfd)).toMatchObject({ initial: BigInt(initialBytes), dirty: 0n });

    // pass 0: the initial image, read in pieces while the device keeps running in between
    const pass0: Uint8Array[] = [];
    for (let i = 0; i < 4; i++) {
      const b = src.emu.host.fd(sfd).read(24 << 10);
      pass0.push(b.slice());
      forward(b);
      guest.submit(3, DEVMEM);
      guest.run(1);
      const info = precopyInfo(src.emu, sfd);
      expect(info.initial).toBe(BigInt(initialBytes - pass0.reduce((n, p) => n + p.length, 0)));
    }
    const rest0 = readAll(src.emu, sfd, 32 << 10);
    forward(rest0);
    const sent = [pass0.reduce((n, p) => n + p.length, 0) + rest0.length];
    expect(sent[0]).toBeGreaterThanOrEqual(initialBytes);
    expect(precopyInfo(src.emu, sfd)).toMatchObject({ initial: 0n, dirty: 0n });

    // more passes: each sends only the device-memory pages written since the previous one
    for (let pass = 1; pass <= 4; pass++) {
      guest.submit(10, DEVMEM);
      guest.run(3);
      // DMA logging reports exactly the guest pages the device wrote (completions, COPY_FROM_DEVICE)
      const wrote = guest.takeDeviceWrote();
      expect(wrote).toContain(Math.floor(CQ / PAGE) * PAGE);
      expect(dmaLoggingReport(src.file, 0n, BigInt(MEM))).toEqual(wrote);
      expect(dmaLoggingReport(src.file, 0n, BigInt(MEM))).toEqual([]); // a report clears what it reports
      copyPages(src, dst, new Set([...wrote, ...guest.takeGuestDirty()]));
      const info = precopyInfo(src.emu, sfd);
      expect(info.initial).toBe(0n);
      expect(info.dirty).toBeGreaterThan(0n);
      const bytes = readAll(src.emu, sfd, 16 << 10);
      forward(bytes);
      sent.push(bytes.length);
      expect(bytes.length).toBeGreaterThan(0);
      expect(bytes.length).toBeLessThan(sent[0] / 2);
      expect(precopyInfo(src.emu, sfd)).toMatchObject({ initial: 0n, dirty: 0n });
      expect(src.emu.host.fd(sfd).read(4096).length).toBe(0); // nothing ready: an empty read
    }

    // descriptors in flight at the switch-over: doorbell rung, never processed on the source
    guest.submit(12, DEVMEM);
    expect(setState(src.file, MigState.PRE_COPY_P2P)).toBe(-1);
    // RUNNING_P2P semantics: MMIO still works (the doorbell moves), DMA does not happen
    guest.submit(3, DEVMEM);
    expect(guest.readReg(DMAE_REG.SQ_TAIL)).toBe(guest.sqTail);
    expect(src.engine.step(100)).toBe(0);
    const inFlight = guest.outstanding;
    expect(inFlight).toBe(15);
    // STOP_COPY continues the same stream: the rest and the final register state
    expect(setState(src.file, MigState.STOP_COPY)).toBe(-1);
    const last = readAll(src.emu, sfd, 1 << 20);
    forward(last);
    expect(src.emu.host.fd(sfd).read(4096).length).toBe(0); // end of stream
    setState(src.file, MigState.STOP);
    expectErrno(() => src.emu.host.fd(sfd).read(4096), 'ENODEV');

    // the VMM's last RAM round: whatever the guest and the device dirtied since the last copy
    const finalWrote = guest.takeDeviceWrote();
    expect(dmaLoggingReport(src.file, 0n, BigInt(MEM))).toEqual(finalWrote);
    dmaLoggingStop(src.file);
    copyPages(src, dst, new Set([...finalWrote, ...guest.takeGuestDirty()]));
    expect(sameBytes(dst.emu.memory.bytes, src.emu.memory.bytes)).toBe(true);

    const digest = src.engine.digest();
    const irqsAtStop = guest.readReg(DMAE_REG.IRQS);
    const signalsAtStop = guest.signals[0] + guest.signals[1];

    // destination: RESUMING -> STOP applies the stream; the device state is the source's
    setState(dst.file, MigState.STOP);
    expect(dst.engine.digest()).toBe(digest);
    // the source's guest had MSI-X vectors 0 and 1 wired; until this VMM wires them, no RUNNING
    const e = expectErrno(() => setState(dst.file, MigState.RUNNING), 'EINVAL');
    expect(e.message).toMatch(/SET_IRQS/);
    expect(getState(dst.file)).toBe(MigState.RUNNING_P2P);
    expect(dst.engine.step(100)).toBe(0);
    guest.moveTo(dst);
    guest.wireInterrupts(dst);
    expect(setState(dst.file, MigState.RUNNING)).toBe(-1);
    // the user's config came along (memory decode and bus master on, through the core's writes)
    expect(dst.client.configRead(0x04, 2) & 0x6).toBe(0x6);

    // the descriptors in flight complete on the destination
    guest.run(10, 16);
    expect(guest.outstanding).toBe(0);
    // no completion lost or duplicated
    expect(new Set(guest.completed).size).toBe(guest.completed.length);
    expect([...guest.completed].sort((a, b) => (a < b ? -1 : 1))).toEqual([...guest.submitted.keys()].sort((a, b) => (a < b ? -1 : 1)));
    expect(guest.readReg(DMAE_REG.COMPLETED_LO)).toBe(guest.submitted.size);
    // no interrupt lost or duplicated: every message the device counted reached exactly one eventfd
    const irqs = guest.readReg(DMAE_REG.IRQS);
    expect(irqs).toBeGreaterThan(irqsAtStop);
    expect(guest.signals[0] + guest.signals[1]).toBe(irqs);
    expect(signalsAtStop).toBe(irqsAtStop);

    // and the engine keeps working there
    for (let i = 0; i < 5; i++) {
      guest.submit(8, DEVMEM);
      guest.run(3);
    }
    expect(guest.outstanding).toBe(0);
    expect(guest.signals[0] + guest.signals[1]).toBe(guest.readReg(DMAE_REG.IRQS));

    // the source is untouched by all of it, still stopped
    expect(getState(src.file)).toBe(MigState.STOP);
    expect(src.engine.digest()).toBe(digest);
    expect(src.emu.host.pciDev(BDF).driver?.name).toBe('dmae-vfio-pci');
  });

  it('INTx: an interrupt automasked on the source (not yet unmasked by the guest) is not delivered again on the destination', async () => {
    const src = await dmaeMachine({ memoryBytes: MEM, deviceMemoryBytes: DEVMEM });
    const dst = await dmaeMachine({ memoryBytes: MEM, deviceMemoryBytes: DEVMEM });
    const c = src.client;
    c.configWrite(0x04, 2, 0x0006);
    let signals = 0;
    const wireIntx = (m: Machine) => {
      const e = m.emu.host.eventfd();
      e.onSignal(() => signals++);
      m.client.setIrqs(VFIO.PCI_INTX_IRQ_INDEX, VFIO.IRQ_SET_ACTION_TRIGGER, 0, { kind: 'eventfd', fds: [e.fd] });
    };
    wireIntx(src);
    c.writeRegion(0, DMAE_REG.SQ_BASE_LO, 4, 0x10000);
    c.writeRegion(0, DMAE_REG.SQ_SIZE, 4, 2);
    c.writeRegion(0, DMAE_REG.CQ_BASE_LO, 4, 0x20000);
    c.writeRegion(0, DMAE_REG.CQ_SIZE, 4, 2);
    c.writeRegion(0, DMAE_REG.CONTROL, 4, 1);
    src.emu.memory.write(0x10000, new Uint8Array(32)); // a NOP
    c.writeRegion(0, DMAE_REG.SQ_TAIL, 4, 1);
    src.engine.step(4);
    // the line rose: one signal, vfio-pci-core masked INTx until the guest unmasks it
    expect(signals).toBe(1);
    expect(src.vdev.irqs.ctx.get(0)!.masked).toBe(true);

    const stream = readAll(src.emu, setState(src.file, MigState.STOP_COPY));
    setState(src.file, MigState.STOP);
    dst.emu.memory.write(0, src.emu.memory.bytes);
    const fd = setState(dst.file, MigState.RESUMING);
    dst.client.configWrite(0x04, 2, 0x0006);
    wireIntx(dst); // the destination VMM's INTx setup, during RESUMING
    writeAll(dst.emu, fd, stream, 5000);
    setState(dst.file, MigState.RUNNING);
    expect(dst.engine.digest()).toBe(src.engine.digest());
    // the cause is still latched and the line high, but INTx is masked as it was: no second signal
    expect(dst.vdev.irqs.ctx.get(0)!.masked).toBe(true);
    dst.engine.step(4);
    expect(signals).toBe(1);
    // the guest handles it: acknowledge the cause, then the VMM unmasks; nothing pending, nothing fires
    dst.client.writeRegion(0, DMAE_REG.INT_STATUS, 4, 0x7);
    dst.client.setIrqs(VFIO.PCI_INTX_IRQ_INDEX, VFIO.IRQ_SET_ACTION_UNMASK, 0, { kind: 'none' }, 1);
    expect(signals).toBe(1);
    // the next completion interrupts once, on the destination
    dst.emu.memory.write(0x10020, new Uint8Array(32));
    dst.client.writeRegion(0, DMAE_REG.SQ_TAIL, 4, 2);
    dst.engine.step(4);
    expect(signals).toBe(2);
    expect(dst.client.readRegion(0, DMAE_REG.IRQS, 4)).toBe(2);
  });

  it('STOP_COPY only, then back again: the destination becomes the source', async () => {
    const a = await dmaeMachine({ memoryBytes: MEM, deviceMemoryBytes: DEVMEM });
    const b = await dmaeMachine({ memoryBytes: MEM, deviceMemoryBytes: DEVMEM });
    const guest = new GuestDriver(rng(3));
    guest.bringUp(a);
    guest.submit(20, DEVMEM);
    guest.run(2);
    guest.submit(10, DEVMEM); // in flight
    const there = (from: Machine, to: Machine) => {
      const stream = readAll(from.emu, setState(from.file, MigState.STOP_COPY));
      setState(from.file, MigState.STOP);
      to.emu.memory.write(0, from.emu.memory.bytes);
      const fd = setState(to.file, MigState.RESUMING);
      guest.moveTo(to);
      guest.wireInterrupts(to); // as QEMU does, while RESUMING
      writeAll(to.emu, fd, stream, 4093);
      expect(setState(to.file, MigState.RUNNING)).toBe(-1);
      expect(to.engine.digest()).toBe(from.engine.digest());
    };
    there(a, b);
    guest.run(4, 16);
    guest.submit(7, DEVMEM);
    there(b, a);
    guest.run(4, 16);
    expect(guest.outstanding).toBe(0);
    expect(new Set(guest.completed).size).toBe(guest.submitted.size);
    expect(guest.signals[0] + guest.signals[1]).toBe(guest.readReg(DMAE_REG.IRQS));
  });
});
