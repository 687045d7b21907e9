import { describe, expect, it } from 'vitest';
import { DmaEngineDriver } from '../../src/guest/dmaEngineDriver.js';
import { DmaEngineWorkload } from '../../src/guest/dmaEngineWorkload.js';
import { dmaEngineOf } from '../../src/hw/devices/dmaEngine/dmaEngine.js';
import { MigState } from '../../src/host/vfio/migrationFsm.js';
import { liveMigrate } from '../../src/vmm/liveMigration.js';
import { MigrationError } from '../../src/vmm/vfioMigration.js';
import { Vmm } from '../../src/vmm/vmm.js';
import { createEmulator } from '../../src/emulator.js';
import type { HostDevice, Machine } from './machine.js';
import { fnAt, machine, tickHost } from './machine.js';

const DEVMEM = 64 << 10;

/** A destination host with the same devices, a VMM with them assigned at the same guest addresses, no guest yet. */
async function destination(devices: HostDevice[]): Promise<{ emu: Awaited<ReturnType<typeof createEmulator>>; vmm: Vmm }> {
  const emu = await createEmulator({ memoryBytes: 4 << 20 });
  for (const d of devices) {
    if (d.kind === 'dma') emu.hw.addDmaEngine(d.hostBdf, { deviceMemoryBytes: d.deviceMemoryBytes ?? DEVMEM });
    else emu.hw.addEndpoint(d.hostBdf, d.spec!);
  }
  const vmm = new Vmm(emu);
  for (const d of devices) {
    emu.host.bind(d.hostBdf);
    vmm.assign(emu.host.openDevice(d.hostBdf), d.guestBdf);
  }
  return { emu, vmm };
}

/** The guest's run loop for a while: keep the engines busy, let the host work, take interrupts. */
function run(m: { emu: Machine['emu'] }, guest: Machine['guest'], loads: DmaEngineWorkload[], rounds: number): void {
  for (let i = 0; i < rounds; i++) {
    for (const w of loads) w.fill();
    tickHost(m.emu, 4);
    guest.irq.service();
  }
}

