// The whole stack (issue 6 benchmarks), on the default scenario of `npm start`:
// - a guest legacy virtio register access through the VMM: guest port I/O on the VF's legacy I/O BAR
//   -> VMM (guest bus, BAR region) -> vfio device file -> virtio-vfio-pci -> the PF's admin virtqueue
//   -> the VF, per access (a 32-bit read of the device features, a 16-bit QUEUE_SEL write);
// - a guest ping round trip: the guest stack's echo request through the legacy virtio-net driver,
//   the VF's transmit queue, the embedded switch, the uplink's loopback peer, and back through the
//   receive queue, its MSI-X interrupt and the driver's receive path, per ping;
// - the migration downtime of the default scenario: stop-and-copy (guest paused: P2P/STOP_COPY,
//   device stream to its end, STOP, last RAM pages, VMM state) plus the destination's load and
//   resume (RESUMING -> STOP -> RUNNING), timed per migration, with the STOP_COPY bytes.
// The guest config read through the VMM (guest -> VMM -> vfio -> hw) is in the vmm suite (bench/vmm.ts).
import { DmaEngineDriver } from '../src/guest/dmaEngineDriver.js';
import { DmaEngineWorkload } from '../src/guest/dmaEngineWorkload.js';
import { Guest } from '../src/guest/guest.js';
import { isLegacyVirtioNet } from '../src/guest/virtioNetLegacyPci.js';
import { VIRTIO_PCI_HOST_FEATURES, VIRTIO_PCI_QUEUE_SEL } from '../src/hw/devices/virtio/virtioSpec.js';
import { buildHost, buildVmm, DEVMEM, GUEST_DMA, guestRound, nicUp, PEER } from '../src/cli/stackScenario.js';
import { MigrationDestination } from '../src/vmm/migrationDestination.js';
import { MigrationSource } from '../src/vmm/migrationSource.js';
import type { BenchCase, CaseReport, SuiteReport } from './harness.js';
import { check, fmtNs, runSuite, sink } from './harness.js';

export const SUITE = 'stack';
export const LEGACY_READ_CASE = 'guest inl host_features via VMM -> virtio-vfio-pci -> admin queue';
export const LEGACY_WRITE_CASE = 'guest outw QUEUE_SEL via VMM -> virtio-vfio-pci -> admin queue';
export const PING_CASE = 'guest ping round trip (legacy virtio-net on a VF, MSI-X)';
export const DOWNTIME_CASE = 'migration downtime: stop-and-copy + destination resume';

/** legacy accesses per benny op (each goes through an admin command, so fewer than BATCH) */
const LEGACY_BATCH = 64;
const PINGS_PER_OP = 16;
const MIGRATIONS = 7;

async function stackGuest() {
  const h = await buildHost(4);
  const { vmm } = buildVmm(h, 2);
  const guest = new Guest(vmm);
  vmm.connectInterruptController(guest.irq);
  const r = guest.enumerate();
  return { h, vmm, guest, r };
}

/** One live migration of the default scenario's guest (NICs released, the DMA engine busy); the downtime timed. */
async function migrationOnce(): Promise<{ ns: number; stopCopyBytes: number; deviceBytes: number; steps: number }> {
  const { h, vmm, guest, r } = await stackGuest();
  const drv = new DmaEngineDriver(guest, r.functions.find((f) => f.bdf === GUEST_DMA)!, { irq: ['msix'], coalesce: 2 });
  drv.probe();
  const load = new DmaEngineWorkload(guest, drv, DEVMEM, { slots: 8, jobBytes: 2048, seed: 7 });
  for (let i = 0; i < 200; i++) guestRound(h.emu, guest, [], load);
  const dstHost = await buildHost(4);
  const { vmm: dvmm } = buildVmm(dstHost, 2);
  const opts = { allowUnmigratable: true };
  const dest = new MigrationDestination(dvmm, opts);
  dest.begin();
  const source = new MigrationSource(vmm, (c) => dest.receive(c), opts);
  source.start();
  for (let pass = 0; pass < 4; pass++) {
    for (let i = 0; i < 8; i++) guestRound(h.emu, guest, [], load);
    source.iterate();
  }
  const t0 = process.hrtime.bigint();
  const sc = source.complete();
  dest.finish();
  const ns = Number(process.hrtime.bigint() - t0);
  check(dvmm.log.grep('resumed').length > 0, 'the destination resumed');
  vmm.close();
  dvmm.close();
  return { ns, stopCopyBytes: sc.deviceBytes + sc.ramBytes + sc.vmmBytes, deviceBytes: sc.deviceBytes, steps: sc.steps };
}

