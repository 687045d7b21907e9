/**
 * Everything the DMA engine holds apart from device memory: the registers of regs.ts and the
 * hidden state behind them. This is what the save-state blob carries (stateBlob.ts), field for
 * field; the power-on values are the constructor's.
 */
export class EngineState {
  /** CONTROL */
  control = 0;
  /** INT_STATUS: latched causes */
  intStatus = 0;
  intMask = 0;
  coalesce = 0;
  scratch = 0;
  sqBaseLo = 0;
  sqBaseHi = 0;
  sqSizeLog2 = 0;
  sqTail = 0;
  sqHead = 0;
  cqBaseLo = 0;
  cqBaseHi = 0;
  cqSizeLog2 = 0;
  cqHead = 0;
  cqTail = 0;
  cqPhase = 1;
  /** counters (exact integers below 2^53) */
  completed = 0;
  bytes = 0;
  errors = 0;
  irqs = 0;
  /** completions posted since the last COMPLETION interrupt (coalescing) */
  pendingCompletions = 0;
  /** causes whose MSI-X message could not be sent yet (Bus Master off, quiesced, not D0) */
  pendingMessages = 0;
  /** 1 when a ring DMA failed and the engine halted */
  fault = 0;

  copyFrom(o: EngineState): void {
    Object.assign(this, o);
  }
}
