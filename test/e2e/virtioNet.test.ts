// End to end: the guest's legacy virtio-net driver on SR-IOV VFs, through the VMM (guest port I/O on
// the VF's legacy I/O BAR) -> the virtio-vfio-pci device file -> the PF's admin virtqueue -> the VF,
// exchanges frames with the loopback peer on the PF's uplink: ARP and ICMP echo both ways.
//
// Interrupt modes, as the hardware and the kernel have them:
// - MSI-X: the driver's per-queue vectors, through the VMM's MSI-X emulation and vfio eventfds.
// - INTx: an SR-IOV VF has none (PCIe SR-IOV makes its Interrupt Pin read-only 0, and vfio-pci
//   reports an INTx count of 0 for a VF). Linux's virtio_pci on a pci=nomsi guest therefore finds no
//   interrupt for a VF and the probe fails; that is asserted here. The datapath with MSI-X disabled
//   (device config at offset 20, no vectors, the ISR as the only notification) is exercised by a
//   guest that polls the ISR instead of taking an interrupt (the driver's vp_interrupt called from a
//   polling loop). INTx end to end through the VMM (eventfd, EOI, resample/UNMASK) is covered by the
//   DMA engine assigned next to the VFs in the same guest.
import { describe, expect, it } from 'vitest';
import { ARP_REQUEST, buildArp, buildIcmpEcho, ICMP_ECHO_REQUEST, parseIp } from '../../src/hw/devices/virtio/ethernetFrames.js';
import { VIRTIO_CONFIG_S_DRIVER_OK } from '../../src/hw/devices/virtio/virtioSpec.js';
import { PCI_COMMAND, PCI_COMMAND_IO, PCI_COMMAND_MASTER } from '../../src/hw/pciRegs.js';
import { DmaEngineDriver } from '../../src/guest/dmaEngineDriver.js';
import { DmaEngineWorkload } from '../../src/guest/dmaEngineWorkload.js';
import type { Guest } from '../../src/guest/guest.js';
import { portLegacyIo } from '../../src/guest/legacyIo.js';
import { GuestNetStack } from '../../src/guest/netStack.js';
import type { VirtioIrqProvider } from '../../src/guest/virtioIrqProvider.js';
import { VirtioNetLegacyDriver } from '../../src/guest/virtioNetLegacyDriver.js';
import { isLegacyVirtioNet, probeVirtioNetLegacy } from '../../src/guest/virtioNetLegacyPci.js';
import { dmaEngineOf } from '../../src/hw/devices/dmaEngine/dmaEngine.js';
import { DMAE_REG } from '../../src/hw/devices/dmaEngine/regs.js';
import { DEVMEM, DMA, fnAt, GUEST_DMA, GUEST_VF, guestOn, host, PEER, tickHost, vmmOn } from './wholeStack.js';

interface Nic {
  driver: VirtioNetLegacyDriver;
  stack: GuestNetStack;
  /** the ISR poller when the driver runs without interrupts */
  poll: (() => boolean) | null;
}

function service(guest: Guest, nics: Nic[]): void {
  for (let round = 0; round < 100; round++) {
    let n = guest.irq.service();
    for (const nic of nics) {
      if (nic.poll?.()) n++;
      n += nic.driver.runWork();
    }
    if (n === 0) return;
  }
  throw new Error('interrupts or work never settle');
}

function stackFor(driver: VirtioNetLegacyDriver, n: number): GuestNetStack {
  const stack = new GuestNetStack({ mac: driver.mac, ip: `10.0.2.${15 + n}`, send: (fr) => driver.transmit(fr) });
  driver.onReceive = (fr) => stack.receive(fr);
  return stack;
}

/** Pings from every NIC, then the uplink sends each guest an ARP request and an echo request: frames both ways. */
function exchange(h: Awaited<ReturnType<typeof host>>, guest: Guest, nics: Nic[], pings: number): void {
  for (let seq = 1; seq <= pings; seq++) {
    for (const nic of nics) expect(nic.stack.ping(PEER.ip, seq)).toBe(true);
    service(guest, nics);
  }
  const peerMac = h.peer.mac;
  const peerIp = parseIp(PEER.ip);
  for (const nic of nics) {
    h.pf.uplink.send(buildArp({ op: ARP_REQUEST, senderMac: peerMac, senderIp: peerIp, targetMac: new Uint8Array(6), targetIp: nic.stack.ip }));
    h.pf.uplink.send(buildIcmpEcho({ srcMac: peerMac, dstMac: nic.stack.mac, srcIp: peerIp, dstIp: nic.stack.ip, type: ICMP_ECHO_REQUEST, id: 9, seq: 1, payload: new Uint8Array(32) }));
    service(guest, nics);
  }
}

