// The vfio uapi (include/uapi/linux/vfio.h) as TypeScript: constants, ioctl numbers and the
// little-endian encode/decode of every struct the vfio device file exchanges.

export { VFIO } from './constants.js';
export type { VfioConstants } from './constants.js';
export * from './ioctlNumber.js';
export * from './uapiError.js';
export * from './structLayout.js';
export * from './deviceInfo.js';
export * from './regionInfo.js';
export * from './infoCap.js';
export * from './irqInfo.js';
export * from './irqSet.js';
export * from './hotReset.js';
export * from './ioeventfd.js';
export * from './deviceFeature.js';
export * from './migrationFeature.js';
export * from './lowPowerFeature.js';
export * from './dmaLogging.js';
export * from './precopyInfo.js';
