import { L } from '../core/wasm.js';
import type { Core, CoreMemory } from '../core/wasm.js';
import type { DeviceModel } from './deviceModel.js';
import type { Hardware } from './hardware.js';
import {
  PCI_COMMAND, PCI_COMMAND_INTX_DISABLE, PCI_EXP_DEVCAP, PCI_EXP_DEVCAP_FLR, PCI_EXP_DEVCTL, PCI_INTERRUPT_PIN,
  PCI_MSI_FLAGS, PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE, PCI_MSI_FLAGS_ENABLE, PCI_PM_CTRL, PCI_PM_CTRL_NO_SOFT_RESET,
  PCI_PM_CTRL_STATE_MASK, PCI_PM_PMC, PCI_ROM_ADDRESS, PCI_STATUS, PCI_STATUS_INTERRUPT, PCI_PM_CAP_PME_MASK,
  PCI_PM_CAP_PME_SHIFT, PCI_PM_CTRL_PME_ENABLE, PCI_PM_CTRL_PME_STATUS,
  PCI_ERR_ROOT_COMMAND, PCI_ERR_UNCOR_STATUS, PCI_EXP_LNKCTL, PCI_EXP_LNKCTL2, PCI_EXT_CAP_ID_ERR,
  PCI_COMMAND_SERR, PCI_ERR_COR_MASK, PCI_ERR_COR_STATUS, PCI_ERR_UNCOR_MASK, PCI_ERR_UNCOR_SEVER, PCI_ERR_UNC_UNSUP,
  PCI_EXP_DEVCTL_CERE, PCI_EXP_DEVCTL_FERE, PCI_EXP_DEVCTL_NFERE, PCI_EXP_DEVCTL_URRE, PCI_EXP_DEVSTA, PCI_EXP_DEVSTA_CED,
  PCI_EXP_DEVSTA_FED, PCI_EXP_DEVSTA_NFED, PCI_EXP_DEVSTA_URD, PCI_STATUS_SIG_SYSTEM_ERROR,
} from './pciRegs.js';
import type { AerSeverity } from './interrupts.js';
import { AER_COR_BITS, AER_UNCOR_BITS } from './capabilities/aer.js';
import type { PciBus } from './pciBus.js';

/** Where MSI-X replay borrows the scratch buffer (after the areas bulk scans use). */
const MSIX_REPLAY_SCRATCH = 0xf000;

export type ResetKind = 'flr' | 'pm' | 'bus' | 'power';

/** Where the MSI-X table and PBA sit (from the capability; fixed for the function's life). */
export interface MsixPlacement {
  tableBar: number;
  tableOffset: number;
  tableBytes: number;
  pbaBar: number;
  pbaOffset: number;
  pbaBytes: number;
}

/** One decoding BAR: index (ROM = 6), base address and size in bytes. */
export interface DecodedBar {
  bar: number;
  base: number;
  size: number;
}

/** Value of the byte at config offset `target` inside a write of `size` bytes at `off`, or -1. */
export function writtenByte(off: number, size: number, value: number, target: number): number {
  const i = target - off;
  return i >= 0 && i < size ? (value >>> (8 * i)) & 0xff : -1;
}

/**
 * One PCI function: its slot in the wasm core (config registers and masks), its place on a bus, and
 * the side effects of config writes (decode changes, MSI/MSI-X replay, power states, FLR).
 */
