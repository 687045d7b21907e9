import { L } from '../../../../core/wasm.js';
import type { PciFunction } from '../../../../hw/pciFunction.js';
import {
  PCI_CAP_ID_EXP, PCI_CAPABILITY_LIST, PCI_CFG_SPACE_EXP_SIZE, PCI_CFG_SPACE_SIZE, PCI_COMMAND, PCI_COMMAND_INTX_DISABLE, PCI_COMMAND_IO,
  PCI_COMMAND_MEMORY, PCI_DEVICE_ID, PCI_INTERRUPT_PIN, PCI_STATUS, PCI_STATUS_CAP_LIST, PCI_VENDOR_ID,
} from '../../../../hw/pciRegs.js';
import { VfioError } from '../../vfioError.js';
import { BarVirtualizer } from './barVirt.js';
import type { HostBarResource, VconfigAccess } from './barVirt.js';
import { walkCapChains } from './capChain.js';
import type { ChainResult } from './capChain.js';
import type { ConfigReader } from './capLengths.js';
import * as R from './capRegs.js';
import type { VfioConfigHooks } from './hooks.js';
import { expandPerms, PCI_CAP_ID_BASIC, PCI_CAP_ID_INVALID } from './permTables.js';
import { nextChunk } from './rwChunks.js';

export interface VfioConfigOptions {
  /** the function is an SR-IOV VF (its IDs read 0xffff and it has no Command MEM bit) */
  isVirtfn: boolean;
  /** a VF's vendor/device IDs, which the PCI core took from its PF; default: the function's own */
  ids?: { vendor: number; device: number };
  /** INTx hidden from the user: pin reads 0, INTx Disable kept set on BAR restore (vdev->nointx) */
  nointx?: boolean;
  /**
   * pci_dev->resource[0..6] (BAR0-5, ROM) from the host PCI core: where the host assigned each BAR
   * and how big it is. Default: read from the hardware registers as they are at init().
   */
  resources?: readonly (HostBarResource | null | undefined)[];
  hooks: VfioConfigHooks;
}

const SIZES = [0, 1, 2, 0, 4];

/**
 * vfio_pci_config.c for one device: the user's view of config space (vconfig, perm bits) kept in
 * the function's wasm slot, reads and writes through the core's vfioCfgRead / vfioCfgWrite, and the
 * side effects of the registers the kernel handles specially (Command, BARs, PM, MSI, PCIe Device
 * Control, AF).
 *
 * Build with the device's hardware already enabled by the host (BARs assigned, as vfio-pci-core
 * does before vfio_config_init), then call init().
 */
export class VfioConfig implements VconfigAccess {
  readonly fn: PciFunction;
  readonly isVirtfn: boolean;
  readonly nointx: boolean;
  /** pdev->cfg_size: 4096 for a PCI Express function, 256 otherwise */
  readonly size: number;
  /** pdev->no_command_memory: VFs have no MEM bit; vconfig keeps the user's */
  readonly noCommandMemory: boolean;
  /** vdev->pci_config_map: capability ID owning each byte (0 header, 0xff unassigned) */
  readonly map: Uint8Array;
  readonly bars: BarVirtualizer;
  /** the capabilities the user sees, in chain order: [id, offset, length] */
  caps: [number, number, number][] = [];
  ecaps: [number, number, number][] = [];
  /** vdev->msi_qmax: log2 of the MSI vectors the user may enable */
  msiQmax = 0;
  /** vdev->virq_disabled: the user's INTx Disable, as last passed to hooks.intxMask */
  virqDisabled = false;
  private readonly hooks: VfioConfigHooks;
  private readonly ids: { vendor: number; device: number };
  private readonly resources: readonly (HostBarResource | null | undefined)[] | undefined;
  /** Max_Read_Request_Size in vconfig before the latest write (vfio_exp_config_write's readrq) */
  private readrq = 0;
  private initialized = false;

