import type { DecodedBar } from '../hw/pciFunction.js';
import {
  PCI_BASE_ADDRESS_0, PCI_BASE_ADDRESS_MEM_PREFETCH, PCI_BASE_ADDRESS_MEM_TYPE_64, PCI_BASE_ADDRESS_SPACE_IO, PCI_COMMAND_IO,
  PCI_COMMAND_MEMORY, PCI_ROM_ADDRESS, PCI_ROM_ADDRESS_ENABLE,
} from '../hw/pciRegs.js';
import type { EmulatedConfig } from './emulatedConfig.js';

export type BarKind = 'io' | 'mem32' | 'mem64' | 'rom';

/** One BAR the VMM shows the guest: what the device's region and BAR flags say. */
export interface GuestBar {
  /** 0-5, ROM = 6 */
  index: number;
  kind: BarKind;
  size: number;
  prefetchable: boolean;
  /** the flag bits of the BAR register (I/O space, memory type, prefetchable) */
  flags: number;
}

export const ROM_INDEX = 6;
const TWO32 = 2 ** 32;

/**
 * The BAR registers of an assigned function, owned by the VMM as QEMU owns them: the guest programs
 * addresses into emulated registers, sizing answers ~(size - 1) | flags from the region sizes
 * GET_REGION_INFO reported and the flag bits read from the config region, and the address map of the
 * guest bus follows what the guest programmed (never what the host assigned).
 */
export class EmulatedBars {
  readonly bars: (GuestBar | null)[] = [null, null, null, null, null, null, null];

  constructor(private readonly emu: EmulatedConfig) {}

  /** Declares BAR `index` and emulates its register(s); `flags` are the device's low bits. */
  add(bar: GuestBar): void {
    this.bars[bar.index] = bar;
    if (bar.kind === 'rom') {
      const w = (~(bar.size - 1) & 0xfffff800) | PCI_ROM_ADDRESS_ENABLE;
      this.emu.emulate(PCI_ROM_ADDRESS, 4, 0, w >>> 0);
      return;
    }
    const reg = PCI_BASE_ADDRESS_0 + 4 * bar.index;
    const low = bar.kind === 'io' ? 0x3 : 0xf;
    const mask = bar.size >= TWO32 ? 0 : ~(bar.size - 1) >>> 0;
    this.emu.emulate(reg, 4, bar.flags & low, (mask & ~low) >>> 0);
    if (bar.kind === 'mem64') {
      const hi = bar.size >= TWO32 ? ~(bar.size / TWO32 - 1) >>> 0 : 0xffffffff;
      this.emu.emulate(reg + 4, 4, 0, hi);
    }
  }

  /** The BARs with no device behind them still read 0 and ignore writes (emulated, RO). */
  emulateUnused(): void {
    for (let i = 0; i < 6; i++) {
      if (this.bars[i] !== null || (i > 0 && this.bars[i - 1]?.kind === 'mem64')) continue;
      this.emu.emulate(PCI_BASE_ADDRESS_0 + 4 * i, 4, 0, 0);
    }
    if (this.bars[ROM_INDEX] === null) this.emu.emulate(PCI_ROM_ADDRESS, 4, 0, 0);
  }

  /** The address the guest programmed into BAR `index` (its flag bits stripped). */
  address(index: number): number {
    const b = this.bars[index];
    if (!b) return 0;
    if (b.kind === 'rom') return (this.emu.read(PCI_ROM_ADDRESS, 4) & 0xfffff800) >>> 0;
    const reg = PCI_BASE_ADDRESS_0 + 4 * index;
    const lo = this.emu.read(reg, 4);
    if (b.kind === 'io') return (lo & 0xfffffffc) >>> 0;
    const base = (lo & 0xfffffff0) >>> 0;
    return b.kind === 'mem64' ? this.emu.read(reg + 4, 4) * TWO32 + base : base;
  }

  /**
   * The BARs of one space that decode with Command `command`, as QEMU's pci_bar_address maps them:
   * the space's decode bit must be on (the ROM also needs its own enable bit), and an address of 0,
   * one that wraps, or a 32-bit BAR running past 4 GiB (a sizing pattern left behind) is unmapped.
   */
  decoded(io: boolean, command: number): DecodedBar[] {
    const out: DecodedBar[] = [];
    for (const b of this.bars) {
      if (!b || (b.kind === 'io') !== io) continue;
      if (b.kind === 'io' ? (command & PCI_COMMAND_IO) === 0 : (command & PCI_COMMAND_MEMORY) === 0) continue;
      if (b.kind === 'rom' && (this.emu.read(PCI_ROM_ADDRESS, 4) & PCI_ROM_ADDRESS_ENABLE) === 0) continue;
      const base = this.address(b.index);
      const end = base + b.size;
      const limit = b.kind === 'io' ? 0x10000 : b.kind === 'mem64' ? 2 ** 64 : TWO32;
      if (base === 0 || end > limit) continue;
      out.push({ bar: b.index, base, size: b.size });
    }
    return out;
  }
}

/** BAR kind and flag bits from a BAR register value as the config region shows it. */
export function barKindOf(reg: number): { kind: BarKind; prefetchable: boolean; flags: number } {
  if (reg & PCI_BASE_ADDRESS_SPACE_IO) return { kind: 'io', prefetchable: false, flags: reg & 0x3 };
  const is64 = (reg & 0x6) === PCI_BASE_ADDRESS_MEM_TYPE_64;
  return { kind: is64 ? 'mem64' : 'mem32', prefetchable: (reg & PCI_BASE_ADDRESS_MEM_PREFETCH) !== 0, flags: reg & 0xf };
}
