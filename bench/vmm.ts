// The VMM (issue 6): what a guest config read costs through the whole stack, guest -> VMM -> vfio
// device file -> hardware, next to the layers below it measured in the same run:
// - hw.configRead on the host (the hardware level) and VfioDeviceFile.read of the config region
//   (what the VMM itself calls);
// - the guest bus's configRead of an assigned function (the VMM's emulation on top of the file),
//   over the 16 dwords of the type 0 header (BARs, Header Type and Interrupt Line/Pin are the VMM's,
//   the rest comes through the device file), and of an emulated BAR dword alone;
// - the same through the guest's mechanisms: CF8/CFC port I/O and ECAM MMIO on the guest bus;
// - a guest MMIO write to a register of the assigned BAR (served through the VMM's mapping of it:
//   the guest bus, the VMM's device, the mapping, the host's bus), next to the host's own write.
import { createEmulator } from '../src/emulator.js';
import { DMAE_REG } from '../src/hw/devices/dmaEngine/regs.js';
import { cf8Access, ecamAccess } from '../src/guest/configAccess.js';
import { VFIO } from '../src/host/vfio/uapi/constants.js';
import { regionOffset } from '../src/vmm/vfioClient.js';
import { Vmm } from '../src/vmm/vmm.js';
import type { BenchCase, CaseReport, SuiteReport } from './harness.js';
import { BATCH, check, fmtNs, hex, runSuite, sink } from './harness.js';

export const SUITE = 'vmm';
export const HW_CONFIG_READ_CASE = 'host hw.configRead dword (hardware level)';
export const FILE_CONFIG_READ_CASE = 'VfioDeviceFile.read config dword';
export const CONFIG_READ_CASE = 'guest bus configRead dword via the VMM';
export const EMULATED_READ_CASE = 'guest bus configRead of an emulated BAR (VMM only)';
export const CF8_READ_CASE = 'guest CF8/CFC config read via the VMM';
export const ECAM_READ_CASE = 'guest ECAM config read via the VMM';
export const HW_BAR_WRITE_CASE = 'host hw.mmioWrite dword of a BAR register (hardware level)';
export const GUEST_BAR_WRITE_CASE = 'guest MMIO dword write to an assigned, mapped BAR via the VMM';

/** Case -> the case it is compared with. */
export const PAIRS: [string, string][] = [
  [FILE_CONFIG_READ_CASE, HW_CONFIG_READ_CASE],
  [CONFIG_READ_CASE, HW_CONFIG_READ_CASE],
  [CONFIG_READ_CASE, FILE_CONFIG_READ_CASE],
  [CF8_READ_CASE, CONFIG_READ_CASE],
  [ECAM_READ_CASE, CONFIG_READ_CASE],
  [GUEST_BAR_WRITE_CASE, HW_BAR_WRITE_CASE],
];

const READ_REGS = 16;
const HOST_BDF = '0000:00:05.0';
const GUEST_BDF = '0000:00:03.0';