  constructor(fn: PciFunction, opts: VfioConfigOptions) {
    if (!opts || typeof opts !== 'object' || !opts.hooks) throw new TypeError('VfioConfig needs options with hooks');
    // vfio-pci drives type 0 functions only (vfio_pci_probe refuses other header types)
    if (fn.isBridge) throw new VfioError('EINVAL', `${fn.bdf} is a bridge: vfio config virtualization covers type 0 functions only`);
    this.fn = fn;
    this.isVirtfn = !!opts.isVirtfn;
    this.nointx = !!opts.nointx;
    this.noCommandMemory = this.isVirtfn;
    this.hooks = opts.hooks;
    this.ids = opts.ids ?? { vendor: fn.vendorId, device: fn.deviceId };
    this.resources = opts.resources;
    this.size = cfgSpaceSize(fn);
    this.map = new Uint8Array(this.size);
    this.bars = new BarVirtualizer(fn, this);
  }

  /**
   * The function's slot, read on every access: a function that leaves the hardware (hot removal,
   * VF disable) moves to an all-ones dead slot, and its old slot may already belong to another one.
   */
  get slot(): number {
    return this.fn.slot;
  }

  /**
   * The slot's vfio block (VCONFIG, VIRT, UWRITE, VEVMAP, VMETA), allocated by the core when vfio
   * first uses the function; looked up through the slot on every use, as the slot itself is.
   */
  /** vbase as init() found it: the block stays where it is until the function is removed */
  private vblock = 0;

  private get vbase(): number {
    return this.fn.mem.vfioBase(this.fn.slot);
  }

  private get vconfig(): number {
    return this.vbase + L.VCONFIG;
  }

  // ---- vfio_config_init ---------------------------------------------------------------------

  /**
   * Builds the config map and the perm bits into the slot and fills vconfig from hardware:
   * header, visible capabilities with the chain rewritten past hidden ones, VF IDs, the VF's
   * virtual MEM bit, the INTx pin hidden for VFs and nointx, PME hidden, BARs sized. MSI Message
   * Control is the hardware's (Multiple Message Capable included), as the real 6.1 reads it at open.
   */
  init(): void {
    const fn = this.fn;
    const base = this.vbase;
    this.vblock = base;
    const u8 = fn.mem.u8;
    u8.fill(0, base + L.VCONFIG, base + L.VCONFIG + L.CFG_SIZE);
    u8.fill(0, base + L.VIRT, base + L.VIRT + L.CFG_SIZE);
    u8.fill(0, base + L.UWRITE, base + L.UWRITE + L.CFG_SIZE);
    u8.fill(0, base + L.VEVMAP, base + L.VEVMAP + L.CFG_SIZE);

    const map = this.map;
    map.fill(PCI_CAP_ID_BASIC, 0, R.PCI_STD_HEADER_SIZEOF);
    map.fill(PCI_CAP_ID_INVALID, R.PCI_STD_HEADER_SIZEOF);
    const rd: ConfigReader = (off, size) => fn.configRead(off, size);
    for (let off = 0; off < R.PCI_STD_HEADER_SIZEOF; off += 4) this.vcWrite(off, 4, rd(off, 4));

    this.bars.record(this.resources);
    if (this.isVirtfn) {
      this.vcWrite(PCI_VENDOR_ID, 2, this.ids.vendor);
      this.vcWrite(PCI_DEVICE_ID, 2, this.ids.device);
      this.vcWrite(PCI_INTERRUPT_PIN, 1, 0); // SR-IOV: a VF's pin is read-only zero
    }
    if (this.noCommandMemory) this.vcWrite(PCI_COMMAND, 2, this.vcRead(PCI_COMMAND, 2) | PCI_COMMAND_MEMORY);
    if (this.nointx) this.vcWrite(PCI_INTERRUPT_PIN, 1, 0);

    const vcBytes = u8.subarray(base + L.VCONFIG, base + L.VCONFIG + L.CFG_SIZE);
    const chains: ChainResult = walkCapChains(rd, vcBytes, map, this.size);
    this.caps = chains.caps;
    this.ecaps = chains.ecaps;

    const perms = expandPerms(map, chains.msiPerm);
    if (this.noCommandMemory) perms.virt[PCI_COMMAND] |= PCI_COMMAND_MEMORY; // MEM comes from vconfig
    u8.set(perms.virt, base + L.VIRT);
    u8.set(perms.write, base + L.UWRITE);
    u8.set(perms.events, base + L.VEVMAP);

    this.bars.fixup();
    // vdev->msi_qmax is not in vconfig: 0 until vfio_msi_enable sets it, kept after disable (and
    // across a reopen: vfio-pci-core passes it on); it only clamps Multiple Message Enable on writes
    const exp = this.capStart(PCI_CAP_ID_EXP);
    this.readrq = exp >= 0 ? this.vcRead(exp + R.PCI_EXP_DEVCTL, 2) & R.PCI_EXP_DEVCTL_READRQ : 0;
    this.virqDisabled = false;
    this.initialized = true;
  }

