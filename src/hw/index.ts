// pcisim/hw: the physical PCI layer alone (functions, config space, BARs, bridges, SR-IOV, the
// config mechanisms, address routing, interrupt delivery, the device models). Imports nothing from
// the host kernel, the VMM or the guest, so a hardware-only page bundles only this.
export { Hardware, checkConfigAccess } from './hardware.js';
export type { HardwareOptions } from './hardware.js';
export type { WasmSource } from '../core/load.js';
export { PciFunction } from './pciFunction.js';
export { Bridge } from './bridge.js';
export { PciBus } from './pciBus.js';
export { GuestMemory } from './guestMemory.js';
export type { GuestMemoryOptions, GuestMemorySource } from './guestMemory.js';
export { InterruptBridge } from './embedding/interruptBridge.js';
export type { EmbedderInterruptSink, IntxLevel, MsiMessage } from './embedding/interruptBridge.js';
export type { DecodeChange, DecodedRange, DecodeListener } from './embedding/decodeEvents.js';
export { IommuDomain } from './embedding/iommu.js';
export type { DmaDirection, IommuFault, IommuMapping } from './embedding/iommu.js';
export { DeviceDma, deviceDma } from './embedding/deviceDma.js';
export { HwLog } from './embedding/hwLog.js';
export { InterruptLog, nullSink } from './interrupts.js';
export type { AerSeverity, InterruptSink } from './interrupts.js';
export type { DeviceModel } from './deviceModel.js';
export type { BarSpec, BridgeSpec, CapabilitySpec, ConfigImageSpec, EndpointSpec, ExtCapabilitySpec } from './spec.js';
export { ConfigHandle } from './configHandle.js';
export { parseBdf, formatBdf, canonicalBdf } from './bdf.js';
export type { Bdf } from './bdf.js';
export { PciError, PciRangeError, isPciError, PCI_ERRNO } from './pciError.js';
export type { PciErrorCode } from './pciError.js';
export { cf8Address, ecamOffset } from './configMechanism.js';
/** Config space register offsets and bits, named as in Linux's include/uapi/linux/pci_regs.h. */
export * as pciRegs from './pciRegs.js';
export { DmaEngine, dmaEngineOf, DmaEngineStateError } from './devices/dmaEngine/index.js';
export type { DmaEngineMigration, DmaEngineOptions, DmaLogRange } from './devices/dmaEngine/index.js';
/** The migratable sample DMA engine: device model, register layout, descriptors and state blob. */
export * as dmaEngine from './devices/dmaEngine/index.js';
export { Sriov, VirtualFunction } from './sriov.js';
export { VirtioNetPf, virtioNetOf, vfMac } from './devices/virtio/virtioNetPf.js';
export type { VirtioNetOptions } from './devices/virtio/virtioNetPf.js';
export { VirtioNetDevice } from './devices/virtio/virtioNetDevice.js';
export { NetSwitch, Uplink, formatMac, parseMac } from './devices/virtio/netSwitch.js';
export { LoopbackPeer } from './devices/virtio/loopbackPeer.js';
/** Building and parsing the Ethernet, ARP, IPv4 and ICMP frames the virtio-net peers exchange. */
export * as ethernetFrames from './devices/virtio/ethernetFrames.js';
export { AdminQueueClient, encodeAdminCommand, legacyWriteData } from './devices/virtio/adminClient.js';
export type { AdminReply, LegacyNotifyInfo } from './devices/virtio/adminClient.js';
export { VirtioModernDriver } from './devices/virtio/modernDriver.js';
export { DriverVirtqueue } from './devices/virtio/driverVirtqueue.js';
export { placeBars, enableVfs } from './devices/virtio/bringUp.js';
/** Numbers of the virtio 1.3 specification and Linux's include/uapi/linux/virtio_{config,pci,ring,net}.h. */
export * as virtioSpec from './devices/virtio/virtioSpec.js';
