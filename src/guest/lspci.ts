import {
  PCI_BASE_ADDRESS_0, PCI_BRIDGE_CONTROL, PCI_CAP_ID_EXP, PCI_CAP_ID_MSI, PCI_CAP_ID_MSIX, PCI_CAP_ID_PM, PCI_CAP_ID_VNDR,
  PCI_COMMAND, PCI_COMMAND_IO, PCI_COMMAND_MASTER, PCI_COMMAND_MEMORY, PCI_CACHE_LINE_SIZE, PCI_EXP_DEVCAP, PCI_EXP_DEVCTL,
  PCI_EXP_DEVSTA, PCI_EXP_FLAGS, PCI_EXP_LNKCAP, PCI_EXP_LNKCTL, PCI_EXP_LNKSTA, PCI_EXT_CAP_ID_DSN, PCI_EXT_CAP_ID_ERR,
  PCI_EXT_CAP_ID_SRIOV, PCI_INTERRUPT_LINE, PCI_INTERRUPT_PIN, PCI_IO_BASE, PCI_IO_BASE_UPPER16, PCI_IO_LIMIT,
  PCI_IO_LIMIT_UPPER16, PCI_LATENCY_TIMER, PCI_MEMORY_BASE, PCI_MEMORY_LIMIT, PCI_MSI_FLAGS, PCI_MSIX_FLAGS, PCI_MSIX_PBA,
  PCI_MSIX_TABLE, PCI_PM_CTRL, PCI_PM_PMC, PCI_PREF_BASE_UPPER32, PCI_PREF_LIMIT_UPPER32, PCI_PREF_MEMORY_BASE,
  PCI_PREF_MEMORY_LIMIT, PCI_PRIMARY_BUS, PCI_ROM_ADDRESS, PCI_ROM_ADDRESS1, PCI_SEC_LATENCY_TIMER, PCI_SEC_STATUS,
  PCI_SECONDARY_BUS, PCI_STATUS, PCI_SUBORDINATE_BUS,
} from '../hw/pciRegs.js';
import { walkCapabilities, walkExtendedCapabilities } from './capabilityWalk.js';
import type { ConfigAccess } from './configAccess.js';
import type { EnumeratedFunction, EnumerationResult } from './enumerator.js';
import { className, deviceName, progIfName, vendorName } from './pciNames.js';

export interface LspciOptions {
  /** false: one line per function (plain `lspci`); true (default): the `lspci -vv` view */
  verbose?: boolean;
}

const hx = (n: number, w: number) => n.toString(16).padStart(w, '0');
const pm = (v: number, bit: number) => ((v & bit) !== 0 ? '+' : '-');

