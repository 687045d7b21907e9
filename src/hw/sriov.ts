import { L } from '../core/wasm.js';
import { formatBdf, parseBdf } from './bdf.js';
import { effectiveVfBarSize, setVfBarMasks } from './capabilities/sriov.js';
import { PCI_SRIOV_BAR, PCI_SRIOV_CTRL, PCI_SRIOV_CTRL_MSE, PCI_SRIOV_CTRL_VFE, PCI_SRIOV_NUM_VF, PCI_SRIOV_SYS_PGSIZE, PCI_SRIOV_VF_DID, PCI_SRIOV_VF_OFFSET, PCI_SRIOV_VF_STRIDE, PCI_EXT_CAP_SRIOV_SIZEOF } from './pciRegs.js';
import type { SriovCapabilityLayout } from './capabilities/sriov.js';
import type { ConfigBuilder } from './configBuilder.js';
import type { DeviceModel } from './deviceModel.js';
import type { EndpointLayout } from './endpointConfig.js';
import type { Hardware } from './hardware.js';
import type { PciBus } from './pciBus.js';
import { PciFunction } from './pciFunction.js';
import type { EndpointSpec } from './spec.js';

/** What a PF's device model supplies to build VF `index` (0-based; the VF number is index + 1). */
export interface VfBlueprint {
  /** the VF's own config space; its IDs, Command and BARs are overridden as SR-IOV requires */
  spec: EndpointSpec;
  model: DeviceModel;
  /** adds device-model capabilities (MSI-X in a VF BAR, vendor capabilities ...) */
  extra?: (b: ConfigBuilder, layout: EndpointLayout) => void;
  init?: (vf: VirtualFunction, layout: EndpointLayout) => void;
}

/** The PF device model's side of SR-IOV: it builds each VF and hears when VFs come and go. */
export interface VfProvider {
  createVf(index: number, sriov: Sriov): VfBlueprint;
  vfAdded?(vf: VirtualFunction): void;
  vfRemoved?(vf: VirtualFunction): void;
}

/**
 * An SR-IOV Virtual Function (SR-IOV 1.1 chapter 3): a type 0 function without BAR registers of its
 * own (they read zero and ignore writes); its memory space is VF BAR n of the PF's SR-IOV capability
 * plus index * (one VF's BAR size), decoding while the PF's VF MSE bit is set. Its own Command Memory
 * Space Enable is read-only zero. `vendorId`/`deviceId` hold the IDs it is known by (the PF's vendor,
 * the VF Device ID); its config registers read 0xffff there, as VF hardware does.
 */
export class VirtualFunction extends PciFunction {
  constructor(
    hw: Hardware,
    bdf: string,
    bus: PciBus,
    device: number,
    fn: number,
    model: DeviceModel,
    slot: number,
    /** The SR-IOV state of the PF this VF belongs to. */
    readonly sriov: Sriov,
    /** 0-based position among the PF's VFs */
    readonly index: number,
  ) {
    super(hw, bdf, bus, device, fn, model, slot);
    this.isVirtfn = true;
    this.physfn = sriov.pf;
  }

  /** The SR-IOV VF number (1-based), which is also the member id of the virtio SR-IOV group. */
  get vfNumber(): number {
    return this.index + 1;
  }

  /** A VF's BAR kind comes from the PF's SR-IOV VF BAR registers (VFs have no BARs of their own; the ROM is absent). */
  override barKind(bar: number): number {
    return bar >= 0 && bar < 6 ? this.sriov.vfBarKind(bar) : L.BAR_NONE;
  }

  /** A VF's BAR size: one VF's share of the PF's VF BAR, rounded up to the System Page Size. */
  override barSize(bar: number): number {
    return bar >= 0 && bar < 6 ? this.sriov.vfBarSize(bar) : 0;
  }

  /** A VF's BAR address: the PF's VF BAR base plus index times the per-VF size (-1 when unplaced). */
  override barBase(bar: number): number {
    const first = bar >= 0 && bar < 6 ? this.sriov.vfBarBase(bar) : -1;
    return first < 0 ? -1 : first + this.index * this.sriov.vfBarSize(bar);
  }

  /** A VF BAR decodes when VF Enable and VF MSE are set in the PF's SR-IOV Control (the VF's own Command does not matter). */
  override barDecodes(bar: number): boolean {
    const k = this.barKind(bar);
    return (k === L.BAR_MEM32 || k === L.BAR_MEM64) && this.alive && this.sriov.memoryEnabled;
  }
}

/**
 * A PF's SR-IOV state machine behind its capability: VF Enable with NumVFs > 0 makes VFs appear in the
 * topology at routing ID = PF RID + First VF Offset + VF Stride * i; clearing VF Enable (or a reset of
 * the PF) removes them and frees their slots. NumVFs and System Page Size only change while VF Enable
 * is clear (SR-IOV 3.3.7, 3.3.13: writes while it is set are undefined; here they are ignored), and
 * NumVFs never exceeds TotalVFs (a larger value is ignored). A VF whose routing ID falls outside the
 * PF's bus or on an address already taken is not created; `conflicts` says which.
 */
