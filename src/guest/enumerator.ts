import { formatBdf } from '../hw/bdf.js';
import {
  PCI_BASE_ADDRESS_0, PCI_BASE_ADDRESS_MEM_PREFETCH, PCI_BASE_ADDRESS_MEM_TYPE_64, PCI_BASE_ADDRESS_SPACE_IO, PCI_CLASS_PROG,
  PCI_COMMAND, PCI_COMMAND_IO, PCI_COMMAND_MASTER, PCI_COMMAND_MEMORY, PCI_HEADER_TYPE, PCI_HEADER_TYPE_BRIDGE, PCI_HEADER_TYPE_MFD,
  PCI_INTERRUPT_LINE, PCI_INTERRUPT_PIN, PCI_IO_BASE, PCI_IO_BASE_UPPER16, PCI_IO_LIMIT_UPPER16, PCI_IO_RANGE_TYPE_32,
  PCI_MEMORY_BASE, PCI_PREF_BASE_UPPER32, PCI_PREF_LIMIT_UPPER32, PCI_PREF_MEMORY_BASE, PCI_PREF_RANGE_TYPE_64, PCI_PRIMARY_BUS,
  PCI_ROM_ADDRESS, PCI_ROM_ADDRESS1, PCI_ROM_ADDRESS_ENABLE, PCI_SUBORDINATE_BUS, PCI_SUBSYSTEM_ID, PCI_SUBSYSTEM_VENDOR_ID,
  PCI_VENDOR_ID,
} from '../hw/pciRegs.js';
import type { FoundCapability, FoundExtCapability } from './capabilityWalk.js';
import { isPcie, walkCapabilities, walkExtendedCapabilities } from './capabilityWalk.js';
import type { ConfigAccess } from './configAccess.js';

// ---- the result ----------------------------------------------------------------------------------

export type BarKind = 'mem32' | 'mem64' | 'io';

export interface EnumeratedBar {
  /** BAR register index 0-5 (a 64-bit BAR has the lower index) */
  index: number;
  kind: BarKind;
  size: number;
  /** assigned bus address, or null when no pool had room */
  address: number | null;
  prefetchable: boolean;
  is64: boolean;
}

export interface EnumeratedRom {
  size: number;
  address: number | null;
  /** the ROM's own enable bit (firmware assigns the address and leaves it off, as Linux expects) */
  enabled: boolean;
}

/** An address range with an inclusive limit, as bridge windows and lspci state them. */
export interface AddressRange {
  base: number;
  limit: number;
}

export interface EnumeratedWindow extends AddressRange {
  size: number;
}

export interface EnumeratedBridge {
  primaryBus: number;
  secondaryBus: number;
  subordinateBus: number;
  /** null: closed (nothing behind the bridge needs this space) */
  io: EnumeratedWindow | null;
  memory: EnumeratedWindow | null;
  prefetchable: EnumeratedWindow | null;
  /** the I/O window decodes 32-bit addresses */
  io32: boolean;
  /** the prefetchable window decodes 64-bit addresses */
  prefetchable64: boolean;
}

/** One function as the guest's enumeration found and set it up: IDs, assigned BARs, capabilities. */
export interface EnumeratedFunction {
  /** "0000:01:00.0", with the bus number the enumeration assigned */
  bdf: string;
  /** Bus number the enumeration assigned. */
  bus: number;
  /** Device number on the bus, 0-31. */
  device: number;
  /** Function number, 0-7. */
  function: number;
  /** Vendor ID register. */
  vendorId: number;
  /** Device ID register. */
  deviceId: number;
  /** Revision ID register. */
  revision: number;
  /** 24-bit: base class, subclass, programming interface */
  classCode: number;
  /** Subsystem Vendor ID (type 0 headers; 0 for bridges). */
  subsystemVendorId: number;
  /** Subsystem ID (type 0 headers; 0 for bridges). */
  subsystemId: number;
  /** header layout without the multi-function bit: 0 normal, 1 PCI-to-PCI bridge */
  headerType: number;
  /** function 0 of this device has the multi-function bit */
  multiFunction: boolean;
  /** The function has a PCI Express capability (so extended config space was scanned). */
  pcie: boolean;
  /** Implemented BARs with their sizes and assigned addresses. */
  bars: EnumeratedBar[];
  /** The Expansion ROM BAR, null when the function has none. */
  rom: EnumeratedRom | null;
  /** Capabilities found walking the list from PCI_CAPABILITY_LIST, in list order. */
  capabilities: FoundCapability[];
  /** Extended capabilities found walking the chain from 0x100, in chain order. */
  extendedCapabilities: FoundExtCapability[];
  /** 0 none, 1-4 INTA#-INTD# */
  interruptPin: number;
  /** the IRQ firmware wrote to Interrupt Line (255 when no pin) */
  interruptLine: number;
  /** the Command register as enumeration left it */
  command: number;
  /** Bus numbers and windows programmed into a bridge, null for type 0 functions. */
  bridge: EnumeratedBridge | null;
}

