// PCI addresses as strings. The canonical form is sysfs's "dddd:bb:dd.f", lower case; the short
// "bb:dd.f" that lspci and QEMU print means domain 0000 and is accepted wherever an address is taken.
import { PciError, describeValue } from './pciError.js';

/** A PCI address: domain, bus, device (0-31), function (0-7). */
export interface Bdf {
  /** PCI segment (only 0 is emulated) */
  domain: number;
  /** bus number, 0-255 */
  bus: number;
  /** device number, 0-31 */
  device: number;
  /** function number, 0-7 */
  fn: number;
}

const BDF_RE = /^(?:([0-9a-fA-F]{4}):)?([0-9a-fA-F]{2}):([0-9a-fA-F]{2})\.([0-7])$/;

/**
 * Parses "dddd:bb:dd.f" (the sysfs form) or "bb:dd.f" (lspci's, domain 0000).
 * @throws PciError EINVAL for anything else, naming the string and the forms expected
 */
export function parseBdf(bdf: string): Bdf {
  const m = typeof bdf === 'string' ? BDF_RE.exec(bdf) : null;
  if (!m) {
    throw new PciError('EINVAL', `bad PCI address ${describeValue(bdf)}: expected dddd:bb:dd.f or bb:dd.f (hex; device 00-1f, function 0-7)`);
  }
  const device = parseInt(m[3], 16);
  if (device > 31) throw new PciError('EINVAL', `bad PCI address ${describeValue(bdf)}: device number 0x${m[3]} is outside 0x00..0x1f`);
  return { domain: m[1] === undefined ? 0 : parseInt(m[1], 16), bus: parseInt(m[2], 16), device, fn: parseInt(m[4], 16) };
}

/**
 * The canonical form of an address ("0000:00:02.0") for a lookup key, or undefined when `bdf`
 * cannot be one. Cheap (no regex): a full-length string is only lower-cased, so a key that is not
 * well formed simply finds nothing; use parseBdf where a bad address must be reported.
 */
export function normalizeBdf(bdf: string): string | undefined {
  if (typeof bdf !== 'string') return undefined;
  if (bdf.length === 12) return bdf.toLowerCase();
  if (bdf.length === 7) return '0000:' + bdf.toLowerCase();
  return undefined;
}

/**
 * The canonical form of a valid address, short or long.
 * @throws PciError EINVAL as parseBdf does
 */
export function canonicalBdf(bdf: string): string {
  const a = parseBdf(bdf);
  return formatBdf(a.domain, a.bus, a.device, a.fn);
}

/** "dddd:bb:dd.f" from its parts (lower-case hex, the form sysfs and every pcisim API returns). */
export function formatBdf(domain: number, bus: number, device: number, fn: number): string {
  const h = (n: number, w: number) => n.toString(16).padStart(w, '0');
  return `${h(domain, 4)}:${h(bus, 2)}:${h(device, 2)}.${fn}`;
}

/** devfn as in Linux's PCI_DEVFN: device << 3 | function (the low byte of a routing ID). */
export function devfn(device: number, fn: number): number {
  return (device << 3) | fn;
}
