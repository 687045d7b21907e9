import type { ConfigBuilder } from '../configBuilder.js';
import { PCI_EXT_CAP_DSN_SIZEOF, PCI_EXT_CAP_ID_DSN } from '../pciRegs.js';

/** Device Serial Number: a read-only 64-bit serial (EUI-64), low dword first. */
export function buildDsn(b: ConfigBuilder, serial: bigint): number {
  if (typeof serial !== 'bigint' || serial < 0n || serial > 0xffffffffffffffffn) {
    throw new Error(`extendedCapabilities[dsn].serial must be a bigint in 0..2^64-1`);
  }
  const off = b.addExtCapability(PCI_EXT_CAP_ID_DSN, 1, PCI_EXT_CAP_DSN_SIZEOF, 'extendedCapabilities[dsn]');
  b.reg(off + 4, 4, Number(serial & 0xffffffffn));
  b.reg(off + 8, 4, Number(serial >> 32n));
  return off;
}
