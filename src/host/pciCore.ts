import { parseBdf } from '../hw/bdf.js';
import type { Hardware } from '../hw/hardware.js';
import type { PciFunction } from '../hw/pciFunction.js';
import {
  PCI_BASE_ADDRESS_0, PCI_BASE_ADDRESS_MEM_PREFETCH, PCI_BASE_ADDRESS_MEM_TYPE_64, PCI_BASE_ADDRESS_SPACE_IO, PCI_CAP_ID_EXP,
  PCI_CAP_LIST_NEXT, PCI_CAPABILITY_LIST, PCI_CLASS_PROG, PCI_COMMAND, PCI_COMMAND_IO, PCI_COMMAND_MASTER, PCI_COMMAND_MEMORY,
  PCI_DEVICE_ID, PCI_EXT_CAP_ID_SRIOV, PCI_HEADER_TYPE, PCI_HEADER_TYPE_BRIDGE, PCI_HEADER_TYPE_NORMAL, PCI_IO_BASE,
  PCI_IO_BASE_UPPER16, PCI_IO_LIMIT_UPPER16, PCI_IO_RANGE_TYPE_32, PCI_MEMORY_BASE, PCI_PREF_BASE_UPPER32,
  PCI_PREF_LIMIT_UPPER32, PCI_PREF_MEMORY_BASE, PCI_PREF_RANGE_TYPE_64, PCI_ROM_ADDRESS, PCI_ROM_ADDRESS1, PCI_STATUS,
  PCI_STATUS_CAP_LIST, PCI_SUBSYSTEM_ID, PCI_SUBSYSTEM_VENDOR_ID, PCI_VENDOR_ID,
} from '../hw/pciRegs.js';
import type { PciChannelState, PciDev, PciDevIdentity, PciDriver } from './pciDriver.js';
import { pciAerInit } from './aer.js';
import { restoreState, saveState } from './pciReset.js';
import type { SavedState } from './pciReset.js';
import type { HostPools, Item, Space, Span } from './resourceAssignment.js';
import {
  allocateFromPool, alignUp, DEFAULT_HOST_POOLS, hex, pack, placePacked, Pool, SPACES, WINDOW_GRANULARITY,
} from './resourceAssignment.js';
import { VfioError } from './vfio/vfioError.js';

// SR-IOV extended capability registers are named once, in src/hw/pciRegs.ts
import { PCI_SRIOV_CTRL, PCI_SRIOV_CTRL_VFE, PCI_SRIOV_CTRL_MSE, PCI_SRIOV_TOTAL_VF, PCI_SRIOV_NUM_VF, PCI_SRIOV_VF_OFFSET, PCI_SRIOV_VF_STRIDE, PCI_SRIOV_VF_DID, PCI_SRIOV_SUP_PGSIZE, PCI_SRIOV_SYS_PGSIZE, PCI_SRIOV_BAR } from '../hw/pciRegs.js';
export const PCI_CAP_ID_SSVID = 0x0d;
/** Resource index of the expansion ROM (PCI_ROM_RESOURCE); 0-5 are the BARs. */
export const PCI_ROM_RESOURCE = 6;

/** One address-decoding resource of a device, as `struct resource` in pci_dev->resource[]. */
export interface PciResource {
  kind: 'io' | 'mem';
  /** bytes; for an SR-IOV VF BAR of a PF, the size of one VF's BAR */
  size: number;
  is64: boolean;
  prefetch: boolean;
  /** the config register that holds the address (-1 for a VF: its BARs live in the PF's SR-IOV capability) */
  reg: number;
  /** the assigned address, or null: the host did not assign it (vfio reports such a BAR as unimplemented) */
  start: number | null;
}

/** What sriov_init learns about a PF. */
export interface SriovInfo {
  /** offset of the SR-IOV extended capability */
  cap: number;
  totalVfs: number;
  /** VF Device ID: the device ID every VF is known by (VFs read 0xffff in hardware) */
  vfDevice: number;
  /** VF BAR n: `size` is one VF's BAR, `start` VF 0's address; VF i sits at start + i * size */
  vfBars: (PciResource | null)[];
  /** iov->num_VFs: the VFs pci_enable_sriov enabled (0 while SR-IOV is off); see iov.ts */
  numVfs: number;
}

/** What a bus notifier hears (BUS_NOTIFY_ADD_DEVICE: a device was added, before any driver probes it). */
export type BusNotifyAction = 'add';
export type BusNotifier = (action: BusNotifyAction, dev: HostPciDev) => void;

/** A bridge's windows as the host programmed them (end exclusive), and what the bridge can forward. */
export interface BridgeWindows {
  io: Span | null;
  mem: Span | null;
  pref: Span | null;
  hasIo: boolean;
  io32: boolean;
  hasPref: boolean;
  pref64: boolean;
}

