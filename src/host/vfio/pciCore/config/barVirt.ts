import { L } from '../../../../core/wasm.js';
import type { PciFunction } from '../../../../hw/pciFunction.js';
import { PCI_BASE_ADDRESS_0, PCI_COMMAND, PCI_COMMAND_INTX_DISABLE, PCI_ROM_ADDRESS, PCI_ROM_ADDRESS_ENABLE } from '../../../../hw/pciRegs.js';
import { PCI_BASE_ADDRESS_MEM_PREFETCH, PCI_BASE_ADDRESS_MEM_TYPE_64, PCI_BASE_ADDRESS_SPACE_IO } from './capRegs.js';

/** Little-endian access to the device's vconfig. */
export interface VconfigAccess {
  vcRead(off: number, size: 1 | 2 | 4): number;
  vcWrite(off: number, size: 1 | 2 | 4, value: number): void;
}

const TWO32 = 2 ** 32;

/**
 * A BAR or ROM resource as the host PCI core holds it (struct resource in pci_dev->resource[]);
 * the shape of src/host/pciCore.ts's PciResource, so pdev.resources can be passed as is.
 */
export interface HostBarResource {
  kind: 'io' | 'mem';
  size: number;
  is64: boolean;
  prefetch: boolean;
  /** the assigned address; null or 0: not assigned (the user sees the BAR unimplemented) */
  start: number | null;
}

/** One host resource: where the host put it and how big it is. */
interface Resource {
  start: number;
  len: number;
  /** the flags vfio_generate_bar_flags reports (I/O, prefetchable, 64-bit) */
  flags: number;
}

/**
 * The user's BARs live in vconfig (every BAR byte is virtual): the real BARs stay where the host
 * assigned them. This does what vfio_bar_fixup, vfio_bar_restore and vfio_need_bar_restore do.
 */
export class BarVirtualizer {
  /** the real BAR0-5 and ROM registers as the host left them (vdev->rbar), for restore after reset */
  readonly rbar: number[] = [];
  private readonly res: Resource[] = [];

  constructor(
    private readonly fn: PciFunction,
    private readonly vc: VconfigAccess,
  ) {}

  /**
   * Records the real registers (at vfio_config_init time) and the host resources: given by the
   * host PCI core, or else read from the hardware (the address each BAR holds now, its size and
   * type), which is the same thing for a function whose BARs the host programmed.
   */
  record(resources?: readonly (HostBarResource | null | undefined)[]): void {
    const fn = this.fn;
    this.rbar.length = 0;
    this.res.length = 0;
    for (let i = 0; i <= L.ROM_INDEX; i++) {
      const reg = i === L.ROM_INDEX ? PCI_ROM_ADDRESS : PCI_BASE_ADDRESS_0 + 4 * i;
      const raw = fn.configRead(reg, 4);
      this.rbar.push(raw);
      if (resources) {
        const r = resources[i];
        const start = r && r.start ? r.start : 0;
        const flags = !r ? 0 : r.kind === 'io' ? PCI_BASE_ADDRESS_SPACE_IO : (r.prefetch ? PCI_BASE_ADDRESS_MEM_PREFETCH : 0) | (r.is64 ? PCI_BASE_ADDRESS_MEM_TYPE_64 : 0);
        this.res.push({ start, len: start && r ? r.size : 0, flags });
        continue;
      }
      const kind = fn.barKind(i);
      const start = kind === L.BAR_NONE || kind === L.BAR_MEM64_HI ? 0 : Math.max(0, fn.barBase(i));
      let flags = 0;
      if (kind === L.BAR_IO) flags = PCI_BASE_ADDRESS_SPACE_IO;
      else if (kind === L.BAR_MEM32 || kind === L.BAR_MEM64) {
        flags = (raw & PCI_BASE_ADDRESS_MEM_PREFETCH) | (kind === L.BAR_MEM64 ? PCI_BASE_ADDRESS_MEM_TYPE_64 : 0);
      }
      this.res.push({ start, len: start ? fn.barSize(i) : 0, flags });
    }
  }

  /**
   * BAR sizing on the virtual registers: each BAR keeps only the bits above its size, plus its
   * flags (the upper half of a 64-bit BAR keeps the bits above the size's upper half); a BAR the
   * host left unassigned reads 0, so the user sees it unimplemented. The ROM keeps its address
   * bits and the enable bit. Idempotent and bitwise, so running it after every BAR write gives what
   * the kernel's fix-up on the next read gives.
   */
  fixup(): void {
    const vc = this.vc;
    for (let i = 0; i < 6; i++) {
      const reg = PCI_BASE_ADDRESS_0 + 4 * i;
      const r = this.res[i];
      if (!r.start) {
        vc.vcWrite(reg, 4, 0);
        continue;
      }
      const lo = r.len >= TWO32 ? 0 : ~(r.len - 1) >>> 0;
      const v = ((vc.vcRead(reg, 4) & lo) | r.flags) >>> 0;
      vc.vcWrite(reg, 4, v);
      if (v & PCI_BASE_ADDRESS_MEM_TYPE_64 && i < 5) {
        const hi = r.len > TWO32 ? ~(r.len / TWO32 - 1) >>> 0 : 0xffffffff;
        vc.vcWrite(reg + 4, 4, (vc.vcRead(reg + 4, 4) & hi) >>> 0);
        i++;
      }
    }
    const rom = this.res[L.ROM_INDEX];
    if (rom.start) {
      const mask = ((~(rom.len - 1) >>> 0) | PCI_ROM_ADDRESS_ENABLE) >>> 0;
      vc.vcWrite(PCI_ROM_ADDRESS, 4, (vc.vcRead(PCI_ROM_ADDRESS, 4) & mask) >>> 0);
    } else {
      vc.vcWrite(PCI_ROM_ADDRESS, 4, 0);
    }
  }

  /** Whether a real BAR no longer holds what the host put there (a reset we did not see). */
  needRestore(): boolean {
    for (let i = 0; i < 6; i++) {
      if (this.rbar[i] && this.fn.configRead(PCI_BASE_ADDRESS_0 + 4 * i, 4) !== this.rbar[i]) return true;
    }
    return false;
  }

  /**
   * Writes the recorded real BARs and ROM back to hardware, and INTx Disable when INTx is hidden.
   * VFs are skipped: their BARs come from the PF's SR-IOV capability, not their own registers.
   */
  restore(isVirtfn: boolean, nointx: boolean): void {
    if (isVirtfn) return;
    const fn = this.fn;
    for (let i = 0; i < 6; i++) fn.configWrite(PCI_BASE_ADDRESS_0 + 4 * i, 4, this.rbar[i]);
    fn.configWrite(PCI_ROM_ADDRESS, 4, this.rbar[L.ROM_INDEX]);
    if (nointx) fn.configWrite(PCI_COMMAND, 2, fn.configRead(PCI_COMMAND, 2) | PCI_COMMAND_INTX_DISABLE);
  }
}