export interface AddressPools {
  io: AddressRange;
  /** non-prefetchable memory (and prefetchable BARs that cannot go above 4 GiB), below 4 GiB */
  mem32: AddressRange;
  /** 64-bit prefetchable memory, above 4 GiB */
  mem64: AddressRange;
}

/** What {@link enumerate} returns: every function found, the bus numbers and address pools used, problems. */
export interface EnumerationResult {
  /** The config access mechanism used: 'ecam' or 'cf8' (mechanism #1 ports). */
  mechanism: string;
  /** functions in scan order: depth first, each bridge followed by what is behind it */
  functions: EnumeratedFunction[];
  /** the highest bus number assigned */
  lastBus: number;
  /** The I/O and memory ranges BARs and bridge windows were assigned from. */
  pools: AddressPools;
  /** resources that could not be assigned, bus numbers that ran out */
  problems: string[];
}

export interface EnumerationOptions {
  pools?: Partial<AddressPools>;
  /** IRQ for each of the four PIRQ lines at the root bus (default SeaBIOS's 10, 10, 11, 11) */
  pirqs?: [number, number, number, number];
}

// ---- address pools -------------------------------------------------------------------------------

const ECAM_DEFAULT_SIZE = 256 << 20;

/** The PC layout: legacy-free I/O above 0xC000, MMIO from 3 GiB to the I/O APIC, 64-bit MMIO at 32 GiB. */
export const DEFAULT_POOLS: AddressPools = {
  io: { base: 0xc000, limit: 0xffff },
  mem32: { base: 0xc0000000, limit: 0xfebfffff },
  mem64: { base: 0x8_0000_0000, limit: 0x80_0000_0000 - 1 },
};

/**
 * The default pools with the ECAM window carved out of the 32-bit MMIO pool (the larger remaining
 * piece is kept): a BAR placed over ECAM would be shadowed by config space.
 */
export function platformPools(ecamBase: number, ecamSize = ECAM_DEFAULT_SIZE): AddressPools {
  const m = DEFAULT_POOLS.mem32;
  const eEnd = ecamBase + ecamSize - 1;
  let mem32 = { ...m };
  if (ecamBase <= m.limit && eEnd >= m.base) {
    const below = { base: m.base, limit: ecamBase - 1 };
    const above = { base: eEnd + 1, limit: m.limit };
    const len = (r: AddressRange) => Math.max(0, r.limit - r.base + 1);
    mem32 = len(below) >= len(above) ? below : above;
  }
  return { io: { ...DEFAULT_POOLS.io }, mem32, mem64: { ...DEFAULT_POOLS.mem64 } };
}

// ---- enumeration ---------------------------------------------------------------------------------

type Space = 'io' | 'mem' | 'pref';
const SPACES: Space[] = ['io', 'mem', 'pref'];
/** Bridge window granularity: 4 KiB for I/O, 1 MiB for memory (PCI-to-PCI Bridge spec 3.2.5). */
const GRANULARITY: Record<Space, number> = { io: 0x1000, mem: 0x100000, pref: 0x100000 };

interface FnNode {
  out: EnumeratedFunction;
  parent: BusNode;
  child: BusNode | null;
}

interface BusNode {
  number: number;
  bridge: FnNode | null;
  functions: FnNode[];
}

/** Something to place in an address space: a BAR, a ROM, or a bridge window with its own contents. */
interface Item {
  size: number;
  align: number;
  what: string;
  place(base: number): void;
  fail(): void;
}

interface Needs {
  items: Item[];
  size: number;
  align: number;
}

const alignUp = (x: number, a: number) => Math.ceil(x / a) * a;
const lowestBit32 = (x: number) => (x & -x) >>> 0;
const hex = (n: number) => '0x' + n.toString(16);

