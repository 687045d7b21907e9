import type { DeviceModel } from '../../deviceModel.js';
import type { GuestMemory } from '../../guestMemory.js';
import { PCI_COMMAND, PCI_COMMAND_MASTER, PCI_REVISION_ID } from '../../pciRegs.js';
import type { PciFunction } from '../../pciFunction.js';
import { DMAE_CQE_SIZE, DMAE_DESC_FLAG_IRQ, DMAE_DESC_SIZE, DMAE_STATUS, decodeDescriptor, encodeCompletion } from './descriptor.js';
import { DEVMEM_PAGE_SIZE, DeviceMemory } from './deviceMemory.js';
import type { DmaEngineMigration } from './dmaEngineMigration.js';
import { DmaPort } from './dmaPort.js';
import type { DmaLogRange } from './dmaWriteLog.js';
import { DmaWriteLog } from './dmaWriteLog.js';
import { EngineState } from './engineState.js';
import { execute } from './executor.js';
import { InterruptUnit } from './interruptUnit.js';
import {
  DMAE_BAR_DEVMEM, DMAE_BAR_REGS, DMAE_COALESCE_MASK, DMAE_CONTROL_ENABLE, DMAE_CONTROL_RW, DMAE_CQ_BASE_MASK, DMAE_ID_VALUE,
  DMAE_INT_ALL, DMAE_INT_COMPLETION, DMAE_INT_ERROR, DMAE_INT_FAULT, DMAE_REG, DMAE_REG_PAGE, DMAE_RING_SIZE_MASK,
  DMAE_SQ_BASE_MASK, DMAE_STATUS_BUSY, DMAE_STATUS_CQ_FULL, DMAE_STATUS_DMA_BLOCKED, DMAE_STATUS_ENABLED, DMAE_STATUS_FAULT,
  DMAE_STATUS_QUIESCED, DMAE_VERSION_VALUE,
} from './regs.js';
import { STATE_BYTES, decodeState, encodeState } from './stateBlob.js';
import type { DeviceIdentity } from './stateBlob.js';
import { stateDigest } from './stateDigest.js';

const TWO32 = 4294967296;
const SIZE_MASK = [0, 0xff, 0xffff, 0, 0xffffffff];

/**
 * The DMA engine: the migratable sample device behind `hw.addDmaEngine`. Registers are in
 * regs.ts, ring formats in descriptor.ts, the save-state format in stateBlob.ts, the migration
 * interface in dmaEngineMigration.ts.
 *
 * Execution model: deterministic, driven by the embedding code, never by timers. MMIO only records
 * (a doorbell write moves SQ_TAIL and nothing else happens); the device does its work when it is
 * ticked: `tick(fn, budget)` (the DeviceModel hook, so a VMM or test can tick every function of
 * `hw.functions()` whose model has one), `step(budget)` or `run()`. A tick fetches, executes and
 * completes up to `budget` descriptors, then posts the batch's interrupts. Nothing happens while
 * the engine is disabled or halted, Command.Bus Master is clear, the function is not in D0, or
 * the migration driver has quiesced it; the work waits.
 */
export class DmaEngine implements DeviceModel, DmaEngineMigration {
  /** The device's own memory (what STOP_COPY streams out), with its dirty-page tracking. */
  readonly devmem: DeviceMemory;
  private readonly log: DmaWriteLog;
  private readonly state = new EngineState();
  private fn_: PciFunction | null = null;
  private port_: DmaPort | null = null;
  private irq_: InterruptUnit | null = null;
  private quiesced_ = false;

  constructor(deviceMemoryBytes: number, memory: GuestMemory) {
    this.devmem = new DeviceMemory(deviceMemoryBytes);
    this.log = new DmaWriteLog(memory.size);
  }

  /** Binds the model to its function (once, when the function is built). */
  attach(fn: PciFunction): void {
    if (this.fn_ !== null) throw new Error('this DMA engine already belongs to a function');
    this.fn_ = fn;
    this.port_ = new DmaPort(fn, this.log);
    this.irq_ = new InterruptUnit(this.state, fn, () => this.mayInitiateDma());
  }

