import type { Eventfd } from '../host/fileTable.js';
import type { Host } from '../host/host.js';
import type { VfioDeviceFile } from '../host/vfio/deviceFile.js';
import { VfioDeviceFileImpl } from '../host/vfio/deviceFile.js';
import type { IommufdCtx } from '../host/vfio/iommufd.js';
import type { Bridge } from '../hw/bridge.js';
import type { GuestMemory } from '../hw/guestMemory.js';
import { Hardware } from '../hw/hardware.js';
import type { InterruptSink } from '../hw/interrupts.js';
import type { PciFunction } from '../hw/pciFunction.js';
import type { BridgeSpec } from '../hw/spec.js';
import type { VmmContext } from './vfioPciDevice.js';
import { VfioPciDevice } from './vfioPciDevice.js';
import { VmmLog } from './vmmLog.js';
import { VFIO } from '../host/vfio/uapi/constants.js';
import { Ioas, IOMMU_PAGE } from './ioas.js';
import type { IommuDomain, IommuFault } from '../hw/embedding/iommu.js';

/**
 * Guest RAM as the guest sees it: [base, base+size) of `vmm.memory`. The VMM maps it into its IOAS
 * 1:1 (IOVA = guest physical address), so a guest address is a DMA address.
 */
export interface GuestRam {
  /** Guest-physical (and IOVA) address where RAM starts. */
  base: number;
  /** RAM size in bytes. */
  size: number;
}

/** Options of the {@link Vmm} constructor. */
export interface VmmOptions {
  /**
   * Guest RAM owned by the VMM's embedder (e.g. v86's memory, through GuestMemory.wrap): the guest
   * bus uses it, and the VMM maps it into its IOAS at IOVA 0. Without it, guest RAM is a window of
   * the host's memory (`ram`), which is how the self-contained scenarios run.
   */
  memory?: GuestMemory;
  /**
   * guest RAM inside the host memory (default: all of it). Pages the host keeps for itself (its DMA
   * memory) stay unreachable to assigned devices even when the window covers them.
   */
  ram?: GuestRam;
  /** where the guest bus's ECAM window sits (default 0xB0000000, as on the host) */
  ecamBase?: number;
  /**
   * the VMM's user (iommufd context): the device files it is given must be opened with it, and its
   * eventfds are made in its file table (default: the host's default user)
   */
  iommufd?: IommufdCtx;
}

/** Every device file assigned to a guest slot now, by any VMM (one file, one slot). */
const assignedFiles = new WeakMap<VfioDeviceFile, VfioPciDevice>();

/**
 * The guest's interrupt controller as the VMM wires it: the guest bus's interrupt sink, which also
 * reports the guest's EOI of a level-triggered line (KVM's irqfd resampler).
 */
export interface GuestInterruptController extends InterruptSink {
  /** Sets who hears of the guest's EOI of an INTx line (the VMM's resampling of an assigned device); null removes it. */
  setEoiListener(listener: ((source: PciFunction) => void) | null): void;
}

/** Which VMM takes each guest interrupt controller's EOIs now. */
const eoiOwner = new WeakMap<GuestInterruptController, Vmm>();

/**
 * A VMM in the QEMU mould: a guest-visible PCI bus (a second Hardware: CF8/CFC and ECAM config
 * cycles, routed port I/O and MMIO) whose slots hold vfio device files (`assign`), with the host's
 * memory as guest RAM. Everything the guest does to an assigned function goes through the VMM's
 * emulation to the device file (vfioPciDevice.ts); nothing reaches the host's hardware directly.
 */
