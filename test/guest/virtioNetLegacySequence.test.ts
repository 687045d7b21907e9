// The legacy virtio-net driver's register sequence on BAR0, access by access, against the sequence
// Linux's virtio_pci legacy transport and virtio_net perform (test/fixtures/virtioNetLegacyLinux.ts,
// written by hand from the kernel sources).
import { describe, expect, it } from 'vitest';
import type { LegacyIoAccess } from '../../src/guest/legacyIoRecorder.js';
import {
  LINUX_INTX_QUEUE_IRQ, LINUX_OPEN_INTX, LINUX_OPEN_MSIX, LINUX_PROBE_INTX, LINUX_PROBE_MSIX, LINUX_REMOVE_INTX, LINUX_REMOVE_MSIX,
  LINUX_XMIT,
} from '../fixtures/virtioNetLegacyLinux.js';
import type { FixtureAccess } from '../fixtures/virtioNetLegacyLinux.js';
import { bindNic, legacyMachine, PEER_IP, service } from './legacyVirtioMachine.js';
import type { LegacyNic } from './legacyVirtioMachine.js';

type Row = [op: 'R' | 'W', size: number, off: number, value: number | string];

/** The recorded accesses with the rings' page frame numbers replaced by the fixture's names. */
function rows(log: LegacyIoAccess[], nic: LegacyNic): Row[] {
  const rx = nic.pci.driver.rxQueue?.pfn;
  const tx = nic.pci.driver.txQueue?.pfn;
  return log.map((a) => {
    let v: number | string = a.value;
    if (a.op === 'W' && a.size === 4 && a.off === 8 && a.value !== 0) v = a.value === rx ? 'PFN_RX' : a.value === tx ? 'PFN_TX' : a.value;
    return [a.op, a.size, a.off, v];
  });
}

const expected = (f: FixtureAccess[]): Row[] => f.map(([op, size, off, value]) => [op, size, off, value]);

/** Compares entry by entry so a mismatch names the kernel function it belongs to. */
function expectSequence(log: LegacyIoAccess[], nic: LegacyNic, fixture: FixtureAccess[]): void {
  const got = rows(log, nic);
  const want = expected(fixture);
  for (let i = 0; i < Math.max(got.length, want.length); i++) {
    expect(got[i], `access ${i}: ${fixture[i]?.[4] ?? 'not in the Linux sequence'}`).toEqual(want[i]);
  }
}

describe.each([
  { mode: 'MSI-X', msix: true, probe: LINUX_PROBE_MSIX, open: LINUX_OPEN_MSIX, remove: LINUX_REMOVE_MSIX },
  { mode: 'INTx', msix: false, probe: LINUX_PROBE_INTX, open: LINUX_OPEN_INTX, remove: LINUX_REMOVE_INTX },
])('register sequence with $mode is the one Linux performs', ({ msix, probe, open, remove }) => {
  it('probe (register_virtio_device, virtio_dev_probe, virtnet_probe with init_vqs/setup_vq)', async () => {
    const m = await legacyMachine({ msix });
    const nic = bindNic(m);
    expectSequence(nic.rec.take(), nic, probe);
    expect(nic.pci.driver.irqMode).toBe(msix ? 'msix-each' : 'intx');
    // the PFNs written are the rings the driver set up, and the device took them
    const vf = m.standIns[0].device;
    expect(vf.queues[0].legacyPfn).toBe(nic.pci.driver.rxQueue!.pfn);
    expect(vf.queues[1].legacyPfn).toBe(nic.pci.driver.txQueue!.pfn);
  });

  it('virtnet_open, then one transmit, then unbind', async () => {
    const m = await legacyMachine({ msix });
    const nic = bindNic(m);
    nic.rec.take();
    nic.pci.driver.open();
    expectSequence(nic.rec.take(), nic, open);
    // an ARP request for the peer: one kick of transmitq1
    m.peer.detach();
    nic.stack.arpRequest(PEER_IP);
    expectSequence(nic.rec.take(), nic, LINUX_XMIT);
    service(m, [nic]);
    expect(nic.rec.take()).toEqual([]);
    nic.pci.remove();
    expectSequence(nic.rec.take(), nic, remove);
  });
});

describe('interrupt handling on INTx reads the ISR, on MSI-X touches no register', () => {
  it('INTx: each queue interrupt is one ISR read; the ping reply needs no other access', async () => {
    const m = await legacyMachine({ msix: false });
    const nic = bindNic(m);
    nic.pci.driver.open();
    nic.rec.take();
    nic.stack.ping(PEER_IP, 1);
    expectSequence(nic.rec.take(), nic, LINUX_XMIT); // the ARP request
    service(m, [nic]);
    // ARP reply -> ISR read, the echo request goes out (a kick) from the receive path; its reply
    // lands while the receive queue is still being polled (interrupts suppressed), so no second ISR read
    expectSequence(nic.rec.take(), nic, [...LINUX_INTX_QUEUE_IRQ, ...LINUX_XMIT]);
    expect(nic.stack.replies.map((r) => r.seq)).toEqual([1]);
  });

  it('MSI-X: the per-queue vectors run the ring handlers without any BAR0 access', async () => {
    const m = await legacyMachine({ msix: true });
    const nic = bindNic(m);
    nic.pci.driver.open();
    nic.rec.take();
    nic.stack.ping(PEER_IP, 1);
    service(m, [nic]);
    expectSequence(nic.rec.take(), nic, [...LINUX_XMIT, ...LINUX_XMIT]);
    expect(nic.stack.replies).toHaveLength(1);
    expect(nic.pci.driver.dev.stats.msix).toBeGreaterThan(0);
  });
});