  /** The PCI function this model drives, once it is attached to one. */
  get fn(): PciFunction {
    if (this.fn_ === null) throw new Error('the DMA engine is not attached to a function');
    return this.fn_;
  }

  private get irq(): InterruptUnit {
    if (this.irq_ === null) throw new Error('the DMA engine is not attached to a function');
    return this.irq_;
  }

  private get busMaster(): boolean {
    return (this.fn.configRead(PCI_COMMAND, 2) & PCI_COMMAND_MASTER) !== 0;
  }

  /** Bus Master set, D0, not quiesced, the function still present. */
  private mayInitiateDma(): boolean {
    const f = this.fn;
    return f.alive && f.powerState === 0 && !this.quiesced_ && this.busMaster;
  }

  // ---- execution -----------------------------------------------------------------------------------

  /** DeviceModel hook: processes up to `budget` descriptors; returns how many completed. */
  tick(_fn: PciFunction, budget: number): number {
    return this.step(budget);
  }

  /** Processes up to `budget` descriptors as one completion batch; returns how many completed. */
  step(budget: number): number {
    if (typeof budget !== 'number' || !(budget >= 0)) throw new RangeError(`budget must be a non-negative number, got ${String(budget)}`);
    const f = this.fn_;
    if (f === null || !f.alive) return 0;
    const s = this.state;
    const irq = this.irq;
    irq.syncIntx();
    if (!this.mayInitiateDma()) return 0;
    irq.flush();
    if ((s.control & DMAE_CONTROL_ENABLE) === 0 || s.fault !== 0) return 0;
    const port = this.port_!;
    const sqMask = 2 ** s.sqSizeLog2 - 1;
    const cqMask = 2 ** s.cqSizeLog2 - 1;
    const sqBase = s.sqBaseHi * TWO32 + s.sqBaseLo;
    const cqBase = s.cqBaseHi * TWO32 + s.cqBaseLo;
    let n = 0;
    let errors = false;
    let irqFlag = false;
    let stalled = false;
    while (n < budget && s.sqHead !== s.sqTail) {
      if (((s.cqTail + 1) & cqMask) === s.cqHead) {
        stalled = true;
        break;
      }
      const raw = port.read(sqBase + s.sqHead * DMAE_DESC_SIZE, DMAE_DESC_SIZE);
      if (raw === null) {
        this.ringFault();
        break;
      }
      const d = decodeDescriptor(new DataView(raw.buffer, raw.byteOffset, DMAE_DESC_SIZE), 0);
      const out = execute(d, this.devmem, port);
      if (!port.write(cqBase + s.cqTail * DMAE_CQE_SIZE, encodeCompletion(d, out.status, out.result, s.sqHead, s.cqPhase))) {
        this.ringFault();
        break;
      }
      s.sqHead = (s.sqHead + 1) & sqMask;
      s.cqTail = (s.cqTail + 1) & cqMask;
      if (s.cqTail === 0) s.cqPhase ^= 1;
      s.completed++;
      if (out.status === DMAE_STATUS.SUCCESS) s.bytes += out.bytes;
      else {
        s.errors = (s.errors + 1) >>> 0;
        errors = true;
      }
      if (d.flags & DMAE_DESC_FLAG_IRQ) irqFlag = true;
      if (s.pendingCompletions < 0xffffffff) s.pendingCompletions++;
      n++;
    }
    const threshold = Math.max(1, s.coalesce);
    if (s.pendingCompletions > 0 && (s.pendingCompletions >= threshold || s.sqHead === s.sqTail || irqFlag || stalled || s.fault !== 0)) {
      s.pendingCompletions = 0;
      irq.raise(DMAE_INT_COMPLETION);
    }
    if (errors) irq.raise(DMAE_INT_ERROR);
    return n;
  }

  /** Processes everything queued now (bounded by the ring size); returns how many completed. */
  run(): number {
    return this.step(2 ** this.state.sqSizeLog2);
  }

