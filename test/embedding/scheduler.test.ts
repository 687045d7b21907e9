// Deferral: with hw.setScheduler, a virtqueue's processing after a notification (the frames it sends
// and receives, the interrupts it raises) runs when the embedder's scheduler says, not inside the
// MMIO write; without one everything happens inside the write, as before.
import { describe, expect, it } from 'vitest';
import { bringUpNet, transmit, virtioMachine } from '../hw/virtio/helpers.js';
import { host } from '../e2e/wholeStack.js';
import { regionOffset } from '../../src/vmm/vfioClient.js';

const frameTo = (last: number) => {
  const f = new Uint8Array(60);
  f.set([0x52, 0x54, 0x00, 0x12, 0x34, last]);
  f.set([0x52, 0x54, 0x00, 0x12, 0x34, 0x56], 6);
  f[12] = 0x88;
  f[13] = 0xb5;
  return f;
};

describe('device-side work and the scheduler', () => {
  it('synchronous by default: the frame and its interrupts are there when the notification returns', async () => {
    const m = await virtioMachine(1);
    expect(m.hw.scheduler).toBe(null);
    const pf = bringUpNet(m.hw, m.pf.bdf, 0x100000);
    const vf = bringUpNet(m.hw, m.vfs[0].bdf, 0x200000);
    transmit(m.hw, pf, frameTo(0x57));
    expect(pf.tx.takeUsed()).toHaveLength(1);
    expect(vf.rx.takeUsed()).toHaveLength(1);
  });

  it('with a scheduler: nothing happens inside the notification; kicks coalesce; the work runs when scheduled', async () => {
    const m = await virtioMachine(1);
    const pending: (() => void)[] = [];
    const pf = bringUpNet(m.hw, m.pf.bdf, 0x100000);
    const vf = bringUpNet(m.hw, m.vfs[0].bdf, 0x200000);
    m.hw.setScheduler((w) => pending.push(w));
    const interruptsBefore = m.log.messages.length + [...m.log.intxLevels.values()].filter(Boolean).length;
    transmit(m.hw, pf, frameTo(0x57));
    transmit(m.hw, pf, frameTo(0x57));
    expect(pending).toHaveLength(1); // two kicks of one queue, one piece of work
    expect(pf.tx.takeUsed()).toEqual([]);
    expect(vf.rx.takeUsed()).toEqual([]);
    expect(m.log.messages.length + [...m.log.intxLevels.values()].filter(Boolean).length).toBe(interruptsBefore);
    pending.shift()!();
    expect(pf.tx.takeUsed()).toHaveLength(2);
    expect(vf.rx.takeUsed()).toHaveLength(2);
    // back to synchronous
    m.hw.setScheduler(null);
    transmit(m.hw, pf, frameTo(0x57));
    expect(vf.rx.takeUsed()).toHaveLength(1);
    expect(pending).toEqual([]);
    expect(() => m.hw.setScheduler(42 as never)).toThrow(TypeError);
  });

  it('the administration queue still completes inside the notification: a VF legacy read through the PF works deferred', async () => {
    const h = await host(4);
    const pending: (() => void)[] = [];
    h.emu.hw.setScheduler((w) => pending.push(w));
    const vf = h.pf.vfs[0];
    expect(h.emu.host.bind(vf.bdf)).toBe('virtio-vfio-pci');
    const file = h.emu.host.openDevice(vf.bdf);
    file.write(regionOffset(7, 4), Uint8Array.of(1, 0));
    const mac = [0, 1, 2, 3, 4, 5].map((i) => file.read(regionOffset(0, 20 + i), 1)[0]);
    expect(mac).toEqual([...h.pf.member(1)!.mac]);
    expect(pending).toEqual([]);
  });
});