export class Sriov {
  /** Config offset of the PF's SR-IOV extended capability. */
  readonly cap: number;
  /** TotalVFs: the most VFs the PF can enable. */
  readonly totalVfs: number;
  /** The VFs that exist now, in VF number order (empty while VF Enable is clear). */
  vfs: VirtualFunction[] = [];
  /** Why VFs could not be created at the last enable (routing ID off the bus, or an address taken). */
  conflicts: string[] = [];
  private enabled = false;
  private acceptedNumVfs = 0;
  private acceptedPageSize = 1;
  private readonly layout: SriovCapabilityLayout;

  constructor(
    /** The physical function owning the capability. */
    readonly pf: PciFunction,
    layout: SriovCapabilityLayout,
    private readonly provider: VfProvider,
  ) {
    this.layout = layout;
    this.cap = layout.offset;
    this.totalVfs = layout.totalVfs;
  }

  private rd(reg: number, size: 1 | 2 | 4): number {
    const a = this.pf.base + this.cap + reg;
    const mem = this.pf.mem;
    return size === 4 ? mem.u32[a >>> 2] : size === 2 ? mem.u16[a >>> 1] : mem.u8[a];
  }

  /** SR-IOV Control register (PCI_SRIOV_CTRL: VF Enable, VF MSE, ARI Capable Hierarchy ...). */
  get control(): number {
    return this.rd(PCI_SRIOV_CTRL, 2);
  }
  /** NumVFs register (PCI_SRIOV_NUM_VF) as software last wrote it. */
  get numVfs(): number {
    return this.rd(PCI_SRIOV_NUM_VF, 2);
  }
  /** First VF Offset (PCI_SRIOV_VF_OFFSET): routing ID distance from the PF to VF 1. */
  get firstVfOffset(): number {
    return this.rd(PCI_SRIOV_VF_OFFSET, 2);
  }
  /** VF Stride (PCI_SRIOV_VF_STRIDE): routing ID distance between consecutive VFs. */
  get vfStride(): number {
    return this.rd(PCI_SRIOV_VF_STRIDE, 2);
  }
  /** VF Device ID (PCI_SRIOV_VF_DID): the Device ID every VF reports. */
  get vfDeviceId(): number {
    return this.rd(PCI_SRIOV_VF_DID, 2);
  }
  /** VF Enable as the function acted on it */
  get vfEnabled(): boolean {
    return this.enabled;
  }
  /** VF MSE: the VFs' memory space decodes (while the PF is present and in D0) */
  get memoryEnabled(): boolean {
    return this.pf.alive && this.pf.powerState === 0 && (this.control & (PCI_SRIOV_CTRL_MSE | PCI_SRIOV_CTRL_VFE)) === (PCI_SRIOV_CTRL_MSE | PCI_SRIOV_CTRL_VFE);
  }
  /** System Page Size in bytes (the lowest written page-size bit) */
  get pageSize(): number {
    return 4096 * lowestBit(this.acceptedPageSize);
  }

  /** PF routing ID (bus << 8 | devfn) */
  get pfRoutingId(): number {
    const a = parseBdf(this.pf.bdf);
    return (a.bus << 8) | (a.device << 3) | a.fn;
  }

  /** Routing ID of VF `index` (0-based), from First VF Offset and VF Stride. */
  routingId(index: number): number {
    return this.pfRoutingId + this.firstVfOffset + this.vfStride * index;
  }

  /** The BDF VF `index` (0-based) has or would have, from its routing ID. */
  vfBdf(index: number): string {
    const rid = this.routingId(index);
    return formatBdf(0, rid >> 8, (rid >> 3) & 31, rid & 7);
  }

  /** The VF with VF number `n` (1-based), if enabled. */
  vf(n: number): VirtualFunction | undefined {
    return this.vfs.find((v) => v.vfNumber === n);
  }

  /** Kind of VF BAR `bar` (0-5) as the wasm core encodes it; the upper half of a 64-bit BAR is BAR_MEM64_HI. */
  vfBarKind(bar: number): number {
    const spec = this.layout.vfBars[bar];
    if (spec) return spec.kind === 'mem64' ? L.BAR_MEM64 : L.BAR_MEM32;
    return bar > 0 && this.layout.vfBars[bar - 1]?.kind === 'mem64' ? L.BAR_MEM64_HI : L.BAR_NONE;
  }

  /** One VF's BAR size (rounded up to the System Page Size); 0 if VF BAR `bar` is not implemented. */
  vfBarSize(bar: number): number {
    const spec = this.layout.vfBars[bar];
    return spec ? effectiveVfBarSize(spec, this.pageSize) : 0;
  }

  /** The address programmed into VF BAR `bar` (VF 0's BAR), -1 if not implemented. */
  vfBarBase(bar: number): number {
    const spec = this.layout.vfBars[bar];
    if (!spec) return -1;
    const lo = this.rd(PCI_SRIOV_BAR + 4 * bar, 4) & 0xfffffff0;
    const hi = spec.kind === 'mem64' ? this.rd(PCI_SRIOV_BAR + 4 * bar + 4, 4) : 0;
    return hi * 2 ** 32 + (lo >>> 0);
  }

