import type { Hardware } from '../hw/hardware.js';
import type { AerSeverity } from '../hw/interrupts.js';
import type { PciFunction } from '../hw/pciFunction.js';
import type { PciAliasEntry } from './driverCore.js';
import { DriverCore } from './driverCore.js';
import type { HostPciDev } from './pciCore.js';
import { PciCore } from './pciCore.js';
import type { PciDriver } from './pciDriver.js';
import { pciAerHandleError } from './aerRecovery.js';
import { pciePmeHandleRequest } from './pme.js';
import { VfioError } from './vfio/vfioError.js';
import { VfioCore } from './vfio/vfioCore.js';
import type { OpenOptions } from './vfio/vfioCore.js';
import type { VfioDeviceFile } from './vfio/deviceFile.js';
import type { DataStreamFile } from './vfio/dataStream.js';
import type { IommufdCtx } from './vfio/iommufd.js';
import type { Eventfd } from './fileTable.js';
import { genericVfioPciDriver } from './vfio/vfioPciDriver.js';
import { dmaeVfioPciDriver } from './variants/dmaEngine/dmaeVfioPciDriver.js';
import { pciVirtfns, sriovNumvfsStore } from './iov.js';
import { VirtioPciDriver } from './virtio/virtioPciDriver.js';
import { poison } from '../core/lifetime.js';
import { virtioVfioPciDriver } from './variants/virtio/main.js';

/**
 * The emulated host kernel. It sees the functions of `hw` and reaches their config space only
 * through it. Every operation first brings the PCI core up to date with the hardware (new functions
 * get a pci_dev and, under the PCI core's rule, resources; removed ones lose theirs).
 */
export class Host {
  /** the PCI core: pci_devs, resource assignment, pci_enable_device */
  readonly pci: PciCore;
  /** the driver core: registry, matching, aliases, driver_override, bind/unbind */
  readonly driverCore: DriverCore;

  /** the vfio subsystem: registered devices, device sets, the file table, the interrupt domain */
  readonly vfio: VfioCore;

  constructor(
    /** The hardware whose functions the host enumerates and drives. */
    readonly hw: Hardware,
  ) {
    this.pci = new PciCore(hw);
    this.driverCore = new DriverCore(this.pci);
    this.vfio = new VfioCore(hw, {
      deviceOf: (fn) => this.pci.device(fn.bdf),
      enableDevice: (dev) => this.pci.enableDevice(dev as HostPciDev),
      disableDevice: (dev) => this.pci.disableDevice(dev as HostPciDev),
      registerBusNotifier: (nb) => this.pci.registerBusNotifier(nb),
    });
    // the host's interrupt controller receives what the hardware signals
    hw.setInterruptSink(this.vfio.irqs);
    this.vfio.irqs.aerHandler = (fn, severity) => this.aerRecover(fn, severity);
    this.vfio.irqs.pmeHandler = (fn) => void pciePmeHandleRequest(this.pci, fn);
    this.driverCore.registerDriver(genericVfioPciDriver(this.vfio));
    this.driverCore.registerDriver(dmaeVfioPciDriver(this.vfio));
    this.driverCore.registerDriver(new VirtioPciDriver());
    this.driverCore.registerDriver(virtioVfioPciDriver(this.vfio));
    hw.onRemove((fn) => this.hotRemove(fn));
  }

  /**
   * hw.removeFunction's host side (pci_stop_and_remove_bus_device), run while the function is still
   * on the bus: a PF's VFs go first, then the function; each loses its driver. vfio's remove sends
   * the REQ irq to an open device file and, if its user keeps it open, revokes it (ENODEV after).
   * A function the host has not seen yet has nothing bound and nothing to undo.
   */
  private hotRemove(fn: PciFunction): void {
    const dev = this.pci.device(fn.bdf);
    if (!dev || dev.fn !== fn) return;
    if (!dev.isVirtfn) for (const vf of pciVirtfns(dev).reverse()) this.pci.stopAndRemove(vf);
    this.pci.stopAndRemove(dev);
  }

  /**
   * Part of emu.destroy(): every open file (device files, eventfds, data streams) is forgotten and
   * its methods, like the host's own, throw 'pcisim: this emulator was destroyed' from now on.
   */
  destroy(): void {
    for (const f of this.vfio.files.drain()) poison(f);
    poison(this.vfio);
    poison(this.pci);
    poison(this.driverCore);
    poison(this);
  }

