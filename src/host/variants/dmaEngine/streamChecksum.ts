// The checksum of the DMA engine's migration stream (streamFormat.ts): a Fletcher-style sum over the
// stream's little-endian 32-bit words in four interleaved lanes.
//
// Word i of the stream (bytes 4i .. 4i+3, little-endian) goes to lane i % 4. Each lane keeps
//   a = a + w        (mod 2^32)
//   b = b + a        (mod 2^32)
// starting from a = b = 0, so `a` is the plain sum of the lane's words and `b` weighs each word by
// how many words of its lane follow it. The result is the eight u32 a0 a1 a2 a3 b0 b1 b2 b3.
//
// What it catches: any change confined to one word changes that lane's `a` (a nonzero difference
// below 2^32); moving, swapping or reordering words changes the `b` of their lanes unless the
// difference times the distance is a multiple of 2^32; truncation and extension are caught anyway by
// the length the end record carries. Why not CRC-32 (crc32.ts of the device folder): a table CRC
// in JavaScript runs at a quarter of memory speed (about 0.25 GB/s measured here), and the whole of
// device memory passes through the checksum twice per migration; four independent add chains keep
// this one close to the speed of a plain read (bench/migration.ts).

const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** Incremental checksum over a byte stream fed in pieces of any length. */
export class StreamChecksum {
  /** lanes: a0..a3 then b0..b3 */
  private readonly s = new Int32Array(8);
  /** bytes summed so far (stream position) */
  length = 0;
  /** bytes of a word not yet complete, little-endian in the low bits */
  private carry = 0;

  /**
   * Adds `bytes` at the current stream position. Fast when the memory under `bytes` is aligned the
   * way the stream is (byteOffset + i ≡ stream position mod 4): then every whole word is one
   * Int32Array load. Any other layout takes a byte-wise path with the same result.
   */
  update(bytes: Uint8Array): void {
    const n = bytes.length;
    let i = 0;
    // finish the partial word left by the previous piece
    while ((this.length & 3) !== 0 && i < n) {
      this.carry |= bytes[i] << (8 * (this.length & 3));
      this.length++;
      i++;
      if ((this.length & 3) === 0) {
        this.addWord(this.carry, (this.length >>> 2) - 1);
        this.carry = 0;
      }
    }
    const whole = (n - i) & ~3;
    if (whole > 0) {
      const at = bytes.byteOffset + i;
      if (LITTLE_ENDIAN && (at & 3) === 0) this.addAligned(new Int32Array(bytes.buffer, at, whole >>> 2));
      else this.addBytewise(bytes, i, whole);
      i += whole;
      this.length += whole;
    }
    // keep the tail for the next piece
    for (; i < n; i++) {
      this.carry |= bytes[i] << (8 * (this.length & 3));
      this.length++;
    }
  }

  /** The eight lane values; the stream summed so far must end on a word boundary. */
  result(): Uint32Array {
    if ((this.length & 3) !== 0) throw new Error(`stream checksum over ${this.length} bytes: not a whole number of words`);
    return Uint32Array.from(this.s, (x) => x >>> 0);
  }

  private addWord(w: number, index: number): void {
    const lane = index & 3;
    this.s[lane] = (this.s[lane] + w) | 0;
    this.s[lane + 4] = (this.s[lane + 4] + this.s[lane]) | 0;
  }

  /** Words at stream word index length/4 onwards, the first one in lane (length/4) % 4. */
  private addAligned(w: Int32Array): void {
    let k = 0;
    const n = w.length;
    let index = this.length >>> 2;
    // single words until the next word falls in lane 0
    while ((index & 3) !== 0 && k < n) this.addWord(w[k++], index++);
    const s = this.s;
    let a0 = s[0], a1 = s[1], a2 = s[2], a3 = s[3];
    let b0 = s[4], b1 = s[5], b2 = s[6], b3 = s[7];
    const quads = k + ((n - k) & ~3);
    for (; k < quads; k += 4) {
      a0 = (a0 + w[k]) | 0;
      b0 = (b0 + a0) | 0;
      a1 = (a1 + w[k + 1]) | 0;
      b1 = (b1 + a1) | 0;
      a2 = (a2 + w[k + 2]) | 0;
      b2 = (b2 + a2) | 0;
      a3 = (a3 + w[k + 3]) | 0;
      b3 = (b3 + a3) | 0;
    }
    s[0] = a0; s[1] = a1; s[2] = a2; s[3] = a3;
    s[4] = b0; s[5] = b1; s[6] = b2; s[7] = b3;
    index = (this.length >>> 2) + k;
    for (; k < n; k++) this.addWord(w[k], index++);
  }

  private addBytewise(bytes: Uint8Array, start: number, count: number): void {
    let index = this.length >>> 2;
    for (let j = start; j < start + count; j += 4) {
      this.addWord(bytes[j] | (bytes[j + 1] << 8) | (bytes[j + 2] << 16) | (bytes[j + 3] << 24), index++);
    }
  }
}

/** The checksum of a whole byte string (tests, tools). */
export function streamChecksum(bytes: Uint8Array): Uint32Array {
  const c = new StreamChecksum();
  c.update(bytes);
  return c.result();
}
