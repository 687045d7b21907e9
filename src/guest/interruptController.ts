import type { InterruptSink } from '../hw/interrupts.js';
import type { PciFunction } from '../hw/pciFunction.js';

/** x86 MSI address window: a message is a write of its data to 0xFEExxxxx (destination in bits 19:12). */
export const MSI_ADDRESS_BASE = 0xfee00000;
/** Vectors 0-31 are exceptions; Linux hands out device vectors from 0x20 up (0x30 here, as on the host). */
export const FIRST_DEVICE_VECTOR = 0x30;
const LAST_VECTOR = 0xff;
/** An INTx line re-raised this many times in a row without any handler claiming it is switched off ("nobody cared"). */
const UNHANDLED_LIMIT = 1000;

/** A message the guest programs into an MSI or MSI-X entry. */
export interface MsiMessage {
  addressLo: number;
  addressHi: number;
  data: number;
}

/** An INTx handler: returns whether its device was interrupting (shared lines ask every handler). */
export type IntxHandler = () => boolean;

/**
 * The guest's interrupt controller: a local APIC (one CPU) with an I/O APIC behind the PCI INTx
 * lines. It is the guest bus's InterruptSink: MSI/MSI-X messages set the vector's IRR bit, INTx
 * levels go through the PIRQ routing (pin swizzled to the root bus, as firmware set Interrupt Line)
 * to level-triggered I/O APIC inputs. Nothing runs when an interrupt arrives; the guest CPU takes
 * pending vectors when it calls service(), highest first, runs the handlers and EOIs: for an INTx
 * vector the I/O APIC's remote IRR clears and the EOI listener (the VMM's resampler) hears of every
 * source asserting that line; a line still asserted afterwards is delivered again.
 */
export class GuestInterruptController implements InterruptSink {
  /** PIRQ A-D -> I/O APIC input (SeaBIOS's defaults, as the enumerator wrote to Interrupt Line) */
  readonly pirqs: readonly number[];
  private readonly irr = new Uint8Array(256);
  private readonly vectorHandlers = new Map<number, () => void>();
  /** I/O APIC input -> bdfs of the functions asserting it */
  private readonly lines = new Map<number, Set<string>>();
  private readonly sources = new Map<string, PciFunction>();
  private readonly remoteIrr = new Set<number>();
  private readonly lineVector = new Map<number, number>();
  private readonly vectorLine = new Map<number, number>();
  private readonly lineHandlers = new Map<number, IntxHandler[]>();
  private readonly unhandledRuns = new Map<number, number>();
  private readonly disabledLines = new Set<number>();
  private eoiListener: ((source: PciFunction) => void) | null = null;
  private readonly seen = new Set<string>();
  /** what the controller refused or could not deliver, each kind once */
  readonly log: string[] = [];
  /** counters: messages accepted, coalesced into a vector already pending, dropped as malformed or unclaimed */
  messages = 0;
  /** MSI messages for a vector already pending (merged into one interrupt, as a real APIC does). */
  coalesced = 0;
  /** MSI messages dropped: not an interrupt address, illegal vector or delivery mode, or no handler. */
  spurious = 0;
  /** handler runs per vector */
  readonly delivered = new Map<number, number>();

  constructor(pirqs: readonly number[] = [10, 10, 11, 11]) {
    this.pirqs = pirqs;
  }

  private logOnce(key: string, line: string): void {
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.log.push(line);
  }

  // ---- vectors (the kernel's vector matrix) ---------------------------------------------------------

  /**
   * Reserves `n` consecutive vectors (n a power of two, the block aligned to n, as multi-message MSI
   * needs) and returns the first; `handler` gets the index within the block.
   */
  allocVectors(n: number, handler: (index: number) => void): number {
    if (!Number.isInteger(n) || n < 1 || n > 32 || (n & (n - 1)) !== 0) throw new RangeError(`vector block of ${n} is not a power of two up to 32`);
    for (let base = FIRST_DEVICE_VECTOR; base + n - 1 <= LAST_VECTOR; base += n) {
      let free = true;
      for (let i = 0; i < n && free; i++) free = !this.vectorHandlers.has(base + i);
      if (!free) continue;
      for (let i = 0; i < n; i++) this.vectorHandlers.set(base + i, () => handler(i));
      return base;
    }
    throw new RangeError(`no block of ${n} free vectors`);
  }

  /** Releases `n` vectors from `base` (their handlers and pending bits), as free_irq does. */
  freeVectors(base: number, n: number): void {
    for (let i = 0; i < n; i++) {
      this.vectorHandlers.delete(base + i);
      this.irr[base + i] = 0;
    }
  }

  /** The message that delivers `vector` to this CPU (fixed delivery, physical destination 0). */
  message(vector: number): MsiMessage {
    return { addressLo: MSI_ADDRESS_BASE, addressHi: 0, data: vector & 0xff };
  }

  // ---- INTx through the I/O APIC --------------------------------------------------------------------

  /** The I/O APIC input a function's INTx reaches: its pin swizzled up to the root bus, then PIRQ routing. */
  lineOf(source: PciFunction): number {
    const [device, pin] = source.intxRoute();
    return pin === 0 ? -1 : this.pirqs[(device + pin - 1) & 3];
  }