/**
 * Optional driver hook the PCI core asks before moving BARs: true while user space holds files on
 * the device (vfio: an open device fd). A PciDriver that does not implement it never blocks.
 */
export interface PciDriverFileState {
  hasOpenFiles?(dev: PciDev): boolean;
}

/** struct pci_dev: the host kernel's record of one function. */
export class HostPciDev implements PciDev {
  driver: PciDriver | null = null;
  driverOverride: string | null = null;
  driverData: unknown = null;
  /** pci_enable_device() count */
  enableCount = 0;
  /** BARs 0-5 and the ROM (PCI_ROM_RESOURCE); the upper half of a 64-bit BAR is null */
  readonly resources: (PciResource | null)[] = [null, null, null, null, null, null, null];
  sriov: SriovInfo | null = null;
  bridge: BridgeWindows | null = null;
  /** a VF's index among its PF's VFs, -1 otherwise */
  vfIndex = -1;
  /** false once the function left the hardware (hot removal, VF disable) */
  present = true;
  /** dev->pcie_cap: offset of the PCI Express capability, 0 for a conventional function */
  pcieCap = 0;
  /** dev->aer_cap: offset of the AER extended capability, 0 without one */
  aerCap = 0;
  /** dev->error_state: what the last error recovery step told the drivers (pci_dev_set_io_state) */
  errorState: PciChannelState = 'normal';
  /** dev->wakeup_prepared: PME armed by __pci_enable_wake (src/host/pciPm.ts) */
  wakeupPrepared = false;
  /** pci_save_state's copy (dev->saved_config_space), null until the first save */
  savedState: SavedState | null = null;

  constructor(
    readonly core: PciCore,
    readonly fn: PciFunction,
    public id: PciDevIdentity,
    readonly isVirtfn: boolean,
    public physfn: HostPciDev | null,
    readonly revision: number,
    /** header layout without the multi-function bit */
    readonly hdrType: number,
  ) {}

  get bdf(): string {
    return this.fn.bdf;
  }

  /** pci_read_config_*: through the hardware, as any config access of the host. */
  readConfig(offset: number, size: 1 | 2 | 4): number {
    return this.core.hw.configRead(this.fn.bdf, offset, size);
  }

  writeConfig(offset: number, size: 1 | 2 | 4, value: number): void {
    this.core.hw.configWrite(this.fn.bdf, offset, size, value);
  }

  resource(index: number): PciResource | null {
    return this.resources[index] ?? null;
  }

  /** pci_resource_start(): the assigned address, 0 when absent or unassigned. */
  resourceStart(index: number): number {
    return this.resources[index]?.start ?? 0;
  }

  /**
   * pci_resource_len(): 0 when the BAR is not implemented or the host could not assign it (Linux
   * resets an unassignable resource to zero size), which vfio reports as an unimplemented region.
   */
  resourceLen(index: number): number {
    const r = this.resources[index];
    return r && r.start !== null ? r.size : 0;
  }

  /** Standard capability offset (pci_find_capability), 0 if absent. */
  findCapability(id: number): number {
    if ((this.readConfig(PCI_STATUS, 2) & PCI_STATUS_CAP_LIST) === 0) return 0;
    let pos = this.readConfig(PCI_CAPABILITY_LIST, 1) & ~3;
    for (let ttl = 48; pos >= 0x40 && ttl > 0; ttl--) {
      const capId = this.readConfig(pos, 1);
      if (capId === 0xff) break;
      if (capId === id) return pos;
      pos = this.readConfig(pos + PCI_CAP_LIST_NEXT, 1) & ~3;
    }
    return 0;
  }

  /** Extended capability offset (pci_find_ext_capability), 0 if absent or no extended config space. */
  findExtCapability(id: number): number {
    if (this.findCapability(PCI_CAP_ID_EXP) === 0) return 0;
    let pos = 0x100;
    for (let ttl = (4096 - 256) / 8; ttl > 0; ttl--) {
      const header = this.readConfig(pos, 4);
      if (header === 0 || header === 0xffffffff) return 0;
      if ((header & 0xffff) === id) return pos;
      pos = (header >>> 20) & 0xffc;
      if (pos < 0x100) return 0;
    }
    return 0;
  }

  /** bus << 8 | devfn */
  get routingId(): number {
    const a = parseBdf(this.fn.bdf);
    return (a.bus << 8) | (a.device << 3) | a.fn;
  }
}

export interface PciCoreListener {
  /** a device was added (pci_bus_add_device): the driver core probes drivers */
  added?(dev: HostPciDev): void;
  /** a device left (pci_stop_and_remove_bus_device): the driver core releases its driver */
  removed?(dev: HostPciDev): void;
}

