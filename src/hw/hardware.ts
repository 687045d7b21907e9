import { L, createCoreSync } from '../core/wasm.js';
import type { Core } from '../core/wasm.js';
import { poison } from '../core/lifetime.js';
import { AddressMap } from './addressMap.js';
import { canonicalBdf, normalizeBdf, parseBdf } from './bdf.js';
import { Bridge } from './bridge.js';
import { CONFIG_ADDRESS_MASK, CONFIG_ADDRESS_PORT, CONFIG_DATA_PORT, decodeCf8, decodeEcam } from './configMechanism.js';
import type { DeviceModel } from './deviceModel.js';
import { GenericEndpoint } from './devices/genericEndpoint.js';
import { addVirtioNet } from './devices/virtio/virtioNetPf.js';
import type { VirtioNetOptions, VirtioNetPf } from './devices/virtio/virtioNetPf.js';
import { addDmaEngine } from './devices/dmaEngine/addDmaEngine.js';
import type { DmaEngineOptions } from './devices/dmaEngine/dmaEngineSpec.js';
import type { EndpointLayout } from './endpointConfig.js';
import { buildEndpointConfig } from './endpointConfig.js';
import { GuestMemory } from './guestMemory.js';
import type { InterruptSink } from './interrupts.js';
import { nullSink } from './interrupts.js';
import { buildOptionRom } from './optionRom.js';
import { PciBus } from './pciBus.js';
import { PciFunction } from './pciFunction.js';
import { PCI_HEADER_TYPE, PCI_HEADER_TYPE_MFD, PCI_SUBORDINATE_BUS } from './pciRegs.js';
import type { BridgeSpec, ConfigImageSpec, EndpointSpec } from './spec.js';
import { isConfigImageSpec, prepareConfigImage } from './configImageBuild.js';
import { checkInt } from './spec.js';
import { checkConfigAccess } from './configAccess.js';
import { ConfigHandle } from './configHandle.js';
import { PciError, PciRangeError, describeValue, hexValue } from './pciError.js';
import type { ConfigBuilder } from './configBuilder.js';
import { DecodeEvents } from './embedding/decodeEvents.js';
import { HwLog } from './embedding/hwLog.js';
import type { DecodeListener } from './embedding/decodeEvents.js';

const ALL_ONES = [0, 0xff, 0xffff, 0, 0xffffffff];

export { checkConfigAccess };

/** Builds the PciFunction object for Hardware.addFunction (same arguments as the PciFunction constructor). */
export type FunctionFactory<F extends PciFunction = PciFunction> = (
  hw: Hardware,
  bdf: string,
  bus: PciBus,
  device: number,
  fn: number,
  model: DeviceModel,
  slot: number,
) => F;

/** Options of the {@link Hardware} constructor (and of createEmulator, which passes them on). */
export interface HardwareOptions {
  /** Size of the memory address space's RAM when no memory is given; default 64 MiB. */
  memoryBytes?: number;
  /**
   * Use this memory instead of allocating one (memoryBytes is then ignored): a VMM's guest bus shares
   * the host's memory as guest RAM, so device DMA lands where the guest put its buffers.
   */
  memory?: GuestMemory;
  /** base of the ECAM window in the memory address space (256 MiB, buses 0-255) */
  ecamBase?: number;
  /**
   * The wasm core the functions live in: an emulator's own (createEmulator), or the core of the
   * emulator a VMM's guest bus belongs to. Without one, the embedded core is instantiated
   * synchronously (fine in Node and workers; browsers should use createEmulator).
   */
  core?: Core;
}

/**
 * The physical PCI topology of the emulated host: buses, bridges and functions, config access by
 * address, by mechanism #1 and by ECAM, and routing of port I/O and MMIO to BARs.
 */
