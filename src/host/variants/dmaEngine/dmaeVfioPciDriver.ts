// dmae-vfio-pci: the variant driver of the DMA engine (the migratable sample device), built on
// vfio-pci-core like mlx5-vfio-pci and hisi-acc-vfio-pci. Everything a plain vfio-pci device does
// is vfio-pci-core's; this driver adds migration (dmaeMigration.ts) and DMA logging
// (dmaeLogging.ts), and on open and close puts the device's migration controls back to neutral.
//
// Its id table has one override_only entry for the DMA engine's vendor and device, published as a
// `vfio_pci:` alias: it never binds by itself, and `host.bind(bdf)` without a name picks it over
// vfio-pci (whose alias matches anything) because it is the more specific match.

import { dmaEngineOf } from '../../../hw/devices/dmaEngine/dmaEngine.js';
import { DMAE_DEVICE_ID, DMAE_VENDOR_ID } from '../../../hw/devices/dmaEngine/dmaEngineSpec.js';
import type { PciDev, PciDriver } from '../../pciDriver.js';
import { pciDeviceId } from '../../pciDriver.js';
import type { VfioCore } from '../../vfio/vfioCore.js';
import type { VfioDeviceOps } from '../../vfio/vfioDeviceOps.js';
import { VfioError } from '../../vfio/vfioError.js';
import { vfioPciDriver } from '../../vfio/vfioPciDriver.js';
import { vfioPciCoreCloseDevice, vfioPciCoreOpenDevice, vfioPciCoreOps } from '../../vfio/pciCore/vfioPciCore.js';
import { dmaeLogOps } from './dmaeLogging.js';
import { dmaeMigrationOps, resetMigration } from './dmaeMigration.js';
import { DmaeVfioDevice } from './dmaeVfioDevice.js';

/** Name of the DMA engine's migration-capable vfio-pci variant driver. */
export const DMAE_VFIO_PCI_DRIVER = 'dmae-vfio-pci';

function openDevice(vdev: DmaeVfioDevice): void {
  vfioPciCoreOpenDevice(vdev);
  // a new user starts with the device running, untracked and unlogged
  resetMigration(vdev);
  if (vdev.engine.dmaLogging) vdev.engine.dmaLogStop();
}

function closeDevice(vdev: DmaeVfioDevice): void {
  // the core has already returned migration to RUNNING (migrationReset); logging is the driver's
  if (vdev.engine.dmaLogging) vdev.engine.dmaLogStop();
  vfioPciCoreCloseDevice(vdev);
}

/** The ops: vfio-pci-core's defaults, plus open/close, migration and DMA logging. */
export const dmaeVfioPciOps: VfioDeviceOps<DmaeVfioDevice> = {
  ...vfioPciCoreOps,
  name: DMAE_VFIO_PCI_DRIVER,
  openDevice,
  closeDevice,
  migrationOps: dmaeMigrationOps,
  logOps: dmaeLogOps,
};

/** The PCI driver, registered by the host at boot next to vfio-pci. */
export function dmaeVfioPciDriver(vfio: VfioCore): PciDriver {
  return vfioPciDriver<DmaeVfioDevice>(vfio, {
    name: DMAE_VFIO_PCI_DRIVER,
    idTable: [pciDeviceId({ vendor: DMAE_VENDOR_ID, device: DMAE_DEVICE_ID, overrideOnly: true })],
    ops: dmaeVfioPciOps,
    create: (core, pdev, ops) => new DmaeVfioDevice(core, pdev, ops),
    probe: (pdev: PciDev) => {
      if (!dmaEngineOf(pdev.fn)) throw new VfioError('ENODEV', `${pdev.bdf} matches ${DMAE_VFIO_PCI_DRIVER}'s ids but is not a DMA engine`);
    },
  });
}
