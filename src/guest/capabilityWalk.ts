import type { ConfigAccess } from './configAccess.js';
import { PCI_CAP_ID_EXP, PCI_CAPABILITY_LIST, PCI_CFG_SPACE_SIZE, PCI_STATUS, PCI_STATUS_CAP_LIST } from '../hw/pciRegs.js';

/** A capability found in a function's standard list. */
export interface FoundCapability {
  id: number;
  offset: number;
}

/** A capability found in a function's extended list (PCIe, from 0x100). */
export interface FoundExtCapability {
  id: number;
  version: number;
  offset: number;
}

/** Linux's PCI_FIND_CAP_TTL: a list longer than this is a loop. */
const CAP_TTL = 48;

/**
 * The standard capability list from the pointer at 0x34, as Linux's pci_find_capability walks it:
 * only when Status.Capabilities List is set, pointers below 0x40 end the list, the low two bits of a
 * pointer are ignored, and a list that revisits an entry or runs past 48 entries stops there.
 */
export function walkCapabilities(access: ConfigAccess, bus: number, dev: number, fn: number): FoundCapability[] {
  const out: FoundCapability[] = [];
  if ((access.read(bus, dev, fn, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST) === 0) return out;
  const seen = new Set<number>();
  let pos = access.read(bus, dev, fn, PCI_CAPABILITY_LIST, 1) & 0xfc;
  while (pos >= 0x40 && !seen.has(pos) && out.length < CAP_TTL) {
    seen.add(pos);
    const hdr = access.read(bus, dev, fn, pos, 2);
    const id = hdr & 0xff;
    if (id === 0xff) break; // all-ones: the function went away
    out.push({ id, offset: pos });
    pos = (hdr >> 8) & 0xfc;
  }
  return out;
}

/**
 * The extended capability list from 0x100 (PCIe functions, when the access reaches past 256 bytes):
 * a header of 0 or all-ones means no list, a next pointer below 0x100 ends it, loops are cut.
 */
export function walkExtendedCapabilities(access: ConfigAccess, bus: number, dev: number, fn: number): FoundExtCapability[] {
  const out: FoundExtCapability[] = [];
  if (access.configSpaceSize <= PCI_CFG_SPACE_SIZE) return out;
  const seen = new Set<number>();
  const ttl = (access.configSpaceSize - PCI_CFG_SPACE_SIZE) / 8;
  let pos = PCI_CFG_SPACE_SIZE;
  while (pos >= PCI_CFG_SPACE_SIZE && !seen.has(pos) && out.length < ttl) {
    seen.add(pos);
    const hdr = access.read(bus, dev, fn, pos, 4);
    if (hdr === 0 || hdr === 0xffffffff) break;
    out.push({ id: hdr & 0xffff, version: (hdr >>> 16) & 0xf, offset: pos });
    pos = (hdr >>> 20) & 0xffc;
  }
  return out;
}

/** Offset of the first standard capability with `id`, or 0. */
export function findCapability(caps: FoundCapability[], id: number): number {
  return caps.find((c) => c.id === id)?.offset ?? 0;
}

/** A PCI Express function: it has the PCI Express capability (and so an extended config space). */
export function isPcie(caps: FoundCapability[]): boolean {
  return findCapability(caps, PCI_CAP_ID_EXP) !== 0;
}
