// pcisim/guest: pcisim's own guest OS pieces (enumerator, lspci view, legacy virtio-net driver,
// ARP/ICMP stack, DMA engine driver), for scenarios without a real kernel.
export { Guest } from './guest.js';
export type { GuestBoard, GuestBus } from './guest.js';
export { GuestInterruptController } from './interruptController.js';
export { setupInterrupts } from './interruptSetup.js';
export type { IrqMode, IrqVectors } from './interruptSetup.js';
export { DmaEngineDriver } from './dmaEngineDriver.js';
export { DmaEngineWorkload } from './dmaEngineWorkload.js';
export { enumerate, platformPools } from './enumerator.js';
export type { EnumeratedFunction, EnumerationResult } from './enumerator.js';
export { cf8Access, ecamAccess, cf8WithEcamAccess } from './configAccess.js';
export { formatLspci } from './lspci.js';
export { probeVirtioNetLegacy, isLegacyVirtioNet } from './virtioNetLegacyPci.js';
export type { VirtioNetLegacyPci, VirtioNetLegacyPciOptions } from './virtioNetLegacyPci.js';
export { VirtioNetLegacyDriver } from './virtioNetLegacyDriver.js';
export { GuestNetStack } from './netStack.js';
export type { EchoReply } from './netStack.js';