export class Hardware {
  /** Bus 0, the root of the topology. */
  readonly root = new PciBus(0, null);
  /** Memory devices DMA to and from (guest RAM). */
  readonly memory: GuestMemory;
  /** Base address of the ECAM window (PCIe enhanced config access); default 0xb0000000. */
  readonly ecamBase: number;
  /** Size of the ECAM window: 256 MiB, buses 0-255. */
  readonly ecamSize = 256 << 20;
  /** Where MSI/MSI-X messages, INTx levels, AER and PME go; nullSink until set. */
  interrupts: InterruptSink = nullSink;
  /** accesses devices contained rather than performed (partial register writes ...), once per register and width */
  readonly log = new HwLog();
  private readonly byBdf = new Map<string, PciFunction>();
  private readonly removalHooks: ((f: PciFunction) => void)[] = [];
  private readonly buses = new Map<number, PciBus>([[0, this.root]]);
  private lastBdf = '';
  private lastFn: PciFunction | undefined;
  private configAddress = 0;
  private readonly memMap = new AddressMap(false);
  private readonly ioMap = new AddressMap(true);
  private mapsDirty = true;
  private busRoutes: Map<number, PciBus | null> | null = null;
  private decodeEvents: DecodeEvents | null = null;
  /** where deferred device-side work goes (setScheduler); null: it runs at once */
  scheduler: ((work: () => void) => void) | null = null;

  /** The wasm core of this hardware's emulator (`core.raw` exports, `core.mem` views and slots). */
  declare readonly core: Core;

  constructor(options: HardwareOptions = {}) {
    // not enumerable: deep equality and printing (test assertions) stay off the core's memory
    Object.defineProperty(this, 'core', { value: options.core ?? createCoreSync(), enumerable: false });
    this.core.own(this);
    this.memory = options.memory ?? new GuestMemory(options.memoryBytes ?? 64 << 20);
    this.ecamBase = options.ecamBase ?? 0xb0000000;
  }

  /** Called by the core's destroy(): forget the topology; this object's and its functions' methods throw. */
  coreDestroyed(): void {
    for (const f of this.byBdf.values()) poison(f);
    this.byBdf.clear();
    this.buses.clear();
    this.root.functions.clear();
    this.lastBdf = '';
    this.lastFn = undefined;
    this.busRoutes = null;
    poison(this);
  }

  /**
   * For a bus that shares an emulator's core (a VMM's guest bus) and is done: every function left on
   * it leaves without the removal path (behind a bridge first), its slot goes back to the core, and
   * the core stops holding this Hardware, so it can be collected while the emulator lives on.
   */
  dispose(): void {
    if (this.core.destroyed) return;
    for (const f of this.functions().reverse()) this.detachFunction(f.bdf);
    this.core.disown(this);
  }

  // ---- building the topology ----------------------------------------------------------------

  private place(bdf: string): { bus: PciBus; device: number; fn: number } {
    const a = parseBdf(bdf);
    if (a.domain !== 0) throw new PciError('ENODEV', `${bdf}: only PCI domain 0000 is emulated`);
    const bus = this.buses.get(a.bus);
    if (!bus) throw new PciError('ENODEV', `${bdf}: bus ${a.bus.toString(16).padStart(2, '0')} does not exist (add a bridge with that secondaryBus first)`);
    if (this.byBdf.has(bdf.toLowerCase())) throw new PciError('EEXIST', `${bdf}: a function with this address already exists`);
    return { bus, device: a.device, fn: a.fn };
  }

  private attach(f: PciFunction): void {
    f.bus.functions.set(f.devfn, f);
    this.byBdf.set(f.bdf, f);
    this.updateMultifunction(f.bus, f.device);
    this.lastBdf = '';
    this.busRoutes = null;
    this.decodeChanged();
  }

  /**
   * Header Type bit 7 on function 0 says whether the device has other functions. SR-IOV VFs do not
   * count and never change it (they are not found by scanning; a VF's Header Type is its own).
   */
  private updateMultifunction(bus: PciBus, device: number): void {
    const f0 = bus.functions.get(device << 3);
    if (!f0 || f0.isVirtfn) return;
    let multi = false;
    for (let fn = 1; fn < 8; fn++) {
      const other = bus.functions.get((device << 3) | fn);
      if (other !== undefined && !other.isVirtfn) multi = true;
    }
    const ht = (f0.configRead(PCI_HEADER_TYPE, 1) & 0x7f) | (multi ? PCI_HEADER_TYPE_MFD : 0);
    f0.setRegister(PCI_HEADER_TYPE, 1, ht);
    this.core.mem.u8[f0.base + L.INIT + PCI_HEADER_TYPE] = ht; // power-on image too
  }