export class PciFunction {
  /** The wasm core of the emulator this function belongs to (`core.raw` exports, `core.mem` views). */
  declare readonly core: Core;
  /** `core.mem`, one property load away for the hot paths. */
  declare readonly mem: CoreMemory;
  /** Index of this function's slot (config registers, masks, BAR state) in the wasm core. */
  readonly slot: number;
  /** Address of the slot's base block in the core's memory (unsigned; index views with >>>). */
  readonly base: number;
  /** Vendor ID (PCI_VENDOR_ID) the model gave the function; cached from config space for quick matching. */
  vendorId: number;
  /** Device ID (PCI_DEVICE_ID) the model gave the function; cached from config space for quick matching. */
  deviceId: number;
  /** True for an SR-IOV virtual function (Linux pci_dev.is_virtfn). */
  isVirtfn = false;
  /** An SR-IOV VF's physical function (null for every other function). */
  physfn: PciFunction | null = null;
  /** True for a PCI-to-PCI bridge (header type 1); Bridge overrides it. */
  readonly isBridge: boolean = false;
  /**
   * True when every BAR access goes to the model as it is (the VMM's passthrough function: its
   * backend serves MSI-X and the rest), so the address map may call the model without this class.
   */
  readonly barsToModel: boolean = false;
  /**
   * Config dword (4-aligned offset) whose reads the model answers through DeviceModel.configRead,
   * for registers whose reads have side effects (virtio's pci_cfg_data); -1 = none.
   */
  readTrap = -1;
  /** D-state from PMCSR (0 = D0, 3 = D3hot). */
  powerState = 0;
  /** The device drives its INTx pin (before INTx Disable gating). */
  intxLevel = false;
  private intxLine = false;
  /** Where the MSI-X table and PBA sit, from the MSI-X capability; null without MSI-X. */
  msix: MsixPlacement | null = null;
  /** Expansion ROM contents, when the function has one. */
  rom: Uint8Array | null = null;
  /** Config offset of the Expansion ROM BAR: 0x30 for type 0 headers (PCI_ROM_ADDRESS), 0x38 for bridges. */
  readonly romReg: number = PCI_ROM_ADDRESS;
  private removed = false;

  constructor(
    /** The hardware (buses, memory, interrupt sink) this function is plugged into. */
    readonly hw: Hardware,
    /** Bus/device/function address as Linux prints it, e.g. "0000:00:03.0". */
    readonly bdf: string,
    /** The bus the function sits on. */
    readonly bus: PciBus,
    /** Device (slot) number on the bus, 0-31. */
    readonly device: number,
    /** Function number within the device, 0-7. */
    readonly fn: number,
    /** The device model that answers BAR accesses and config side effects for this function. */
    public model: DeviceModel,
    slot: number,
  ) {
    // not enumerable: deep equality and printing of a function (test assertions) stay off the core
    Object.defineProperty(this, 'core', { value: hw.core, enumerable: false });
    Object.defineProperty(this, 'mem', { value: hw.core.mem, enumerable: false });
    this.slot = slot;
    this.base = this.mem.base(slot);
    this.vendorId = 0;
    this.deviceId = 0;
  }

  /** Device and function packed as in Linux's PCI_DEVFN (device << 3 | fn). */
  get devfn(): number {
    return (this.device << 3) | this.fn;
  }

  /** False once the function is hot-removed from its bus; a removed function must not be used. */
  get alive(): boolean {
    return !this.removed;
  }

  // ---- config space, hardware semantics ------------------------------------------------------

  /** Hardware config read; the caller has validated offset and size. */
  configRead(off: number, size: 1 | 2 | 4): number {
    if ((off & ~3) === this.readTrap) return this.model.configRead!(this, off, size) >>> 0;
    const a = this.base + off;
    if (size === 4) return this.mem.u32[a >>> 2];
    if (size === 2) return this.mem.u16[a >>> 1];
    return this.mem.u8[a];
  }

  /** Hardware config write; the caller has validated offset and size. */
  configWrite(off: number, size: 1 | 2 | 4, value: number): void {
    const ev = this.core.raw.cfgWrite(this.slot, off, size, value);
    if (ev !== 0) this.applyConfigEvents(ev, off, size, value);
  }

  /**
   * Runs the side effects of a config write that already reached the registers through the core
   * (raw.cfgWrite or raw.vfioCfgWrite): `ev` is the OR of the EV_* classes it reported, `value` the
   * value the hardware saw. Both write paths end here, so hardware behaves the same whoever wrote.
   */
  applyConfigEvents(ev: number, off: number, size: 1 | 2 | 4, value: number): void {
    this.configSideEffects(ev, off, size, value);
  }

