// A DMA engine driven at the hardware level for the embedding tests: BARs, rings, descriptors,
// completions, all through MMIO and the memory the hardware was given.
import type { Hardware } from '../../src/index.js';
import {
  DMAE_CQE_SIZE, DMAE_DESC_SIZE, DMAE_REG, decodeCompletion, dmaEngineOf, encodeDescriptor,
} from '../../src/hw/devices/dmaEngine/index.js';
import type { Completion, DmaEngine } from '../../src/hw/devices/dmaEngine/index.js';

const RING_LOG2 = 4;
const RING = 1 << RING_LOG2;

export type Desc = Parameters<typeof encodeDescriptor>[0];

export class DmaRig {
  readonly dev: DmaEngine;
  private sqTail = 0;
  private cqHead = 0;
  private phase = 1;

  constructor(
    readonly hw: Hardware,
    readonly bdf: string,
    readonly regs: number,
    readonly sq: number,
    readonly cq: number,
  ) {
    hw.addDmaEngine(bdf, { deviceMemoryBytes: 64 << 10 });
    this.dev = dmaEngineOf(hw.function(bdf)!)!;
    hw.configWrite(bdf, 0x10, 4, regs);
    hw.configWrite(bdf, 0x14, 4, 0);
    hw.configWrite(bdf, 0x18, 4, 0);
    hw.configWrite(bdf, 0x1c, 4, 0x8);
    hw.configWrite(bdf, 0x04, 2, 0x6); // memory decode, bus master
    this.wr(DMAE_REG.SQ_BASE_LO, sq);
    this.wr(DMAE_REG.SQ_SIZE, RING_LOG2);
    this.wr(DMAE_REG.CQ_BASE_LO, cq);
    this.wr(DMAE_REG.CQ_SIZE, RING_LOG2);
    this.wr(DMAE_REG.CONTROL, 1);
  }

  wr(off: number, v: number): void {
    this.hw.mmioWrite(this.regs + off, 4, v);
  }

  /** Queues descriptors (written through the hardware's memory) and rings the doorbell. */
  submit(...ds: Desc[]): void {
    for (const d of ds) {
      this.hw.memory.write(this.sq + this.sqTail * DMAE_DESC_SIZE, encodeDescriptor(d));
      this.sqTail = (this.sqTail + 1) % RING;
    }
    this.wr(DMAE_REG.SQ_TAIL, this.sqTail);
  }

  /** Runs the engine and returns the completions it posted. */
  run(): Completion[] {
    this.dev.step(64);
    const out: Completion[] = [];
    for (;;) {
      const c = decodeCompletion(this.hw.memory.read(this.cq + this.cqHead * DMAE_CQE_SIZE, DMAE_CQE_SIZE));
      if (c.phase !== this.phase) break;
      out.push(c);
      this.cqHead = (this.cqHead + 1) % RING;
      if (this.cqHead === 0) this.phase ^= 1;
    }
    this.wr(DMAE_REG.CQ_HEAD, this.cqHead);
    return out;
  }
}
