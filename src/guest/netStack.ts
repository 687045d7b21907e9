// The guest's tiny IPv4 stack over one network interface: enough ARP (RFC 826) and ICMP echo
// (RFC 792) to ping a host on the link and to answer pings and ARP requests for its own address.
// The frame builders and parsers are pure data functions shared with the peer on the other side.
import {
  ARP_REPLY, ARP_REQUEST, BROADCAST_MAC, buildArp, buildIcmpEcho, etherType, ETH_P_ARP, ETH_P_IP, formatIp, ICMP_ECHO_REPLY,
  ICMP_ECHO_REQUEST, parseArp, parseIcmpEcho, parseIp, sameBytes,
} from '../hw/devices/virtio/ethernetFrames.js';

/** An echo reply that came back. */
export interface EchoReply {
  /** Dotted IPv4 address the reply came from. */
  from: string;
  /** ICMP echo identifier. */
  id: number;
  /** ICMP echo sequence number. */
  seq: number;
  /** The echo data as returned. */
  payload: Uint8Array;
}

export interface NetStackStats {
  arpRequestsSent: number;
  arpRepliesSent: number;
  arpRepliesReceived: number;
  echoRequestsSent: number;
  echoRepliesSent: number;
  echoRepliesReceived: number;
  /** frames not for this host, or not ARP/ICMP echo */
  ignored: number;
  /** frames the interface refused to send */
  sendFailures: number;
}

export interface NetStackOptions {
  mac: Uint8Array;
  ip: string;
  /** hands a frame to the interface (the driver's transmit); false when it was dropped */
  send: (frame: Uint8Array) => boolean;
}

interface PendingEcho {
  id: number;
  seq: number;
  payload: Uint8Array;
}

function isBroadcast(mac: Uint8Array): boolean {
  return sameBytes(mac, BROADCAST_MAC);
}

/**
 * One interface's IPv4 host: an ARP cache filled from replies and requests, pings that wait for
 * ARP resolution before the echo request goes out, and replies to ARP and echo requests for its
 * address. Frames come in through receive() (the driver's receive callback).
 */
export class GuestNetStack {
  /** The interface's MAC address. */
  readonly mac: Uint8Array;
  /** The interface's IPv4 address (4 bytes). */
  readonly ip: Uint8Array;
  /** Learned IPv4 -> MAC mappings, keyed by dotted address. */
  readonly arpCache = new Map<string, Uint8Array>();
  /** Echo replies received, in order. */
  readonly replies: EchoReply[] = [];
  /** ARP and ICMP counters: requests and replies sent and received, frames ignored, failed sends. */
  readonly stats: NetStackStats = {
    arpRequestsSent: 0, arpRepliesSent: 0, arpRepliesReceived: 0, echoRequestsSent: 0, echoRepliesSent: 0, echoRepliesReceived: 0, ignored: 0, sendFailures: 0,
  };
  private readonly pending = new Map<string, PendingEcho[]>();
  private readonly send: (frame: Uint8Array) => boolean;

  constructor(options: NetStackOptions) {
    if (options.mac.length !== 6) throw new RangeError('a MAC address has 6 bytes');
    this.mac = options.mac.slice();
    this.ip = parseIp(options.ip);
    this.send = options.send;
  }

  /** The interface's IPv4 address, dotted. */
  get address(): string {
    return formatIp(this.ip);
  }

  private transmit(frame: Uint8Array): boolean {
    const ok = this.send(frame);
    if (!ok) this.stats.sendFailures++;
    return ok;
  }

  /** Sends an ARP request for `ip` (who-has), broadcast. */
  arpRequest(ip: string): boolean {
    const target = parseIp(ip);
    this.stats.arpRequestsSent++;
    return this.transmit(buildArp({ op: ARP_REQUEST, senderMac: this.mac, senderIp: this.ip, targetMac: new Uint8Array(6), targetIp: target }));
  }

  /**
   * Sends an ICMP echo request to `ip`: at once when its MAC is cached, otherwise after an ARP
   * request is answered. Returns false when the frame (or the ARP request) could not be sent.
   */
  ping(ip: string, seq: number, options: { id?: number; payload?: Uint8Array } = {}): boolean {
    const key = formatIp(parseIp(ip));
    const echo = { id: (options.id ?? 0x1d) & 0xffff, seq: seq & 0xffff, payload: options.payload ?? defaultPayload(seq) };
    const mac = this.arpCache.get(key);
    if (mac !== undefined) return this.sendEcho(key, mac, echo);
    const queue = this.pending.get(key);
    if (queue !== undefined) {
      queue.push(echo);
      return true;
    }
    this.pending.set(key, [echo]);
    return this.arpRequest(key);
  }

  private sendEcho(ip: string, mac: Uint8Array, e: PendingEcho): boolean {
    this.stats.echoRequestsSent++;
    return this.transmit(buildIcmpEcho({ srcMac: this.mac, dstMac: mac, srcIp: this.ip, dstIp: parseIp(ip), type: ICMP_ECHO_REQUEST, id: e.id, seq: e.seq, payload: e.payload }));
  }

  private learn(ip: Uint8Array, mac: Uint8Array): void {
    const key = formatIp(ip);
    this.arpCache.set(key, mac.slice());
    const waiting = this.pending.get(key);
    if (waiting === undefined) return;
    this.pending.delete(key);
    for (const e of waiting) this.sendEcho(key, mac, e);
  }

  /** One frame from the interface. */
  receive(frame: Uint8Array): void {
    const dst = frame.subarray(0, 6);
    if (frame.length < 14 || (!sameBytes(dst, this.mac) && !isBroadcast(dst))) {
      this.stats.ignored++;
      return;
    }
    const type = etherType(frame);
    if (type === ETH_P_ARP) {
      const a = parseArp(frame);
      if (a === null || !sameBytes(a.targetIp, this.ip)) {
        this.stats.ignored++;
        return;
      }
      if (a.op === ARP_REQUEST) {
        this.learn(a.senderIp, a.senderMac);
        this.stats.arpRepliesSent++;
        this.transmit(buildArp({ op: ARP_REPLY, senderMac: this.mac, senderIp: this.ip, targetMac: a.senderMac, targetIp: a.senderIp }));
      } else if (a.op === ARP_REPLY) {
        this.stats.arpRepliesReceived++;
        this.learn(a.senderIp, a.senderMac);
      } else {
        this.stats.ignored++;
      }
      return;
    }
    if (type === ETH_P_IP) {
      const e = parseIcmpEcho(frame);
      if (e === null || !sameBytes(e.dstIp, this.ip)) {
        this.stats.ignored++;
        return;
      }
      if (e.type === ICMP_ECHO_REQUEST) {
        this.stats.echoRepliesSent++;
        this.transmit(buildIcmpEcho({ srcMac: this.mac, dstMac: e.srcMac, srcIp: this.ip, dstIp: e.srcIp, type: ICMP_ECHO_REPLY, id: e.id, seq: e.seq, payload: e.payload }));
      } else {
        this.stats.echoRepliesReceived++;
        this.replies.push({ from: formatIp(e.srcIp), id: e.id, seq: e.seq, payload: e.payload });
      }
      return;
    }
    this.stats.ignored++;
  }
}

/** ping's default payload: 56 bytes, a counting pattern (as iputils fills it after the timestamp). */
function defaultPayload(seq: number): Uint8Array {
  const p = new Uint8Array(56);
  for (let i = 0; i < p.length; i++) p[i] = (i + seq) & 0xff;
  return p;
}
