// The legacy virtio-net guest driver on a stand-in legacy function backed by a virtio-net VF: bring-up
// with MSI-X on and off, the MAC, frames both ways through the PF's embedded switch and uplink, ping
// of the loopback peer on MSI-X and on INTx, teardown.
import { describe, expect, it } from 'vitest';
import { ARP_REQUEST, BROADCAST_MAC, buildArp, parseIp, sameBytes } from '../../src/hw/devices/virtio/ethernetFrames.js';
import { formatMac, parseMac } from '../../src/hw/devices/virtio/netSwitch.js';
import { vfMac } from '../../src/hw/devices/virtio/virtioNetPf.js';
import { VIRTIO_MSI_NO_VECTOR } from '../../src/hw/devices/virtio/virtioSpec.js';
import { PCI_COMMAND, PCI_COMMAND_INTX_DISABLE, PCI_COMMAND_MASTER } from '../../src/hw/pciRegs.js';
import { DriverError } from '../../src/guest/driverError.js';
import { GOOD_PACKET_LEN } from '../../src/guest/virtioNetLegacyDriver.js';
import { isLegacyVirtioNet, probeVirtioNetLegacy } from '../../src/guest/virtioNetLegacyPci.js';
import { bindNic, guestBdf, legacyMachine, PEER_IP, PEER_MAC, service } from './legacyVirtioMachine.js';

const PF_MAC = parseMac('52:54:00:12:34:56');

/** An Ethernet frame of `len` bytes with an experimental EtherType and a counting payload. */
function frame(dst: Uint8Array, src: Uint8Array, len = 60, seed = 0): Uint8Array {
  const f = new Uint8Array(len);
  f.set(dst, 0);
  f.set(src, 6);
  f[12] = 0x88;
  f[13] = 0xb5;
  for (let i = 14; i < len; i++) f[i] = (i + seed) & 0xff;
  return f;
}

