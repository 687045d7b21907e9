import {
  PCI_CAP_ID_MSI, PCI_CAP_ID_MSIX, PCI_COMMAND, PCI_COMMAND_INTX_DISABLE, PCI_INTERRUPT_LINE, PCI_MSI_ADDRESS_HI, PCI_MSI_ADDRESS_LO,
  PCI_MSI_DATA_32, PCI_MSI_DATA_64, PCI_MSI_FLAGS, PCI_MSI_FLAGS_64BIT, PCI_MSI_FLAGS_ENABLE, PCI_MSI_FLAGS_MASKBIT, PCI_MSI_FLAGS_QSIZE,
  PCI_MSI_MASK_32, PCI_MSI_MASK_64, PCI_MSIX_ENTRY_SIZE, PCI_MSIX_ENTRY_VECTOR_CTRL, PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE,
  PCI_MSIX_FLAGS_MASKALL, PCI_MSIX_TABLE,
} from '../hw/pciRegs.js';
import { findCapability } from './capabilityWalk.js';
import type { EnumeratedFunction } from './enumerator.js';
import type { Guest } from './guest.js';

/** The interrupt mechanism a guest driver ended up using, as Linux's pci_alloc_irq_vectors picks it. */
export type IrqMode = 'msix' | 'msi' | 'intx';

/** The interrupts a driver got for its device. */
export interface IrqVectors {
  /** The kind of interrupt set up: MSI-X, MSI or INTx. */
  mode: IrqMode;
  /** handlers wired: MSI-X/MSI vectors, or 1 for INTx */
  count: number;
  /** the CPU vector of each handler (INTx: the line's) */
  vectors: number[];
  /** INTx: the I/O APIC input */
  line: number;
  /** masks or unmasks one MSI-X/MSI vector at the device (pci_msi_mask_irq) */
  mask(index: number, masked: boolean): void;
  /** tears it down: handlers freed, MSI/MSI-X disabled, INTx Disable set (pci_free_irq_vectors) */
  free(): void;
}

/**
 * What Linux's pci_alloc_irq_vectors + request_irq do for a function, through config cycles and
 * MMIO only: MSI-X (table programmed through its BAR with every entry masked, enable with Function
 * Mask, then unmask), else MSI (message, Multiple Message Enable, enable), else INTx (the line
 * firmware wrote to Interrupt Line, INTx Disable cleared). `handlers[i]` runs for vector i; for INTx
 * only `intxHandler` runs, and must say whether the device was interrupting (shared lines).
 */
export function setupInterrupts(
  guest: Guest,
  f: EnumeratedFunction,
  modes: IrqMode[],
  handlers: ((index: number) => void)[],
  intxHandler?: () => boolean,
): IrqVectors {
  for (const mode of modes) {
    if (mode === 'msix' && findCapability(f.capabilities, PCI_CAP_ID_MSIX)) return setupMsix(guest, f, handlers);
    if (mode === 'msi' && findCapability(f.capabilities, PCI_CAP_ID_MSI)) return setupMsi(guest, f, handlers);
    if (mode === 'intx' && f.interruptPin !== 0) return setupIntx(guest, f, intxHandler ?? (() => (handlers[0]?.(0), true)));
  }
  throw new Error(`${f.bdf}: none of ${modes.join(', ')} is available`);
}

const rd = (g: Guest, f: EnumeratedFunction, reg: number, size: 1 | 2 | 4) => g.config.read(f.bus, f.device, f.function, reg, size);
const wr = (g: Guest, f: EnumeratedFunction, reg: number, size: 1 | 2 | 4, v: number) => g.config.write(f.bus, f.device, f.function, reg, size, v);

function setCommandIntxDisable(g: Guest, f: EnumeratedFunction, disable: boolean): void {
  const cmd = rd(g, f, PCI_COMMAND, 2);
  const next = disable ? cmd | PCI_COMMAND_INTX_DISABLE : cmd & ~PCI_COMMAND_INTX_DISABLE;
  if (next !== cmd) wr(g, f, PCI_COMMAND, 2, next);
}

