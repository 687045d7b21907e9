// Port I/O and MMIO of a device register, next to v86's own port read measured in the same process
// round by round: v86 0.5.462 (node_modules/v86) built in Node with no OS (autostart false) and a
// virtio-net card, whose common configuration registers v86 serves on port I/O (BAR0 at 0xc800):
// `cpu.io.port_read32(port)` is what v86's CPU calls for an `in eax, dx`.
// pcisim's side: hw.ioRead/mmioRead of a generic endpoint's BAR register (plain device memory, the
// cheapest a model can answer) and of the virtio-net PF's common configuration (a real register file).
import { fileURLToPath } from 'node:url';
import { V86 } from 'v86';
import { L } from '../src/core/wasm.js';
import { Hardware } from '../src/hw/hardware.js';
import type { BenchCase, SuiteReport } from './harness.js';
import { BATCH, check, runSuite, sink } from './harness.js';

export const SUITE = 'ioDispatch';
export const V86_READ_CASE = 'v86 port_read32 (virtio-net common cfg, in eax,dx)';
export const V86_WRITE_CASE = 'v86 port_write32 (virtio-net device_feature_select)';
export const IO_READ_CASE = 'hw.ioRead dword of an I/O BAR register';
export const IO_WRITE_CASE = 'hw.ioWrite dword of an I/O BAR register';
export const MMIO_READ_CASE = 'hw.mmioRead dword of a memory BAR register';
export const MMIO_WRITE_CASE = 'hw.mmioWrite dword of a memory BAR register';
export const VIRTIO_READ_CASE = 'hw.mmioRead dword of virtio-net common cfg';
export const HANDLE_READ_CASE = 'hw.handle(bdf).read config dword';

/** v86's virtio-net BAR0 (port I/O): device_feature_select at +0, device_feature at +4. */
const V86_PORT = 0xc800;
const IO_BASE = 0xc000;
const MEM_BASE = 0xfe000000;
/** registers the cases alternate between, like v86's two */
const REGS = 2;

interface V86Io {
  port_read32(port: number): number;
  port_write32(port: number, value: number): void;
}

async function startV86(): Promise<{ io: V86Io; stop: () => Promise<void> }> {
  const wasm = fileURLToPath(new URL('../node_modules/v86/build/v86.wasm', import.meta.url));
  const emulator = new V86({ wasm_path: wasm, autostart: false, memory_size: 32 << 20, net_device: { type: 'virtio' }, disable_speaker: true } as ConstructorParameters<typeof V86>[0]);
  await new Promise<void>((resolve) => emulator.add_listener('emulator-loaded', () => resolve()));
  const io = (emulator as unknown as { v86: { cpu: { io: V86Io } } }).v86.cpu.io;
  return { io, stop: () => emulator.destroy() };
}