  /** A function with a caller-described config space and plain memory behind its BARs. */
  addEndpoint(bdf: string, spec: EndpointSpec | ConfigImageSpec): PciFunction {
    if (isConfigImageSpec(spec)) {
      const clone = prepareConfigImage(spec); // a real device's config image (configImageBuild.ts)
      return this.addFunction(bdf, clone.spec, new GenericEndpoint(), clone.extra);
    }
    return this.addFunction(bdf, spec, new GenericEndpoint());
  }

  /** The migratable sample device (src/hw/devices/dmaEngine): `dmaEngineOf(fn)` reaches its model. */
  addDmaEngine(bdf: string, options?: DmaEngineOptions): PciFunction {
    return addDmaEngine(this, bdf, options);
  }

  /**
   * A virtio-net PF (1af4:1041) with SR-IOV (totalVfs VFs, default 4) and an administration virtqueue;
   * `pf.uplink` is its embedded switch's way out (src/hw/devices/virtio).
   */
  addVirtioNet(bdf: string, options?: VirtioNetOptions): VirtioNetPf {
    return addVirtioNet(this, bdf, options);
  }

  /**
   * A type 0 function driven by `model`. `extra` lets a device model add its own capabilities
   * (virtio structures, SR-IOV) before the power-on image is taken; `create` builds a PciFunction
   * subclass (an SR-IOV VF, a device with its own API) instead of a plain PciFunction.
   */
  addFunction<F extends PciFunction = PciFunction>(
    bdf: string,
    spec: EndpointSpec,
    model: DeviceModel,
    extra?: (b: ConfigBuilder, layout: EndpointLayout) => void,
    init?: (f: F, layout: EndpointLayout) => void,
    create?: FunctionFactory<F>,
  ): F {
    bdf = canonicalBdf(bdf); // "bb:dd.f" means domain 0000
    const { bus, device, fn } = this.place(bdf);
    const slot = this.core.mem.allocSlot();
    let f: F;
    try {
      const layout = buildEndpointConfig(this.core, slot, spec, extra);
      const at = bdf.toLowerCase();
      f = create ? create(this, at, bus, device, fn, model, slot) : (new PciFunction(this, at, bus, device, fn, model, slot) as F);
      f.vendorId = spec.vendorId;
      f.deviceId = spec.deviceId;
      f.msix = layout.msix;
      if (spec.romSize) f.rom = buildOptionRom(spec.romSize, spec.vendorId, spec.deviceId, spec.classCode);
      init?.(f, layout);
    } catch (e) {
      this.core.mem.freeSlot(slot);
      throw e;
    }
    this.attach(f);
    return f;
  }

  /** A PCI-to-PCI bridge with a new bus behind it. */
  addBridge(bdf: string, spec: BridgeSpec): Bridge {
    bdf = canonicalBdf(bdf);
    const { bus, device, fn } = this.place(bdf);
    const sec = checkInt(spec?.secondaryBus, 1, 255, 'secondaryBus');
    if (this.buses.has(sec)) throw new PciError('EEXIST', `secondaryBus ${sec} already exists`);
    // bus numbers grow downstream: a bridge's range [secondary, subordinate] must hold its children's
    if (sec <= bus.number) throw new PciError('EINVAL', `secondaryBus ${sec} must be above the bus the bridge sits on (${bus.number})`);
    const slot = this.core.mem.allocSlot();
    let br: Bridge;
    try {
      br = new Bridge(this, bdf.toLowerCase(), bus, device, fn, slot, spec);
    } catch (e) {
      this.core.mem.freeSlot(slot);
      throw e;
    }
    this.attach(br);
    this.buses.set(sec, br.secondary);
    // every bridge above must now route the new bus number down
    for (let b: Bridge | null = bus.bridge; b !== null; b = b.bus.bridge) {
      if (b.subordinateBus < sec) b.strapBusNumber(PCI_SUBORDINATE_BUS, sec);
    }
    this.busRoutes = null;
    return br;
  }