  /** Device-internal register update that bypasses the write masks (status bits, pending bits). */
  setRegister(off: number, size: 1 | 2 | 4, value: number): void {
    const a = this.base + off;
    if (size === 4) this.mem.u32[a >>> 2] = value;
    else if (size === 2) this.mem.u16[a >>> 1] = value;
    else this.mem.u8[a] = value;
  }

  /** The function records an error condition in Status (e.g. Received Master Abort after a failed DMA). */
  signalStatus(bits: number): void {
    this.setRegister(PCI_STATUS, 2, this.configRead(PCI_STATUS, 2) | (bits & 0xf900));
  }

  /** Config offset of a standard capability the core located at build time (a META field such as M_MSI_CAP), 0 if absent. */
  capOffset(metaField: number): number {
    return this.mem.u16[(this.base + L.META + metaField) >>> 1];
  }

  /** Offset of the first extended capability with `id` (walking the list from 0x100), 0 if none. */
  extCapOffset(id: number): number {
    if (this.capOffset(L.M_PCIE_CAP) === 0) return 0;
    for (let off = 0x100, n = 0; off >= 0x100 && n < 960; n++) {
      const header = this.configRead(off, 4);
      if ((header & 0xffff) === id) return off;
      off = header >>> 20;
    }
    return 0;
  }

  /**
   * The function detects a PCIe error (PCIe r4.0 6.2.5, figure 6-2): `bit` of the AER Uncorrectable
   * Error Status register, or of the Correctable one with `correctable`. The AER status bit is set
   * (RW1C, sticky) and Device Status logs the severity whatever the AER masks say (7.5.3.5); a
   * masked error stops there. Otherwise the severity (Uncorrectable Error Severity register; without
   * AER, `fatal`) picks the message, which is sent when Device Control enables reporting it (or,
   * for uncorrectable ones, SERR# Enable, which also sets Signaled System Error): the hardware's
   * InterruptSink gets it through `aer`. Unsupported Request (bit 20) also sets UR Detected and is
   * reported only with UR Reporting Enable. Header log and First Error Pointer are not modelled.
   */
  reportAerError(bit: number, opts: { correctable?: boolean; fatal?: boolean } = {}): void {
    const mask = 1 << bit;
    const cor = !!opts.correctable;
    if (!Number.isInteger(bit) || bit < 0 || bit > 31 || ((cor ? AER_COR_BITS : AER_UNCOR_BITS) & mask) === 0) {
      throw new RangeError(`${this.bdf}: bit ${bit} is no ${cor ? 'correctable' : 'uncorrectable'} error an endpoint implements`);
    }
    const exp = this.capOffset(L.M_PCIE_CAP);
    if (exp === 0 || !this.alive) return; // conventional PCI signals SERR#/PERR#, not modelled
    const aer = this.extCapOffset(PCI_EXT_CAP_ID_ERR);
    let masked = false;
    let fatal = !cor && !!opts.fatal;
    if (aer !== 0) {
      const status = aer + (cor ? PCI_ERR_COR_STATUS : PCI_ERR_UNCOR_STATUS);
      this.setRegister(status, 4, (this.configRead(status, 4) | mask) >>> 0);
      masked = (this.configRead(aer + (cor ? PCI_ERR_COR_MASK : PCI_ERR_UNCOR_MASK), 4) & mask) !== 0;
      if (!cor) fatal = (this.configRead(aer + PCI_ERR_UNCOR_SEVER, 4) & mask) !== 0;
    }
    const ur = !cor && (mask >>> 0) === PCI_ERR_UNC_UNSUP;
    const severity: AerSeverity = cor ? 'correctable' : fatal ? 'fatal' : 'nonfatal';
    const sevBit = cor ? PCI_EXP_DEVSTA_CED : fatal ? PCI_EXP_DEVSTA_FED : PCI_EXP_DEVSTA_NFED;
    this.setRegister(exp + PCI_EXP_DEVSTA, 2, this.configRead(exp + PCI_EXP_DEVSTA, 2) | sevBit | (ur ? PCI_EXP_DEVSTA_URD : 0));
    if (masked) return;
    const devctl = this.configRead(exp + PCI_EXP_DEVCTL, 2);
    if (ur && (devctl & PCI_EXP_DEVCTL_URRE) === 0) return;
    let send: boolean;
    if (cor) send = (devctl & PCI_EXP_DEVCTL_CERE) !== 0;
    else {
      const serr = (this.configRead(PCI_COMMAND, 2) & PCI_COMMAND_SERR) !== 0;
      if (serr) this.signalStatus(PCI_STATUS_SIG_SYSTEM_ERROR);
      send = serr || (devctl & (fatal ? PCI_EXP_DEVCTL_FERE : PCI_EXP_DEVCTL_NFERE)) !== 0;
    }
    if (send) this.hw.interrupts.aer?.(this, severity);
  }

