// A virtio-net VF behind an IOMMU domain: its rings and buffers are reached only through the
// domain's mappings. Taking a mapping away mid-traffic faults the device's next access: the frame is
// not written anywhere, the fault names the VF, and the device stops (NEEDS_RESET), nothing else.
import { describe, expect, it } from 'vitest';
import { IommuDomain, deviceDma } from '../../src/index.js';
import type { IommuFault } from '../../src/index.js';
import { bringUpNet, transmit, virtioMachine } from '../hw/virtio/helpers.js';

const frameTo = (last: number, fill: number) => {
  const f = new Uint8Array(60).fill(fill);
  f.set([0x52, 0x54, 0x00, 0x12, 0x34, last]);
  f.set([0x52, 0x54, 0x00, 0x12, 0x34, 0x56], 6);
  f[12] = 0x88;
  f[13] = 0xb5;
  return f;
};

describe('device DMA through an IOMMU domain', () => {
  it('works inside the mapping; after unmapping, the VF faults instead of writing and needs a reset', async () => {
    const m = await virtioMachine(1);
    const pf = bringUpNet(m.hw, m.pf.bdf, 0x100000);
    const vf = bringUpNet(m.hw, m.vfs[0].bdf, 0x200000);
    const domain = new IommuDomain('test');
    const faults: IommuFault[] = [];
    domain.onFault((f) => faults.push(f));
    domain.insert({ iova: 0x200000, size: 0x100000, memory: m.hw.memory, offset: 0x200000 });
    deviceDma(m.vfs[0]).domain = domain;
    transmit(m.hw, pf, frameTo(0x57, 1));
    const used = vf.rx.takeUsed();
    expect(used).toHaveLength(1);
    expect(m.hw.memory.read(vf.rxAddr.get(used[0].head)! + 12, 60)).toEqual(frameTo(0x57, 1));
    expect(faults).toEqual([]);
    // the mapping goes away: the next frame reaches nothing
    const before = m.hw.memory.read(0x200000, 0x100000);
    domain.remove(() => true);
    transmit(m.hw, pf, frameTo(0x57, 2));
    expect(faults.length).toBeGreaterThan(0);
    expect(faults.every((f) => f.device === m.vfs[0].bdf && f.iova >= 0x200000 && f.iova < 0x300000)).toBe(true);
    // the VF's rings and buffers are as they were: nothing was written through the missing mapping
    expect(Buffer.from(m.hw.memory.read(0x200000, 0x100000)).equals(Buffer.from(before))).toBe(true);
    expect(m.pf.member(1)!.lastError).toMatch(/outside guest memory|avail/);
    // the PF is unaffected: it still sends to the uplink
    const out: Uint8Array[] = [];
    m.pf.uplink.attach((f) => void out.push(f));
    transmit(m.hw, pf, frameTo(0x99, 3));
    expect(out).toHaveLength(1);
  });
});
