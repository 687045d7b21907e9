// Building and parsing the few Ethernet frames the datapath tests and the loopback peer speak:
// ARP over Ethernet (RFC 826) and ICMP echo over IPv4 (RFC 792, RFC 791), network byte order.

/** Length of an Ethernet header: destination, source, EtherType (ETH_HLEN in linux/if_ether.h). */
export const ETH_HLEN = 14;
/** EtherType of IPv4 (ETH_P_IP). */
export const ETH_P_IP = 0x0800;
/** EtherType of ARP (ETH_P_ARP). */
export const ETH_P_ARP = 0x0806;
/** ARP opcode: request (ARPOP_REQUEST). */
export const ARP_REQUEST = 1;
/** ARP opcode: reply (ARPOP_REPLY). */
export const ARP_REPLY = 2;
/** IPv4 protocol number of ICMP (IPPROTO_ICMP). */
export const IPPROTO_ICMP = 1;
/** ICMP type: echo reply (ICMP_ECHOREPLY). */
export const ICMP_ECHO_REPLY = 0;
/** ICMP type: echo request (ICMP_ECHO). */
export const ICMP_ECHO_REQUEST = 8;
/** The Ethernet broadcast address ff:ff:ff:ff:ff:ff. */
export const BROADCAST_MAC = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

/** The four bytes of a dotted-quad IPv4 address; throws on anything else. */
export function parseIp(ip: string): Uint8Array {
  const parts = typeof ip === 'string' ? ip.split('.') : [];
  const out = new Uint8Array(parts.map((p) => Number(p)));
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) throw new Error(`bad IPv4 address ${JSON.stringify(ip)}`);
  return out;
}

/** The dotted-quad text of the four IPv4 address bytes at `off`. */
export function formatIp(b: Uint8Array, off = 0): string {
  return Array.from(b.subarray(off, off + 4)).join('.');
}