export interface SyncResult {
  added: HostPciDev[];
  removed: HostPciDev[];
}

const DECODE = PCI_COMMAND_IO | PCI_COMMAND_MEMORY;

/**
 * The host's PCI core: a HostPciDev for every function of the hardware, created lazily by sync(),
 * with its identity and BAR sizes learnt through config cycles, and the host's resource assignment.
 *
 * Resource assignment rule: sync() (re)assigns every BAR, ROM, SR-IOV VF BAR and bridge window of the
 * whole hierarchy when functions other than VFs appeared since the last assignment and nothing is
 * in use. "In use" means any of: a device is enabled (pci_enable_device count > 0), a device is bound
 * to a driver whose hasOpenFiles() says user space holds files on it (vfio device fds, which may
 * have BARs mapped), or a PF has VF Enable set. While something is in use the assignment stays
 * pending: the new functions' BARs stay unassigned (vfio reports them as unimplemented) until a
 * later sync() finds nothing in use. VFs never trigger assignment: their BARs are carved out of the
 * PF's SR-IOV resource, assigned with the PF. The layout is deterministic: the same topology always
 * gets the same addresses.
 */
export class PciCore {
  readonly pools: HostPools;
  /** what the last assignment could not place ("can't assign; no space") */
  problems: string[] = [];
  private readonly byFn = new Map<PciFunction, HostPciDev>();
  private list: HostPciDev[] = [];
  private readonly listeners: PciCoreListener[] = [];
  private readonly notifiers = new Set<BusNotifier>();
  private pending = false;
  private syncing = false;

  constructor(
    readonly hw: Hardware,
    pools: Partial<HostPools> = {},
  ) {
    this.pools = { ...DEFAULT_HOST_POOLS, ...pools };
  }

  listen(listener: PciCoreListener): void {
    this.listeners.push(listener);
  }

  /**
   * bus_register_notifier: `nb` hears of each device added from now on, before the driver core
   * matches drivers to it (vfio-pci captures its VFs' driver_override here). Returns the unregister.
   */
  registerBusNotifier(nb: BusNotifier): () => void {
    this.notifiers.add(nb);
    return () => this.notifiers.delete(nb);
  }

  /** pci_bus_add_device: bus notifiers, then the listeners (the driver core probes drivers). */
  private announce(d: HostPciDev): void {
    for (const nb of [...this.notifiers]) nb('add', d);
    for (const l of this.listeners) l.added?.(d);
  }

  /** Known devices in scan order (depth first, bus order), after the last sync(). */
  devices(): readonly HostPciDev[] {
    return this.list;
  }

  /** The device at `bdf` as of the last sync(), or undefined. */
  device(bdf: string): HostPciDev | undefined {
    const f = typeof bdf === 'string' ? this.hw.function(bdf) : undefined;
    return f === undefined ? undefined : this.byFn.get(f);
  }

  /** True when new functions are waiting for resources because something was in use. */
  get assignmentPending(): boolean {
    return this.pending;
  }

  /**
   * Picks up functions added to the hardware since the last call and drops the ones that left, then
   * assigns resources under the rule in the class comment. Listeners hear about removals first,
   * then additions (after assignment, so a probing driver sees its resources).
   */
  sync(): SyncResult {
    if (this.syncing) return { added: [], removed: [] };
    this.syncing = true;
    try {
      const fns = this.hw.functions();
      const present = new Set(fns);
      const removed = this.list.filter((d) => !d.fn.alive || !present.has(d.fn));
      // VFs leave before their PF, as pci_iov_remove_virtfn runs before the PF goes
      removed.sort((a, b) => Number(b.isVirtfn) - Number(a.isVirtfn));
      for (const d of removed) {
        this.byFn.delete(d.fn);
        d.present = false;
        this.list = this.list.filter((x) => x !== d);
        for (const l of this.listeners) l.removed?.(d);
      }
      const added: HostPciDev[] = [];
      for (const fn of fns) if (!fn.isVirtfn && !this.byFn.has(fn) && fn.alive) added.push(this.setupDevice(fn));
      for (const fn of fns) if (fn.isVirtfn && !this.byFn.has(fn) && fn.alive) added.push(this.setupVirtfn(fn));
      this.list = fns.map((f) => this.byFn.get(f)).filter((d): d is HostPciDev => d !== undefined);
      if (added.some((d) => !d.isVirtfn)) this.pending = true;
      if (this.pending && this.assignmentBlocker() === null) this.assign();
      for (const d of added) if (d.isVirtfn) this.updateVirtfnResources(d);
      for (const d of added) this.announce(d);
      return { added, removed };
    } finally {
      this.syncing = false;
    }
  }

