import { PCI_CFG_SPACE_EXP_SIZE, PCI_CFG_SPACE_SIZE } from '../../../../hw/pciRegs.js';
import { aerPerms } from './aerPerms.js';
import { afPerms } from './afPerms.js';
import * as R from './capRegs.js';
import { directPerms } from './directPerms.js';
import { headerPerms } from './headerPerms.js';
import { pciePerms } from './pciePerms.js';
import { pcixPerms } from './pcixPerms.js';
import type { PermBits } from './permBits.js';
import { pmPerms } from './pmPerms.js';
import { pwrPerms } from './pwrPerms.js';
import { vpdPerms } from './vpdPerms.js';

/** pci_config_map values that are not capability IDs. */
export const PCI_CAP_ID_BASIC = 0; // the standard header
export const PCI_CAP_ID_INVALID = 0xff; // no capability: raw access to hardware
export const PCI_CAP_ID_INVALID_VIRT = 0xfe; // no capability: plain vconfig storage

/** The shared tables (cap_perms / ecap_perms), built once like vfio_pci_init_perm_bits. */
class SharedPerms {
  readonly header = headerPerms();
  readonly pm = pmPerms();
  readonly vpd = vpdPerms();
  readonly pcix = pcixPerms();
  readonly pcie = pciePerms();
  readonly af = afPerms();
  readonly aer = aerPerms();
  readonly pwr = pwrPerms();
  readonly direct = directPerms('direct', PCI_CFG_SPACE_SIZE, false, 'direct');
  readonly vendor = directPerms('vendor', PCI_CFG_SPACE_SIZE, false, 'directRawWrite');
  readonly ecapDirect = directPerms('ecap-direct', PCI_CFG_SPACE_EXP_SIZE, true, 'direct');
  readonly ecapVendor = directPerms('ecap-vendor', PCI_CFG_SPACE_EXP_SIZE, true, 'directRawWrite');
}

let shared: SharedPerms | null = null;
export function sharedPerms(): SharedPerms {
  return (shared ??= new SharedPerms());
}

/** cap_perms[id]: the table for a standard capability (MSI's is per device, passed in). */
export function capPerms(id: number, msi: PermBits | null): PermBits {
  const s = sharedPerms();
  switch (id) {
    case PCI_CAP_ID_BASIC:
      return s.header;
    case R.PCI_CAP_ID_PM:
      return s.pm;
    case R.PCI_CAP_ID_VPD:
      return s.vpd;
    case R.PCI_CAP_ID_PCIX:
      return s.pcix;
    case R.PCI_CAP_ID_VNDR:
      return s.vendor;
    case R.PCI_CAP_ID_EXP:
      return s.pcie;
    case R.PCI_CAP_ID_AF:
      return s.af;
    case R.PCI_CAP_ID_MSI:
      return msi ?? s.direct;
    default:
      return s.direct;
  }
}

/** ecap_perms[id], or the default direct read-only access for an ID past PCI_EXT_CAP_ID_MAX. */
export function ecapPerms(id: number): PermBits {
  const s = sharedPerms();
  switch (id) {
    case R.PCI_EXT_CAP_ID_ERR:
      return s.aer;
    case R.PCI_EXT_CAP_ID_PWR:
      return s.pwr;
    case R.PCI_EXT_CAP_ID_VNDR:
    case R.PCI_EXT_CAP_ID_DVSEC:
      return s.ecapVendor;
    default:
      return s.ecapDirect;
  }
}

/** Per-byte result of the perm selection. */
export interface BytePerms {
  virt: Uint8Array;
  write: Uint8Array;
  events: Uint8Array;
}

/**
 * Expands a pci_config_map into per-byte virt / write / event masks, choosing for every byte the
 * perm table and the offset into it exactly as vfio_config_do_rw does: unassigned bytes are raw
 * (hardware, writable), INVALID_VIRT bytes live in vconfig, and a capability's offset counts from
 * the first byte of its run in the map (vfio_find_cap_start, which stops at 0x40 for standard and
 * at 0x100 for extended capabilities).
 */
export function expandPerms(map: Uint8Array, msi: PermBits | null): BytePerms {
  const n = map.length;
  const out: BytePerms = { virt: new Uint8Array(n), write: new Uint8Array(n), events: new Uint8Array(n) };
  let runStart = 0;
  for (let pos = 0; pos < n; pos++) {
    const id = map[pos];
    if (pos === R.PCI_STD_HEADER_SIZEOF || pos === PCI_CFG_SPACE_SIZE || id !== map[pos - 1]) runStart = pos;
    if (id === PCI_CAP_ID_INVALID) {
      out.write[pos] = 0xff;
      continue;
    }
    if (id === PCI_CAP_ID_INVALID_VIRT) {
      out.virt[pos] = 0xff;
      out.write[pos] = 0xff;
      continue;
    }
    let perm: PermBits;
    let start: number;
    if (pos >= PCI_CFG_SPACE_SIZE) {
      perm = id > R.PCI_EXT_CAP_ID_MAX ? sharedPerms().ecapDirect : ecapPerms(id);
      start = runStart;
    } else {
      perm = capPerms(id, msi);
      start = id === PCI_CAP_ID_BASIC ? 0 : runStart;
    }
    const off = pos - start;
    if (off < perm.size) {
      out.virt[pos] = perm.virt[off];
      out.write[pos] = perm.write[off];
      out.events[pos] = perm.events[off];
    }
  }
  return out;
}
