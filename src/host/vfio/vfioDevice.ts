import type { FileTable } from '../fileTable.js';
import type { IrqDomain } from '../irqDomain.js';
import type { PciDev } from '../pciDriver.js';
import type { Hardware } from '../../hw/hardware.js';
import type { PciFunction } from '../../hw/pciFunction.js';
import type { VfioDeviceOps } from './vfioDeviceOps.js';
import type { DeviceSetRegistry, VfioDeviceSet } from './deviceSet.js';
import type { IommufdCtx } from './iommufd.js';
import { MigState } from './migrationFsm.js';
import type { DataStreamFile } from './dataStream.js';

/** What the vfio subsystem shares across devices of one host. */
export interface VfioSubsystem {
  readonly hw: Hardware;
  readonly files: FileTable;
  readonly irqs: IrqDomain;
  readonly deviceSets: DeviceSetRegistry;
  /** the registered vfio device of a PCI device, if its driver registered one */
  vfioDeviceOf(dev: PciDev): VfioDevice | undefined;
  /** the host's PCI device for a hardware function */
  pciDevOf(fn: PciFunction): PciDev | undefined;
  /** pci_enable_device / pci_disable_device */
  enableDevice(dev: PciDev): void;
  disableDevice(dev: PciDev): void;
}

/** A file of the device that can be closed under its user when the device leaves the hardware. */
export interface RevocableFile {
  /** Closes the device under the file (its calls then answer ENODEV, its mappings fault). */
  revoke(): void;
}

/**
 * struct vfio_device: one device registered with vfio by its driver, with the ops table that driver
 * chose. The open count drives open_device/close_device; migration state is the core's, the driver
 * only performs single arcs.
 */
export class VfioDevice {
  /** Open files on the device (Linux device->open_count); open_device runs at 0 -> 1, close_device at 1 -> 0. */
  openCount = 0;
  /** The set of devices reset together (Linux vfio_device_set: same slot or bus), shared with its members. */
  devSet!: VfioDeviceSet;
  /** owner context of the open files (one user at a time) */
  owner: IommufdCtx | null = null;
  /** how many times the driver asked for the device back while it was open */
  requestCount = 0;
  /** Registered with the vfio core (vfio_register_group_dev), so it can be opened. */
  registered = false;
  /** Current migration state (VFIO_DEVICE_STATE_*, Linux vfio_device_mig_state); RUNNING when not migrating. */
  migState: MigState = MigState.RUNNING;
  /** the migration data file of the current state, if it has one */
  migFile: DataStreamFile | null = null;
  /** files closed while mapped: each holds the device open until its last munmap, or its revocation */
  readonly heldByMappings = new Set<RevocableFile>();

  constructor(
    /** The vfio subsystem the device is registered with (groups, containers, iommufd, the host hardware). */
    readonly vfio: VfioSubsystem,
    /** The host PCI device this vfio device wraps (Linux struct pci_dev). */
    readonly pdev: PciDev,
    /** The driver's callbacks (struct vfio_device_ops: open_device, read, write, ioctl, migration ...). */
    readonly ops: VfioDeviceOps<any>,
  ) {}

  /** The PCI address of the device, e.g. "0000:01:00.0" (pci_name(pdev)). */
  get bdf(): string {
    return this.pdev.bdf;
  }

  /**
   * The file table fd numbers in this device's ioctls refer to: its open files' owner's (a number
   * never reaches another user's files); the default user's while nobody has it open.
   */
  get files(): FileTable {
    return this.owner?.files ?? this.vfio.files;
  }

  /** vfio_device_pm_runtime_get, run before each device ioctl (drivers with runtime PM override it). */
  pmRuntimeGet(): void {}

  /** vfio_device_pm_runtime_put, run after each device ioctl. */
  pmRuntimePut(): void {}
}