  /**
   * The hook the SR-IOV code calls for each VF it enables (pci_iov_add_virtfn): the VF takes its
   * vendor from the PF and its device ID from the PF's VF Device ID, because VF hardware reads
   * 0xffff there; class, revision and subsystem IDs come from the VF's own config space. `index`
   * is the VF number (default: worked out from the PF's First VF Offset and VF Stride).
   */
  addVirtfn(pf: PciDev, fn: PciFunction, deviceId: number, index?: number): HostPciDev {
    const pfDev = pf instanceof HostPciDev ? pf : this.byFn.get(pf.fn);
    if (pfDev === undefined) throw new Error(`${pf.bdf}: not a device of this PCI core`);
    let d = this.byFn.get(fn);
    const fresh = d === undefined;
    if (d === undefined) {
      d = this.readVirtfn(fn, pfDev.id.vendor, deviceId & 0xffff, pfDev);
      this.byFn.set(fn, d);
      this.list.push(d);
    } else {
      d.id = { ...d.id, vendor: pfDev.id.vendor, device: deviceId & 0xffff };
      d.physfn = pfDev;
    }
    d.vfIndex = index ?? this.vfIndexOf(pfDev, d);
    this.updateVirtfnResources(d);
    if (fresh) this.announce(d);
    return d;
  }

  /**
   * pci_stop_and_remove_bus_device for a VF (pci_iov_remove_virtfn): the driver core releases its
   * driver, and the PCI core forgets it. The hardware function itself goes when VF Enable clears.
   */
  removeVirtfn(vf: HostPciDev): void {
    this.stopAndRemove(vf);
  }

  /**
   * pci_stop_and_remove_bus_device: the driver core releases the device's driver (its remove runs)
   * and the PCI core forgets it; the hardware function goes afterwards.
   */
  stopAndRemove(vf: HostPciDev): void {
    if (!this.byFn.has(vf.fn) || this.byFn.get(vf.fn) !== vf) return;
    this.byFn.delete(vf.fn);
    vf.present = false;
    this.list = this.list.filter((x) => x !== vf);
    for (const l of this.listeners) l.removed?.(vf);
  }

  /** Why resources cannot be reassigned right now, or null. */
  assignmentBlocker(): string | null {
    for (const d of this.list) {
      if (!d.present) continue;
      if (d.enableCount > 0) return `${d.bdf} is enabled`;
      const drv = d.driver as (PciDriver & PciDriverFileState) | null;
      if (drv !== null && drv.hasOpenFiles?.(d) === true) return `${d.bdf} is bound to ${drv.name} with open files`;
      if (d.sriov !== null && (d.readConfig(d.sriov.cap + PCI_SRIOV_CTRL, 2) & PCI_SRIOV_CTRL_VFE) !== 0) return `${d.bdf} has VFs enabled`;
    }
    return null;
  }

  /**
   * Assigns every resource of the hierarchy now (what sync() does under its rule). Throws EBUSY
   * while something is in use. Returns what could not be placed.
   */
  assignResources(): string[] {
    const blocker = this.assignmentBlocker();
    if (blocker !== null) throw new VfioError('EBUSY', `cannot reassign PCI resources: ${blocker}`);
    this.assign();
    return this.problems;
  }

  // ---- pci_enable_device and friends ------------------------------------------------------------

  /**
   * pci_enable_device(): the first enable turns on I/O and memory decode for the kinds of resources
   * the host assigned (pci_enable_resources; an unassigned BAR has no resource and is skipped),
   * after enabling the bridges above (pci_enable_bridge, with bus mastering).
   */
  enableDevice(dev: HostPciDev): void {
    this.checkPresent(dev);
    if (dev.enableCount++ > 0) return;
    for (let up = this.parentBridge(dev); up !== null; up = this.parentBridge(up)) {
      const c = up.readConfig(PCI_COMMAND, 2);
      const want = c | DECODE | PCI_COMMAND_MASTER;
      if (want !== c) up.writeConfig(PCI_COMMAND, 2, want);
    }
    const cmd = dev.readConfig(PCI_COMMAND, 2);
    let next = cmd;
    for (let i = 0; i < PCI_ROM_RESOURCE; i++) {
      const r = dev.resources[i];
      if (r === null || r.start === null) continue;
      next |= r.kind === 'io' ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY;
    }
    if (next !== cmd) dev.writeConfig(PCI_COMMAND, 2, next);
  }

  /** pci_save_state(): the device's config state as it is now, kept for pci_restore_state. */
  saveState(dev: HostPciDev): void {
    this.checkPresent(dev);
    dev.savedState = saveState(dev.fn);
  }

  /**
   * pci_restore_state(): writes the saved state back (nothing without one), which also clears the
   * AER status; what a driver's slot_reset does after the reset of an error recovery.
   */
  restoreState(dev: HostPciDev): void {
    this.checkPresent(dev);
    if (dev.savedState !== null) restoreState(this.hw, dev.fn, dev.savedState);
  }

