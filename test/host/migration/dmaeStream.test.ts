// The dmae-vfio-pci migration stream: its format byte by byte, the checksum, round trips with any
// chunking, and every way a stream can be wrong (truncated, corrupted, reordered, oversized,
// foreign, incomplete, or just random bytes): the resume fails with a clear VfioError, the
// destination ends in ERROR with nothing applied and nothing else touched, DEVICE_RESET brings it
// back to a clean RUNNING, and the source is never affected.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { DMAE_STATE_BYTES } from '../../../src/hw/devices/dmaEngine/index.js';
import { StreamChecksum, dmaeStreamFormat as F, streamChecksum } from '../../../src/host/variants/dmaEngine/index.js';
import {
  BDF, GuestDriver, MigState, PAGE, VFIO, VfioError, dmaeMachine, expectErrno, getState, machineSnapshot, precopyInfo, resumeStream, rng, saveStream,
  setState, writeAll,
} from './dmaeHarness.js';
import type { Machine } from './dmaeHarness.js';

const DEVMEM = 64 << 10;
const le32 = (b: Uint8Array, at: number) => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(at, true);
const le16 = (b: Uint8Array, at: number) => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint16(at, true);
const put32 = (b: Uint8Array, at: number, v: number) => new DataView(b.buffer, b.byteOffset, b.byteLength).setUint32(at, v >>> 0, true);

interface Section {
  type: number;
  at: number;
  length: number;
}

/** The sections of a well-formed stream. */
function sections(s: Uint8Array): Section[] {
  const out: Section[] = [];
  let at = F.STREAM_HEADER_BYTES;
  while (at < s.length) {
    const sec = { type: le16(s, at), at, length: le32(s, at + 4) };
    out.push(sec);
    at += F.SECTION_HEADER_BYTES + sec.length;
  }
  return out;
}

/** Recomputes the END record's length and checksum of a (possibly edited) stream ending in END. */
function reseal(s: Uint8Array): Uint8Array {
  const out = s.slice();
  const end = out.length - F.END_RECORD_BYTES;
  put32(out, end + 8, out.length);
  put32(out, end + 12, 0);
  const ck = streamChecksum(out.subarray(0, out.length - 32));
  for (let i = 0; i < 8; i++) put32(out, out.length - 32 + 4 * i, ck[i]);
  return out;
}

/** The checksum as its comment defines it, word by word. */
function referenceChecksum(b: Uint8Array): number[] {
  const a = [0, 0, 0, 0];
  const c = [0, 0, 0, 0];
  for (let i = 0; i + 4 <= b.length; i += 4) {
    const lane = (i / 4) % 4;
    a[lane] = (a[lane] + le32(b, i)) >>> 0;
    c[lane] = (c[lane] + a[lane]) >>> 0;
  }
  return [...a, ...c];
}

function precopyInfoOf(m: Machine, fd: number): { initial: bigint; dirty: bigint } {
  const { initial, dirty } = precopyInfo(m.emu, fd);
  return { initial, dirty };
}

function configView(m: Machine): Uint8Array {
  return m.file.read(BigInt(VFIO.PCI_CONFIG_REGION_INDEX) << 40n, 4096);
}

/** A source with real state: rings set up, MSI-X wired, work done, device memory written. */
async function busySource(seed = 11, deviceMemoryBytes = DEVMEM): Promise<{ m: Machine; guest: GuestDriver }> {
  const m = await dmaeMachine({ deviceMemoryBytes });
  const guest = new GuestDriver(rng(seed));
  guest.bringUp(m);
  for (let i = 0; i < 6; i++) {
    guest.submit(8, deviceMemoryBytes);
    guest.run(1);
  }
  guest.submit(5, deviceMemoryBytes); // left in flight
  return { m, guest };
}

