// The whole stack: a virtio-net PF with SR-IOV on the host, a VF bound to virtio-vfio-pci and
// assigned to a VMM, a guest that enumerates its bus, brings the NIC up with the legacy virtio-net
// driver and pings the peer on the PF's uplink. Run: node examples/whole-stack.mjs
import assert from 'node:assert/strict';
import { createEmulator, Guest, GuestNetStack, LoopbackPeer, probeVirtioNetLegacy, Vmm } from 'pcisim';

const emu = await createEmulator({ memoryBytes: 16 << 20 });
const pf = emu.hw.addVirtioNet('0000:00:04.0', { totalVfs: 4 });
new LoopbackPeer({ mac: '02:00:00:00:00:fe', ip: '10.0.2.2' }).attach(pf.uplink);
assert.equal(emu.host.sriovConfigure(pf.bdf, 2), 2); // like `echo 2 > sriov_numvfs`: VFs 00:04.1-2

const vmm = new Vmm(emu, { ram: { base: 0, size: 12 << 20 } }); // host DMA memory stays above guest RAM
assert.equal(emu.host.bind('0000:00:04.1'), 'virtio-vfio-pci'); // the best vfio_pci: alias match
vmm.assign(emu.host.openDevice('0000:00:04.1'), '0000:00:03.0');

const guest = new Guest(vmm); // CF8/CFC + ECAM, port I/O, MMIO on the VMM's bus
vmm.connectInterruptController(guest.irq);
const { functions } = guest.enumerate();
const found = functions.find((f) => f.bdf === '0000:00:03.0');
assert.ok(found, 'the guest sees the assigned VF at 00:03.0');
assert.equal(found.deviceId, 0x1000); // a transitional virtio-net, as the variant driver presents it

const nic = probeVirtioNetLegacy(guest, found);
const stack = new GuestNetStack({ mac: nic.driver.mac, ip: '10.0.2.15', send: (frame) => nic.driver.transmit(frame) });
nic.driver.onReceive = (frame) => stack.receive(frame);
nic.driver.open();
for (let seq = 1; seq <= 3; seq++) {
  stack.ping('10.0.2.2', seq); // ARP first, then the echo request
  guest.irq.service(); // the reply comes in by MSI-X
}
assert.deepEqual(stack.replies.map((r) => [r.from, r.seq]), [['10.0.2.2', 1], ['10.0.2.2', 2], ['10.0.2.2', 3]]);
console.log(`ok: guest eth0 on VF 00:04.1 (guest 00:03.0), 3/3 ping replies from 10.0.2.2`);