/** lspci's sizes: bytes, or the largest unit that divides exactly (16, 4K, 2M, 1G). */
export function formatSize(n: number): string {
  const units = ['', 'K', 'M', 'G', 'T', 'P'];
  let i = 0;
  while (n >= 1024 && n % 1024 === 0 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n}${units[i]}`;
}

type Reader = (reg: number, size: 1 | 2 | 4) => number;

/**
 * Formats an enumerated hierarchy like `lspci -vv`: every register shown is read live through
 * `access` (config cycles, as lspci reads config space); only region sizes come from `result`,
 * since sizing again would disturb the BARs (lspci takes them from the kernel the same way).
 */
export function formatLspci(access: ConfigAccess, result: EnumerationResult, options: LspciOptions = {}): string {
  const verbose = options.verbose ?? true;
  const fns = [...result.functions].sort((a, b) => a.bus - b.bus || a.device - b.device || a.function - b.function);
  const blocks = fns.map((f) => {
    const rd: Reader = (reg, size) => access.read(f.bus, f.device, f.function, reg, size);
    return verbose ? describe(access, f, rd).join('\n') : headLine(f, rd, false);
  });
  return blocks.join(verbose ? '\n\n' : '\n') + '\n';
}

function headLine(f: EnumeratedFunction, rd: Reader, verbose: boolean): string {
  const classRev = rd(0x08, 4);
  const classCode = classRev >>> 8;
  const rev = classRev & 0xff;
  const id = rd(0x00, 4);
  let s = `${hx(f.bus, 2)}:${hx(f.device, 2)}.${f.function} ${className(classCode)}: ${deviceName(id & 0xffff, id >>> 16)}`;
  if (rev !== 0) s += ` (rev ${hx(rev, 2)})`;
  const progIf = classCode & 0xff;
  const pname = progIfName(classCode);
  if (verbose && (progIf !== 0 || pname !== undefined)) s += ` (prog-if ${hx(progIf, 2)}${pname ? ` [${pname}]` : ''})`;
  return s;
}

function devsel(status: number): string {
  return ['fast', 'medium', 'slow', '??'][(status >> 9) & 3];
}

function describe(access: ConfigAccess, f: EnumeratedFunction, rd: Reader): string[] {
  const out = [headLine(f, rd, true)];
  const line = (s: string, indent = 1) => out.push('\t'.repeat(indent) + s);
  const isBridge = f.headerType === 1;
  if (!isBridge) {
    const sv = rd(0x2c, 2);
    const sd = rd(0x2e, 2);
    if (sv !== 0 && sv !== 0xffff) line(`Subsystem: ${vendorName(sv) !== undefined ? `${vendorName(sv)} Device ${hx(sd, 4)}` : `Device ${hx(sv, 4)}:${hx(sd, 4)}`}`);
  }
  const cmd = rd(PCI_COMMAND, 2);
  const st = rd(PCI_STATUS, 2);
  line(
    `Control: I/O${pm(cmd, 0x1)} Mem${pm(cmd, 0x2)} BusMaster${pm(cmd, 0x4)} SpecCycle${pm(cmd, 0x8)} MemWINV${pm(cmd, 0x10)} ` +
      `VGASnoop${pm(cmd, 0x20)} ParErr${pm(cmd, 0x40)} Stepping${pm(cmd, 0x80)} SERR${pm(cmd, 0x100)} FastB2B${pm(cmd, 0x200)} DisINTx${pm(cmd, 0x400)}`,
  );
  line(
    `Status: Cap${pm(st, 0x10)} 66MHz${pm(st, 0x20)} UDF${pm(st, 0x40)} FastB2B${pm(st, 0x80)} ParErr${pm(st, 0x100)} DEVSEL=${devsel(st)} ` +
      `>TAbort${pm(st, 0x800)} <TAbort${pm(st, 0x1000)} <MAbort${pm(st, 0x2000)} >SERR${pm(st, 0x4000)} <PERR${pm(st, 0x8000)} INTx${pm(st, 0x8)}`,
  );
  if (cmd & PCI_COMMAND_MASTER) {
    const cls = rd(PCI_CACHE_LINE_SIZE, 1);
    line(`Latency: ${rd(PCI_LATENCY_TIMER, 1)}${cls ? `, Cache Line Size: ${cls * 4} bytes` : ''}`);
  }
  const pin = rd(PCI_INTERRUPT_PIN, 1);
  if (pin >= 1 && pin <= 4) line(`Interrupt: pin ${'ABCD'[pin - 1]} routed to IRQ ${rd(PCI_INTERRUPT_LINE, 1)}`);
  for (const bar of f.bars) {
    const reg = PCI_BASE_ADDRESS_0 + 4 * bar.index;
    const lo = rd(reg, 4);
    const size = ` [size=${formatSize(bar.size)}]`;
    if (bar.kind === 'io') {
      const addr = (lo & 0xfffffffc) >>> 0;
      const dis = cmd & PCI_COMMAND_IO ? '' : ' [disabled]';
      line(`Region ${bar.index}: I/O ports at ${addr ? hx(addr, 4) : '<unassigned>'}${dis}${size}`);
    } else {
      const addr = ((lo & 0xfffffff0) >>> 0) + (bar.is64 ? rd(reg + 4, 4) * 2 ** 32 : 0);
      const dis = cmd & PCI_COMMAND_MEMORY ? '' : ' [disabled]';
      const kind = `(${bar.is64 ? 64 : 32}-bit, ${bar.prefetchable ? '' : 'non-'}prefetchable)`;
      line(`Region ${bar.index}: Memory at ${addr ? hx(addr, 8) : '<unassigned>'} ${kind}${dis}${size}`);
    }
  }
  const rom = () => {
    if (!f.rom) return;
    const r = rd(isBridge ? PCI_ROM_ADDRESS1 : PCI_ROM_ADDRESS, 4);
    const addr = (r & 0xfffff800) >>> 0;
    line(`Expansion ROM at ${addr ? hx(addr, 8) : '<unassigned>'}${r & 1 ? '' : ' [disabled]'} [size=${formatSize(f.rom.size)}]`);
  };
  if (isBridge) {
    describeBridge(rd, line);
    rom();
    const ctl = rd(PCI_BRIDGE_CONTROL, 2);
    line(
      `BridgeCtl: Parity${pm(ctl, 0x1)} SERR${pm(ctl, 0x2)} NoISA${pm(ctl, 0x4)} VGA${pm(ctl, 0x8)} VGA16${pm(ctl, 0x10)} ` +
        `MAbort${pm(ctl, 0x20)} >Reset${pm(ctl, 0x40)} FastB2B${pm(ctl, 0x80)}`,
    );
  } else {
    rom();
  }
  for (const c of walkCapabilities(access, f.bus, f.device, f.function)) {
    const head = `Capabilities: [${hx(c.offset, 2)}] `;
    switch (c.id) {
      case PCI_CAP_ID_PM:
        describePm(rd, c.offset, head, line);
        break;
      case PCI_CAP_ID_MSI:
        describeMsi(rd, c.offset, head, line);
        break;
      case PCI_CAP_ID_MSIX: {
        const ctl = rd(c.offset + PCI_MSIX_FLAGS, 2);
        line(`${head}MSI-X: Enable${pm(ctl, 0x8000)} Count=${(ctl & 0x7ff) + 1} Masked${pm(ctl, 0x4000)}`);
        const t = rd(c.offset + PCI_MSIX_TABLE, 4);
        const p = rd(c.offset + PCI_MSIX_PBA, 4);
        line(`Vector table: BAR=${t & 7} offset=${hx((t & ~7) >>> 0, 8)}`, 2);
        line(`PBA: BAR=${p & 7} offset=${hx((p & ~7) >>> 0, 8)}`, 2);
        break;
      }
      case PCI_CAP_ID_EXP:
        describePcie(rd, c.offset, head, line);
        break;
      case PCI_CAP_ID_VNDR:
        line(`${head}Vendor Specific Information: Len=${hx(rd(c.offset + 2, 1), 2)} <?>`);
        break;
      default:
        line(`${head}#${hx(c.id, 2)} [${hx(rd(c.offset + 2, 2), 4)}]`);
    }
  }
  for (const c of walkExtendedCapabilities(access, f.bus, f.device, f.function)) {
    const head = `Capabilities: [${hx(c.offset, 3)} v${c.version}] `;
    switch (c.id) {
      case PCI_EXT_CAP_ID_ERR:
        describeAer(rd, c.offset, head, line);
        break;
      case PCI_EXT_CAP_ID_DSN: {
        const lo = rd(c.offset + 4, 4);
        const hi = rd(c.offset + 8, 4);
        const bytes = [hi >>> 24, (hi >>> 16) & 0xff, (hi >>> 8) & 0xff, hi & 0xff, lo >>> 24, (lo >>> 16) & 0xff, (lo >>> 8) & 0xff, lo & 0xff];
        line(`${head}Device Serial Number ${bytes.map((b) => hx(b, 2)).join('-')}`);
        break;
      }
      case PCI_EXT_CAP_ID_SRIOV:
        line(`${head}Single Root I/O Virtualization (SR-IOV)`);
        break;
      default:
        line(`${head}Extended Capability ID 0x${hx(c.id, 2)}`);
    }
  }
  return out;
}

