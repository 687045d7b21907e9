// pcisim public surface (see API.md).
export { createEmulator } from './emulator.js';
export type { Emulator, EmulatorOptions } from './emulator.js';
export type { WasmSource } from './core/load.js';
export { Hardware, checkConfigAccess } from './hw/hardware.js';
export { ConfigHandle } from './hw/configHandle.js';
export type { HardwareOptions } from './hw/hardware.js';
export { PciFunction } from './hw/pciFunction.js';
export { Bridge } from './hw/bridge.js';
export { PciBus } from './hw/pciBus.js';
export { GuestMemory } from './hw/guestMemory.js';
export type { GuestMemoryOptions, GuestMemorySource } from './hw/guestMemory.js';
export { InterruptBridge } from './hw/embedding/interruptBridge.js';
export type { EmbedderInterruptSink, IntxLevel, MsiMessage } from './hw/embedding/interruptBridge.js';
export type { DecodeChange, DecodedRange, DecodeListener } from './hw/embedding/decodeEvents.js';
export { IommuDomain } from './hw/embedding/iommu.js';
export type { DmaDirection, IommuFault, IommuMapping } from './hw/embedding/iommu.js';
export { DeviceDma, deviceDma } from './hw/embedding/deviceDma.js';
export { HwLog } from './hw/embedding/hwLog.js';
export { InterruptLog, nullSink } from './hw/interrupts.js';
export type { AerSeverity, InterruptSink } from './hw/interrupts.js';
export type { DeviceModel } from './hw/deviceModel.js';
export type { BarSpec, BridgeSpec, CapabilitySpec, ConfigImageSpec, EndpointSpec, ExtCapabilitySpec } from './hw/spec.js';
export { parseBdf, formatBdf, canonicalBdf } from './hw/bdf.js';
export type { Bdf } from './hw/bdf.js';
export { PciError, PciRangeError, isPciError, PCI_ERRNO } from './hw/pciError.js';
export type { PciErrorCode } from './hw/pciError.js';
export { cf8Address, ecamOffset } from './hw/configMechanism.js';
/** Config space register offsets and bits, named as in Linux's include/uapi/linux/pci_regs.h. */
export * as pciRegs from './hw/pciRegs.js';
export { DmaEngine, dmaEngineOf, DmaEngineStateError } from './hw/devices/dmaEngine/index.js';
export type { DmaEngineMigration, DmaEngineOptions, DmaLogRange } from './hw/devices/dmaEngine/index.js';
/** The migratable sample DMA engine: device model, register layout, descriptors and state blob. */
export * as dmaEngine from './hw/devices/dmaEngine/index.js';
export { Sriov, VirtualFunction } from './hw/sriov.js';
export { VirtioNetPf, virtioNetOf, vfMac } from './hw/devices/virtio/virtioNetPf.js';
export type { VirtioNetOptions } from './hw/devices/virtio/virtioNetPf.js';
export { VirtioNetDevice } from './hw/devices/virtio/virtioNetDevice.js';
export { NetSwitch, Uplink, formatMac, parseMac } from './hw/devices/virtio/netSwitch.js';
export { LoopbackPeer } from './hw/devices/virtio/loopbackPeer.js';
/** Building and parsing the Ethernet, ARP, IPv4 and ICMP frames the virtio-net peers exchange. */
export * as ethernetFrames from './hw/devices/virtio/ethernetFrames.js';
export { AdminQueueClient, encodeAdminCommand, legacyWriteData } from './hw/devices/virtio/adminClient.js';
export type { AdminReply, LegacyNotifyInfo } from './hw/devices/virtio/adminClient.js';
export { VirtioModernDriver } from './hw/devices/virtio/modernDriver.js';
export { DriverVirtqueue } from './hw/devices/virtio/driverVirtqueue.js';
export { placeBars, enableVfs } from './hw/devices/virtio/bringUp.js';
/** Numbers of the virtio 1.3 specification and Linux's include/uapi/linux/virtio_{config,pci,ring,net}.h. */
export * as virtioSpec from './hw/devices/virtio/virtioSpec.js';
export { Host } from './host/host.js';
export { VFIO } from './host/vfio/uapi/constants.js';
export type { VfioConstants } from './host/vfio/uapi/constants.js';
/** Encoders and decoders of the vfio uapi structs (include/uapi/linux/vfio.h layouts, little-endian). */
export * as uapi from './host/vfio/uapi/index.js';
export { VfioError, isVfioError } from './host/vfio/vfioError.js';
export { ERRNO, errnoName } from './host/vfio/errno.js';
export { VirtioPciDriver, VirtioPciDevice } from './host/virtio/virtioPciDriver.js';
export { virtioVfioPciDriver, virtiovfDevice, VIRTIO_VFIO_PCI_DRIVER } from './host/variants/virtio/main.js';
export { VirtiovfPciCoreDevice } from './host/variants/virtio/virtiovfDevice.js';
export { DMAE_VFIO_PCI_DRIVER, dmaeVfioPciDriver, DmaeVfioDevice, DMAE_MIGRATION_FLAGS } from './host/variants/dmaEngine/index.js';
/** The DMA engine variant driver's migration data stream format (records, checksums). */
export * as dmaeStreamFormat from './host/variants/dmaEngine/streamFormat.js';
export { vfioPciDriver, genericVfioPciDriver } from './host/vfio/vfioPciDriver.js';
export type { VfioPciDriverSpec } from './host/vfio/vfioPciDriver.js';
export { VfioPciCoreDevice } from './host/vfio/pciCore/vfioPciCoreDevice.js';
/** vfio-pci-core's device operations (drivers/vfio/pci/vfio_pci_core.c), for variant drivers to build on. */
export * as vfioPciCore from './host/vfio/pciCore/vfioPciCore.js';
export type { VfioDeviceOps, VfioMigrationOps, VfioLogOps, MmapArea } from './host/vfio/vfioDeviceOps.js';
export type { VfioDeviceFile } from './host/vfio/deviceFile.js';
export { regionOffset } from './host/vfio/deviceFile.js';
export type { VfioMapping } from './host/vfio/mapping.js';
export { VfioMmapFault } from './host/vfio/mapping.js';
export type { DataStream, DataStreamFile } from './host/vfio/dataStream.js';
export { Eventfd } from './host/fileTable.js';
export { IommufdCtx } from './host/vfio/iommufd.js';
export { pciDeviceId, PCI_ANY_ID } from './host/pciDriver.js';
export type { PciDeviceId, PciDriver, PciDev } from './host/pciDriver.js';
export type { ErrnoName } from './host/vfio/errno.js';
export {
  MigState, MIG_FLAG, migrationNextState, migrationArcs, migrationDriverArcs, isSupportedArc, migStateName,
} from './host/vfio/migrationFsm.js';
// The VMM (src/vmm) and the guest OS on its bus (src/guest).
export { Vmm } from './vmm/vmm.js';
export { Ioas, IOMMU_PAGE } from './vmm/ioas.js';
export type { GuestInterruptController as VmmInterruptController, GuestRam, VmmOptions } from './vmm/vmm.js';
export { VfioPciDevice } from './vmm/vfioPciDevice.js';
export { VfioClient } from './vmm/vfioClient.js';
export { liveMigrate } from './vmm/liveMigration.js';
export type { LiveMigrationOptions, LiveMigrationReport } from './vmm/liveMigration.js';
export { MigrationSource } from './vmm/migrationSource.js';
export type { MigrationOptions, PassReport, StopCopyReport } from './vmm/migrationSource.js';
export { MigrationDestination } from './vmm/migrationDestination.js';
export { MigrationError, VfioMigration } from './vmm/vfioMigration.js';
export { Guest } from './guest/guest.js';
export type { GuestBoard, GuestBus } from './guest/guest.js';
export { GuestInterruptController } from './guest/interruptController.js';
export { setupInterrupts } from './guest/interruptSetup.js';
export type { IrqMode, IrqVectors } from './guest/interruptSetup.js';
export { DmaEngineDriver } from './guest/dmaEngineDriver.js';
export { DmaEngineWorkload } from './guest/dmaEngineWorkload.js';
export { enumerate, platformPools } from './guest/enumerator.js';
export type { EnumeratedFunction, EnumerationResult } from './guest/enumerator.js';
export { cf8Access, ecamAccess, cf8WithEcamAccess } from './guest/configAccess.js';
export { formatLspci } from './guest/lspci.js';
export { probeVirtioNetLegacy, isLegacyVirtioNet } from './guest/virtioNetLegacyPci.js';
export type { VirtioNetLegacyPci, VirtioNetLegacyPciOptions } from './guest/virtioNetLegacyPci.js';
export { VirtioNetLegacyDriver } from './guest/virtioNetLegacyDriver.js';
export { GuestNetStack } from './guest/netStack.js';
export type { EchoReply } from './guest/netStack.js';
