// The whole stack for the end-to-end tests, built only through the public layers: a host with a
// virtio-net PF (SR-IOV, admin virtqueue, a loopback peer on its uplink) and a DMA engine, VFs bound
// by best match (virtio-vfio-pci), the engine by best match (dmae-vfio-pci), a VMM with two VFs and
// the engine assigned, and a guest on the VMM's bus.
import { expect } from 'vitest';
import { createEmulator } from '../../src/emulator.js';
import type { Emulator } from '../../src/emulator.js';
import { LoopbackPeer } from '../../src/hw/devices/virtio/loopbackPeer.js';
import type { VirtioNetPf } from '../../src/hw/devices/virtio/virtioNetPf.js';
import { Guest } from '../../src/guest/guest.js';
import type { EnumeratedFunction, EnumerationResult } from '../../src/guest/enumerator.js';
import { Vmm } from '../../src/vmm/vmm.js';

export const PF = '0000:00:04.0';
export const DMA = '0000:00:06.0';
export const DEVMEM = 64 << 10;
export const PEER = { mac: '02:00:00:00:00:fe', ip: '10.0.2.2' };
/** guest slots: the two VFs, then the DMA engine */
export const GUEST_VF = ['0000:00:03.0', '0000:00:04.0'];
export const GUEST_DMA = '0000:00:05.0';
/** 16 MiB of host memory: guest RAM is the low 12 MiB, the host kernel's DMA memory (admin queue) sits at the top */
export const MEMORY = 16 << 20;
export const RAM = { base: 0, size: 12 << 20 };

export interface Host {
  emu: Emulator;
  pf: VirtioNetPf;
  peer: LoopbackPeer;
}

/** The host: virtio-net PF with `vfs` VFs enabled through sriov_numvfs, a DMA engine, the peer on the uplink. */
export async function host(vfs = 4): Promise<Host> {
  const emu = await createEmulator({ memoryBytes: MEMORY });
  const pf = emu.hw.addVirtioNet(PF, { totalVfs: 4 });
  emu.hw.addDmaEngine(DMA, { deviceMemoryBytes: DEVMEM });
  expect(emu.host.sriovConfigure(PF, vfs)).toBe(vfs);
  const peer = new LoopbackPeer(PEER).attach(pf.uplink);
  return { emu, pf, peer };
}

/** A VMM on `h` with the first two VFs and the DMA engine assigned (best-match binding checked). */
export function vmmOn(h: Host): Vmm {
  const vmm = new Vmm(h.emu, { ram: RAM });
  h.pf.vfs.slice(0, 2).forEach((vf, i) => {
    expect(h.emu.host.bind(vf.bdf)).toBe('virtio-vfio-pci');
    vmm.assign(h.emu.host.openDevice(vf.bdf), GUEST_VF[i]);
  });
  expect(h.emu.host.bind(DMA)).toBe('dmae-vfio-pci');
  vmm.assign(h.emu.host.openDevice(DMA), GUEST_DMA);
  return vmm;
}

export function guestOn(vmm: Vmm): Guest {
  const guest = new Guest(vmm);
  vmm.connectInterruptController(guest.irq);
  return guest;
}

/** Lets every host device with work do up to `budget` units (devices only work when ticked). */
export function tickHost(emu: Emulator, budget = 64): number {
  let n = 0;
  for (const f of emu.hw.functions()) n += f.model.tick?.(f, budget) ?? 0;
  return n;
}

export function fnAt(result: EnumerationResult, bdf: string): EnumeratedFunction {
  const f = result.functions.find((x) => x.bdf === bdf);
  if (!f) throw new Error(`${bdf} was not enumerated (found ${result.functions.map((x) => x.bdf).join(', ')})`);
  return f;
}