function absentId(id: number): boolean {
  // what Linux's pci_bus_generic_read_dev_vendor_id treats as "no device"
  return id === 0xffffffff || id === 0 || id === 0x0000ffff || id === 0xffff0000;
}

class Enumerator {
  lastBus = 0;
  readonly problems: string[] = [];
  readonly order: FnNode[] = [];

  constructor(
    readonly access: ConfigAccess,
    readonly pools: AddressPools,
    readonly pirqs: number[],
  ) {}

  rd(f: EnumeratedFunction, reg: number, size: 1 | 2 | 4): number {
    return this.access.read(f.bus, f.device, f.function, reg, size);
  }
  wr(f: EnumeratedFunction, reg: number, size: 1 | 2 | 4, value: number): void {
    this.access.write(f.bus, f.device, f.function, reg, size, value >>> 0);
  }

  // ---- pass 1: find functions, number buses depth first ----------------------------------------

  scanBus(number: number, bridge: FnNode | null): BusNode {
    const node: BusNode = { number, bridge, functions: [] };
    const a = this.access;
    for (let dev = 0; dev < 32; dev++) {
      const id0 = a.read(number, dev, 0, PCI_VENDOR_ID, 4);
      if (absentId(id0)) continue;
      const multi = (a.read(number, dev, 0, PCI_HEADER_TYPE, 1) & PCI_HEADER_TYPE_MFD) !== 0;
      for (let fn = 0; fn < (multi ? 8 : 1); fn++) {
        const id = fn === 0 ? id0 : a.read(number, dev, fn, PCI_VENDOR_ID, 4);
        if (absentId(id)) continue;
        const f: FnNode = { out: this.probe(number, dev, fn, id, multi), parent: node, child: null };
        node.functions.push(f);
      }
    }
    const bridges = node.functions.filter((f) => f.out.headerType === PCI_HEADER_TYPE_BRIDGE);
    // Stop every bridge on this bus from forwarding config cycles before renumbering any of them, so
    // bus ranges left over from power-on straps or an earlier enumeration cannot overlap (Linux does
    // the same when it reassigns bus numbers).
    for (const b of bridges) this.wr(b.out, PCI_PRIMARY_BUS, 4, this.rd(b.out, PCI_PRIMARY_BUS, 4) & 0xff000000);
    for (const f of node.functions) {
      this.order.push(f);
      if (f.out.headerType !== PCI_HEADER_TYPE_BRIDGE) continue;
      if (this.lastBus >= 255) {
        this.problems.push(`${f.out.bdf}: no bus number left for the bus behind this bridge`);
        continue;
      }
      const sec = ++this.lastBus;
      const keep = this.rd(f.out, PCI_PRIMARY_BUS, 4) & 0xff000000; // secondary latency timer
      // while scanning below, the bridge forwards everything above its secondary bus
      this.wr(f.out, PCI_PRIMARY_BUS, 4, keep | (0xff << 16) | (sec << 8) | number);
      f.child = this.scanBus(sec, f);
      this.wr(f.out, PCI_SUBORDINATE_BUS, 1, this.lastBus);
      const br = f.out.bridge!;
      br.primaryBus = number;
      br.secondaryBus = sec;
      br.subordinateBus = this.lastBus;
    }
    return node;
  }

