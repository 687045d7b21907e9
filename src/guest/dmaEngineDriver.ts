import { DMAE_CQE_SIZE, DMAE_DESC_SIZE, decodeCompletion, encodeDescriptor } from '../hw/devices/dmaEngine/descriptor.js';
import type { Completion } from '../hw/devices/dmaEngine/descriptor.js';
import { DMAE_DEVICE_ID, DMAE_VENDOR_ID } from '../hw/devices/dmaEngine/dmaEngineSpec.js';
import {
  DMAE_BAR_REGS, DMAE_CONTROL_ENABLE, DMAE_ID_VALUE, DMAE_INT_ALL, DMAE_INT_COMPLETION, DMAE_REG, DMAE_VECTOR_COMPLETION,
} from '../hw/devices/dmaEngine/regs.js';
import type { EnumeratedFunction } from './enumerator.js';
import type { Guest } from './guest.js';
import type { IrqMode, IrqVectors } from './interruptSetup.js';
import { setupInterrupts } from './interruptSetup.js';

export interface DmaEngineDriverOptions {
  /** interrupt modes to try in order (default MSI-X, then INTx) */
  irq?: IrqMode[];
  /** log2 of the submission / completion ring entries (default 6 / 7) */
  sqLog2?: number;
  cqLog2?: number;
  /** INT_COALESCE: completions per interrupt (default 1) */
  coalesce?: number;
}

/** A descriptor as the driver submits it (the cookie is the driver's). */
export interface DmaJob {
  opcode: number;
  length: number;
  src?: number | bigint;
  dst?: number | bigint;
  flags?: number;
}

/** Called once per completion the driver reaps, with the job it belongs to. */
export type CompletionHandler = (c: Completion, job: DmaJob) => void;

/**
 * A guest driver for the DMA engine (the migratable sample device), written against its register
 * map and ring formats only (regs.ts, descriptor.ts) and reaching it through MMIO at the address
 * firmware assigned: it sets up the rings in guest RAM, enables the engine, takes MSI-X (or INTx)
 * interrupts, and reaps completions by cookie. Each cookie must come back exactly once: a duplicate
 * or a cookie never submitted is counted, never silently ignored.
 */
export class DmaEngineDriver {
  /** Submission ring size in descriptors (a power of two). */
  readonly sqEntries: number;
  /** Completion ring size in entries (a power of two). */
  readonly cqEntries: number;
  /** Guest-physical address of the submission ring. */
  readonly sqBase: number;
  /** Guest-physical address of the completion ring. */
  readonly cqBase: number;
  private readonly regs: number;
  private sqTail = 0;
  private cqHead = 0;
  private phase = 1;
  private nextCookie = 1n;
  private readonly outstanding = new Map<bigint, DmaJob>();
  private readonly done = new Set<bigint>();
  private irqs: IrqVectors | null = null;
  /** Called for every completion reaped, with the completion entry and its job; null = count only. */
  onCompletion: CompletionHandler | null = null;
  /** counters */
  submitted = 0;
  /** Completions reaped for submitted cookies. */
  completed = 0;
  /** Completions that reported an error status. */
  errors = 0;
  /** Completions whose cookie had already completed (a device bug if non-zero). */
  duplicates = 0;
  /** Completions with a cookie never submitted (a device bug if non-zero). */
  unknown = 0;
  /** Interrupts handled: every MSI-X vector call, and INTx calls that found the device interrupting. */
  interrupts = 0;
  /** INTx handler calls that found the device not interrupting (a shared line's other device) */
  notOurs = 0;

  constructor(
    private readonly guest: Guest,
    /** The DMA engine function as the guest's enumeration found it (BAR0 holds the registers). */
    readonly fn: EnumeratedFunction,
    private readonly options: DmaEngineDriverOptions = {},
  ) {
    if (fn.vendorId !== DMAE_VENDOR_ID || fn.deviceId !== DMAE_DEVICE_ID) throw new Error(`${fn.bdf} is not a DMA engine`);
    const bar = fn.bars.find((b) => b.index === DMAE_BAR_REGS);
    if (!bar || bar.address === null) throw new Error(`${fn.bdf}: BAR0 has no address`);
    this.regs = bar.address;
    this.sqEntries = 1 << (options.sqLog2 ?? 6);
    this.cqEntries = 1 << (options.cqLog2 ?? 7);
    this.sqBase = guest.dma.alloc(this.sqEntries * DMAE_DESC_SIZE, 4096);
    this.cqBase = guest.dma.alloc(this.cqEntries * DMAE_CQE_SIZE, 4096);
  }

  /** 32-bit MMIO read of register `reg` (DMAE_REG offset) in BAR0. */
  readReg(reg: number): number {
    return this.guest.io.mmioRead(this.regs + reg, 4);
  }

  /** 32-bit MMIO write of register `reg` (DMAE_REG offset) in BAR0. */
  writeReg(reg: number, value: number): void {
    this.guest.io.mmioWrite(this.regs + reg, 4, value >>> 0);
  }