  /** pci_disable_device(): the last disable turns off bus mastering (decode stays, as in Linux). */
  disableDevice(dev: HostPciDev): void {
    if (dev.enableCount === 0) return; // Linux warns "disabling already-disabled device"
    if (--dev.enableCount > 0 || !dev.present) return;
    this.setMaster(dev, false);
  }

  /** pci_set_master() / pci_clear_master(). */
  setMaster(dev: HostPciDev, enable: boolean): void {
    this.checkPresent(dev);
    const cmd = dev.readConfig(PCI_COMMAND, 2);
    const next = enable ? cmd | PCI_COMMAND_MASTER : cmd & ~PCI_COMMAND_MASTER;
    if (next !== cmd) dev.writeConfig(PCI_COMMAND, 2, next);
  }

  private checkPresent(dev: HostPciDev): void {
    if (!dev.present) throw new VfioError('ENODEV', `${dev.bdf}: the device is gone`);
  }

  private parentBridge(dev: HostPciDev): HostPciDev | null {
    const up = dev.fn.bus.bridge;
    return up === null ? null : (this.byFn.get(up) ?? null);
  }

  // ---- enumeration: pci_setup_device, pci_read_bases, sriov_init ---------------------------------

  private rd(bdf: string, off: number, size: 1 | 2 | 4): number {
    return this.hw.configRead(bdf, off, size);
  }

  private setupDevice(fn: PciFunction): HostPciDev {
    const b = fn.bdf;
    const classRev = this.rd(b, PCI_CLASS_PROG - 1, 4);
    const hdrType = this.rd(b, PCI_HEADER_TYPE, 1) & 0x7f;
    const id: PciDevIdentity = {
      vendor: this.rd(b, PCI_VENDOR_ID, 2),
      device: this.rd(b, PCI_DEVICE_ID, 2),
      subvendor: 0,
      subdevice: 0,
      class: classRev >>> 8,
    };
    const d = new HostPciDev(this, fn, id, false, null, classRev & 0xff, hdrType);
    if (hdrType === PCI_HEADER_TYPE_NORMAL) {
      id.subvendor = this.rd(b, PCI_SUBSYSTEM_VENDOR_ID, 2);
      id.subdevice = this.rd(b, PCI_SUBSYSTEM_ID, 2);
    } else if (hdrType === PCI_HEADER_TYPE_BRIDGE) {
      // a bridge has no subsystem registers in its header; Linux reads the SSVID capability
      const ssvid = d.findCapability(PCI_CAP_ID_SSVID);
      if (ssvid !== 0) {
        id.subvendor = this.rd(b, ssvid + 4, 2);
        id.subdevice = this.rd(b, ssvid + 6, 2);
      }
    }
    this.readBases(d, hdrType === PCI_HEADER_TYPE_NORMAL ? 6 : hdrType === PCI_HEADER_TYPE_BRIDGE ? 2 : 0,
      hdrType === PCI_HEADER_TYPE_NORMAL ? PCI_ROM_ADDRESS : hdrType === PCI_HEADER_TYPE_BRIDGE ? PCI_ROM_ADDRESS1 : 0);
    if (hdrType === PCI_HEADER_TYPE_BRIDGE) d.bridge = this.readBridgeWindows(d);
    if (hdrType === PCI_HEADER_TYPE_NORMAL) d.sriov = this.sriovInit(d);
    this.initCapabilities(d);
    this.byFn.set(fn, d);
    return d;
  }

  /**
   * What pci_setup_device and pci_init_capabilities (pci_device_add) set up for every new device,
   * VFs included, before any driver sees it; of those, the PCIe capability and AER (pci_aer_init).
   */
  private initCapabilities(d: HostPciDev): void {
    d.pcieCap = d.findCapability(PCI_CAP_ID_EXP);
    pciAerInit(d);
  }

  private setupVirtfn(fn: PciFunction): HostPciDev {
    const vf = parseBdf(fn.bdf);
    const rid = (vf.bus << 8) | (vf.device << 3) | vf.fn;
    for (const pf of this.byFn.values()) {
      if (pf.sriov === null || !pf.present) continue;
      const index = this.vfIndexByRid(pf, rid);
      if (index < 0) continue;
      const d = this.readVirtfn(fn, pf.id.vendor, pf.sriov.vfDevice, pf);
      d.vfIndex = index;
      this.byFn.set(fn, d);
      return d;
    }
    // no PF with an SR-IOV capability claims this VF: take the IDs the hardware model states
    const d = this.readVirtfn(fn, fn.vendorId, fn.deviceId, null);
    this.byFn.set(fn, d);
    return d;
  }