  /**
   * The function asks to be woken (PCI PM 1.2 3.2.3-3.2.4, PCIe r4.0 5.3.3.2): when PMC's
   * PME_Support has a bit for its current D-state, PME_Status is set whatever PME_En says; when
   * PME_En is set too, the PME message (PM_PME on PCIe, PME# on conventional PCI) goes to the
   * hardware's InterruptSink through `pme`. A function without PME support from that state, or one
   * that is gone, does nothing. Returns whether the message was sent. Not modelled: PCIe's re-send
   * of PM_PME while PME_Status stays set, and PME# asserting when PME_En is set later with
   * PME_Status still pending (Linux clears PME_Status in the write that sets PME_En).
   */
  raisePme(): boolean {
    const cap = this.capOffset(L.M_PM_CAP);
    if (cap === 0 || !this.alive) return false;
    const support = (this.configRead(cap + PCI_PM_PMC, 2) & PCI_PM_CAP_PME_MASK) >>> PCI_PM_CAP_PME_SHIFT;
    if ((support & (1 << this.powerState)) === 0) return false;
    const csr = this.configRead(cap + PCI_PM_CTRL, 2);
    this.setRegister(cap + PCI_PM_CTRL, 2, csr | PCI_PM_CTRL_PME_STATUS);
    if ((csr & PCI_PM_CTRL_PME_ENABLE) === 0) return false;
    this.hw.interrupts.pme?.(this);
    return true;
  }

  protected configSideEffects(ev: number, off: number, size: 1 | 2 | 4, value: number): void {
    if (ev & (L.EV_COMMAND | L.EV_BAR)) this.hw.decodeChanged();
    if (ev & (L.EV_COMMAND | L.EV_MSI | L.EV_MSIX)) this.updateIntxLine();
    if (ev & L.EV_MSI) this.msiWritten();
    if (ev & L.EV_MSIX) this.replayMsix();
    if (ev & L.EV_PM) this.pmWritten();
    if (ev & L.EV_PCIE) this.pcieWritten(off, size, value);
    if (ev & L.EV_DEVICE) this.model.configWritten?.(this, off, size, value);
  }

  private pmWritten(): void {
    const cap = this.capOffset(L.M_PM_CAP);
    const pmcsr = this.configRead(cap + PCI_PM_CTRL, 2);
    let next = pmcsr & PCI_PM_CTRL_STATE_MASK;
    const pmc = this.configRead(cap + PCI_PM_PMC, 2);
    const supported = next === 0 || next === 3 || (next === 1 && (pmc & 0x0200) !== 0) || (next === 2 && (pmc & 0x0400) !== 0);
    if (!supported) {
      // PCI PM 1.2: a write of an unsupported state completes but changes nothing
      next = this.powerState;
      this.setRegister(cap + PCI_PM_CTRL, 2, (pmcsr & ~PCI_PM_CTRL_STATE_MASK) | next);
    }
    const prev = this.powerState;
    this.powerState = next;
    if (prev === 3 && next === 0 && (pmcsr & PCI_PM_CTRL_NO_SOFT_RESET) === 0) {
      this.reset('pm');
      return;
    }
    if (prev !== next) this.hw.decodeChanged();
  }

