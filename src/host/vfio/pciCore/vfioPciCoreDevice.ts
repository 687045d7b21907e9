import { L } from '../../../core/wasm.js';
import type { PciFunction } from '../../../hw/pciFunction.js';
import {
  PCI_COMMAND, PCI_COMMAND_INTX_DISABLE, PCI_COMMAND_MASTER, PCI_COMMAND_MEMORY, PCI_MSIX_FLAGS, PCI_MSIX_TABLE, PCI_PM_CTRL,
  PCI_PM_CTRL_NO_SOFT_RESET,
} from '../../../hw/pciRegs.js';
import type { PciDev } from '../../pciDriver.js';
import { VfioDevice } from '../vfioDevice.js';
import type { VfioSubsystem } from '../vfioDevice.js';
import type { VfioDeviceOps } from '../vfioDeviceOps.js';
import { VfioError } from '../vfioError.js';
import { VfioPciIrqs } from './irqs.js';
import type { VfioPciRegion } from './regions.js';
import { probeResetMethod, restoreState, saveState, doReset } from '../../pciReset.js';
import type { SavedState } from '../../pciReset.js';
import { VfioConfig } from './config/vfioConfig.js';
import type { HostBarResource } from './config/barVirt.js';
import { probeMmaps, releaseMmaps } from './mmapProbe.js';
import { pciNumVf } from '../../iov.js';
import { devSetTryReset } from './devSetReset.js';
import { vfioPciNointx } from './nointx.js';
import type { DummyResource } from './mmapProbe.js';
import { newLowPowerState, vfioPciLowPowerClose, vfioPciRuntimeGet, vfioPciRuntimePut } from './lowPower.js';
import type { LowPowerState } from './lowPower.js';

/** A registered ioeventfd: writing `data` of `size` bytes at BAR `bar` + `pos` when `fd` fires. */
export interface Ioeventfd {
  bar: number;
  pos: number;
  data: bigint;
  size: number;
  fd: number;
  off: () => void;
}

export const VFIO_PCI_IOEVENTFD_MAX = 1000;

/**
 * struct vfio_pci_core_device: a PCI device driven through vfio-pci-core. Variant drivers get one of
 * these (or a subclass) and reach the core only through the exported vfio_pci_core_* functions and
 * the members documented as exported here (fn, config, irqs, regions, hwConfig*, hwBar*).
 */
