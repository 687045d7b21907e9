import type { PciFunction } from '../../pciFunction.js';
import type { EngineState } from './engineState.js';
import { DMAE_INT_COMPLETION, DMAE_INT_ERROR, DMAE_INT_FAULT, DMAE_VECTOR_COMPLETION, DMAE_VECTOR_ERROR } from './regs.js';

/**
 * The DMA engine's interrupt logic: causes latch in INT_STATUS; an unmasked cause sends one MSI-X
 * message (COMPLETION on vector 0, ERROR and FAULT on vector 1) when MSI-X is enabled, and
 * otherwise drives INTx as a level that stays asserted while any unmasked cause is latched (the
 * driver acknowledges by writing 1s to INT_STATUS). An MSI-X message is a DMA write, so it waits
 * (in pendingMessages) while the device may not initiate DMA: Bus Master clear, not in D0, or
 * quiesced by the migration driver; `flush` sends it when that ends.
 */
export class InterruptUnit {
  constructor(
    private readonly s: EngineState,
    private readonly fn: PciFunction,
    private readonly canSend: () => boolean,
  ) {}

  /** Latches `causes` and interrupts for the unmasked ones. */
  raise(causes: number): void {
    this.s.intStatus |= causes;
    this.notify(causes & ~this.s.intMask);
  }

  /** INT_STATUS write-1-to-clear. */
  acknowledge(bits: number): void {
    this.s.intStatus &= ~bits;
    this.syncIntx();
  }

  /** INT_MASK write: causes latched and now unmasked interrupt as if just raised. */
  setMask(mask: number): void {
    const unmasked = this.s.intMask & ~mask;
    this.s.intMask = mask;
    this.notify(this.s.intStatus & unmasked);
    this.syncIntx();
  }

  private notify(causes: number): void {
    if (causes === 0) return;
    if (this.fn.msixEnabled) {
      this.s.pendingMessages |= causes;
      this.flush();
    } else if (this.syncIntx()) {
      this.s.irqs = (this.s.irqs + 1) >>> 0;
    }
  }

  /** Sends the held-back MSI-X messages if the device may now; drops them if MSI-X was turned off. */
  flush(): void {
    const p = this.s.pendingMessages;
    if (p === 0) return;
    if (!this.fn.msixEnabled) {
      this.s.pendingMessages = 0;
      return;
    }
    if (!this.canSend()) return;
    this.s.pendingMessages = 0;
    if (p & DMAE_INT_COMPLETION) this.send(DMAE_VECTOR_COMPLETION);
    if (p & (DMAE_INT_ERROR | DMAE_INT_FAULT)) this.send(DMAE_VECTOR_ERROR);
  }

  private send(vector: number): void {
    this.fn.raiseMsix(vector);
    this.s.irqs = (this.s.irqs + 1) >>> 0;
  }

  /** Brings the INTx level in line with the latched causes; true when it went from low to high. */
  syncIntx(): boolean {
    const level = !this.fn.msixEnabled && (this.s.intStatus & ~this.s.intMask) !== 0;
    if (level === this.fn.intxLevel) return false;
    this.fn.setIntx(level);
    return level;
  }
}
