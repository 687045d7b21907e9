// A machine for the legacy virtio-net guest driver tests, until the real path (VMM -> virtio-vfio-pci
// -> PF admin queue) exists: a host with a virtio-net PF, VFs enabled and a loopback peer on the
// uplink; a guest bus (a second Hardware sharing the host's memory as guest RAM) with one stand-in
// legacy function per VF (legacyVirtioStandIn.ts); a Guest that enumerates that bus.
import { createEmulator } from '../../src/emulator.js';
import type { Emulator } from '../../src/emulator.js';
import { enableVfs, placeBars } from '../../src/hw/devices/virtio/bringUp.js';
import { LoopbackPeer } from '../../src/hw/devices/virtio/loopbackPeer.js';
import type { VirtioNetPf } from '../../src/hw/devices/virtio/virtioNetPf.js';
import { Hardware } from '../../src/hw/hardware.js';
import type { PciFunction } from '../../src/hw/pciFunction.js';
import type { EnumeratedFunction, EnumerationResult } from '../../src/guest/enumerator.js';
import { Guest } from '../../src/guest/guest.js';
import { LegacyIoRecorder } from '../../src/guest/legacyIoRecorder.js';
import { GuestNetStack } from '../../src/guest/netStack.js';
import type { VirtioNetLegacyPci, VirtioNetLegacyPciOptions } from '../../src/guest/virtioNetLegacyPci.js';
import { probeVirtioNetLegacy } from '../../src/guest/virtioNetLegacyPci.js';
import { LegacyVirtioStandIn, routeHostInterrupts, standInSpec } from './legacyVirtioStandIn.js';
import type { StandInOptions } from './legacyVirtioStandIn.js';

export const PF_BDF = '0000:00:04.0';
export const PEER_MAC = '02:00:00:00:00:fe';
export const PEER_IP = '10.0.2.2';
/** the guest bdf of stand-in n (0-based) */
export const guestBdf = (n: number) => `0000:00:${(3 + n).toString(16).padStart(2, '0')}.0`;

export interface LegacyMachine {
  emu: Emulator;
  pf: VirtioNetPf;
  vfs: PciFunction[];
  peer: LoopbackPeer;
  guestHw: Hardware;
  guest: Guest;
  standIns: LegacyVirtioStandIn[];
  enumeration: EnumerationResult;
  fns: EnumeratedFunction[];
}

export async function legacyMachine(options: StandInOptions & { vfs?: number; queueSize?: number } = {}): Promise<LegacyMachine> {
  const emu = await createEmulator({ memoryBytes: 16 << 20 });
  const pf = emu.hw.addVirtioNet(PF_BDF, { totalVfs: 4, queueSize: options.queueSize });
  placeBars(emu.hw, PF_BDF, { 1: 0xfe000000, 4: 0x8_0000_0000 });
  const vfs = enableVfs(emu.hw, pf, options.vfs ?? 1, { 2: 0xe0000000 });
  const peer = new LoopbackPeer({ mac: PEER_MAC, ip: PEER_IP }).attach(pf.uplink);
  const guestHw = new Hardware({ memory: emu.memory, core: emu.hw.core });
  const standIns: LegacyVirtioStandIn[] = [];
  vfs.forEach((vf, n) => {
    const s = new LegacyVirtioStandIn(emu.hw, vf, options);
    s.attach(guestHw.addFunction(guestBdf(n), standInSpec(options.msix ?? true, options.vectors), s));
    standIns.push(s);
  });
  routeHostInterrupts(emu.hw, standIns);
  const guest = new Guest({ hw: guestHw, memory: emu.memory, ram: { base: 0, size: emu.memory.size } });
  guestHw.setInterruptSink(guest.irq);
  const enumeration = guest.enumerate();
  const fns = vfs.map((_, n) => enumeration.functions.find((f) => f.bdf === guestBdf(n))!);
  return { emu, pf, vfs, peer, guestHw, guest, standIns, enumeration, fns };
}

/** A NIC brought up by the legacy driver, with its register accesses recorded and a tiny IP stack on top. */
export interface LegacyNic {
  pci: VirtioNetLegacyPci;
  rec: LegacyIoRecorder;
  stack: GuestNetStack;
  received: Uint8Array[];
}

export function bindNic(m: LegacyMachine, n = 0, options: VirtioNetLegacyPciOptions & { ip?: string } = {}): LegacyNic {
  let rec: LegacyIoRecorder | null = null;
  const received: Uint8Array[] = [];
  let stack: GuestNetStack | null = null;
  const pci = probeVirtioNetLegacy(m.guest, m.fns[n], {
    ...options,
    wrapIo: (io) => (rec = new LegacyIoRecorder(io)),
    onReceive: (f) => {
      received.push(f);
      stack?.receive(f);
    },
  });
  stack = new GuestNetStack({ mac: pci.driver.mac, ip: options.ip ?? `10.0.2.${15 + n}`, send: (f) => pci.driver.transmit(f) });
  return { pci, rec: rec!, stack, received };
}

/** The guest CPU takes pending interrupts and the kworker runs queued work until both are idle. */
export function service(m: LegacyMachine, nics: LegacyNic[]): number {
  let total = 0;
  for (let round = 0; round < 100; round++) {
    let n = m.guest.irq.service();
    for (const nic of nics) n += nic.pci.driver.runWork();
    total += n;
    if (n === 0) return total;
  }
  throw new Error('interrupts or work never settle');
}