export class VfioPciCoreDevice extends VfioDevice {
  /** The PCI function this device drives (Linux vdev->pdev, the hardware side). */
  readonly fn: PciFunction;
  /** The device's interrupt state: INTx, MSI and MSI-X triggers set through VFIO_DEVICE_SET_IRQS. */
  readonly irqs: VfioPciIrqs;
  /** config virtualization; exists while the device is open */
  config: VfioConfig | null = null;
  /** vdev->reset_works: the function can be reset (FLR, PM or bus reset), so DEVICE_GET_INFO reports VFIO_DEVICE_FLAGS_RESET. */
  resetWorks = false;
  /** vdev->nointx: the device is on the broken-INTx-masking list (vfio_pci_nointx), so INTx is not offered and INTx Disable stays set. */
  nointx = false;
  /** vdev->needs_reset: set at close when the device could not reset itself; a set bus reset clears it */
  needsReset = false;
  /** Device-specific regions added by variant drivers (vdev->region), indexed from VFIO_PCI_NUM_REGIONS (9). */
  regions: VfioPciRegion[] = [];
  /** vdev->msix_bar: the BAR holding the MSI-X table (0xff = no MSI-X). */
  msixBar = 0xff;
  /** vdev->msix_offset: offset of the MSI-X table inside its BAR. */
  msixOffset = 0;
  /** vdev->msix_size: size in bytes of the MSI-X table, which the user may not mmap. */
  msixSize = 0;
  /**
   * vdev->has_dyn_msix (Linux 6.5+): MSI-X vectors can be allocated while MSI-X is enabled, so
   * SET_IRQS may add vectors and GET_IRQ_INFO omits NORESIZE. pcisim models Linux 6.1, which has no
   * dynamic MSI-X: false, so MSI-X reports EVENTFD|NORESIZE and an enabled MSI-X cannot grow
   */
  hasDynMsix = false;
  /** Registered ioeventfds (vdev->ioeventfds_list, VFIO_DEVICE_IOEVENTFD), at most VFIO_PCI_IOEVENTFD_MAX. */
  ioeventfds: Ioeventfd[] = [];
  /** vdev->bar_mmap_supported, decided at open (vfio_pci_probe_mmaps) */
  barMmapSupported: boolean[] = [];
  /** the rest of the page of each mappable sub-page BAR, reserved while the device is open */
  dummyResources: DummyResource[] = [];
  /** vdev->pci_saved_state: config saved at enable and restored at disable. */
  savedState: SavedState | null = null;
  /** vdev->pm_save: config saved on the way into D3hot of a device that soft-resets on the way out */
  pmSave: SavedState | null = null;
  /** VF token (PFs with SR-IOV): set up by vfio_pci_vf_init (sriov.ts); users = open VFs of this PF */
  vfToken: {
    /** The VF token the PF user set (VFIO_DEVICE_FEATURE_PCI_VF_TOKEN), null until set. */
    uuid: Uint8Array | null;
    /** How many VFs of this PF are open (a PF with VF users cannot change the token unchecked). */
    users: number;
  } | null = null;
  /** vdev->sriov_pf_core_dev: a VF's PF, when that PF enabled SR-IOV through vfio-pci (sriov.ts) */
  sriovPfCoreDev: VfioPciCoreDevice | null = null;
  /** a PF's bus notifier (vfio_pci_bus_notifier), unregistered by vfio_pci_vf_uninit */
  busNotifierOff: (() => void) | null = null;
  /** runtime PM and the low-power DEVICE_FEATUREs (lowPower.ts) */
  lowPower: LowPowerState = newLowPowerState();

  constructor(vfio: VfioSubsystem, pdev: PciDev, ops: VfioDeviceOps<any>) {
    super(vfio, pdev, ops);
    this.fn = pdev.fn;
    this.irqs = new VfioPciIrqs(this);
  }

  // ---- host-side hardware access (what the kernel does with pci_read/write_config, ioread/iowrite)

  /** Host-side config read of the real function (the kernel's pci_read_config_*), bypassing vconfig. */
  hwConfigRead(off: number, size: 1 | 2 | 4): number {
    return this.vfio.hw.configRead(this.fn.bdf, off, size);
  }

  /** Host-side config write to the real function (the kernel's pci_write_config_*), bypassing vconfig. */
  hwConfigWrite(off: number, size: 1 | 2 | 4, value: number): void {
    this.vfio.hw.configWrite(this.fn.bdf, off, size, value);
  }

  /** The host address of BAR `bar` (0 when the host left it unassigned). */
  barAddress(bar: number): number {
    return this.pdev.resourceStart(bar);
  }

  /** The BAR's length as the host knows it (0: unimplemented or unassigned). */
  barLen(bar: number): number {
    return this.pdev.resourceLen(bar);
  }

  /** Host-side read of BAR `bar` at `off` (the kernel's ioread*), by I/O port or MMIO as the BAR is. */
  hwBarRead(bar: number, off: number, size: 1 | 2 | 4): number {
    const a = this.barAddress(bar) + off;
    return this.fn.barKind(bar) === L.BAR_IO ? this.vfio.hw.ioRead(a, size) : this.vfio.hw.mmioRead(a, size);
  }

  /** Host-side write to BAR `bar` at `off` (the kernel's iowrite*), by I/O port or MMIO as the BAR is. */
  hwBarWrite(bar: number, off: number, size: 1 | 2 | 4, value: number): void {
    const a = this.barAddress(bar) + off;
    if (this.fn.barKind(bar) === L.BAR_IO) this.vfio.hw.ioWrite(a, size, value);
    else this.vfio.hw.mmioWrite(a, size, value);
  }

