// pcisim/vmm: the QEMU-style VMM over vfio device files (virtual bus, MSI/MSI-X and INTx emulation,
// live migration orchestration).
export { Vmm } from './vmm.js';
export { Ioas, IOMMU_PAGE } from './ioas.js';
export type { GuestInterruptController as VmmInterruptController, GuestRam, VmmOptions } from './vmm.js';
export { VfioPciDevice } from './vfioPciDevice.js';
export { VfioClient } from './vfioClient.js';
export { liveMigrate } from './liveMigration.js';
export type { LiveMigrationOptions, LiveMigrationReport } from './liveMigration.js';
export { MigrationSource } from './migrationSource.js';
export type { MigrationOptions, PassReport, StopCopyReport } from './migrationSource.js';
export { MigrationDestination } from './migrationDestination.js';
export { MigrationError, VfioMigration } from './vfioMigration.js';
