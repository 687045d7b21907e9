// dmae-vfio-pci, the DMA engine's variant driver: the driver, its device, the migration stream.
export { DMAE_VFIO_PCI_DRIVER, dmaeVfioPciDriver, dmaeVfioPciOps } from './dmaeVfioPciDriver.js';
export { DmaeVfioDevice } from './dmaeVfioDevice.js';
export { DMAE_MIGRATION_FLAGS, dmaeMigrationOps } from './dmaeMigration.js';
export { dmaeLogOps } from './dmaeLogging.js';
export * as dmaeStreamFormat from './streamFormat.js';
export { StreamChecksum, streamChecksum } from './streamChecksum.js';
