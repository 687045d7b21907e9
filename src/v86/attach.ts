/**
 * `attachV86`: plugs pcisim's guest-visible bus (a Hardware, or a Vmm's bus of assigned vfio
 * devices) into a running v86, through the hooks v86 gives its own devices (src/pci.js, src/io.js,
 * src/cpu.js): the CF8/CFC data ports for the routing IDs pcisim owns, the port table and the
 * 128 KiB-block MMIO maps for the BARs the guest placed, the local APIC for MSI/MSI-X and the
 * PIIX3 PIRQ routing for INTx. Semantics stay in pcisim; this file only translates.
 */
import type { Decode } from '../hw/addressMap.js';
import type { Hardware } from '../hw/hardware.js';
import type { InterruptSink } from '../hw/interrupts.js';
import type { PciFunction } from '../hw/pciFunction.js';
import { Vmm } from '../vmm/vmm.js';
import { AcpiPciHotplug } from './acpiHotplug.js';
import type { MmioRead, MmioWrite, V86Cpu, V86Like, V86PortEntry } from './v86Types.js';
import { V86_LOOP_COUNTER, V86_TIME_PER_FRAME_MS, v86Cpu } from './v86Types.js';

/** How attachV86 wires pcisim into v86: MSI delivery, the ACPI hotplug ports, where log lines go. */
export interface AttachV86Options {
  /**
   * Deliver MSI/MSI-X to v86's local APIC. true: required (throws if the v86 has no APIC, i.e. was
   * created without `acpi: true`); false: messages are dropped with a log line; default: when the
   * APIC exists.
   */
  msi?: boolean;
  /**
   * Answer the PIIX4 ACPI PCI hotplug ports 0xae00-0xae13 (SeaBIOS's ACPI tables make Linux's
   * acpiphp read them and drop every device in slots >= 2 when they read all-ones). Default: when
   * v86 runs with ACPI.
   */
  acpiHotplug?: boolean;
  /** where the adapter's log lines go (each distinct problem once); default console.warn */
  log?: (line: string) => void;
}

/** A live attachment of pcisim to a v86: its counters, its ACPI hotplug controller, and detach(). */
export interface V86Attachment {
  /** Puts every v86 hook back as it was; the target keeps its state. Idempotent. */
  detach(): void;
  /** the ACPI hotplug controller serving 0xae00 (null when not attached) */
  readonly hotplug: AcpiPciHotplug | null;
  /** counters: config cycles, port and MMIO accesses, MSIs and INTx edges, EOIs passed on */
  readonly stats: {
    /** config cycles through CF8/CFC that reached a pcisim function */
    config: number;
    /** port I/O accesses to pcisim's I/O BARs and windows */
    io: number;
    /** MMIO accesses to pcisim's memory BARs and windows */
    mmio: number;
    /** MSI/MSI-X messages written to v86's local APIC */
    msi: number;
    /** INTx level changes passed to v86's IRQ lines */
    intx: number;
    /** guest EOIs passed back to pcisim (the INTx resample) */
    eoi: number;
    /** times v86's port and MMIO maps were redone after a decode change */
    remaps: number;
  };
}

const CONFIG_DATA = 0xcfc;
const MMIO_BLOCK_BITS = 17; // v86's memory map granularity: 128 KiB
const LAPIC_ICR_LOW = 0xfee00300;
/** v86's struct Apic: its size in dwords, and where IRR and TMR start (apic.rs asserts these) */
const APIC_DWORDS = 46;
const APIC_IRR = 16;
const APIC_TMR = 32;
/** MSI data bit 15: level-triggered */
const MSI_DATA_LEVEL = 0x8000;
/** where v86 keeps its instruction counter in wasm memory (global_pointers::instruction_counter) */
const INSTRUCTION_COUNTER_AT = 664;
const IOAPIC_REMOTE_IRR = 1 << 14;
const IOAPIC_LEVEL = 1 << 15;
const PIRQ_ROUTE = 0x60;
const ALL_ONES = [0, 0xff, 0xffff, 0, 0xffffffff];

/** Attachments per v86 CPU: two targets may share a v86 but never a routing ID. */
const attached = new WeakMap<V86Cpu, Attachment[]>();