/** The 16-bit one's complement sum used by IPv4 and ICMP, over [off, off+len). */
export function internetChecksum(b: Uint8Array, off: number, len: number): number {
  let sum = 0;
  for (let i = 0; i + 1 < len; i += 2) sum += (b[off + i] << 8) | b[off + i + 1];
  if (len & 1) sum += b[off + len - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function ethHeader(out: Uint8Array, dst: Uint8Array, src: Uint8Array, type: number): void {
  out.set(dst.subarray(0, 6), 0);
  out.set(src.subarray(0, 6), 6);
  out[12] = type >> 8;
  out[13] = type & 0xff;
}

/** The EtherType of a frame, or -1 if it is shorter than an Ethernet header. */
export function etherType(frame: Uint8Array): number {
  return frame.length >= ETH_HLEN ? (frame[12] << 8) | frame[13] : -1;
}

/** An Ethernet/IPv4 ARP packet, the fields that matter to a request or reply. */
export interface ArpPacket {
  /** ARP_REQUEST or ARP_REPLY. */
  op: number;
  /** Sender hardware address, 6 bytes. */
  senderMac: Uint8Array;
  /** Sender IPv4 address, 4 bytes. */
  senderIp: Uint8Array;
  /** Target hardware address, 6 bytes (zero in a request). */
  targetMac: Uint8Array;
  /** Target IPv4 address, 4 bytes. */
  targetIp: Uint8Array;
}

/** An ARP packet in an Ethernet frame (42 bytes); requests go to the broadcast address. */
export function buildArp(a: ArpPacket, dst = a.op === ARP_REQUEST ? BROADCAST_MAC : a.targetMac): Uint8Array {
  const f = new Uint8Array(ETH_HLEN + 28);
  ethHeader(f, dst, a.senderMac, ETH_P_ARP);
  const p = ETH_HLEN;
  f.set([0, 1, 0x08, 0x00, 6, 4, 0, a.op], p);
  f.set(a.senderMac.subarray(0, 6), p + 8);
  f.set(a.senderIp.subarray(0, 4), p + 14);
  f.set(a.targetMac.subarray(0, 6), p + 18);
  f.set(a.targetIp.subarray(0, 4), p + 24);
  return f;
}

/** The ARP packet in an Ethernet/IPv4 ARP frame, or null. */
export function parseArp(frame: Uint8Array): ArpPacket | null {
  if (etherType(frame) !== ETH_P_ARP || frame.length < ETH_HLEN + 28) return null;
  const p = ETH_HLEN;
  if (frame[p] !== 0 || frame[p + 1] !== 1 || frame[p + 2] !== 0x08 || frame[p + 3] !== 0 || frame[p + 4] !== 6 || frame[p + 5] !== 4) return null;
  return {
    op: (frame[p + 6] << 8) | frame[p + 7],
    senderMac: frame.slice(p + 8, p + 14),
    senderIp: frame.slice(p + 14, p + 18),
    targetMac: frame.slice(p + 18, p + 24),
    targetIp: frame.slice(p + 24, p + 28),
  };
}

/** An ICMP echo request or reply in an IPv4 Ethernet frame. */
export interface IcmpEcho {
  /** Source MAC address, 6 bytes. */
  srcMac: Uint8Array;
  /** Destination MAC address, 6 bytes. */
  dstMac: Uint8Array;
  /** Source IPv4 address, 4 bytes. */
  srcIp: Uint8Array;
  /** Destination IPv4 address, 4 bytes. */
  dstIp: Uint8Array;
  /** ICMP_ECHO_REQUEST or ICMP_ECHO_REPLY. */
  type: number;
  /** Echo identifier (16 bits). */
  id: number;
  /** Echo sequence number (16 bits). */
  seq: number;
  /** Echo data after the ICMP header. */
  payload: Uint8Array;
}

/** An ICMP echo request or reply in IPv4 in Ethernet, checksums filled in. */
export function buildIcmpEcho(e: IcmpEcho): Uint8Array {
  const ipLen = 20 + 8 + e.payload.length;
  const f = new Uint8Array(ETH_HLEN + ipLen);
  ethHeader(f, e.dstMac, e.srcMac, ETH_P_IP);
  const ip = ETH_HLEN;
  f.set([0x45, 0, ipLen >> 8, ipLen & 0xff, 0, 0, 0x40, 0, 64, IPPROTO_ICMP, 0, 0], ip);
  f.set(e.srcIp.subarray(0, 4), ip + 12);
  f.set(e.dstIp.subarray(0, 4), ip + 16);
  const ck = internetChecksum(f, ip, 20);
  f[ip + 10] = ck >> 8;
  f[ip + 11] = ck & 0xff;
  const ic = ip + 20;
  f.set([e.type, 0, 0, 0, e.id >> 8, e.id & 0xff, e.seq >> 8, e.seq & 0xff], ic);
  f.set(e.payload, ic + 8);
  const ck2 = internetChecksum(f, ic, 8 + e.payload.length);
  f[ic + 2] = ck2 >> 8;
  f[ic + 3] = ck2 & 0xff;
  return f;
}

/** The ICMP echo in an IPv4 frame (checksums verified), or null. */
export function parseIcmpEcho(frame: Uint8Array): IcmpEcho | null {
  if (etherType(frame) !== ETH_P_IP || frame.length < ETH_HLEN + 28) return null;
  const ip = ETH_HLEN;
  const ihl = (frame[ip] & 0x0f) * 4;
  const total = (frame[ip + 2] << 8) | frame[ip + 3];
  if (frame[ip] >> 4 !== 4 || ihl < 20 || frame[ip + 9] !== IPPROTO_ICMP || total < ihl + 8 || ip + total > frame.length) return null;
  if (internetChecksum(frame, ip, ihl) !== 0) return null;
  const ic = ip + ihl;
  const icmpLen = total - ihl;
  if (internetChecksum(frame, ic, icmpLen) !== 0) return null;
  const type = frame[ic];
  if ((type !== ICMP_ECHO_REQUEST && type !== ICMP_ECHO_REPLY) || frame[ic + 1] !== 0) return null;
  return {
    srcMac: frame.slice(6, 12),
    dstMac: frame.slice(0, 6),
    srcIp: frame.slice(ip + 12, ip + 16),
    dstIp: frame.slice(ip + 16, ip + 20),
    type,
    id: (frame[ic + 4] << 8) | frame[ic + 5],
    seq: (frame[ic + 6] << 8) | frame[ic + 7],
    payload: frame.slice(ic + 8, ic + icmpLen),
  };
}

/** True if two byte arrays have the same length and contents. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