  /** Reads a function's identity, sizes its BARs and ROM, walks its capabilities. */
  probe(bus: number, device: number, fn: number, id: number, multi: boolean): EnumeratedFunction {
    const f: EnumeratedFunction = {
      bdf: formatBdf(0, bus, device, fn), bus, device, function: fn,
      vendorId: id & 0xffff, deviceId: id >>> 16, revision: 0, classCode: 0, subsystemVendorId: 0, subsystemId: 0,
      headerType: 0, multiFunction: multi, pcie: false, bars: [], rom: null, capabilities: [], extendedCapabilities: [],
      interruptPin: 0, interruptLine: 0xff, command: 0, bridge: null,
    };
    const classRev = this.rd(f, PCI_CLASS_PROG - 1, 4);
    f.revision = classRev & 0xff;
    f.classCode = classRev >>> 8;
    f.headerType = this.rd(f, PCI_HEADER_TYPE, 1) & 0x7f;
    const nBars = f.headerType === 0 ? 6 : f.headerType === PCI_HEADER_TYPE_BRIDGE ? 2 : 1;
    if (f.headerType === 0) {
      f.subsystemVendorId = this.rd(f, PCI_SUBSYSTEM_VENDOR_ID, 2);
      f.subsystemId = this.rd(f, PCI_SUBSYSTEM_ID, 2);
    }
    // no decoding while BARs hold sizing patterns
    const cmd = this.rd(f, PCI_COMMAND, 2);
    if (cmd & (PCI_COMMAND_IO | PCI_COMMAND_MEMORY)) this.wr(f, PCI_COMMAND, 2, cmd & ~(PCI_COMMAND_IO | PCI_COMMAND_MEMORY));
    f.bars = this.sizeBars(f, nBars);
    if (f.headerType <= PCI_HEADER_TYPE_BRIDGE) f.rom = this.sizeRom(f, f.headerType === 0 ? PCI_ROM_ADDRESS : PCI_ROM_ADDRESS1);
    if (cmd & (PCI_COMMAND_IO | PCI_COMMAND_MEMORY)) this.wr(f, PCI_COMMAND, 2, cmd);
    f.command = cmd;
    f.capabilities = walkCapabilities(this.access, bus, device, fn);
    f.pcie = isPcie(f.capabilities);
    if (f.pcie) f.extendedCapabilities = walkExtendedCapabilities(this.access, bus, device, fn);
    f.interruptPin = this.rd(f, PCI_INTERRUPT_PIN, 1);
    if (f.headerType === PCI_HEADER_TYPE_BRIDGE) {
      f.bridge = {
        primaryBus: 0, secondaryBus: 0, subordinateBus: 0, io: null, memory: null, prefetchable: null,
        io32: (this.rd(f, PCI_IO_BASE, 1) & 0x0f) === PCI_IO_RANGE_TYPE_32,
        prefetchable64: (this.rd(f, PCI_PREF_MEMORY_BASE, 2) & 0x0f) === PCI_PREF_RANGE_TYPE_64,
      };
    }
    return f;
  }

  /** Save, write all-ones, read back, restore: the read-back's writable bits give the size. */
  private probeReg(f: EnumeratedFunction, reg: number, pattern: number): [orig: number, sized: number] {
    const orig = this.rd(f, reg, 4);
    this.wr(f, reg, 4, pattern);
    const sized = this.rd(f, reg, 4);
    this.wr(f, reg, 4, orig);
    return [orig, sized];
  }

  sizeBars(f: EnumeratedFunction, n: number): EnumeratedBar[] {
    const bars: EnumeratedBar[] = [];
    for (let i = 0; i < n; i++) {
      const reg = PCI_BASE_ADDRESS_0 + 4 * i;
      const [orig, sized] = this.probeReg(f, reg, 0xffffffff);
      if (sized === 0 || sized === 0xffffffff) continue; // not implemented (or the function vanished)
      if (orig & PCI_BASE_ADDRESS_SPACE_IO) {
        let mask = (sized & 0xfffffffc) >>> 0;
        if ((mask & 0xffff0000) === 0) mask = (mask | 0xffff0000) >>> 0; // 16-bit decoders read 0 above
        const size = lowestBit32(mask);
        if (size === 0) continue;
        bars.push({ index: i, kind: 'io', size, address: (orig & 0xfffffffc) >>> 0, prefetchable: false, is64: false });
        continue;
      }
      const prefetchable = (orig & PCI_BASE_ADDRESS_MEM_PREFETCH) !== 0;
      if ((orig & 0x6) === PCI_BASE_ADDRESS_MEM_TYPE_64 && i + 1 < n) {
        const [origHi, sizedHi] = this.probeReg(f, reg + 4, 0xffffffff);
        const mask = (BigInt(sizedHi) << 32n) | BigInt((sized & 0xfffffff0) >>> 0);
        const size = Number(mask & -mask);
        i++;
        if (size === 0) continue;
        const address = Number((BigInt(origHi) << 32n) | BigInt((orig & 0xfffffff0) >>> 0));
        bars.push({ index: i - 1, kind: 'mem64', size, address, prefetchable, is64: true });
        continue;
      }
      const size = lowestBit32((sized & 0xfffffff0) >>> 0);
      if (size === 0) continue;
      bars.push({ index: i, kind: 'mem32', size, address: (orig & 0xfffffff0) >>> 0, prefetchable, is64: false });
    }
    return bars;
  }

