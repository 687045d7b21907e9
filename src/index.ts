// pcisim public surface (see API.md).
export { createEmulator } from './emulator.js';
export type { Emulator, EmulatorOptions } from './emulator.js';
export { Hardware, checkConfigAccess } from './hw/hardware.js';
export type { HardwareOptions } from './hw/hardware.js';
export { PciFunction } from './hw/pciFunction.js';
export { Bridge } from './hw/bridge.js';
export { PciBus } from './hw/pciBus.js';
export { GuestMemory } from './hw/guestMemory.js';
export { InterruptLog, nullSink } from './hw/interrupts.js';
export type { InterruptSink } from './hw/interrupts.js';
export type { DeviceModel } from './hw/deviceModel.js';
export type { BarSpec, BridgeSpec, CapabilitySpec, EndpointSpec, ExtCapabilitySpec } from './hw/spec.js';
export { parseBdf, formatBdf } from './hw/bdf.js';
export { cf8Address, ecamOffset } from './hw/configMechanism.js';
export * as pciRegs from './hw/pciRegs.js';
export { Sriov, VirtualFunction } from './hw/sriov.js';
export { VirtioNetPf, virtioNetOf, vfMac } from './hw/devices/virtio/virtioNetPf.js';
export type { VirtioNetOptions } from './hw/devices/virtio/virtioNetPf.js';
export { VirtioNetDevice } from './hw/devices/virtio/virtioNetDevice.js';
export { NetSwitch, Uplink, formatMac, parseMac } from './hw/devices/virtio/netSwitch.js';
export { LoopbackPeer } from './hw/devices/virtio/loopbackPeer.js';
export * as ethernetFrames from './hw/devices/virtio/ethernetFrames.js';
export { AdminQueueClient, encodeAdminCommand, legacyWriteData } from './hw/devices/virtio/adminClient.js';
export type { AdminReply, LegacyNotifyInfo } from './hw/devices/virtio/adminClient.js';
export { VirtioModernDriver } from './hw/devices/virtio/modernDriver.js';
export { DriverVirtqueue } from './hw/devices/virtio/driverVirtqueue.js';
export { placeBars, enableVfs } from './hw/devices/virtio/bringUp.js';
export * as virtioSpec from './hw/devices/virtio/virtioSpec.js';
export { Host } from './host/host.js';
export { VFIO } from './host/vfio/uapi/constants.js';
export type { VfioConstants } from './host/vfio/uapi/constants.js';
export * as uapi from './host/vfio/uapi/index.js';
export { VfioError, isVfioError } from './host/vfio/vfioError.js';
export { ERRNO, errnoName } from './host/vfio/errno.js';
export type { ErrnoName } from './host/vfio/errno.js';
export {
  MigState, MIG_FLAG, migrationNextState, migrationArcs, isSupportedArc, migStateName,
} from './host/vfio/migrationFsm.js';
