// Proof of the virtio-vfio-pci variant (issue 5 §5): a legacy virtio-net driver, working only through
// the VF's vfio device file, brings the VF up and exchanges frames with a peer on the PF's uplink,
// with MSI-X on (vectors on eventfds) and off (the ISR, as a legacy driver polling it sees it).
import { describe, expect, it } from 'vitest';
import { LoopbackPeer } from '../../../src/hw/devices/virtio/loopbackPeer.js';
import {
  ARP_REPLY, ARP_REQUEST, buildArp, buildIcmpEcho, ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST, parseArp, parseIcmpEcho, parseIp,
} from '../../../src/hw/devices/virtio/ethernetFrames.js';
import { VIRTIO_CONFIG_S_DRIVER_OK, VIRTIO_PCI_ISR_QUEUE } from '../../../src/hw/devices/virtio/virtioSpec.js';
import { virtiovfDevice } from '../../../src/host/variants/virtio/main.js';
import {
  enableMsix, ISR, legacyBringUp, legacyReceived, legacyTransmit, openVf, PF, QUEUE_NOTIFY, VF1, VF2, vfDevice, virtioVfMachine,
} from './virtioMachine.js';

const PEER_MAC = '02:00:00:00:00:fe';
const PEER_IP = parseIp('10.0.0.254');
const VF_IP = parseIp('10.0.0.1');

describe('a legacy virtio-net driver on a VF through virtio-vfio-pci', () => {
  for (const msix of [false, true]) {
    it(`brings the VF up and exchanges ARP and ICMP echo with the uplink's peer (MSI-X ${msix ? 'on' : 'off'})`, async () => {
      const m = await virtioVfMachine(2);
      const { emu } = m;
      const peer = new LoopbackPeer({ mac: PEER_MAC, ip: '10.0.0.254' }).attach(m.pf.uplink);
      const { file, c } = openVf(emu, VF1);
      const efds = msix ? enableMsix(emu, c, 3) : [];
      const dev = vfDevice(m, 1);
      const n = legacyBringUp(emu, file, 0x100000, msix);

      // what the driver learnt is the VF's: its features, its MAC, its queue sizes
      expect(n.hostFeatures).toBe(dev.featuresLo);
      expect(n.mac).toEqual(Array.from(dev.mac));
      expect(n.queueSizes).toEqual([dev.queues[0].maxSize, dev.queues[1].maxSize]);
      expect(dev.status & VIRTIO_CONFIG_S_DRIVER_OK).toBe(VIRTIO_CONFIG_S_DRIVER_OK);
      expect(dev.legacy).toBe(true);
      expect(dev.netHdrLen).toBe(10);
      expect(dev.queues[0].legacyPfn).toBe(n.rx.pfn);
      expect(dev.queues[1].legacyPfn).toBe(n.tx.pfn);
      if (msix) expect([dev.configVector, dev.queues[0].msixVector, dev.queues[1].msixVector]).toEqual([0, 1, 2]);

      // ARP: who has 10.0.0.254? The peer answers through the switch into the VF's receive queue
      const mac = Uint8Array.from(n.mac);
      legacyTransmit(emu, n, buildArp({ op: ARP_REQUEST, senderMac: mac, senderIp: VF_IP, targetMac: new Uint8Array(6), targetIp: PEER_IP }));
      expect(n.tx.takeUsed()).toHaveLength(1);
      expect(peer.stats.arpReplies).toBe(1);
      const [arp] = legacyReceived(emu, n);
      expect(parseArp(arp)).toMatchObject({ op: ARP_REPLY, senderMac: peer.mac, senderIp: PEER_IP, targetMac: mac, targetIp: VF_IP });

      // ping
      const payload = Uint8Array.from({ length: 56 }, (_, i) => i);
      legacyTransmit(emu, n, buildIcmpEcho({ srcMac: mac, dstMac: peer.mac, srcIp: VF_IP, dstIp: PEER_IP, type: ICMP_ECHO_REQUEST, id: 7, seq: 1, payload }));
      const [pong] = legacyReceived(emu, n);
      expect(parseIcmpEcho(pong)).toMatchObject({ type: ICMP_ECHO_REPLY, id: 7, seq: 1, srcIp: PEER_IP, dstIp: VF_IP, payload });

      // a frame the uplink sends to the VF's MAC lands in its receive queue
      const raw = new Uint8Array(60);
      raw.set(mac, 0);
      raw.set(peer.mac, 6);
      raw[12] = 0x88;
      raw[13] = 0xb5;
      raw[14] = 0x42;
      m.pf.uplink.send(raw);
      expect(legacyReceived(emu, n)).toEqual([raw]);
      expect(dev.stats).toMatchObject({ txFrames: 2, rxFrames: 3 });

      if (msix) {
        // used-buffer notifications on the queues' vectors, nothing on the config vector
        expect(efds[1].signals).toBe(3);
        expect(efds[2].signals).toBe(2);
        expect(efds[0].signals).toBe(0);
      } else {
        // no MSI-X: the ISR says a queue has used buffers, and reading it clears it
        expect(n.bar.read(ISR, 1)).toBe(VIRTIO_PCI_ISR_QUEUE);
        expect(n.bar.read(ISR, 1)).toBe(0);
        expect(dev.isr).toBe(0);
      }
      file.close();
    });
  }

  it('kicks go straight to the VF notify register; everything else is one admin command on the PF', async () => {
    const m = await virtioVfMachine(2);
    const { emu } = m;
    const { file } = openVf(emu, VF2);
    const vdev = virtiovfDevice(emu.host.pciDev(VF2))!;
    expect(vdev.memberId).toBe(2);
    expect([vdev.notifyBar, vdev.notifyOffset]).toEqual([2, 0x4000]);
    const executed = () => m.pf.admin!.executed;
    const n = legacyBringUp(emu, file, 0x200000, false);
    const before = { admin: executed(), notifies: vfDevice(m, 2).stats.notifications, vdevAdmin: vdev.adminAccesses };
    n.bar.write(QUEUE_NOTIFY, 2, 1);
    n.bar.write(QUEUE_NOTIFY, 2, 0);
    expect(executed()).toBe(before.admin);
    expect(vfDevice(m, 2).stats.notifications).toBe(before.notifies + 2);
    n.bar.read(0, 4);
    n.bar.write(14, 2, 1);
    expect(executed()).toBe(before.admin + 2);
    expect(vdev.adminAccesses).toBe(before.vdevAdmin + 2);
    // VF 1 and the PF's own device saw none of it
    expect(vfDevice(m, 1).stats.notifications).toBe(0);
    expect(vfDevice(m, 1).status).toBe(0);
    expect(m.pf.virtio.stats.txFrames).toBe(0);
    file.close();
  });

  it('two VFs with legacy drivers talk to each other through the switch', async () => {
    const m = await virtioVfMachine(2);
    const { emu } = m;
    const a = openVf(emu, VF1);
    const b = openVf(emu, VF2);
    enableMsix(emu, b.c, 3);
    const na = legacyBringUp(emu, a.file, 0x100000, false);
    const nb = legacyBringUp(emu, b.file, 0x200000, true);
    const f = new Uint8Array(64);
    f.set(nb.mac, 0);
    f.set(na.mac, 6);
    f[12] = 0x88;
    f[13] = 0xb5;
    f.fill(0x5a, 14);
    legacyTransmit(emu, na, f);
    expect(legacyReceived(emu, nb)).toEqual([f]);
    expect(legacyReceived(emu, na)).toEqual([]);
    a.file.close();
    b.file.close();
    expect(emu.host.pciDev(PF).driver?.name).toBe('virtio-pci');
  });
});