export class Vmm implements VmmContext {
  /** the guest-visible PCI topology */
  readonly hw: Hardware;
  /** The memory shared with the host: guest RAM is a window of it. */
  readonly memory: GuestMemory;
  /** The guest RAM window, mapped 1:1 into the VMM's IOAS. */
  readonly ram: GuestRam;
  /** What the VMM's emulation logged: refused accesses, file errors, interrupt events. */
  readonly log = new VmmLog();
  /** The host whose vfio device files the VMM uses. */
  readonly host: Host;
  /** the VMM's I/O address space: every assigned device's DMA is translated through it */
  readonly ioas: Ioas;
  /** IOMMU faults of assigned devices, in order (the log has one line per device, direction and page) */
  readonly iommuFaults: IommuFault[] = [];
  /** device files this VMM attached to its IOAS, and the domain each device had before */
  private readonly attached = new Map<string, { file: VfioDeviceFileImpl; before: IommuDomain | null }>();
  private readonly devs = new Map<string, VfioPciDevice>();
  /** The REQ eventfd of each assigned device (the host asks for the device back through it). */
  private readonly reqFds = new Map<string, Eventfd>();
  private controller: GuestInterruptController | null = null;
  private closed = false;
  /** the VMM's user; undefined: the host's default */
  readonly iommufd: IommufdCtx | undefined;

  constructor(emu: { host: Host; memory: GuestMemory }, options: VmmOptions = {}) {
    this.host = emu.host;
    this.iommufd = options.iommufd;
    const own = options.memory;
    this.memory = own ?? emu.memory;
    const ram = own !== undefined ? { base: 0, size: own.size } : (options.ram ?? { base: 0, size: emu.memory.size });
    if (!this.memory.contains(ram.base, ram.size) || ram.size <= 0) throw new RangeError(`guest RAM [${ram.base}, +${ram.size}) is not inside the ${this.memory.size}-byte ${own ? 'guest' : 'host'} memory`);
    this.ram = { base: ram.base, size: ram.size };
    // the guest bus lives in the emulator's core, so emu.destroy() takes it down too
    this.hw = new Hardware({ memory: this.memory, ecamBase: options.ecamBase, core: emu.host.hw.core });
    this.ioas = new Ioas('vmm');
    // the whole pages of guest RAM, IOVA = guest physical address
    const first = Math.ceil(ram.base / IOMMU_PAGE) * IOMMU_PAGE;
    const last = Math.floor((ram.base + ram.size) / IOMMU_PAGE) * IOMMU_PAGE;
    if (last > first) this.ioas.map(first, last - first, this.memory, first);
    this.ioas.domain.onFault((f) => {
      if (this.iommuFaults.length < 1024) this.iommuFaults.push(f);
      this.log.once(`iommu:${f.device}:${f.direction}:${Math.floor(f.iova / IOMMU_PAGE)}`, `IOMMU fault: ${f.device} DMA ${f.direction} of ${f.length} bytes at IOVA 0x${f.iova.toString(16)} is outside the VMM's mappings; blocked`);
    });
  }

  /**
   * VFIO_IOMMU_MAP_DMA / IOMMU_IOAS_MAP: makes [iova, iova+size) reach `memory` (default: the guest
   * RAM memory) from `offset` for every assigned device. Throws VfioError EINVAL (alignment, size 0,
   * wrap), EFAULT (outside the memory) or EEXIST (overlap), as the kernel does.
   */
  mapDma(iova: number, size: number, memory: GuestMemory = this.memory, offset = iova): void {
    this.ioas.map(iova, size, memory, offset);
  }

  /** VFIO_IOMMU_UNMAP_DMA / IOMMU_IOAS_UNMAP: returns the bytes unmapped; EINVAL for a range that splits a mapping. */
  unmapDma(iova: number, size: number): number {
    return this.ioas.unmap(iova, size);
  }


  /** A PCI-to-PCI bridge (a root port) on the guest bus, for assigning devices behind it. */
  addBridge(bdf: string, spec: BridgeSpec): Bridge {
    return this.hw.addBridge(bdf, spec);
  }

