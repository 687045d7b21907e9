// A test-only stand-in for what the guest will see of a virtio-net VF once the VMM assigns it through
// the virtio-vfio-pci variant driver: a transitional virtio-net function (1af4:1000, revision 0,
// subsystem 1af4:0001) with a 32-byte legacy I/O BAR0 and, optionally, MSI-X. BAR0 accesses go to the
// VF's legacy register view the way the variant forwards them to the PF's admin queue (common header
// below VIRTIO_PCI_CONFIG_OFF(msix), device configuration above it, QUEUE_NOTIFY straight to the VF's
// notify register); the guest's MSI-X enable is mirrored onto the VF; the VF's interrupts come back
// as this function's MSI-X messages, or as INTx driven from the VF's ISR status.
import type { DeviceModel } from '../../src/hw/deviceModel.js';
import type { Hardware } from '../../src/hw/hardware.js';
import type { InterruptSink } from '../../src/hw/interrupts.js';
import type { PciFunction } from '../../src/hw/pciFunction.js';
import type { EndpointSpec } from '../../src/hw/spec.js';
import type { VirtioNetDevice } from '../../src/hw/devices/virtio/virtioNetDevice.js';
import type { SplitVirtqueue } from '../../src/hw/devices/virtio/virtqueue.js';
import {
  VIRTIO_ID_NET, VIRTIO_PCI_CONFIG_OFF, VIRTIO_PCI_QUEUE_NOTIFY, VIRTIO_PCI_QUEUE_NUM, VIRTIO_PCI_VENDOR_ID, VIRTIO_TRANS_ID_NET,
} from '../../src/hw/devices/virtio/virtioSpec.js';
import { PCI_CAP_ID_MSIX, PCI_CAPABILITY_LIST, PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE, PCI_MSIX_FLAGS_MASKALL } from '../../src/hw/pciRegs.js';

export const STANDIN_VECTORS = 3;
const MSIX_TABLE = 0x5000;
const MSIX_PBA = 0x6000;
/** the message the VF's MSI-X entry i carries: vector index i as data, to an address no one else uses */
const HOST_MSI_ADDR = 0xfee00000;

export interface StandInOptions {
  /** an MSI-X capability (table in BAR2, like the VF's); default true */
  msix?: boolean;
  /** MSI-X vectors (default 3, as the VF has) */
  vectors?: number;
  /** feature bits OR-ed into HOST_FEATURES reads (a device that claims what it does not have) */
  extraHostFeatures?: number;
  /** QUEUE_NUM reads 0 for every queue (a device without usable queues) */
  noQueues?: boolean;
}

/** The guest-visible function: what the variant driver presents for a VF (BAR0 I/O, BAR2 as the VF's). */
export function standInSpec(msix: boolean, vectors = STANDIN_VECTORS): EndpointSpec {
  return {
    vendorId: VIRTIO_PCI_VENDOR_ID,
    deviceId: VIRTIO_TRANS_ID_NET,
    classCode: 0x020000,
    revision: 0,
    subsystemVendorId: VIRTIO_PCI_VENDOR_ID,
    subsystemId: VIRTIO_ID_NET,
    interruptPin: 1,
    bars: [{ kind: 'io', size: 32 }, null, { kind: 'mem64', size: 0x8000 }, null, null, null],
    capabilities: msix ? [{ id: 'msix', vectors, tableBar: 2, tableOffset: MSIX_TABLE, pbaBar: 2, pbaOffset: MSIX_PBA }] : [],
  };
}

function findCap(hw: Hardware, bdf: string, id: number): number {
  let pos = hw.configRead(bdf, PCI_CAPABILITY_LIST, 1) & 0xfc;
  for (let n = 0; pos >= 0x40 && n < 48; n++) {
    const hdr = hw.configRead(bdf, pos, 2);
    if ((hdr & 0xff) === id) return pos;
    pos = (hdr >> 8) & 0xfc;
  }
  return 0;
}

/**
 * The stand-in's device model. `attach` it to the guest function addFunction created; the host
 * Hardware's interrupt sink must hand the VF's messages to `hostMsi` (see routeHostInterrupts).
 */
export class LegacyVirtioStandIn implements DeviceModel {
  fn: PciFunction | null = null;
  readonly device: VirtioNetDevice;
  /** accesses the variant would refuse (not one whole register or field): reads all-ones, writes dropped */
  refused = 0;
  private readonly msixCap: number;
  private vfMsix = false;

  constructor(
    readonly hostHw: Hardware,
    readonly vf: PciFunction,
    readonly options: StandInOptions = {},
  ) {
    this.device = vf.model as VirtioNetDevice;
    this.msixCap = findCap(hostHw, vf.bdf, PCI_CAP_ID_MSIX);
    // the VF has no INTx pin: the variant's INTx follows the VF's ISR status instead
    const dev = this.device as unknown as { queueInterrupt(q: SplitVirtqueue): void; configChanged(): void };
    const queueInterrupt = dev.queueInterrupt.bind(dev);
    const configChanged = dev.configChanged.bind(dev);
    dev.queueInterrupt = (q) => {
      queueInterrupt(q);
      this.syncIntx();
    };
    dev.configChanged = () => {
      configChanged();
      this.syncIntx();
    };
  }

