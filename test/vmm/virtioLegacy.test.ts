// The whole legacy virtio path: a guest's legacy virtio-net driver on VFs assigned through the VMM
// (guest bus -> VMM -> virtio-vfio-pci device file -> PF admin queue -> the VF), pinging the
// loopback peer on the PF's uplink. SR-IOV VFs have no INTx (Interrupt Pin is 0 and vfio-pci
// offers no INTx vector for them), so through the VMM the legacy driver runs on MSI-X; a guest
// booted without MSI (pci=nomsi) finds no interrupt it could use and the probe fails.
import { describe, expect, it } from 'vitest';
import { createEmulator } from '../../src/emulator.js';
import { LoopbackPeer } from '../../src/hw/devices/virtio/loopbackPeer.js';
import { GuestNetStack } from '../../src/guest/netStack.js';
import { Guest } from '../../src/guest/guest.js';
import { probeVirtioNetLegacy } from '../../src/guest/virtioNetLegacyPci.js';
import type { VirtioNetLegacyPci } from '../../src/guest/virtioNetLegacyPci.js';
import { Vmm } from '../../src/vmm/vmm.js';
import { fnAt } from './machine.js';

const PF = '0000:00:04.0';
const PEER_MAC = '02:00:00:00:00:fe';
const PEER_IP = '10.0.2.2';

async function virtioGuest(vfs: number) {
  const emu = await createEmulator({ memoryBytes: 16 << 20 });
  const pf = emu.hw.addVirtioNet(PF, { totalVfs: 4 });
  expect(emu.host.sriovConfigure(PF, vfs)).toBe(vfs);
  const peer = new LoopbackPeer({ mac: PEER_MAC, ip: PEER_IP }).attach(pf.uplink);
  const vmm = new Vmm(emu);
  pf.vfs.forEach((vf, n) => {
    expect(emu.host.bind(vf.bdf)).toBe('virtio-vfio-pci');
    vmm.assign(emu.host.openDevice(vf.bdf), `0000:00:${(3 + n).toString(16).padStart(2, '0')}.0`);
  });
  const guest = new Guest(vmm);
  vmm.connectInterruptController(guest.irq);
  const enumeration = guest.enumerate();
  return { emu, pf, peer, vmm, guest, enumeration };
}

function service(guest: Guest, nics: VirtioNetLegacyPci[]): void {
  for (let round = 0; round < 100; round++) {
    let n = guest.irq.service();
    for (const nic of nics) n += nic.driver.runWork();
    if (n === 0) return;
  }
  throw new Error('interrupts or work never settle');
}

describe('legacy virtio-net on VFs through the VMM', () => {
  const irq = ['msix' as const, 'intx' as const];
  it('enumerates as legacy virtio-net, brings the NICs up and pings the peer on the uplink', async () => {
    const m = await virtioGuest(2);
    const fns = ['0000:00:03.0', '0000:00:04.0'].map((b) => fnAt(m.enumeration, b));
    for (const f of fns) expect(f).toMatchObject({ vendorId: 0x1af4, deviceId: 0x1000, revision: 0 });
    const nics = fns.map((f, n) => {
      const stackRef: { s: GuestNetStack | null } = { s: null };
      const pci = probeVirtioNetLegacy(m.guest, f, { irq, onReceive: (fr) => stackRef.s?.receive(fr) });
      stackRef.s = new GuestNetStack({ mac: pci.driver.mac, ip: `10.0.2.${15 + n}`, send: (fr) => pci.driver.transmit(fr) });
      pci.driver.open();
      return { pci, stack: stackRef.s };
    });
    for (let seq = 1; seq <= 20; seq++) {
      for (const nic of nics) nic.stack.ping(PEER_IP, seq);
      service(m.guest, nics.map((n) => n.pci));
    }
    for (const nic of nics) {
      expect(nic.stack.replies.map((r) => r.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      expect(nic.pci.driver.errors).toEqual([]);
    }
    expect(m.peer.stats.echoReplies).toBe(40);
    for (const dev of m.vmm.devices()) {
      expect(dev.msix!.sent).toBeGreaterThan(0);
      expect(dev.intx).toBeNull(); // a VF: no pin
    }
  });

  it('a guest without MSI (pci=nomsi) has no interrupt for a VF: the probe fails cleanly', async () => {
    const m = await virtioGuest(1);
    const f = fnAt(m.enumeration, '0000:00:03.0');
    expect(f.interruptPin).toBe(0);
    expect(() => probeVirtioNetLegacy(m.guest, f, { irq: ['intx'] })).toThrow(/ENOSPC|interrupt|MSI-X/);
  });
});