  private readVirtfn(fn: PciFunction, vendor: number, device: number, pf: HostPciDev | null): HostPciDev {
    const b = fn.bdf;
    const classRev = this.rd(b, PCI_CLASS_PROG - 1, 4);
    const id: PciDevIdentity = {
      vendor,
      device,
      subvendor: this.rd(b, PCI_SUBSYSTEM_VENDOR_ID, 2),
      subdevice: this.rd(b, PCI_SUBSYSTEM_ID, 2),
      class: classRev >>> 8,
    };
    const d = new HostPciDev(this, fn, id, true, pf, classRev & 0xff, PCI_HEADER_TYPE_NORMAL);
    this.initCapabilities(d);
    return d;
  }

  private vfIndexByRid(pf: HostPciDev, rid: number): number {
    const cap = pf.sriov!.cap;
    const num = pf.readConfig(cap + PCI_SRIOV_NUM_VF, 2);
    const offset = pf.readConfig(cap + PCI_SRIOV_VF_OFFSET, 2);
    const stride = pf.readConfig(cap + PCI_SRIOV_VF_STRIDE, 2);
    const first = pf.routingId + offset;
    for (let i = 0; i < num; i++) if (first + i * stride === rid) return i;
    return -1;
  }

  private vfIndexOf(pf: HostPciDev, vf: HostPciDev): number {
    return pf.sriov === null ? -1 : this.vfIndexByRid(pf, vf.routingId);
  }

  /** Save, write the sizing pattern, read back, restore (with decode off, as __pci_read_base does). */
  private probeReg(d: HostPciDev, reg: number, pattern: number): [orig: number, sized: number] {
    const orig = d.readConfig(reg, 4);
    d.writeConfig(reg, 4, pattern);
    const sized = d.readConfig(reg, 4);
    d.writeConfig(reg, 4, orig);
    return [orig, sized];
  }

  /** Sizes `count` BAR registers from `first`; fills `out` (index = register number). */
  private sizeBars(d: HostPciDev, first: number, count: number, out: (PciResource | null)[]): void {
    for (let i = 0; i < count; i++) {
      const reg = first + 4 * i;
      const [orig, sized] = this.probeReg(d, reg, 0xffffffff);
      // all-ones means the device is not answering properly; zero means the BAR is not implemented
      if (sized === 0 || sized === 0xffffffff) continue;
      if (orig & PCI_BASE_ADDRESS_SPACE_IO) {
        const size = lowestBit(sized & 0xfffc); // x86 I/O space is 64 KiB
        if (size !== 0) out[i] = { kind: 'io', size, is64: false, prefetch: false, reg, start: null };
        continue;
      }
      const prefetch = (orig & PCI_BASE_ADDRESS_MEM_PREFETCH) !== 0;
      if ((orig & 0x6) === PCI_BASE_ADDRESS_MEM_TYPE_64 && i + 1 < count) {
        const [, sizedHi] = this.probeReg(d, reg + 4, 0xffffffff);
        const lo = (sized & 0xfffffff0) >>> 0;
        const size = lo !== 0 ? lowestBit(lo) : lowestBit(sizedHi) * 2 ** 32;
        if (size !== 0) out[i] = { kind: 'mem', size, is64: true, prefetch, reg, start: null };
        i++;
        continue;
      }
      const size = lowestBit((sized & 0xfffffff0) >>> 0);
      if (size !== 0) out[i] = { kind: 'mem', size, is64: false, prefetch, reg, start: null };
    }
  }

  /** pci_read_bases(): BAR and ROM sizes, with I/O and memory decode off meanwhile. */
  private readBases(d: HostPciDev, bars: number, romReg: number): void {
    const cmd = d.readConfig(PCI_COMMAND, 2);
    if (cmd & DECODE) d.writeConfig(PCI_COMMAND, 2, cmd & ~DECODE);
    this.sizeBars(d, PCI_BASE_ADDRESS_0, bars, d.resources);
    if (romReg !== 0) {
      // Linux writes the address mask over the current value, leaving the enable bit as it is
      const [, sized] = this.probeReg(d, romReg, (d.readConfig(romReg, 4) | 0xfffff800) >>> 0);
      const size = sized === 0xffffffff ? 0 : lowestBit((sized & 0xfffff800) >>> 0);
      if (size !== 0) d.resources[PCI_ROM_RESOURCE] = { kind: 'mem', size, is64: false, prefetch: false, reg: romReg, start: null };
    }
    if (cmd & DECODE) d.writeConfig(PCI_COMMAND, 2, cmd);
  }