/**
 * Plugs `target` into the running v86 `emulator` (attach after 'emulator-loaded' and before the
 * firmware runs, so SeaBIOS and the guest find the devices; guest RAM must be v86's memory, see
 * scenario.ts). Throws an Error naming the conflict when a target function's routing ID is one of
 * v86's own devices or another attachment's, or when MSI is required and v86 has no APIC.
 */
export function attachV86(emulator: V86Like, target: Hardware | Vmm, options: AttachV86Options = {}): V86Attachment {
  const cpu = v86Cpu(emulator);
  const a = new Attachment(cpu, target instanceof Vmm ? target : null, target instanceof Vmm ? target.hw : target, options);
  return a;
}

interface PendingEoi {
  source: PciFunction;
  irq: number;
  /** the IOAPIC took the level (remote IRR seen set): the line is pulsed low, waiting for the EOI */
  inService: boolean;
}

class Attachment implements V86Attachment {
  readonly stats = { config: 0, io: 0, mmio: 0, msi: 0, intx: 0, eoi: 0, remaps: 0 };
  readonly hotplug: AcpiPciHotplug | null = null;
  private readonly log: (line: string) => void;
  private readonly logged = new Set<string>();
  private readonly msiOn: boolean;
  private detached = false;
  private readonly undo: (() => void)[] = [];
  /** ports we took: port -> v86's entry before */
  private readonly ioSaved = new Map<number, V86PortEntry>();
  /** MMIO blocks we took: block -> v86's handlers before */
  private readonly mmioSaved = new Map<number, [MmioRead, MmioWrite, MmioRead, MmioWrite]>();
  private lastIo: readonly Decode[] | null = null;
  private lastMem: readonly Decode[] | null = null;
  /** per v86 IRQ: the pcisim functions asserting it (lines are wired-OR) */
  private readonly irqAsserters = new Map<number, Set<PciFunction>>();
  private readonly pending = new Map<PciFunction, PendingEoi>();
  private eoiListener: ((source: PciFunction) => void) | null = null;
  /** functions whose INTx EOI is taken at their next BAR access (no IOAPIC: QEMU's TCG rule) */
  private readonly eoiOnAccess = new Set<PciFunction>();
  /** guest MMIO accesses in progress (the guest is inside an instruction of a compiled block) */
  private inMmio = 0;
  /**
   * Interrupt-controller calls held until the guest's instruction is done, in deliver()'s encoding:
   * IRQ lines raised (-1 - irq) or lowered (-1001 - irq); an MSI there latches instead (latchMsi).
   */
  private readonly held: number[] = [];

  constructor(
    private readonly cpu: V86Cpu,
    private readonly vmm: Vmm | null,
    readonly hw: Hardware,
    options: AttachV86Options,
  ) {
    this.log = options.log ?? ((l) => console.warn(`[pcisim/v86] ${l}`));
    const apic = (cpu.acpi_enabled?.[0] ?? 0) !== 0;
    if (options.msi === true && !apic) {
      throw new Error('attachV86: MSI/MSI-X delivery was asked for but this v86 has no local APIC (create the V86 with `acpi: true`, or pass `msi: false`)');
    }
    this.msiOn = options.msi ?? apic;
    this.counterAt = Number(cpu.instruction_counter?.byteOffset) || INSTRUCTION_COUNTER_AT;
    this.checkConflicts();
    const list = attached.get(cpu) ?? [];
    list.push(this);
    attached.set(cpu, list);
    this.undo.push(() => {
      const l = attached.get(cpu) ?? [];
      const i = l.indexOf(this);
      if (i >= 0) l.splice(i, 1);
    });
    try {
      this.hookConfig();
      this.hookTimers();
      // pcisim says when its decode changes (BAR moved, Command, windows, power state, hotplug)
      this.undo.push(this.hw.onDecodeChange(() => this.remap()));
      this.hookMmio16();
      this.hookInterrupts();
      if (options.acpiHotplug ?? apic) this.hotplug = this.hookAcpiHotplug();
      this.remap();
    } catch (e) {
      this.detach();
      throw e;
    }
  }

  // ---- ownership ------------------------------------------------------------------------------

