import { crc32 } from '../hw/devices/dmaEngine/crc32.js';
import { DMAE_OP, DMAE_STATUS } from '../hw/devices/dmaEngine/descriptor.js';
import type { Completion } from '../hw/devices/dmaEngine/descriptor.js';
import type { DmaEngineDriver, DmaJob } from './dmaEngineDriver.js';
import type { Guest } from './guest.js';

export interface WorkloadOptions {
  /** independent jobs that may be in flight at once (default 8) */
  slots?: number;
  /** bytes per job (default 1024, at most the device memory / slots) */
  jobBytes?: number;
  /** PRNG seed for the data (default 1) */
  seed?: number;
}

interface Slot {
  /** the job's data in guest RAM, and where it comes back */
  buf: number;
  out: number;
  devOff: number;
  data: Uint8Array;
  crc: number;
  /** descriptors of the current job not yet completed */
  pending: number;
  /** job number in this slot (for the check) */
  job: number;
}

type Step = DmaJob & { slot: number; step: 'copyIn' | 'checksum' | 'copyOut' };

/**
 * A self-checking load for the DMA engine, as a guest application would run it through the driver:
 * each job writes fresh random bytes into a guest buffer, copies them into device memory
 * (COPY_TO_DEVICE), has the device checksum them (CHECKSUM: the CRC-32 must match), and copies them
 * back into another guest buffer (COPY_FROM_DEVICE: the bytes must match). A job whose results are
 * wrong, a completion for a step that is not outstanding, or one seen twice, is counted as a failure.
 */
export class DmaEngineWorkload {
  private readonly slots: Slot[] = [];
  private readonly steps = new Map<bigint, Step>();
  private seed: number;
  /** Jobs submitted so far. */
  jobsStarted = 0;
  /** Jobs all of whose steps (copies, checksum) completed and were checked. */
  jobsVerified = 0;
  /** What went wrong, one line each (error status, wrong CRC, data that differs, unexpected completions). */
  failures: string[] = [];

  constructor(
    private readonly guest: Guest,
    /** The guest driver the workload submits through. */
    readonly driver: DmaEngineDriver,
    deviceMemoryBytes: number,
    options: WorkloadOptions = {},
  ) {
    const n = options.slots ?? 8;
    const bytes = Math.min(options.jobBytes ?? 1024, Math.floor(deviceMemoryBytes / n));
    this.seed = options.seed ?? 1;
    for (let i = 0; i < n; i++) {
      this.slots.push({
        buf: guest.dma.alloc(bytes, 64),
        out: guest.dma.alloc(bytes, 64),
        devOff: i * bytes,
        data: new Uint8Array(bytes),
        crc: 0,
        pending: 0,
        job: 0,
      });
    }
    driver.onCompletion = (c, job) => this.completed(c, job as Step);
  }

  private random(): number {
    // mulberry32
    let t = (this.seed = (this.seed + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Starts a job in every idle slot the rings have room for; returns how many jobs started. */
  fill(): number {
    let started = 0;
    for (let i = 0; i < this.slots.length; i++) {
      const s = this.slots[i];
      if (s.pending > 0 || this.driver.room < 3) continue;
      for (let k = 0; k < s.data.length; k += 4) {
        const r = this.random();
        for (let b = 0; b < 4 && k + b < s.data.length; b++) s.data[k + b] = (r >>> (8 * b)) & 0xff;
      }
      s.crc = crc32(s.data);
      s.job = ++this.jobsStarted;
      this.guest.memory.write(s.buf, s.data);
      this.guest.memory.bytes.fill(0, s.out, s.out + s.data.length);
      const len = s.data.length;
      const steps: Step[] = [
        { opcode: DMAE_OP.COPY_TO_DEVICE, length: len, src: s.buf, dst: s.devOff, slot: i, step: 'copyIn' },
        { opcode: DMAE_OP.CHECKSUM, length: len, src: s.devOff, slot: i, step: 'checksum' },
        { opcode: DMAE_OP.COPY_FROM_DEVICE, length: len, src: s.devOff, dst: s.out, slot: i, step: 'copyOut' },
      ];
      s.pending = steps.length;
      for (const st of steps) {
        const cookie = this.driver.submit(st);
        if (cookie === null) throw new Error('the ring filled up although room was checked');
        this.steps.set(cookie, st);
      }
      started++;
    }
    return started;
  }

  private completed(c: Completion, step: Step): void {
    if (!this.steps.delete(c.cookie)) {
      this.failures.push(`completion for cookie ${c.cookie} that is not an outstanding step`);
      return;
    }
    const s = this.slots[step.slot];
    if (c.status !== DMAE_STATUS.SUCCESS) this.failures.push(`job ${s.job} ${step.step}: status ${c.status}`);
    else if (step.step === 'checksum' && c.result !== s.crc) this.failures.push(`job ${s.job}: CRC 0x${c.result.toString(16)}, expected 0x${s.crc.toString(16)}`);
    else if (step.step === 'copyOut') {
      const back = this.guest.memory.bytes.subarray(s.out, s.out + s.data.length);
      let same = back.length === s.data.length;
      for (let i = 0; same && i < back.length; i++) same = back[i] === s.data[i];
      if (!same) this.failures.push(`job ${s.job}: data copied back differs`);
    }
    s.pending--;
    if (s.pending === 0) this.jobsVerified++;
  }

  /** Steps submitted and not completed. */
  get outstanding(): number {
    return this.steps.size;
  }
}