  /**
   * Hot-unplug: the host's removal path runs first (pci_stop_and_remove_bus_device: the bound
   * driver's remove; for vfio, the REQ irq to the open device file, then the file is revoked), then
   * the function (and a PF's VFs) leaves the bus and its slot is freed for the next function.
   */
  removeFunction(bdf: string): void {
    const f = this.function(bdf); // either address form
    if (!f) return;
    if (f instanceof Bridge && f.secondary.functions.size > 0) throw new PciError('EBUSY', `${bdf}: remove the functions behind the bridge first`);
    for (const hook of this.removalHooks) hook(f);
    if (!f.alive) return; // a hook removed it already
    for (const vf of [...this.byBdf.values()]) if (vf.physfn === f) this.detachFunction(vf.bdf);
    this.detachFunction(f.bdf);
  }

  /**
   * Registers the host kernel's removal path, run by removeFunction before the function leaves
   * (the function is still present and readable while it runs). Returns the unregister call.
   */
  onRemove(hook: (f: PciFunction) => void): () => void {
    this.removalHooks.push(hook);
    return () => {
      const i = this.removalHooks.indexOf(hook);
      if (i >= 0) this.removalHooks.splice(i, 1);
    };
  }

  /**
   * Takes a function off its bus without the host's removal path: what the hardware itself does
   * (VF Enable cleared removes the VFs); the host notices on its next look at the bus.
   */
  detachFunction(bdf: string): void {
    const f = this.byBdf.get(bdf.toLowerCase());
    if (!f) return;
    if (f instanceof Bridge && f.secondary.functions.size > 0) throw new PciError('EBUSY', `${bdf}: remove the functions behind the bridge first`);
    f.bus.functions.delete(f.devfn);
    this.byBdf.delete(f.bdf);
    if (f instanceof Bridge) this.buses.delete(f.secondary.number);
    f.markRemoved();
    this.updateMultifunction(f.bus, f.device);
    this.lastBdf = '';
    this.busRoutes = null;
    this.decodeChanged();
  }

  /** Present functions (including enabled VFs), depth first in bus order. */
  functions(): PciFunction[] {
    const out: PciFunction[] = [];
    const walk = (bus: PciBus) => {
      for (const f of bus.ordered()) {
        out.push(f);
        if (f instanceof Bridge) walk(f.secondary);
      }
    };
    walk(this.root);
    return out;
  }

  /** The function at `bdf` ("0000:00:03.0" or "00:03.0"), undefined if none. */
  function(bdf: string): PciFunction | undefined {
    if (bdf === this.lastBdf) return this.lastFn;
    // addresses are stored canonical; most callers already pass them so, and normalising costs
    // more than the lookup itself. The short "bb:dd.f" form is normalised on this miss path only.
    const f = this.byBdf.get(bdf) ?? this.byBdf.get(normalizeBdf(bdf) ?? '');
    this.lastBdf = bdf;
    this.lastFn = f;
    return f;
  }

  /**
   * The fast path for config access to one function: a handle whose read/write go straight to the
   * function's registers (hw.configRead's checks, no lookup by address). Throws when nothing is at `bdf`.
   */
  handle(bdf: string): ConfigHandle {
    const f = typeof bdf === 'string' ? this.byBdf.get(bdf.toLowerCase()) : undefined;
    if (f === undefined) throw new Error(`${String(bdf)}: no function at this address`);
    return new ConfigHandle(f);
  }

  /** Sets where the hardware's interrupts go (an interrupt controller model, a VMM, an InterruptLog). */
  setInterruptSink(sink: InterruptSink): void {
    this.interrupts = sink;
  }

  // ---- config access ----------------------------------------------------------------------

  /** Direct config read by address (unsigned result); absent functions read all-ones. */
  configRead(bdf: string, offset: number, size: 1 | 2 | 4): number {
    checkConfigAccess(offset, size);
    const f = this.function(bdf);
    return f === undefined ? ALL_ONES[size] : f.configRead(offset, size);
  }

  /** Direct config write by address; absent functions drop it. */
  configWrite(bdf: string, offset: number, size: 1 | 2 | 4, value: number): void {
    checkConfigAccess(offset, size);
    if (!Number.isFinite(value)) throw new PciRangeError('EINVAL', `config write value ${describeValue(value)} is not a number`);
    const f = this.function(bdf);
    if (f !== undefined) f.configWrite(offset, size, value >>> 0);
  }