  // ---- one naturally aligned piece ----------------------------------------------------------

  private check(off: number, size: number): void {
    if (!this.initialized) throw new VfioError('EIO', 'config virtualization used before init()');
    if (SIZES[size] !== size || size === 0) throw new VfioError('EINVAL', `config access size ${size} is not 1, 2 or 4`);
    if (!Number.isInteger(off) || off < 0 || off + size > this.size) {
      throw new VfioError('EFAULT', `config access of ${size} bytes at ${off} is outside the ${this.size}-byte config space`);
    }
    if ((off & (size - 1)) !== 0) throw new VfioError('EINVAL', `config access of ${size} bytes at ${off} is not naturally aligned`);
  }

  /** The user's view of `size` bytes at `off` (unsigned). */
  read(off: number, size: 1 | 2 | 4): number {
    this.check(off, size);
    return this.readAligned(off, size);
  }

  /**
   * read() for a caller that has already checked that the piece is naturally aligned and inside the
   * config size (the region read fast path); the wasm core still keeps it inside the slot.
   */
  readAligned(off: number, size: 1 | 2 | 4): number {
    if (!this.initialized) throw new VfioError('EIO', 'config virtualization used before init()');
    const fn = this.fn;
    if ((off & ~3) === fn.readTrap) return this.trappedRead(off, size);
    // the core's vfioCfgRead merge (hardware where not virtual, vconfig where virtual), done on the
    // typed arrays: this is every config read a VMM makes, and a wasm call costs more than the merge
    const a = fn.base + L.CFG + off;
    const v = this.vblock + off;
    const mem = fn.mem;
    if (size === 4) {
      const u32 = mem.u32;
      const m = u32[(v + L.VIRT) >>> 2];
      return ((u32[a >>> 2] & ~m) | (u32[(v + L.VCONFIG) >>> 2] & m)) >>> 0;
    }
    if (size === 2) {
      const u16 = mem.u16;
      const m = u16[(v + L.VIRT) >>> 1];
      return (u16[a >>> 1] & ~m) | (u16[(v + L.VCONFIG) >>> 1] & m);
    }
    const u8 = mem.u8;
    const m = u8[v + L.VIRT];
    return (u8[a] & ~m) | (u8[v + L.VCONFIG] & m);
  }

  /**
   * A register whose hardware read has side effects (the device traps it, like virtio's
   * pci_cfg_data window): the kernel's readfn reads hardware unless every bit is virtualized, so the
   * device sees the read exactly then.
   */
  private trappedRead(off: number, size: 1 | 2 | 4): number {
    const slot = this.fn.slot;
    const raw = this.fn.core.raw;
    if (raw.vfioCfgAllVirt(slot, off, size)) return raw.vfioCfgRead(slot, off, size) >>> 0;
    return raw.vfioCfgMerge(slot, off, size, this.fn.configRead(off, size)) >>> 0;
  }

  /**
   * A user write of `size` bytes at `off`. A piece that straddles a capability boundary is split
   * there, as the kernel never hands a writefn bytes of two capabilities.
   */
  write(off: number, size: 1 | 2 | 4, value: number): void {
    this.check(off, size);
    if (size > 1 && this.map[off] !== this.map[off + size - 1]) {
      const buf = new Uint8Array(size);
      for (let i = 0; i < size; i++) buf[i] = (value >>> (8 * i)) & 0xff;
      this.rw(off, buf, true);
      return;
    }
    this.writePiece(off, size, value >>> 0);
  }

