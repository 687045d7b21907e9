/**
 * Something that can take an Ethernet frame from the switch; false if it had to drop it. The frame
 * is borrowed: it may be a view of the sender's buffer in guest memory, valid only during the call,
 * so a port that keeps it copies it.
 */
export interface SwitchPort {
  readonly name: string;
  receiveFrame(frame: Uint8Array): boolean;
}

/** The low 30 bits of a MAC address (6 bytes from `off`): a small-integer key for the lookup table. */
function macLow(b: Uint8Array, off: number): number {
  return ((b[off + 2] & 0x3f) << 24) | (b[off + 3] << 16) | (b[off + 4] << 8) | b[off + 5];
}

function macHigh(b: Uint8Array, off: number): number {
  return (b[off] << 10) | (b[off + 1] << 2) | (b[off + 2] >> 6);
}

interface MacEntry {
  high: number;
  port: SwitchPort;
}

/** 48-bit MAC address (6 bytes from `off`) as a number key. */
export function macKey(b: Uint8Array, off = 0): number {
  return (b[off] * 0x10000 + ((b[off + 1] << 8) | b[off + 2])) * 0x1000000 + ((b[off + 3] << 16) | (b[off + 4] << 8) | b[off + 5]);
}

/**
 * The 6 bytes of a unicast MAC address written "52:54:00:12:34:56".
 * @throws Error for another form or a multicast address
 */
export function parseMac(mac: string): Uint8Array {
  const m = typeof mac === 'string' ? /^([0-9a-fA-F]{2})(?::([0-9a-fA-F]{2})){5}$/.exec(mac) : null;
  if (!m) throw new Error(`mac must look like 52:54:00:12:34:56, got ${JSON.stringify(mac)}`);
  const out = new Uint8Array(mac.split(':').map((h) => parseInt(h, 16)));
  if (out[0] & 1) throw new Error(`mac ${mac} is a multicast address`);
  return out;
}

/** "52:54:00:12:34:56" from the 6 bytes at `off` of `b`. */
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
  /** Port name in stats and logs. */
  readonly name = 'uplink';
  private receiver: ((frame: Uint8Array) => void) | null = null;
  private zeroCopy = false;
  /** frames that left the switch with nothing attached */
  unattachedDrops = 0;

  constructor(private readonly sw: NetSwitch) {}

  /**
   * Receives every frame that leaves through the uplink. The frame is the receiver's to keep; with
   * `zeroCopy` it is instead a view of the sender's buffer in guest memory, valid only during the
   * call (no copy per frame: for receivers that look at the frame and let it go).
   */
  attach(receiver: (frame: Uint8Array) => void, options: { zeroCopy?: boolean } = {}): void {
    if (typeof receiver !== 'function') throw new TypeError('uplink.attach needs a function (frame: Uint8Array) => void');
    this.receiver = receiver;
    this.zeroCopy = options.zeroCopy === true;
  }

  /** Stops delivering frames; later frames leaving the switch are counted in unattachedDrops. */
  detach(): void {
    this.receiver = null;
  }

  /** A receiver is attached. */
  get attached(): boolean {
    return this.receiver !== null;
  }

  /** A frame arrives from the wire; returns whether some port took it. */
  send(frame: Uint8Array): boolean {
    if (!(frame instanceof Uint8Array)) throw new TypeError('uplink.send needs a Uint8Array frame');
    return this.sw.forward(this, frame);
  }

  /** SwitchPort side: the switch hands a frame leaving through the uplink to the receiver (copied unless zeroCopy). */
  receiveFrame(frame: Uint8Array): boolean {
    const r = this.receiver;
    if (r === null) {
      this.unattachedDrops++;
      return false;
    }
    r(this.zeroCopy ? frame : frame.slice());
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
  /** The port where frames leave the switch and enter it from the wire. */
  readonly uplink: Uplink;
  /** Frames forwarded to one port, flooded, sent to the uplink, and dropped. */
  readonly stats: SwitchStats = { forwarded: 0, flooded: 0, toUplink: 0, dropped: 0 };
  private readonly ports: SwitchPort[] = [];
  /** low 30 bits of the MAC -> the ports with such an address (usually one) */
  private readonly byMac = new Map<number, MacEntry[]>();
  private readonly macOf = new Map<SwitchPort, Uint8Array>();

  constructor() {
    this.uplink = new Uplink(this);
  }

  /** Connects a function's port with its MAC address (6 bytes). */
  connect(port: SwitchPort, mac: Uint8Array): void {
    if (!this.ports.includes(port)) this.ports.push(port);
    this.setMac(port, mac);
  }

  /** Removes a function's port and forgets its MAC address. */
  disconnect(port: SwitchPort): void {
    const i = this.ports.indexOf(port);
    if (i >= 0) this.ports.splice(i, 1);
    this.unlearn(port);
  }

  /** The port's device changed its MAC address; the newest owner of an address wins it. */
  setMac(port: SwitchPort, mac: Uint8Array): void {
    this.unlearn(port);
    const m = mac.slice(0, 6);
    this.macOf.set(port, m);
    const key = macLow(m, 0);
    const high = macHigh(m, 0);
    const list = (this.byMac.get(key) ?? []).filter((e) => e.high !== high);
    list.unshift({ high, port });
    this.byMac.set(key, list);
  }

  private unlearn(port: SwitchPort): void {
    const old = this.macOf.get(port);
    if (old === undefined) return;
    this.macOf.delete(port);
    const key = macLow(old, 0);
    const list = this.byMac.get(key)?.filter((e) => e.port !== port) ?? [];
    if (list.length > 0) this.byMac.set(key, list);
    else this.byMac.delete(key);
  }

  /** The port with unicast address `mac` (6 bytes at `off`), if a function has it. */
  portFor(mac: Uint8Array, off = 0): SwitchPort | undefined {
    const list = this.byMac.get(macLow(mac, off));
    if (list === undefined) return undefined;
    const high = macHigh(mac, off);
    for (let i = 0; i < list.length; i++) if (list[i].high === high) return list[i].port;
    return undefined;
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
    const to = this.portFor(frame, 0);
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