function describeBridge(rd: Reader, line: (s: string, indent?: number) => void): void {
  line(
    `Bus: primary=${hx(rd(PCI_PRIMARY_BUS, 1), 2)}, secondary=${hx(rd(PCI_SECONDARY_BUS, 1), 2)}, ` +
      `subordinate=${hx(rd(PCI_SUBORDINATE_BUS, 1), 2)}, sec-latency=${rd(PCI_SEC_LATENCY_TIMER, 1)}`,
  );
  const window = (what: string, base: number, limit: number, width: number, bits: number) => {
    if (base <= limit) line(`${what} behind bridge: ${hx(base, width)}-${hx(limit, width)} [size=${formatSize(limit - base + 1)}] [${bits}-bit]`);
    else line(`${what} behind bridge: [disabled] [${bits}-bit]`);
  };
  const iob = rd(PCI_IO_BASE, 1);
  const iol = rd(PCI_IO_LIMIT, 1);
  const io32 = (iob & 0xf) === 1;
  const ioBase = ((iob & 0xf0) << 8) + (io32 ? rd(PCI_IO_BASE_UPPER16, 2) * 0x10000 : 0);
  const ioLimit = ((iol & 0xf0) << 8) + 0xfff + (io32 ? rd(PCI_IO_LIMIT_UPPER16, 2) * 0x10000 : 0);
  window('I/O', ioBase, ioLimit, ioLimit > 0xffff ? 8 : 4, io32 ? 32 : 16);
  const mb = (rd(PCI_MEMORY_BASE, 2) & 0xfff0) * 0x10000;
  const ml = (rd(PCI_MEMORY_LIMIT, 2) & 0xfff0) * 0x10000 + 0xfffff;
  window('Memory', mb, ml, 8, 32);
  const pbr = rd(PCI_PREF_MEMORY_BASE, 2);
  const pref64 = (pbr & 0xf) === 1;
  const pb = (pbr & 0xfff0) * 0x10000 + (pref64 ? rd(PCI_PREF_BASE_UPPER32, 4) * 2 ** 32 : 0);
  const pl = (rd(PCI_PREF_MEMORY_LIMIT, 2) & 0xfff0) * 0x10000 + 0xfffff + (pref64 ? rd(PCI_PREF_LIMIT_UPPER32, 4) * 2 ** 32 : 0);
  window('Prefetchable memory', pb, pl, pl > 0xffffffff ? 16 : 8, pref64 ? 64 : 32);
  const ss = rd(PCI_SEC_STATUS, 2);
  line(
    `Secondary status: 66MHz${pm(ss, 0x20)} FastB2B${pm(ss, 0x80)} ParErr${pm(ss, 0x100)} DEVSEL=${devsel(ss)} >TAbort${pm(ss, 0x800)} ` +
      `<TAbort${pm(ss, 0x1000)} <MAbort${pm(ss, 0x2000)} <SERR${pm(ss, 0x4000)} <PERR${pm(ss, 0x8000)}`,
  );
}

