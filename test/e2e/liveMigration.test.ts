// End to end: live migration of a guest that keeps the DMA engine busy, from one emulated host to
// another, through the VMM's orchestration of the VFIO migration v2 uapi (dmae-vfio-pci): pre-copy
// passes while the guest driver keeps submitting work, stop-and-copy, resume on the destination.
// Nothing is lost and nothing is done twice: every job's data is verified, every cookie completes
// once, and the device's own completion counter (migrated with it) agrees with the driver's.
// The VFs next to it cannot migrate (virtio-vfio-pci has no migration support): with them assigned
// the migration is blocked, as QEMU blocks it; a guest that releases its NICs first (what virtio-net
// failover does with the VF) migrates, and probes the destination's VFs afterwards.
import { describe, expect, it } from 'vitest';
import { DmaEngineDriver } from '../../src/guest/dmaEngineDriver.js';
import { DmaEngineWorkload } from '../../src/guest/dmaEngineWorkload.js';
import type { EnumeratedFunction } from '../../src/guest/enumerator.js';
import type { Guest } from '../../src/guest/guest.js';
import { GuestNetStack } from '../../src/guest/netStack.js';
import { probeVirtioNetLegacy } from '../../src/guest/virtioNetLegacyPci.js';
import type { VirtioNetLegacyPci } from '../../src/guest/virtioNetLegacyPci.js';
import { dmaEngineOf } from '../../src/hw/devices/dmaEngine/dmaEngine.js';
import { DMAE_REG } from '../../src/hw/devices/dmaEngine/regs.js';
import { PCI_BASE_ADDRESS_0 } from '../../src/hw/pciRegs.js';
import type { Emulator } from '../../src/emulator.js';
import { liveMigrate } from '../../src/vmm/liveMigration.js';
import { MigrationError } from '../../src/vmm/vfioMigration.js';
import { DEVMEM, DMA, fnAt, GUEST_DMA, GUEST_VF, guestOn, host, PEER, RAM, tickHost, vmmOn } from './wholeStack.js';

function engineOn(emu: Emulator) {
  return dmaEngineOf(emu.hw.functions().find((f) => f.bdf === DMA)!)!;
}

function run(emu: Emulator, guest: Guest, load: DmaEngineWorkload, rounds: number): void {
  for (let i = 0; i < rounds; i++) {
    load.fill();
    tickHost(emu, 4);
    guest.irq.service();
  }
}

function drain(emu: Emulator, guest: Guest, load: DmaEngineWorkload): void {
  for (let i = 0; i < 50 && load.outstanding > 0; i++) {
    tickHost(emu, 64);
    guest.irq.service();
  }
}

function nicUp(guest: Guest, f: EnumeratedFunction, ip: string): { pci: VirtioNetLegacyPci; stack: GuestNetStack } {
  const pci = probeVirtioNetLegacy(guest, f);
  const stack = new GuestNetStack({ mac: pci.driver.mac, ip, send: (fr) => pci.driver.transmit(fr) });
  pci.driver.onReceive = (fr) => stack.receive(fr);
  pci.driver.open();
  return { pci, stack };
}

function ping(guest: Guest, nic: { pci: VirtioNetLegacyPci; stack: GuestNetStack }, count: number): void {
  for (let seq = 1; seq <= count; seq++) {
    nic.stack.ping(PEER.ip, seq);
    for (let i = 0; i < 20 && guest.irq.service() + nic.pci.driver.runWork() > 0; i++);
  }
}

/** What a hotplug rescan of the slot does for a function the guest already knew: its BARs back where they were. */
function restoreBars(guest: Guest, f: EnumeratedFunction): void {
  for (const b of f.bars) {
    if (b.address === null) continue;
    const reg = PCI_BASE_ADDRESS_0 + 4 * b.index;
    guest.config.write(f.bus, f.device, f.function, reg, 4, b.address % 2 ** 32);
    if (b.is64) guest.config.write(f.bus, f.device, f.function, reg + 4, 4, Math.floor(b.address / 2 ** 32));
  }
}