  private ringFault(): void {
    this.state.fault = 1;
    this.state.errors = (this.state.errors + 1) >>> 0;
    this.irq.raise(DMAE_INT_FAULT);
  }

  // ---- MMIO ------------------------------------------------------------------------------------------

  barRead(_fn: PciFunction, bar: number, offset: number, size: 1 | 2 | 4): number {
    if (bar === DMAE_BAR_DEVMEM) {
      const m = this.devmem;
      if (offset < 0 || offset + size > m.size) return 0;
      let v = 0;
      for (let i = size - 1; i >= 0; i--) v = v * 256 + m.bytes[offset + i];
      return v;
    }
    if (bar !== DMAE_BAR_REGS || offset >= DMAE_REG_PAGE) return 0;
    const shift = 8 * (offset & 3);
    return (this.readReg(offset & ~3) >>> shift) & SIZE_MASK[size];
  }

  barWrite(_fn: PciFunction, bar: number, offset: number, size: 1 | 2 | 4, value: number): void {
    if (bar === DMAE_BAR_DEVMEM) {
      const m = this.devmem;
      if (offset < 0 || offset + size > m.size) return;
      for (let i = 0; i < size; i++) m.bytes[offset + i] = (value >>> (8 * i)) & 0xff;
      m.markDirty(offset, size);
      return;
    }
    if (bar !== DMAE_BAR_REGS || offset >= DMAE_REG_PAGE) return;
    const shift = 8 * (offset & 3);
    const lanes = (SIZE_MASK[size] << shift) >>> 0;
    this.writeReg(offset & ~3, ((value << shift) & lanes) >>> 0, lanes);
  }

  /** The value of the register at dword offset `reg`. */
  readReg(reg: number): number {
    const s = this.state;
    switch (reg) {
      case DMAE_REG.ID:
        return DMAE_ID_VALUE;
      case DMAE_REG.VERSION:
        return DMAE_VERSION_VALUE;
      case DMAE_REG.DEVMEM_SIZE_LO:
        return this.devmem.size % TWO32;
      case DMAE_REG.DEVMEM_SIZE_HI:
        return Math.floor(this.devmem.size / TWO32);
      case DMAE_REG.CONTROL:
        return s.control;
      case DMAE_REG.STATUS:
        return this.status();
      case DMAE_REG.INT_STATUS:
        return s.intStatus;
      case DMAE_REG.INT_MASK:
        return s.intMask;
      case DMAE_REG.INT_COALESCE:
        return s.coalesce;
      case DMAE_REG.SCRATCH:
        return s.scratch;
      case DMAE_REG.SQ_BASE_LO:
        return s.sqBaseLo;
      case DMAE_REG.SQ_BASE_HI:
        return s.sqBaseHi;
      case DMAE_REG.SQ_SIZE:
        return s.sqSizeLog2;
      case DMAE_REG.SQ_TAIL:
        return s.sqTail;
      case DMAE_REG.SQ_HEAD:
        return s.sqHead;
      case DMAE_REG.CQ_BASE_LO:
        return s.cqBaseLo;
      case DMAE_REG.CQ_BASE_HI:
        return s.cqBaseHi;
      case DMAE_REG.CQ_SIZE:
        return s.cqSizeLog2;
      case DMAE_REG.CQ_HEAD:
        return s.cqHead;
      case DMAE_REG.CQ_TAIL:
        return s.cqTail;
      case DMAE_REG.CQ_PHASE:
        return s.cqPhase;
      case DMAE_REG.COMPLETED_LO:
        return s.completed % TWO32;
      case DMAE_REG.COMPLETED_HI:
        return Math.floor(s.completed / TWO32);
      case DMAE_REG.BYTES_LO:
        return s.bytes % TWO32;
      case DMAE_REG.BYTES_HI:
        return Math.floor(s.bytes / TWO32);
      case DMAE_REG.ERRORS:
        return s.errors;
      case DMAE_REG.IRQS:
        return s.irqs;
      default:
        return 0;
    }
  }

