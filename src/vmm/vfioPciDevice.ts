import type { Eventfd } from '../host/fileTable.js';
import type { VfioDeviceFile } from '../host/vfio/deviceFile.js';
import { VFIO } from '../host/vfio/uapi/constants.js';
import { decodeSparseMmapCap } from '../host/vfio/uapi/infoCap.js';
import type { DeviceInfo } from '../host/vfio/uapi/deviceInfo.js';
import type { Hardware } from '../hw/hardware.js';
import type { DecodedBar, PciFunction, ResetKind } from '../hw/pciFunction.js';
import {
  PCI_BASE_ADDRESS_0, PCI_CACHE_LINE_SIZE, PCI_CAP_ID_EXP, PCI_CAP_ID_MSI, PCI_CAP_ID_MSIX, PCI_CAP_ID_PM, PCI_CAPABILITY_LIST,
  PCI_COMMAND, PCI_COMMAND_INTX_DISABLE, PCI_COMMAND_IO, PCI_COMMAND_MASTER, PCI_COMMAND_MEMORY, PCI_DEVICE_ID,
  PCI_EXP_DEVCAP, PCI_EXP_DEVCAP_FLR, PCI_EXP_DEVCTL, PCI_HEADER_TYPE, PCI_HEADER_TYPE_MFD, PCI_INTERRUPT_LINE, PCI_INTERRUPT_PIN,
  PCI_MSI_FLAGS, PCI_MSI_FLAGS_QMASK, PCI_MSIX_FLAGS, PCI_MSIX_PBA, PCI_MSIX_TABLE, PCI_PM_CTRL, PCI_PM_CTRL_STATE_MASK, PCI_REVISION_ID, PCI_ROM_ADDRESS,
  PCI_STATUS, PCI_STATUS_CAP_LIST, PCI_SUBSYSTEM_ID, PCI_SUBSYSTEM_VENDOR_ID, PCI_VENDOR_ID,
} from '../hw/pciRegs.js';
import type { RegionDesc, Span } from './barRegion.js';
import { BarRegion } from './barRegion.js';
import { EmulatedBars, ROM_INDEX, barKindOf } from './emulatedBars.js';
import { EmulatedConfig, rangesOverlap } from './emulatedConfig.js';
import { IntxEmulation } from './intxEmulation.js';
import type { IrqHost } from './irqHost.js';
import { MsiEmulation } from './msiEmulation.js';
import { MsixEmulation } from './msixEmulation.js';
import { PassthroughFunction } from './passthroughFunction.js';
import { VfioClient } from './vfioClient.js';
import type { VmmLog } from './vmmLog.js';
import type { VmmDeviceState } from './vmmDeviceState.js';

const ALL_ONES = [0, 0xff, 0xffff, 0, 0xffffffff];
/** the bytes an access of each size carries (the file takes at most 32-bit integers) */
const SIZE_MASK = [0, 0xff, 0xffff, 0, 0xffffffff];

/** What an assigned device needs from its VMM. */
export interface VmmContext {
  readonly log: VmmLog;
  /** a new eventfd in the host's file table */
  eventfd(): Eventfd;
  /** the guest moved a BAR or changed decode (the VMM checks for BARs placed over each other) */
  barsChanged(dev: VfioPciDevice): void;
}

/**
 * An assigned device: QEMU's vfio-pci (hw/vfio/pci.c) over one vfio device file. Config reads and
 * writes go to the config region with the VMM's emulation on top (emulatedConfig.ts): the BARs and
 * ROM BAR (emulatedBars.ts), Interrupt Line and Pin, Header Type's multi-function bit, the MSI
 * capability (msiEmulation.ts) and MSI-X Message Control with the table and PBA (msixEmulation.ts).
 * BAR accesses go to region read/write (barRegion.ts) except the MSI-X table and PBA; INTx is wired
 * through eventfds with resampling (intxEmulation.ts). A guest FLR or bus reset becomes
 * VFIO_DEVICE_RESET. The device is also the DeviceModel of its PassthroughFunction on the guest bus.
 */