describe('end to end: live migration of a guest that keeps the DMA engine busy', () => {
  it('the VFs block the migration while assigned; the guest carries on at the source', async () => {
    const src = await host(4);
    const vmm = vmmOn(src);
    const guest = guestOn(vmm);
    const r = guest.enumerate();
    const drv = new DmaEngineDriver(guest, fnAt(r, GUEST_DMA), { irq: ['msix'] });
    drv.probe();
    const load = new DmaEngineWorkload(guest, drv, DEVMEM, { seed: 2 });
    run(src.emu, guest, load, 10);
    const dst = await host(4);
    const dvmm = vmmOn(dst);
    expect(() => liveMigrate(vmm, dvmm)).toThrow(MigrationError);
    expect(() => liveMigrate(vmm, dvmm)).toThrow(/blocked.*cannot migrate/);
    const done = drv.completed;
    run(src.emu, guest, load, 20);
    drain(src.emu, guest, load);
    expect(drv.completed).toBeGreaterThan(done);
    expect(load.failures).toEqual([]);
    expect(drv.duplicates + drv.unknown + drv.errors).toBe(0);
  });

  for (const mode of ['msix', 'intx'] as const) {
    it(`${mode}: pre-copy while the guest submits work, stop-and-copy, the guest continues on the destination; digests equal, nothing lost or done twice; the NICs come back on the destination's VFs`, async () => {
      const src = await host(4);
      const svmm = vmmOn(src);
      const guest = guestOn(svmm);
      const r = guest.enumerate();
      const drv = new DmaEngineDriver(guest, fnAt(r, GUEST_DMA), { irq: [mode], coalesce: 2 });
      drv.probe();
      const load = new DmaEngineWorkload(guest, drv, DEVMEM, { slots: 8, jobBytes: 2048, seed: 7 });
      const vfFn = fnAt(r, GUEST_VF[0]);
      const nic = nicUp(guest, vfFn, '10.0.2.15');
      ping(guest, nic, 5);
      expect(nic.stack.replies).toHaveLength(5);
      run(src.emu, guest, load, 40);
      expect(load.jobsVerified).toBeGreaterThan(0);

      // failover: the NIC is released before the migration; its VF stays assigned but idle
      nic.pci.remove();

      const dst = await host(4);
      const dvmm = vmmOn(dst);
      let guestRounds = 0;
      const report = liveMigrate(svmm, dvmm, {
        allowUnmigratable: true,
        maxPasses: 4,
        convergeBytes: 1,
        runGuest: () => {
          run(src.emu, guest, load, 6);
          guestRounds++;
        },
      });
      expect(report.devices).toEqual([GUEST_DMA]);
      expect(report.p2p).toBe(false);
      expect(report.sourceStates[GUEST_DMA]).toEqual(['PRE_COPY', 'STOP_COPY', 'STOP']);
      expect(report.destinationStates[GUEST_DMA]).toEqual(['RESUMING', 'STOP', 'RUNNING']);
      expect(guestRounds).toBe(report.passes.length);
      expect(report.passes.length).toBeGreaterThanOrEqual(2);
      expect(report.passes[0].deviceBytes).toBeGreaterThanOrEqual(DEVMEM); // device memory goes in the first pass
      expect(report.passes[0].ramBytes).toBeGreaterThan(0);
      expect(report.stopCopy.steps).toBeGreaterThan(0);
      expect(report.totalBytes).toBeGreaterThan(report.stopCopy.deviceBytes + report.stopCopy.ramBytes + report.stopCopy.vmmBytes);
      // work was in flight when the guest paused
      expect(drv.inFlight).toBeGreaterThan(0);

      // the device state and guest RAM are the same on both sides
      expect(engineOn(dst.emu).digest()).toBe(engineOn(src.emu).digest());
      const ramOf = (e: Emulator) => e.memory.bytes.subarray(RAM.base, RAM.base + RAM.size);
      expect(Buffer.compare(ramOf(dst.emu), ramOf(src.emu))).toBe(0);
      const submittedAtStop = drv.submitted;
      const completedAtStop = drv.completed;

      // the guest continues on the destination
      guest.attach(dvmm);
      dvmm.connectInterruptController(guest.irq);
      svmm.close();
      run(dst.emu, guest, load, 60);
      drain(dst.emu, guest, load);
      expect(load.failures).toEqual([]);
      expect(load.outstanding).toBe(0);
      expect(drv.submitted).toBeGreaterThan(submittedAtStop);
      expect(drv.completed).toBe(drv.submitted);
      expect(drv.completed).toBeGreaterThan(completedAtStop);
      expect(drv.duplicates + drv.unknown + drv.errors).toBe(0);
      // the migrated device counter counts every completion once, on either side
      expect(drv.readReg(DMAE_REG.COMPLETED_LO)).toBe(drv.completed);
      expect(engineOn(dst.emu).readReg(DMAE_REG.COMPLETED_LO)).toBe(drv.completed);
      const dev = dvmm.device(GUEST_DMA)!;
      if (mode === 'msix') expect(dev.msix!.sent).toBeGreaterThan(0);
      else expect(dev.intx!.triggers).toBeGreaterThan(0);

      // the NIC comes back on the destination's VF (a slot rescan puts its BARs back) and pings
      restoreBars(guest, vfFn);
      const nic2 = nicUp(guest, vfFn, '10.0.2.15');
      ping(guest, nic2, 5);
      expect(nic2.stack.replies.map((x) => x.seq)).toEqual([1, 2, 3, 4, 5]);
      expect(dst.peer.stats.echoReplies).toBe(5);
      expect(src.peer.stats.echoReplies).toBe(5);
    });
  }
});