  /**
   * Assigns an open vfio device file to `guestBdf` on the guest bus. The VMM owns the file from now
   * on (close() closes it). Throws when the slot is taken, the file is not a vfio PCI device, the
   * file or its device is already assigned (QEMU refuses a second attach of a device: "device is
   * already attached"), or the file belongs to another user than the VMM's.
   */
  assign(file: VfioDeviceFile, guestBdf: string): VfioPciDevice {
    if (this.closed) throw new Error('the VMM is closed');
    const key = guestBdf.toLowerCase();
    if (this.devs.has(key) || this.hw.function(key)) throw new Error(`${guestBdf}: the guest slot is taken`);
    const prior = assignedFiles.get(file);
    if (prior && !prior.isClosed) throw new Error(`${guestBdf}: this vfio device file is already attached at guest slot ${prior.guestBdf}; a device file can be assigned once`);
    if (file instanceof VfioDeviceFileImpl) {
      for (const d of this.devs.values()) {
        if (d.file instanceof VfioDeviceFileImpl && d.file.vdev === file.vdev) throw new Error(`${guestBdf}: vfio ${file.vdev.bdf}: device is already attached at guest slot ${d.guestBdf}`);
      }
      const mine = this.iommufd ?? this.host.vfio.defaultIommufd;
      if (file.owner !== mine) throw new Error(`${guestBdf}: the device file was opened by iommufd context "${file.owner.name}", this VMM's is "${mine.name}"`);
    }
    const dev = new VfioPciDevice(this, file, key);
    try {
      dev.attach(this.hw);
    } catch (e) {
      dev.close();
      throw e;
    }
    this.attachIoas(file, key);
    this.devs.set(key, dev);
    assignedFiles.set(file, dev);
    this.wireRequest(dev);
    this.log.info(`assigned ${dev.name} at ${key}`);
    return dev;
  }

  /**
   * QEMU's vfio_register_req_notifier: an eventfd on the device's REQ irq, through which the host
   * asks for the device back (hot-unplug, unbind); like vfio_req_notifier_handler, the answer is an
   * unplug from the guest bus, which closes the file. A device without a REQ irq is left as it is.
   */
  private wireRequest(dev: VfioPciDevice): void {
    let count = 0;
    try {
      count = dev.client.getIrqInfo(VFIO.PCI_REQ_IRQ_INDEX).count;
    } catch {
      return;
    }
    if (count === 0) return;
    const efd = this.eventfd();
    try {
      dev.client.setIrqs(VFIO.PCI_REQ_IRQ_INDEX, VFIO.IRQ_SET_ACTION_TRIGGER, 0, { kind: 'eventfd', fds: [efd.fd] });
    } catch (e) {
      efd.close();
      this.log.info(`${dev.name}: no REQ notifier (${e instanceof Error ? e.message : String(e)})`);
      return;
    }
    efd.onSignal(() => {
      this.log.info(`${dev.name}: the host asked for the device back; unplugging it`);
      this.unplug(dev.guestBdf);
    });
    this.reqFds.set(dev.guestBdf, efd);
  }

  /**
   * Hot-unplugs an assigned device: its interrupts are released on the host, its file is closed,
   * and its function leaves the guest bus (the slot may be assigned again).
   */
  unplug(guestBdf: string): void {
    const key = guestBdf.toLowerCase();
    const dev = this.devs.get(key);
    if (!dev) return;
    this.devs.delete(key);
    this.reqFds.get(key)?.close();
    this.reqFds.delete(key);
    dev.close();
    this.detachIoas(key);
    this.hw.removeFunction(key);
  }

  /**
   * Attaches the device behind `file` to the VMM's IOAS (VFIO_DEVICE_ATTACH_IOMMUFD_PT): from now on
   * its DMA is translated through the VMM's mappings and reaches nothing else.
   */
  private attachIoas(file: VfioDeviceFile, key: string): void {
    if (!(file instanceof VfioDeviceFileImpl)) {
      this.log.info(`${key}: the device file cannot be attached to an IOAS; its DMA is not attached to the VMM's IOAS`);
      return;
    }
    this.attached.set(key, { file, before: file.attachIommuDomain(this.ioas.domain) });
  }

  private detachIoas(key: string): void {
    const a = this.attached.get(key);
    if (a === undefined) return;
    this.attached.delete(key);
    a.file.attachIommuDomain(a.before, this.ioas.domain);
  }

  /** Assigned devices in guest bus order. */
  devices(): VfioPciDevice[] {
    return [...this.devs.values()].sort((a, b) => (a.guestBdf < b.guestBdf ? -1 : a.guestBdf > b.guestBdf ? 1 : 0));
  }

