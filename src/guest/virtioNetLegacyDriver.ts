import type { GuestMemory } from '../hw/guestMemory.js';
import {
  VIRTIO_CONFIG_S_ACKNOWLEDGE, VIRTIO_CONFIG_S_DRIVER, VIRTIO_CONFIG_S_DRIVER_OK, VIRTIO_CONFIG_S_FAILED, VIRTIO_CONFIG_S_NEEDS_RESET,
  VIRTIO_F_VERSION_1, VIRTIO_NET_CFG_MAC, VIRTIO_NET_CFG_STATUS, VIRTIO_NET_F_MAC, VIRTIO_NET_F_STATUS, VIRTIO_NET_HDR_LEGACY_SIZE,
  VIRTIO_NET_S_LINK_UP,
} from '../hw/devices/virtio/virtioSpec.js';
import { DriverError } from './driverError.js';
import type { LegacyIo } from './legacyIo.js';
import type { VirtioIrqProvider } from './virtioIrqProvider.js';
import type { DmaAlloc, VqIrqMode } from './virtioPciLegacyDevice.js';
import { VirtioPciLegacyDevice } from './virtioPciLegacyDevice.js';
import type { Vring } from './vring.js';

/** ETH_HLEN + VLAN_HLEN + ETH_DATA_LEN: the largest frame a small receive buffer holds (GOOD_PACKET_LEN). */
export const GOOD_PACKET_LEN = 14 + 4 + 1500;
const ETH_HLEN = 14;
/** NAPI_POLL_WEIGHT */
const NAPI_BUDGET = 64;
const RX_SLOT = 1536;
const TX_SLOT = 2048;
/** where the frame starts in a transmit slot (the 10-byte header sits in its own piece before it) */
const TX_DATA = 16;

export interface VirtioNetLegacyOptions {
  /** the legacy I/O BAR */
  io: LegacyIo;
  /** guest memory (rings and buffers; guest-physical = DMA addresses) */
  memory: GuestMemory;
  dma: DmaAlloc;
  irq: VirtioIrqProvider;
  /**
   * The device-specific feature bits the driver accepts (default VIRTIO_NET_F_MAC and
   * VIRTIO_NET_F_STATUS); the ring's transport bits (VIRTIO_F_RING_INDIRECT_DESC) are added when the
   * device offers them, and nothing above bit 31 exists here (no VERSION_1 on the legacy interface).
   */
  features?: number[];
  /** a received frame (Ethernet header onwards, the virtio_net_hdr stripped) */
  onReceive?: (frame: Uint8Array) => void;
  /** The link went up or down (VIRTIO_NET_S_LINK_UP changed; netif_carrier_on/off). */
  onLinkChange?: (up: boolean) => void;
  /** the driver noticed something wrong with the device (NEEDS_RESET, a broken ring) */
  onError?: (message: string) => void;
}

export interface VirtioNetLegacyStats {
  rxPackets: number;
  rxBytes: number;
  rxLengthErrors: number;
  rxKicks: number;
  txPackets: number;
  txBytes: number;
  txDropped: number;
  txCompleted: number;
  txKicks: number;
  /** recoveries from NEEDS_RESET */
  resets: number;
}

export type VirtioNetLegacyState = 'new' | 'probed' | 'failed' | 'removed';

/**
 * A virtio-net driver for the legacy virtio PCI interface, doing what Linux's virtio_net does over
 * virtio_pci's legacy transport (a guest with force_legacy, or one that predates virtio 1.0):
 *
 * - probe = register_virtio_device (reset, ACKNOWLEDGE) + virtio_dev_probe (DRIVER, 32-bit feature
 *   negotiation) + virtnet_probe (MAC byte by byte, init_vqs through find_vqs with MSI-X vectors or
 *   INTx, DRIVER_OK, link status deferred until open);
 * - open = virtnet_open: receive buffers (a 10-byte virtio_net_hdr and GOOD_PACKET_LEN in one
 *   device-writable piece) fill the receive queue, one kick, then configuration changes flow and the
 *   link status is read;
 * - transmit = start_xmit: header and frame as two pieces (one indirect descriptor when negotiated),
 *   kick through QUEUE_NOTIFY, transmit completions reclaimed;
 * - interrupts: per-vector handlers under MSI-X, vp_interrupt reading the ISR under INTx;
 * - remove = virtnet_remove + virtio_dev_remove: reset, unused buffers back, queues deactivated,
 *   vectors released, ACKNOWLEDGE again.
 *
 * Deferred work (the config work, recovery) runs when runWork() is called, as a kworker would run it
 * after the interrupt. Beyond Linux, a configuration-change interrupt also reads the device status:
 * NEEDS_RESET is reported (onError) and the device is reset and brought back the way
 * virtio_device_freeze + virtio_device_restore do it, with the interface as it was.
 */