  /**
   * Config read by routing ID (bus << 8 | device << 3 | function) as a config cycle: routed through
   * the bridges' bus numbers, absent functions read all-ones, an access straddling dword lanes goes
   * byte by byte. For an embedder's CF8/CFC handler: no strings.
   */
  configReadRid(rid: number, offset: number, size: 1 | 2 | 4): number {
    checkRid(rid);
    checkCycle(offset, size);
    return this.configCycle(rid >>> 8, (rid >>> 3) & 31, rid & 7, offset, size);
  }

  /** Config write by routing ID (see configReadRid); absent functions drop it. */
  configWriteRid(rid: number, offset: number, size: 1 | 2 | 4, value: number): void {
    checkRid(rid);
    checkCycle(offset, size);
    if (!Number.isFinite(value)) throw new RangeError(`config write value ${value} is not a number`);
    this.configCycle(rid >>> 8, (rid >>> 3) & 31, rid & 7, offset, size, value >>> 0);
  }

  /** Whether a config cycle to routing ID `rid` reaches a function (false for anything not a rid). */
  isPresent(rid: number): boolean {
    if ((rid & 0xffff) !== rid) return false;
    return this.routeBus(rid >>> 8)?.functions.has(rid & 0xff) ?? false;
  }

  /** The bus a config cycle for bus number `n` reaches, following the bridges' bus registers. */
  routeBus(n: number): PciBus | null {
    let routes = this.busRoutes;
    if (routes === null) routes = this.busRoutes = new Map();
    let r = routes.get(n);
    if (r !== undefined) return r;
    r = n === 0 ? this.root : this.descend(this.root, n);
    routes.set(n, r);
    return r;
  }

  private descend(bus: PciBus, n: number): PciBus | null {
    for (const f of bus.functions.values()) {
      if (!(f instanceof Bridge)) continue;
      const sec = f.secondaryBus;
      if (sec === 0 || n < sec || n > f.subordinateBus) continue;
      return n === sec ? f.secondary : this.descend(f.secondary, n);
    }
    return null;
  }

  /** The function a config cycle (bus, device, function) reaches, or undefined (master abort). */
  cycleTarget(bus: number, device: number, fn: number): PciFunction | undefined {
    return this.routeBus(bus)?.functions.get((device << 3) | fn);
  }

  /** A config cycle; `value` undefined means read. Sub-dword cycles only touch their bytes. */
  configCycle(bus: number, device: number, fn: number, reg: number, size: 1 | 2 | 4, value?: number): number {
    const f = this.cycleTarget(bus, device, fn);
    if (f === undefined) return ALL_ONES[size];
    if ((reg & (size - 1)) !== 0) return this.unalignedCycle(f, reg, size, value);
    if (value === undefined) return f.configRead(reg, size);
    f.configWrite(reg, size, value);
    return 0;
  }

  /** Config cycles are byte-enabled dwords; an access straddling dword lanes goes byte by byte. */
  private unalignedCycle(f: PciFunction, reg: number, size: number, value?: number): number {
    let v = 0;
    for (let i = 0; i < size && reg + i < 4096; i++) {
      if (value === undefined) v |= f.configRead(reg + i, 1) << (8 * i);
      else f.configWrite(reg + i, 1, (value >>> (8 * i)) & 0xff);
    }
    return v >>> 0;
  }

  // ---- port I/O and MMIO ------------------------------------------------------------------

  /**
   * Marks the address maps stale (Command, BAR, window or power-state change, a function added or
   * removed). With decode listeners (onDecodeChange) the maps are rebuilt at once and the listeners
   * hear about it if what is decoded differs.
   */
  decodeChanged(): void {
    this.mapsDirty = true;
    if (this.decodeEvents?.active) {
      this.maps();
      this.decodeEvents.update(this.memMap.all(), this.ioMap.all());
    }
  }

  /**
   * Calls `listener` whenever the decoded memory or I/O ranges change (a BAR moved, Command decode
   * bits, bridge windows, power state, functions added or removed), with every range decoded now and
   * what was added and removed: an embedder remaps its port and MMIO tables from it instead of
   * polling after config writes. Returns a function that removes the listener.
   */
  onDecodeChange(listener: DecodeListener): () => void {
    this.maps();
    const ev = (this.decodeEvents ??= new DecodeEvents());
    return ev.add(listener, this.memMap.all(), this.ioMap.all());
  }

