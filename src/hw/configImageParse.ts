// Turns what a user has of a real device's config space into its bytes: the binary file
// /sys/bus/pci/devices/*/config (256 bytes, or 4096 for PCI Express read as root), or the text of
// `lspci -xxx` (256 bytes) / `lspci -xxxx` (4096 bytes) for one function.

/** The two sizes a full dump has: conventional config space, and PCI Express extended config space. */
export const IMAGE_SIZES = [256, 4096] as const;

// An lspci hex line: a 2- or 3-digit offset, a colon, then 16 bytes separated by single spaces.
const HEX_LINE = /^([0-9a-fA-F]{2,3}):((?: [0-9a-fA-F]{2}){16})\s*$/;
// A line that starts like a hex line (offset and colon, then a space) but is not one.
const LOOKS_HEX = /^[0-9a-fA-F]{2,3}: /;

function lengthError(n: number, what: string): Error {
  if (n === 64) {
    return new Error(`configImage: ${what} holds 64 bytes, the part of config space Linux shows to non-root users; dump it as root to get 256 or 4096`);
  }
  return new Error(`configImage: ${what} holds ${n} bytes; a config image is 256 or 4096 bytes`);
}

/**
 * The text `lspci -xxx` or `-xxxx` prints for one function: optional title lines (the "01:00.0
 * Ethernet controller: ..." line; with -v also indented detail lines), then hex lines "00: 86 80 ..."
 * at offsets 0x00, 0x10, ... in order. Errors name the line.
 */
export function parseLspciText(text: string): Uint8Array {
  const lines = text.split(/\r?\n/);
  const bytes: number[] = [];
  let hexEnded = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const where = `line ${i + 1}`;
    if (line.trim() === '') {
      if (bytes.length > 0) hexEnded = true;
      continue;
    }
    const m = HEX_LINE.exec(line);
    if (!m) {
      if (LOOKS_HEX.test(line)) throw new Error(`configImage: ${where} is not 16 hex bytes after its offset: ${JSON.stringify(line.slice(0, 80))}`);
      if (bytes.length > 0) hexEnded = true; // a title or detail line: the dump of this function is over
      continue;
    }
    if (hexEnded) throw new Error(`configImage: ${where}: the text holds more than one function's dump; give one`);
    const off = parseInt(m[1], 16);
    if (off !== bytes.length) {
      throw new Error(`configImage: ${where} is at offset 0x${m[1]} but 0x${bytes.length.toString(16)} was expected (lines must run in order from 00)`);
    }
    for (const h of m[2].trim().split(' ')) bytes.push(parseInt(h, 16));
  }
  if (bytes.length === 0) throw new Error('configImage: the text holds no hex dump lines ("00: 86 80 ...")');
  if (bytes.length !== 256 && bytes.length !== 4096) throw lengthError(bytes.length, 'the lspci text');
  return Uint8Array.from(bytes);
}

/** A config image as bytes (a copy), from a binary dump or lspci text. */
export function parseConfigImage(image: unknown): Uint8Array {
  if (typeof image === 'string') return parseLspciText(image);
  if (image instanceof Uint8Array) {
    if (image.length !== 256 && image.length !== 4096) throw lengthError(image.length, 'the Uint8Array');
    return image.slice();
  }
  throw new Error('configImage must be a Uint8Array (the bytes of /sys/bus/pci/devices/*/config) or lspci -xxx / -xxxx text');
}

/** The lspci -xxx / -xxxx text of an image (what lspci prints after its title line). */
export function formatLspciText(image: Uint8Array): string {
  let out = '';
  for (let off = 0; off < image.length; off += 16) {
    const row = Array.from(image.subarray(off, off + 16), (b) => b.toString(16).padStart(2, '0')).join(' ');
    out += `${off.toString(16).padStart(2, '0')}: ${row}\n`;
  }
  return out;
}
