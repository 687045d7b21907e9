import { L } from '../../core/wasm.js';
import type { ConfigBuilder } from '../configBuilder.js';
import { PCI_CAP_ID_MSI, PCI_MSI_FLAGS, PCI_MSI_FLAGS_64BIT, PCI_MSI_FLAGS_ENABLE, PCI_MSI_FLAGS_MASKBIT, PCI_MSI_FLAGS_QSIZE, PCI_MSI_ADDRESS_LO, PCI_MSI_ADDRESS_HI } from '../pciRegs.js';

/** MSI capability: 1-32 vectors, 32- or 64-bit address, optional per-vector masking. */
export function buildMsi(b: ConfigBuilder, vectors: number, is64: boolean, perVectorMask: boolean, field: string): number {
  if (![1, 2, 4, 8, 16, 32].includes(vectors)) throw new Error(`${field}.vectors must be 1, 2, 4, 8, 16 or 32, got ${String(vectors)}`);
  const length = is64 ? (perVectorMask ? 0x18 : 0x0e) : perVectorMask ? 0x14 : 0x0a;
  const off = b.addCapability(PCI_CAP_ID_MSI, length, field);
  const mmc = Math.log2(vectors);
  const flags = (mmc << 1) | (is64 ? PCI_MSI_FLAGS_64BIT : 0) | (perVectorMask ? PCI_MSI_FLAGS_MASKBIT : 0);
  b.reg(off + PCI_MSI_FLAGS, 2, flags, PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE, 0, L.EV_MSI);
  b.reg(off + PCI_MSI_ADDRESS_LO, 4, 0, 0xfffffffc, 0, L.EV_MSI);
  let data = off + 8;
  if (is64) {
    b.reg(off + PCI_MSI_ADDRESS_HI, 4, 0, 0xffffffff, 0, L.EV_MSI);
    data = off + 12;
  }
  b.reg(data, 2, 0, 0xffff, 0, L.EV_MSI);
  if (perVectorMask) {
    b.reg(data + 2, 2, 0); // Extended Message Data: not capable, reads 0
    const live = vectors === 32 ? 0xffffffff : (1 << vectors) - 1;
    b.reg(data + 4, 4, 0, live, 0, L.EV_MSI); // Mask Bits
    b.reg(data + 8, 4, 0); // Pending Bits: set by the function only
  }
  b.core.mem.u16[(b.core.mem.base(b.slot) + L.META + L.M_MSI_CAP) >>> 1] = off;
  return off;
}
