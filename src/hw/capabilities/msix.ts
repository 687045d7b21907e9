import { L } from '../../core/wasm.js';
import type { ConfigBuilder } from '../configBuilder.js';
import type { BarSpec } from '../spec.js';
import { checkInt } from '../spec.js';
import { PCI_CAP_ID_MSIX, PCI_CAP_MSIX_SIZEOF, PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE, PCI_MSIX_FLAGS_MASKALL, PCI_MSIX_PBA, PCI_MSIX_TABLE } from '../pciRegs.js';

export interface MsixLayout {
  vectors: number;
  tableBar: number;
  tableOffset: number;
  pbaBar: number;
  pbaOffset: number;
}

function checkPlacement(what: string, bars: (BarSpec | null)[], bar: number, offset: number, bytes: number, field: string): void {
  checkInt(bar, 0, 5, `${field}.${what}Bar`);
  const spec = bars[bar];
  if (!spec || spec.kind === 'io') throw new Error(`${field}.${what}Bar ${bar} must name a memory BAR`);
  checkInt(offset, 0, 0xfffffff8, `${field}.${what}Offset`);
  if (offset % 8 !== 0) throw new Error(`${field}.${what}Offset must be 8-byte aligned (its low 3 bits hold the BIR), got ${offset}`);
  if (offset + bytes > spec.size) {
    throw new Error(`${field}: the MSI-X ${what} (${bytes} bytes at ${offset}) lies outside BAR ${bar} (${spec.size} bytes)`);
  }
}

/** MSI-X capability: a table of 1-2048 entries and a PBA, each inside a memory BAR, not overlapping. */
export function buildMsix(b: ConfigBuilder, m: MsixLayout, bars: (BarSpec | null)[], field: string): number {
  checkInt(m.vectors, 1, 2048, `${field}.vectors`);
  const tableBytes = m.vectors * 16;
  const pbaBytes = Math.ceil(m.vectors / 64) * 8;
  checkPlacement('table', bars, m.tableBar, m.tableOffset, tableBytes, field);
  checkPlacement('pba', bars, m.pbaBar, m.pbaOffset, pbaBytes, field);
  if (m.tableBar === m.pbaBar && m.tableOffset < m.pbaOffset + pbaBytes && m.pbaOffset < m.tableOffset + tableBytes) {
    throw new Error(`${field}: the MSI-X table and PBA overlap in BAR ${m.tableBar}`);
  }
  const off = b.addCapability(PCI_CAP_ID_MSIX, PCI_CAP_MSIX_SIZEOF, field);
  b.reg(off + PCI_MSIX_FLAGS, 2, m.vectors - 1, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL, 0, L.EV_MSIX);
  b.reg(off + PCI_MSIX_TABLE, 4, (m.tableOffset | m.tableBar) >>> 0);
  b.reg(off + PCI_MSIX_PBA, 4, (m.pbaOffset | m.pbaBar) >>> 0);
  // the vectors were validated above: a refusal means the memory could not hold the table
  if (b.core.mem.msixSetup(b.slot, off, m.vectors) !== 0) throw new Error("pcisim: the emulator's wasm memory is full (4 GiB, the wasm32 limit): no room for an MSI-X table");
  return off;
}