  private checkConflicts(): void {
    const pci = this.cpu.devices.pci;
    const others = attached.get(this.cpu) ?? [];
    for (const f of this.hw.root.functions.values()) {
      const id = f.devfn;
      const theirs = pci.device_spaces[id];
      if (theirs !== undefined) {
        const name = pci.devices[id]?.name ?? 'a device';
        throw new Error(`attachV86: ${f.bdf} cannot be placed at 00:${hex2(f.device)}.${f.fn}: v86's own ${name} is there (two targets on one devfn)`);
      }
      for (const o of others) {
        if (o.hw.root.functions.has(id)) throw new Error(`attachV86: ${f.bdf} cannot be placed at 00:${hex2(f.device)}.${f.fn}: another pcisim attachment already has a function there (two targets on one devfn)`);
      }
    }
  }

  /**
   * Who answers a config cycle to (bus, devfn): null for v86's own device there; an attachment
   * whose bus has a function there; else 'absent' (master abort: all-ones, writes dropped). v86's
   * own handlers are never given a cycle for a device it lacks: its byte and word writes to one
   * throw (src/pci.js indexes device_spaces without a check), so a guest's stray write would crash it.
   */
  private static owner(cpu: V86Cpu, bus: number, devfn: number): Attachment | 'absent' | null {
    if (bus === 0 && cpu.devices.pci.device_spaces[devfn] !== undefined) return null;
    const list = attached.get(cpu);
    if (list) for (const a of list) if (a.hw.isPresent((bus << 8) | devfn)) return a;
    return 'absent';
  }

  // ---- configuration mechanism #1 ---------------------------------------------------------------

  /**
   * v86 keeps CONFIG_ADDRESS itself (its 0xCF8 handlers); we take the data ports 0xCFC-0xCFF and
   * answer the cycles whose routing ID pcisim owns, passing every other cycle to v86's handler.
   */
  private hookConfig(): void {
    const cpu = this.cpu;
    const ports = cpu.io.ports;
    // Several attachments share one hook: the first installs it, the last removes it.
    const list = attached.get(cpu)!;
    if (list.length > 1) return;
    const pci = cpu.devices.pci;
    const saved: V86PortEntry[] = [];
    for (let i = 0; i < 4; i++) {
      const port = CONFIG_DATA + i;
      const orig = ports[port];
      saved.push(orig);
      const cycle = (size: 1 | 2 | 4, value?: number): number | null => {
        const addr = pci.pci_addr;
        if ((addr[3] & 0x80) === 0) return null;
        const owner = Attachment.owner(cpu, addr[2], addr[1]);
        if (owner === null) return null;
        if (owner === 'absent') return value === undefined ? ALL_ONES[size] : 0;
        return owner.configCycle(addr[2], addr[1], (addr[0] & 0xfc) | i, size, value);
      };
      ports[port] = {
        device: orig.device,
        read8: function (this: unknown, p: number) {
          const v = cycle(1);
          return v === null ? orig.read8.call(orig.device, p) : v;
        },
        read16: function (this: unknown, p: number) {
          const v = cycle(2);
          return v === null ? orig.read16.call(orig.device, p) : v;
        },
        read32: function (this: unknown, p: number) {
          const v = cycle(4);
          return v === null ? orig.read32.call(orig.device, p) : v | 0;
        },
        write8: (v: number) => void (cycle(1, v) === null && orig.write8.call(orig.device, v)),
        write16: (v: number) => void (cycle(2, v) === null && orig.write16.call(orig.device, v)),
        write32: (v: number) => void (cycle(4, v) === null && orig.write32.call(orig.device, v)),
      };
    }
    this.undo.push(() => {
      const l = attached.get(cpu) ?? [];
      // another attachment still uses the hook: it stays until the last one leaves
      if (l.some((a) => a !== this)) {
        const heir = l.find((a) => a !== this)!;
        heir.undo.push(() => saved.forEach((e, i) => (ports[CONFIG_DATA + i] = e)));
        return;
      }
      saved.forEach((e, i) => (ports[CONFIG_DATA + i] = e));
    });
  }

  private configCycle(bus: number, devfn: number, reg: number, size: 1 | 2 | 4, value?: number): number {
    this.stats.config++;
    // a cycle straddling the dword (e.g. a 16-bit access at 0xCFF) reaches only its own lanes
    if ((reg & 3) + size > 4) size = (4 - (reg & 3)) as 1 | 2;
    return this.hw.configCycle(bus, devfn >> 3, devfn & 7, reg, size, value);
  }

