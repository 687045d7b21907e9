/** Something that can take an Ethernet frame from the switch; false if it had to drop it. */
export interface SwitchPort {
  readonly name: string;
  receiveFrame(frame: Uint8Array): boolean;
}

/** 48-bit MAC address (6 bytes from `off`) as a number key. */
export function macKey(b: Uint8Array, off = 0): number {
  return (b[off] * 0x10000 + ((b[off + 1] << 8) | b[off + 2])) * 0x1000000 + ((b[off + 3] << 16) | (b[off + 4] << 8) | b[off + 5]);
}

export function parseMac(mac: string): Uint8Array {
  const m = typeof mac === 'string' ? /^([0-9a-fA-F]{2})(?::([0-9a-fA-F]{2})){5}$/.exec(mac) : null;
  if (!m) throw new Error(`mac must look like 52:54:00:12:34:56, got ${JSON.stringify(mac)}`);
  const out = new Uint8Array(mac.split(':').map((h) => parseInt(h, 16)));
  if (out[0] & 1) throw new Error(`mac ${mac} is a multicast address`);
  return out;
}

export function formatMac(b: Uint8Array, off = 0): string {
  return Array.from(b.subarray(off, off + 6), (x) => x.toString(16).padStart(2, '0')).join(':');
}

/** Counters of one switch. */
export interface SwitchStats {
  forwarded: number;
  flooded: number;
  toUplink: number;
  dropped: number;
}

/**
 * The uplink of the embedded switch: what leaves the switch goes to the attached receiver (a loopback
 * peer, another emulated NIC, a test); `send` injects a frame as if it arrived on the wire.
 */
export class Uplink implements SwitchPort {
  readonly name = 'uplink';
  private receiver: ((frame: Uint8Array) => void) | null = null;
  /** frames that left the switch with nothing attached */
  unattachedDrops = 0;

  constructor(private readonly sw: NetSwitch) {}

  /** Receives every frame that leaves through the uplink (the frame is the receiver's to keep). */
  attach(receiver: (frame: Uint8Array) => void): void {
    if (typeof receiver !== 'function') throw new TypeError('uplink.attach needs a function (frame: Uint8Array) => void');
    this.receiver = receiver;
  }

  detach(): void {
    this.receiver = null;
  }

  get attached(): boolean {
    return this.receiver !== null;
  }

  /** A frame arrives from the wire; returns whether some port took it. */
  send(frame: Uint8Array): boolean {
    if (!(frame instanceof Uint8Array)) throw new TypeError('uplink.send needs a Uint8Array frame');
    return this.sw.forward(this, frame);
  }

  receiveFrame(frame: Uint8Array): boolean {
    const r = this.receiver;
    if (r === null) {
      this.unattachedDrops++;
      return false;
    }
    r(frame);
    return true;
  }
}

/**
 * The embedded switch of the virtio-net PF: one port per function (PF and each VF) known by the MAC
 * address of its device, plus the uplink. A unicast frame goes to the port with its destination MAC,
 * or to the uplink when no function has it (frames from the uplink to an unknown MAC are dropped); a
 * broadcast or multicast frame (I/G bit set) goes to every port but the one it came from. Frames
 * shorter than an Ethernet header are dropped.
 */
export class NetSwitch {
  readonly uplink: Uplink;
  readonly stats: SwitchStats = { forwarded: 0, flooded: 0, toUplink: 0, dropped: 0 };
  private readonly ports: SwitchPort[] = [];
  private readonly byMac = new Map<number, SwitchPort>();
  private readonly macOf = new Map<SwitchPort, number>();

  constructor() {
    this.uplink = new Uplink(this);
  }

  /** Connects a function's port with its MAC address (6 bytes). */
  connect(port: SwitchPort, mac: Uint8Array): void {
    if (!this.ports.includes(port)) this.ports.push(port);
    this.setMac(port, mac);
  }

  disconnect(port: SwitchPort): void {
    const i = this.ports.indexOf(port);
    if (i >= 0) this.ports.splice(i, 1);
    const k = this.macOf.get(port);
    if (k !== undefined && this.byMac.get(k) === port) this.byMac.delete(k);
    this.macOf.delete(port);
  }

  /** The port's device changed its MAC address. */
  setMac(port: SwitchPort, mac: Uint8Array): void {
    const old = this.macOf.get(port);
    if (old !== undefined && this.byMac.get(old) === port) this.byMac.delete(old);
    const k = macKey(mac);
    this.macOf.set(port, k);
    this.byMac.set(k, port);
  }

  portFor(mac: Uint8Array): SwitchPort | undefined {
    return this.byMac.get(macKey(mac));
  }

  /** Forwards a frame that came in on `from`; returns whether at least one port took it. */
  forward(from: SwitchPort, frame: Uint8Array): boolean {
    if (frame.length < 14) {
      this.stats.dropped++;
      return false;
    }
    if (frame[0] & 1) {
      this.stats.flooded++;
      let taken = false;
      for (const p of this.ports) if (p !== from && p.receiveFrame(frame)) taken = true;
      if (from !== this.uplink && this.uplink.receiveFrame(frame)) taken = true;
      return taken;
    }
    const to = this.byMac.get(macKey(frame));
    if (to !== undefined) {
      if (to === from) {
        this.stats.dropped++;
        return false;
      }
      this.stats.forwarded++;
      return to.receiveFrame(frame);
    }
    if (from === this.uplink) {
      this.stats.dropped++;
      return false;
    }
    this.stats.toUplink++;
    return this.uplink.receiveFrame(frame);
  }
}