  sizeRom(f: EnumeratedFunction, reg: number): EnumeratedRom | null {
    const [orig, sized] = this.probeReg(f, reg, 0xfffff800);
    if (sized === 0xffffffff) return null;
    const size = lowestBit32((sized & 0xfffff800) >>> 0);
    if (size === 0) return null;
    return { size, address: (orig & 0xfffff800) >>> 0, enabled: (orig & PCI_ROM_ADDRESS_ENABLE) !== 0 };
  }

  // ---- pass 2: measure what each bus needs, bottom up -------------------------------------------

  /** `pref64` says whether every bridge from the root down forwards 64-bit prefetchable memory. */
  measure(bus: BusNode, pref64: boolean): Record<Space, Needs> {
    const items: Record<Space, Item[]> = { io: [], mem: [], pref: [] };
    for (const node of bus.functions) {
      const f = node.out;
      for (const bar of f.bars) {
        const space: Space = bar.kind === 'io' ? 'io' : bar.kind === 'mem64' && bar.prefetchable && pref64 ? 'pref' : 'mem';
        bar.address = null;
        items[space].push({
          size: bar.size,
          align: bar.size,
          what: `${f.bdf} BAR ${bar.index}`,
          place: (base) => this.placeBar(f, bar, base),
          fail: () => (bar.address = null),
        });
      }
      if (f.rom) {
        const rom = f.rom;
        rom.address = null;
        items.mem.push({
          size: rom.size,
          align: rom.size,
          what: `${f.bdf} expansion ROM`,
          place: (base) => {
            rom.address = base;
            rom.enabled = false;
            this.wr(f, f.headerType === 0 ? PCI_ROM_ADDRESS : PCI_ROM_ADDRESS1, 4, base);
          },
          fail: () => (rom.address = null),
        });
      }
      if (node.child) {
        const br = f.bridge!;
        const inner = this.measure(node.child, pref64 && br.prefetchable64);
        for (const space of SPACES) {
          const need = inner[space];
          const close = () => this.programWindow(f, space, null);
          if (need.items.length === 0) {
            close();
            continue;
          }
          const g = GRANULARITY[space];
          items[space].push({
            size: alignUp(need.size, g),
            align: Math.max(g, need.align),
            what: `${f.bdf} ${space} window`,
            place: (base) => {
              const limit = base + alignUp(need.size, g) - 1;
              this.programWindow(f, space, { base, limit });
              this.placeAll(need.items, { base, limit });
            },
            fail: () => {
              close();
              for (const it of need.items) it.fail();
            },
          });
        }
      }
    }
    const out = {} as Record<Space, Needs>;
    for (const space of SPACES) {
      // largest alignment first packs power-of-two BARs without holes
      const list = items[space].sort((x, y) => y.align - x.align || y.size - x.size);
      let end = 0;
      for (const it of list) end = alignUp(end, it.align) + it.size;
      out[space] = { items: list, size: end, align: list.reduce((m, it) => Math.max(m, it.align), 1) };
    }
    return out;
  }

  // ---- pass 3: assign addresses top down --------------------------------------------------------

  placeAll(items: Item[], range: AddressRange): void {
    let cursor = range.base;
    for (const it of items) {
      const base = alignUp(cursor, it.align);
      if (base + it.size - 1 > range.limit) {
        this.problems.push(`${it.what}: no room for ${hex(it.size)} bytes in ${hex(range.base)}-${hex(range.limit)}`);
        it.fail();
        continue;
      }
      it.place(base);
      cursor = base + it.size;
    }
  }

  placeBar(f: EnumeratedFunction, bar: EnumeratedBar, base: number): void {
    const reg = PCI_BASE_ADDRESS_0 + 4 * bar.index;
    bar.address = base;
    this.wr(f, reg, 4, base % 2 ** 32);
    if (bar.is64) this.wr(f, reg + 4, 4, Math.floor(base / 2 ** 32));
  }

