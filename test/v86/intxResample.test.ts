import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LinuxGuest } from '../../src/v86/nodeGuest.js';
import type { StackScenario } from '../../src/v86/scenario.js';
import { attachStackScenario } from '../../src/v86/scenario.js';

// INTx end to end with EOI resampling through the VMM: a pci=nomsi guest, and the virtio-net PF
// itself assigned through vfio-pci (VFs have no INTx). Each interrupt: the device asserts, vfio-pci
// masks and signals the trigger eventfd, the VMM asserts the guest pin, the adapter raises the
// PIRQ-routed IOAPIC line; the guest's EOI (seen as the IOAPIC's remote IRR clearing) goes back to
// the VMM, which lowers the pin and signals the unmask eventfd.
describe('real guest: INTx through the VMM with EOI resampling (pci=nomsi)', () => {
  let guest: LinuxGuest;
  let sc: StackScenario;
  const logs: string[] = [];
  beforeAll(async () => {
    guest = await LinuxGuest.boot({
      cmdline: 'pci=nomsi',
      beforeRun: async (e) => {
        sc = await attachStackScenario(e, { assignPf: true, attach: { log: (l) => logs.push(l) } });
      },
    }, 400_000);
    console.log(`[v86] pci=nomsi boot took ${(guest.bootMs / 1000).toFixed(1)} s`);
  }, 420_000);
  afterAll(async () => {
    sc?.attachment.detach();
    sc?.vmm.close();
    await guest?.destroy();
  });

  it('virtio_pci binds the assigned PF on a level-triggered IOAPIC line; pings pass both ways; every interrupt is resampled at its EOI', async () => {
    expect(sc.assigned).toEqual([{ hostBdf: '0000:00:04.0', guestBdf: '0000:00:10.0', driver: 'vfio-pci' }]);
    await guest.sh('insmod /lib/modules/virtio_pci.ko && insmod /lib/modules/virtio_net.ko');
    expect(await guest.sh('readlink /sys/bus/pci/devices/0000:00:10.0/driver')).toMatch(/drivers\/virtio-pci\s*$/);
    const before = await guest.sh('grep virtio0 /proc/interrupts');
    expect(before).toMatch(/IO-APIC\s+\d+-fasteoi\s+virtio0/);
    const ping = await guest.sh('ip addr add 10.0.2.15/24 dev eth0 && ip link set eth0 up && ping -c 3 -W 10 10.0.2.2', 120_000);
    expect(ping).toContain('3 packets received');
    const mac = (await guest.sh('cat /sys/class/net/eth0/address')).trim();
    await sc.peer.ping('10.0.2.15', mac);
    const count = Number(/^\s*\d+:\s+(\d+)/.exec(await guest.sh('grep virtio0 /proc/interrupts'))![1]);
    expect(count).toBeGreaterThan(0);
    const intx = sc.vmm.device('0000:00:10.0')!.intx!;
    // every trigger the VMM took was EOI'd by the guest and resampled (one may be in flight)
    expect(intx.triggers).toBeGreaterThanOrEqual(count);
    expect(intx.resamples).toBeGreaterThanOrEqual(intx.triggers - 1);
    expect(sc.attachment.stats.eoi).toBe(intx.resamples);
    expect(sc.attachment.stats.msi).toBe(0);
    expect(logs).toEqual([]);
  }, 240_000);
});