function le32(b: Uint8Array): number {
  return (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
}

export async function run(): Promise<SuiteReport> {
  const emu = await createEmulator({ memoryBytes: 1 << 20 });
  emu.hw.addDmaEngine(HOST_BDF, { deviceMemoryBytes: 64 << 10 });
  const bound = emu.host.bind(HOST_BDF);
  check(bound.endsWith('vfio-pci'), `bound to a vfio driver (${bound})`);
  const file = emu.host.openDevice(HOST_BDF);
  const vmm = new Vmm(emu);
  vmm.assign(file, GUEST_BDF);
  const ghw = vmm.hw;
  const cf8 = cf8Access(ghw);
  const ecam = ecamAccess(ghw, ghw.ecamBase);
  const cfg = Array.from({ length: READ_REGS }, (_, r) => regionOffset(VFIO.PCI_CONFIG_REGION_INDEX, r << 2));

  // ---- sanity: the guest sees the device; passed-through dwords equal the device file's ----
  ghw.configWrite(GUEST_BDF, 0x10, 4, 0xc0000000);
  check(ghw.configRead(GUEST_BDF, 0x10, 4) === 0xc0000000, 'the guest programs its own BAR0');
  for (let r = 0; r < READ_REGS; r++) {
    const off = r << 2;
    const g = ghw.configRead(GUEST_BDF, off, 4);
    check(cf8.read(0, 3, 0, off, 4) === g && ecam.read(0, 3, 0, off, 4) === g, `CF8, ECAM and direct agree at ${hex(off)}`);
    if (off === 0 || off === 8 || off === 0x2c) check(g === le32(file.read(cfg[r], 4)) && g === emu.hw.configRead(HOST_BDF, off, 4), `config ${hex(off)} passes through`);
  }

  // the guest enables memory decode; the BAR's mappable pages are then served through the mapping
  const guestBar0 = 0xc0000000;
  ghw.configWrite(GUEST_BDF, 0x04, 2, 0x0002);
  const hostBar0 = emu.host.pciDev(HOST_BDF).resourceStart(0);
  check(vmm.device(GUEST_BDF)!.regions[0]!.mappedSpans.length > 0, "the VMM maps the guest's BAR0");
  ghw.mmioWrite(guestBar0 + DMAE_REG.SCRATCH, 4, 0x5eed);
  check(emu.hw.mmioRead(hostBar0 + DMAE_REG.SCRATCH, 4) === 0x5eed, 'a guest BAR write reaches the device');

  const cases: BenchCase[] = [
    {
      name: HW_CONFIG_READ_CASE,
      accesses: BATCH,
      op: 'batch',
      fn: () => {
        let acc = 0;
        for (let i = 0; i < BATCH; i++) acc = (acc + emu.hw.configRead(HOST_BDF, (i & (READ_REGS - 1)) << 2, 4)) | 0;
        sink.value ^= acc;
      },
    },
    {
      name: FILE_CONFIG_READ_CASE,
      accesses: BATCH,
      op: 'batch',
      vs: [HW_CONFIG_READ_CASE],
      fn: () => {
        let acc = 0;
        for (let i = 0; i < BATCH; i++) acc = (acc + file.read(cfg[i & (READ_REGS - 1)], 4)[0]) | 0;
        sink.value ^= acc;
      },
    },
    {
      name: CONFIG_READ_CASE,
      accesses: BATCH,
      op: 'batch',
      vs: [HW_CONFIG_READ_CASE],
      goals: [{ text: 'a guest config read through the VMM within 10x of hw.configRead', vs: HW_CONFIG_READ_CASE, max: 10 }],
      fn: () => {
        let acc = 0;
        for (let i = 0; i < BATCH; i++) acc = (acc + ghw.configRead(GUEST_BDF, (i & (READ_REGS - 1)) << 2, 4)) | 0;
        sink.value ^= acc;
      },
    },
    {
      name: EMULATED_READ_CASE,
      accesses: BATCH,
      op: 'batch',
      fn: () => {
        let acc = 0;
        for (let i = 0; i < BATCH; i++) acc = (acc + ghw.configRead(GUEST_BDF, 0x10, 4)) | 0;
        sink.value ^= acc;
      },
    },
    {
      name: CF8_READ_CASE,
      accesses: BATCH,
      op: 'batch',
      fn: () => {
        let acc = 0;
        for (let i = 0; i < BATCH; i++) acc = (acc + cf8.read(0, 3, 0, (i & (READ_REGS - 1)) << 2, 4)) | 0;
        sink.value ^= acc;
      },
    },
    {
      name: ECAM_READ_CASE,
      accesses: BATCH,
      op: 'batch',
      fn: () => {
        let acc = 0;
        for (let i = 0; i < BATCH; i++) acc = (acc + ecam.read(0, 3, 0, (i & (READ_REGS - 1)) << 2, 4)) | 0;
        sink.value ^= acc;
      },
    },
    {
      name: HW_BAR_WRITE_CASE,
      accesses: BATCH,
      op: 'batch',
      fn: () => {
        for (let i = 0; i < BATCH; i++) emu.hw.mmioWrite(hostBar0 + DMAE_REG.SCRATCH, 4, i);
      },
    },
    {
      name: GUEST_BAR_WRITE_CASE,
      accesses: BATCH,
      op: 'batch',
      vs: [HW_BAR_WRITE_CASE],
      goals: [{ text: "a guest write to an assigned BAR's register within 5x of the host's own", vs: HW_BAR_WRITE_CASE, max: 5 }],
      fn: () => {
        for (let i = 0; i < BATCH; i++) ghw.mmioWrite(guestBar0 + DMAE_REG.SCRATCH, 4, i);
      },
    },
  ];
  const report = await runSuite(SUITE, cases);
  for (const [a, b] of PAIRS) {
    const r = ratio(report, a, b);
    if (r) console.log(`  ${a} / ${b}: ${r.ratio.toFixed(2)}x (${fmtNs(r.a.nsPerAccess)} vs ${fmtNs(r.b.nsPerAccess)} ns)`);
  }
  vmm.close();
  return report;
}

/** nsPerAccess of case `a` over case `b` in one suite report. */
export function ratio(report: SuiteReport, a: string, b: string): { ratio: number; a: CaseReport; b: CaseReport } | null {
  const x = report.cases.find((c) => c.name === a);
  const y = report.cases.find((c) => c.name === b);
  return x && y ? { ratio: x.ratios?.[b] ?? x.nsPerAccess / y.nsPerAccess, a: x, b: y } : null;
}