  /**
   * Device-side work (a virtqueue's processing after a notification, with the frames it sends and
   * receives and the interrupts it raises) goes to `scheduler` instead of running inside the I/O
   * access that triggered it: an embedder passes e.g. `(work) => queueMicrotask(work)` or its own
   * event loop. null (the default) runs everything synchronously.
   */
  setScheduler(scheduler: ((work: () => void) => void) | null): void {
    if (scheduler !== null && typeof scheduler !== 'function') throw new TypeError('a scheduler must be a function or null');
    this.scheduler = scheduler;
  }

  /** Runs `work` now, or hands it to the scheduler when one is set. */
  defer(work: () => void): void {
    const s = this.scheduler;
    if (s === null) work();
    else s(work);
  }

  /** Call after bridge bus number registers change: forgets the cached bus routing. */
  busNumbersChanged(): void {
    this.busRoutes = null;
  }

  private maps(): void {
    if (!this.mapsDirty) return;
    // the maps are also the dispatch tables port I/O and MMIO go through (addressMap.ts)
    this.memMap.rebuild(this.root);
    this.ioMap.rebuild(this.root);
    this.mapsDirty = false;
  }

  /** The address ranges decoding now in memory or I/O space, with the function and BAR each belongs to. */
  decodedRanges(space: 'mem' | 'io') {
    this.maps();
    return (space === 'mem' ? this.memMap : this.ioMap).all();
  }

  // The four accesses below are the hot paths of a guest's drivers: one inline test of the access,
  // one range test for the config mechanism's ports (CF8-CFF) or the ECAM window, then the address
  // map's dispatch (a flat port table for I/O, the last-hit range for MMIO) and the model's handler.

  /** Port I/O read: config mechanism #1 (CF8-CFF) or an I/O BAR; all-ones when nothing decodes. */
  ioRead(port: number, size: 1 | 2 | 4): number {
    if (!((size === 4 || size === 2 || size === 1) && typeof port === 'number' && port >= 0 && port <= 2 ** 32 - size && Math.floor(port) === port)) checkAccess(port, size, 2 ** 32);
    if (port - CONFIG_ADDRESS_PORT < 8 && port >= CONFIG_ADDRESS_PORT) {
      const v = this.configPortRead(port, size);
      if (v >= 0) return v;
    }
    if (this.mapsDirty) this.maps();
    const r = this.ioMap.lookupIo(port, size);
    if (r === null) return ALL_ONES[size];
    const off = port + r.delta;
    if (r.direct && (off & (size - 1)) === 0) return r.fn.model.barRead(r.fn, r.bar, off, size) >>> 0;
    return this.barAccess(r.fn, r.bar, off, size);
  }

  /** Port I/O write: config mechanism #1 (CF8-CFF) or an I/O BAR; dropped when nothing decodes. */
  ioWrite(port: number, size: 1 | 2 | 4, value: number): void {
    if (!((size === 4 || size === 2 || size === 1) && typeof port === 'number' && port >= 0 && port <= 2 ** 32 - size && Math.floor(port) === port)) checkAccess(port, size, 2 ** 32);
    value >>>= 0;
    if (port - CONFIG_ADDRESS_PORT < 8 && port >= CONFIG_ADDRESS_PORT && this.configPortWrite(port, size, value)) return;
    if (this.mapsDirty) this.maps();
    const r = this.ioMap.lookupIo(port, size);
    if (r === null) return;
    const off = port + r.delta;
    if (r.direct && (off & (size - 1)) === 0) r.fn.model.barWrite(r.fn, r.bar, off, size, value);
    else this.barAccess(r.fn, r.bar, off, size, value);
  }

  /**
   * Configuration mechanism #1 (CF8-CFF): the value read, or -1 when the access is not one the
   * mechanism claims (it then goes to the I/O BARs). Kept out of ioRead so the BAR path stays small.
   */
  private configPortRead(port: number, size: 1 | 2 | 4): number {
    if (port === CONFIG_ADDRESS_PORT && size === 4) return this.configAddress;
    if (port >= CONFIG_DATA_PORT && port + size <= CONFIG_DATA_PORT + 4) {
      const t = decodeCf8(this.configAddress, port - CONFIG_DATA_PORT);
      if (t !== null) return this.configCycle(t.bus, t.device, t.fn, t.reg, size) >>> 0;
    }
    return -1;
  }