type Line = (s: string, indent?: number) => void;

function describePm(rd: Reader, off: number, head: string, line: Line): void {
  const pmc = rd(off + PCI_PM_PMC, 2);
  const csr = rd(off + PCI_PM_CTRL, 2);
  const aux = [0, 55, 100, 160, 220, 270, 320, 375][(pmc >> 6) & 7];
  line(`${head}Power Management version ${pmc & 7}`);
  line(
    `Flags: PMEClk${pm(pmc, 0x8)} DSI${pm(pmc, 0x20)} D1${pm(pmc, 0x200)} D2${pm(pmc, 0x400)} AuxCurrent=${aux}mA ` +
      `PME(D0${pm(pmc, 0x800)},D1${pm(pmc, 0x1000)},D2${pm(pmc, 0x2000)},D3hot${pm(pmc, 0x4000)},D3cold${pm(pmc, 0x8000)})`,
    2,
  );
  line(
    `Status: D${csr & 3} NoSoftReset${pm(csr, 0x8)} PME-Enable${pm(csr, 0x100)} DSel=${(csr >> 9) & 0xf} DScale=${(csr >> 13) & 3} PME${pm(csr, 0x8000)}`,
    2,
  );
}

function describeMsi(rd: Reader, off: number, head: string, line: Line): void {
  const ctl = rd(off + PCI_MSI_FLAGS, 2);
  const is64 = (ctl & 0x80) !== 0;
  const maskable = (ctl & 0x100) !== 0;
  line(`${head}MSI: Enable${pm(ctl, 1)} Count=${1 << ((ctl >> 4) & 7)}/${1 << ((ctl >> 1) & 7)} Maskable${pm(ctl, 0x100)} 64bit${pm(ctl, 0x80)}`);
  const lo = rd(off + 4, 4);
  const data = is64 ? off + 12 : off + 8;
  const addr = is64 ? `${hx(rd(off + 8, 4), 8)}${hx(lo, 8)}` : hx(lo, 8);
  line(`Address: ${addr}  Data: ${hx(rd(data, 2), 4)}`, 2);
  if (maskable) line(`Masking: ${hx(rd(data + 4, 4), 8)}  Pending: ${hx(rd(data + 8, 4), 8)}`, 2);
}