  /**
   * A PCIe error message from `fn`: the AER service handles it (src/host/aerRecovery.ts,
   * pci_aer_handle_error and pcie_do_recovery). A function the PCI core has not enumerated yet has
   * no pci_dev and is ignored, as the kernel finds no source device for it. Not modelled: the root
   * port's AER registers and interrupt (the message arrives tagged with its source).
   */
  private aerRecover(fn: PciFunction, severity: AerSeverity): void {
    const dev = this.pci.device(fn.bdf);
    if (dev && dev.fn === fn) pciAerHandleError(this.pci, dev, severity);
  }

  /** The device at `bdf`, after syncing with the hardware; throws a plain Error when there is none. */
  private present(bdf: string): HostPciDev {
    this.pci.sync();
    const d = this.pci.device(bdf);
    if (!d) throw new Error(`${bdf}: no such PCI function`);
    return d;
  }

  /** As present(), but the sysfs-style ENODEV (bus_find_device_by_name found nothing). */
  private sysfsDevice(bdf: string): HostPciDev {
    this.pci.sync();
    const d = this.pci.device(bdf);
    if (!d) throw new VfioError('ENODEV', `${bdf}: no such PCI function`);
    return d;
  }

  /** The device's modalias, as /sys/bus/pci/devices/.../modalias shows it. */
  modalias(bdf: string): string {
    return this.driverCore.modalias(this.present(bdf));
  }

  /** The host's struct pci_dev for `bdf`. */
  pciDev(bdf: string): HostPciDev {
    return this.present(bdf);
  }

  /** Writes /sys/bus/pci/devices/<bdf>/driver_override (null or "" clears it). Does not unbind. */
  driverOverride(bdf: string, driver: string | null): void {
    this.driverCore.driverOverride(this.sysfsDevice(bdf), driver);
  }

  /**
   * Binds a driver and returns its name: the named one (like writing the bdf to its bind file), or
   * without a name the best `vfio_pci:` alias match, through driver_override. Errors: EBUSY (already
   * bound), ENODEV (no such driver, or it does not match), or the probe's errno.
   */
  bind(bdf: string, driver?: string): string {
    return this.driverCore.bind(this.sysfsDevice(bdf), driver);
  }

  /** Unbinds the device's driver (ENODEV when none; the driver's remove may refuse with EBUSY). */
  unbind(bdf: string): void {
    this.driverCore.unbind(this.sysfsDevice(bdf));
  }

  /**
   * Writes /sys/bus/pci/devices/<pf>/sriov_numvfs (sriov_numvfs_store, src/host/iov.ts) and returns
   * the number of VFs enabled afterwards: the PF's driver's sriov_configure enables or (with 0)
   * disables them; the hardware creates the VFs and the PCI core gives each a pci_dev, which drivers
   * may then bind. ENODEV: no such function; ENOENT: not an SR-IOV PF, or no driver with
   * sriov_configure bound; ERANGE: more than TotalVFs; EBUSY: VFs already enabled (write 0 first),
   * or a VF's device file is still open when disabling; otherwise the driver's errno.
   */
  sriovConfigure(pfBdf: string, numVfs: number): number {
    return sriovNumvfsStore(this.sysfsDevice(pfBdf), numVfs);
  }

  /** Registers a PCI driver (EBUSY if the name is taken); it autoprobes matching unbound devices. */
  registerDriver(drv: PciDriver): void {
    this.pci.sync();
    this.driverCore.registerDriver(drv);
  }

  /** modules.alias: every alias the registered drivers publish. */
  aliases(): PciAliasEntry[] {
    return this.driverCore.aliases();
  }

  /**
   * Opens the vfio device file of a device bound to a vfio driver (like opening its cdev and
   * binding it to an iommufd). ENODEV when no vfio driver is bound.
   */
  openDevice(bdf: string, options?: OpenOptions): VfioDeviceFile {
    return this.vfio.open(this.sysfsDevice(bdf), options);
  }

  /**
   * A new eventfd in the file table of `iommufd`'s user (default: the default user, whose device
   * files openDevice opens without a context); pass its `fd` in SET_IRQS and similar structs of
   * that user's device files. Closing it frees the number.
   */
  eventfd(iommufd?: IommufdCtx): Eventfd {
    return this.vfio.eventfd(iommufd);
  }

  /**
   * A file an ioctl of `iommufd`'s user opened (a migration data_fd; default: the default user's).
   * EBADF for anything else: a free number, a device file, an eventfd, a number of another user.
   */
  fd(n: number, iommufd?: IommufdCtx): DataStreamFile {
    const table = (iommufd ?? this.vfio.defaultIommufd).files;
    const f = Number.isInteger(n) ? table.getKind(n, 'stream') : undefined;
    if (!f) throw new VfioError('EBADF', `fd ${String(n)} is not an open data stream`);
    return f as DataStreamFile;
  }
}