describe('stream format', () => {
  it('header, sections in order, END with the total length and the checksum of everything before it', async () => {
    const { m } = await busySource();
    const blob = m.engine.saveState();
    const cfg = configView(m);
    const s = saveStream(m, 1000);
    const h = s.subarray(0, 64);
    expect([...h.subarray(0, 4)]).toEqual([0x44, 0x4d, 0x49, 0x47]); // "DMIG"
    expect([le16(h, 4), le16(h, 6)]).toEqual([1, 64]);
    expect([le16(h, 8), le16(h, 10), le16(h, 12), le16(h, 14), h[16], h[17]]).toEqual([0x1b36, 0x00f0, 0x1b36, 0x00f0, 1, 0]);
    expect([le16(h, 0x12), le32(h, 0x14), le32(h, 0x18), le32(h, 0x1c)]).toEqual([4096, DEVMEM, 4096, DMAE_STATE_BYTES]);
    expect(new TextDecoder().decode(h.subarray(0x20, 0x20 + 13))).toBe('dmae-vfio-pci');
    expect([...h.subarray(0x20 + 13, 0x40)].every((b) => b === 0)).toBe(true);
    const secs = sections(s);
    expect(secs.map((x) => F.SECTION_NAME[x.type])).toEqual(['PAGES', 'DEVICE_STATE', 'VCONFIG', 'IRQS', 'END']);
    expect(le32(s, secs[0].at + 8)).toBe(0);
    expect(le32(s, secs[0].at + 12)).toBe(DEVMEM / PAGE);
    expect(s.subarray(secs[0].at + 16, secs[0].at + 16 + DEVMEM)).toEqual(m.engine.readDeviceMemory(0, DEVMEM));
    expect(s.subarray(secs[1].at + 8, secs[1].at + 8 + secs[1].length)).toEqual(blob);
    expect(s.subarray(secs[2].at + 8, secs[2].at + 8 + 4096)).toEqual(cfg);
    // IRQS: MSI-X (3), no flags, 2 vectors, both wired
    expect([...s.subarray(secs[3].at + 8, secs[3].at + 8 + secs[3].length)]).toEqual([3, 0, 2, 0, 0, 0, 0, 0, 3, 0, 0, 0]);
    const end = secs[4];
    expect(end.length).toBe(40);
    expect(le32(s, end.at + 8)).toBe(s.length);
    expect(end.at + 48).toBe(s.length);
    expect([...s.subarray(s.length - 32)].length).toBe(32);
    const ck = streamChecksum(s.subarray(0, s.length - 32));
    for (let i = 0; i < 8; i++) expect(le32(s, s.length - 32 + 4 * i)).toBe(ck[i]);
  });

  it('more device memory than one section holds is cut into runs of 1024 pages', async () => {
    const m = await dmaeMachine({ deviceMemoryBytes: 8 << 20 });
    const s = saveStream(m, 3 << 20);
    const pages = sections(s).filter((x) => x.type === F.SECTION.PAGES);
    expect(pages.map((x) => [le32(s, x.at + 8), le32(s, x.at + 12)])).toEqual([[0, 1024], [1024, 1024]]);
  });

  it('the checksum is the documented four-lane sum, whatever the chunking and alignment', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.array(fc.integer({ min: 1, max: 70 }), { minLength: 1 }), fc.nat(7), (raw, cuts, shift) => {
        const bytes = raw.subarray(0, raw.length & ~3);
        const c = new StreamChecksum();
        // feed from a buffer whose memory alignment differs from the stream's
        const moved = new Uint8Array(bytes.length + 8).subarray(shift, shift + bytes.length);
        moved.set(bytes);
        let o = 0;
        for (let k = 0; o < moved.length; k++) {
          const n = Math.min(cuts[k % cuts.length], moved.length - o);
          c.update(moved.subarray(o, o + n));
          o += n;
        }
        expect([...c.result()]).toEqual(referenceChecksum(bytes));
      }),
    );
    expect(() => new StreamChecksum().update(new Uint8Array(3)) ?? new StreamChecksum()).not.toThrow();
    const partial = new StreamChecksum();
    partial.update(new Uint8Array(5));
    expect(() => partial.result()).toThrow(/whole number of words/);
  });
});