describe('bring-up', () => {
  it('MSI-X: a vector per queue plus the config vector, device config at 24, DRIVER_OK, legacy header', async () => {
    const m = await legacyMachine({ msix: true });
    expect(isLegacyVirtioNet(m.fns[0])).toBe(true);
    const nic = bindNic(m);
    const d = nic.pci.driver;
    const vf = m.standIns[0].device;
    expect(d.state).toBe('probed');
    expect(d.irqMode).toBe('msix-each');
    expect(d.dev.msixEnabled).toBe(true);
    expect(d.dev.transport.configOffset).toBe(24);
    expect(m.standIns[0].fn!.msixEnabled).toBe(true);
    expect(vf.status).toBe(0x07);
    expect(vf.legacy).toBe(true);
    expect(vf.driverFeaturesLo).toBe(0x10010020);
    expect(vf.driverFeaturesHi).toBe(0);
    expect(vf.netHdrLen).toBe(10);
    expect(vf.configVector).toBe(0);
    expect(vf.queues.slice(0, 2).map((q) => [q.enabled, q.msixVector, q.size])).toEqual([
      [true, 1, 256],
      [true, 2, 256],
    ]);
    // the legacy layout: descriptors, available ring, used ring on the next 4096-byte boundary
    const rq = d.rxQueue!;
    expect(vf.queues[0].descAddr).toBe(rq.base);
    expect(vf.queues[0].availAddr).toBe(rq.base + 16 * 256);
    expect(vf.queues[0].usedAddr).toBe(rq.base + 8192);
    expect(rq.usedAddr).toBe(rq.base + 8192);
    // probe leaves the link status for open
    expect(d.carrier).toBe(false);
    d.open();
    expect(d.carrier).toBe(true);
    expect(d.rxQueue!.numFree).toBe(0);
    expect(vf.queues[0].pending()).toBe(256);
  });

  it('MSI-X off (no capability): INTx with the ISR, vectors never written, device config at 20', async () => {
    const m = await legacyMachine({ msix: false });
    const nic = bindNic(m);
    const d = nic.pci.driver;
    expect(d.irqMode).toBe('intx');
    expect(d.dev.transport.configOffset).toBe(20);
    const vf = m.standIns[0].device;
    expect(vf.status).toBe(0x07);
    expect(vf.configVector).toBe(VIRTIO_MSI_NO_VECTOR);
    expect(vf.queues.slice(0, 2).map((q) => q.msixVector)).toEqual([VIRTIO_MSI_NO_VECTOR, VIRTIO_MSI_NO_VECTOR]);
    expect(nic.rec.log.some((a) => a.off === 20 && a.size === 2)).toBe(false);
    // INTx Disable cleared so the line can fire
    const f = m.fns[0];
    expect(m.guest.config.read(f.bus, f.device, f.function, PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE).toBe(0);
  });

  it('MSI-X present but refused (pci=nomsi) falls back to INTx as well', async () => {
    const m = await legacyMachine({ msix: true });
    const nic = bindNic(m, 0, { irq: ['intx'] });
    expect(nic.pci.driver.irqMode).toBe('intx');
    expect(m.standIns[0].fn!.msixEnabled).toBe(false);
    nic.pci.driver.open();
    nic.stack.ping(PEER_IP, 7);
    service(m, [nic]);
    expect(nic.stack.replies.map((r) => r.seq)).toEqual([7]);
  });

  it('two MSI-X vectors: one for config changes, one shared by both queues', async () => {
    const m = await legacyMachine({ msix: true, vectors: 2 });
    const nic = bindNic(m);
    expect(nic.pci.driver.irqMode).toBe('msix-shared');
    const vf = m.standIns[0].device;
    expect(vf.configVector).toBe(0);
    expect(vf.queues.slice(0, 2).map((q) => q.msixVector)).toEqual([1, 1]);
    nic.pci.driver.open();
    for (let seq = 1; seq <= 3; seq++) nic.stack.ping(PEER_IP, seq);
    service(m, [nic]);
    expect(nic.stack.replies.map((r) => r.seq)).toEqual([1, 2, 3]);
  });

  it('refuses functions that are not legacy virtio-net', async () => {
    const m = await legacyMachine({ msix: true });
    const f = m.fns[0];
    for (const bad of [{ deviceId: 0x1041 }, { revision: 1 }, { subsystemId: 2 }, { vendorId: 0x8086 }]) {
      const g = { ...f, ...bad };
      expect(isLegacyVirtioNet(g)).toBe(false);
      expect(() => probeVirtioNetLegacy(m.guest, g)).toThrow(DriverError);
    }
    const noIo = { ...f, bars: f.bars.filter((b) => b.kind !== 'io') };
    expect(() => probeVirtioNetLegacy(m.guest, noIo)).toThrow(/BAR0 is not an I\/O BAR/);
    // nothing of it reached the device
    expect(m.standIns[0].device.status).toBe(0);
  });
});

describe('MAC address', () => {
  it('read byte by byte from the device configuration before MSI-X is on, in both modes', async () => {
    for (const msix of [true, false]) {
      const m = await legacyMachine({ msix, vfs: 2 });
      const nic = bindNic(m, 1);
      expect(formatMac(nic.pci.driver.mac)).toBe(formatMac(vfMac(PF_MAC, 2)));
      const macReads = nic.rec.log.filter((a) => a.op === 'R' && a.size === 1 && a.off >= 20 && a.off < 26);
      expect(macReads.map((a) => [a.size, a.off, a.value])).toEqual(Array.from(vfMac(PF_MAC, 2), (b, i) => [1, 20 + i, b]));
    }
  });

  it('a new address is written byte by byte (legacy, no control queue) and the switch delivers to it', async () => {
    const m = await legacyMachine({ msix: true });
    const nic = bindNic(m);
    const d = nic.pci.driver;
    d.open();
    nic.rec.take();
    const mac = parseMac('02:11:22:33:44:55');
    d.setMacAddress(mac);
    expect(nic.rec.take().map((a) => [a.op, a.size, a.off, a.value])).toEqual(Array.from(mac, (b, i) => ['W', 1, 24 + i, b]));
    expect(m.standIns[0].device.macAddress).toBe('02:11:22:33:44:55');
    const f = frame(mac, parseMac(PEER_MAC));
    m.pf.uplink.send(f);
    service(m, [nic]);
    expect(nic.received).toEqual([f]);
  });
});

describe('frames both ways', () => {
  it('guest -> uplink: exactly the frame, header stripped by the device; indirect descriptors as negotiated', async () => {
    const m = await legacyMachine({ msix: true });
    const nic = bindNic(m);
    const d = nic.pci.driver;
    d.open();
    const out: Uint8Array[] = [];
    m.pf.uplink.attach((f) => out.push(f.slice()));
    const frames = [frame(parseMac(PEER_MAC), d.mac, 60, 1), frame(parseMac(PEER_MAC), d.mac, GOOD_PACKET_LEN, 2), frame(BROADCAST_MAC, d.mac, 42, 3)];
    for (const f of frames) expect(d.transmit(f)).toBe(true);
    expect(out).toEqual(frames);
    expect(d.stats.txPackets).toBe(3);
    // all reclaimed already (the device completes synchronously)
    expect(d.stats.txCompleted).toBe(3);
    expect(d.txQueue!.numFree).toBe(256);
    // the transmit chain was one indirect descriptor (VIRTIO_RING_F_INDIRECT_DESC negotiated)
    const sq = d.txQueue!;
    const flags = m.emu.memory.view.getUint16(sq.descAddr + 12, true);
    expect(flags & 4).toBe(4);
    expect(m.standIns[0].device.stats.txFrames).toBe(3);
  });

  it('uplink -> guest: unicast and broadcast arrive intact, the refill kicks once half the ring is used', async () => {
    const m = await legacyMachine({ msix: true });
    const nic = bindNic(m);
    const d = nic.pci.driver;
    d.open();
    const kicks0 = d.stats.rxKicks;
    const sent: Uint8Array[] = [];
    for (let i = 0; i < 300; i++) {
      const f = frame(i % 7 === 0 ? BROADCAST_MAC : d.mac, parseMac(PEER_MAC), 60 + (i % 50), i);
      expect(m.pf.uplink.send(f)).toBe(true);
      sent.push(f);
      service(m, [nic]);
    }
    expect(nic.received).toEqual(sent);
    expect(d.stats.rxPackets).toBe(300);
    expect(d.stats.rxKicks).toBeGreaterThan(kicks0);
    expect(m.standIns[0].device.stats.rxDropped).toBe(0);
  });

  it('VF to VF through the embedded switch, each guest NIC on its own stand-in', async () => {
    const m = await legacyMachine({ msix: true, vfs: 2 });
    const a = bindNic(m, 0);
    const b = bindNic(m, 1);
    a.pci.driver.open();
    b.pci.driver.open();
    const ab = frame(b.pci.driver.mac, a.pci.driver.mac, 100, 1);
    const ba = frame(a.pci.driver.mac, b.pci.driver.mac, 64, 2);
    a.pci.driver.transmit(ab);
    b.pci.driver.transmit(ba);
    service(m, [a, b]);
    expect(b.received).toEqual([ab]);
    expect(a.received).toEqual([ba]);
    expect(m.peer.stats.received).toBe(0);
  });

  it('a frame arriving before open is dropped by the device (no receive buffers yet); after open frames arrive', async () => {
    const m = await legacyMachine({ msix: false });
    const nic = bindNic(m);
    const f = frame(nic.pci.driver.mac, parseMac(PEER_MAC));
    m.pf.uplink.send(f);
    expect(m.standIns[0].device.stats.rxDropped).toBe(1); // no receive buffers yet: the device drops
    nic.pci.driver.open();
    m.pf.uplink.send(f);
    service(m, [nic]);
    expect(nic.received).toEqual([f]);
  });

  it('transmit refuses while the interface is down', async () => {
    const m = await legacyMachine({ msix: true });
    const nic = bindNic(m);
    expect(nic.pci.driver.transmit(frame(parseMac(PEER_MAC), nic.pci.driver.mac))).toBe(false);
    nic.pci.driver.open();
    nic.pci.driver.close();
    expect(nic.pci.driver.transmit(frame(parseMac(PEER_MAC), nic.pci.driver.mac))).toBe(false);
    expect(nic.pci.driver.stats.txDropped).toBe(2);
    expect(m.standIns[0].device.stats.txFrames).toBe(0);
  });
});

describe.each([
  { mode: 'MSI-X', msix: true },
  { mode: 'INTx', msix: false },
])('ping of the loopback peer on $mode', ({ msix }) => {
  it('ARP for the peer, ICMP echo request, echo reply received; then many more', async () => {
    const m = await legacyMachine({ msix });
    const nic = bindNic(m);
    nic.pci.driver.open();
    expect(nic.stack.ping(PEER_IP, 1)).toBe(true);
    service(m, [nic]);
    expect(nic.stack.arpCache.get(PEER_IP)).toEqual(parseMac(PEER_MAC));
    expect(nic.stack.replies).toHaveLength(1);
    expect(nic.stack.replies[0]).toMatchObject({ from: PEER_IP, seq: 1 });
    expect(m.peer.stats).toMatchObject({ arpReplies: 1, echoReplies: 1, ignored: 0 });
    for (let seq = 2; seq <= 200; seq++) {
      nic.stack.ping(PEER_IP, seq, { payload: new Uint8Array(seq % 64).fill(seq & 0xff) });
      service(m, [nic]);
    }
    expect(nic.stack.replies.map((r) => r.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(nic.stack.replies.every((r) => r.seq === 1 || sameBytes(r.payload, new Uint8Array(r.seq % 64).fill(r.seq & 0xff)))).toBe(true);
    expect(m.peer.stats.arpReplies).toBe(1);
    expect(nic.pci.driver.errors).toEqual([]);
    if (!msix) expect(nic.pci.driver.dev.stats.intxHandled).toBeGreaterThanOrEqual(200);
    else expect(nic.pci.driver.dev.stats.msix).toBeGreaterThanOrEqual(200);
  });

  it('the guest answers the peer side: ARP requests for its address get a reply', async () => {
    const m = await legacyMachine({ msix });
    const nic = bindNic(m);
    nic.pci.driver.open();
    m.peer.detach();
    const out: Uint8Array[] = [];
    m.pf.uplink.attach((f) => out.push(f.slice()));
    const req = buildArp({ op: ARP_REQUEST, senderMac: parseMac(PEER_MAC), senderIp: parseIp(PEER_IP), targetMac: new Uint8Array(6), targetIp: nic.stack.ip });
    m.pf.uplink.send(req);
    service(m, [nic]);
    expect(out).toHaveLength(1);
    expect(nic.stack.stats.arpRepliesSent).toBe(1);
    expect(Array.from(out[0].subarray(0, 6))).toEqual(Array.from(parseMac(PEER_MAC)));
  });
});

describe('teardown', () => {
  it.each([true, false])('remove (MSI-X %s): device reset and acknowledged, queues gone, vectors released, bus mastering off', async (msix) => {
    const m = await legacyMachine({ msix });
    const nic = bindNic(m);
    const d = nic.pci.driver;
    d.open();
    nic.stack.ping(PEER_IP, 1);
    service(m, [nic]);
    const s = m.standIns[0];
    nic.pci.remove();
    expect(d.state).toBe('removed');
    expect(d.errors).toEqual([]);
    expect(s.device.status).toBe(0x01);
    expect(s.device.legacy).toBe(true); // ACKNOWLEDGE went through the legacy interface
    expect(s.device.queues.slice(0, 2).map((q) => [q.enabled, q.legacyPfn])).toEqual([
      [false, 0],
      [false, 0],
    ]);
    expect(s.device.configVector).toBe(VIRTIO_MSI_NO_VECTOR);
    expect(s.fn!.msixEnabled).toBe(false);
    expect(s.vf.msixEnabled).toBe(false);
    const f = m.fns[0];
    const cmd = m.guest.config.read(f.bus, f.device, f.function, PCI_COMMAND, 2);
    expect(cmd & PCI_COMMAND_MASTER).toBe(0);
    if (!msix) expect(cmd & PCI_COMMAND_INTX_DISABLE).toBe(PCI_COMMAND_INTX_DISABLE);
    // frames from the wire no longer reach the guest: nothing is posted
    m.pf.uplink.send(frame(d.mac, parseMac(PEER_MAC)));
    expect(s.device.stats.rxDropped).toBeGreaterThan(0);
    expect(m.guest.irq.service()).toBe(0);
    expect(() => d.remove()).toThrow(/state removed/);
  });

  it('rebinding after remove brings the device up again (new rings: the driver instance is new)', async () => {
    const m = await legacyMachine({ msix: true });
    const first = bindNic(m);
    first.pci.driver.open();
    first.pci.remove();
    const free = m.guest.dma.free;
    const again = bindNic(m);
    again.pci.driver.open();
    again.stack.ping(PEER_IP, 1);
    service(m, [again]);
    expect(again.stack.replies).toHaveLength(1);
    // a new driver instance allocates its own rings: guest RAM is a bump allocator, so it shrank
    expect(m.guest.dma.free).toBeLessThan(free);
    expect(m.fns[0].bdf).toBe(guestBdf(0));
  });
});
