// The virtio-net datapath: a VF's transmit queue through the PF's embedded switch. Each benny op the
// guest side makes QUEUE chains available (the descriptors and the ring entries are set up once and
// reused, so the guest driver's cost is one avail->idx store) and kicks the queue with one MMIO write
// to the VF's notify address; the device pops every chain, reads the virtio_net_hdr and the frame,
// the switch forwards it, and the chain goes to the used ring. "ns/access" is ns per frame; frames/s
// = 1e9 / that. Used-buffer interrupts are suppressed (VRING_AVAIL_F_NO_INTERRUPT), as a busy
// polling driver has them. The uplink receiver takes frames zero-copy (views of the guest's buffers,
// valid during the call) except in the case that keeps a copy of each, as a default attach() does.
import { createEmulator } from '../src/emulator.js';
import { enableVfs, placeBars } from '../src/hw/devices/virtio/bringUp.js';
import type { DriverVirtqueue } from '../src/hw/devices/virtio/driverVirtqueue.js';
import { VirtioModernDriver } from '../src/hw/devices/virtio/modernDriver.js';
import { featureBits, VIRTIO_F_VERSION_1, VIRTIO_NET_F_MAC } from '../src/hw/devices/virtio/virtioSpec.js';
import type { BenchCase, SuiteReport } from './harness.js';
import { check, runSuite, sink } from './harness.js';

export const SUITE = 'virtioDatapath';
export const VF_UPLINK_64_CASE = 'VF -> uplink, 64-byte frames';
export const VF_UPLINK_1500_CASE = 'VF -> uplink, 1500-byte frames';

const QUEUE = 256;
const HDR = 12;
const BUF = 2048;
const PEER_MAC = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01];

interface Tx {
  driver: VirtioModernDriver;
  tx: DriverVirtqueue;
  notify: number;
  chains: number;
  /** one round: QUEUE chains available, one kick, reclaim */
  round(): void;
}

function txSide(hw: Awaited<ReturnType<typeof createEmulator>>['hw'], bdf: string, region: number, frame: Uint8Array, split: boolean): Tx {
  const driver = new VirtioModernDriver(hw, bdf);
  check(driver.negotiate(featureBits(VIRTIO_F_VERSION_1, VIRTIO_NET_F_MAC)) !== null, `${bdf} FEATURES_OK`);
  driver.setupQueue(0, region, QUEUE);
  const tx = driver.setupQueue(1, region + 0x10000, QUEUE);
  driver.driverOk();
  tx.suppressInterrupts(true);
  const bufs = region + 0x100000;
  const chains = split ? QUEUE / 2 : QUEUE;
  const heads: number[] = [];
  for (let i = 0; i < chains; i++) {
    const a = bufs + i * BUF;
    hw.memory.bytes.fill(0, a, a + HDR);
    hw.memory.write(a + HDR, frame);
    const head = split ? tx.add([{ addr: a, len: HDR }, { addr: a + HDR, len: frame.length }]) : tx.add([{ addr: a, len: HDR + frame.length }]);
    check(head >= 0, 'descriptor space');
    heads.push(head);
  }
  // every ring slot names a chain, so later rounds only move avail->idx (the device is done with a
  // chain before the next round makes it available again)
  const view = hw.memory.view;
  for (let s = 0; s < QUEUE; s++) view.setUint16(tx.availAddr + 4 + 2 * s, heads[s % chains], true);
  const notify = driver.notifyAddress(1);
  let first = true;
  return {
    driver,
    tx,
    notify,
    chains,
    round() {
      if (!first) {
        tx.availIdx = (tx.availIdx + chains) & 0xffff;
        view.setUint16(tx.availAddr + 2, tx.availIdx, true);
      }
      first = false;
      hw.mmioWrite(notify, 2, 1);
      sink.value ^= tx.reclaim();
    },
  };
}

/** The receive side of another function: QUEUE buffers, reposted each round the same way. */
function rxSide(hw: Awaited<ReturnType<typeof createEmulator>>['hw'], bdf: string, region: number): () => number {
  const driver = new VirtioModernDriver(hw, bdf);
  check(driver.negotiate(featureBits(VIRTIO_F_VERSION_1, VIRTIO_NET_F_MAC)) !== null, `${bdf} FEATURES_OK`);
  const rx = driver.setupQueue(0, region, QUEUE);
  driver.setupQueue(1, region + 0x10000, QUEUE);
  driver.driverOk();
  rx.suppressInterrupts(true);
  for (let i = 0; i < QUEUE; i++) rx.add([{ addr: region + 0x100000 + i * BUF, len: BUF, write: true }]);
  const view = hw.memory.view;
  return () => {
    const n = rx.reclaim();
    rx.availIdx = (rx.availIdx + n) & 0xffff;
    view.setUint16(rx.availAddr + 2, rx.availIdx, true);
    return n;
  };
}