export class VirtioNetLegacyDriver {
  /** The legacy virtio PCI transport (virtio_pci_legacy_dev) the driver runs on. */
  readonly dev: VirtioPciLegacyDevice;
  /** Guest memory holding the rings and packet buffers. */
  readonly memory: GuestMemory;
  /** The interface's MAC address (from the device config with VIRTIO_NET_F_MAC, else random). */
  mac: Uint8Array = new Uint8Array(6);
  /** bytes of struct virtio_net_hdr in front of every frame: 10 (no MRG_RXBUF, no VERSION_1) */
  readonly hdrLen = VIRTIO_NET_HDR_LEGACY_SIZE;
  /** Where probe left the driver: new, probed, failed or removed. */
  state: VirtioNetLegacyState = 'new';
  /** netif_running: the interface is up */
  running = false;
  /** netif_carrier_ok */
  carrier = false;
  /** vi->status: VIRTIO_NET_S_LINK_UP as last read */
  linkStatus = 0;
  /** Every error the driver reported, in order (the dev_err lines). */
  readonly errors: string[] = [];
  /** Packet, byte, error, kick and reset counters (like the interface's ethtool/netdev stats). */
  readonly stats: VirtioNetLegacyStats = {
    rxPackets: 0, rxBytes: 0, rxLengthErrors: 0, rxKicks: 0, txPackets: 0, txBytes: 0, txDropped: 0, txCompleted: 0, txKicks: 0, resets: 0,
  };
  /** Called with each received frame (without the virtio_net_hdr); null drops them. */
  onReceive: ((frame: Uint8Array) => void) | null;
  private readonly options: VirtioNetLegacyOptions;
  private readonly driverFeatures: number;
  private rq: Vring<number> | null = null;
  private sq: Vring<number> | null = null;
  private rxPool = 0;
  private rxSlots = 0;
  private txPool = 0;
  private txSlots = 0;
  private rxFree: number[] = [];
  private txFree: number[] = [];
  private configWorkPending = false;
  private resetWorkPending = false;
  private inRxPoll = false;

  constructor(options: VirtioNetLegacyOptions) {
    this.options = options;
    this.memory = options.memory;
    this.onReceive = options.onReceive ?? null;
    this.dev = new VirtioPciLegacyDevice(options.io, options.memory, options.dma, options.irq);
    this.dev.configChangedHandler = () => (this.configWorkPending = true);
    let f = 0;
    for (const bit of options.features ?? [VIRTIO_NET_F_MAC, VIRTIO_NET_F_STATUS]) {
      if (!Number.isInteger(bit) || bit < 0 || bit > 23) throw new RangeError(`feature bit ${bit} is not a virtio-net device feature of the legacy interface`);
      f |= 1 << bit;
    }
    this.driverFeatures = f >>> 0;
  }

  /** The receive and transmit queues (receiveq1, transmitq1) while set up. */
  get rxQueue(): Vring<number> | null {
    return this.rq;
  }
  /** The transmit queue (transmitq1) while set up. */
  get txQueue(): Vring<number> | null {
    return this.sq;
  }

  /** How the device interrupts (vp_find_vqs' choice: one MSI-X vector per queue, shared MSI-X vectors, or INTx); null before probe. */
  get irqMode(): VqIrqMode | null {
    return this.dev.irqMode;
  }

  /** The features negotiated with the device (32 bits: legacy devices have no high half). */
  get features(): number {
    return this.dev.features;
  }

  private report(message: string): void {
    this.errors.push(message);
    this.options.onError?.(message);
  }

  // ---- probe -------------------------------------------------------------------------------------

  /** register_virtio_device + virtio_dev_probe + virtnet_probe. Throws DriverError when it fails. */
  probe(): void {
    if (this.state === 'probed') throw new Error('already probed');
    const dev = this.dev;
    dev.register();
    dev.negotiate(this.driverFeatures);
    try {
      this.virtnetProbe();
    } catch (e) {
      if (e instanceof DriverError) {
        dev.fail();
        this.state = 'failed';
      }
      throw e;
    }
    dev.probeDone();
    this.state = 'probed';
  }

