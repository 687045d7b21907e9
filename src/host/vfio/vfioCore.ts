import type { Hardware } from '../../hw/hardware.js';
import type { PciFunction } from '../../hw/pciFunction.js';
import { Eventfd, FileTable } from '../fileTable.js';
import { IrqDomain } from '../irqDomain.js';
import type { PciDev } from '../pciDriver.js';
import { DeviceSetRegistry } from './deviceSet.js';
import { VfioDeviceFileImpl } from './deviceFile.js';
import { IommufdCtx } from './iommufd.js';
import type { VfioDevice, VfioSubsystem } from './vfioDevice.js';
import { VfioError } from './vfioError.js';
import { registerMigrationFeatures } from './migration/features.js';

export interface OpenOptions {
  /** owner context; files opened with the same context belong to one user (default: the host's) */
  iommufd?: IommufdCtx;
  /** VF token (UUID string) for SR-IOV PFs and VFs bound to vfio-pci */
  vfToken?: string;
}

/**
 * The vfio subsystem of one host: registered devices, their device sets, the file table holding
 * eventfds and open files, and the interrupt domain that turns hardware messages into eventfd
 * signals.
 */
export class VfioCore implements VfioSubsystem {
  readonly irqs = new IrqDomain();
  readonly deviceSets = new DeviceSetRegistry();
  readonly defaultIommufd = new IommufdCtx('default');
  /** the file table of the default user (every file opened or made without a context) */
  get files(): FileTable {
    return this.defaultIommufd.files;
  }
  private readonly devices = new Map<PciDev, VfioDevice>();

  constructor(
    readonly hw: Hardware,
    private readonly pci: {
      deviceOf(fn: PciFunction): PciDev | undefined;
      enableDevice(dev: PciDev): void;
      disableDevice(dev: PciDev): void;
      /** bus_register_notifier on the PCI bus (vfio-pci's PFs capture their VFs' driver_override) */
      registerBusNotifier?(nb: (action: 'add', dev: PciDev) => void): () => void;
    },
  ) {
    registerMigrationFeatures();
  }

  enableDevice(dev: PciDev): void {
    this.pci.enableDevice(dev);
  }

  disableDevice(dev: PciDev): void {
    this.pci.disableDevice(dev);
  }

  /** bus_register_notifier: hears of devices added to the PCI bus; returns the unregister (a no-op without a PCI core). */
  registerBusNotifier(nb: (action: 'add', dev: PciDev) => void): () => void {
    return this.pci.registerBusNotifier?.(nb) ?? (() => {});
  }

  pciDevOf(fn: PciFunction): PciDev | undefined {
    return this.pci.deviceOf(fn);
  }

  vfioDeviceOf(dev: PciDev): VfioDevice | undefined {
    return this.devices.get(dev);
  }

  /** vfio_register_group_dev: the driver hands its device to vfio with a device-set id. */
  register(vdev: VfioDevice, setId: unknown): void {
    vdev.devSet = this.deviceSets.assign(vdev, setId);
    vdev.ops.init?.(vdev);
    vdev.registered = true;
    this.devices.set(vdev.pdev, vdev);
  }

  /**
   * vfio_unregister_group_dev: while the device is open, ask the user to release it through the
   * request op; a user that keeps it open makes the unbind fail with EBUSY (the kernel would wait).
   * A device leaving the hardware (hot-unplug: its pci_dev is no longer present) cannot wait: the
   * files still open are revoked (closed under their user; their calls answer ENODEV).
   */
  unregister(vdev: VfioDevice): void {
    if (vdev.openCount > 0) {
      vdev.ops.request?.(vdev, vdev.requestCount++);
      if (vdev.openCount > 0) {
        if ((vdev.pdev as { present?: boolean }).present !== false) throw new VfioError('EBUSY', `${vdev.bdf} is still open; close the device file first`);
        for (const f of this.files.list()) if (f instanceof VfioDeviceFileImpl && f.vdev === vdev) f.revoke();
        for (const f of [...vdev.heldByMappings]) f.revoke();
      }
    }
    vdev.registered = false;
    this.devices.delete(vdev.pdev);
    this.deviceSets.release(vdev);
    vdev.ops.release?.(vdev);
  }

  /** Opens the device's file (VFIO_DEVICE_BIND_IOMMUFD on its cdev). */
  open(dev: PciDev, options: OpenOptions = {}): VfioDeviceFileImpl {
    const vdev = this.devices.get(dev);
    if (!vdev) throw new VfioError('ENODEV', `${dev.bdf} is not bound to a vfio driver`);
    vdev.ops.match?.(vdev, options.vfToken ?? null);
    const owner = options.iommufd ?? this.defaultIommufd;
    const file = new VfioDeviceFileImpl(vdev, owner);
    file.fd = owner.files.install(file, 'device');
    file.onClose = (f) => owner.files.release(f.fd, f);
    return file;
  }

  /** A new eventfd in the file table of `owner` (default: the default user's). */
  eventfd(owner: IommufdCtx = this.defaultIommufd): Eventfd {
    return new Eventfd().installIn(owner.files);
  }
}