describe('live migration of a guest that keeps DMA engines busy (dmae-vfio-pci end to end)', () => {
  for (const count of [1, 2]) {
    it(`${count} device(s): pre-copy while the guest works, stop-and-copy, the guest continues on the destination; nothing lost, nothing done twice`, async () => {
      const devices: HostDevice[] = [
        { kind: 'dma', hostBdf: '0000:00:05.0', guestBdf: '0000:00:03.0', deviceMemoryBytes: DEVMEM },
        { kind: 'dma', hostBdf: '0000:00:06.0', guestBdf: '0000:00:04.0', deviceMemoryBytes: DEVMEM },
      ].slice(0, count) as HostDevice[];
      const src = await machine(devices);
      const r = src.guest.enumerate();
      const loads = devices.map((d, i) => {
        const drv = new DmaEngineDriver(src.guest, fnAt(r, d.guestBdf), { irq: ['msix'], coalesce: 2 });
        drv.probe();
        return new DmaEngineWorkload(src.guest, drv, DEVMEM, { seed: 7 + i });
      });
      run(src, src.guest, loads, 30);
      expect(loads.every((w) => w.jobsVerified > 0)).toBe(true);

      const dst = await destination(devices);
      const report = liveMigrate(src.vmm, dst.vmm, {
        maxPasses: 3,
        runGuest: () => run(src, src.guest, loads, 5),
      });
      expect(report.devices).toEqual(devices.map((d) => d.guestBdf));
      expect(report.p2p).toBe(count > 1);
      for (const d of devices) {
        expect(report.sourceStates[d.guestBdf]).toEqual(count > 1 ? ['PRE_COPY', 'PRE_COPY_P2P', 'STOP_COPY', 'STOP'] : ['PRE_COPY', 'STOP_COPY', 'STOP']);
        expect(report.destinationStates[d.guestBdf]).toEqual(count > 1 ? ['RESUMING', 'STOP', 'RUNNING_P2P', 'RUNNING'] : ['RESUMING', 'STOP', 'RUNNING']);
      }
      expect(report.passes.length).toBeGreaterThanOrEqual(2);
      expect(report.passes[0].deviceBytes).toBeGreaterThan(DEVMEM - 1); // the initial device-memory pass
      expect(report.stopCopy.vmmBytes).toBeGreaterThan(0);
      // work was in flight at the stop
      const inFlight = loads.reduce((n, w) => n + w.driver.inFlight, 0);
      expect(inFlight).toBeGreaterThan(0);

      // the devices' state moved: register and device-memory digests are equal on both sides
      for (const d of devices) {
        const a = dmaEngineOf(src.hostFn.get(d.guestBdf)!)!;
        const b = dmaEngineOf(dst.emu.hw.functions().find((f) => f.bdf === d.hostBdf)!)!;
        expect(b.digest()).toBe(a.digest());
      }

      // the guest continues on the destination
      src.guest.attach(dst.vmm);
      dst.vmm.connectInterruptController(src.guest.irq);
      src.vmm.close();
      const before = loads.map((w) => w.driver.completed);
      run(dst, src.guest, loads, 40);
      for (let i = 0; i < 20 && loads.some((w) => w.outstanding > 0); i++) {
        tickHost(dst.emu, 64);
        src.guest.irq.service();
      }
      loads.forEach((w, i) => {
        expect(w.failures).toEqual([]);
        expect(w.outstanding).toBe(0);
        expect(w.driver.completed).toBeGreaterThan(before[i]);
        expect(w.driver.completed).toBe(w.driver.submitted);
        expect(w.driver.duplicates).toBe(0);
        expect(w.driver.unknown).toBe(0);
        expect(w.driver.errors).toBe(0);
      });
      // interrupts kept flowing on the destination's eventfds
      expect(dst.vmm.devices().every((d) => d.msix!.sent > 0)).toBe(true);
    });
  }

  it('a guest on INTx: the destination VMM wires INTx again before the device may run; interrupts keep coming', async () => {
    const devices: HostDevice[] = [{ kind: 'dma', hostBdf: '0000:00:05.0', guestBdf: '0000:00:03.0', deviceMemoryBytes: DEVMEM }];
    const src = await machine(devices);
    const r = src.guest.enumerate();
    const drv = new DmaEngineDriver(src.guest, fnAt(r, '0000:00:03.0'), { irq: ['intx'] });
    drv.probe();
    const w = new DmaEngineWorkload(src.guest, drv, DEVMEM, { seed: 11 });
    run(src, src.guest, [w], 10);
    const irqsBefore = drv.interrupts;
    expect(irqsBefore).toBeGreaterThan(0);
    const dst = await destination(devices);
    const report = liveMigrate(src.vmm, dst.vmm, { maxPasses: 2, runGuest: () => run(src, src.guest, [w], 3) });
    expect(report.destinationStates['0000:00:03.0']).toEqual(['RESUMING', 'STOP', 'RUNNING']);
    src.guest.attach(dst.vmm);
    dst.vmm.connectInterruptController(src.guest.irq);
    src.vmm.close();
    const onSource = drv.interrupts;
    run(dst, src.guest, [w], 30);
    expect(drv.interrupts).toBeGreaterThan(onSource + 5);
    // every one resampled on the destination (closing the source VMM left the EOIs to the destination)
    const intx = dst.vmm.device('0000:00:03.0')!.intx!;
    expect(intx.triggers).toBeGreaterThan(5);
    expect(intx.resamples).toBe(intx.triggers);
    expect(w.failures).toEqual([]);
    expect(drv.duplicates + drv.unknown + drv.errors).toBe(0);
  });

  it('a STOP_COPY-only migration with no pre-copy pass still moves everything', async () => {
    const devices: HostDevice[] = [{ kind: 'dma', hostBdf: '0000:00:05.0', guestBdf: '0000:00:03.0', deviceMemoryBytes: DEVMEM }];
    const src = await machine(devices);
    const r = src.guest.enumerate();
    const drv = new DmaEngineDriver(src.guest, fnAt(r, '0000:00:03.0'), { irq: ['msix'] });
    drv.probe();
    const w = new DmaEngineWorkload(src.guest, drv, DEVMEM, { seed: 3 });
    run(src, src.guest, [w], 10);
    w.fill();
    const dst = await destination(devices);
    const report = liveMigrate(src.vmm, dst.vmm, { maxPasses: 0 });
    expect(report.passes).toEqual([]);
    src.guest.attach(dst.vmm);
    dst.vmm.connectInterruptController(src.guest.irq);
    for (let i = 0; i < 30; i++) {
      tickHost(dst.emu, 64);
      src.guest.irq.service();
      w.fill();
    }
    expect(w.failures).toEqual([]);
    expect(drv.duplicates + drv.unknown).toBe(0);
    expect(drv.completed).toBeGreaterThan(0);
  });

  it('a destination device that is not the same kind fails the migration; the source carries on', async () => {
    const devices: HostDevice[] = [{ kind: 'dma', hostBdf: '0000:00:05.0', guestBdf: '0000:00:03.0', deviceMemoryBytes: DEVMEM }];
    const src = await machine(devices);
    const r = src.guest.enumerate();
    const drv = new DmaEngineDriver(src.guest, fnAt(r, '0000:00:03.0'), { irq: ['msix'] });
    drv.probe();
    const w = new DmaEngineWorkload(src.guest, drv, DEVMEM);
    run(src, src.guest, [w], 5);
    // the destination's engine has a different device-memory size: its driver refuses the stream
    const dst = await destination([{ ...devices[0], deviceMemoryBytes: DEVMEM * 2 }]);
    expect(() => liveMigrate(src.vmm, dst.vmm, { maxPasses: 1 })).toThrow(MigrationError);
    // source devices are RUNNING again and the guest keeps working there
    const hostEngine = dmaEngineOf(src.hostFn.get('0000:00:03.0')!)!;
    expect(hostEngine.quiesced).toBe(false);
    const done = drv.completed;
    run(src, src.guest, [w], 20);
    expect(drv.completed).toBeGreaterThan(done);
    expect(w.failures).toEqual([]);
    expect(src.vmm.log.grep('back to RUNNING').length).toBe(1);
    expect(dst.vmm.log.grep('migration state STOP failed: EINVAL: invalid migration stream').length).toBe(1);
    // the destination device holds nothing valid: reset once, RUNNING
    expect(dst.vmm.log.grep('VFIO_DEVICE_RESET').length).toBe(1);
    void MigState;
  });
});
