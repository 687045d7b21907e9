import type { GuestMemory } from '../hw/guestMemory.js';
import type { GuestRam } from './vmm.js';

const PAGE = 4096;
/** Largest run of pages sent as one RAM record. */
const MAX_RUN_PAGES = 256;

/**
 * Guest RAM on the source side of a migration: which pages changed since they were last sent. The
 * emulated CPU keeps no dirty log and device DMA writes straight into memory, so the VMM compares
 * each page with the copy it last sent (a page is dirty when its bytes differ), which catches CPU
 * and DMA writes alike. The destination's RAM starts zeroed, so the first pass compares against
 * zeros and skips pages never written.
 */
export class RamSender {
  private readonly sent: Uint8Array;
  private readonly sent32: Uint32Array;
  bytesSent = 0;

  constructor(
    private readonly memory: GuestMemory,
    readonly ram: GuestRam,
  ) {
    this.sent = new Uint8Array(ram.size);
    this.sent32 = new Uint32Array(this.sent.buffer, 0, ram.size >>> 2);
  }

  /** Runs of changed pages as [guest address, bytes] (copies), and the sent copy brought up to date. */
  dirtyRuns(): { addr: number; bytes: Uint8Array }[] {
    const base = this.ram.base;
    const size = this.ram.size;
    const mem = this.memory.bytes;
    const aligned = base % 4 === 0;
    const mem32 = aligned ? new Uint32Array(mem.buffer, mem.byteOffset + base, size >>> 2) : null;
    const out: { addr: number; bytes: Uint8Array }[] = [];
    let runStart = -1;
    const flush = (end: number) => {
      if (runStart < 0) return;
      const bytes = mem.slice(base + runStart, base + end);
      this.sent.set(bytes, runStart);
      out.push({ addr: base + runStart, bytes });
      this.bytesSent += bytes.length;
      runStart = -1;
    };
    for (let off = 0; off < size; off += PAGE) {
      const end = Math.min(off + PAGE, size);
      let dirty = false;
      if (mem32 && end - off === PAGE) {
        const s = this.sent32;
        for (let w = off >>> 2, e = end >>> 2; w < e; w++) {
          if (mem32[w] !== s[w]) {
            dirty = true;
            break;
          }
        }
      } else {
        for (let i = off; i < end; i++) {
          if (mem[base + i] !== this.sent[i]) {
            dirty = true;
            break;
          }
        }
      }
      if (dirty) {
        if (runStart < 0) runStart = off;
        else if ((off - runStart) / PAGE >= MAX_RUN_PAGES) {
          flush(off);
          runStart = off;
        }
      } else {
        flush(off);
      }
    }
    flush(size);
    return out;
  }
}
