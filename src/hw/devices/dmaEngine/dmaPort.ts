import type { GuestMemory } from '../../guestMemory.js';
import { PCI_STATUS_REC_MASTER_ABORT } from '../../pciRegs.js';
import type { PciFunction } from '../../pciFunction.js';
import type { DmaWriteLog } from './dmaWriteLog.js';

/**
 * The DMA engine's bus-master port into guest memory. An access that does not land entirely in
 * memory is master-aborted: nothing is read or written, the function's Status register records
 * Received Master Abort, and the caller gets null/false instead of an exception. Every write that
 * lands is reported to the device's DMA write log. The caller has already checked Bus Master
 * Enable (the engine does not start work without it).
 */
export class DmaPort {
  constructor(
    private readonly fn: PciFunction,
    private readonly memory: GuestMemory,
    private readonly log: DmaWriteLog,
  ) {}

  private ok(addr: number, len: number): boolean {
    if (this.memory.contains(addr, len)) return true;
    this.fn.signalStatus(PCI_STATUS_REC_MASTER_ABORT);
    return false;
  }

  /** A view of guest memory [addr, addr+len) (valid until the next write), or null on master abort. */
  read(addr: number, len: number): Uint8Array | null {
    if (!this.ok(addr, len)) return null;
    return this.memory.bytes.subarray(addr, addr + len);
  }

  write(addr: number, data: Uint8Array): boolean {
    if (!this.ok(addr, data.length)) return false;
    this.memory.bytes.set(data, addr);
    this.log.record(addr, data.length);
    return true;
  }
}
