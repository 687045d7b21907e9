// The datapath: transmit and receive queues moving Ethernet frames with struct virtio_net_hdr, the
// PF's embedded switch (by destination MAC, broadcast/multicast to all other ports, unknown unicast
// to the uplink), the uplink with a loopback peer answering ARP and ping, and NEEDS_RESET when the
// driver breaks the virtqueue rules.
import { beforeEach, describe, expect, it } from 'vitest';
import {
  ARP_REPLY, ARP_REQUEST, buildArp, buildIcmpEcho, ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST, internetChecksum, parseArp, parseIcmpEcho,
  parseIp,
} from '../../../src/hw/devices/virtio/ethernetFrames.js';
import { LoopbackPeer } from '../../../src/hw/devices/virtio/loopbackPeer.js';
import { macKey } from '../../../src/hw/devices/virtio/netSwitch.js';
import { VRING_DESC_F_NEXT } from '../../../src/hw/devices/virtio/virtioSpec.js';
import { bringUpNet, frame, PF, received, transmit, virtioMachine } from './helpers.js';
import type { NetDriver, VirtioMachine } from './helpers.js';

let m: VirtioMachine;
let pf: NetDriver;
let vf1: NetDriver;
let vf2: NetDriver;
const mac = (n: number) => (n === 0 ? m.pf.virtio.mac : m.pf.member(n)!.mac);

beforeEach(async () => {
  m = await virtioMachine(2);
  pf = bringUpNet(m.hw, PF, 0x100000);
  vf1 = bringUpNet(m.hw, m.vfs[0].bdf, 0x200000);
  vf2 = bringUpNet(m.hw, m.vfs[1].bdf, 0x300000);
});

