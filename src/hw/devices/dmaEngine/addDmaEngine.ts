import type { Hardware } from '../../hardware.js';
import type { PciFunction } from '../../pciFunction.js';
import { DmaEngine } from './dmaEngine.js';
import type { DmaEngineOptions } from './dmaEngineSpec.js';
import { deviceMemoryBytesOf, dmaEngineSpec } from './dmaEngineSpec.js';

/** Builds the DMA engine at `bdf` (what `hw.addDmaEngine` does); `dmaEngineOf(fn)` reaches its model. */
export function addDmaEngine(hw: Hardware, bdf: string, options?: DmaEngineOptions): PciFunction {
  const bytes = deviceMemoryBytesOf(options);
  const engine = new DmaEngine(bytes, hw.memory);
  return hw.addFunction(bdf, dmaEngineSpec(bytes), engine, undefined, (f) => engine.attach(f));
}
