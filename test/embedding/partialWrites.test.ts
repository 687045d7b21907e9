// Split and sub-width accesses: an emulator that splits a 16-bit MMIO write into two byte writes
// must not fail silently. The device logs each register written narrower than itself once per
// register and width, naming the device, the register and the width.
import { describe, expect, it } from 'vitest';
import { virtioMachine } from '../hw/virtio/helpers.js';

describe('partial register writes', () => {
  it('a 16-bit register written as two bytes is logged once per register and width; whole writes are not', async () => {
    const m = await virtioMachine(0);
    const layout = m.pf.virtio.layout;
    const bar = m.hw.decodedRanges('mem').find((r) => r.fn === m.pf && r.bar === layout.bar)!;
    const common = bar.base + layout.common - bar.barOffset;
    const QUEUE_SELECT = 22;
    const QUEUE_MSIX_VECTOR = 26;
    m.hw.mmioWrite(common + QUEUE_SELECT, 2, 1);
    m.hw.mmioWrite(common + QUEUE_MSIX_VECTOR, 2, 0xffff);
    expect(m.hw.log.lines).toEqual([]);
    for (let round = 0; round < 3; round++) {
      m.hw.mmioWrite(common + QUEUE_MSIX_VECTOR, 1, 0x01);
      m.hw.mmioWrite(common + QUEUE_MSIX_VECTOR + 1, 1, 0x00);
    }
    const lines = m.hw.log.grep('queue_msix_vector');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(m.pf.bdf);
    expect(lines[0]).toContain('1-byte write');
    expect(lines[0]).toContain('2-byte register queue_msix_vector');
    // another width of the same register is its own line; another register too
    m.hw.mmioWrite(common + QUEUE_SELECT, 1, 0);
    expect(m.hw.log.lines).toHaveLength(2);
    expect(m.hw.log.grep('queue_select')).toHaveLength(1);
  });
});