  private status(): number {
    const s = this.state;
    let v = 0;
    const enabled = (s.control & DMAE_CONTROL_ENABLE) !== 0;
    const busy = enabled && s.sqHead !== s.sqTail;
    if (enabled) v |= DMAE_STATUS_ENABLED;
    if (busy) v |= DMAE_STATUS_BUSY;
    if (s.fault) v |= DMAE_STATUS_FAULT;
    if (busy && ((s.cqTail + 1) & (2 ** s.cqSizeLog2 - 1)) === s.cqHead) v |= DMAE_STATUS_CQ_FULL;
    if (this.quiesced_) v |= DMAE_STATUS_QUIESCED;
    if (busy && (!this.busMaster || this.fn.powerState !== 0)) v |= DMAE_STATUS_DMA_BLOCKED;
    return v;
  }

  /** A byte-enabled write: `data` holds the written bytes at their lanes, `lanes` says which. */
  private writeReg(reg: number, data: number, lanes: number): void {
    const s = this.state;
    const enabled = (s.control & DMAE_CONTROL_ENABLE) !== 0;
    switch (reg) {
      case DMAE_REG.CONTROL: {
        const next = mergeLanes(s.control, data, lanes) & DMAE_CONTROL_RW;
        if ((next ^ s.control) & DMAE_CONTROL_ENABLE) this.resetRings();
        s.control = next;
        return;
      }
      case DMAE_REG.INT_STATUS:
        this.irq.acknowledge(data & DMAE_INT_ALL);
        return;
      case DMAE_REG.INT_MASK:
        this.irq.setMask(mergeLanes(s.intMask, data, lanes) & DMAE_INT_ALL);
        return;
      case DMAE_REG.INT_COALESCE:
        s.coalesce = mergeLanes(s.coalesce, data, lanes) & DMAE_COALESCE_MASK;
        return;
      case DMAE_REG.SCRATCH:
        s.scratch = mergeLanes(s.scratch, data, lanes);
        return;
      case DMAE_REG.SQ_TAIL:
        if (enabled) s.sqTail = mergeLanes(s.sqTail, data, lanes) & (2 ** s.sqSizeLog2 - 1);
        return;
      case DMAE_REG.CQ_HEAD:
        if (enabled) s.cqHead = mergeLanes(s.cqHead, data, lanes) & (2 ** s.cqSizeLog2 - 1);
        return;
    }
    if (enabled) return; // ring setup is fixed while the engine runs
    switch (reg) {
      case DMAE_REG.SQ_BASE_LO:
        s.sqBaseLo = (mergeLanes(s.sqBaseLo, data, lanes) & DMAE_SQ_BASE_MASK) >>> 0;
        return;
      case DMAE_REG.SQ_BASE_HI:
        s.sqBaseHi = mergeLanes(s.sqBaseHi, data, lanes);
        return;
      case DMAE_REG.SQ_SIZE:
        s.sqSizeLog2 = mergeLanes(s.sqSizeLog2, data, lanes) & DMAE_RING_SIZE_MASK;
        return;
      case DMAE_REG.CQ_BASE_LO:
        s.cqBaseLo = (mergeLanes(s.cqBaseLo, data, lanes) & DMAE_CQ_BASE_MASK) >>> 0;
        return;
      case DMAE_REG.CQ_BASE_HI:
        s.cqBaseHi = mergeLanes(s.cqBaseHi, data, lanes);
        return;
      case DMAE_REG.CQ_SIZE:
        s.cqSizeLog2 = mergeLanes(s.cqSizeLog2, data, lanes) & DMAE_RING_SIZE_MASK;
        return;
    }
  }

  /** ENABLE changed: the rings are set up (or torn down) afresh. */
  private resetRings(): void {
    const s = this.state;
    s.sqHead = s.sqTail = s.cqHead = s.cqTail = 0;
    s.cqPhase = 1;
    s.fault = 0;
    s.pendingCompletions = 0;
  }

  /** DeviceModel hook: FLR, D3hot->D0, bus reset. The function has already dropped INTx. */
  reset(_fn: PciFunction): void {
    this.state.copyFrom(new EngineState());
    this.devmem.clear();
  }

