import { deviceDma } from '../../embedding/deviceDma.js';
import type { DeviceDma } from '../../embedding/deviceDma.js';
import { PCI_STATUS_REC_MASTER_ABORT } from '../../pciRegs.js';
import type { PciFunction } from '../../pciFunction.js';
import type { DmaWriteLog } from './dmaWriteLog.js';

/**
 * The DMA engine's bus-master port into memory, through the function's DeviceDma (its IOMMU domain
 * when a VMM owns it). An access that does not land entirely in reachable memory (outside the
 * host's memory, or an IOMMU fault) fails: nothing is read or written, the function's Status
 * register records Received Master Abort, and the caller gets null/false instead of an exception.
 * Every write that lands is reported to the device's DMA write log. The caller has already checked
 * Bus Master Enable (the engine does not start work without it).
 */
export class DmaPort {
  private readonly dma: DeviceDma;

  constructor(
    private readonly fn: PciFunction,
    private readonly log: DmaWriteLog,
  ) {
    this.dma = deviceDma(fn);
  }

  /** A view of memory [addr, addr+len) (valid until the next write), or null on a failed access. */
  read(addr: number, len: number): Uint8Array | null {
    const w = this.dma.window(addr, len, 'read');
    if (w === null) this.fn.signalStatus(PCI_STATUS_REC_MASTER_ABORT);
    return w;
  }

  write(addr: number, data: Uint8Array): boolean {
    if (!this.dma.writeFrom(addr, data, 0, data.length)) {
      this.fn.signalStatus(PCI_STATUS_REC_MASTER_ABORT);
      return false;
    }
    this.log.record(addr, data.length);
    return true;
  }
}