  /** Brings the engine up: identity check, rings, interrupts, ENABLE. */
  probe(): void {
    const id = this.readReg(DMAE_REG.ID);
    if (id !== DMAE_ID_VALUE) throw new Error(`${this.fn.bdf}: ID register reads 0x${id.toString(16)}`);
    this.writeReg(DMAE_REG.CONTROL, 0);
    this.guest.memory.bytes.fill(0, this.cqBase, this.cqBase + this.cqEntries * DMAE_CQE_SIZE);
    this.writeReg(DMAE_REG.SQ_BASE_LO, this.sqBase % 2 ** 32);
    this.writeReg(DMAE_REG.SQ_BASE_HI, Math.floor(this.sqBase / 2 ** 32));
    this.writeReg(DMAE_REG.SQ_SIZE, Math.log2(this.sqEntries));
    this.writeReg(DMAE_REG.CQ_BASE_LO, this.cqBase % 2 ** 32);
    this.writeReg(DMAE_REG.CQ_BASE_HI, Math.floor(this.cqBase / 2 ** 32));
    this.writeReg(DMAE_REG.CQ_SIZE, Math.log2(this.cqEntries));
    this.writeReg(DMAE_REG.INT_COALESCE, this.options.coalesce ?? 1);
    this.writeReg(DMAE_REG.INT_STATUS, DMAE_INT_ALL);
    this.irqs = setupInterrupts(
      this.guest,
      this.fn,
      this.options.irq ?? ['msix', 'intx'],
      [(i) => this.msixInterrupt(i), (i) => this.msixInterrupt(i)],
      () => this.intxInterrupt(),
    );
    this.writeReg(DMAE_REG.INT_MASK, 0);
    this.sqTail = 0;
    this.cqHead = 0;
    this.phase = 1;
    this.writeReg(DMAE_REG.CONTROL, DMAE_CONTROL_ENABLE);
  }

  /** The interrupt mode probe set up ('msix' or 'intx'), null before probe. */
  get irqMode(): IrqMode | null {
    return this.irqs?.mode ?? null;
  }

  /** The interrupt vectors probe set up, null before probe. */
  get irqVectors(): IrqVectors | null {
    return this.irqs;
  }

  /** Descriptors submitted and not yet completed. */
  get inFlight(): number {
    return this.outstanding.size;
  }

  /** Room in the submission ring (one slot stays empty) and in the completion ring. */
  get room(): number {
    return Math.min(this.sqEntries - 1, this.cqEntries - 1) - this.outstanding.size;
  }

  /** Writes the descriptor into the ring and rings the doorbell; returns its cookie, or null when full. */
  submit(job: DmaJob): bigint | null {
    if (this.room <= 0) return null;
    const cookie = this.nextCookie++;
    const d = encodeDescriptor({ ...job, cookie });
    this.guest.memory.write(this.sqBase + this.sqTail * DMAE_DESC_SIZE, d);
    this.sqTail = (this.sqTail + 1) & (this.sqEntries - 1);
    this.outstanding.set(cookie, job);
    this.submitted++;
    this.writeReg(DMAE_REG.SQ_TAIL, this.sqTail);
    return cookie;
  }

  /** Reaps every completion the device has posted; returns how many. */
  poll(): number {
    const mem = this.guest.memory;
    let n = 0;
    for (;;) {
      const at = this.cqBase + this.cqHead * DMAE_CQE_SIZE;
      const c = decodeCompletion(mem.bytes, at);
      if (c.phase !== this.phase) break;
      this.cqHead = (this.cqHead + 1) & (this.cqEntries - 1);
      if (this.cqHead === 0) this.phase ^= 1;
      n++;
      const job = this.outstanding.get(c.cookie);
      if (job === undefined) {
        if (this.done.has(c.cookie)) this.duplicates++;
        else this.unknown++;
        continue;
      }
      this.outstanding.delete(c.cookie);
      this.done.add(c.cookie);
      this.completed++;
      if (c.status !== 0) this.errors++;
      this.onCompletion?.(c, job);
    }
    if (n > 0) this.writeReg(DMAE_REG.CQ_HEAD, this.cqHead);
    return n;
  }

  /** Whether `cookie` has completed. */
  isDone(cookie: bigint): boolean {
    return this.done.has(cookie);
  }

  private msixInterrupt(index: number): void {
    this.interrupts++;
    // the causes latch in INT_STATUS with MSI-X too; acknowledge what this vector reports
    const st = this.readReg(DMAE_REG.INT_STATUS);
    const mine = index === DMAE_VECTOR_COMPLETION ? st & DMAE_INT_COMPLETION : st & ~DMAE_INT_COMPLETION & DMAE_INT_ALL;
    if (mine) this.writeReg(DMAE_REG.INT_STATUS, mine);
    this.poll();
  }

  /** INTx (possibly shared): claim it only if the device has a cause latched. */
  private intxInterrupt(): boolean {
    const raw = this.readReg(DMAE_REG.INT_STATUS);
    const st = raw & DMAE_INT_ALL;
    if (st === 0 || raw === 0xffffffff) {
      this.notOurs++;
      return false;
    }
    this.interrupts++;
    this.writeReg(DMAE_REG.INT_STATUS, st);
    this.poll();
    return true;
  }

  /** Stops the engine and releases its interrupts. */
  remove(): void {
    this.writeReg(DMAE_REG.CONTROL, 0);
    this.irqs?.free();
    this.irqs = null;
  }
}