  /** pci_read_bridge_windows(): which windows the bridge implements and how wide they are. */
  private readBridgeWindows(d: HostPciDev): BridgeWindows {
    let io = d.readConfig(PCI_IO_BASE, 2);
    if (io === 0) {
      d.writeConfig(PCI_IO_BASE, 2, 0xe0f0);
      io = d.readConfig(PCI_IO_BASE, 2);
      d.writeConfig(PCI_IO_BASE, 2, 0);
    }
    let pref = d.readConfig(PCI_PREF_MEMORY_BASE, 4);
    if (pref === 0) {
      d.writeConfig(PCI_PREF_MEMORY_BASE, 4, 0xffe0fff0);
      pref = d.readConfig(PCI_PREF_MEMORY_BASE, 4);
      d.writeConfig(PCI_PREF_MEMORY_BASE, 4, 0);
    }
    return {
      io: null,
      mem: null,
      pref: null,
      hasIo: io !== 0,
      io32: (io & 0x0f) === PCI_IO_RANGE_TYPE_32,
      hasPref: pref !== 0,
      pref64: (pref & 0x0f) === PCI_PREF_RANGE_TYPE_64,
    };
  }

  /** sriov_init(): TotalVFs, VF Device ID, System Page Size, and the VF BAR sizes. */
  private sriovInit(d: HostPciDev): SriovInfo | null {
    const cap = d.findExtCapability(PCI_EXT_CAP_ID_SRIOV);
    if (cap === 0) return null;
    const ctrl = d.readConfig(cap + PCI_SRIOV_CTRL, 2);
    if (ctrl & PCI_SRIOV_CTRL_VFE) d.writeConfig(cap + PCI_SRIOV_CTRL, 2, 0); // Linux starts from VFs off
    const totalVfs = d.readConfig(cap + PCI_SRIOV_TOTAL_VF, 2);
    if (totalVfs === 0) return null;
    // the smallest supported page size of at least 4 KiB (PAGE_SIZE)
    const sup = d.readConfig(cap + PCI_SRIOV_SUP_PGSIZE, 4);
    if (sup === 0) return null;
    d.writeConfig(cap + PCI_SRIOV_SYS_PGSIZE, 4, lowestBit(sup));
    const vfBars: (PciResource | null)[] = [null, null, null, null, null, null];
    this.sizeBars(d, cap + PCI_SRIOV_BAR, 6, vfBars);
    return { cap, totalVfs, vfDevice: d.readConfig(cap + PCI_SRIOV_VF_DID, 2), vfBars, numVfs: 0 };
  }

  private updateVirtfnResources(vf: HostPciDev): void {
    const pf = vf.physfn;
    for (let i = 0; i < PCI_ROM_RESOURCE; i++) {
      const r = pf?.sriov?.vfBars[i] ?? null;
      vf.resources[i] =
        r === null || vf.vfIndex < 0
          ? null
          : { kind: r.kind, size: r.size, is64: r.is64, prefetch: r.prefetch, reg: -1, start: r.start === null ? null : r.start + vf.vfIndex * r.size };
    }
  }

  // ---- resource assignment ------------------------------------------------------------------------