  private pcieWritten(off: number, size: number, value: number): void {
    const cap = this.capOffset(L.M_PCIE_CAP);
    const hi = writtenByte(off, size, value, cap + PCI_EXP_DEVCTL + 1);
    if (hi >= 0 && (hi & 0x80) !== 0 && (this.configRead(cap + PCI_EXP_DEVCAP, 4) & PCI_EXP_DEVCAP_FLR) !== 0) {
      this.reset('flr');
    }
  }

  /** The function supports Function Level Reset (PCIe Device Capabilities FLR bit, Linux pcie_has_flr). */
  get hasFlr(): boolean {
    const cap = this.capOffset(L.M_PCIE_CAP);
    return cap !== 0 && (this.configRead(cap + PCI_EXP_DEVCAP, 4) & PCI_EXP_DEVCAP_FLR) !== 0;
  }

  /** Back to the power-on state: config registers, MSI-X table and PBA, the model's own state. */
  reset(kind: ResetKind): void {
    const keep = kind === 'power' ? [] : this.preservedAcrossReset(kind);
    const kept = keep.map(([off, mask]) => this.configRead(off, 2) & mask);
    this.core.raw.slotReset(this.slot);
    keep.forEach(([off, mask], i) => this.setRegister(off, 2, (this.configRead(off, 2) & ~mask) | kept[i]));
    this.powerState = 0;
    this.intxLevel = false;
    this.updateIntxLine();
    this.model.reset?.(this);
    this.hw.decodeChanged();
  }

  /**
   * Config bits a reset leaves alone, as [word offset, mask] (PCIe r4.0 7.4, 6.6.2): sticky bits (RWS,
   * RW1CS, ROS: the AER registers, Link Control 2) are not touched by hot reset, FLR or the D3hot->D0
   * soft reset; FLR also keeps Max_Payload_Size and the Link Control settings (ASPM Control, RCB,
   * Common Clock Configuration, Extended Synch, Clock PM, HW Autonomous Width Disable). PMCSR's
   * PME_En and PME_Status would be sticky only with PME support from D3cold (PCI PM 1.2 3.2.4),
   * which no function here offers, so every reset clears them.
   */
  private preservedAcrossReset(kind: ResetKind): [number, number][] {
    const out: [number, number][] = [];
    const exp = this.capOffset(L.M_PCIE_CAP);
    if (exp !== 0) {
      // Link Control 2 exists from capability version 2 on; in a v1 capability that offset is someone else's
      if ((this.configRead(exp + 2, 2) & 0xf) > 1) out.push([exp + PCI_EXP_LNKCTL2, 0xffff]);
      if (kind === 'flr') out.push([exp + PCI_EXP_DEVCTL, 0x00e0], [exp + PCI_EXP_LNKCTL, 0x03cb]);
      const aer = this.extCapOffset(PCI_EXT_CAP_ID_ERR);
      if (aer !== 0) for (let r = PCI_ERR_UNCOR_STATUS; r < PCI_ERR_ROOT_COMMAND; r += 2) out.push([aer + r, 0xffff]);
    }
    return out;
  }

  // ---- BARs ------------------------------------------------------------------------------------

  /** Kind of BAR `bar` (0-5, ROM = 6) as the wasm core encodes it (unimplemented, I/O or memory). */
  barKind(bar: number): number {
    return this.core.raw.barKind(this.slot, bar);
  }
  /** Size in bytes of BAR `bar` (0-5, ROM = 6); 0 when unimplemented. */
  barSize(bar: number): number {
    return this.core.raw.barSize(this.slot, bar);
  }
  /** Base address currently programmed into BAR `bar` (0-5, ROM = 6). */
  barBase(bar: number): number {
    return this.core.raw.barBase(this.slot, bar, this.romReg);
  }
  /** BAR `bar` decodes right now: its space is enabled in Command (and the ROM enable bit is set for the ROM). */
  barDecodes(bar: number): boolean {
    return this.core.raw.barDecodes(this.slot, bar, this.romReg) !== 0;
  }

  /** The BARs (0-5, ROM = 6) of one space that decode right now, with their address ranges. */
  decodedBars(io: boolean): DecodedBar[] {
    const out: DecodedBar[] = [];
    for (let bar = 0; bar <= L.ROM_INDEX; bar++) {
      if (!this.barDecodes(bar) || (this.barKind(bar) === L.BAR_IO) !== io) continue;
      out.push({ bar, base: this.barBase(bar), size: this.barSize(bar) });
    }
    return out;
  }

