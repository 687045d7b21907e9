// The guest's tiny IPv4 stack on its own: ARP resolution before an echo request, replies to ARP and
// echo requests for its address, and what it ignores.
import { describe, expect, it } from 'vitest';
import {
  ARP_REPLY, ARP_REQUEST, BROADCAST_MAC, buildArp, buildIcmpEcho, ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST, parseArp, parseIcmpEcho, parseIp,
} from '../../src/hw/devices/virtio/ethernetFrames.js';
import { GuestNetStack } from '../../src/guest/netStack.js';

const MY_MAC = new Uint8Array([0x52, 0x54, 0x00, 0x12, 0x34, 0x57]);
const PEER_MAC = new Uint8Array([0x02, 0, 0, 0, 0, 0xfe]);

function stack(ok = true) {
  const sent: Uint8Array[] = [];
  const s = new GuestNetStack({ mac: MY_MAC, ip: '10.0.2.15', send: (f) => (sent.push(f), ok) });
  return { s, sent };
}

const arpReply = (ip = '10.0.2.2') =>
  buildArp({ op: ARP_REPLY, senderMac: PEER_MAC, senderIp: parseIp(ip), targetMac: MY_MAC, targetIp: parseIp('10.0.2.15') });

describe('ping', () => {
  it('ARP first, the echo requests once the reply comes, in order; the reply is recorded', () => {
    const { s, sent } = stack();
    expect(s.ping('10.0.2.2', 1)).toBe(true);
    expect(s.ping('10.0.2.2', 2)).toBe(true);
    expect(sent).toHaveLength(1);
    const req = parseArp(sent[0])!;
    expect(req).toMatchObject({ op: ARP_REQUEST });
    expect(Array.from(sent[0].subarray(0, 6))).toEqual(Array.from(BROADCAST_MAC));
    expect(Array.from(req.targetIp)).toEqual([10, 0, 2, 2]);
    s.receive(arpReply());
    expect(sent).toHaveLength(3);
    const echoes = sent.slice(1).map((f) => parseIcmpEcho(f)!);
    expect(echoes.map((e) => [e.type, e.seq, Array.from(e.dstMac)])).toEqual([
      [ICMP_ECHO_REQUEST, 1, Array.from(PEER_MAC)],
      [ICMP_ECHO_REQUEST, 2, Array.from(PEER_MAC)],
    ]);
    // cached now: the next ping goes straight out
    s.ping('10.0.2.2', 3);
    expect(sent).toHaveLength(4);
    const e = echoes[0];
    s.receive(buildIcmpEcho({ srcMac: PEER_MAC, dstMac: MY_MAC, srcIp: e.dstIp, dstIp: e.srcIp, type: ICMP_ECHO_REPLY, id: e.id, seq: e.seq, payload: e.payload }));
    expect(s.replies).toEqual([{ from: '10.0.2.2', id: e.id, seq: 1, payload: e.payload }]);
    expect(s.stats).toMatchObject({ arpRequestsSent: 1, arpRepliesReceived: 1, echoRequestsSent: 3, echoRepliesReceived: 1 });
  });

  it('a refused send is counted', () => {
    const { s } = stack(false);
    expect(s.ping('10.0.2.2', 1)).toBe(false);
    expect(s.stats.sendFailures).toBe(1);
  });
});

describe('answering', () => {
  it('ARP requests for its address get a reply and teach the cache; echo requests are echoed', () => {
    const { s, sent } = stack();
    s.receive(buildArp({ op: ARP_REQUEST, senderMac: PEER_MAC, senderIp: parseIp('10.0.2.2'), targetMac: new Uint8Array(6), targetIp: parseIp('10.0.2.15') }));
    const r = parseArp(sent[0])!;
    expect(r.op).toBe(ARP_REPLY);
    expect(Array.from(r.senderMac)).toEqual(Array.from(MY_MAC));
    expect(Array.from(sent[0].subarray(0, 6))).toEqual(Array.from(PEER_MAC));
    expect(s.arpCache.get('10.0.2.2')).toEqual(PEER_MAC);
    const payload = new Uint8Array([1, 2, 3]);
    s.receive(buildIcmpEcho({ srcMac: PEER_MAC, dstMac: MY_MAC, srcIp: parseIp('10.0.2.2'), dstIp: parseIp('10.0.2.15'), type: ICMP_ECHO_REQUEST, id: 9, seq: 4, payload }));
    const echo = parseIcmpEcho(sent[1])!;
    expect(echo).toMatchObject({ type: ICMP_ECHO_REPLY, id: 9, seq: 4 });
    expect(echo.payload).toEqual(payload);
  });

  it('ignores frames for other hosts, ARP for other addresses and other protocols', () => {
    const { s, sent } = stack();
    s.receive(buildArp({ op: ARP_REQUEST, senderMac: PEER_MAC, senderIp: parseIp('10.0.2.2'), targetMac: new Uint8Array(6), targetIp: parseIp('10.0.2.99') }));
    s.receive(buildIcmpEcho({ srcMac: PEER_MAC, dstMac: new Uint8Array([2, 9, 9, 9, 9, 9]), srcIp: parseIp('10.0.2.2'), dstIp: parseIp('10.0.2.15'), type: ICMP_ECHO_REQUEST, id: 1, seq: 1, payload: new Uint8Array(0) }));
    const other = new Uint8Array(60);
    other.set(MY_MAC, 0);
    other[12] = 0x86;
    other[13] = 0xdd;
    s.receive(other);
    s.receive(new Uint8Array(5));
    expect(sent).toEqual([]);
    expect(s.stats.ignored).toBe(4);
  });
});
