// Issue 13 bug 2: device DMA is confined to its owner's IOMMU mappings. A guest's DMA engine once
// overwrote the host's own DMA pages (the PF's admin queue), after which another VM's VF failed every
// legacy register read. Now: the regression, and a random storm of bad DMA from two guests (two VMMs)
// that must leave host memory, the other guest's RAM and every other device untouched.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { DmaEngineDriver } from '../../src/guest/dmaEngineDriver.js';
import { Guest } from '../../src/guest/guest.js';
import { DMAE_OP, DMAE_STATUS } from '../../src/hw/devices/dmaEngine/descriptor.js';
import type { Completion } from '../../src/hw/devices/dmaEngine/descriptor.js';
import type { VfioDeviceFile } from '../../src/host/vfio/deviceFile.js';
import { regionOffset } from '../../src/vmm/vfioClient.js';
import { Vmm } from '../../src/vmm/vmm.js';
import type { VmmOptions } from '../../src/vmm/vmm.js';
import { createEmulator } from '../../src/emulator.js';
import { LoopbackPeer } from '../../src/hw/devices/virtio/loopbackPeer.js';
import { DEVMEM, fnAt, host, MEMORY, PEER, PF, tickHost } from '../e2e/wholeStack.js';
import type { Host } from '../e2e/wholeStack.js';

const DMA_A = '0000:00:06.0'; // host() adds this engine
const DMA_B = '0000:00:07.0';
const GUEST_DMA = '0000:00:03.0';
const GUEST_VF = '0000:00:04.0';
const MiB = 1 << 20;

interface Vm {
  vmm: Vmm;
  guest: Guest;
  drv: DmaEngineDriver;
  done: Completion[];
}

/** A VMM with the engine at `hostDma` assigned, a guest on it and the engine's driver probed. */
function vm(h: Host, hostDma: string, options: VmmOptions): Vm {
  const vmm = new Vmm(h.emu, options);
  expect(h.emu.host.bind(hostDma)).toBe('dmae-vfio-pci');
  vmm.assign(h.emu.host.openDevice(hostDma), GUEST_DMA);
  const guest = new Guest(vmm);
  vmm.connectInterruptController(guest.irq);
  const drv = new DmaEngineDriver(guest, fnAt(guest.enumerate(), GUEST_DMA), { irq: ['msix'] });
  drv.probe();
  const done: Completion[] = [];
  drv.onCompletion = (c) => done.push(c);
  return { vmm, guest, drv, done };
}

/** A VF bound to virtio-vfio-pci, its file kept for legacy register reads (every one an admin command). */
function vfFile(h: Host, n: number): { file: VfioDeviceFile; mac: number[] } {
  const vf = h.pf.vfs[n];
  expect(h.emu.host.bind(vf.bdf)).toBe('virtio-vfio-pci');
  const file = h.emu.host.openDevice(vf.bdf);
  file.write(regionOffset(7, 4), Uint8Array.of(1, 0)); // Command: I/O decode for the legacy BAR
  return { file, mac: [...h.pf.member(n + 1)!.mac] };
}

/** The VF's MAC through its legacy I/O BAR (device config at 20 without MSI-X). */
const legacyMac = (file: VfioDeviceFile) => [0, 1, 2, 3, 4, 5].map((i) => file.read(regionOffset(0, 20 + i), 1)[0]);

function settle(h: Host, vms: Vm[]): void {
  for (let i = 0; i < 50 && tickHost(h.emu, 256) > 0; i++) for (const v of vms) v.drv.poll();
  for (const v of vms) v.drv.poll();
}

describe('bug 2: a guest DMA engine cannot reach the host admin queue pages', () => {
  it('every write there is an IOMMU fault, the pages keep their bytes, another VM keeps reading its VF legacy registers', async () => {
    const h = await host(4);
    const mem = h.emu.memory;
    const reserved = mem.hostReservedFrom;
    expect(reserved).toBeLessThan(MEMORY); // the PF driver's admin queue and buffers
    const bystander = vfFile(h, 2);
    const other = new Vmm(h.emu, { ram: { base: 8 * MiB, size: 4 * MiB } });
    other.assign(bystander.file, GUEST_VF);
    expect(legacyMac(bystander.file)).toEqual(bystander.mac);
    // the attacker's guest RAM is the default: a window over all of host memory
    const a = vm(h, DMA_A, {});
    const before = mem.read(reserved, MEMORY - reserved);
    a.drv.submit({ opcode: DMAE_OP.FILL, length: 4096, src: 0xeeeeeeee, dst: 0 });
    for (let page = reserved - 2048; page < MEMORY; page += 4096) a.drv.submit({ opcode: DMAE_OP.COPY_FROM_DEVICE, length: 4096, src: 0, dst: page });
    settle(h, [a]);
    const writes = a.done.slice(1);
    expect(writes.length).toBe(Math.ceil((MEMORY - reserved + 2048) / 4096));
    expect(writes.every((c) => c.status === DMAE_STATUS.DMA_WRITE_ERROR)).toBe(true);
    expect(Buffer.from(mem.read(reserved, MEMORY - reserved)).equals(Buffer.from(before))).toBe(true);
    expect(a.vmm.iommuFaults.length).toBe(writes.length);
    expect(a.vmm.iommuFaults.every((f) => f.device === DMA_A && f.direction === 'write')).toBe(true);
    expect(other.iommuFaults).toEqual([]);
    // reading the admin pages does not leak them either
    a.drv.submit({ opcode: DMAE_OP.COPY_TO_DEVICE, length: 64, src: reserved, dst: 0 });
    settle(h, [a]);
    expect(a.done.at(-1)!.status).toBe(DMAE_STATUS.DMA_READ_ERROR);
    for (let i = 0; i < 3; i++) expect(legacyMac(bystander.file)).toEqual(bystander.mac);
  });
});