  /** A memory or I/O access that routing sent to BAR `bar` at `offset` (the ROM is index 6). */
  barRead(bar: number, offset: number, size: 1 | 2 | 4): number {
    const m = this.msix;
    if (m !== null) {
      if (bar === m.tableBar && offset >= m.tableOffset && offset < m.tableOffset + m.tableBytes) {
        return this.core.raw.msixTableRead(this.slot, offset - m.tableOffset, size) >>> 0;
      }
      if (bar === m.pbaBar && offset >= m.pbaOffset && offset < m.pbaOffset + m.pbaBytes) {
        return this.core.raw.msixPbaRead(this.slot, offset - m.pbaOffset, size) >>> 0;
      }
    }
    if (bar === L.ROM_INDEX) return this.romRead(offset, size);
    return this.model.barRead(this, bar, offset, size) >>> 0;
  }

  /** Hardware write of `size` bytes at `offset` in BAR `bar`: MSI-X table writes are handled here, the rest goes to the model. */
  barWrite(bar: number, offset: number, size: 1 | 2 | 4, value: number): void {
    const m = this.msix;
    if (m !== null) {
      if (bar === m.tableBar && offset >= m.tableOffset && offset < m.tableOffset + m.tableBytes) {
        if (this.core.raw.msixTableWrite(this.slot, offset - m.tableOffset, size, value) !== 0) this.replayMsix();
        return;
      }
      if (bar === m.pbaBar && offset >= m.pbaOffset && offset < m.pbaOffset + m.pbaBytes) return; // PBA is read-only
    }
    if (bar === L.ROM_INDEX) return; // ROM
    this.model.barWrite(this, bar, offset, size, value);
  }

  private romRead(offset: number, size: number): number {
    if (this.model.romRead) return this.model.romRead(this, offset, size as 1 | 2 | 4) >>> 0;
    const r = this.rom;
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = (v << 8) | (r !== null && offset + i < r.length ? r[offset + i] : 0);
    return v >>> 0;
  }

  // ---- interrupts --------------------------------------------------------------------------

  /** MSI Enable is set in the MSI capability's Message Control (Linux dev->msi_enabled). */
  get msiEnabled(): boolean {
    const cap = this.capOffset(L.M_MSI_CAP);
    return cap !== 0 && (this.configRead(cap + PCI_MSI_FLAGS, 2) & PCI_MSI_FLAGS_ENABLE) !== 0;
  }