export async function run(): Promise<SuiteReport> {
  const emu = await createEmulator({ memoryBytes: 64 << 20 });
  const hw = emu.hw;
  const pf = hw.addVirtioNet('0000:00:04.0', { totalVfs: 4 });
  placeBars(hw, pf.bdf, { 1: 0xfe000000, 4: 0xfd000000 });
  const vfs = enableVfs(hw, pf, 2, { 2: 0xe0000000 });
  const vfMac = Array.from(pf.member(1)!.mac);
  const mk = (len: number, dst: number[]) => {
    const f = new Uint8Array(len);
    f.set(dst, 0);
    f.set(vfMac, 6);
    f[12] = 0x88;
    f[13] = 0xb5;
    for (let i = 14; i < len; i++) f[i] = i & 0xff;
    return f;
  };
  let frames = 0;
  let bytes = 0;
  /** the copy case: the receiver keeps each frame (what attach without zeroCopy hands out) */
  let keep = false;
  const receiver = (f: Uint8Array) => {
    frames++;
    bytes += f.length;
    sink.value ^= (keep ? f.slice() : f)[f.length - 1];
  };

  const small = txSide(hw, vfs[0].bdf, 0x0400000, mk(64, PEER_MAC), false);
  // sanity: one round moves QUEUE frames to the uplink, byte for byte
  let last: Uint8Array | null = null;
  pf.uplink.attach((f) => {
    frames++;
    last = f;
  });
  small.round();
  check(frames === QUEUE, `one round delivers ${QUEUE} frames to the uplink (got ${frames})`);
  check(last !== null && (last as Uint8Array).length === 64 && (last as Uint8Array)[63] === 63, 'the frame arrives intact');
  check(small.tx.usedIdx === QUEUE, 'every chain is used');
  pf.uplink.attach(receiver, { zeroCopy: true });

  // the other transmitters: VF 2 and the PF itself
  const big = txSide(hw, vfs[1].bdf, 0x1400000, mk(1500, PEER_MAC), false);
  const split = txSide(hw, pf.bdf, 0x2400000, mk(64, PEER_MAC), true);
  big.round();
  split.round();
  check(frames === 2 * QUEUE + split.chains, 'every transmitter reaches the uplink');

  // VF 1 -> VF 2 through the switch into VF 2's receive queue: a second machine keeps the cases apart
  const emu2 = await createEmulator({ memoryBytes: 64 << 20 });
  const pf2 = emu2.hw.addVirtioNet('0000:00:04.0', { totalVfs: 4 });
  placeBars(emu2.hw, pf2.bdf, { 1: 0xfe000000, 4: 0xfd000000 });
  const vfs2 = enableVfs(emu2.hw, pf2, 2, { 2: 0xe0000000 });
  const repost = rxSide(emu2.hw, vfs2[1].bdf, 0x1400000);
  const v2v = txSide(emu2.hw, vfs2[0].bdf, 0x0400000, mk(64, Array.from(pf2.member(2)!.mac)), false);
  v2v.round();
  check(repost() === QUEUE, 'VF 2 received every frame of a round');
  check(pf2.member(2)!.stats.rxDropped === 0, 'no receive drops');

  const cases: BenchCase[] = [
    { name: VF_UPLINK_64_CASE, accesses: QUEUE, op: 'batch', fn: () => small.round(), goals: [{ text: 'at least 1 million 64-byte frames per second VF -> uplink (1 µs a frame)', max: 1000 }] },
    {
      name: 'VF -> uplink, 64-byte frames, receiver keeps a copy',
      accesses: QUEUE,
      op: 'batch',
      fn: () => {
        keep = true;
        small.round();
        keep = false;
      },
    },
    { name: VF_UPLINK_1500_CASE, accesses: QUEUE, op: 'batch', fn: () => big.round() },
    { name: 'PF -> uplink, 64-byte frames, header and frame in 2 descriptors', accesses: split.chains, op: 'batch', fn: () => split.round() },
    {
      name: 'VF -> VF (switch into the receive queue), 64-byte frames',
      accesses: QUEUE,
      op: 'batch',
      fn: () => {
        v2v.round();
        repost();
      },
    },
  ];
  const before = frames;
  const report = await runSuite(SUITE, cases);
  check(frames > before && pf.member(1)!.stats.txErrors === 0, 'frames kept flowing without errors');
  check(pf2.member(2)!.stats.rxDropped === 0, 'the VF -> VF case never ran out of receive buffers');
  void bytes;
  for (const c of report.cases) {
    if (!c.isFloor) console.log(`  ${c.name.padEnd(58)} ${(1e9 / c.nsPerAccess / 1e6).toFixed(2).padStart(8)} Mframes/s`);
  }
  return report;
}