describe('switching between functions', () => {
  it('PF -> VF1 unicast lands in VF1 with a 12-byte virtio_net_hdr; VF1 answers back to the PF', () => {
    expect(m.pf.member(1)!.macAddress).toBe('52:54:00:12:34:57');
    expect(m.pf.member(2)!.macAddress).toBe('52:54:00:12:34:58');
    const f = frame(mac(1), mac(0), [9, 8, 7, 6, 5]);
    const head = transmit(m.hw, pf, f);
    expect(pf.tx.takeUsed()).toEqual([{ head, len: 0 }]);
    const used = vf1.rx.takeUsed();
    expect(used).toHaveLength(1);
    expect(used[0].len).toBe(12 + f.length);
    const addr = vf1.rxAddr.get(used[0].head)!;
    expect(Array.from(m.hw.memory.read(addr, 12))).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]); // num_buffers = 1
    expect(m.hw.memory.read(addr + 12, f.length)).toEqual(f);
    expect(received(m.hw, vf2)).toEqual([]);
    expect(received(m.hw, pf)).toEqual([]);

    const back = frame(mac(0), mac(1), [1]);
    transmit(m.hw, vf1, back);
    expect(received(m.hw, pf)).toEqual([back]);
    expect(m.pf.netSwitch.stats.forwarded).toBe(2);
  });

  it('VF -> VF stays inside the switch; nothing reaches the uplink', () => {
    const out: Uint8Array[] = [];
    m.pf.uplink.attach((fr) => out.push(fr));
    const f = frame(mac(2), mac(1));
    transmit(m.hw, vf1, f);
    expect(received(m.hw, vf2)).toEqual([f]);
    expect(out).toEqual([]);
  });

  it('broadcast and multicast go to every other port, the uplink included, not back to the sender', () => {
    const out: Uint8Array[] = [];
    m.pf.uplink.attach((fr) => out.push(fr));
    for (const dst of [[0xff, 0xff, 0xff, 0xff, 0xff, 0xff], [0x01, 0x00, 0x5e, 0x00, 0x00, 0x01]]) {
      const f = frame(new Uint8Array(dst), mac(1));
      transmit(m.hw, vf1, f);
      expect(received(m.hw, pf)).toEqual([f]);
      expect(received(m.hw, vf2)).toEqual([f]);
      expect(received(m.hw, vf1)).toEqual([]);
      expect(out.pop()).toEqual(f);
    }
    // from the uplink: every function
    const f = frame(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), new Uint8Array([2, 9, 9, 9, 9, 9]));
    expect(m.pf.uplink.send(f)).toBe(true);
    for (const d of [pf, vf1, vf2]) expect(received(m.hw, d)).toEqual([f]);
  });

  it('unknown unicast leaves through the uplink; unknown unicast from the uplink is dropped', () => {
    const out: Uint8Array[] = [];
    m.pf.uplink.attach((fr) => out.push(fr));
    const f = frame(new Uint8Array([2, 1, 2, 3, 4, 5]), mac(2));
    transmit(m.hw, vf2, f);
    expect(out).toEqual([f]);
    expect(m.pf.uplink.send(frame(new Uint8Array([2, 1, 2, 3, 4, 5]), new Uint8Array([2, 0, 0, 0, 0, 1])))).toBe(false);
    expect(m.pf.uplink.send(frame(mac(1), new Uint8Array([2, 0, 0, 0, 0, 1])))).toBe(true);
    expect(received(m.hw, vf1)).toHaveLength(1);
    // a runt frame is dropped by the switch
    expect(m.pf.uplink.send(new Uint8Array(10))).toBe(false);
  });

  it('several frames in one kick: all forwarded in order, one used-buffer interrupt', () => {
    const frames = [1, 2, 3, 4, 5].map((k) => frame(mac(2), mac(1), [k]));
    for (const f of frames) transmit(m.hw, vf1, f, false);
    const interrupts = m.pf.member(1)!.stats.interrupts;
    vf1.driver.kick(1);
    expect(vf1.tx.takeUsed()).toHaveLength(5);
    expect(m.pf.member(1)!.stats.interrupts - interrupts).toBe(1);
    expect(received(m.hw, vf2)).toEqual(frames);
  });

  it('a frame split over several descriptors, and indirect tables, arrive whole', () => {
    const f = frame(mac(2), mac(1), Array.from({ length: 200 }, (_, i) => i & 0xff));
    const a = 0x280000;
    m.hw.memory.bytes.fill(0, a, a + 12);
    m.hw.memory.write(a + 0x100, f.subarray(0, 20));
    m.hw.memory.write(a + 0x200, f.subarray(20));
    vf1.tx.add([{ addr: a, len: 12 }, { addr: a + 0x100, len: 20 }, { addr: a + 0x200, len: f.length - 20 }]);
    vf1.driver.kick(1);
    expect(received(m.hw, vf2)).toEqual([f]);
    // indirect (VIRTIO_F_RING_INDIRECT_DESC negotiated below) on both sides
    m.hw.memory.write(a + 0x1000, new Uint8Array(12));
    m.hw.memory.write(a + 0x1000 + 12, f);
    const v1 = bringUpNet(m.hw, m.vfs[0].bdf, 0x400000, 0, 16, [(1 << 5) | (1 << 28), 1]);
    const v2 = bringUpNet(m.hw, m.vfs[1].bdf, 0x500000, 0, 16, [(1 << 5) | (1 << 28), 1]);
    v2.rx.addIndirect([{ addr: 0x580000, len: 12, write: true }, { addr: 0x581000, len: 2048, write: true }], 0x590000);
    v1.tx.addIndirect([{ addr: a + 0x1000, len: 12 + f.length }], 0x490000);
    v1.driver.kick(1);
    expect(v2.rx.takeUsed()).toEqual([{ head: 0, len: 12 + f.length }]);
    expect(m.hw.memory.read(0x581000, f.length)).toEqual(f);
  });
});

describe('receive side limits', () => {
  it('drops a frame when no receive buffer is posted, and one that does not fit (leaving the buffer)', () => {
    const v = bringUpNet(m.hw, m.vfs[1].bdf, 0x400000, 0);
    const dev = m.pf.member(2)!;
    transmit(m.hw, vf1, frame(mac(2), mac(1)));
    expect(dev.stats.rxDropped).toBe(1);
    v.rx.add([{ addr: 0x480000, len: 40, write: true }]);
    transmit(m.hw, vf1, frame(mac(2), mac(1)));
    expect(dev.stats.rxDropped).toBe(2);
    expect(v.rx.takeUsed()).toEqual([]);
    expect(dev.queues[0].lastAvailIdx).toBe(0);
  });
});