  /** Whether a config write at [off, off+size) touched the capability. */
  covers(off: number, size: number): boolean {
    return off < this.cap + PCI_EXT_CAP_SRIOV_SIZEOF && this.cap < off + size;
  }

  /** Runs the effects of a config write that touched Control, NumVFs or System Page Size. */
  configWritten(off: number, size: number): void {
    const touches = (reg: number, len: number) => off < this.cap + reg + len && this.cap + reg < off + size;
    if (touches(PCI_SRIOV_NUM_VF, 2)) {
      const n = this.numVfs;
      if (this.enabled || n > this.totalVfs) this.pf.setRegister(this.cap + PCI_SRIOV_NUM_VF, 2, this.acceptedNumVfs);
      else this.acceptedNumVfs = n;
    }
    if (touches(PCI_SRIOV_SYS_PGSIZE, 4)) {
      const ps = this.rd(PCI_SRIOV_SYS_PGSIZE, 4);
      if (this.enabled || ps === 0) {
        this.pf.setRegister(this.cap + PCI_SRIOV_SYS_PGSIZE, 4, this.acceptedPageSize);
      } else {
        this.acceptedPageSize = ps;
        setVfBarMasks(this.pf.core, this.pf.slot, this.cap, this.layout.vfBars, this.pageSize);
        this.pf.hw.decodeChanged();
      }
    }
    if (touches(PCI_SRIOV_CTRL, 2)) this.sync();
  }

  /**
   * Makes the VFs match VF Enable (after a Control write, or after a PF reset put the capability
   * back to its power-on values).
   */
  sync(): void {
    const vfe = (this.control & PCI_SRIOV_CTRL_VFE) !== 0;
    if (vfe && !this.enabled) this.enable();
    else if (!vfe && this.enabled) this.disable();
    this.pf.hw.decodeChanged();
  }

  /** The PF was reset: the capability is at its power-on values again, and so is this state. */
  reset(): void {
    this.acceptedNumVfs = this.numVfs;
    this.acceptedPageSize = this.rd(PCI_SRIOV_SYS_PGSIZE, 4) || 1;
    setVfBarMasks(this.pf.core, this.pf.slot, this.cap, this.layout.vfBars, this.pageSize);
    this.sync();
  }

  private enable(): void {
    this.enabled = true;
    this.conflicts = [];
    const n = Math.min(this.acceptedNumVfs, this.totalVfs);
    const pfBus = parseBdf(this.pf.bdf).bus;
    for (let i = 0; i < n; i++) {
      const bdf = this.vfBdf(i);
      if (this.routingId(i) >> 8 !== pfBus || this.routingId(i) > 0xffff) {
        this.conflicts.push(`VF ${i + 1} at routing ID 0x${this.routingId(i).toString(16)} is not on the PF's bus`);
        continue;
      }
      if (this.pf.hw.function(bdf) !== undefined) {
        this.conflicts.push(`VF ${i + 1} at ${bdf}: the address is taken by another function`);
        continue;
      }
      const bp = this.provider.createVf(i, this);
      const vf = this.pf.hw.addFunction<VirtualFunction>(
        bdf,
        bp.spec,
        bp.model,
        (b, layout) => {
          bp.extra?.(b, layout);
          vfHeader(b);
        },
        (f, layout) => {
          f.vendorId = this.pf.vendorId;
          f.deviceId = this.vfDeviceId;
          bp.init?.(f, layout);
        },
        (hw, at, bus, device, fn, model, slot) => new VirtualFunction(hw, at, bus, device, fn, model, slot, this, i),
      );
      this.vfs.push(vf);
      this.provider.vfAdded?.(vf);
    }
  }

  private disable(): void {
    this.enabled = false;
    const gone = this.vfs;
    this.vfs = [];
    for (const vf of gone) {
      this.pf.hw.detachFunction(vf.bdf);
      this.provider.vfRemoved?.(vf);
    }
  }
}

/**
 * The header fields SR-IOV fixes for every VF (SR-IOV 1.1 3.4.1): Vendor and Device ID read 0xffff,
 * Command keeps only Bus Master Enable writable (I/O and Memory Space Enable, INTx Disable are
 * read-only zero; VF memory decode is the PF's VF MSE), no BARs, no INTx pin.
 */
function vfHeader(b: ConfigBuilder): void {
  b.reg(0x00, 2, 0xffff);
  b.reg(0x02, 2, 0xffff);
  b.reg(0x04, 2, 0, 0x0004, 0, L.EV_COMMAND);
  for (let i = 0; i < 6; i++) b.reg(0x10 + 4 * i, 4, 0);
  b.reg(0x3d, 1, 0);
}

function lowestBit(x: number): number {
  x >>>= 0;
  return x === 0 ? 1 : (x & -x) >>> 0;
}
