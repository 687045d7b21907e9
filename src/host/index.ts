// pcisim/host: the emulated host kernel (PCI core, driver core and binding, vfio with vfio-pci-core,
// the variant drivers, the migration FSM and uapi constants).
export { Host } from './host.js';
export { VFIO } from './vfio/uapi/constants.js';
export type { VfioConstants } from './vfio/uapi/constants.js';
/** Encoders and decoders of the vfio uapi structs (include/uapi/linux/vfio.h layouts, little-endian). */
export * as uapi from './vfio/uapi/index.js';
export { VfioError, isVfioError } from './vfio/vfioError.js';
export { ERRNO, errnoName } from './vfio/errno.js';
export { VirtioPciDriver, VirtioPciDevice } from './virtio/virtioPciDriver.js';
export { virtioVfioPciDriver, virtiovfDevice, VIRTIO_VFIO_PCI_DRIVER } from './variants/virtio/main.js';
export { VirtiovfPciCoreDevice } from './variants/virtio/virtiovfDevice.js';
export { DMAE_VFIO_PCI_DRIVER, dmaeVfioPciDriver, DmaeVfioDevice, DMAE_MIGRATION_FLAGS } from './variants/dmaEngine/index.js';
/** The DMA engine variant driver's migration data stream format (records, checksums). */
export * as dmaeStreamFormat from './variants/dmaEngine/streamFormat.js';
export { vfioPciDriver, genericVfioPciDriver } from './vfio/vfioPciDriver.js';
export type { VfioPciDriverSpec } from './vfio/vfioPciDriver.js';
export { VfioPciCoreDevice } from './vfio/pciCore/vfioPciCoreDevice.js';
/** vfio-pci-core's device operations (drivers/vfio/pci/vfio_pci_core.c), for variant drivers to build on. */
export * as vfioPciCore from './vfio/pciCore/vfioPciCore.js';
export type { VfioDeviceOps, VfioMigrationOps, VfioLogOps, MmapArea } from './vfio/vfioDeviceOps.js';
export type { VfioDeviceFile } from './vfio/deviceFile.js';
export { regionOffset } from './vfio/deviceFile.js';
export type { VfioMapping } from './vfio/mapping.js';
export { VfioMmapFault } from './vfio/mapping.js';
export type { DataStream, DataStreamFile } from './vfio/dataStream.js';
export { Eventfd } from './fileTable.js';
export { IommufdCtx } from './vfio/iommufd.js';
export { pciDeviceId, PCI_ANY_ID } from './pciDriver.js';
export type { PciDeviceId, PciDriver, PciDev } from './pciDriver.js';
export type { ErrnoName } from './vfio/errno.js';
export {
  MigState, MIG_FLAG, migrationNextState, migrationArcs, migrationDriverArcs, isSupportedArc, migStateName,
} from './vfio/migrationFsm.js';
