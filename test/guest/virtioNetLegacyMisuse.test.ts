// The legacy virtio-net driver against devices and situations that are not the happy path: a queue
// that does not exist (QUEUE_NUM 0), a queue already active, a device without queues, a device
// offering features the driver does not implement, NEEDS_RESET (reported, then reset and recovered),
// a used ring with an id the driver never posted, INTx interrupts that are not ours, accesses
// outside the I/O BAR.
import { describe, expect, it } from 'vitest';
import {
  VIRTIO_CONFIG_S_NEEDS_RESET, VIRTIO_F_RING_EVENT_IDX, VIRTIO_NET_F_CTRL_VQ, VIRTIO_NET_F_MAC, VIRTIO_NET_F_MQ, VIRTIO_NET_F_MRG_RXBUF,
  VIRTIO_NET_F_STATUS,
} from '../../src/hw/devices/virtio/virtioSpec.js';
import { DriverError } from '../../src/guest/driverError.js';
import { portLegacyIo } from '../../src/guest/legacyIo.js';
import { LegacyIoRecorder } from '../../src/guest/legacyIoRecorder.js';
import { guestIrqProvider } from '../../src/guest/virtioIrqProvider.js';
import { VirtioPciLegacyDevice } from '../../src/guest/virtioPciLegacyDevice.js';
import { bindNic, legacyMachine, PEER_IP, service } from './legacyVirtioMachine.js';
import type { LegacyMachine } from './legacyVirtioMachine.js';

const NET = ((1 << VIRTIO_NET_F_MAC) | (1 << VIRTIO_NET_F_STATUS)) >>> 0;

/** The virtio layer alone over the stand-in's BAR0, recorded, registered and with features negotiated. */
function rawDevice(m: LegacyMachine): { dev: VirtioPciLegacyDevice; rec: LegacyIoRecorder } {
  const f = m.fns[0];
  const bar0 = f.bars.find((b) => b.index === 0)!;
  const rec = new LegacyIoRecorder(portLegacyIo(m.guest.io, bar0.address!, bar0.size));
  const dev = new VirtioPciLegacyDevice(rec, m.guest.memory, m.guest.dma, guestIrqProvider(m.guest, f));
  dev.register();
  dev.negotiate(NET);
  rec.take();
  return { dev, rec };
}

const cb = () => {};