  /** __vfio_pci_memory_enabled: BAR access needs memory enabled in the user's (virtual) Command. */
  memoryEnabled(): boolean {
    // a runtime suspended device is in D3hot (pdev->current_state < PCI_D3hot fails)
    if (this.lowPower.suspended) return false;
    if (this.pdev.isVirtfn) return true;
    // vconfig keeps the MEM bit the user last wrote (vfio_basic_config_write), whatever hardware has
    if (this.config) return this.config.memoryEnabled();
    return (this.hwConfigRead(PCI_COMMAND, 2) & PCI_COMMAND_MEMORY) !== 0;
  }

  // ---- enable / disable (vfio_pci_core_enable / _disable) ---------------------------------------

  /** vfio_pci_core_enable: D0, save state, reset, set up config virtualization and MSI-X/mmap info; called on first open. */
  enable(): void {
    const fn = this.fn;
    // D0, decode for the BAR types present, then a reset to start clean (reset_works comes from it)
    const pm = fn.capOffset(L.M_PM_CAP);
    if (pm && (fn.configRead(pm + PCI_PM_CTRL, 2) & 3) !== 0) this.hwConfigWrite(pm + PCI_PM_CTRL, 2, fn.configRead(pm + PCI_PM_CTRL, 2) & ~3);
    // pci_clear_master: the state saved below must not include bus mastering
    const cmd0 = this.hwConfigRead(PCI_COMMAND, 2);
    if (cmd0 & PCI_COMMAND_MASTER) this.hwConfigWrite(PCI_COMMAND, 2, cmd0 & ~PCI_COMMAND_MASTER);
    this.vfio.enableDevice(this.pdev);
    const method = probeResetMethod(this.vfio.hw, fn);
    this.resetWorks = method !== null;
    if (method && this.tryResetFunction() === false) this.resetWorks = false;
    this.savedState = saveState(fn);
    // devices with broken INTx masking get no INTx at all and INTx Disable set (vfio_pci_nointx);
    // the others support PCI 2.3 masking (our hardware implements INTx Disable) and start unmasked
    this.nointx = vfioPciNointx(this.pdev.id.vendor, this.pdev.id.device);
    const cmd = this.hwConfigRead(PCI_COMMAND, 2);
    if (this.nointx) {
      if (!(cmd & PCI_COMMAND_INTX_DISABLE)) this.hwConfigWrite(PCI_COMMAND, 2, cmd | PCI_COMMAND_INTX_DISABLE);
    } else if (cmd & PCI_COMMAND_INTX_DISABLE) this.hwConfigWrite(PCI_COMMAND, 2, cmd & ~PCI_COMMAND_INTX_DISABLE);
    this.config = new VfioConfig(fn, {
      isVirtfn: this.pdev.isVirtfn,
      ids: this.pdev.isVirtfn ? { vendor: this.pdev.id.vendor, device: this.pdev.id.device } : undefined,
      nointx: this.nointx,
      resources: (this.pdev as { resources?: readonly (HostBarResource | null)[] }).resources,
      hooks: {
        intxMask: (masked: boolean) => this.irqs.setVirqDisabled(masked),
        irqType: () => this.irqs.type,
        setPowerState: (state: number) => this.setPowerState(state),
        flr: () => {
          if (this.resetWorks) this.tryResetFunction();
        },
      },
    });
    this.config.init();
    // vdev->msi_qmax belongs to the device in 6.1, not to an open: a reopen keeps the last enable's
    this.config.setMsiQmax(this.irqs.msiQmax);
    const msix = fn.capOffset(L.M_MSIX_CAP);
    if (msix) {
      const flags = fn.configRead(msix + PCI_MSIX_FLAGS, 2);
      const table = fn.configRead(msix + PCI_MSIX_TABLE, 4);
      this.msixBar = table & 7;
      this.msixOffset = table & ~7;
      this.msixSize = ((flags & 0x7ff) + 1) * 16;
      this.hasDynMsix = false;
    } else {
      this.msixBar = 0xff;
      this.hasDynMsix = false;
    }
    // vfio_pci_core_finish_enable
    probeMmaps(this);
  }