  private assign(): void {
    this.pending = false;
    const problems: string[] = [];
    const devs = this.list.filter((d) => d.present && !d.isVirtfn);
    // no decoding while BARs and windows move; each function gets its Command register back after
    const savedCmd = new Map<HostPciDev, number>();
    for (const d of devs) {
      const cmd = d.readConfig(PCI_COMMAND, 2);
      savedCmd.set(d, cmd);
      if (cmd & DECODE) d.writeConfig(PCI_COMMAND, 2, cmd & ~DECODE);
    }
    const byParent = new Map<PciFunction | null, HostPciDev[]>();
    for (const d of devs) {
      const parent = d.fn.bus.bridge;
      let l = byParent.get(parent);
      if (l === undefined) byParent.set(parent, (l = []));
      l.push(d);
    }
    let order = 0;
    const resourceItem = (d: HostPciDev, r: PciResource, what: string, count = 1): Item => ({
      size: r.size * count,
      align: r.size,
      order: order++,
      what: `${d.bdf} ${what}`,
      place: (base) => {
        r.start = base;
        d.writeConfig(r.reg, 4, base % 2 ** 32);
        if (r.is64) d.writeConfig(r.reg + 4, 4, Math.floor(base / 2 ** 32));
      },
      fail: (reason) => {
        r.start = null;
        problems.push(`${d.bdf} ${what}: can't assign; ${reason}`);
      },
    });
    const spaceOf = (r: PciResource, pref64: boolean): Space => (r.kind === 'io' ? 'io' : r.is64 && r.prefetch && pref64 ? 'pref' : 'mem');

    const measure = (parent: PciFunction | null, pref64: boolean): Record<Space, Item[]> => {
      const items: Record<Space, Item[]> = { io: [], mem: [], pref: [] };
      for (const d of byParent.get(parent) ?? []) {
        d.resources.forEach((r, i) => {
          if (r === null) return;
          r.start = null;
          items[spaceOf(r, pref64)].push(resourceItem(d, r, i === PCI_ROM_RESOURCE ? 'ROM' : `BAR ${i}`));
        });
        d.sriov?.vfBars.forEach((r, i) => {
          if (r === null) return;
          r.start = null;
          items[spaceOf(r, pref64)].push(resourceItem(d, r, `VF BAR ${i}`, d.sriov!.totalVfs));
        });
        const br = d.bridge;
        if (br === null) continue;
        const inner = measure(d.fn, pref64 && br.hasPref && br.pref64);
        for (const space of SPACES) {
          const close = () => this.setWindow(d, space, null);
          const list = inner[space];
          if (list.length === 0) {
            close();
            continue;
          }
          if (space === 'io' && !br.hasIo) {
            close();
            for (const it of list) it.fail(`${d.bdf} has no I/O window`);
            continue;
          }
          const needs = pack(list);
          const g = WINDOW_GRANULARITY[space];
          const size = alignUp(needs.size, g);
          items[space].push({
            size,
            align: Math.max(g, needs.align),
            order: order++,
            what: `${d.bdf} ${space} window`,
            place: (base) => {
              this.setWindow(d, space, { base, end: base + size });
              placePacked(needs, base);
            },
            fail: (reason) => {
              close();
              problems.push(`${d.bdf} ${space} window of ${hex(size)} bytes: can't assign; ${reason}`);
              for (const it of needs.items) it.fail(`the ${space} window of ${d.bdf} has no address`);
            },
          });
        }
      }
      return items;
    };

    const root = measure(null, true);
    const ecam = { base: this.hw.ecamBase, end: this.hw.ecamBase + this.hw.ecamSize };
    allocateFromPool(new Pool('I/O', this.pools.io), root.io);
    allocateFromPool(new Pool('32-bit MMIO', this.pools.mem32, [ecam]), root.mem);
    allocateFromPool(new Pool('64-bit prefetchable MMIO', this.pools.mem64, [ecam]), root.pref);

    for (const d of devs) {
      const before = savedCmd.get(d)!;
      // bridges forward and master for everything behind them; endpoints keep their Command register
      const cmd = d.bridge !== null ? before | DECODE | PCI_COMMAND_MASTER : before;
      if (cmd !== d.readConfig(PCI_COMMAND, 2)) d.writeConfig(PCI_COMMAND, 2, cmd);
    }
    for (const d of this.list) if (d.isVirtfn) this.updateVirtfnResources(d);
    this.problems = problems;
  }

  /** Programs one bridge window; null closes it (base above limit). */
  private setWindow(d: HostPciDev, space: Space, w: Span | null): void {
    const br = d.bridge!;
    br[space] = w;
    if (space === 'io') {
      if (!br.hasIo) return;
      const [base, limit] = w ? [w.base, w.end - 1] : [0xf000, 0x0fff];
      if (br.io32) {
        d.writeConfig(PCI_IO_BASE_UPPER16, 2, base >>> 16);
        d.writeConfig(PCI_IO_LIMIT_UPPER16, 2, limit >>> 16);
      }
      // I/O Base and I/O Limit in one 16-bit write; Secondary Status (RW1C) is not touched
      d.writeConfig(PCI_IO_BASE, 2, (((limit >>> 8) & 0xf0) << 8) | ((base >>> 8) & 0xf0));
    } else if (space === 'mem') {
      const [base, limit] = w ? [w.base, w.end - 1] : [0xfff00000, 0x000fffff];
      d.writeConfig(PCI_MEMORY_BASE, 4, ((((limit >>> 16) & 0xfff0) << 16) | ((base >>> 16) & 0xfff0)) >>> 0);
    } else {
      if (!br.hasPref) return;
      const [base, limit] = w ? [w.base, w.end - 1] : [0xfff00000, 0x000fffff];
      const lo = (x: number) => x % 2 ** 32;
      // clear the upper limit first so the window never spans a bogus range meanwhile (as Linux does)
      if (br.pref64) d.writeConfig(PCI_PREF_LIMIT_UPPER32, 4, 0);
      d.writeConfig(PCI_PREF_MEMORY_BASE, 4, ((((lo(limit) >>> 16) & 0xfff0) << 16) | ((lo(base) >>> 16) & 0xfff0)) >>> 0);
      if (br.pref64) {
        d.writeConfig(PCI_PREF_BASE_UPPER32, 4, Math.floor(base / 2 ** 32));
        d.writeConfig(PCI_PREF_LIMIT_UPPER32, 4, Math.floor(limit / 2 ** 32));
      }
    }
  }
}

/** The lowest set bit of a 32-bit value (0 for 0). */
function lowestBit(x: number): number {
  x >>>= 0;
  return (x & -x) >>> 0;
}