describe('uplink and loopback peer', () => {
  const PEER_IP = parseIp('10.0.0.1');
  const VF_IP = parseIp('10.0.0.2');

  it('answers ARP for its address and ping, through VF -> switch -> uplink -> peer -> back', () => {
    const peer = new LoopbackPeer({ mac: '02:00:00:00:00:01', ip: '10.0.0.1' }).attach(m.pf.uplink);
    transmit(m.hw, vf1, buildArp({ op: ARP_REQUEST, senderMac: mac(1), senderIp: VF_IP, targetMac: new Uint8Array(6), targetIp: PEER_IP }));
    const [arp] = received(m.hw, vf1).map(parseArp);
    expect(arp).toMatchObject({ op: ARP_REPLY, senderMac: peer.mac, senderIp: PEER_IP, targetMac: mac(1), targetIp: VF_IP });
    // the ARP request was broadcast: the PF and VF2 saw it too
    expect(received(m.hw, pf)).toHaveLength(1);
    expect(received(m.hw, vf2)).toHaveLength(1);
    for (let seq = 1; seq <= 3; seq++) {
      const payload = new Uint8Array(56).map((_, i) => (i * seq) & 0xff);
      const req = buildIcmpEcho({ srcMac: mac(1), dstMac: peer.mac, srcIp: VF_IP, dstIp: PEER_IP, type: ICMP_ECHO_REQUEST, id: 0x1234, seq, payload });
      expect(req.length).toBe(98);
      transmit(m.hw, vf1, req);
      const frames = received(m.hw, vf1);
      expect(frames).toHaveLength(1);
      const reply = parseIcmpEcho(frames[0])!;
      expect(reply).toMatchObject({ type: ICMP_ECHO_REPLY, id: 0x1234, seq, srcIp: PEER_IP, dstIp: VF_IP, srcMac: peer.mac, dstMac: mac(1) });
      expect(reply.payload).toEqual(payload);
      expect(internetChecksum(frames[0], 14, 20)).toBe(0);
    }
    expect(peer.stats).toEqual({ received: 4, arpReplies: 1, echoReplies: 3, ignored: 0 });
    expect(received(m.hw, vf2)).toEqual([]);
  });

  it('ignores ARP for other addresses and pings to someone else', () => {
    const peer = new LoopbackPeer({ mac: '02:00:00:00:00:01', ip: '10.0.0.1' }).attach(m.pf.uplink);
    transmit(m.hw, vf1, buildArp({ op: ARP_REQUEST, senderMac: mac(1), senderIp: VF_IP, targetMac: new Uint8Array(6), targetIp: parseIp('10.0.0.9') }));
    const req = buildIcmpEcho({ srcMac: mac(1), dstMac: peer.mac, srcIp: VF_IP, dstIp: parseIp('10.0.0.9'), type: ICMP_ECHO_REQUEST, id: 1, seq: 1, payload: new Uint8Array(8) });
    transmit(m.hw, vf1, req);
    expect(received(m.hw, vf1)).toEqual([]);
    expect(peer.stats).toMatchObject({ received: 2, ignored: 2 });
  });

  it('frames leave with nothing attached: counted, not delivered', () => {
    transmit(m.hw, vf1, frame(new Uint8Array([2, 1, 1, 1, 1, 1]), mac(1)));
    expect(m.pf.uplink.unattachedDrops).toBe(1);
    expect(m.pf.uplink.attached).toBe(false);
    expect(macKey(mac(1))).toBe(0x525400123457);
  });
});