export class VfioPciDevice implements IrqHost {
  /** The ioctl wrapper around the device file (VFIO_DEVICE_GET_INFO, SET_IRQS, RESET ...). */
  readonly client: VfioClient;
  readonly name: string;
  /** VFIO_DEVICE_GET_INFO's answer: flags, number of regions and IRQ indexes. */
  readonly info: DeviceInfo;
  /** Size of the config region: 256 for conventional PCI, 4096 with extended config space. */
  readonly configSize: number;
  /** The config bits the VMM emulates instead of passing through (QEMU's emulated_config_bits). */
  readonly emu: EmulatedConfig;
  /** The guest-programmed BAR registers, emulated (the real BARs stay where the host put them). */
  readonly bars: EmulatedBars;
  /** BAR 0-5 and ROM (6) regions, null where the device has none */
  readonly regions: (BarRegion | null)[] = [null, null, null, null, null, null, null];
  /** MSI emulation through VFIO_PCI_MSI_IRQ_INDEX, null when the device has no MSI capability. */
  readonly msi: MsiEmulation | null = null;
  /** MSI-X emulation (table and PBA in the VMM) through VFIO_PCI_MSIX_IRQ_INDEX, null without MSI-X. */
  readonly msix: MsixEmulation | null = null;
  /** INTx through eventfds with resampling, null when the device has no pin. */
  readonly intx: IntxEmulation | null = null;
  /** capability offsets in config space (0: none) */
  readonly pcieCap: number = 0;
  /** Offset of the Power Management capability in config space (0: none). */
  readonly pmCap: number = 0;
  /** The device supports FLR (PCIe DEVCAP), so a guest FLR becomes VFIO_DEVICE_RESET. */
  readonly hasFlr: boolean = false;
  /** Vendor ID read from the device at open. */
  readonly vendorId: number;
  /** Device ID read from the device at open. */
  readonly deviceId: number;
  /** resets done for the guest (FLR, bus reset, system reset) */
  resets = 0;
  private readonly cfgBase: bigint;
  private readonly cfgOffsets: bigint[] = new Array<bigint>(4096);
  /** the emulated bits at power-on, restored by a reset */
  private readonly powerOn: Uint8Array;
  private fn_: PassthroughFunction | null = null;
  private closed = false;