describe('round trips', () => {
  let src: Machine;
  let stream: Uint8Array;
  let digest: string;
  let dst: Machine;
  beforeAll(async () => {
    src = (await busySource(21)).m;
    stream = saveStream(src);
    setState(src.file, MigState.STOP);
    digest = src.engine.digest();
    dst = await dmaeMachine({ deviceMemoryBytes: DEVMEM });
  });

  it('any chunking of the writes restores the same device (fast-check)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 20000 }), { minLength: 1, maxLength: 40 }), (sizes) => {
        dst.client.reset();
        resumeStream(dst, stream, sizes);
        expect(getState(dst.file)).toBe(MigState.STOP);
        expect(dst.engine.digest()).toBe(digest);
      }),
      { numRuns: 40 },
    );
  });

  it('the user config view comes back through the core (BARs as the user sees them, Command, PCIe/AER controls)', () => {
    dst.client.reset();
    const fd = setState(dst.file, MigState.RESUMING);
    new GuestDriver(rng(2)).wireInterrupts(dst); // the VMM's part: MSI-X vectors 0 and 1, as the source had
    writeAll(dst.emu, fd, stream, 4096);
    setState(dst.file, MigState.STOP);
    const a = configView(src);
    const b = configView(dst);
    const diff: number[] = [];
    for (let i = 0; i < 4096; i++) if (a[i] !== b[i]) diff.push(i);
    expect(diff).toEqual([]);
  });

  it('any chunking of the reads gives the same stream (the source is stopped, the stream deterministic)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 70000 }), (chunk) => {
        setState(src.file, MigState.STOP_COPY);
        const parts: Uint8Array[] = [];
        for (;;) {
          const b = src.emu.host.fd(src.vdev.saving!.fd).read(chunk);
          if (!b.length) break;
          parts.push(b.slice());
        }
        setState(src.file, MigState.STOP);
        expect(Buffer.concat(parts).equals(Buffer.from(stream))).toBe(true);
      }),
      { numRuns: 15 },
    );
    expect(src.engine.digest()).toBe(digest);
  });

  it('pre-copy stops offering data once it sent eight times device memory; STOP_COPY carries the rest; the stream stays under the bound', async () => {
    const m = await dmaeMachine({ deviceMemoryBytes: 4096 });
    const fd = setState(m.file, MigState.PRE_COPY);
    const f = m.emu.host.fd(fd);
    const parts: Uint8Array[] = [];
    let passes = 0;
    for (; passes < 20; passes++) {
      m.engine.writeDeviceMemory(0, Uint8Array.of(passes));
      const b = f.read(1 << 20);
      if (b.length === 0) break;
      parts.push(b.slice());
    }
    const precopy = parts.reduce((n, p) => n + p.length, 0);
    expect(precopy).toBeGreaterThanOrEqual(F.precopyBudgetBytes(4096));
    expect(passes).toBeLessThan(20);
    // the page is dirty, but pre-copy has nothing more to offer: the temporary end of stream
    expect(m.engine.dirtyPageCount()).toBe(1);
    expect(precopyInfoOf(m, fd)).toEqual({ initial: 0n, dirty: 0n });
    setState(m.file, MigState.STOP_COPY);
    for (;;) {
      const b = f.read(1 << 20);
      if (!b.length) break;
      parts.push(b.slice());
    }
    const all = Buffer.concat(parts);
    expect(all.length).toBeLessThanOrEqual(F.maxStreamBytes(4096));
    setState(m.file, MigState.STOP);
    const d = await dmaeMachine({ deviceMemoryBytes: 4096 });
    resumeStream(d, all, 777);
    expect(d.engine.digest()).toBe(m.engine.digest());
    expect(d.engine.readDeviceMemory(0, 1)[0]).toBe(passes);
  });

  it('PAGES sections may come in any order (resealed): still the same device', () => {
    const secs = sections(stream);
    expect(secs.filter((s) => s.type === F.SECTION.PAGES)).toHaveLength(1);
    // split the single PAGES section in two runs and send them the other way round
    const p = secs[0];
    const half = DEVMEM / PAGE / 2;
    const run = (first: number, count: number) => {
      const out = new Uint8Array(16 + count * PAGE);
      out.set(F.encodePagesHeader(first, count, PAGE));
      out.set(stream.subarray(p.at + 16 + first * PAGE, p.at + 16 + (first + count) * PAGE), 16);
      return out;
    };
    const rest = stream.subarray(p.at + 8 + p.length);
    const edited = reseal(Buffer.concat([stream.subarray(0, 64), run(half, half), run(0, half), rest]));
    dst.client.reset();
    resumeStream(dst, edited, 999);
    expect(dst.engine.digest()).toBe(digest);
  });
});

