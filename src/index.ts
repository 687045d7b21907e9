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
export { Host } from './host/host.js';