  private virtnetProbe(): void {
    const dev = this.dev;
    if (dev.hasFeature(VIRTIO_NET_F_MAC)) {
      this.mac = dev.transport.get(VIRTIO_NET_CFG_MAC, 6);
    } else {
      // eth_hw_addr_random: locally administered, unicast
      const r = new Uint8Array(6);
      globalThis.crypto.getRandomValues(r);
      r[0] = (r[0] & 0xfe) | 0x02;
      this.mac = r;
    }
    this.initVqs();
    this.dev.configDriverDisable();
    dev.deviceReady();
    this.carrier = false;
    if (dev.hasFeature(VIRTIO_NET_F_STATUS)) {
      dev.configChanged();
    } else {
      this.linkStatus = VIRTIO_NET_S_LINK_UP;
      this.carrier = true;
    }
  }

  /** init_vqs: receiveq1 and transmitq1 through find_vqs, then their buffers. */
  private initVqs(): void {
    const [rq, sq] = this.dev.findVqs([
      { name: 'input.0', callback: () => this.skbRecvDone(), maxSg: 1 },
      { name: 'output.0', callback: () => this.skbXmitDone(), maxSg: 2 },
    ]);
    this.rq = rq!;
    this.sq = sq!;
    this.allocPools();
  }

  /** Receive and transmit buffer memory, once (reused after a reset when the queues are no larger). */
  private allocPools(): void {
    const rq = this.rq!;
    const sq = this.sq!;
    if (this.rxSlots < rq.num) {
      this.rxPool = this.options.dma.alloc(rq.num * RX_SLOT, 64);
      this.rxSlots = rq.num;
    }
    if (this.txSlots < sq.num) {
      this.txPool = this.options.dma.alloc(sq.num * TX_SLOT, 64);
      this.txSlots = sq.num;
    }
    this.rxFree = [];
    for (let i = rq.num - 1; i >= 0; i--) this.rxFree.push(i);
    this.txFree = [];
    for (let i = sq.num - 1; i >= 0; i--) this.txFree.push(i);
  }

  private rxAddr(slot: number): number {
    return this.rxPool + slot * RX_SLOT;
  }

  private txAddr(slot: number): number {
    return this.txPool + slot * TX_SLOT;
  }

  // ---- open / close ------------------------------------------------------------------------------------

  /** virtnet_open (ip link set up). */
  open(): void {
    if (this.state !== 'probed') throw new Error(`cannot open a device in state ${this.state}`);
    if (this.running) return;
    this.running = true;
    this.virtnetOpen();
    this.runWork();
  }

  private virtnetOpen(): void {
    this.tryFillRecv();
    this.rxPoll(); // napi enable schedules a poll: anything already received is taken
    this.txPoll();
    if (this.dev.hasFeature(VIRTIO_NET_F_STATUS)) {
      if (this.linkStatus & VIRTIO_NET_S_LINK_UP) this.setCarrier(true);
      this.dev.configDriverEnable();
    } else {
      this.linkStatus = VIRTIO_NET_S_LINK_UP;
      this.setCarrier(true);
    }
  }

  /** virtnet_close (ip link set down): no register access; config changes wait until the next open. */
  close(): void {
    if (!this.running) return;
    this.running = false;
    this.dev.configDriverDisable();
    this.configWorkPending = false; // cancel_work_sync(&vi->config_work)
    this.setCarrier(false);
  }

  private setCarrier(on: boolean): void {
    if (this.carrier === on) return;
    this.carrier = on;
    this.options.onLinkChange?.(on);
  }

  // ---- receive -----------------------------------------------------------------------------------------

  /** try_fill_recv: small buffers until the ring is full, then one kick. */
  private tryFillRecv(): void {
    const rq = this.rq;
    if (rq === null) return;
    const len = this.hdrLen + GOOD_PACKET_LEN;
    while (rq.numFree > 0 && this.rxFree.length > 0) {
      const slot = this.rxFree.pop()!;
      if (!rq.add([], [{ addr: this.rxAddr(slot), len }], slot)) {
        this.rxFree.push(slot);
        break;
      }
    }
    if (rq.kickPrepare() && !rq.broken) {
      this.dev.transport.notify(rq.index);
      this.stats.rxKicks++;
    }
  }