  // ---- BARs: port table and MMIO maps -----------------------------------------------------------

  /** Follows the target's decode: takes the ports and MMIO blocks its BARs decode, gives back the rest. */
  private remap(): void {
    if (this.detached) return;
    const io = this.hw.decodedRanges('io');
    const mem = this.hw.decodedRanges('mem');
    if (io === this.lastIo && mem === this.lastMem) return;
    this.lastIo = io;
    this.lastMem = mem;
    this.stats.remaps++;
    this.mapPorts(io);
    this.mapMmio(mem);
  }

  private mapPorts(ranges: readonly Decode[]): void {
    const ports = this.cpu.io.ports;
    const want = new Set<number>();
    for (const r of ranges) {
      // x86 port I/O ends at 0xffff (a BAR being sized decodes at 0xfffffffc for a moment)
      for (let p = r.base; p < r.end && p < 0x10000; p++) want.add(p);
    }
    for (const [p, orig] of this.ioSaved) {
      if (!want.has(p)) {
        ports[p] = orig;
        this.ioSaved.delete(p);
      }
    }
    for (const p of want) {
      if (this.ioSaved.has(p)) continue;
      const orig = ports[p];
      if (orig.device !== undefined) {
        const name = (orig.device as { name?: string })?.name ?? 'a v86 device';
        this.once(`io-over:${p}`, `the guest placed a pcisim BAR over port 0x${p.toString(16)}, which ${name} uses; pcisim answers there while the BAR stays`);
      }
      this.ioSaved.set(p, orig);
      ports[p] = this.portEntry(p);
    }
  }

  private portEntry(port: number): V86PortEntry {
    return {
      device: { name: 'pcisim' },
      read8: () => this.ioRead(port, 1),
      read16: () => this.ioRead(port, 2),
      read32: () => this.ioRead(port, 4) | 0,
      write8: (v: number) => this.ioWrite(port, 1, v),
      write16: (v: number) => this.ioWrite(port, 2, v),
      write32: (v: number) => this.ioWrite(port, 4, v),
    };
  }

  private ioRead(port: number, size: 1 | 2 | 4): number {
    this.stats.io++;
    const v = this.hw.ioRead(port, size);
    if (this.eoiOnAccess.size) this.accessEoi('io', port);
    return v;
  }

  private ioWrite(port: number, size: 1 | 2 | 4, value: number): void {
    this.stats.io++;
    this.hw.ioWrite(port, size, value);
    if (this.eoiOnAccess.size) this.accessEoi('io', port);
  }

  /**
   * MMIO: v86 dispatches by 128 KiB block, so a block holding a pcisim BAR is ours; addresses in it
   * that no BAR decodes go to the handler v86 had there. Addresses arrive as signed 32-bit numbers.
   */
  private mapMmio(ranges: readonly Decode[]): void {
    const cpu = this.cpu;
    const want = new Set<number>();
    for (const r of ranges) {
      // v86's physical address space ends at 4 GiB (a 64-bit BAR being sized passes above it)
      if (r.base >= 2 ** 32) continue;
      const last = Math.min(r.end, 2 ** 32) - 1;
      for (let b = Math.floor(r.base / 2 ** MMIO_BLOCK_BITS); b <= Math.floor(last / 2 ** MMIO_BLOCK_BITS); b++) want.add(b);
    }
    const ramBlocks = Math.ceil((cpu.memory_size[0] ?? 0) / 2 ** MMIO_BLOCK_BITS);
    for (const [b, orig] of this.mmioSaved) {
      if (!want.has(b)) {
        [cpu.memory_map_read8[b], cpu.memory_map_write8[b], cpu.memory_map_read32[b], cpu.memory_map_write32[b]] = orig;
        this.mmioSaved.delete(b);
      }
    }
    for (const b of want) {
      if (this.mmioSaved.has(b)) continue;
      if (b < ramBlocks) {
        // v86 reaches RAM without the memory map: a BAR there is invisible to the guest
        this.once(`mem-ram:${b}`, `the guest placed a pcisim BAR over RAM at 0x${(b * 2 ** MMIO_BLOCK_BITS).toString(16)}; v86 serves RAM there, the BAR is unreachable`);
        continue;
      }
      const orig: [MmioRead, MmioWrite, MmioRead, MmioWrite] = [cpu.memory_map_read8[b], cpu.memory_map_write8[b], cpu.memory_map_read32[b], cpu.memory_map_write32[b]];
      this.mmioSaved.set(b, orig);
      cpu.memory_map_read8[b] = (addr) => (this.decodes(addr >>> 0, 1) ? this.mmioRead(addr >>> 0, 1) : orig[0](addr));
      cpu.memory_map_write8[b] = (addr, v) => (this.decodes(addr >>> 0, 1) ? this.mmioWrite(addr >>> 0, 1, v) : orig[1](addr, v));
      cpu.memory_map_read32[b] = (addr) => (this.decodes(addr >>> 0, 4) ? this.mmioRead(addr >>> 0, 4) | 0 : orig[2](addr));
      cpu.memory_map_write32[b] = (addr, v) => (this.decodes(addr >>> 0, 4) ? this.mmioWrite(addr >>> 0, 4, v) : orig[3](addr, v));
    }
  }