  private readPiece(off: number, size: 1 | 2 | 4): number {
    return this.readAligned(off, size);
  }

  private writePiece(off: number, size: 1 | 2 | 4, value: number): void {
    if (off === PCI_COMMAND) this.commandPrecheck(value);
    const r = this.fn.core.raw.vfioCfgWrite(this.slot, off, size, value);
    if (r === 0) return;
    const hw = r & 0xff;
    if (hw !== 0) this.fn.applyConfigEvents(hw, off, size, this.fn.mem.u32[(this.vbase + L.VMETA + L.M_VFIO_HWVAL) >>> 2]);
    const vev = r >>> 8;
    if (vev !== 0) this.vfioEvents(vev, off, value);
  }

  // ---- vfio_pci_config_rw -------------------------------------------------------------------

  /**
   * A read or write of buf.length bytes at config offset `pos`, chopped into the pieces the kernel
   * uses (never across a capability boundary; 4, 2 or 1 bytes by alignment). Returns the bytes
   * done. EFAULT when the access does not fit the config space (as the kernel checks), EINVAL for
   * an offset that is not a non-negative integer.
   */
  rw(pos: number, buf: Uint8Array, isWrite: boolean): number {
    if (!(buf instanceof Uint8Array)) throw new VfioError('EFAULT', 'config access buffer is not a byte array');
    if (!Number.isSafeInteger(pos) || pos < 0) throw new VfioError('EINVAL', `config offset ${String(pos)} is not a non-negative integer`);
    if (!this.initialized) throw new VfioError('EIO', 'config virtualization used before init()');
    let count = buf.length;
    let done = 0;
    while (count > 0) {
      if (pos >= this.size || pos + count > this.size) {
        throw new VfioError('EFAULT', `config access of ${count} bytes at ${pos} is outside the ${this.size}-byte config space`);
      }
      const n = nextChunk(this.map, pos, count);
      if (isWrite) {
        let v = 0;
        for (let i = n - 1; i >= 0; i--) v = (v << 8) | buf[done + i];
        this.writePiece(pos, n, v >>> 0);
      } else {
        const v = this.readPiece(pos, n);
        for (let i = 0; i < n; i++) buf[done + i] = (v >>> (8 * i)) & 0xff;
      }
      pos += n;
      done += n;
      count -= n;
    }
    return done;
  }

  // ---- the special writefns -----------------------------------------------------------------

  /**
   * vfio_basic_config_write, before the write: the user enables MEM or IO that vconfig says is
   * already enabled but hardware has off, or a real BAR lost its address: the device was reset
   * behind our back, so the real BARs are put back first.
   */
  private commandPrecheck(value: number): void {
    const phys = this.fn.configRead(PCI_COMMAND, 2);
    const virt = this.vcRead(PCI_COMMAND, 2);
    const next = value & 0xffff;
    const m = PCI_COMMAND_MEMORY;
    const io = PCI_COMMAND_IO;
    if (
      (next & m && virt & m && !(phys & m) && !this.noCommandMemory) ||
      (next & io && virt & io && !(phys & io)) ||
      this.bars.needRestore()
    ) {
      this.barRestore();
    }
  }