describe('a storm of bad DMA from two guests', () => {
  let h: Host;
  let vms: Vm[];
  let bystander: { file: VfioDeviceFile; mac: number[] };
  const RAM = [
    { base: 0, size: 4 * MiB },
    { base: 4 * MiB, size: 4 * MiB },
  ];

  beforeAll(async () => {
    // the second engine is there before the host kernel assigns resources (as host() builds the first)
    const emu = await createEmulator({ memoryBytes: MEMORY });
    const pf = emu.hw.addVirtioNet(PF, { totalVfs: 4 });
    emu.hw.addDmaEngine(DMA_A, { deviceMemoryBytes: DEVMEM });
    emu.hw.addDmaEngine(DMA_B, { deviceMemoryBytes: DEVMEM });
    expect(emu.host.sriovConfigure(PF, 4)).toBe(4);
    h = { emu, pf, peer: new LoopbackPeer(PEER).attach(pf.uplink) };
    bystander = vfFile(h, 3);
    vms = [vm(h, DMA_A, { ram: RAM[0] }), vm(h, DMA_B, { ram: RAM[1] })];
    vms[1].vmm.assign(bystander.file, GUEST_VF);
  });

  it('leaves host memory, the other guest and every other device untouched; only the offender faults', () => {
    const mem = h.emu.memory;
    const reserved = mem.hostReservedFrom;
    // where a guest may legitimately write: its rings and buffers (the first MiB) and its scratch (the second)
    const own = (i: number) => ({ base: RAM[i].base, end: RAM[i].base + 2 * MiB });
    const address = (i: number) =>
      fc.oneof(
        fc.integer({ min: 0, max: MiB - 1 }).map((k) => RAM[i].base + MiB + k), // own scratch
        fc.integer({ min: 0, max: 4 * MiB - 1 }).map((k) => RAM[1 - i].base + k), // the other guest's RAM
        fc.integer({ min: 0, max: MEMORY - reserved - 1 }).map((k) => reserved + k), // the host's DMA pages
        fc.integer({ min: 8 * MiB, max: reserved - 1 }), // host memory no guest maps
        fc.integer({ min: -16, max: 16 }).map((k) => RAM[i].base + RAM[i].size + k), // straddling the end of RAM
        fc.constantFrom(2 ** 32, 2 ** 40 + 8, 2 ** 63, 2 ** 64 - 4096, MEMORY),
        fc.integer({ min: 0, max: 70 << 10 }), // device-memory offsets (and low IOVAs)
      );
    const job = fc.integer({ min: 0, max: 1 }).chain((who) =>
      fc.record({
        who: fc.constant(who),
        opcode: fc.oneof(fc.constantFrom(DMAE_OP.COPY_TO_DEVICE, DMAE_OP.COPY_FROM_DEVICE, DMAE_OP.FILL, DMAE_OP.CHECKSUM, DMAE_OP.COPY_DEVICE, DMAE_OP.NOP), fc.integer({ min: 0, max: 255 })),
        length: fc.oneof(fc.integer({ min: 0, max: 8192 }), fc.constantFrom(65536, 2 ** 31, 0xffffffff)),
        src: address(who),
        dst: address(who),
        flags: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 255 })),
      }),
    );
    fc.assert(
      fc.property(fc.array(job, { minLength: 1, maxLength: 24 }), (jobs) => {
        const before = mem.read(0, MEMORY);
        const faults = vms.map((v) => v.vmm.iommuFaults.length);
        for (const j of jobs) {
          const v = vms[j.who];
          if (v.drv.submit({ opcode: j.opcode, length: j.length, src: j.src, dst: j.dst, flags: j.flags }) === null) {
            settle(h, vms);
            v.drv.submit({ opcode: j.opcode, length: j.length, src: j.src, dst: j.dst, flags: j.flags });
          }
        }
        settle(h, vms);
        expect(vms.map((v) => v.drv.inFlight)).toEqual([0, 0]);
        // nothing outside the two guests' own areas changed: not the host's pages, not unmapped memory,
        // not the other guest's RAM beyond what that guest itself did
        const after = mem.read(0, MEMORY);
        for (const [start, end] of [[own(0).end, own(1).base], [own(1).end, MEMORY]]) {
          expect(Buffer.from(after.subarray(start, end)).equals(Buffer.from(before.subarray(start, end)))).toBe(true);
        }
        // a write into guest i's area came from guest i: each device faulted only in its own VMM
        for (const [i, v] of vms.entries()) {
          for (const f of v.vmm.iommuFaults.slice(faults[i])) expect(f.device).toBe(i === 0 ? DMA_A : DMA_B);
        }
      }),
      { numRuns: 25 },
    );
    // every device still works: the bystander VF's legacy registers (admin queue), both engines
    expect(legacyMac(bystander.file)).toEqual(bystander.mac);
    for (const [i, v] of vms.entries()) {
      const buf = RAM[i].base + MiB;
      v.drv.submit({ opcode: DMAE_OP.FILL, length: 64, src: 0x5a5a5a5a + i, dst: 0 });
      v.drv.submit({ opcode: DMAE_OP.COPY_FROM_DEVICE, length: 64, src: 0, dst: buf });
      settle(h, vms);
      expect(v.done.slice(-2).map((c) => c.status)).toEqual([DMAE_STATUS.SUCCESS, DMAE_STATUS.SUCCESS]);
      expect(mem.readU32(buf)).toBe(0x5a5a5a5a + i);
    }
  });
});