function checkExchange(h: Awaited<ReturnType<typeof host>>, nics: Nic[], pings: number): void {
  nics.forEach((nic, i) => {
    expect(nic.stack.replies.map((r) => r.seq)).toEqual(Array.from({ length: pings }, (_, k) => k + 1));
    expect(nic.stack.replies.every((r) => r.from === PEER.ip)).toBe(true);
    expect(nic.stack.stats).toMatchObject({ arpRequestsSent: 1, arpRepliesReceived: 1, echoRequestsSent: pings, echoRepliesReceived: pings, arpRepliesSent: 1, echoRepliesSent: 1, sendFailures: 0 });
    expect(nic.driver.errors).toEqual([]);
    // the VF's own device model saw exactly the driver's frames: the driver's queues are the VF's
    const vf = h.pf.member(i + 1)!;
    expect(vf.legacy).toBe(true);
    expect(vf.status & VIRTIO_CONFIG_S_DRIVER_OK).toBe(VIRTIO_CONFIG_S_DRIVER_OK);
    expect(vf.stats.txFrames).toBe(nic.driver.stats.txPackets);
    expect(vf.stats.rxFrames).toBe(nic.driver.stats.rxPackets);
    // out: ARP request, the pings, an ARP reply and an echo reply. In: the ARP reply, the echo
    // replies, the uplink's ARP and echo requests, and the broadcasts the embedded switch floods to
    // every VF (the other NIC's ARP request, the uplink's ARP request for the other NIC's address),
    // which the stack ignores
    const others = nics.length - 1;
    expect(nic.driver.stats.txPackets).toBe(pings + 3);
    expect(nic.driver.stats.rxPackets).toBe(pings + 3 + 2 * others);
    expect(nic.stack.stats.ignored).toBe(2 * others);
  });
  expect(h.peer.stats.arpReplies).toBe(nics.length);
  expect(h.peer.stats.echoReplies).toBe(nics.length * pings);
  // the guests' ARP and echo replies to the uplink's requests reached the wire (the peer ignores them)
  expect(h.peer.stats.ignored).toBe(2 * nics.length);
}