function setupMsix(g: Guest, f: EnumeratedFunction, handlers: ((index: number) => void)[]): IrqVectors {
  const cap = findCapability(f.capabilities, PCI_CAP_ID_MSIX);
  const ctrl = rd(g, f, cap + PCI_MSIX_FLAGS, 2);
  const size = (ctrl & 0x7ff) + 1;
  const n = Math.min(size, handlers.length);
  if (n === 0) throw new Error(`${f.bdf}: no MSI-X handlers given`);
  const tableReg = rd(g, f, cap + PCI_MSIX_TABLE, 4);
  const bar = f.bars.find((b) => b.index === (tableReg & 7));
  if (!bar || bar.address === null) throw new Error(`${f.bdf}: the MSI-X table's BAR ${tableReg & 7} has no address`);
  const table = bar.address + ((tableReg & ~7) >>> 0);
  const entry = (i: number) => table + i * PCI_MSIX_ENTRY_SIZE;
  // msix_capability_init: enabled with every vector masked while the table is written
  wr(g, f, cap + PCI_MSIX_FLAGS, 2, ctrl | PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
  const vectors: number[] = [];
  for (let i = 0; i < n; i++) {
    const v = g.irq.allocVectors(1, () => handlers[i](i));
    vectors.push(v);
    const m = g.irq.message(v);
    g.io.mmioWrite(entry(i) + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, 1);
    g.io.mmioWrite(entry(i), 4, m.addressLo);
    g.io.mmioWrite(entry(i) + 4, 4, m.addressHi);
    g.io.mmioWrite(entry(i) + 8, 4, m.data);
  }
  setCommandIntxDisable(g, f, true);
  wr(g, f, cap + PCI_MSIX_FLAGS, 2, (rd(g, f, cap + PCI_MSIX_FLAGS, 2) | PCI_MSIX_FLAGS_ENABLE) & ~PCI_MSIX_FLAGS_MASKALL);
  const mask = (i: number, masked: boolean) => g.io.mmioWrite(entry(i) + PCI_MSIX_ENTRY_VECTOR_CTRL, 4, masked ? 1 : 0);
  // request_irq: each vector unmasked
  for (let i = 0; i < n; i++) mask(i, false);
  return {
    mode: 'msix', count: n, vectors, line: -1, mask,
    free() {
      for (let i = 0; i < n; i++) mask(i, true);
      wr(g, f, cap + PCI_MSIX_FLAGS, 2, rd(g, f, cap + PCI_MSIX_FLAGS, 2) & ~(PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL));
      for (const v of vectors) g.irq.freeVectors(v, 1);
    },
  };
}

function setupMsi(g: Guest, f: EnumeratedFunction, handlers: ((index: number) => void)[]): IrqVectors {
  const cap = findCapability(f.capabilities, PCI_CAP_ID_MSI);
  const flags = rd(g, f, cap + PCI_MSI_FLAGS, 2);
  const capable = 1 << ((flags >> 1) & 7);
  let n = 1;
  while (n * 2 <= Math.min(capable, handlers.length)) n *= 2;
  const is64 = (flags & PCI_MSI_FLAGS_64BIT) !== 0;
  const maskOff = cap + (is64 ? PCI_MSI_MASK_64 : PCI_MSI_MASK_32);
  const pvm = (flags & PCI_MSI_FLAGS_MASKBIT) !== 0;
  wr(g, f, cap + PCI_MSI_FLAGS, 2, flags & ~PCI_MSI_FLAGS_ENABLE);
  const base = g.irq.allocVectors(n, (i) => handlers[i]?.(i));
  const m = g.irq.message(base);
  if (pvm) wr(g, f, maskOff, 4, 0xffffffff >>> (32 - n));
  wr(g, f, cap + PCI_MSI_ADDRESS_LO, 4, m.addressLo);
  if (is64) wr(g, f, cap + PCI_MSI_ADDRESS_HI, 4, m.addressHi);
  wr(g, f, cap + (is64 ? PCI_MSI_DATA_64 : PCI_MSI_DATA_32), 2, m.data);
  wr(g, f, cap + PCI_MSI_FLAGS, 2, (flags & ~(PCI_MSI_FLAGS_QSIZE | PCI_MSI_FLAGS_ENABLE)) | (Math.log2(n) << 4));
  setCommandIntxDisable(g, f, true);
  wr(g, f, cap + PCI_MSI_FLAGS, 2, rd(g, f, cap + PCI_MSI_FLAGS, 2) | PCI_MSI_FLAGS_ENABLE);
  const vectors = Array.from({ length: n }, (_, i) => base + i);
  const mask = (i: number, masked: boolean) => {
    if (!pvm) return;
    const cur = rd(g, f, maskOff, 4);
    wr(g, f, maskOff, 4, masked ? cur | (1 << i) : cur & ~(1 << i));
  };
  for (let i = 0; i < n; i++) mask(i, false);
  return {
    mode: 'msi', count: n, vectors, line: -1, mask,
    free() {
      wr(g, f, cap + PCI_MSI_FLAGS, 2, rd(g, f, cap + PCI_MSI_FLAGS, 2) & ~PCI_MSI_FLAGS_ENABLE);
      g.irq.freeVectors(base, n);
    },
  };
}

function setupIntx(g: Guest, f: EnumeratedFunction, handler: () => boolean): IrqVectors {
  const line = rd(g, f, PCI_INTERRUPT_LINE, 1);
  if (line === 0xff) throw new Error(`${f.bdf}: firmware left no INTx line`);
  const release = g.irq.requestIrq(line, handler);
  setCommandIntxDisable(g, f, false);
  return {
    mode: 'intx', count: 1, vectors: [], line,
    mask() {},
    free() {
      setCommandIntxDisable(g, f, true);
      release();
    },
  };
}
