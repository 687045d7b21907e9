/**
 * A 64-bit digest (16 hex digits) over byte strings, for end-to-end equality checks of device
 * state; not cryptographic. Two MurmurHash3-style 32-bit lanes with different seeds over the
 * little-endian words, then the tail bytes and each part's length, finished with Murmur's fmix32:
 * it runs at memory speed over tens of MiB of device memory.
 */
export function stateDigest(parts: readonly Uint8Array[]): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x9e3779b9;
  const mix = (w: number): void => {
    let k = Math.imul(w, 0xcc9e2d51);
    k = Math.imul((k << 15) | (k >>> 17), 0x1b873593);
    h1 ^= k;
    h1 = (Math.imul((h1 << 13) | (h1 >>> 19), 5) + 0xe6546b64) | 0;
    h2 ^= Math.imul((k << 11) | (k >>> 21), 0x85ebca6b);
    h2 = (Math.imul((h2 << 17) | (h2 >>> 15), 9) + 0x38495ab5) | 0;
  };
  for (const p of parts) {
    const whole = p.length & ~3;
    const words = p.byteOffset % 4 === 0 ? new Uint32Array(p.buffer, p.byteOffset, whole >>> 2) : new Uint32Array(p.slice(0, whole).buffer);
    for (let i = 0; i < words.length; i++) mix(words[i]);
    let tail = 0;
    for (let i = whole; i < p.length; i++) tail |= p[i] << (8 * (i - whole));
    mix(tail);
    mix(p.length);
  }
  return (fmix(h1 ^ h2) >>> 0).toString(16).padStart(8, '0') + (fmix(h2 + h1) >>> 0).toString(16).padStart(8, '0');
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