describe('end to end: legacy virtio-net on VFs through the VMM, virtio-vfio-pci and the PF admin queue', () => {
  it('MSI-X: the guest finds legacy virtio-net VFs, brings both NICs up and pings the uplink peer; frames flow both ways', async () => {
    const h = await host(4);
    const vmm = vmmOn(h);
    const guest = guestOn(vmm);
    const r = guest.enumerate();
    expect(r.problems).toEqual([]);
    const fns = GUEST_VF.map((b) => fnAt(r, b));
    for (const f of fns) {
      expect(f).toMatchObject({ vendorId: 0x1af4, deviceId: 0x1000, revision: 0, subsystemId: 1, interruptPin: 0 });
      expect(isLegacyVirtioNet(f)).toBe(true);
      expect(f.bars.find((b) => b.index === 0)).toMatchObject({ kind: 'io', size: 32 });
    }
    const nics: Nic[] = fns.map((f, n) => {
      const pci = probeVirtioNetLegacy(guest, f, { irq: ['msix', 'intx'] });
      const stack = stackFor(pci.driver, n);
      pci.driver.open();
      expect(pci.driver.irqMode).toMatch(/^msix/);
      expect(pci.driver.carrier).toBe(true);
      // the MAC the guest read byte by byte is the VF's
      expect(Array.from(pci.driver.mac)).toEqual(Array.from(h.pf.member(n + 1)!.mac));
      return { driver: pci.driver, stack, poll: null };
    });
    exchange(h, guest, nics, 10);
    checkExchange(h, nics, 10);
    for (const b of GUEST_VF) {
      const dev = vmm.device(b)!;
      expect(dev.intx).toBeNull(); // a VF: no pin, no INTx index
      expect(dev.msix!.sent).toBeGreaterThanOrEqual(10 + 3); // a receive interrupt per frame in, at least
    }
  });

  it('MSI-X disabled: a pci=nomsi guest has no interrupt for a VF (probe fails cleanly); an ISR-polling guest exchanges the same frames', async () => {
    const h = await host(2);
    const vmm = vmmOn(h);
    const guest = guestOn(vmm);
    const r = guest.enumerate();
    const fns = GUEST_VF.map((b) => fnAt(r, b));
    // Linux: no MSI-X allowed, no INTx pin on a VF -> find_vqs has nothing to request
    expect(() => probeVirtioNetLegacy(guest, fns[0], { irq: ['intx'] })).toThrow(/ENOSPC|ENODEV|interrupt|INTx/);
    expect(h.pf.member(1)!.status & VIRTIO_CONFIG_S_DRIVER_OK).toBe(0);

    // the polling guest: decode and bus mastering on, the legacy I/O BAR through port I/O, no vectors
    const nics: Nic[] = fns.map((f, n) => {
      const cmd = guest.config.read(f.bus, f.device, f.function, PCI_COMMAND, 2);
      guest.config.write(f.bus, f.device, f.function, PCI_COMMAND, 2, cmd | PCI_COMMAND_IO | PCI_COMMAND_MASTER);
      const bar0 = f.bars.find((b) => b.index === 0)!;
      let poller: (() => boolean) | null = null;
      const irq: VirtioIrqProvider = {
        allocMsix: () => null,
        requestIntx: (handler) => ((poller = handler), { free: () => (poller = null) }),
      };
      const driver = new VirtioNetLegacyDriver({ io: portLegacyIo(guest.io, bar0.address!, bar0.size), memory: guest.memory, dma: guest.dma, irq });
      driver.probe();
      expect(driver.irqMode).toBe('intx');
      const stack = stackFor(driver, n);
      driver.open();
      expect(Array.from(driver.mac)).toEqual(Array.from(h.pf.member(n + 1)!.mac)); // read at config offset 20
      return { driver, stack, poll: () => poller?.() ?? false };
    });
    exchange(h, guest, nics, 5);
    checkExchange(h, nics, 5);
    for (const b of GUEST_VF) expect(vmm.device(b)!.msix!.sent).toBe(0);
    for (const nic of nics) expect(nic.driver.dev.stats.intxHandled).toBeGreaterThan(0);
  });

  it('INTx through the VMM: the DMA engine next to the VFs raises INTx, the guest EOIs, the VMM resamples; the NICs keep working on MSI-X', async () => {
    const h = await host(4);
    const vmm = vmmOn(h);
    const guest = guestOn(vmm);
    const r = guest.enumerate();
    const dmaFn = fnAt(r, GUEST_DMA);
    expect(dmaFn.interruptPin).toBeGreaterThan(0);
    const drv = new DmaEngineDriver(guest, dmaFn, { irq: ['intx'], coalesce: 2 });
    drv.probe();
    expect(drv.irqMode).toBe('intx');
    const load = new DmaEngineWorkload(guest, drv, DEVMEM, { slots: 4, jobBytes: 1024, seed: 3 });
    const pci = probeVirtioNetLegacy(guest, fnAt(r, GUEST_VF[0]));
    const nic: Nic = { driver: pci.driver, stack: stackFor(pci.driver, 0), poll: null };
    pci.driver.open();
    for (let i = 0; i < 60; i++) {
      load.fill();
      if (i % 6 === 0) nic.stack.ping(PEER.ip, i / 6 + 1);
      tickHost(h.emu, 4);
      service(guest, [nic]);
    }
    for (let i = 0; i < 20 && load.outstanding > 0; i++) {
      tickHost(h.emu, 64);
      guest.irq.service();
    }
    expect(load.failures).toEqual([]);
    expect(load.outstanding).toBe(0);
    expect(drv.completed).toBe(drv.submitted);
    expect(drv.duplicates + drv.unknown + drv.errors).toBe(0);
    const intx = vmm.device(GUEST_DMA)!.intx!;
    expect(intx.triggers).toBeGreaterThan(0);
    expect(intx.resamples).toBeGreaterThan(0);
    expect(drv.interrupts).toBeGreaterThan(0);
    expect(dmaEngineOf(h.emu.hw.functions().find((f) => f.bdf === DMA)!)!.readReg(DMAE_REG.COMPLETED_LO)).toBe(drv.completed);
    expect(nic.stack.replies.map((x) => x.seq)).toEqual(Array.from({ length: 10 }, (_, k) => k + 1));
    expect(vmm.device(GUEST_VF[0])!.msix!.sent).toBeGreaterThan(0);
  });
});
