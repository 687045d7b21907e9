/**
 * A 64-bit digest (16 hex digits) over byte strings, for end-to-end equality checks of device
 * state; not cryptographic. Two MurmurHash3-style 32-bit lanes with different seeds over the
 * little-endian words, then the tail bytes and each part's length, finished with Murmur's fmix32:
 * it runs at memory speed over tens of MiB of device memory.
 */
export function stateDigest(parts: readonly Uint8Array[]): string {
  const h = new Int32Array([0x811c9dc5 | 0, 0x9e3779b9 | 0]);
  for (const p of parts) {
    const whole = p.length & ~3;
    const words = p.byteOffset % 4 === 0 ? new Uint32Array(p.buffer, p.byteOffset, whole >>> 2) : new Uint32Array(p.slice(0, whole).buffer);
    mixWords(h, words);
    let tail = 0;
    for (let i = whole; i < p.length; i++) tail |= p[i] << (8 * (i - whole));
    mixWords(h, new Uint32Array([tail, p.length]));
  }
  const a = fmix(h[0] ^ h[1]) >>> 0;
  const b = fmix((h[1] + h[0]) | 0) >>> 0;
  return a.toString(16).padStart(8, '0') + b.toString(16).padStart(8, '0');
}

// Murmur3's constants as signed 32-bit values, so every step stays in small-integer arithmetic.
const C1 = 0xcc9e2d51 | 0;
const C2 = 0x1b873593;
const C3 = 0x85ebca6b | 0;
const N1 = 0xe6546b64 | 0;
const N2 = 0x38495ab5;

/** The hot loop, with the lanes in locals. */
function mixWords(h: Int32Array, words: Uint32Array): void {
  let h1 = h[0];
  let h2 = h[1];
  for (let i = 0, n = words.length; i < n; i++) {
    let k = Math.imul(words[i] | 0, C1);
    k = Math.imul((k << 15) | (k >>> 17), C2);
    h1 ^= k;
    h1 = (Math.imul((h1 << 13) | (h1 >>> 19), 5) + N1) | 0;
    h2 ^= Math.imul((k << 11) | (k >>> 21), C3);
    h2 = (Math.imul((h2 << 17) | (h2 >>> 15), 9) + N2) | 0;
  }
  h[0] = h1;
  h[1] = h2;
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
