import { crc32 } from './crc32.js';
import type { Descriptor } from './descriptor.js';
import { DMAE_DESC_FLAGS_VALID, DMAE_OP, DMAE_STATUS } from './descriptor.js';
import type { DeviceMemory } from './deviceMemory.js';
import type { DmaPort } from './dmaPort.js';

export interface Outcome {
  status: number;
  /** the completion's result field */
  result: number;
  /** bytes processed, for the BYTES counter */
  bytes: number;
}

const fail = (status: number): Outcome => ({ status, result: 0, bytes: 0 });
const done = (result: number, bytes: number): Outcome => ({ status: DMAE_STATUS.SUCCESS, result, bytes });

/**
 * Carries out one descriptor against device memory and guest memory (through the bus-master
 * port), in the order of checks descriptor.ts documents. Never throws for any descriptor.
 */
export function execute(d: Descriptor, mem: DeviceMemory, port: DmaPort): Outcome {
  if (d.reserved !== 0 || (d.flags & ~DMAE_DESC_FLAGS_VALID) !== 0) return fail(DMAE_STATUS.BAD_DESCRIPTOR);
  const len = d.length;
  switch (d.opcode) {
    case DMAE_OP.NOP:
      return done(0, 0);
    case DMAE_OP.COPY_TO_DEVICE: {
      if (len === 0) return done(0, 0);
      if (!mem.contains(d.dst, len)) return fail(DMAE_STATUS.DEVMEM_RANGE);
      const data = port.read(d.src, len);
      if (data === null) return fail(DMAE_STATUS.DMA_READ_ERROR);
      mem.write(d.dst, data);
      return done(len, len);
    }
    case DMAE_OP.COPY_FROM_DEVICE: {
      if (len === 0) return done(0, 0);
      if (!mem.contains(d.src, len)) return fail(DMAE_STATUS.DEVMEM_RANGE);
      if (!port.write(d.dst, mem.bytes.subarray(d.src, d.src + len))) return fail(DMAE_STATUS.DMA_WRITE_ERROR);
      return done(len, len);
    }
    case DMAE_OP.FILL: {
      if (len === 0) return done(0, 0);
      if (!mem.contains(d.dst, len)) return fail(DMAE_STATUS.DEVMEM_RANGE);
      mem.fill32(d.dst, len, d.srcLo);
      return done(len, len);
    }
    case DMAE_OP.CHECKSUM: {
      if (len === 0) return done(0, 0);
      if (!mem.contains(d.src, len)) return fail(DMAE_STATUS.DEVMEM_RANGE);
      return done(crc32(mem.bytes, d.src, d.src + len), len);
    }
    case DMAE_OP.COPY_DEVICE: {
      if (len === 0) return done(0, 0);
      if (!mem.contains(d.src, len) || !mem.contains(d.dst, len)) return fail(DMAE_STATUS.DEVMEM_RANGE);
      mem.copyWithin(d.dst, d.src, len);
      return done(len, len);
    }
    default:
      return fail(DMAE_STATUS.BAD_OPCODE);
  }
}