  /** configPortRead's write side: whether the mechanism claimed the access. */
  private configPortWrite(port: number, size: 1 | 2 | 4, value: number): boolean {
    if (port === CONFIG_ADDRESS_PORT && size === 4) {
      this.configAddress = (value & CONFIG_ADDRESS_MASK) >>> 0;
      return true;
    }
    if (port >= CONFIG_DATA_PORT && port + size <= CONFIG_DATA_PORT + 4) {
      const t = decodeCf8(this.configAddress, port - CONFIG_DATA_PORT);
      if (t !== null) {
        this.configCycle(t.bus, t.device, t.fn, t.reg, size, value);
        return true;
      }
    }
    return false;
  }

  /** MMIO read: the ECAM window or a memory BAR; all-ones when nothing decodes. */
  mmioRead(addr: number, size: 1 | 2 | 4): number {
    if (!((size === 4 || size === 2 || size === 1) && typeof addr === 'number' && addr >= 0 && addr <= 2 ** 64 - size && Math.floor(addr) === addr)) checkAccess(addr, size, 2 ** 64);
    const e = addr - this.ecamBase;
    if (e >= 0 && e < this.ecamSize) {
      const t = decodeEcam(e);
      return this.configCycle(t.bus, t.device, t.fn, t.reg, size);
    }
    if (this.mapsDirty) this.maps();
    const r = this.memMap.lookupMem(addr, size);
    if (r === null) return ALL_ONES[size];
    const off = addr + r.delta;
    if (r.direct && (off & (size - 1)) === 0) return r.fn.model.barRead(r.fn, r.bar, off, size) >>> 0;
    return this.barAccess(r.fn, r.bar, off, size);
  }

  /** MMIO write: the ECAM window or a memory BAR; dropped when nothing decodes. */
  mmioWrite(addr: number, size: 1 | 2 | 4, value: number): void {
    if (!((size === 4 || size === 2 || size === 1) && typeof addr === 'number' && addr >= 0 && addr <= 2 ** 64 - size && Math.floor(addr) === addr)) checkAccess(addr, size, 2 ** 64);
    value >>>= 0;
    const e = addr - this.ecamBase;
    if (e >= 0 && e < this.ecamSize) {
      const t = decodeEcam(e);
      this.configCycle(t.bus, t.device, t.fn, t.reg, size, value);
      return;
    }
    if (this.mapsDirty) this.maps();
    const r = this.memMap.lookupMem(addr, size);
    if (r === null) return;
    const off = addr + r.delta;
    if (r.direct && (off & (size - 1)) === 0) r.fn.model.barWrite(r.fn, r.bar, off, size, value);
    else this.barAccess(r.fn, r.bar, off, size, value);
  }

  /** Hands an access to the BAR; a misaligned one goes byte by byte, as a bus would split it. */
  private barAccess(f: PciFunction, bar: number, offset: number, size: 1 | 2 | 4, value?: number): number {
    if ((offset & (size - 1)) === 0) {
      if (value === undefined) return f.barRead(bar, offset, size);
      f.barWrite(bar, offset, size, value);
      return 0;
    }
    let v = 0;
    for (let i = 0; i < size; i++) {
      if (value === undefined) v |= f.barRead(bar, offset + i, 1) << (8 * i);
      else f.barWrite(bar, offset + i, 1, (value >>> (8 * i)) & 0xff);
    }
    return v >>> 0;
  }
}

function checkRid(rid: number): void {
  if ((rid & 0xffff) !== rid) throw new RangeError(`routing ID ${rid} is not an integer in 0..0xffff`);
}

function checkCycle(offset: number, size: number): void {
  if (size !== 1 && size !== 2 && size !== 4) throw new RangeError(`config access size ${size} is not 1, 2 or 4`);
  if ((offset | 0) !== offset || offset < 0 || offset + size > 4096) throw new RangeError(`config access of ${size} bytes at offset ${offset} is outside 0..4095`);
}

function checkAccess(addr: number, size: number, limit: number): void {
  if (size !== 1 && size !== 2 && size !== 4) throw new PciRangeError('EINVAL', `access size ${describeValue(size)} is not 1, 2 or 4`);
  if (!Number.isInteger(addr) || addr < 0 || addr + size > limit) throw new PciRangeError('EFAULT', `address ${hexValue(addr)} is out of range`);
}