  constructor(
    private readonly vmm: VmmContext,
    /** The opened VFIO device file (from VFIO_GROUP_GET_DEVICE_FD or the cdev). */
    readonly file: VfioDeviceFile,
    /** Address the function gets on the guest's bus, e.g. "0000:00:05.0". */
    readonly guestBdf: string,
  ) {
    this.client = new VfioClient(file);
    this.info = this.client.getInfo();
    if ((this.info.flags & VFIO.DEVICE_FLAGS_PCI) === 0) throw new Error(`${guestBdf}: the vfio device is not a PCI device`);
    const cfg = this.client.getRegionInfo(VFIO.PCI_CONFIG_REGION_INDEX);
    this.configSize = Number(cfg.size);
    if (this.configSize !== 256 && this.configSize !== 4096) throw new Error(`${guestBdf}: config region of ${this.configSize} bytes`);
    this.cfgBase = cfg.offset;
    this.vendorId = this.physRead(PCI_VENDOR_ID, 2);
    this.deviceId = this.physRead(PCI_DEVICE_ID, 2);
    this.name = `${guestBdf} (${hex(this.vendorId, 4)}:${hex(this.deviceId, 4)})`;
    this.emu = new EmulatedConfig(this.configSize);
    this.bars = new EmulatedBars(this.emu);

    // ---- capabilities, as the config region shows them ----
    let msiCap = 0;
    let msixCap = 0;
    if (this.physRead(PCI_STATUS, 2) & PCI_STATUS_CAP_LIST) {
      const seen = new Set<number>();
      for (let pos = this.physRead(PCI_CAPABILITY_LIST, 1) & 0xfc; pos >= 0x40 && !seen.has(pos); ) {
        seen.add(pos);
        const hdr = this.physRead(pos, 2);
        const id = hdr & 0xff;
        if (id === PCI_CAP_ID_MSI) msiCap = pos;
        else if (id === PCI_CAP_ID_MSIX) msixCap = pos;
        else if (id === PCI_CAP_ID_EXP) this.pcieCap = pos;
        else if (id === PCI_CAP_ID_PM) this.pmCap = pos;
        pos = (hdr >> 8) & 0xfc;
      }
    }
    if (this.pcieCap) this.hasFlr = (this.physRead(this.pcieCap + PCI_EXP_DEVCAP, 4) & PCI_EXP_DEVCAP_FLR) !== 0;

    // ---- MSI-X placement (the table and PBA are trapped out of their BARs) ----
    const trapped: Span[][] = [[], [], [], [], [], [], []];
    if (msixCap) {
      const irq = this.client.getIrqInfo(VFIO.PCI_MSIX_IRQ_INDEX);
      const table = this.physRead(msixCap + PCI_MSIX_TABLE, 4);
      const pba = this.physRead(msixCap + PCI_MSIX_PBA, 4);
      const vectors = (this.physRead(msixCap + PCI_MSIX_FLAGS, 2) & 0x7ff) + 1;
      const layout = { cap: msixCap, vectors, tableBar: table & 7, tableOffset: (table & ~7) >>> 0, pbaBar: pba & 7, pbaOffset: (pba & ~7) >>> 0 };
      this.msix = new MsixEmulation(this, layout, irq.count, (irq.flags & VFIO.IRQ_INFO_NORESIZE) !== 0);
      trapped[layout.tableBar].push({ start: layout.tableOffset, end: layout.tableOffset + this.msix.tableBytes });
      trapped[layout.pbaBar].push({ start: layout.pbaOffset, end: layout.pbaOffset + this.msix.pbaBytes });
    }
    if (msiCap) {
      const irq = this.client.getIrqInfo(VFIO.PCI_MSI_IRQ_INDEX);
      // the vector count comes from IRQ_INFO (vfio_pci_get_irq_count reads the hardware): the config
      // region's Multiple Message Capable is the hardware's too, but on Linux 6.1 a user write can
      // change it (docs/linux-parity.md, item 1), so it is not the source of truth
      const mmc = 31 - Math.clz32(irq.count);
      if (irq.count > 0) this.msi = new MsiEmulation(this, msiCap, (this.physRead(msiCap + PCI_MSI_FLAGS, 2) & ~PCI_MSI_FLAGS_QMASK) | (mmc << 1));
    }

    // ---- BARs: sizes from region info, flag bits from the config region ----
    for (let i = 0; i < 6; i++) {
      const desc = this.regionDesc(i);
      if (desc.size === 0) continue;
      const k = barKindOf(this.physRead(PCI_BASE_ADDRESS_0 + 4 * i, 4));
      this.bars.add({ index: i, kind: k.kind, size: desc.size, prefetchable: k.prefetchable, flags: k.flags });
      this.regions[i] = new BarRegion(file, desc, trapped[i], vmm.log, `${this.name} BAR${i}`);
      if (k.kind === 'mem64') i++;
    }
    const rom = this.regionDesc(VFIO.PCI_ROM_REGION_INDEX);
    if (rom.size > 0) {
      this.bars.add({ index: ROM_INDEX, kind: 'rom', size: rom.size, prefetchable: false, flags: 0 });
      this.regions[ROM_INDEX] = new BarRegion(file, rom, [], vmm.log, `${this.name} ROM`);
    }
    this.bars.emulateUnused();

    // ---- header bits the VMM owns ----
    this.emu.emulate(PCI_HEADER_TYPE, 1, 0, 0, PCI_HEADER_TYPE_MFD); // follows the guest topology
    this.emu.emulate(PCI_INTERRUPT_LINE, 1, 0, 0xff);
    const intxCount = this.client.getIrqInfo(VFIO.PCI_INTX_IRQ_INDEX).count;
    const pin = intxCount > 0 ? this.physRead(PCI_INTERRUPT_PIN, 1) : 0;
    this.emu.emulate(PCI_INTERRUPT_PIN, 1, pin, 0);
    if (pin !== 0) this.intx = new IntxEmulation(this);
    this.powerOn = this.emu.bytes.slice();
    // the function starts on INTx, as QEMU's vfio_intx_enable at realize
    this.intx?.enable();
  }