  // ---- migration interface -----------------------------------------------------------------------

  quiesce(): void {
    this.quiesced_ = true;
  }

  resume(): void {
    this.quiesced_ = false;
  }

  /** Whether the migration driver has stopped DMA initiation (quiesce) and not resumed it. */
  get quiesced(): boolean {
    return this.quiesced_;
  }

  /** Size of device memory in bytes (the `deviceMemoryBytes` option). */
  get deviceMemoryBytes(): number {
    return this.devmem.size;
  }

  get deviceMemoryPageSize(): number {
    return DEVMEM_PAGE_SIZE;
  }

  private checkDevmemRange(offset: number, length: number): void {
    if (!Number.isInteger(offset) || !Number.isInteger(length) || !this.devmem.contains(offset, length)) {
      throw new RangeError(`device memory range [${String(offset)}, +${String(length)}) is outside the ${this.devmem.size}-byte device memory`);
    }
  }

  readDeviceMemory(offset: number, length: number): Uint8Array {
    this.checkDevmemRange(offset, length);
    return this.devmem.bytes.slice(offset, offset + length);
  }

  deviceMemoryView(offset: number, length: number): Uint8Array {
    this.checkDevmemRange(offset, length);
    return this.devmem.bytes.subarray(offset, offset + length);
  }

  writeDeviceMemory(offset: number, data: Uint8Array): void {
    if (!(data instanceof Uint8Array)) throw new TypeError('device memory data must be a Uint8Array');
    this.checkDevmemRange(offset, data.length);
    this.devmem.write(offset, data);
  }

  startDirtyTracking(): void {
    this.devmem.startTracking();
  }

  /** Stops device-memory dirty tracking and forgets the dirty pages. */
  stopDirtyTracking(): void {
    this.devmem.stopTracking();
  }

  /** Whether device-memory dirty tracking is on. */
  get dirtyTracking(): boolean {
    return this.devmem.isTracking;
  }

  dirtyPageCount(): number {
    if (!this.devmem.isTracking) throw new Error('device memory dirty tracking is not started');
    return this.devmem.dirtyPageCount();
  }

  takeDirtyPages(): number[] {
    if (!this.devmem.isTracking) throw new Error('device memory dirty tracking is not started');
    return this.devmem.takeDirtyPages();
  }

  dmaLogStart(ranges: readonly DmaLogRange[], pageSize: bigint): bigint {
    return this.log.start(ranges, pageSize);
  }

  dmaLogReport(iova: bigint, length: bigint): number[] {
    return this.log.report(iova, length);
  }

  /** Stops logging DMA writes (VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP) and drops the log. */
  dmaLogStop(): void {
    this.log.stop();
  }

  /** Whether DMA write logging is on. */
  get dmaLogging(): boolean {
    return this.log.isActive;
  }

  /** The page size the DMA write log tracks at (as dmaLogStart answered it). */
  get dmaLogPageSize(): number {
    return this.log.pageSize;
  }

  private identity(): DeviceIdentity {
    const f = this.fn;
    return { vendorId: f.vendorId, deviceId: f.deviceId, revision: f.configRead(PCI_REVISION_ID, 1), deviceMemoryBytes: this.devmem.size };
  }

  saveState(): Uint8Array {
    return encodeState(this.state, this.identity());
  }

  restoreState(blob: Uint8Array): void {
    const next = decodeState(blob, this.identity());
    this.state.copyFrom(next);
    this.irq.syncIntx();
  }

  get stateBytes(): number {
    return STATE_BYTES;
  }

  digest(): string {
    return stateDigest([this.saveState(), this.devmem.bytes]);
  }
}

/** The DMA engine behind a function, or null when the function is something else. */
export function dmaEngineOf(fn: PciFunction): DmaEngine | null {
  return fn.model instanceof DmaEngine ? fn.model : null;
}

/** A register's old value with the written byte lanes replaced (a closure per write cost more than the write). */
function mergeLanes(old: number, data: number, lanes: number): number {
  return ((old & ~lanes) | data) >>> 0;
}