  /** request_irq on an I/O APIC input (shared): returns the function that frees it. */
  requestIrq(line: number, handler: IntxHandler): () => void {
    let hs = this.lineHandlers.get(line);
    if (!hs) {
      hs = [];
      this.lineHandlers.set(line, hs);
      const vector = this.allocVectors(1, () => this.runLine(line));
      this.lineVector.set(line, vector);
      this.vectorLine.set(vector, line);
    }
    hs.push(handler);
    this.disabledLines.delete(line);
    this.unhandledRuns.delete(line);
    // a line already asserted when the handler arrives is delivered now
    this.raiseLine(line);
    return () => {
      const list = this.lineHandlers.get(line);
      if (!list) return;
      const i = list.indexOf(handler);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) {
        this.lineHandlers.delete(line);
        const v = this.lineVector.get(line)!;
        this.freeVectors(v, 1);
        this.lineVector.delete(line);
        this.vectorLine.delete(v);
        this.remoteIrr.delete(line);
      }
    };
  }

  /** Whether an I/O APIC input is asserted by any function. */
  lineAsserted(line: number): boolean {
    return (this.lines.get(line)?.size ?? 0) > 0;
  }

  private raiseLine(line: number): void {
    if (!this.lineAsserted(line) || this.remoteIrr.has(line) || this.disabledLines.has(line)) return;
    const v = this.lineVector.get(line);
    if (v === undefined) return; // masked: no handler has asked for it yet
    this.remoteIrr.add(line);
    this.irr[v] = 1;
  }

  private runLine(line: number): void {
    let handled = false;
    for (const h of [...(this.lineHandlers.get(line) ?? [])]) if (h()) handled = true;
    if (handled) {
      this.unhandledRuns.delete(line);
      return;
    }
    this.spurious++;
    const n = (this.unhandledRuns.get(line) ?? 0) + 1;
    this.unhandledRuns.set(line, n);
    if (n >= UNHANDLED_LIMIT) {
      this.disabledLines.add(line);
      this.logOnce(`nobody:${line}`, `irq ${line}: nobody cared (${n} unhandled interrupts in a row); disabling it`);
    }
  }

  // ---- InterruptSink ---------------------------------------------------------------------------------

  /** InterruptSink: accepts an MSI write to the 0xfee00000 window and makes its vector pending. */
  msi(addressLo: number, addressHi: number, data: number, source: PciFunction): void {
    if (addressHi !== 0 || ((addressLo & 0xfff00000) >>> 0) !== MSI_ADDRESS_BASE) {
      this.spurious++;
      this.logOnce(`addr:${source.bdf}`, `${source.bdf}: MSI write to 0x${addressHi.toString(16)}_${(addressLo >>> 0).toString(16).padStart(8, '0')} is not an interrupt message; dropped`);
      return;
    }
    const vector = data & 0xff;
    const mode = (data >>> 8) & 7;
    if (vector < 0x10 || (mode !== 0 && mode !== 1)) {
      this.spurious++;
      this.logOnce(`data:${source.bdf}`, `${source.bdf}: MSI data 0x${data.toString(16)} names an illegal vector or delivery mode; dropped`);
      return;
    }
    if (!this.vectorHandlers.has(vector)) {
      this.spurious++;
      this.logOnce(`vec:${vector}`, `${source.bdf}: MSI for vector 0x${vector.toString(16)}, which no driver requested; dropped`);
      return;
    }
    this.messages++;
    if (this.irr[vector]) this.coalesced++;
    this.irr[vector] = 1;
  }

  /** InterruptSink: records the function's INTx level on its routed line; asserting raises the line. */
  intx(source: PciFunction, asserted: boolean): void {
    const line = this.lineOf(source);
    if (line < 0) return;
    this.sources.set(source.bdf, source);
    let set = this.lines.get(line);
    if (!set) this.lines.set(line, (set = new Set()));
    if (asserted) set.add(source.bdf);
    else set.delete(source.bdf);
    if (asserted) this.raiseLine(line);
  }

  /** Sets who hears of an INTx end-of-interrupt (the VMM's resampling of an assigned device); null removes it. */
  setEoiListener(listener: ((source: PciFunction) => void) | null): void {
    this.eoiListener = listener;
  }

  // ---- the CPU -----------------------------------------------------------------------------------------

  /** Whether any vector is waiting. */
  get pending(): boolean {
    for (let v = LAST_VECTOR; v >= 0x10; v--) if (this.irr[v]) return true;
    return false;
  }

  /**
   * Takes pending interrupts (highest vector first), runs their handlers and EOIs them, until none is
   * left or `budget` handlers ran. Returns the number of handlers run.
   */
  service(budget = 10000): number {
    let ran = 0;
    while (ran < budget) {
      let v = LAST_VECTOR;
      while (v >= 0x10 && this.irr[v] === 0) v--;
      if (v < 0x10) break;
      this.irr[v] = 0;
      this.delivered.set(v, (this.delivered.get(v) ?? 0) + 1);
      this.vectorHandlers.get(v)?.();
      ran++;
      this.eoi(v);
    }
    return ran;
  }

  /** EOI of `vector`: for an I/O APIC line, remote IRR clears, the resampler hears, a still-high line fires again. */
  private eoi(vector: number): void {
    const line = this.vectorLine.get(vector);
    if (line === undefined) return;
    this.remoteIrr.delete(line);
    for (const bdf of [...(this.lines.get(line) ?? [])]) {
      const src = this.sources.get(bdf);
      if (src) this.eoiListener?.(src);
    }
    this.raiseLine(line);
  }
}