  private regionDesc(index: number): RegionDesc {
    const r = this.client.getRegionInfo(index);
    const size = Number(r.size);
    let mmap: Span[] = [];
    if (size > 0 && r.flags & VFIO.REGION_INFO_FLAG_MMAP) {
      const sparse = r.caps.find((c) => c.id === VFIO.REGION_INFO_CAP_SPARSE_MMAP);
      mmap = sparse
        ? decodeSparseMmapCap(r.raw, sparse.at).areas.map((a) => ({ start: Number(a.offset), end: Number(a.offset + a.size) }))
        : [{ start: 0, end: size }];
    }
    return { index, size, flags: r.flags, offset: r.offset, mmap };
  }

  /** The spec for the placeholder slot of the guest function (identity only; nothing reads it). */
  placeholderSpec() {
    const classRev = this.physRead(PCI_REVISION_ID, 4);
    return {
      /** The device's Vendor ID (0xffff, which means "no function", becomes 0xfffe). */
      vendorId: Math.min(this.vendorId, 0xfffe),
      /** The device's Device ID. */
      deviceId: this.deviceId,
      /** The device's 24-bit class code. */
      classCode: classRev >>> 8,
      /** The device's Revision ID. */
      revision: classRev & 0xff,
      /** The device's Subsystem Vendor ID. */
      subsystemVendorId: this.physRead(PCI_SUBSYSTEM_VENDOR_ID, 2),
      /** The device's Subsystem ID. */
      subsystemId: this.physRead(PCI_SUBSYSTEM_ID, 2),
    };
  }

  /** Puts the function on the guest bus (once). */
  attach(hw: Hardware): PassthroughFunction {
    if (this.fn_) throw new Error(`${this.name} is already on a guest bus`);
    this.fn_ = hw.addFunction(this.guestBdf, this.placeholderSpec(), this, undefined, undefined, (h, bdf, bus, dev, fn, _m, slot) => new PassthroughFunction(h, bdf, bus, dev, fn, this, slot));
    return this.fn_;
  }

  /** The function on the guest bus; throws until attach. */
  get fn(): PassthroughFunction {
    if (!this.fn_) throw new Error(`${this.name} is not on a guest bus`);
    return this.fn_;
  }

  // ---- the config region ---------------------------------------------------------------------------

  private cfgOffset(off: number): bigint {
    const c = this.cfgOffsets[off];
    if (c !== undefined) return c;
    return (this.cfgOffsets[off] = this.cfgBase + BigInt(off));
  }

  /** The device's value, through the config region (all-ones if the file refuses). */
  physRead(off: number, size: 1 | 2 | 4): number {
    try {
      return this.file.readValue(this.cfgOffset(off), size);
    } catch (e) {
      this.fileError('config read', e);
      return ALL_ONES[size];
    }
  }

  /** Writes the device's config through the config region (errors are logged, not thrown). */
  physWrite(off: number, size: 1 | 2 | 4, value: number): void {
    try {
      this.file.writeValue(this.cfgOffset(off), size, value & SIZE_MASK[size]);
    } catch (e) {
      this.fileError('config write', e);
    }
  }

  private fileError(op: string, e: unknown): void {
    const code = (e as { code?: string }).code ?? 'error';
    this.log.once(`${this.name}:${op}:${code}`, `${this.name}: ${op} failed (${code}): ${e instanceof Error ? e.message : String(e)}`);
  }

  /** Guest config read (vfio_pci_read_config): emulated bits from the VMM, the rest from the device. */
  configRead(_fn: PciFunction | null, off: number, size: 1 | 2 | 4): number {
    // beyond a conventional function's 256 bytes (ECAM behind a PCIe-to-PCI bridge): all-ones, as QEMU's mmcfg
    if (off + size > this.configSize) return ALL_ONES[size];
    const e = this.emu;
    if (e.dwordEmulated[off >> 2] === 0) return this.physRead(off, size);
    if (size === 4 && e.dwordFull[off >> 2] === 1) return e.u32[off >> 2];
    const m = this.emu.mask(off, size);
    const phys = m === ALL_ONES[size] ? 0 : this.physRead(off, size);
    return this.emu.merge(off, size, phys);
  }

