import type { DmaEngine } from '../../../hw/devices/dmaEngine/dmaEngine.js';
import { dmaEngineOf } from '../../../hw/devices/dmaEngine/dmaEngine.js';
import type { PciDev } from '../../pciDriver.js';
import type { VfioSubsystem } from '../../vfio/vfioDevice.js';
import type { VfioDeviceOps } from '../../vfio/vfioDeviceOps.js';
import { VfioPciCoreDevice } from '../../vfio/pciCore/vfioPciCoreDevice.js';
import { VfioError } from '../../vfio/vfioError.js';
import { captureConfig } from './configImage.js';
import { captureIrqSetup, encodeIrqSetup } from './irqSetup.js';
import type { IrqSetup } from './irqSetup.js';
import type { ResumingStream } from './resumingStream.js';
import type { SavingSource, SavingStream } from './savingStream.js';
import { END_RECORD_BYTES, SECTION, SECTION_HEADER_BYTES, STREAM_HEADER_BYTES, encodeSection, encodeStreamHeader, pagesSectionBytes } from './streamFormat.js';
import type { StreamIdentity } from './streamFormat.js';

const PCI_REVISION_ID = 0x08;
const PCI_SUBSYSTEM_VENDOR_ID = 0x2c;
const PCI_SUBSYSTEM_ID = 0x2e;

/**
 * The vfio device of a DMA engine bound to dmae-vfio-pci (what mlx5vf_pci_core_device is to
 * mlx5): a vfio-pci-core device plus the migration state the variant driver keeps for it.
 */
export class DmaeVfioDevice extends VfioPciCoreDevice {
  /** the device model behind the function: its migration interface (quiesce, dirty tracking, save/restore) */
  readonly engine: DmaEngine;
  /** the saving data fd of the current pre-copy / STOP_COPY, if any */
  saving: SavingStream | null = null;
  /** the resuming data fd of the current RESUMING, if any */
  resuming: ResumingStream | null = null;
  /** an arc failed and left the device unusable: the migration state is ERROR until DEVICE_RESET */
  broken = false;
  /**
   * After a resume: the source's interrupt setup, which the VMM must have re-established before
   * the device runs again (irqSetup.ts). Cleared when the device reaches RUNNING.
   */
  expectedIrqs: IrqSetup | null = null;

  constructor(vfio: VfioSubsystem, pdev: PciDev, ops: VfioDeviceOps<any>) {
    super(vfio, pdev, ops);
    const engine = dmaEngineOf(pdev.fn);
    if (!engine) throw new VfioError('ENODEV', `${pdev.bdf} is not a DMA engine`);
    this.engine = engine;
  }

  /** The identity the stream header carries (the device must be open: it needs the config size). */
  identity(): StreamIdentity {
    this.requireOpen();
    const fn = this.fn;
    return {
      vendorId: fn.vendorId,
      deviceId: fn.deviceId,
      subsystemVendorId: fn.configRead(PCI_SUBSYSTEM_VENDOR_ID, 2),
      subsystemId: fn.configRead(PCI_SUBSYSTEM_ID, 2),
      revision: fn.configRead(PCI_REVISION_ID, 1),
      configSize: this.config!.size,
      deviceMemoryBytes: this.engine.deviceMemoryBytes,
      pageSize: this.engine.deviceMemoryPageSize,
      stateBytes: this.engine.stateBytes,
      driver: this.ops.name,
    };
  }

  /** The interrupt setup the stream carries: the one still owed after a resume, else the current one. */
  irqSetup(): IrqSetup {
    return this.expectedIrqs ?? captureIrqSetup(this);
  }

  /** DEVICE_STATE + VCONFIG + IRQS sections, captured now. */
  tailSections(): Uint8Array[] {
    return [
      encodeSection(SECTION.DEVICE_STATE, this.engine.saveState()),
      encodeSection(SECTION.VCONFIG, captureConfig(this.config!)),
      encodeSection(SECTION.IRQS, encodeIrqSetup(this.irqSetup())),
    ];
  }

  /** Bytes of the stream's tail (device state, virtual config and IRQ setup sections) as it would be encoded now. */
  tailBytes(): number {
    return 3 * SECTION_HEADER_BYTES + this.engine.stateBytes + this.config!.size + encodeIrqSetup(this.irqSetup()).length;
  }

  /** MIG_DATA_SIZE with no stream open: the whole STOP_COPY stream. */
  fullStreamBytes(): number {
    const e = this.engine;
    return STREAM_HEADER_BYTES + pagesSectionBytes(e.deviceMemoryBytes / e.deviceMemoryPageSize, e.deviceMemoryPageSize) + this.tailBytes() + END_RECORD_BYTES;
  }

  /** What a saving stream reads from this device. */
  savingSource(tracking: boolean): SavingSource {
    const engine = this.engine;
    const id = this.identity();
    const pageSize = engine.deviceMemoryPageSize;
    return {
      pageSize,
      pages: engine.deviceMemoryBytes / pageSize,
      deviceMemoryBytes: engine.deviceMemoryBytes,
      tracking,
      pageView: (first, count) => engine.deviceMemoryView(first * pageSize, count * pageSize),
      takeDirtyPages: () => engine.takeDirtyPages(),
      dirtyPageCount: () => engine.dirtyPageCount(),
      header: () => encodeStreamHeader(id),
      tail: () => this.tailSections(),
      tailBytes: () => this.tailBytes(),
      migState: () => this.migState,
    };
  }
}
