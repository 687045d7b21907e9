import { checkInt } from './spec.js';

/** A PCI address: domain, bus, device (0-31), function (0-7). */
export interface Bdf {
  domain: number;
  bus: number;
  device: number;
  fn: number;
}

const BDF_RE = /^([0-9a-fA-F]{4}):([0-9a-fA-F]{2}):([0-9a-fA-F]{2})\.([0-7])$/;

/** Parses "dddd:bb:dd.f" (the sysfs form). Throws on anything else. */
export function parseBdf(bdf: string): Bdf {
  const m = typeof bdf === 'string' ? BDF_RE.exec(bdf) : null;
  if (!m) throw new Error(`bad PCI address ${JSON.stringify(bdf)}: expected dddd:bb:dd.f`);
  const device = parseInt(m[3], 16);
  checkInt(device, 0, 31, `device number of ${bdf}`);
  return { domain: parseInt(m[1], 16), bus: parseInt(m[2], 16), device, fn: parseInt(m[4], 16) };
}

export function formatBdf(domain: number, bus: number, device: number, fn: number): string {
  const h = (n: number, w: number) => n.toString(16).padStart(w, '0');
  return `${h(domain, 4)}:${h(bus, 2)}:${h(device, 2)}.${fn}`;
}

/** Routing ID / devfn helpers (bus << 8 | device << 3 | function). */
export function devfn(device: number, fn: number): number {
  return (device << 3) | fn;
}
