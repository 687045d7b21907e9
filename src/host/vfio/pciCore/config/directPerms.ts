import { PCI_CAP_LIST_NEXT } from '../../../../hw/pciRegs.js';
import { PermBits } from './permBits.js';
import type { PermKind } from './permBits.js';

/**
 * The two shapes of a capability without a perm table (vfio_direct_config_read), expanded to per-
 * byte masks for a capability of `length` bytes:
 * - standard capability: the next pointer comes from vconfig (the ID byte too when read together
 *   with it, which is the same value: the ID is read-only hardware);
 * - extended capability: the whole header dword comes from vconfig.
 * 'direct' drops writes (no writefn: MSI-X, DSN, every other listed capability); 'directRawWrite'
 * passes every non-virtual byte of a write to hardware (vfio_raw_config_write: vendor-specific,
 * extended vendor-specific, DVSEC). The virtual header bytes of a raw-write capability are
 * read-only hardware, so keeping the write out of them changes nothing the device sees.
 */
export function directPerms(name: string, length: number, extended: boolean, kind: Exclude<PermKind, 'table'>): PermBits {
  const p = new PermBits(name, length, kind);
  const virt = (i: number) => (extended ? i < 4 : i === PCI_CAP_LIST_NEXT);
  for (let i = 0; i < p.size; i++) {
    p.virt[i] = virt(i) ? 0xff : 0;
    p.write[i] = kind === 'directRawWrite' && !virt(i) ? 0xff : 0;
  }
  return p;
}