  /** The assigned device at guest address `guestBdf`, if any. */
  device(guestBdf: string): VfioPciDevice | undefined {
    return this.devs.get(guestBdf.toLowerCase());
  }

  /** Makes `ctrl` the guest bus's interrupt sink and takes its EOIs for INTx resampling. */
  connectInterruptController(ctrl: GuestInterruptController): void {
    this.releaseController();
    this.controller = ctrl;
    this.hw.setInterruptSink(ctrl);
    ctrl.setEoiListener((source) => this.eoi(source));
    eoiOwner.set(ctrl, this);
  }

  /**
   * The guest EOI'd the INTx of `source` (a guest function or its bdf): the VMM lowers the pin and
   * signals the unmask eventfd (resample). Returns whether a pending INTx was acknowledged.
   */
  eoi(source: PciFunction | string): boolean {
    const bdf = typeof source === 'string' ? source : source.bdf;
    return this.devs.get(bdf.toLowerCase())?.eoi() ?? false;
  }

  /** A system reset of one assigned device (QEMU's vfio_pci_reset), or of all of them. */
  reset(guestBdf?: string): void {
    const list = guestBdf === undefined ? this.devices() : [this.devs.get(guestBdf.toLowerCase())].filter((d): d is VfioPciDevice => !!d);
    for (const d of list) d.reset(null, 'bus');
  }

  // ---- VmmContext ---------------------------------------------------------------------------------

  eventfd(): Eventfd {
    return this.host.eventfd(this.iommufd);
  }

  /**
   * The guest moved a BAR or changed decode. Overlaps are the guest's business (the address map
   * gives each address to one BAR, as a bus would); the VMM logs each overlapping pair once.
   */
  barsChanged(_dev: VfioPciDevice): void {
    for (const space of ['mem', 'io'] as const) {
      const byBar = new Map<string, { base: number; end: number; who: string }>();
      for (const f of this.hw.functions()) {
        for (const b of f.decodedBars(space === 'io')) {
          const who = `${f.bdf} BAR${b.bar}`;
          byBar.set(who, { base: b.base, end: b.base + b.size, who });
        }
      }
      const list = [...byBar.values()];
      for (let i = 0; i < list.length; i++) {
        for (let j = i + 1; j < list.length; j++) {
          const a = list[i];
          const b = list[j];
          if (a.base < b.end && b.base < a.end) {
            this.log.once(`overlap:${a.who}:${b.who}:${a.base}:${b.base}`, `guest placed ${a.who} [0x${a.base.toString(16)}, 0x${a.end.toString(16)}) over ${b.who} [0x${b.base.toString(16)}, 0x${b.end.toString(16)}); the address map gives the overlap to one of them`);
          }
        }
        if (space === 'mem') {
          const a = list[i];
          const e = this.hw.ecamBase;
          if (a.base < e + this.hw.ecamSize && e < a.end) this.log.once(`overlap:${a.who}:ecam:${a.base}`, `guest placed ${a.who} over the ECAM window; config space shadows it there`);
        }
      }
    }
  }

  // ---- teardown -------------------------------------------------------------------------------------

  /** Releases everything: each device's interrupts (SET_IRQS count 0), eventfds and file; the guest bus empties (bridges too). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const d of this.devices()) {
      d.close();
      this.detachIoas(d.guestBdf);
      this.hw.removeFunction(d.guestBdf);
    }
    this.devs.clear();
    for (const efd of this.reqFds.values()) efd.close();
    this.reqFds.clear();
    this.releaseController();
    // guest bridges' slots go back to the core, and the core lets go of the guest bus
    this.hw.dispose();
  }

  /**
   * Stops taking the controller's EOIs, unless another VMM has taken them over since (a migrated
   * guest's controller is connected to the destination before the source closes).
   */
  private releaseController(): void {
    const c = this.controller;
    if (c && eoiOwner.get(c) === this) {
      c.setEoiListener(null);
      eoiOwner.delete(c);
    }
  }

  /** close() ran: devices were released and their files closed. */
  get isClosed(): boolean {
    return this.closed;
  }
}
