// Shared set-up for the virtio-vfio-pci tests: a virtio-net PF driven by the host's virtio-pci
// driver, VFs enabled through sriov_numvfs (host.sriovConfigure), and a VF bound to virtio-vfio-pci
// and opened; a legacy (virtio 0.9.5) driver harness working only through the device file.
import { expect } from 'vitest';
import { createEmulator } from '../../../src/emulator.js';
import type { Emulator } from '../../../src/emulator.js';
import { DriverVirtqueue } from '../../../src/hw/devices/virtio/driverVirtqueue.js';
import type { VirtioNetDevice } from '../../../src/hw/devices/virtio/virtioNetDevice.js';
import type { VirtioNetPf } from '../../../src/hw/devices/virtio/virtioNetPf.js';
import {
  VIRTIO_CONFIG_S_ACKNOWLEDGE, VIRTIO_CONFIG_S_DRIVER, VIRTIO_CONFIG_S_DRIVER_OK, VIRTIO_NET_F_MAC, VIRTIO_NET_F_STATUS,
} from '../../../src/hw/devices/virtio/virtioSpec.js';
import type { VfioDeviceFile } from '../../../src/host/vfio/deviceFile.js';
import { VFIO } from '../../../src/host/vfio/uapi/constants.js';
import { VfioError } from '../../../src/host/vfio/vfioError.js';
import { VfioClient, regionOffset } from '../../../src/vmm/vfioClient.js';

export { VFIO, VfioClient, VfioError, regionOffset };

export const PF = '0000:00:04.0';
export const VF1 = '0000:00:04.1';
export const VF2 = '0000:00:04.2';
export const VF3 = '0000:00:04.3';
export const BAR0 = VFIO.PCI_BAR0_REGION_INDEX;
export const CFG = VFIO.PCI_CONFIG_REGION_INDEX;

// legacy register layout (virtio 1.3 4.1.4.10)
export const HOST_FEATURES = 0;
export const GUEST_FEATURES = 4;
export const QUEUE_PFN = 8;
export const QUEUE_NUM = 12;
export const QUEUE_SEL = 14;
export const QUEUE_NOTIFY = 16;
export const STATUS = 18;
export const ISR = 19;
export const CONFIG_VECTOR = 20;
export const QUEUE_VECTOR = 22;
export const configOff = (msix: boolean) => (msix ? 24 : 20);

export interface VirtioVfMachine {
  emu: Emulator;
  pf: VirtioNetPf;
  vfs: string[];
}

/** A virtio-net PF (TotalVFs `totalVfs`) bound to virtio-pci, with `numVfs` VFs enabled through sriov_numvfs. */
export async function virtioVfMachine(numVfs = 2, totalVfs = 4): Promise<VirtioVfMachine> {
  const emu = await createEmulator();
  const pf = emu.hw.addVirtioNet(PF, { totalVfs });
  expect(emu.host.pciDev(PF).driver?.name).toBe('virtio-pci');
  if (numVfs > 0) expect(emu.host.sriovConfigure(PF, numVfs)).toBe(numVfs);
  const vfs = pf.vfs.map((v) => v.bdf);
  return { emu, pf, vfs };
}

/** The virtio device behind a VF (the hardware model; for assertions only). */
export function vfDevice(m: VirtioVfMachine, n: number): VirtioNetDevice {
  return m.pf.member(n)!;
}

/** Binds `bdf` (best vfio alias: virtio-vfio-pci), opens it, and turns on I/O decode and bus mastering. */
export function openVf(emu: Emulator, bdf: string): { file: VfioDeviceFile; c: VfioClient } {
  if (emu.host.pciDev(bdf).driver === null) expect(emu.host.bind(bdf)).toBe('virtio-vfio-pci');
  const file = emu.host.openDevice(bdf);
  const c = new VfioClient(file);
  c.configWrite(4, 2, 0x0007); // IO | MEMORY | MASTER
  return { file, c };
}

// errno / outcome: one copy, in the vfio tests' machine
export { errno, outcome } from '../vfio/machine.js';

/** BAR0 accesses of the legacy interface through the device file. */
export class LegacyBar {
  constructor(readonly file: VfioDeviceFile) {}

  read(off: number, size: number): number {
    const b = this.file.read(regionOffset(BAR0, off), size);
    let v = 0;
    for (let i = b.length - 1; i >= 0; i--) v = v * 256 + b[i];
    return v;
  }

  write(off: number, size: number, value: number): number {
    const b = new Uint8Array(size);
    for (let i = 0; i < size; i++) b[i] = Math.floor(value / 2 ** (8 * i)) & 0xff;
    return this.file.write(regionOffset(BAR0, off), b);
  }
}

/** What a legacy virtio-net driver set up: its rings in guest memory and where its buffers go. */
export interface LegacyNet {
  bar: LegacyBar;
  msix: boolean;
  hostFeatures: number;
  guestFeatures: number;
  mac: number[];
  queueSizes: number[];
  rx: DriverVirtqueue;
  tx: DriverVirtqueue;
  /** legacy struct virtio_net_hdr: 10 bytes without MRG_RXBUF */
  hdr: number;
  rxAddr: Map<number, number>;
  txBuf: number;
}