  programWindow(f: EnumeratedFunction, space: Space, w: AddressRange | null): void {
    const br = f.bridge!;
    const win = w === null ? null : { ...w, size: w.limit - w.base + 1 };
    if (space === 'io') {
      br.io = win;
      const [base, limit] = win ? [win.base, win.limit] : [0xf000, 0x0fff];
      if (br.io32) {
        this.wr(f, PCI_IO_BASE_UPPER16, 2, base >>> 16);
        this.wr(f, PCI_IO_LIMIT_UPPER16, 2, limit >>> 16);
      }
      this.wr(f, PCI_IO_BASE, 2, (((limit >>> 8) & 0xf0) << 8) | ((base >>> 8) & 0xf0));
    } else if (space === 'mem') {
      br.memory = win;
      const [base, limit] = win ? [win.base, win.limit] : [0xfff00000, 0x000fffff];
      this.wr(f, PCI_MEMORY_BASE, 4, ((((limit >>> 16) & 0xfff0) << 16) | ((base >>> 16) & 0xfff0)) >>> 0);
    } else {
      br.prefetchable = win;
      const [base, limit] = win ? [win.base, win.limit] : [0xfff00000, 0x000fffff];
      const lo = (x: number) => x % 2 ** 32;
      this.wr(f, PCI_PREF_MEMORY_BASE, 4, ((((lo(limit) >>> 16) & 0xfff0) << 16) | ((lo(base) >>> 16) & 0xfff0)) >>> 0);
      if (br.prefetchable64) {
        this.wr(f, PCI_PREF_BASE_UPPER32, 4, Math.floor(base / 2 ** 32));
        this.wr(f, PCI_PREF_LIMIT_UPPER32, 4, Math.floor(limit / 2 ** 32));
      }
    }
  }

  // ---- pass 4: interrupts and decode ------------------------------------------------------------

  /** INTx: swizzle the pin up to the root bus, then the PIRQ line picks the IRQ (as SeaBIOS does). */
  routeIrq(node: FnNode): number {
    let pin = node.out.interruptPin;
    if (pin < 1 || pin > 4) return 0xff;
    let device = node.out.device;
    for (let bus = node.parent; bus.bridge !== null; bus = bus.bridge.parent) {
      pin = ((pin - 1 + device) % 4) + 1;
      device = bus.bridge.out.device;
    }
    return this.pirqs[(device + pin - 1) & 3];
  }

  enable(node: FnNode): void {
    const f = node.out;
    f.interruptLine = this.routeIrq(node);
    if (f.interruptPin !== 0) this.wr(f, PCI_INTERRUPT_LINE, 1, f.interruptLine);
    let cmd = this.rd(f, PCI_COMMAND, 2);
    if (f.bridge) {
      cmd |= PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
    } else {
      const io = f.bars.filter((b) => b.kind === 'io');
      const mem = f.bars.filter((b) => b.kind !== 'io');
      // decode only when every BAR of the space got an address: an unassigned one would sit at 0
      if (io.length > 0 && io.every((b) => b.address !== null)) cmd |= PCI_COMMAND_IO;
      const memOk = mem.every((b) => b.address !== null) && (f.rom === null || f.rom.address !== null);
      if ((mem.length > 0 || f.rom !== null) && memOk) cmd |= PCI_COMMAND_MEMORY;
      cmd |= PCI_COMMAND_MASTER;
    }
    this.wr(f, PCI_COMMAND, 2, cmd);
    f.command = this.rd(f, PCI_COMMAND, 2);
  }
}

/**
 * Enumerates the PCI hierarchy the way platform firmware does, using only config cycles through
 * `access`: a depth-first scan from bus 0 (functions 1-7 only where function 0 is multi-function),
 * bus numbers for every bridge, BAR and ROM sizing, addresses from the pools (each BAR aligned to
 * its size, largest first; 64-bit prefetchable BARs above 4 GiB), bridge windows covering
 * everything behind them, INTx lines, and decode plus bus mastering turned on.
 *
 * SR-IOV VFs are not found here: they read vendor 0xffff and are discovered through their PF.
 */
export function enumerate(access: ConfigAccess, options: EnumerationOptions = {}): EnumerationResult {
  const pools: AddressPools = { ...DEFAULT_POOLS, ...options.pools };
  const e = new Enumerator(access, pools, options.pirqs ?? [10, 10, 11, 11]);
  const root = e.scanBus(0, null);
  const needs = e.measure(root, true);
  e.placeAll(needs.io.items, pools.io);
  e.placeAll(needs.mem.items, pools.mem32);
  e.placeAll(needs.pref.items, pools.mem64);
  for (const node of e.order) e.enable(node);
  return { mechanism: access.mechanism, functions: e.order.map((n) => n.out), lastBus: e.lastBus, pools, problems: e.problems };
}