  private vfioEvents(ev: number, off: number, value: number): void {
    if (ev & L.VEV_COMMAND) {
      // remember the user's MEM/IO enables for the backdoor-reset check
      const mask = PCI_COMMAND_MEMORY | PCI_COMMAND_IO;
      this.vcWrite(PCI_COMMAND, 2, (this.vcRead(PCI_COMMAND, 2) & ~mask) | (value & mask));
    }
    if (ev & L.VEV_INTX) {
      const disabled = (this.vcRead(PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE) !== 0;
      if (disabled !== this.virqDisabled) {
        this.virqDisabled = disabled;
        this.hooks.intxMask(disabled);
      }
    }
    if (ev & L.VEV_BAR) this.bars.fixup();
    if (ev & L.VEV_PM) this.hooks.setPowerState(value & R.PCI_PM_CTRL_STATE_MASK);
    if (ev & L.VEV_MSI) this.msiFlagsWritten(this.findCapStart(off));
    if (ev & L.VEV_PCIE) this.devctlWritten(this.findCapStart(off));
    if (ev & L.VEV_AF) this.afCtrlWritten(this.findCapStart(off));
  }

  /**
   * vfio_msi_config_write: Message Control's low byte as the user wrote it (the 64-bit flag
   * included, as 6.1's perm bits allow), with Enable kept only while vfio-pci-core has MSI set up
   * and Multiple Message Enable clamped to msi_qmax, goes to vconfig and to hardware. One knowing
   * deviation (docs/linux-parity.md, item 1): Multiple Message Capable stays the hardware's, where
   * 6.1 keeps the user's bits because its refresh (vfio_msi_config_read) lands on the wrong bytes.
   */
  private msiFlagsWritten(cap: number): void {
    const at = cap + R.PCI_MSI_FLAGS;
    let flags = this.vcRead(at, 2);
    if (this.hooks.irqType() !== 'msi') flags &= ~R.PCI_MSI_FLAGS_ENABLE;
    if ((flags & R.PCI_MSI_FLAGS_QSIZE) >> 4 > this.msiQmax) flags = (flags & ~R.PCI_MSI_FLAGS_QSIZE) | (this.msiQmax << 4);
    flags = (flags & ~R.PCI_MSI_FLAGS_QMASK) | (this.fn.configRead(at, 2) & R.PCI_MSI_FLAGS_QMASK);
    this.vcWrite(at, 2, flags);
    this.fn.configWrite(at, 2, flags);
  }

  /**
   * vfio_exp_config_write: Initiate FLR is virtual and always reads 0; on a function with FLR in
   * Device Capabilities it resets the function. A changed Max_Read_Request_Size goes to hardware,
   * raised to the device's Max_Payload_Size when lower.
   */
  private devctlWritten(cap: number): void {
    const at = cap + R.PCI_EXP_DEVCTL;
    const ctl = this.vcRead(at, 2);
    if (ctl & R.PCI_EXP_DEVCTL_BCR_FLR) {
      this.vcWrite(at, 2, ctl & ~R.PCI_EXP_DEVCTL_BCR_FLR);
      if ((this.fn.configRead(cap + R.PCI_EXP_DEVCAP, 4) & R.PCI_EXP_DEVCAP_FLR) !== 0) this.hooks.flr();
    }
    const rq = this.vcRead(at, 2) & R.PCI_EXP_DEVCTL_READRQ;
    if (rq !== this.readrq) {
      this.readrq = rq;
      const mps = 128 << ((this.fn.configRead(at, 2) & R.PCI_EXP_DEVCTL_PAYLOAD) >> 5);
      this.setReadrq(cap, Math.max(128 << (rq >> 12), mps));
    }
  }

  /** pcie_set_readrq: 128..4096 bytes, a power of two, written to hardware Device Control. */
  private setReadrq(cap: number, bytes: number): void {
    if (bytes < 128 || bytes > 4096 || (bytes & (bytes - 1)) !== 0) return;
    const code = Math.log2(bytes) - 7;
    const at = cap + R.PCI_EXP_DEVCTL;
    this.fn.configWrite(at, 2, (this.fn.configRead(at, 2) & ~R.PCI_EXP_DEVCTL_READRQ) | (code << 12));
  }

  /** vfio_af_config_write: Initiate FLR (virtual, reads 0) resets a function with AF FLR and TP. */
  private afCtrlWritten(cap: number): void {
    const at = cap + R.PCI_AF_CTRL;
    const ctl = this.vcRead(at, 1);
    if ((ctl & R.PCI_AF_CTRL_FLR) === 0) return;
    this.vcWrite(at, 1, ctl & ~R.PCI_AF_CTRL_FLR);
    const afcap = this.fn.configRead(cap + R.PCI_AF_CAP, 1);
    if (afcap & R.PCI_AF_CAP_FLR && afcap & R.PCI_AF_CAP_TP) this.hooks.flr();
  }

  // ---- for vfio-pci-core --------------------------------------------------------------------

  /** vfio_bar_restore: real BARs and ROM back to hardware after a reset (not for VFs). */
  barRestore(): void {
    this.bars.restore(this.isVirtfn, this.nointx);
  }

  /** vfio_need_bar_restore */
  needBarRestore(): boolean {
    return this.bars.needRestore();
  }

  /**
   * vdev->msi_qmax: vfio_msi_enable sets it to log2 of the vectors enabled through SET_IRQS
   * (fls(nvec * 2 - 1) - 1); later user writes of Multiple Message Enable are clamped to it.
   * vconfig is not touched: 6.1 keeps showing the hardware's Multiple Message Capable.
   */
  setMsiQmax(qmax: number): void {
    this.msiQmax = qmax & 7;
  }

  /** __vfio_pci_memory_enabled's Command test: the user's MEM bit (vconfig). */
  memoryEnabled(): boolean {
    return (this.vcRead(PCI_COMMAND, 2) & PCI_COMMAND_MEMORY) !== 0;
  }

  /** Offset of the first visible capability with this ID (standard), or -1. */
  capStart(id: number): number {
    for (const [cid, off] of this.caps) if (cid === id) return off;
    return -1;
  }

  /** vfio_find_cap_start: first byte of the map run holding `pos`. */
  findCapStart(pos: number): number {
    const id = this.map[pos];
    if (id === PCI_CAP_ID_BASIC) return 0;
    const base = pos >= PCI_CFG_SPACE_SIZE ? PCI_CFG_SPACE_SIZE : R.PCI_STD_HEADER_SIZEOF;
    while (pos - 1 >= base && this.map[pos - 1] === id) pos--;
    return pos;
  }

  /** The visible standard capability chain, as the user walks it: [id, offset] pairs. */
  userCapChain(): [number, number][] {
    const out: [number, number][] = [];
    if ((this.read(PCI_STATUS, 2) & PCI_STATUS_CAP_LIST) === 0) return out;
    let pos = this.read(PCI_CAPABILITY_LIST, 1);
    for (let n = 0; pos && n < 48; n++) {
      out.push([this.read(pos, 1), pos]);
      pos = this.read(pos + 1, 1);
    }
    return out;
  }

  // ---- vconfig access (little-endian, byte-wise so alignment never matters) -----------------

  vcRead(off: number, size: 1 | 2 | 4): number {
    const at = this.vconfig + off;
    const u8 = this.fn.mem.u8;
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = (v << 8) | u8[at + i];
    return v >>> 0;
  }

  vcWrite(off: number, size: 1 | 2 | 4, value: number): void {
    const at = this.vconfig + off;
    const u8 = this.fn.mem.u8;
    for (let i = 0; i < size; i++) u8[at + i] = (value >>> (8 * i)) & 0xff;
  }
}

/** Offset of the first capability `id` in the hardware chain, or -1. */
function findHwCapability(fn: PciFunction, id: number): number {
  if ((fn.configRead(PCI_STATUS, 2) & PCI_STATUS_CAP_LIST) === 0) return -1;
  let pos = fn.configRead(PCI_CAPABILITY_LIST, 1) & ~3;
  for (let n = 0; pos >= R.PCI_STD_HEADER_SIZEOF && n < 48; n++) {
    if (fn.configRead(pos, 1) === id) return pos;
    pos = fn.configRead(pos + 1, 1) & ~3;
  }
  return -1;
}

/**
 * pdev->cfg_size as pci_cfg_space_size finds it: 4096 bytes for PCI Express and for PCI-X Mode 2
 * (266/533 MHz capable) functions, 256 otherwise.
 */
function cfgSpaceSize(fn: PciFunction): number {
  if (findHwCapability(fn, PCI_CAP_ID_EXP) >= 0) return PCI_CFG_SPACE_EXP_SIZE;
  const pcix = findHwCapability(fn, R.PCI_CAP_ID_PCIX);
  if (pcix >= 0 && fn.configRead(pcix + R.PCI_X_STATUS, 4) & (R.PCI_X_STATUS_266MHZ | R.PCI_X_STATUS_533MHZ)) return PCI_CFG_SPACE_EXP_SIZE;
  return PCI_CFG_SPACE_SIZE;
}