describe('streams that must be refused', () => {
  let src: Machine;
  let srcSnap: string[];
  let stream: Uint8Array;
  let dst: Machine;
  let fresh: string;
  beforeAll(async () => {
    src = (await busySource(31)).m;
    stream = saveStream(src);
    setState(src.file, MigState.STOP);
    srcSnap = machineSnapshot(src.emu);
    dst = await dmaeMachine({ deviceMemoryBytes: DEVMEM });
    // neighbours on the destination that no stream may touch
    dst.emu.hw.addDmaEngine('0000:00:05.0', { deviceMemoryBytes: DEVMEM });
    dst.emu.host.bind('0000:00:05.0');
    dst.emu.host.openDevice('0000:00:05.0');
    dst.emu.hw.addEndpoint('0000:00:06.0', { vendorId: 0x8086, deviceId: 0x1234, classCode: 0x020000, bars: [{ kind: 'mem32', size: 0x1000 }] });
    dst.emu.memory.write(0x3000, new Uint8Array(64).fill(0x5a));
    dst.client.reset();
    fresh = dst.engine.digest();
  });

  /**
   * Feeds `bytes`, asks for STOP; expects a VfioError (from a write: ENOMEM; from the arc: EINVAL)
   * matching `msg`, then ERROR, nothing applied or touched, and a clean RUNNING after DEVICE_RESET.
   */
  function refused(bytes: Uint8Array, msg: RegExp, sizes: number[] | number = 4096): VfioError {
    dst.client.reset();
    const before = machineSnapshot(dst.emu, BDF);
    const cfg = configView(dst);
    const digestBefore = dst.engine.digest();
    const fd = setState(dst.file, MigState.RESUMING);
    let err: VfioError | null = null;
    try {
      writeAll(dst.emu, fd, bytes, sizes);
    } catch (e) {
      expect(e).toBeInstanceOf(VfioError);
      expect((e as VfioError).code).toBe('ENOMEM');
      err = e as VfioError;
    }
    const arc = expectErrno(() => setState(dst.file, MigState.STOP), 'EINVAL');
    err ??= arc;
    expect(err.message).toMatch(msg);
    expect(getState(dst.file)).toBe(MigState.ERROR);
    expect(dst.engine.digest()).toBe(digestBefore);
    expect(configView(dst)).toEqual(cfg);
    expect(machineSnapshot(dst.emu, BDF)).toEqual(before);
    dst.client.reset();
    expect(getState(dst.file)).toBe(MigState.RUNNING);
    expect(dst.engine.quiesced).toBe(false);
    expect(dst.engine.digest()).toBe(fresh);
    expect(machineSnapshot(src.emu)).toEqual(srcSnap);
    return err;
  }

  it('truncated anywhere', () => {
    for (const cut of [0, 1, 63, 64, 70, 72, 80, 100, 64 + 16 + DEVMEM / 2, stream.length - 48 - 100, stream.length - 48, stream.length - 33, stream.length - 1]) {
      refused(stream.subarray(0, cut), /invalid migration stream: truncated/);
    }
  });

  it('corrupted: a flipped bit anywhere (header, section headers, pages, state, config, irqs, END)', () => {
    const secs = sections(stream);
    const spots = [0, 5, 0x10, 0x21, ...secs.flatMap((s) => [s.at, s.at + 4, s.at + 9, s.at + 8 + Math.floor(s.length / 2)]), stream.length - 40, stream.length - 1];
    for (const at of spots) {
      const bad = stream.slice();
      bad[at] ^= 0x10;
      refused(bad, /bad magic|version|foreign|unknown section|flags|not a multiple|reordered|oversized|PAGES|lie outside|checksum|END record|truncated/);
    }
    refused(
      (() => {
        const b = stream.slice();
        b[secs[0].at + 5000] ^= 1;
        return b;
      })(),
      /checksum mismatch/,
    );
  });

  it('reordered: chunks swapped, or tail sections out of order even with a valid checksum', () => {
    const secs = sections(stream);
    const [pages, state, vconfig, irqs, end] = secs;
    const slice = (s: Section) => stream.subarray(s.at, s.at + 8 + s.length);
    refused(reseal(Buffer.concat([stream.subarray(0, 64), slice(pages), slice(vconfig), slice(state), slice(irqs), slice(end)])), /reordered stream: VCONFIG section at stream offset \d+ where PAGES or DEVICE_STATE belongs/);
    refused(reseal(Buffer.concat([stream.subarray(0, 64), slice(state), slice(pages), slice(vconfig), slice(irqs), slice(end)])), /reordered stream: PAGES section .* where VCONFIG/);
    refused(reseal(Buffer.concat([stream.subarray(0, 64), slice(pages), slice(state), slice(vconfig), slice(irqs), slice(irqs), slice(end)])), /reordered stream: IRQS/);
    // two 4 KiB chunks of page data swapped in transit
    const b = stream.slice();
    b.set(stream.subarray(pages.at + 16, pages.at + 16 + 4096), pages.at + 16 + 8192);
    b.set(stream.subarray(pages.at + 16 + 8192, pages.at + 16 + 12288), pages.at + 16);
    refused(b, /checksum mismatch/);
  });

  it('oversized: refused by the write that brings it (ENOMEM), and the stream stays refused', () => {
    refused(Buffer.concat([stream, new Uint8Array(4)]), /oversized migration stream: 4 bytes follow the END record/);
    const big = stream.slice();
    put32(big, sections(stream)[0].at + 4, 8 + 2048 * PAGE);
    refused(big, /oversized migration stream: PAGES section of \d+ bytes, at most/);
    const blob = stream.slice();
    put32(blob, sections(stream)[2].at + 4, 8192);
    refused(blob, /oversized migration stream: VCONFIG section of 8192 bytes/);
    // a stream that never ends: more page data than ten copies of device memory
    const p = sections(stream)[0];
    const pagesSection = stream.subarray(p.at, p.at + 8 + p.length);
    const endless = Buffer.concat([stream.subarray(0, 64), ...new Array(30).fill(pagesSection)]);
    const e = refused(endless, /oversized migration stream: \d+ bytes exceed the \d+/, 1 << 20);
    expect(e.code).toBe('ENOMEM');
    // further writes keep failing
    const fd = setState(dst.file, MigState.RESUMING);
    const f = dst.emu.host.fd(fd);
    f.write(stream.subarray(0, 64));
    expectErrno(() => f.write(new Uint8Array(F.maxStreamBytes(DEVMEM))), 'ENOMEM');
    expectErrno(() => f.write(new Uint8Array(4)), 'ENOMEM');
    expectErrno(() => setState(dst.file, MigState.STOP), 'EINVAL');
  });

  it('foreign: another device memory size, vendor, revision or driver; another config layout', async () => {
    const other = await dmaeMachine({ deviceMemoryBytes: 2 * DEVMEM });
    refused(saveStream(other), /foreign stream: saved from device memory bytes 0x20000 \(this device: 0x10000\)/);
    const edit = (at: number, bytes: number[]) => {
      const b = stream.slice();
      b.set(bytes, at);
      return reseal(b);
    };
    refused(edit(0x08, [0x86, 0x80]), /foreign stream: saved from vendor 0x8086 \(this device: 0x1b36\)/);
    refused(edit(0x10, [2]), /foreign stream: saved from revision 0x02/);
    refused(edit(0x20, [...new TextEncoder().encode('mlx5')]), /foreign stream: saved from variant driver "mlx5-vfio-pci"/);
    const vcfg = sections(stream)[2].at + 8;
    refused(edit(vcfg + 0x0b, [0x02]), /VCONFIG revision\/class code at 0x08 differs/);
    refused(edit(vcfg + 0x34, [0x48]), /VCONFIG capability layout/);
  });

  it('well-formed but invalid contents: device state, interrupt setup, pages outside device memory or never sent', () => {
    const secs = sections(stream);
    const edit = (at: number, bytes: number[]) => {
      const b = stream.slice();
      b.set(bytes, at);
      return reseal(b);
    };
    refused(edit(secs[1].at + 8 + 0x30, [0xff]), /DEVICE_STATE: DMA engine state: checksum mismatch/);
    const irqs = secs[3].at + 8;
    refused(edit(irqs, [7]), /IRQS: unknown interrupt type 7/);
    refused(edit(irqs + 2, [5]), /IRQS: 5 msix vectors, this device has 2/);
    refused(edit(irqs + 8, [4]), /IRQS: vector 2 is set, the device has 2/);
    refused(edit(irqs, [2]), /IRQS: the source used msi, which this device does not have/);
    refused(edit(secs[0].at + 8, [1]), /pages 1\.\.16 lie outside the 16 pages/);
    // the last page never sent: its run one page shorter
    const p = secs[0];
    const short = Buffer.concat([stream.subarray(0, 64), F.encodePagesHeader(0, 15, PAGE), stream.subarray(p.at + 16, p.at + 16 + 15 * PAGE), stream.subarray(p.at + 8 + p.length)]);
    refused(reseal(short), /device memory page 15 was never sent/);
  });

  it('random byte strings: a VfioError, never anything else, never a write outside the device (fast-check)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 3000 }), fc.uint8Array({ minLength: 64, maxLength: 200 }).map((b) => {
        const out = b.slice();
        out.set(stream.subarray(0, 64)); // a valid header, then garbage
        return out;
      })), fc.integer({ min: 1, max: 500 }), (bytes, chunk) => {
        refused(bytes, /invalid migration stream|oversized/, chunk);
      }),
      { numRuns: 80 },
    );
  });

  it('mutated streams (flips, cuts, splices, field overwrites; resealed or not): a VfioError or a valid device (fast-check)', () => {
    const secs = sections(stream);
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(stream.length - 1), bit: fc.nat(7) }),
      fc.record({ kind: fc.constant('cut' as const), at: fc.nat(stream.length - 1), bit: fc.constant(0) }),
      fc.record({ kind: fc.constant('splice' as const), at: fc.nat(stream.length - 1), bit: fc.nat(5000) }),
      fc.record({ kind: fc.constant('field' as const), at: fc.nat(secs.length - 1), bit: fc.nat(0xffffffff) }),
    );
    const outcomes = { accepted: 0, refused: 0 };
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), fc.boolean(), fc.integer({ min: 1, max: 30000 }), (muts, sealed, chunk) => {
        let b: Uint8Array = stream.slice();
        for (const mu of muts) {
          if (mu.kind === 'flip') b[mu.at % b.length] ^= 1 << mu.bit;
          else if (mu.kind === 'cut') b = b.slice(0, mu.at % b.length);
          else if (mu.kind === 'splice') {
            const at = mu.at % (b.length + 1);
            b = Buffer.concat([b.subarray(0, at), stream.subarray(mu.bit, mu.bit + 64), b.subarray(at)]);
          } else {
            const s = secs[mu.at];
            if (s.at + 8 <= b.length) put32(b, s.at + 4, mu.bit);
          }
        }
        if (sealed && b.length >= F.END_RECORD_BYTES + 64 && b.length % 4 === 0) b = reseal(b);
        dst.client.reset();
        const before = machineSnapshot(dst.emu, BDF);
        const digestBefore = dst.engine.digest();
        try {
          resumeStream(dst, b, chunk);
        } catch (e) {
          expect(e).toBeInstanceOf(VfioError);
          expect(['EINVAL', 'ENOMEM']).toContain((e as VfioError).code);
          if ((e as VfioError).code === 'ENOMEM') expectErrno(() => setState(dst.file, MigState.STOP), 'EINVAL');
          expect(getState(dst.file)).toBe(MigState.ERROR);
          expect(dst.engine.digest()).toBe(digestBefore);
          expect(machineSnapshot(dst.emu, BDF)).toEqual(before);
          outcomes.refused++;
          return;
        }
        outcomes.accepted++;
        // accepted: a valid device in STOP that runs once its interrupts are wired as the source's were
        expect(getState(dst.file)).toBe(MigState.STOP);
        expect(machineSnapshot(dst.emu, BDF)).toEqual(before);
        const guest = new GuestDriver(rng(1));
        guest.wireInterrupts(dst);
        setState(dst.file, MigState.RUNNING);
        expect(dst.engine.quiesced).toBe(false);
      }),
      { numRuns: 120, seed: 20240607 },
    );
    // both outcomes happen: a resealed flip in page data is a valid (different) device
    expect(outcomes.accepted).toBeGreaterThan(0);
    expect(outcomes.refused).toBeGreaterThan(outcomes.accepted);
    expect(machineSnapshot(src.emu)).toEqual(srcSnap);
  });
});