const PCIE_TYPES: Record<number, string> = {
  0: 'Endpoint',
  1: 'Legacy Endpoint',
  4: 'Root Port',
  5: 'Upstream Port',
  6: 'Downstream Port',
  7: 'PCI-Express to PCI/PCI-X Bridge',
  8: 'PCI/PCI-X to PCI-Express Bridge',
  9: 'Root Complex Integrated Endpoint',
  10: 'Root Complex Event Collector',
};
const L0S = ['<64ns', '<128ns', '<256ns', '<512ns', '<1us', '<2us', '<4us', 'unlimited'];
const L1 = ['<1us', '<2us', '<4us', '<8us', '<16us', '<32us', '<64us', 'unlimited'];
const SPEED = ['unknown', '2.5GT/s', '5GT/s', '8GT/s', '16GT/s', '32GT/s', '64GT/s'];

function describePcie(rd: Reader, off: number, head: string, line: Line): void {
  const flags = rd(off + PCI_EXP_FLAGS, 2);
  const type = (flags >> 4) & 0xf;
  const slot = type === 4 || type === 6 ? ` (Slot${pm(flags, 0x100)})` : '';
  line(`${head}Express (v${flags & 0xf}) ${PCIE_TYPES[type] ?? `Unknown type ${type}`}${slot}, MSI ${hx((flags >> 9) & 0x1f, 2)}`);
  const endpoint = type === 0 || type === 1 || type === 9;
  const devcap = rd(off + PCI_EXP_DEVCAP, 4);
  line(
    `DevCap:\tMaxPayload ${128 << (devcap & 7)} bytes, PhantFunc ${(devcap >> 3) & 3}` +
      (endpoint ? `, Latency L0s ${L0S[(devcap >> 6) & 7]}, L1 ${L1[(devcap >> 9) & 7]}` : ''),
    2,
  );
  line(
    `\tExtTag${pm(devcap, 0x20)} AttnBtn${pm(devcap, 0x1000)} AttnInd${pm(devcap, 0x2000)} PwrInd${pm(devcap, 0x4000)} RBE${pm(devcap, 0x8000)}` +
      (endpoint ? ` FLReset${pm(devcap, 0x10000000)}` : ''),
    2,
  );
  const ctl = rd(off + PCI_EXP_DEVCTL, 2);
  line(`DevCtl:\tCorrErr${pm(ctl, 1)} NonFatalErr${pm(ctl, 2)} FatalErr${pm(ctl, 4)} UnsupReq${pm(ctl, 8)}`, 2);
  line(
    `\tRlxdOrd${pm(ctl, 0x10)} ExtTag${pm(ctl, 0x100)} PhantFunc${pm(ctl, 0x200)} AuxPwr${pm(ctl, 0x400)} NoSnoop${pm(ctl, 0x800)}` +
      (endpoint && devcap & 0x10000000 ? ` FLReset${pm(ctl, 0x8000)}` : ''),
    2,
  );
  line(`\tMaxPayload ${128 << ((ctl >> 5) & 7)} bytes, MaxReadReq ${128 << ((ctl >> 12) & 7)} bytes`, 2);
  const sta = rd(off + PCI_EXP_DEVSTA, 2);
  line(`DevSta:\tCorrErr${pm(sta, 1)} NonFatalErr${pm(sta, 2)} FatalErr${pm(sta, 4)} UnsupReq${pm(sta, 8)} AuxPwr${pm(sta, 0x10)} TransPend${pm(sta, 0x20)}`, 2);
  const lc = rd(off + PCI_EXP_LNKCAP, 4);
  const aspm = ['not supported', 'L0s', 'L1', 'L0s L1'][(lc >> 10) & 3];
  line(
    `LnkCap:\tPort #${lc >>> 24}, Speed ${SPEED[lc & 0xf] ?? 'unknown'}, Width x${(lc >> 4) & 0x3f}, ASPM ${aspm}, ` +
      `Exit Latency L0s ${L0S[(lc >> 12) & 7]}, L1 ${L1[(lc >> 15) & 7]}`,
    2,
  );
  const lctl = rd(off + PCI_EXP_LNKCTL, 2);
  const aspmCtl = ['Disabled', 'L0s Enabled', 'L1 Enabled', 'L0s L1 Enabled'][lctl & 3];
  line(`LnkCtl:\tASPM ${aspmCtl}; RCB ${lctl & 8 ? 128 : 64} bytes, Disabled${pm(lctl, 0x10)} CommClk${pm(lctl, 0x40)}`, 2);
  const ls = rd(off + PCI_EXP_LNKSTA, 2);
  line(`LnkSta:\tSpeed ${SPEED[ls & 0xf] ?? 'unknown'}, Width x${(ls >> 4) & 0x3f}`, 2);
}