  /** MSI-X Enable is set in the MSI-X capability's Message Control (Linux dev->msix_enabled). */
  get msixEnabled(): boolean {
    const cap = this.capOffset(L.M_MSIX_CAP);
    return cap !== 0 && (this.configRead(cap + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_ENABLE) !== 0;
  }

  /** Interrupt Pin register (PCI_INTERRUPT_PIN): 0 = no INTx, 1-4 = INTA-INTD. */
  get interruptPin(): number {
    return this.configRead(PCI_INTERRUPT_PIN, 1);
  }

  /**
   * The device signals interrupt `vector` the way it is set up: MSI-X if enabled, else MSI, else
   * INTx (asserted; the model deasserts with setIntx(false) when the cause is acknowledged).
   */
  signal(vector: number): void {
    if (this.powerState !== 0) return;
    if (this.msixEnabled) this.raiseMsix(vector);
    else if (this.msiEnabled) this.raiseMsi(vector);
    else this.setIntx(true);
  }

  /** Raises MSI `vector`: delivered now, or left pending while masked. */
  raiseMsi(vector: number): void {
    if (this.core.raw.msiRaise(this.slot, vector) === L.IRQ_DELIVER) this.sendMsi(vector);
  }

  /** Raises MSI-X `vector`: delivered now, or its PBA bit set while masked. */
  raiseMsix(vector: number): void {
    if (this.core.raw.msixRaise(this.slot, vector) === L.IRQ_DELIVER) this.sendMsix(vector);
  }

  private sendMsi(vector: number): void {
    const raw = this.core.raw;
    this.hw.interrupts.msi(raw.msiAddrLo(this.slot) >>> 0, raw.msiAddrHi(this.slot) >>> 0, raw.msiData(this.slot, vector) >>> 0, this);
  }

  private sendMsix(vector: number): void {
    const raw = this.core.raw;
    this.hw.interrupts.msi(raw.msixAddrLo(this.slot, vector) >>> 0, raw.msixAddrHi(this.slot, vector) >>> 0, raw.msixData(this.slot, vector) >>> 0, this);
  }

  private msiWritten(): void {
    const cap = this.capOffset(L.M_MSI_CAP);
    const ctl = this.configRead(cap + PCI_MSI_FLAGS, 2);
    const mmc = (ctl >> 1) & 7;
    // Multiple Message Enable may not exceed Multiple Message Capable: clamp it
    if (((ctl >> 4) & 7) > mmc) this.setRegister(cap + PCI_MSI_FLAGS, 2, (ctl & ~0x70) | (mmc << 4));
    for (let v = this.core.raw.msiNextPending(this.slot); v >= 0; v = this.core.raw.msiNextPending(this.slot)) this.sendMsi(v);
  }

  /** Sends every pending MSI-X vector that is no longer masked. */
  replayMsix(): void {
    // one wasm call takes every deliverable pending vector; scratch is only borrowed for the call
    const n = this.core.raw.msixTakePending(this.slot, MSIX_REPLAY_SCRATCH);
    if (n <= 0) return;
    const vecs = this.mem.u16.slice((L.SCRATCH + MSIX_REPLAY_SCRATCH) >>> 1, ((L.SCRATCH + MSIX_REPLAY_SCRATCH) >>> 1) + n);
    for (let i = 0; i < n; i++) this.sendMsix(vecs[i]);
  }

  /** Drives the INTx pin; Status.Interrupt follows the device, the line also honours INTx Disable. */
  setIntx(level: boolean): void {
    if (this.interruptPin === 0) return;
    this.intxLevel = level;
    const st = this.configRead(PCI_STATUS, 2);
    this.setRegister(PCI_STATUS, 2, level ? st | PCI_STATUS_INTERRUPT : st & ~PCI_STATUS_INTERRUPT);
    this.updateIntxLine();
  }

  private updateIntxLine(): void {
    const line = this.intxLevel && (this.configRead(PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE) === 0 && !this.msiEnabled && !this.msixEnabled;
    if (line !== this.intxLine) {
      this.intxLine = line;
      this.hw.interrupts.intx(this, line);
    }
  }

  /** The INTx line is asserted towards the interrupt controller (pin level gated by INTx Disable and MSI/MSI-X). */
  get intxAsserted(): boolean {
    return this.intxLine;
  }

  /** The INTx pin as seen at the root bus after the bridge swizzles: [root device number, pin 1-4]. */
  intxRoute(): [number, number] {
    let pin = this.interruptPin;
    let device = this.device;
    let bus = this.bus;
    while (bus.bridge !== null && pin !== 0) {
      pin = ((pin - 1 + device) % 4) + 1;
      device = bus.bridge.device;
      bus = bus.bridge.bus;
    }
    return [device, pin];
  }

  /**
   * Detaches the function (VF disable, hot removal): its slot is freed for the next function, and
   * this object moves to the shared dead slot (config space all-ones, nothing writable, no MSI-X), so
   * code still holding it reads an absent function and can never reach the slot's next owner.
   */
  markRemoved(): void {
    if (this.removed) return;
    if (this.intxLine) this.hw.interrupts.intx(this, false);
    this.intxLine = false;
    this.intxLevel = false;
    this.removed = true;
    this.readTrap = -1;
    this.msix = null;
    const freed = this.slot;
    const dead = this.mem.deadSlot();
    (this as { slot: number }).slot = dead;
    (this as { base: number }).base = this.mem.base(dead);
    this.mem.freeSlot(freed);
  }
}