  /** Whether a pcisim BAR decodes [addr, addr+size) (binary search over the decoded ranges). */
  private decodes(addr: number, size: number): boolean {
    const m = this.lastMem;
    if (m === null) return false;
    let lo = 0;
    let hi = m.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = m[mid];
      if (addr < r.base) hi = mid - 1;
      else if (addr >= r.end) lo = mid + 1;
      else return addr + size <= r.end || this.decodes(r.end, addr + size - r.end);
    }
    return false;
  }

  private mmioRead(addr: number, size: 1 | 2 | 4): number {
    this.stats.mmio++;
    this.inMmio++;
    try {
      const v = this.hw.mmioRead(addr, size);
      if (this.eoiOnAccess.size) this.accessEoi('mem', addr);
      return v;
    } finally {
      this.inMmio--;
    }
  }

  private mmioWrite(addr: number, size: 1 | 2 | 4, value: number): void {
    this.stats.mmio++;
    this.inMmio++;
    try {
      this.hw.mmioWrite(addr, size, value >>> 0);
      if (this.eoiOnAccess.size) this.accessEoi('mem', addr);
    } finally {
      this.inMmio--;
    }
  }

  /** v86 splits a 16-bit MMIO write into two byte writes; pcisim gets it whole. */
  private hookMmio16(): void {
    const cpu = this.cpu;
    const orig = cpu.mmap_write16;
    const mine = (addr: number, value: number): void => {
      const a = addr >>> 0;
      if (!this.detached && this.mmioSaved.has(a >>> MMIO_BLOCK_BITS) && this.decodes(a, 2)) this.mmioWrite(a, 2, value & 0xffff);
      else orig.call(cpu, addr, value);
    };
    this.undo.push(restoreMethod(cpu, 'mmap_write16', mine));
  }

  // ---- interrupts -------------------------------------------------------------------------------

  private hookInterrupts(): void {
    const sink: InterruptSink & { setEoiListener(l: ((s: PciFunction) => void) | null): void } = {
      msi: (lo, hi, data, source) => this.msi(lo, hi, data, source),
      intx: (source, asserted) => this.intx(source, asserted),
      setEoiListener: (l) => {
        this.eoiListener = l;
      },
    };
    if (this.vmm) {
      this.vmm.connectInterruptController(sink);
      this.undo.push(() => {
        // leave the VMM with a controller that delivers nowhere
        if (this.eoiListener) this.vmm!.hw.setInterruptSink({ msi() {}, intx() {} });
        sink.setEoiListener(null);
      });
    } else {
      this.hw.setInterruptSink(sink);
      this.undo.push(() => this.hw.setInterruptSink({ msi() {}, intx() {} }));
    }
  }

  /** An MSI/MSI-X write: a message to the local APIC, delivered as v86's single CPU's ICR would. */
  private msi(lo: number, hi: number, data: number, source: PciFunction): void {
    if (this.detached) return;
    if (!this.msiOn) {
      this.once(`msi-off:${source.bdf}`, `${source.bdf} sent an MSI but MSI delivery is off (no local APIC in this v86); dropped`);
      return;
    }
    if (hi !== 0 || (lo & 0xfff00000) >>> 0 !== 0xfee00000) {
      this.once(`msi-addr:${source.bdf}:${lo}`, `${source.bdf} wrote an MSI to 0x${hi.toString(16)}_${lo.toString(16).padStart(8, '0')}, outside the local APIC's 0xfee00000 window; dropped`);
      return;
    }
    this.stats.msi++;
    this.deliver(data & 0xc7ff);
  }

  /**
   * Hands an MSI (its data: vector, delivery mode, level, trigger; >= 0) or an IRQ line change
   * (-1 - irq raised, -1001 - irq lowered) to v86's interrupt controllers, which take a pending
   * interrupt at once. That is safe in a port I/O access (v86 ends its compiled blocks at IN/OUT, and
   * its own devices raise IRQs there) and outside the guest's instructions, but not inside a guest
   * MMIO access: a MOV does not end a compiled block, and an interrupt entered there is overwritten
   * when the block writes its registers back (the guest loses it, or crashes on a #GP). There an
   * MSI only latches in the APIC's IRR (latchMsi), and a line change is held until the main loop
   * calls its timers (hookTimers), right before it checks for interrupts; the main loop is asked to
   * end its slice after the current block, so neither waits longer than that.
   */
  private deliver(op: number): void {
    if (this.inMmio > 0) {
      // an MSI is latched in the local APIC's IRR now, as the bus write would; the CPU takes it at
      // v86's next interrupt check (STI, POPF, IRET, HLT, an IN/OUT, the main loop), between instructions
      if (op >= 0) {
        this.latchMsi(op);
        // Past the slice's time, ending the pass would also hand the slice back to the host's
        // event loop: a pause in the guest's time. v86 takes the latched MSI at its next check
        // instead, at the latest when the pass ends on its own, as it takes its own APIC timer's.
        if (performance.now() - this.sliceStart >= V86_TIME_PER_FRAME_MS) return;
      } else this.held.push(op);
      // v86's own view of the counter builds a typed array per access; ours is rebuilt only when
      // the wasm memory grew (which detaches the old buffer: the view's length drops to 0)
      let counter = this.counter;
      if (counter === null || counter.length === 0) counter = this.counter = new Uint32Array(this.cpu.wasm_memory.buffer, this.counterAt, 1);
      counter[0] += V86_LOOP_COUNTER;
      return;
    }
    this.apply(op);
  }

  /**
   * v86's apic deliver() for an MSI's data: INIT and NMI are ignored as v86 ignores them; otherwise
   * the vector's IRR bit is set (a vector already pending stays one interrupt) and its TMR bit
   * follows the trigger mode. The struct's layout (IRR at dword 16, TMR at 32) is one v86 asserts
   * for its own state save.
   */
  private latchMsi(data: number): void {
    const mode = (data >> 8) & 7;
    if (mode === 4 || mode === 5) return;
    let apic = this.apic;
    if (apic === null || apic.length === 0) apic = this.apic = new Int32Array(this.cpu.wasm_memory.buffer, this.cpu.get_apic_addr(), APIC_DWORDS);
    const vector = data & 0xff;
    const bit = 1 << (vector & 31);
    const word = vector >> 5;
    if (apic[APIC_IRR + word] & bit) return;
    apic[APIC_IRR + word] |= bit;
    if (data & MSI_DATA_LEVEL) apic[APIC_TMR + word] |= bit;
    else apic[APIC_TMR + word] &= ~bit;
  }

  /** v86's local APIC struct (a view over the current wasm buffer) */
  private apic: Int32Array | null = null;

  /**
   * When v86's current main-loop slice began (performance.now(), v86's own clock). Outside a slice
   * it is +Infinity: a bump of the counter there is harmless (the next pass counts from where it is).
   */
  private sliceStart = Number.POSITIVE_INFINITY;

  /** v86's instruction counter (its place in wasm memory, and a view over the current buffer) */
  private counterAt = INSTRUCTION_COUNTER_AT;
  private counter: Uint32Array | null = null;

  private apply(op: number): void {
    if (op >= 0) {
      // an interrupt command to v86's one CPU: the APIC write takes a pending interrupt itself
      this.cpu.write32(LAPIC_ICR_LOW, op);
      this.cpu.handle_irqs();
    } else if (op > -1001) this.cpu.device_raise_irq(-1 - op);
    else this.cpu.device_lower_irq(-1001 - op);
  }

  /** Delivers what deliver() held, in order (the guest is between instructions: v86's main loop). */
  private releaseHeld(): void {
    const h = this.held;
    if (h.length === 0) return;
    const ops = h.splice(0);
    for (const op of ops) this.apply(op);
  }

  /**
   * An INTx level change. The pin reaches the IRQ the PIIX3 PIRQ registers give (slot and pin
   * swizzled as SeaBIOS and v86's own devices do). For a VMM's function the EOI matters: the line
   * is held until the IOAPIC takes it, then pulsed low so the guest's EOI shows as the IOAPIC's
   * remote IRR clearing, which we pass on to the VMM (KVM's resampler, without a hook in v86).
   */
  private intx(source: PciFunction, asserted: boolean): void {
    if (this.detached) return;
    const [device, pin] = source.intxRoute();
    if (pin < 1 || pin > 4) return;
    const route = this.cpu.devices.pci.isa_bridge_space8[PIRQ_ROUTE + ((pin - 1 + device - 1) & 3)];
    if (route & 0x80 || route === 0 || route > 15) {
      this.once(`pirq:${source.bdf}`, `${source.bdf} asserted INTx${'ABCD'[pin - 1]} but its PIRQ line is not routed to an IRQ (PIIX3 0x${(PIRQ_ROUTE + ((pin - 1 + device - 1) & 3)).toString(16)} = 0x${route.toString(16)}); dropped`);
      return;
    }
    this.stats.intx++;
    if (!asserted) {
      this.pending.delete(source);
      this.eoiOnAccess.delete(source);
      this.setLine(route, source, false);
      return;
    }
    this.setLine(route, source, true);
    if (this.eoiListener) {
      this.pending.set(source, { source, irq: route, inService: false });
      this.pollEoi();
    }
  }

  private setLine(irq: number, source: PciFunction, level: boolean): void {
    let set = this.irqAsserters.get(irq);
    if (!set) this.irqAsserters.set(irq, (set = new Set()));
    const before = set.size > 0;
    if (level) set.add(source);
    else set.delete(source);
    const after = set.size > 0;
    if (after && !before) this.deliver(-1 - irq);
    else if (!after && before) this.deliver(-1001 - irq);
  }

  /** v86's IOAPIC redirection entries (a view rebuilt, like the others, when the memory grew) */
  private ioapic: Uint32Array | null = null;

  private ioapicEntry(irq: number): number {
    let v = this.ioapic;
    if (v === null || v.length === 0) v = this.ioapic = new Uint32Array(this.cpu.wasm_memory.buffer, this.cpu.get_ioapic_addr(), 24);
    return v[irq];
  }

  /** Watches the IOAPIC for the guest's EOI of each INTx the VMM holds asserted. */
  private pollEoi(): void {
    if (this.pending.size === 0) return;
    const apic = (this.cpu.acpi_enabled?.[0] ?? 0) !== 0;
    for (const p of [...this.pending.values()]) {
      if (!apic) {
        // no IOAPIC to watch: the next BAR access of the function is its EOI (QEMU's TCG rule)
        this.pending.delete(p.source);
        this.eoiOnAccess.add(p.source);
        continue;
      }
      const e = this.ioapicEntry(p.irq);
      if ((e & IOAPIC_LEVEL) === 0) {
        // the guest routes this pin edge-triggered (or has not set it up): no remote IRR to watch
        this.pending.delete(p.source);
        this.eoiOnAccess.add(p.source);
        continue;
      }
      if (!p.inService) {
        if (e & IOAPIC_REMOTE_IRR) {
          p.inService = true;
          this.setLine(p.irq, p.source, false);
        }
      } else if ((e & IOAPIC_REMOTE_IRR) === 0) {
        this.pending.delete(p.source);
        this.eoi(p.source);
      }
    }
  }

  /**
   * Without a remote IRR to watch, an access to one of the function's BARs is its EOI, taken after
   * the access as QEMU's vfio_region_read/write do: the handler's ISR read has deasserted the line
   * by then, so the resample finds nothing pending. A function whose EOI finds the line still
   * asserted is raised again and waits for its next access (the set is walked as it was).
   */
  private accessEoi(space: 'io' | 'mem', addr: number): void {
    for (const f of [...this.eoiOnAccess]) {
      const hit = this.hw.decodedRanges(space).some((r) => r.fn === f && addr >= r.base && addr < r.end);
      if (hit) {
        this.eoiOnAccess.delete(f);
        this.setLine(this.routeOf(f), f, false);
        this.eoi(f);
      }
    }
  }

  private routeOf(f: PciFunction): number {
    const [device, pin] = f.intxRoute();
    return this.cpu.devices.pci.isa_bridge_space8[PIRQ_ROUTE + ((pin - 1 + device - 1) & 3)];
  }

  private eoi(source: PciFunction): void {
    this.stats.eoi++;
    this.eoiListener?.(source);
  }

  /**
   * Held interrupts are delivered, and the EOI watch runs, on each pass of v86's main loop; the
   * slice's start is noted for deliver().
   */
  private hookTimers(): void {
    const cpu = this.cpu;
    const orig = cpu.run_hardware_timers;
    const mine = (acpiEnabled: number, now: number): number => {
      if (!this.detached) this.releaseHeld();
      const next = orig.call(cpu, acpiEnabled, now);
      if (this.detached || this.pending.size === 0) return next;
      this.pollEoi();
      return Math.min(next, 1);
    };
    this.undo.push(restoreMethod(cpu, 'run_hardware_timers', mine));
    const origLoop = cpu.main_loop;
    if (typeof origLoop !== 'function') return;
    const loop = (): number => {
      this.sliceStart = performance.now();
      try {
        return origLoop.call(cpu);
      } finally {
        this.sliceStart = Number.POSITIVE_INFINITY;
      }
    };
    this.undo.push(restoreMethod(cpu, 'main_loop', loop));
  }

  private hookAcpiHotplug(): AcpiPciHotplug {
    const slots = new Set<number>();
    const pci = this.cpu.devices.pci;
    for (let id = 0; id < 256; id++) if (pci.device_spaces[id] !== undefined) slots.add(id >> 3);
    for (const f of this.hw.root.functions.values()) slots.add(f.device);
    const hp = new AcpiPciHotplug({ presentSlots: [...slots] });
    this.undo.push(hp.attach(this.cpu as never));
    return hp;
  }

  private once(key: string, line: string): void {
    if (this.logged.has(key)) return;
    this.logged.add(key);
    this.log(line);
  }

  detach(): void {
    if (this.detached) return;
    this.detached = true;
    const ports = this.cpu.io.ports;
    for (const [p, orig] of this.ioSaved) ports[p] = orig;
    this.ioSaved.clear();
    const cpu = this.cpu;
    for (const [b, orig] of this.mmioSaved) {
      [cpu.memory_map_read8[b], cpu.memory_map_write8[b], cpu.memory_map_read32[b], cpu.memory_map_write32[b]] = orig;
    }
    this.mmioSaved.clear();
    for (const [irq, set] of this.irqAsserters) if (set.size > 0) cpu.device_lower_irq(irq);
    this.irqAsserters.clear();
    // held interrupts go nowhere now; the lines they would have raised were just lowered
    this.held.length = 0;
    this.pending.clear();
    this.eoiOnAccess.clear();
    for (const u of this.undo.reverse()) u();
    this.undo.length = 0;
  }
}

/**
 * Installs `mine` as the CPU object's own `name` and returns how to take it out: v86's prototype
 * method shows through again, unless another attachment wrapped ours since (then ours stays as a
 * pass-through, since it checks `detached`).
 */
function restoreMethod<K extends 'mmap_write16' | 'run_hardware_timers' | 'main_loop'>(cpu: V86Cpu, name: K, mine: V86Cpu[K]): () => void {
  const hadOwn = Object.prototype.hasOwnProperty.call(cpu, name);
  const before = cpu[name];
  cpu[name] = mine;
  return () => {
    if (cpu[name] !== mine) return;
    if (hadOwn) cpu[name] = before;
    else delete (cpu as Partial<V86Cpu>)[name];
  };
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}