const UE_BITS: [number, string][] = [
  [4, 'DLP'], [5, 'SDES'], [12, 'TLP'], [13, 'FCP'], [14, 'CmpltTO'], [15, 'CmpltAbrt'], [16, 'UnxCmplt'], [17, 'RxOF'],
  [18, 'MalfTLP'], [19, 'ECRC'], [20, 'UnsupReq'], [21, 'ACSViol'],
];
const CE_BITS: [number, string][] = [
  [0, 'RxErr'], [6, 'BadTLP'], [7, 'BadDLLP'], [8, 'Rollover'], [12, 'Timeout'], [13, 'AdvNonFatalErr'], [14, 'CorrIntErr'], [15, 'HeaderOF'],
];

function describeAer(rd: Reader, off: number, head: string, line: Line): void {
  const bits = (v: number, names: [number, string][]) => names.map(([b, n]) => `${n}${pm(v, 2 ** b)}`).join(' ');
  line(`${head}Advanced Error Reporting`);
  line(`UESta:\t${bits(rd(off + 4, 4), UE_BITS)}`, 2);
  line(`UEMsk:\t${bits(rd(off + 8, 4), UE_BITS)}`, 2);
  line(`UESvrt:\t${bits(rd(off + 12, 4), UE_BITS)}`, 2);
  line(`CESta:\t${bits(rd(off + 16, 4), CE_BITS)}`, 2);
  line(`CEMsk:\t${bits(rd(off + 20, 4), CE_BITS)}`, 2);
  const cap = rd(off + 24, 4);
  line(`AERCap:\tFirst Error Pointer: ${hx(cap & 0x1f, 2)}, ECRCGenCap${pm(cap, 0x20)} ECRCGenEn${pm(cap, 0x40)} ECRCChkCap${pm(cap, 0x80)} ECRCChkEn${pm(cap, 0x100)}`, 2);
}
