// The virtio-vfio-pci legacy I/O BAR (issue 5): what one legacy register access through a VF's vfio
// device file costs - the variant's decode in the wasm core, one group administration command on the
// PF's admin virtqueue (built in guest memory, notified, executed by the PF's device, completed) and
// back - next to its parts and the floor, in the same run.
// - legacy read of host_features (4 bytes at BAR0 0) and write of queue_sel (2 bytes at 14) through
//   VfioDeviceFile (readInto with a number offset, as a VMM's port I/O handler would call it, and
//   read/write with the bigint offset API.md names);
// - QUEUE_NOTIFY through the file: no admin command, a write of the VF's notify register;
// - the PF driver's admin command alone (host side: virtio-pci's legacy read path);
// - the wasm decode alone, one call per access, and the whole-BAR table export per 128 accesses;
// - the same register read at hardware level through the VF's modern interface (hw.mmioRead).
import { createEmulator } from '../src/emulator.js';
import { L } from '../src/core/wasm.js';
import { LoopbackPeer } from '../src/hw/devices/virtio/loopbackPeer.js';
import { VIRTIO_ADMIN_CMD_LEGACY_COMMON_CFG_READ } from '../src/hw/devices/virtio/virtioSpec.js';
import { VIRTIOVF_NET_BAR0_SIZE, VL } from '../src/host/variants/virtio/legacyIo.js';
import { virtiovfDevice } from '../src/host/variants/virtio/main.js';
import { virtioPciVfGetPfDev } from '../src/host/virtio/legacyIo.js';
import type { VfioDeviceFile } from '../src/host/vfio/deviceFile.js';
import { VFIO } from '../src/host/vfio/uapi/constants.js';
import { VfioClient, regionOffset } from '../src/vmm/vfioClient.js';
import type { BenchCase, SuiteReport } from './harness.js';
import { BATCH, check, fmtNs, runSuite, sink } from './harness.js';

export const SUITE = 'virtioLegacy';
export const LEGACY_READ_CASE = 'legacy read host_features via device file (readInto)';
export const LEGACY_READ_BIG_CASE = 'legacy read host_features via device file (read, bigint)';
export const LEGACY_WRITE_CASE = 'legacy write queue_sel via device file (write)';
export const NOTIFY_CASE = 'legacy QUEUE_NOTIFY via device file (no admin command)';
export const ADMIN_CASE = 'PF admin command alone (LEGACY_COMMON_CFG_READ)';
export const DECODE_CASE = 'wasm decode alone (virtioLegacyDecode, one call per access)';
export const DECODE_TABLE_CASE = 'wasm decode table (one call per 128 accesses)';
export const HW_READ_CASE = 'hw.mmioRead VF device_feature (modern, hardware level)';

const SIZES = Int32Array.of(1, 2, 4, 2);
const PF = '0000:00:04.0';
const VF = '0000:00:04.1';