/**
 * The legacy driver sequence a virtio 0.9.5 guest runs (Linux virtio_pci_legacy + virtio_net):
 * reset, ACKNOWLEDGE, DRIVER, host features read and guest features written, the MAC read byte by
 * byte from the device configuration, each queue selected, its size read and QUEUE_PFN set (with
 * MSI-X: a vector per queue and for configuration changes), DRIVER_OK, receive buffers posted and
 * the receive queue kicked. Rings and buffers at `region` (1 MiB, page aligned) of guest memory.
 */
export function legacyBringUp(emu: Emulator, file: VfioDeviceFile, region: number, msix: boolean, rxBuffers = 8): LegacyNet {
  const bar = new LegacyBar(file);
  bar.write(STATUS, 1, 0);
  expect(bar.read(STATUS, 1)).toBe(0);
  bar.write(STATUS, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE);
  bar.write(STATUS, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
  const hostFeatures = bar.read(HOST_FEATURES, 4);
  const guestFeatures = hostFeatures & ((1 << VIRTIO_NET_F_MAC) | (1 << VIRTIO_NET_F_STATUS));
  bar.write(GUEST_FEATURES, 4, guestFeatures);
  expect(bar.read(GUEST_FEATURES, 4)).toBe(guestFeatures);
  if (msix) {
    bar.write(CONFIG_VECTOR, 2, 0);
    expect(bar.read(CONFIG_VECTOR, 2)).toBe(0);
  }
  const mac: number[] = [];
  for (let i = 0; i < 6; i++) mac.push(bar.read(configOff(msix) + i, 1));
  const queueSizes: number[] = [];
  const queues: DriverVirtqueue[] = [];
  const memory = emu.memory;
  for (let q = 0; q < 2; q++) {
    bar.write(QUEUE_SEL, 2, q);
    const size = bar.read(QUEUE_NUM, 2);
    queueSizes.push(size);
    const vq = new DriverVirtqueue(memory, region + q * 0x10000, size, 'legacy');
    bar.write(QUEUE_PFN, 4, vq.pfn);
    expect(bar.read(QUEUE_PFN, 4)).toBe(vq.pfn);
    if (msix) {
      bar.write(QUEUE_VECTOR, 2, q + 1);
      expect(bar.read(QUEUE_VECTOR, 2)).toBe(q + 1);
    }
    queues.push(vq);
  }
  bar.write(STATUS, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_DRIVER_OK);
  const [rx, tx] = queues;
  const rxAddr = new Map<number, number>();
  for (let i = 0; i < rxBuffers; i++) {
    const addr = region + 0x40000 + i * 2048;
    rxAddr.set(rx.add([{ addr, len: 2048, write: true }]), addr);
  }
  bar.write(QUEUE_NOTIFY, 2, 0);
  return { bar, msix, hostFeatures, guestFeatures, mac, queueSizes, rx, tx, hdr: 10, rxAddr, txBuf: region + 0x80000 };
}

/** Puts one frame (after a zeroed legacy header) on the transmit queue and kicks it. */
export function legacyTransmit(emu: Emulator, n: LegacyNet, frame: Uint8Array): void {
  const addr = n.txBuf + (n.tx.availIdx % 64) * 2048;
  emu.memory.bytes.fill(0, addr, addr + n.hdr);
  emu.memory.write(addr + n.hdr, frame);
  n.tx.add([{ addr, len: n.hdr + frame.length }]);
  n.bar.write(QUEUE_NOTIFY, 2, 1);
}

/** Frames the device put in the receive queue since the last call (header stripped); buffers reposted. */
export function legacyReceived(emu: Emulator, n: LegacyNet): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const u of n.rx.takeUsed()) {
    const addr = n.rxAddr.get(u.head)!;
    n.rxAddr.delete(u.head);
    out.push(emu.memory.read(addr + n.hdr, u.len - n.hdr));
    n.rxAddr.set(n.rx.add([{ addr, len: 2048, write: true }]), addr);
  }
  return out;
}

/** MSI-X vectors 0..count-1 of the device wired to new eventfds (SET_IRQS, DATA_EVENTFD | TRIGGER). */
export function enableMsix(emu: Emulator, c: VfioClient, count: number) {
  const efds = Array.from({ length: count }, () => emu.host.eventfd());
  c.setIrqs(VFIO.PCI_MSIX_IRQ_INDEX, VFIO.IRQ_SET_ACTION_TRIGGER, 0, { kind: 'eventfd', fds: efds.map((e) => e.fd) });
  return efds;
}

/** The state of a VF's virtio device that a legacy access could change, as one comparable value. */
export function vfState(dev: VirtioNetDevice): unknown {
  return {
    status: dev.status,
    features: [dev.driverFeaturesLo, dev.driverFeaturesHi],
    selects: [dev.deviceFeatureSelect, dev.driverFeatureSelect, dev.queueSelect],
    configVector: dev.configVector,
    isr: dev.isr,
    legacy: dev.legacy,
    mac: Array.from(dev.mac),
    queues: dev.queues.map((q) => [q.size, q.enabled, q.msixVector, q.descAddr, q.availAddr, q.usedAddr, q.legacyPfn, q.lastAvailIdx, q.usedIdx]),
    stats: { ...dev.stats },
  };
}
