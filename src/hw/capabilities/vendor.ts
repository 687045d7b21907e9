import type { ConfigBuilder } from '../configBuilder.js';
import { PCI_CAP_ID_VNDR } from '../pciRegs.js';
import { checkInt } from '../spec.js';

/**
 * Vendor-specific capability: ID, next pointer, a length byte (the whole capability's length), then
 * read-only vendor data (zero unless given; device models such as virtio put their structures here).
 */
export function buildVendor(b: ConfigBuilder, length: number, data: Uint8Array | undefined, field: string): number {
  checkInt(length, 3, 0xc0, `${field}.length`);
  if (data && data.length > length - 3) throw new Error(`${field}.data has ${data.length} bytes but only ${length - 3} fit after the header`);
  const off = b.addCapability(PCI_CAP_ID_VNDR, length, field);
  b.reg(off + 2, 1, length);
  for (let i = 3; i < length; i++) b.reg(off + i, 1, data && i - 3 < data.length ? data[i - 3] : 0);
  return off;
}