  /**
   * Guest config write (vfio_pci_write_config): everything goes to the device file, which filters
   * what the guest may not write (except Initiate FLR, which the VMM turns into DEVICE_RESET); the
   * emulated bits take the value; writes to MSI, MSI-X Message Control, BARs and Command have their
   * side effects.
   */
  configWrite(_fn: PciFunction | null, off: number, size: 1 | 2 | 4, value: number): void {
    if (this.closed || off + size > this.configSize) return;
    let through = value;
    let flr = false;
    if (this.pcieCap) {
      const at = this.pcieCap + PCI_EXP_DEVCTL + 1; // Initiate FLR is bit 15 of Device Control
      const i = at - off;
      if (i >= 0 && i < size && ((value >>> (8 * i)) & 0x80) !== 0) {
        through = (value & ~(0x80 << (8 * i))) >>> 0;
        flr = this.hasFlr;
      }
    }
    const msiWas = this.msi?.enabled ?? false;
    const msixControl = this.msix?.control ?? 0;
    this.physWrite(off, size, through);
    if (this.emu.touches(off, size)) this.emu.write(off, size, value);

    if (this.msi && this.msi.overlaps(off, size)) this.msiTransition(this.msi.written(msiWas));
    else if (this.msix && this.msix.controlOverlaps(off, size)) this.msixTransition(this.msix.controlWritten(msixControl));
    const command = rangesOverlap(off, size, PCI_COMMAND, 2);
    if (command || rangesOverlap(off, size, PCI_BASE_ADDRESS_0, 24) || rangesOverlap(off, size, PCI_ROM_ADDRESS, 4)) {
      this.fn_?.hw.decodeChanged();
      this.vmm.barsChanged(this);
    }
    if (command) this.intx?.update();
    if (flr) this.reset(null, 'flr');
  }

  /** Sets an emulated config register directly (no side effects, nothing sent to the device); offsets past configSize are ignored. */
  setRegister(off: number, size: 1 | 2 | 4, value: number): void {
    if (off + size <= this.configSize) this.emu.set(off, size, value);
  }

  // ---- interrupt mode changes (vfio_msi_enable / vfio_msix_enable / vfio_intx_enable) ------------

  private msiTransition(t: 'enable' | 'disable' | 'update'): void {
    if (t === 'enable') {
      if (this.msix?.hostVectors) {
        this.log.once(`${this.name}:msi+msix`, `${this.name}: guest enabled MSI while MSI-X is enabled; MSI is not set up`);
        return;
      }
      this.intx?.disable();
      if (!this.msi!.enableHost()) this.intx?.enable();
    } else if (t === 'disable') {
      this.msi!.disableHost();
      if (!this.msix?.hostVectors) this.intx?.enable();
    }
  }

  private msixTransition(t: 'enable' | 'disable' | 'update'): void {
    if (t === 'enable') {
      if (this.msi?.hostVectors) {
        this.log.once(`${this.name}:msix+msi`, `${this.name}: guest enabled MSI-X while MSI is enabled; MSI-X is not set up`);
        return;
      }
      this.intx?.disable();
      if (!this.msix!.enableHost()) this.intx?.enable();
    } else if (t === 'disable') {
      this.msix!.disableHost();
      if (!this.msi?.hostVectors) this.intx?.enable();
    }
  }

  // ---- IrqHost ----------------------------------------------------------------------------------------

  /** The VMM's log, where file errors and interrupt events go. */
  get log(): VmmLog {
    return this.vmm.log;
  }

  eventfd(): Eventfd {
    return this.vmm.eventfd();
  }

  sendMsi(addressLo: number, addressHi: number, data: number): void {
    const f = this.fn_;
    if (f && f.alive) f.hw.interrupts.msi(addressLo >>> 0, addressHi >>> 0, data >>> 0, f);
  }