export async function run(): Promise<SuiteReport> {
  const emu = await createEmulator();
  const { raw, mem } = emu.hw.core;
  const { hw, host } = emu;
  const pf = hw.addVirtioNet(PF, { totalVfs: 2 });
  new LoopbackPeer({ mac: '02:00:00:00:00:fe', ip: '10.0.0.254' }).attach(pf.uplink);
  check(host.pciDev(PF).driver?.name === 'virtio-pci', 'PF bound to virtio-pci');
  check(host.sriovConfigure(PF, 2) === 2, 'two VFs');
  check(host.bind(VF) === 'virtio-vfio-pci', 'VF bound to virtio-vfio-pci');
  const file: VfioDeviceFile = host.openDevice(VF);
  const c = new VfioClient(file);
  c.configWrite(4, 2, 0x0007); // I/O decode, memory, bus master
  const dev = pf.member(1)!;
  const vdev = virtiovfDevice(host.pciDev(VF))!;
  const vp = virtioPciVfGetPfDev(host.pciDev(VF))!;

  const bar0 = VFIO.PCI_BAR0_REGION_INDEX * 2 ** 40;
  const readInto = file.readInto.bind(file) as unknown as (offset: number, buf: Uint8Array) => number;
  const writeNum = file.write.bind(file) as unknown as (offset: number, data: Uint8Array) => number;
  const dword = new Uint8Array(4);
  const sel = new Uint8Array(2);
  const notify = Uint8Array.of(1, 0);
  const featBig = regionOffset(VFIO.PCI_BAR0_REGION_INDEX, 0);
  const modernFeat = hw.function(VF)!.barBase(2) + 4; // common cfg device_feature (select 0)

  // ---- sanity: the paths answer what the device holds -------------------------------------------
  check(readInto(bar0, dword) === 4 && (dword[0] | (dword[1] << 8) | (dword[2] << 16) | (dword[3] << 24)) >>> 0 === dev.featuresLo, 'legacy host_features = device features');
  check(file.read(featBig, 4)[0] === (dev.featuresLo & 0xff), 'bigint read agrees');
  sel[0] = 1;
  writeNum(bar0 + 14, sel);
  check(dev.queueSelect === 1, 'queue_sel write reaches the VF');
  const execBefore = pf.admin!.executed;
  writeNum(bar0 + 16, notify);
  check(pf.admin!.executed === execBefore && vdev.notifies > 0, 'QUEUE_NOTIFY takes no admin command');
  check(vp.fast!.legacyRead(VIRTIO_ADMIN_CMD_LEGACY_COMMON_CFG_READ, 1, 0, 4) === 0 && vp.fast!.result === dev.featuresLo, 'admin fast path');
  check(hw.mmioRead(modernFeat, 4) === dev.featuresLo, 'modern device_feature at hardware level');
  check((raw.virtioLegacyDecode(14, 2, 0, 1, VIRTIOVF_NET_BAR0_SIZE) & 0xff) === VL.COMMON, 'decode: queue_sel is common');
  check(raw.virtioLegacyDecodeTable(0, 0, VIRTIOVF_NET_BAR0_SIZE) === 128, 'decode table: 128 answers');

  const decode = raw.virtioLegacyDecode;
  const table = raw.virtioLegacyDecodeTable;
  const cases: BenchCase[] = [
    {
      name: DECODE_CASE,
      accesses: BATCH,
      op: 'batch',
      fn: () => {
        let acc = 0;
        for (let i = 0; i < BATCH; i++) acc = (acc + decode(i & 31, SIZES[i & 3], i & 1, (i >> 2) & 1, 32)) | 0;
        sink.value ^= acc;
      },
    },
    {
      name: DECODE_TABLE_CASE,
      accesses: BATCH,
      op: 'batch',
      fn: () => {
        let acc = 0;
        for (let i = 0; i < BATCH; i += 128) acc = (acc + table(i & 1, 0, 32) + mem.u32[(L.SCRATCH >> 2) + (i & 127)]) | 0;
        sink.value ^= acc;
      },
    },
    {
      name: HW_READ_CASE,
      accesses: BATCH,
      op: 'batch',
      fn: () => {
        let acc = 0;
        for (let i = 0; i < BATCH; i++) acc = (acc + hw.mmioRead(modernFeat, 4)) | 0;
        sink.value ^= acc;
      },
    },
    {
      name: ADMIN_CASE,
      accesses: BATCH,
      op: 'batch',
      fn: () => {
        const f = vp.fast!;
        let acc = 0;
        for (let i = 0; i < BATCH; i++) acc = (acc + f.legacyRead(VIRTIO_ADMIN_CMD_LEGACY_COMMON_CFG_READ, 1, 0, 4) + f.result) | 0;
        sink.value ^= acc;
      },
    },
    {
      name: LEGACY_READ_CASE,
      accesses: BATCH,
      op: 'batch',
      goals: [{ text: 'one legacy register access through the device file under 1 µs', max: 1000 }],
      fn: () => {
        let acc = 0;
        for (let i = 0; i < BATCH; i++) {
          readInto(bar0, dword);
          acc = (acc + dword[0]) | 0;
        }
        sink.value ^= acc;
      },
    },
    {
      name: LEGACY_READ_BIG_CASE,
      accesses: BATCH,
      op: 'batch',
      fn: () => {
        let acc = 0;
        for (let i = 0; i < BATCH; i++) acc = (acc + file.read(featBig, 4)[0]) | 0;
        sink.value ^= acc;
      },
    },
    {
      name: LEGACY_WRITE_CASE,
      accesses: BATCH,
      op: 'batch',
      fn: () => {
        for (let i = 0; i < BATCH; i++) {
          sel[0] = i & 1;
          writeNum(bar0 + 14, sel);
        }
      },
    },
    {
      name: NOTIFY_CASE,
      accesses: BATCH,
      op: 'batch',
      fn: () => {
        for (let i = 0; i < BATCH; i++) writeNum(bar0 + 16, notify);
      },
    },
  ];
  const report = await runSuite(SUITE, cases);
  check(readInto(bar0, dword) === 4 && dword[0] === (dev.featuresLo & 0xff), 'device still answers');
  check(dev.status === 0 && (dev.stats.txFrames | 0) === 0, 'nothing but register accesses happened');
  file.close();

  const get = (n: string) => report.cases.find((x) => x.name === n)!;
  const access = get(LEGACY_READ_CASE);
  console.log('  -- one legacy access and its parts (same run)');
  console.log(`  ${LEGACY_READ_CASE.padEnd(56)} ${fmtNs(access.nsPerAccess).padStart(8)} ns (median ${fmtNs(access.medianNsPerAccess)} ns)`);
  console.log(`  ${'  of which the PF admin command'.padEnd(56)} ${fmtNs(get(ADMIN_CASE).nsPerAccess).padStart(8)} ns`);
  console.log(`  ${'  of which the wasm decode'.padEnd(56)} ${fmtNs(get(DECODE_CASE).nsPerAccess).padStart(8)} ns (${get(DECODE_CASE).ratioToFloor.toFixed(2)}x floor)`);
  return report;
}