describe('queues that are not there', () => {
  it('QUEUE_NUM reads 0 for a queue beyond the device\'s; find_vqs fails with ENOENT after every policy and undoes all of it', async () => {
    const m = await legacyMachine({ msix: true });
    const { dev, rec } = rawDevice(m);
    expect(dev.transport.getQueueSize(2)).toBe(0);
    expect(dev.transport.getQueueSize(0xffff)).toBe(0);
    rec.take();
    let err: unknown;
    try {
      dev.findVqs([
        { name: 'input.0', callback: cb },
        { name: 'output.0', callback: cb },
        { name: 'control', callback: null },
      ]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DriverError);
    expect((err as DriverError).code).toBe('ENOENT');
    const log = rec.take();
    // four attempts (per-vq vectors, slow-path share, shared vector, INTx), each stopped at queue 2
    const probes = log.filter((a, i) => a.op === 'W' && a.off === 14 && a.value === 2 && log[i + 1]?.off === 12);
    expect(probes).toHaveLength(4);
    for (let i = 0; i < log.length; i++) if (log[i].op === 'W' && log[i].off === 14 && log[i].value === 2) expect(log[i + 1]).toMatchObject({ op: 'R', off: 12, value: 0 });
    // each MSI-X attempt ends with the config vector released; the shared attempt put both queues on vector 1
    expect(log.filter((a) => a.op === 'W' && a.off === 20 && a.value === 0xffff)).toHaveLength(3);
    const queueVectors = log.filter((a) => a.op === 'W' && a.off === 22 && a.value !== 0xffff).map((a) => a.value);
    expect(queueVectors).toEqual([1, 2, 1, 2, 1, 1]);
    // nothing left behind: queues inactive, MSI-X and INTx released, the interface usable afterwards
    const vf = m.standIns[0].device;
    expect(vf.queues.slice(0, 2).map((q) => q.legacyPfn)).toEqual([0, 0]);
    expect(dev.irqMode).toBeNull();
    expect(dev.msixEnabled).toBe(false);
    expect(m.standIns[0].fn!.msixEnabled).toBe(false);
    const vqs = dev.findVqs([
      { name: 'input.0', callback: cb },
      { name: 'output.0', callback: cb },
    ]);
    expect(vqs.map((q) => q!.index)).toEqual([0, 1]);
    expect(dev.irqMode).toBe('msix-each');
  });

  it('a queue the device says is already active (QUEUE_PFN set) is refused with ENOENT', async () => {
    const m = await legacyMachine({ msix: false });
    const { dev } = rawDevice(m);
    dev.transport.setQueueAddress(1, 0x123);
    expect(() => dev.findVqs([{ name: 'input.0', callback: cb }, { name: 'output.0', callback: cb }])).toThrow(/already active/);
    // queue 0 was set up and torn down again; queue 1 keeps what was there
    expect(m.standIns[0].device.queues[0].legacyPfn).toBe(0);
    expect(m.standIns[0].device.queues[1].legacyPfn).toBe(0x123);
  });

  it('a device reporting no queues fails probe: FAILED in the status, no interrupt left wired', async () => {
    const m = await legacyMachine({ msix: true, noQueues: true });
    let err: unknown;
    try {
      bindNic(m);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DriverError);
    expect((err as DriverError).code).toBe('ENOENT');
    expect(m.standIns[0].device.status).toBe(0x83); // ACKNOWLEDGE | DRIVER | FAILED
    expect(m.standIns[0].fn!.msixEnabled).toBe(false);
    expect(m.guest.irq.service()).toBe(0);
  });
});

describe('feature negotiation with a device offering more than the driver implements', () => {
  it('only MAC, STATUS and the ring\'s INDIRECT_DESC are accepted; EVENT_IDX, MRG_RXBUF, CTRL_VQ, MQ are not', async () => {
    const extra = (1 << VIRTIO_F_RING_EVENT_IDX) | (1 << VIRTIO_NET_F_MRG_RXBUF) | (1 << VIRTIO_NET_F_CTRL_VQ) | (1 << VIRTIO_NET_F_MQ);
    const m = await legacyMachine({ msix: true, extraHostFeatures: extra });
    const nic = bindNic(m);
    expect(nic.pci.driver.dev.deviceFeatures).toBe((0x10010020 | extra) >>> 0);
    expect(nic.pci.driver.features).toBe(0x10010020);
    expect(m.standIns[0].device.netHdrLen).toBe(10);
    nic.pci.driver.open();
    nic.stack.ping(PEER_IP, 1);
    service(m, [nic]);
    expect(nic.stack.replies).toHaveLength(1);
  });

  it('a driver table without STATUS takes the link as up and never reads the status field', async () => {
    const m = await legacyMachine({ msix: true });
    const nic = bindNic(m, 0, { features: [VIRTIO_NET_F_MAC] });
    nic.pci.driver.open();
    expect(nic.pci.driver.features).toBe(0x10000020);
    expect(nic.pci.driver.carrier).toBe(true);
    expect(nic.rec.log.some((a) => a.off === 30 || a.off === 31)).toBe(false);
  });
});

describe.each([
  { mode: 'MSI-X', msix: true },
  { mode: 'INTx', msix: false },
])('NEEDS_RESET on $mode', ({ msix }) => {
  it('a transmit buffer outside guest memory: the device asks for a reset, the driver reports it, resets and comes back', async () => {
    const m = await legacyMachine({ msix });
    const nic = bindNic(m);
    const d = nic.pci.driver;
    const vf = m.standIns[0].device;
    d.open();
    nic.stack.ping(PEER_IP, 1);
    service(m, [nic]);
    expect(d.errors).toEqual([]);
    // a guest bug: a buffer that runs past the end of guest memory, then a kick
    const sq = d.txQueue!;
    expect(sq.add([{ addr: m.emu.memory.size - 8, len: 64 }], [], 0)).toBe(true);
    d.dev.transport.notify(sq.index);
    expect(vf.status & VIRTIO_CONFIG_S_NEEDS_RESET).toBe(VIRTIO_CONFIG_S_NEEDS_RESET);
    nic.rec.take();
    service(m, [nic]);
    const errors = [...d.errors];
    expect(errors).toEqual([expect.stringMatching(/device needs reset \(status 0x47\)/)]);
    expect(d.stats.resets).toBe(1);
    const log = nic.rec.take();
    // noticed through the status register after the config interrupt (ISR bit 1 on INTx)
    const first = msix ? log[0] : log[1];
    if (!msix) expect(log[0]).toMatchObject({ op: 'R', off: 19, value: 0x02 });
    expect(first).toMatchObject({ op: 'R', size: 1, off: 18, value: 0x47 });
    // then reset, and the device brought up again through the whole handshake
    const statusWrites = log.filter((a) => a.op === 'W' && a.off === 18).map((a) => a.value);
    expect(statusWrites).toEqual([0x00, 0x00, 0x01, 0x03, 0x07]);
    expect(log.filter((a) => a.op === 'W' && a.off === 4).map((a) => a.value)).toEqual([0x10010020]);
    expect(vf.status).toBe(0x07);
    expect(vf.lastError).toBe('');
    expect(d.irqMode).toBe(msix ? 'msix-each' : 'intx');
    expect(d.running).toBe(true);
    // and it works: the same rings, a full receive queue, pings answered
    expect(d.txQueue!.base).toBe(sq.base);
    expect(d.rxQueue!.numFree).toBe(0);
    for (let seq = 2; seq <= 5; seq++) nic.stack.ping(PEER_IP, seq);
    service(m, [nic]);
    expect(nic.stack.replies.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(d.errors).toEqual(errors);
  });
});

describe('rings the device corrupts, interrupts that are not ours, bad accesses', () => {
  it('a used entry naming a descriptor the driver never posted breaks that queue only (BAD_RING), reported once', async () => {
    const m = await legacyMachine({ msix: true });
    const nic = bindNic(m);
    const d = nic.pci.driver;
    d.open();
    const rq = d.rxQueue!;
    const v = m.emu.memory.view;
    // device-side corruption: used->ring[0] = { id 999, len 64 }, used->idx = 1
    v.setUint32(rq.usedAddr + 4, 999, true);
    v.setUint32(rq.usedAddr + 8, 64, true);
    v.setUint16(rq.usedAddr + 2, 1, true);
    m.standIns[0].fn!.raiseMsix(1);
    service(m, [nic]);
    expect(rq.broken).toBe(true);
    expect(d.errors).toEqual(['receive queue broken: id 999 out of range']);
    expect(d.stats.rxPackets).toBe(0);
    // transmit still works
    const out: Uint8Array[] = [];
    m.peer.detach();
    m.pf.uplink.attach((f) => out.push(f));
    expect(nic.stack.arpRequest(PEER_IP)).toBe(true);
    expect(out).toHaveLength(1);
    // a second interrupt on the broken queue changes nothing
    m.standIns[0].fn!.raiseMsix(1);
    service(m, [nic]);
    expect(d.errors).toHaveLength(1);
  });

  it('INTx with the ISR clear is not ours (IRQ_NONE), and costs one ISR read', async () => {
    const m = await legacyMachine({ msix: false });
    const nic = bindNic(m);
    nic.pci.driver.open();
    nic.rec.take();
    expect(nic.pci.driver.dev.intxInterrupt()).toBe(false);
    expect(nic.rec.take().map((a) => [a.op, a.size, a.off, a.value])).toEqual([['R', 1, 19, 0]]);
    expect(nic.pci.driver.dev.stats.intxNone).toBe(1);
  });

  it('the I/O window refuses accesses beyond BAR0 instead of reaching other ports', async () => {
    const m = await legacyMachine({ msix: true });
    const bar0 = m.fns[0].bars[0];
    const io = portLegacyIo(m.guest.io, bar0.address!, bar0.size);
    expect(() => io.read(31, 2)).toThrow(RangeError);
    expect(() => io.write(32, 1, 0)).toThrow(RangeError);
    expect(() => io.read(-1, 1)).toThrow(RangeError);
    expect(io.read(18, 1)).toBe(0);
  });

  it('accesses spanning registers (what the admin commands cannot carry) read all-ones and are dropped by the stand-in', async () => {
    const m = await legacyMachine({ msix: false });
    const bar0 = m.fns[0].bars[0];
    const io = portLegacyIo(m.guest.io, bar0.address!, bar0.size);
    expect(io.read(12, 4)).toBe(0xffffffff); // queue_num and queue_sel in one access
    io.write(16, 4, 0x07070000); // queue_notify, status and ISR in one access
    expect(m.standIns[0].device.status).toBe(0);
    expect(m.standIns[0].refused).toBe(2);
  });
});