  setIntxLine(level: boolean): void {
    const f = this.fn_;
    if (f && f.alive) f.hw.interrupts.intx(f, level);
  }

  guestIntxDisabled(): boolean {
    return (this.physRead(PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE) !== 0;
  }

  /** The guest's interrupt controller took the EOI for this function's INTx: resample. */
  eoi(): boolean {
    return this.intx?.eoi() ?? false;
  }

  // ---- BARs ---------------------------------------------------------------------------------------------

  /** The BARs the guest has made decode (per its emulated Command and BAR registers), for address routing. */
  decodedBars(io: boolean): DecodedBar[] {
    if (this.closed) return [];
    const cmd = this.physRead(PCI_COMMAND, 2);
    return this.bars.decoded(io, cmd === 0xffff ? 0 : cmd);
  }

  /** Guest BAR read: MSI-X table and PBA from the emulation, the rest from the region (all-ones when closed). */
  barRead(_fn: PciFunction, bar: number, off: number, size: 1 | 2 | 4): number {
    const m = this.msix;
    if (m !== null) {
      if (m.inTable(bar, off)) return m.tableRead(off, size);
      if (m.inPba(bar, off)) return m.pbaRead(off, size);
    }
    const r = this.regions[bar];
    return r === null || this.closed ? ALL_ONES[size] : r.read(off, size);
  }

  /** Guest BAR write: MSI-X table and PBA to the emulation, the rest to the region (dropped when closed). */
  barWrite(_fn: PciFunction, bar: number, off: number, size: 1 | 2 | 4, value: number): void {
    const m = this.msix;
    if (m !== null) {
      if (m.inTable(bar, off)) {
        m.tableWrite(off, size, value);
        return;
      }
      if (m.inPba(bar, off)) {
        this.log.once(`${this.name}:pba-write`, `${this.name}: guest wrote the read-only MSI-X PBA; dropped`);
        return;
      }
    }
    if (bar === ROM_INDEX) return;
    const r = this.regions[bar];
    if (r !== null && !this.closed) r.write(off, size, value);
  }

  // ---- reset ----------------------------------------------------------------------------------------------

  /**
   * A reset of the guest's device (its FLR, a bus reset behind a guest bridge, a system reset), as
   * QEMU's vfio_pci_reset: interrupts off on the host, the device to D0 with decode and bus mastering
   * off, VFIO_DEVICE_RESET, BARs cleared in the config region, INTx set up again, and the VMM's
   * emulated registers, MSI-X table and PBA back to power-on.
   */
  reset(_fn: PciFunction | null, kind: ResetKind = 'flr'): void {
    if (this.closed) return;
    this.resets++;
    this.msix?.disableHost();
    this.msi?.disableHost();
    this.intx?.disable();
    if (this.pmCap && (this.physRead(this.pmCap + PCI_PM_CTRL, 2) & PCI_PM_CTRL_STATE_MASK) !== 0) {
      this.physWrite(this.pmCap + PCI_PM_CTRL, 2, this.physRead(this.pmCap + PCI_PM_CTRL, 2) & ~PCI_PM_CTRL_STATE_MASK);
    }
    this.physWrite(PCI_COMMAND, 2, this.physRead(PCI_COMMAND, 2) & ~(PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER));
    if (this.info.flags & VFIO.DEVICE_FLAGS_RESET) {
      try {
        this.client.reset();
      } catch (e) {
        this.fileError(`DEVICE_RESET (${kind})`, e);
      }
    } else {
      this.log.once(`${this.name}:noreset`, `${this.name}: the device has no reset method (no VFIO_DEVICE_FLAGS_RESET); ${kind} reset only clears the VMM's state`);
    }
    for (let i = 0; i < 6; i++) this.physWrite(PCI_BASE_ADDRESS_0 + 4 * i, 4, 0);
    const headerType = this.emu.read(PCI_HEADER_TYPE, 1); // the multi-function bit is the topology's
    this.emu.bytes.set(this.powerOn);
    this.emu.set(PCI_HEADER_TYPE, 1, headerType);
    this.msix?.resetTable();
    this.intx?.enable();
    this.fn_?.hw.decodeChanged();
  }

  // ---- the VMM's state of this device (migration) --------------------------------------------------------

  /** The VMM's state of this device (vmmDeviceState.ts), for the destination VMM. */
  captureState(): VmmDeviceState {
    return {
      configSize: this.configSize,
      emulated: this.emu.bytes.slice(),
      command: this.physRead(PCI_COMMAND, 2),
      cacheLine: this.physRead(PCI_CACHE_LINE_SIZE, 1),
      devctl: this.pcieCap ? this.physRead(this.pcieCap + PCI_EXP_DEVCTL, 2) : 0,
      intxAsserted: this.intx?.asserted ?? false,
      msixTable: this.msix ? this.msix.table.slice() : null,
      msixPba: this.msix ? this.msix.pba.slice() : null,
      msixWired: this.msix ? [...this.msix.wired] : [],
      msixHostVectors: this.msix?.hostVectors ?? 0,
    };
  }

  /**
   * Applies a migrated state (after the device's own data is loaded), as QEMU's vfio_pci_load_config:
   * the emulated registers, MSI-X table and PBA are taken over; BARs, cache line size, Device Control
   * and Command are written to the device file; the interrupt setup is made again on the host with
   * this VMM's eventfds (MSI with the enabled vectors, MSI-X on the vectors the source had wired,
   * else INTx), and an INTx the source held for the guest's EOI is held again.
   */
  applyState(s: VmmDeviceState): void {
    this.msix?.disableHost();
    this.msi?.disableHost();
    this.intx?.disable();
    const headerType = this.emu.read(PCI_HEADER_TYPE, 1);
    this.emu.bytes.set(s.emulated);
    this.emu.set(PCI_HEADER_TYPE, 1, headerType);
    if (this.msix && s.msixTable && s.msixPba) {
      this.msix.table.set(s.msixTable);
      this.msix.pba.set(s.msixPba);
    }
    for (let i = 0; i < 6; i++) {
      const reg = PCI_BASE_ADDRESS_0 + 4 * i;
      if (this.emu.touches(reg, 4)) this.physWrite(reg, 4, this.emu.read(reg, 4));
    }
    this.physWrite(PCI_CACHE_LINE_SIZE, 1, s.cacheLine);
    if (this.pcieCap) this.physWrite(this.pcieCap + PCI_EXP_DEVCTL, 2, s.devctl & 0x7fff);
    // MSI's per-vector mask goes to the device too (QEMU writes every guest config write through)
    if (this.msi?.perVectorMask) this.physWrite(this.msi.maskOff, 4, this.emu.read(this.msi.maskOff, 4));
    this.physWrite(PCI_COMMAND, 2, s.command);
    if (this.msi?.enabled) {
      if (!this.msi.enableHost()) this.intx?.enable();
    } else if (this.msix?.enabled) {
      this.msix.restoreHost(s.msixWired, s.msixHostVectors);
    } else if (this.intx) {
      this.intx.enable();
      if (s.intxAsserted) {
        this.intx.asserted = true;
        this.intx.update();
      }
    }
    this.fn_?.hw.decodeChanged();
    this.vmm.barsChanged(this);
  }

  // ---- teardown ----------------------------------------------------------------------------------------------

  /** Releases everything: interrupts off on the host (SET_IRQS count 0), eventfds, the BAR mappings, the device file. */
  close(): void {
    if (this.closed) return;
    this.msix?.disableHost();
    this.msi?.disableHost();
    this.intx?.disable();
    this.msix?.close();
    this.msi?.close();
    this.intx?.close();
    this.closed = true;
    for (const r of this.regions) r?.close();
    try {
      this.file.close();
    } catch (e) {
      this.fileError('close', e);
    }
  }

  /** The device file was closed (close()); accesses then read all-ones and writes are dropped. */
  get isClosed(): boolean {
    return this.closed;
  }
}

function hex(n: number, w: number): string {
  return n.toString(16).padStart(w, '0');
}