  /** skb_recv_done: the receive queue's interrupt schedules NAPI, which polls at once here. */
  private skbRecvDone(): void {
    this.rxPoll();
  }

  /** virtnet_poll for the receive queue: take used buffers, refill when half empty, re-arm. */
  private rxPoll(): void {
    const rq = this.rq;
    if (rq === null || this.inRxPoll) return;
    this.inRxPoll = true;
    try {
      rq.disableCb();
      for (;;) {
        let received = 0;
        for (let b = rq.getBuf(); b !== null; b = received < NAPI_BUDGET ? rq.getBuf() : null) {
          received++;
          this.receiveBuf(b.token, b.len);
        }
        if (rq.broken) {
          this.report(`receive queue broken: ${rq.brokenReason}`);
          return;
        }
        if (rq.numFree > Math.min(NAPI_BUDGET, rq.num) / 2) this.tryFillRecv();
        if (received < NAPI_BUDGET && rq.enableCb()) return;
        rq.disableCb();
      }
    } finally {
      this.inRxPoll = false;
    }
  }

  /** receive_buf / receive_small: length checks, header stripped, frame handed up. */
  private receiveBuf(slot: number, len: number): void {
    const addr = this.rxAddr(slot);
    this.rxFree.push(slot);
    if (len < this.hdrLen + ETH_HLEN || len - this.hdrLen > GOOD_PACKET_LEN) {
      this.stats.rxLengthErrors++;
      return;
    }
    const frame = this.memory.read(addr + this.hdrLen, len - this.hdrLen);
    this.stats.rxPackets++;
    this.stats.rxBytes += frame.length;
    if (this.running) this.onReceive?.(frame);
  }

  // ---- transmit ----------------------------------------------------------------------------------------

  /**
   * start_xmit: the frame (Ethernet header onwards, at most GOOD_PACKET_LEN bytes) behind a zeroed
   * virtio_net_hdr, kicked at once. False when the interface is down, has no carrier, or the ring is
   * full (the frame is dropped).
   */
  transmit(frame: Uint8Array): boolean {
    const sq = this.sq;
    if (!this.running || !this.carrier || sq === null || sq.broken) {
      this.stats.txDropped++;
      return false;
    }
    if (frame.length < ETH_HLEN || frame.length > GOOD_PACKET_LEN) throw new RangeError(`frame of ${frame.length} bytes`);
    sq.disableCb();
    this.freeOldXmit();
    const slot = this.txFree.pop();
    if (slot === undefined) {
      this.stats.txDropped++;
      sq.enableCbDelayed();
      return false;
    }
    const addr = this.txAddr(slot);
    this.memory.bytes.fill(0, addr, addr + this.hdrLen);
    this.memory.write(addr + TX_DATA, frame);
    if (!sq.add([{ addr, len: this.hdrLen }, { addr: addr + TX_DATA, len: frame.length }], [], slot)) {
      this.txFree.push(slot);
      this.stats.txDropped++;
      sq.enableCbDelayed();
      return false;
    }
    this.stats.txPackets++;
    this.stats.txBytes += frame.length;
    if (sq.kickPrepare()) {
      this.dev.transport.notify(sq.index);
      this.stats.txKicks++;
    }
    if (!sq.enableCbDelayed()) this.txPoll();
    return true;
  }

  /** skb_xmit_done: transmit completions (NAPI tx) reclaimed at once. */
  private skbXmitDone(): void {
    this.txPoll();
  }

  private txPoll(): void {
    const sq = this.sq;
    if (sq === null) return;
    sq.disableCb();
    do this.freeOldXmit();
    while (!sq.enableCb());
  }

  private freeOldXmit(): void {
    const sq = this.sq!;
    for (let b = sq.getBuf(); b !== null; b = sq.getBuf()) {
      this.txFree.push(b.token);
      this.stats.txCompleted++;
    }
    if (sq.broken && !this.errors.some((e) => e.startsWith('transmit queue broken'))) this.report(`transmit queue broken: ${sq.brokenReason}`);
  }

  /**
   * virtnet_set_mac_address on a legacy device without a control queue: the new address written to
   * the device configuration one byte at a time.
   */
  setMacAddress(mac: Uint8Array): void {
    if (mac.length !== 6 || (mac[0] & 1) !== 0) throw new RangeError('not a unicast MAC address');
    if (this.dev.hasFeature(VIRTIO_NET_F_MAC) && !this.dev.hasFeature(VIRTIO_F_VERSION_1)) {
      for (let i = 0; i < 6; i++) this.dev.transport.set(VIRTIO_NET_CFG_MAC + i, mac.subarray(i, i + 1));
    }
    this.mac = mac.slice();
  }