export async function run(): Promise<SuiteReport> {
  const { h, guest, r } = await stackGuest();
  const vfs = r.functions.filter(isLegacyVirtioNet);
  check(vfs.length === 2, 'the guest finds two legacy virtio-net VFs');
  const nic = nicUp(guest, vfs[0], 'eth0', h.pf.vfs[0].bdf, '10.0.2.15');
  const io = guest.io;
  const base = nic.pci.ioBase;
  // sanity: the guest's reads are the VF's own features, through the whole stack
  check(io.ioRead(base + VIRTIO_PCI_HOST_FEATURES, 4) === h.pf.member(1)!.featuresLo, 'host_features through the VMM are the VF\'s');
  let seq = 0;
  const pingOnce = (): void => {
    seq = (seq + 1) & 0xffff;
    const before = nic.stack.replies.length;
    nic.stack.ping(PEER.ip, seq);
    for (let i = 0; i < 20 && nic.stack.replies.length === before; i++) {
      guest.irq.service();
      nic.pci.driver.runWork();
    }
    if (nic.stack.replies.length !== before + 1) throw new Error(`ping ${seq} got no reply`);
  };
  pingOnce();
  check(nic.stack.replies.length === 1 && nic.stack.replies[0].from === PEER.ip, 'a ping is answered by the peer');
  nic.stack.replies.length = 0;

  const cases: BenchCase[] = [
    {
      name: LEGACY_READ_CASE,
      accesses: LEGACY_BATCH,
      op: 'batch',
      fn: () => {
        let acc = 0;
        for (let i = 0; i < LEGACY_BATCH; i++) acc = (acc + io.ioRead(base + VIRTIO_PCI_HOST_FEATURES, 4)) | 0;
        sink.value ^= acc;
      },
    },
    {
      name: LEGACY_WRITE_CASE,
      accesses: LEGACY_BATCH,
      op: 'batch',
      fn: () => {
        for (let i = 0; i < LEGACY_BATCH; i++) io.ioWrite(base + VIRTIO_PCI_QUEUE_SEL, 2, i & 1);
      },
    },
    {
      name: PING_CASE,
      accesses: PINGS_PER_OP,
      op: 'pings',
      fn: () => {
        for (let i = 0; i < PINGS_PER_OP; i++) pingOnce();
        nic.stack.replies.length = 0;
      },
    },
  ];
  const report = await runSuite(SUITE, cases);

  // the downtime: one-shot migrations, timed outside benny
  const runs: Awaited<ReturnType<typeof migrationOnce>>[] = [];
  for (let i = 0; i < MIGRATIONS; i++) runs.push(await migrationOnce());
  const times = runs.map((x) => x.ns).sort((a, b) => a - b);
  const median = times[times.length >> 1];
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  const sd = Math.sqrt(times.reduce((a, b) => a + (b - mean) ** 2, 0) / times.length);
  const downtime: CaseReport = {
    suite: SUITE, name: DOWNTIME_CASE, op: 'migration', accessesPerOp: 1, nsPerOp: mean, nsPerAccess: mean, medianNsPerAccess: median,
    ratioToFloor: mean / report.floorNsPerAccess, ratios: {}, rmePercent: (100 * sd) / Math.sqrt(times.length) / mean, samples: times.length, isFloor: false,
  };
  report.cases.push(downtime);
  const last = runs[runs.length - 1];
  console.log(`  ${DOWNTIME_CASE.padEnd(56)} ${(median / 1000).toFixed(1).padStart(8)} µs median of ${MIGRATIONS} (mean ${(mean / 1000).toFixed(1)} µs)`);
  console.log(`  stop-and-copy: ${last.stopCopyBytes} bytes (${last.deviceBytes} device), ${last.steps} device-file steps`);
  const ping = report.cases.find((c) => c.name === PING_CASE)!;
  const rd = report.cases.find((c) => c.name === LEGACY_READ_CASE)!;
  console.log(`  guest legacy register read ${fmtNs(rd.nsPerAccess)} ns; ping round trip ${(ping.nsPerAccess / 1000).toFixed(2)} µs`);
  return report;
}
