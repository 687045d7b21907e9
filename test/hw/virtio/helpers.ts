// A virtio-net machine for the hw-level virtio tests: PF with its BARs placed, VFs enabled, and a
// modern driver per function with its receive and transmit queues in guest memory.
import { createEmulator, InterruptLog } from '../../../src/index.js';
import type { Emulator, Hardware } from '../../../src/index.js';
import { enableVfs, placeBars } from '../../../src/hw/devices/virtio/bringUp.js';
import type { DriverVirtqueue } from '../../../src/hw/devices/virtio/driverVirtqueue.js';
import { VirtioModernDriver } from '../../../src/hw/devices/virtio/modernDriver.js';
import type { VirtioNetPf } from '../../../src/hw/devices/virtio/virtioNetPf.js';
import { featureBits, VIRTIO_F_VERSION_1, VIRTIO_NET_F_MAC, VIRTIO_NET_F_STATUS } from '../../../src/hw/devices/virtio/virtioSpec.js';
import type { VirtualFunction } from '../../../src/hw/sriov.js';

export const PF = '0000:00:04.0';
export const PF_BAR1 = 0xfe000000;
export const PF_BAR4 = 0x8_0000_0000;
export const VF_BAR2 = 0xe0000000;
export const VF_BAR_SIZE = 0x8000;
export const MSI_ADDR = 0xfee00000;

export interface VirtioMachine {
  emu: Emulator;
  hw: Hardware;
  pf: VirtioNetPf;
  vfs: VirtualFunction[];
  log: InterruptLog;
}

export async function virtioMachine(numVfs = 2, totalVfs = 4): Promise<VirtioMachine> {
  const emu = await createEmulator();
  const hw = emu.hw;
  const log = new InterruptLog();
  hw.setInterruptSink(log);
  const pf = hw.addVirtioNet(PF, { totalVfs });
  placeBars(hw, PF, { 1: PF_BAR1, 4: PF_BAR4 });
  const vfs = numVfs > 0 ? enableVfs(hw, pf, numVfs, { 2: VF_BAR2 }) : [];
  return { emu, hw, pf, vfs, log };
}

/** A function brought up by a modern driver: rx/tx queues with their buffers in its own 1 MiB region. */
export interface NetDriver {
  driver: VirtioModernDriver;
  rx: DriverVirtqueue;
  tx: DriverVirtqueue;
  region: number;
  rxBuf(i: number): number;
  /** receive buffer address of each posted head */
  rxAddr: Map<number, number>;
  txBuf: number;
  hdr: number;
}

export const DEFAULT_FEATURES = featureBits(VIRTIO_F_VERSION_1, VIRTIO_NET_F_MAC, VIRTIO_NET_F_STATUS);

/**
 * Brings `bdf` up (features, queues of `size`, DRIVER_OK) with rings and buffers in guest memory at
 * `region`..+1 MiB, and posts `rxBuffers` 2 KiB receive buffers.
 */
export function bringUpNet(hw: Hardware, bdf: string, region: number, rxBuffers = 8, size = 16, features = DEFAULT_FEATURES): NetDriver {
  const driver = new VirtioModernDriver(hw, bdf);
  const accepted = driver.negotiate(features);
  if (accepted === null) throw new Error('FEATURES_OK refused');
  const rx = driver.setupQueue(0, region, size, 0);
  const tx = driver.setupQueue(1, region + 0x4000, size, 1);
  driver.driverOk();
  const rxBuf = (i: number) => region + 0x10000 + i * 2048;
  const rxAddr = new Map<number, number>();
  for (let i = 0; i < rxBuffers; i++) rxAddr.set(rx.add([{ addr: rxBuf(i), len: 2048, write: true }]), rxBuf(i));
  driver.kick(0);
  return { driver, rx, tx, region, rxBuf, rxAddr, txBuf: region + 0x80000, hdr: 12 };
}

/** Sends one frame on the driver's transmit queue (header + frame in one buffer) and kicks. */
export function transmit(hw: Hardware, d: NetDriver, frame: Uint8Array, kick = true): number {
  const addr = d.txBuf + (d.tx.availIdx % d.tx.size) * 2048;
  hw.memory.bytes.fill(0, addr, addr + d.hdr);
  hw.memory.write(addr + d.hdr, frame);
  const head = d.tx.add([{ addr, len: d.hdr + frame.length }]);
  if (kick) d.driver.kick(1);
  return head;
}

/** The frames the device put in the receive queue since the last call (header stripped); buffers are reposted. */
export function received(hw: Hardware, d: NetDriver, repost = true): Uint8Array[] {
  const done = d.rx.takeUsed().map((u) => {
    const addr = d.rxAddr.get(u.head)!;
    d.rxAddr.delete(u.head);
    return { addr, frame: hw.memory.read(addr + d.hdr, u.len - d.hdr) };
  });
  if (repost) for (const { addr } of done) d.rxAddr.set(d.rx.add([{ addr, len: 2048, write: true }]), addr);
  return done.map((x) => x.frame);
}

/** A minimal Ethernet frame: dst, src, ethertype 0x88b5 (local experimental) and a payload. */
export function frame(dst: Uint8Array, src: Uint8Array, payload: number[] | Uint8Array = [1, 2, 3, 4]): Uint8Array {
  const f = new Uint8Array(14 + Math.max(payload.length, 46));
  f.set(dst, 0);
  f.set(src, 6);
  f[12] = 0x88;
  f[13] = 0xb5;
  f.set(payload, 14);
  return f;
}