  // ---- deferred work -----------------------------------------------------------------------------------

  /** Runs the work interrupts scheduled (config change, recovery); returns how many items ran. */
  runWork(): number {
    let n = 0;
    while ((this.configWorkPending || this.resetWorkPending) && n < 16) {
      n++;
      if (this.resetWorkPending) {
        this.resetWorkPending = false;
        this.configWorkPending = false;
        this.recover();
        continue;
      }
      this.configWorkPending = false;
      this.configWork();
    }
    return n;
  }

  /** virtnet_config_changed_work, preceded (after a device interrupt) by the NEEDS_RESET check. */
  private configWork(): void {
    const dev = this.dev;
    if (dev.takeConfigInterrupt()) {
      const status = dev.getStatus();
      if (status & VIRTIO_CONFIG_S_NEEDS_RESET) {
        this.report(`device needs reset (status 0x${status.toString(16).padStart(2, '0')})`);
        this.resetWorkPending = true;
        return;
      }
    }
    if (!dev.hasFeature(VIRTIO_NET_F_STATUS)) return;
    const v = dev.transport.cread16(VIRTIO_NET_CFG_STATUS) & VIRTIO_NET_S_LINK_UP;
    if (v === this.linkStatus) return;
    this.linkStatus = v;
    this.setCarrier(v !== 0);
  }

  /**
   * Brings a device that asked for a reset back: virtio_device_freeze (virtnet_freeze: close if up,
   * reset, unused buffers back, queues deleted) then virtio_device_restore (reset, ACKNOWLEDGE,
   * DRIVER, the same features, queues again, DRIVER_OK, open again if the interface was up).
   */
  private recover(): void {
    const dev = this.dev;
    this.stats.resets++;
    // virtio_device_freeze
    dev.configCoreDisable();
    const failed = (dev.getStatus() & VIRTIO_CONFIG_S_FAILED) !== 0;
    const wasRunning = this.running;
    if (wasRunning) this.close();
    this.removeVqCommon();
    // virtio_device_restore
    dev.reset();
    dev.addStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE);
    if (failed) dev.addStatus(VIRTIO_CONFIG_S_FAILED);
    dev.addStatus(VIRTIO_CONFIG_S_DRIVER);
    dev.finalizeFeatures();
    try {
      this.initVqs();
    } catch (e) {
      if (!(e instanceof DriverError)) throw e;
      this.report(`recovery failed: ${e.message}`);
      dev.fail();
      this.state = 'failed';
      return;
    }
    dev.deviceReady();
    if (wasRunning) {
      this.running = true;
      this.virtnetOpen();
    }
    if ((dev.getStatus() & VIRTIO_CONFIG_S_DRIVER_OK) === 0) dev.deviceReady();
    dev.configCoreEnable();
  }

  // ---- teardown ------------------------------------------------------------------------------------------

  /** remove_vq_common: reset, buffers the device still held given back, queues deleted. */
  private removeVqCommon(): void {
    this.dev.reset();
    if (this.sq !== null) for (let t = this.sq.detachUnusedBuf(); t !== null; t = this.sq.detachUnusedBuf()) this.txFree.push(t);
    if (this.rq !== null) for (let t = this.rq.detachUnusedBuf(); t !== null; t = this.rq.detachUnusedBuf()) this.rxFree.push(t);
    this.dev.delVqs();
    this.rq = null;
    this.sq = null;
  }

  /** virtio_dev_remove + virtnet_remove (driver unbind). */
  remove(): void {
    if (this.state !== 'probed') throw new Error(`cannot remove a device in state ${this.state}`);
    const dev = this.dev;
    dev.configCoreDisable();
    // flush_work(&vi->config_work): a queued config work still runs
    if (this.configWorkPending) {
      this.configWorkPending = false;
      this.configWork();
    }
    this.resetWorkPending = false;
    this.close();
    this.removeVqCommon();
    const left = dev.getStatus();
    if (left !== 0) this.report(`status 0x${left.toString(16)} after reset`);
    dev.addStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE);
    this.state = 'removed';
  }
}