  attach(fn: PciFunction): void {
    this.fn = fn;
  }

  private get guestMsix(): boolean {
    return this.fn?.msixEnabled ?? false;
  }

  /** Mirrors the guest's MSI-X enable onto the VF (what the VMM's SET_IRQS does through vfio). */
  private syncMsix(): void {
    const want = this.guestMsix;
    if (want === this.vfMsix || this.msixCap === 0) return;
    const bdf = this.vf.bdf;
    const ctl = this.msixCap + PCI_MSIX_FLAGS;
    if (want) {
      this.hostHw.configWrite(bdf, ctl, 2, this.hostHw.configRead(bdf, ctl, 2) | PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
      const m = this.vf.msix!;
      for (let i = 0; i < m.tableBytes / 16; i++) {
        const e = m.tableOffset + 16 * i;
        this.vf.barWrite(m.tableBar, e, 4, HOST_MSI_ADDR);
        this.vf.barWrite(m.tableBar, e + 4, 4, 0);
        this.vf.barWrite(m.tableBar, e + 8, 4, i);
        this.vf.barWrite(m.tableBar, e + 12, 4, 0);
      }
      this.hostHw.configWrite(bdf, ctl, 2, (this.hostHw.configRead(bdf, ctl, 2) | PCI_MSIX_FLAGS_ENABLE) & ~PCI_MSIX_FLAGS_MASKALL);
    } else {
      this.hostHw.configWrite(bdf, ctl, 2, this.hostHw.configRead(bdf, ctl, 2) & ~(PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL));
    }
    this.vfMsix = want;
    this.syncIntx();
  }

  /** INTx level of the guest function: the VF's ISR status while MSI-X is off. */
  syncIntx(): void {
    this.fn?.setIntx(!this.vfMsix && this.device.isr !== 0);
  }

  /** A message from the VF (its entry i carries data i) becomes the guest function's MSI-X vector i. */
  hostMsi(data: number): void {
    this.syncMsix();
    const m = this.fn?.msix;
    if (this.fn?.msixEnabled && m && data < m.tableBytes / 16) this.fn.raiseMsix(data);
  }

  barRead(_fn: PciFunction, bar: number, offset: number, size: 1 | 2 | 4): number {
    if (bar !== 0) return 0;
    this.syncMsix();
    const ones = size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff;
    const cfg = VIRTIO_PCI_CONFIG_OFF(this.vfMsix);
    let v: number;
    if (offset < cfg) {
      const view = this.device.legacyCommon;
      if (view.single(offset, size) === undefined) {
        this.refused++;
        return ones;
      }
      v = view.read(offset, size);
    } else {
      const off = offset - cfg;
      const field = this.device.deviceConfigField(off);
      if (field === null || off + size > field[1]) {
        this.refused++;
        return ones;
      }
      const b = this.device.readDeviceConfig(off, size);
      v = 0;
      for (let i = size - 1; i >= 0; i--) v = v * 256 + b[i];
    }
    if (offset === 0) v = (v | (this.options.extraHostFeatures ?? 0)) >>> 0;
    if (offset === VIRTIO_PCI_QUEUE_NUM && this.options.noQueues) v = 0;
    this.syncIntx();
    return v >>> 0;
  }

  barWrite(_fn: PciFunction, bar: number, offset: number, size: 1 | 2 | 4, value: number): void {
    if (bar !== 0) return;
    this.syncMsix();
    if (offset === VIRTIO_PCI_QUEUE_NOTIFY && size === 2) {
      // straight to the VF's notify register, as the variant driver does
      const l = this.device.layout;
      this.hostHw.mmioWrite(this.vf.barBase(l.bar) + l.legacyNotify, 2, value & 0xffff);
      this.syncIntx();
      return;
    }
    const cfg = VIRTIO_PCI_CONFIG_OFF(this.vfMsix);
    if (offset < cfg) {
      const view = this.device.legacyCommon;
      if (view.single(offset, size) === undefined) this.refused++;
      else view.write(offset, size, value);
    } else {
      const off = offset - cfg;
      const field = this.device.deviceConfigField(off);
      if (field === null || off + size > field[1]) this.refused++;
      else {
        const b = new Uint8Array(size);
        for (let i = 0; i < size; i++) b[i] = (value >>> (8 * i)) & 0xff;
        this.device.writeDeviceConfig(off, b, true);
      }
    }
    this.syncIntx();
  }
}

/** The host Hardware's interrupt sink: each VF's messages go to its stand-in; the rest is counted. */
export function routeHostInterrupts(hostHw: Hardware, standIns: LegacyVirtioStandIn[]): { other: number } {
  const byVf = new Map(standIns.map((s) => [s.vf, s]));
  const counts = { other: 0 };
  const sink: InterruptSink = {
    msi(addressLo, _hi, data, source) {
      const s = byVf.get(source);
      if (s !== undefined && addressLo === HOST_MSI_ADDR) s.hostMsi(data);
      else counts.other++;
    },
    intx() {
      counts.other++;
    },
  };
  hostHw.setInterruptSink(sink);
  return counts;
}
