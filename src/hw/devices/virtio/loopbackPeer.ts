import {
  ARP_REPLY, ARP_REQUEST, buildArp, buildIcmpEcho, ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST, parseArp, parseIcmpEcho, parseIp, sameBytes,
} from './ethernetFrames.js';
import type { Uplink } from './netSwitch.js';
import { parseMac } from './netSwitch.js';

export interface LoopbackPeerStats {
  received: number;
  arpReplies: number;
  echoReplies: number;
  ignored: number;
}

/**
 * A host on the other end of the uplink with one MAC and IPv4 address: it answers ARP requests for
 * its address and ICMP echo requests sent to it (what a "ping" through the emulated NIC needs), and
 * ignores everything else. Replies go back through the uplink at once.
 */
export class LoopbackPeer {
  /** The peer's MAC address. */
  readonly mac: Uint8Array;
  /** The peer's IPv4 address (4 bytes). */
  readonly ip: Uint8Array;
  /** Frames received, ARP and echo replies sent, frames ignored. */
  readonly stats: LoopbackPeerStats = { received: 0, arpReplies: 0, echoReplies: 0, ignored: 0 };
  private uplink: Uplink | null = null;

  constructor(options: { mac: string; ip: string }) {
    this.mac = parseMac(options.mac);
    this.ip = parseIp(options.ip);
  }

  /** Attaches to an uplink (replacing whatever was attached there). */
  attach(uplink: Uplink): this {
    this.uplink = uplink;
    // the reply is built from copies of the fields: the frame itself is never kept
    uplink.attach((frame) => this.receive(frame), { zeroCopy: true });
    return this;
  }

  /** Detaches from the uplink, which then has no receiver. */
  detach(): void {
    this.uplink?.detach();
    this.uplink = null;
  }

  /** Handles one frame from the wire; returns the reply it sent, if any. */
  receive(frame: Uint8Array): Uint8Array | null {
    this.stats.received++;
    const reply = this.answer(frame);
    if (reply === null) {
      this.stats.ignored++;
      return null;
    }
    this.uplink?.send(reply);
    return reply;
  }

  private answer(frame: Uint8Array): Uint8Array | null {
    const arp = parseArp(frame);
    if (arp !== null) {
      if (arp.op !== ARP_REQUEST || !sameBytes(arp.targetIp, this.ip)) return null;
      this.stats.arpReplies++;
      return buildArp({ op: ARP_REPLY, senderMac: this.mac, senderIp: this.ip, targetMac: arp.senderMac, targetIp: arp.senderIp });
    }
    const echo = parseIcmpEcho(frame);
    if (echo !== null && echo.type === ICMP_ECHO_REQUEST && sameBytes(echo.dstIp, this.ip) && sameBytes(echo.dstMac, this.mac)) {
      this.stats.echoReplies++;
      return buildIcmpEcho({
        srcMac: this.mac,
        dstMac: echo.srcMac,
        srcIp: this.ip,
        dstIp: echo.srcIp,
        type: ICMP_ECHO_REPLY,
        id: echo.id,
        seq: echo.seq,
        payload: echo.payload,
      });
    }
    return null;
  }
}