  /** vfio_pci_core_disable: stop interrupts and ioeventfds, reset, restore saved state; called on last close. */
  disable(): void {
    // vfio_pci_core_disable starts by leaving low power (vfio_pci_runtime_pm_exit, pm_runtime_resume)
    // and bringing the device back to D0
    vfioPciLowPowerClose(this);
    this.setPowerState(0);
    this.pmSave = null;
    this.irqs.disableAll();
    for (const r of this.regions) r.release?.(this);
    this.regions = [];
    for (const e of this.ioeventfds) e.off();
    this.ioeventfds = [];
    this.config = null;
    releaseMmaps(this);
    // bus master off, then back to the state saved at enable, reset if we can
    const cmd = this.hwConfigRead(PCI_COMMAND, 2);
    this.hwConfigWrite(PCI_COMMAND, 2, cmd & ~PCI_COMMAND_MASTER);
    this.needsReset = true;
    if (this.resetWorks) {
      const method = probeResetMethod(this.vfio.hw, this.fn);
      if (method) {
        doReset(this.vfio.hw, this.fn, method);
        this.needsReset = false;
      }
    }
    if (this.savedState) restoreState(this.vfio.hw, this.fn, this.savedState);
    this.savedState = null;
    this.vfio.disableDevice(this.pdev);
    devSetTryReset(this);
  }

  /** pci_try_reset_function: save state, reset by the first working method, restore. */
  tryResetFunction(): boolean {
    const method = probeResetMethod(this.vfio.hw, this.fn);
    if (!method) return false;
    const s = saveState(this.fn);
    doReset(this.vfio.hw, this.fn, method);
    restoreState(this.vfio.hw, this.fn, s);
    this.needsReset = false;
    return true;
  }

  /**
   * vfio_pci_set_power_state: the user's PM writes are performed by the host. As pci_set_power_state,
   * nothing happens when the device is already in `state`. A device without No_Soft_Reset loses its
   * config on D3hot -> D0, so its state is saved on the way in and restored on the way out
   * (needs_pm_restore, pm_save).
   */
  setPowerState(state: number): void {
    const pm = this.fn.capOffset(L.M_PM_CAP);
    if (!pm) return;
    const csr = this.fn.configRead(pm + PCI_PM_CTRL, 2);
    const current = csr & 3;
    const next = state & 3;
    if (current === next) return;
    // a PF with VFs enabled stays in D0 (vfio_pci_set_power_state answers EBUSY, the write is dropped)
    if (next > 0 && pciNumVf(this.pdev) > 0) return;
    const needsPmRestore = (csr & PCI_PM_CTRL_NO_SOFT_RESET) === 0;
    if (needsPmRestore && current < 3 && next === 3) this.pmSave = saveState(this.fn);
    this.hwConfigWrite(pm + PCI_PM_CTRL, 2, (csr & ~3) | next);
    if (needsPmRestore && current === 3 && next === 0 && this.pmSave) {
      restoreState(this.vfio.hw, this.fn, this.pmSave);
      this.pmSave = null;
    }
  }

  /** vfio_device_pm_runtime_get: before each ioctl, a suspended device is resumed. */
  override pmRuntimeGet(): void {
    vfioPciRuntimeGet(this);
  }

  /** vfio_device_pm_runtime_put: after each ioctl, a device in low power suspends again. */
  override pmRuntimePut(): void {
    vfioPciRuntimePut(this);
  }

  /** Device-specific region (vfio_pci_core_register_dev_region); returns its region index. */
  registerDevRegion(region: VfioPciRegion): number {
    this.regions.push(region);
    return 9 + this.regions.length - 1;
  }

  /** Throws EIO unless the device is open (its config virtualization exists). */
  requireOpen(): void {
    if (!this.config) throw new VfioError('EIO', `${this.bdf} is not open`);
  }
}
