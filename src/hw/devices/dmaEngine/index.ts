// The DMA engine, the migratable sample device: public pieces for drivers, tests and the VMM.
export { addDmaEngine } from './addDmaEngine.js';
export { DmaEngine, dmaEngineOf } from './dmaEngine.js';
export type { DmaEngineMigration } from './dmaEngineMigration.js';
export {
  DMAE_CLASS_CODE, DMAE_DEFAULT_DEVICE_MEMORY, DMAE_DEVICE_ID, DMAE_REVISION, DMAE_VENDOR_ID, dmaEngineSpec,
} from './dmaEngineSpec.js';
export type { DmaEngineOptions } from './dmaEngineSpec.js';
export * from './regs.js';
export {
  DMAE_CQE_SIZE, DMAE_DESC_FLAG_IRQ, DMAE_DESC_SIZE, DMAE_OP, DMAE_STATUS, decodeCompletion, encodeDescriptor,
} from './descriptor.js';
export type { Completion } from './descriptor.js';
export { DEVMEM_PAGE_SIZE } from './deviceMemory.js';
export { DMA_LOG_MAX_PAGE, DMA_LOG_MAX_RANGES, DMA_LOG_MIN_PAGE } from './dmaWriteLog.js';
export type { DmaLogRange } from './dmaWriteLog.js';
export { DmaEngineStateError, STATE_BYTES as DMAE_STATE_BYTES, STATE_VERSION as DMAE_STATE_VERSION } from './stateBlob.js';
export { crc32 } from './crc32.js';