describe('NEEDS_RESET on a broken virtqueue', () => {
  const NEEDS_RESET = 0x40;

  function expectNeedsReset(d: NetDriver, dev = m.pf.member(1)!): void {
    expect(d.driver.status & NEEDS_RESET).toBe(NEEDS_RESET);
    expect(dev.lastError).not.toBe('');
    // the configuration-change notification: ISR bit 1 (MSI-X is off)
    expect(d.driver.readIsr() & 2).toBe(2);
  }

  it('a buffer outside guest memory', () => {
    vf1.tx.add([{ addr: m.hw.memory.size - 8, len: 64 }]);
    vf1.driver.kick(1);
    expectNeedsReset(vf1);
    expect(m.pf.member(1)!.lastError).toMatch(/outside guest memory/);
    // the device stays stopped until reset, then works again
    transmit(m.hw, vf1, frame(mac(2), mac(1)));
    expect(received(m.hw, vf2)).toEqual([]);
    const again = bringUpNet(m.hw, m.vfs[0].bdf, 0x600000);
    expect(again.driver.status).toBe(0x0f);
    transmit(m.hw, again, frame(mac(2), mac(1)));
    expect(received(m.hw, vf2)).toHaveLength(1);
  });

  it('rings outside guest memory', () => {
    const dev = m.pf.member(1)!;
    dev.queues[1].availAddr = m.hw.memory.size;
    vf1.driver.kick(1);
    expectNeedsReset(vf1);
  });

  it('an available head beyond the queue size, a next index beyond the table, a loop, avail->idx running ahead', () => {
    const v = m.hw.memory.view;
    const cases: ((d: NetDriver) => void)[] = [
      (d) => d.tx.makeAvailable(200),
      (d) => {
        d.tx.writeDesc(0, 0x700000, 64, VRING_DESC_F_NEXT, 99);
        d.tx.makeAvailable(0);
      },
      (d) => {
        d.tx.writeDesc(0, 0x700000, 64, VRING_DESC_F_NEXT, 1);
        d.tx.writeDesc(1, 0x700000, 64, VRING_DESC_F_NEXT, 0);
        d.tx.makeAvailable(0);
      },
      (d) => v.setUint16(d.tx.availAddr + 2, 100, true),
    ];
    for (const [i, breakIt] of cases.entries()) {
      const d = bringUpNet(m.hw, m.vfs[0].bdf, 0x600000 + i * 0x100000);
      breakIt(d);
      d.driver.kick(1);
      expectNeedsReset(d);
    }
  });

  it('an indirect descriptor without VIRTIO_F_RING_INDIRECT_DESC, and a device-readable buffer after a writable one', () => {
    vf1.tx.addIndirect([{ addr: 0x700000, len: 64 }], 0x710000);
    vf1.driver.kick(1);
    expectNeedsReset(vf1);
    const d = bringUpNet(m.hw, m.vfs[0].bdf, 0x600000);
    d.tx.add([{ addr: 0x700000, len: 64, write: true }, { addr: 0x701000, len: 64 }]);
    d.driver.kick(1);
    expectNeedsReset(d);
  });

  it('a receive buffer outside memory is found when a frame arrives', () => {
    vf2.rx.add([{ addr: 2 ** 40, len: 2048, write: true }]);
    // the 8 good buffers come first; use them up
    for (let i = 0; i < 9; i++) transmit(m.hw, vf1, frame(mac(2), mac(1)));
    expectNeedsReset(vf2, m.pf.member(2)!);
    expect(m.pf.member(1)!.status & NEEDS_RESET).toBe(0);
  });
});

describe('bus mastering', () => {
  it('a device without Bus Master Enable does not touch its queues until it is set', () => {
    m.hw.configWrite(m.vfs[0].bdf, 0x04, 2, 0);
    transmit(m.hw, vf1, frame(mac(2), mac(1)));
    expect(vf1.tx.takeUsed()).toEqual([]);
    m.hw.configWrite(m.vfs[0].bdf, 0x04, 2, 0x4);
    vf1.driver.kick(1);
    expect(vf1.tx.takeUsed()).toHaveLength(1);
    expect(received(m.hw, vf2)).toHaveLength(1);
  });
});
