import type { Hardware } from '../hw/hardware.js';
import type { PciAliasEntry } from './driverCore.js';
import { DriverCore } from './driverCore.js';
import type { HostPciDev } from './pciCore.js';
import { PciCore } from './pciCore.js';
import type { PciDriver } from './pciDriver.js';
import { VfioError } from './vfio/vfioError.js';

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

  constructor(readonly hw: Hardware) {
    this.pci = new PciCore(hw);
    this.driverCore = new DriverCore(this.pci);
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

  /** Registers a PCI driver (EBUSY if the name is taken); it autoprobes matching unbound devices. */
  registerDriver(drv: PciDriver): void {
    this.pci.sync();
    this.driverCore.registerDriver(drv);
  }

  /** modules.alias: every alias the registered drivers publish. */
  aliases(): PciAliasEntry[] {
    return this.driverCore.aliases();
  }
}