export async function run(): Promise<SuiteReport> {
  const v86 = await startV86();
  const vio = v86.io;
  check(vio.port_read32(V86_PORT) === 0, "v86 virtio-net's device_feature_select reads 0");
  check(vio.port_read32(V86_PORT + 4) !== -1, "v86 virtio-net's device_feature is served");

  const hw = new Hardware({ memoryBytes: 1 << 20 });
  const BDF = '0000:00:03.0';
  hw.addEndpoint(BDF, {
    vendorId: 0x1af4,
    deviceId: 0x1000,
    classCode: 0x020000,
    bars: [{ kind: 'io', size: 0x40 }, { kind: 'mem32', size: 0x1000 }],
    capabilities: [{ id: 'pm' }, { id: 'msix', vectors: 4, tableBar: 1, tableOffset: 0x800, pbaBar: 1, pbaOffset: 0xc00 }, { id: 'pcie' }],
  });
  hw.configWrite(BDF, 0x10, 4, IO_BASE);
  hw.configWrite(BDF, 0x14, 4, MEM_BASE);
  hw.configWrite(BDF, 0x04, 2, 3);
  for (let r = 0; r < REGS; r++) {
    hw.ioWrite(IO_BASE + 4 * r, 4, 0x11110000 + r);
    hw.mmioWrite(MEM_BASE + 4 * r, 4, 0x22220000 + r);
  }
  check(hw.ioRead(IO_BASE + 4, 4) === 0x11110001 && hw.mmioRead(MEM_BASE + 4, 4) === 0x22220001, 'BAR registers read back');

  const VBDF = '0000:00:04.0';
  hw.addVirtioNet(VBDF, { totalVfs: 0 });
  // the common configuration is where its capability says (virtio 1.x 4.1.4.3: BAR at +4, offset at +8)
  const vf = hw.function(VBDF)!;
  let vbar = -1;
  let common = -1;
  for (let cap = hw.configRead(VBDF, 0x34, 1); cap !== 0; cap = hw.configRead(VBDF, cap + 1, 1)) {
    if (hw.configRead(VBDF, cap, 1) === 0x09 && hw.configRead(VBDF, cap + 3, 1) === 1) {
      vbar = hw.configRead(VBDF, cap + 4, 1);
      common = hw.configRead(VBDF, cap + 8, 4);
    }
  }
  check(vbar >= 0 && common >= 0, 'virtio common configuration capability found');
  const VMEM = 0xfd000000;
  hw.configWrite(VBDF, 0x10 + 4 * vbar, 4, VMEM);
  if (vf.barKind(vbar) === L.BAR_MEM64) hw.configWrite(VBDF, 0x14 + 4 * vbar, 4, 0);
  hw.configWrite(VBDF, 0x04, 2, 2);
  hw.mmioWrite(VMEM + common, 4, 1); // device_feature_select = 1: VIRTIO_F_VERSION_1 is bit 32
  check((hw.mmioRead(VMEM + common + 4, 4) & 1) === 1, 'virtio-net PF offers VERSION_1');

  const h = hw.handle(BDF);
  check(h.read(0, 4) === 0x10001af4, 'handle reads the ids');

  const vsPeer = [V86_READ_CASE];
  const cases: BenchCase[] = [
    {
      name: V86_READ_CASE,
      accesses: BATCH,
      op: 'batch',
      fn: () => {
        let acc = 0;
        for (let i = 0; i < BATCH; i++) acc = (acc + vio.port_read32(V86_PORT + ((i & (REGS - 1)) << 2))) | 0;
        sink.value ^= acc;
      },
    },
    {
      name: IO_READ_CASE,
      accesses: BATCH,
      op: 'batch',
      vs: vsPeer,
      goals: [{ text: 'port I/O dword read of a device register within 1.5x of v86 port_read32', vs: V86_READ_CASE, max: 1.5 }],
      fn: () => {
        let acc = 0;
        for (let i = 0; i < BATCH; i++) acc = (acc + hw.ioRead(IO_BASE + ((i & (REGS - 1)) << 2), 4)) | 0;
        sink.value ^= acc;
      },
    },
    {
      name: MMIO_READ_CASE,
      accesses: BATCH,
      op: 'batch',
      vs: vsPeer,
      goals: [{ text: 'MMIO dword read of a BAR register within 2x of v86 port_read32', vs: V86_READ_CASE, max: 2 }],
      fn: () => {
        let acc = 0;
        for (let i = 0; i < BATCH; i++) acc = (acc + hw.mmioRead(MEM_BASE + ((i & (REGS - 1)) << 2), 4)) | 0;
        sink.value ^= acc;
      },
    },
    {
      name: VIRTIO_READ_CASE,
      accesses: BATCH,
      op: 'batch',
      vs: vsPeer,
      fn: () => {
        let acc = 0;
        for (let i = 0; i < BATCH; i++) acc = (acc + hw.mmioRead(VMEM + common + ((i & (REGS - 1)) << 2), 4)) | 0;
        sink.value ^= acc;
      },
    },
    {
      name: V86_WRITE_CASE,
      accesses: BATCH,
      op: 'batch',
      fn: () => {
        for (let i = 0; i < BATCH; i++) vio.port_write32(V86_PORT, i & 1);
      },
    },
    {
      name: IO_WRITE_CASE,
      accesses: BATCH,
      op: 'batch',
      vs: [V86_WRITE_CASE],
      fn: () => {
        for (let i = 0; i < BATCH; i++) hw.ioWrite(IO_BASE + 8, 4, i);
      },
    },
    {
      name: MMIO_WRITE_CASE,
      accesses: BATCH,
      op: 'batch',
      vs: [V86_WRITE_CASE],
      fn: () => {
        for (let i = 0; i < BATCH; i++) hw.mmioWrite(MEM_BASE + 8, 4, i);
      },
    },
    {
      name: HANDLE_READ_CASE,
      accesses: BATCH,
      op: 'batch',
      vs: vsPeer,
      fn: () => {
        let acc = 0;
        for (let i = 0; i < BATCH; i++) acc = (acc + h.read((i & 15) << 2, 4)) | 0;
        sink.value ^= acc;
      },
    },
  ];
  const report = await runSuite(SUITE, cases);
  check(hw.ioRead(IO_BASE, 4) === 0x11110000, 'registers intact');
  await v86.stop();
  return report;
}
