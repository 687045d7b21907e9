import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LinuxGuest } from '../../src/v86/nodeGuest.js';
import type { StackScenario } from '../../src/v86/scenario.js';
import { attachStackScenario } from '../../src/v86/scenario.js';

// v86's default machine has no APIC (acpi: false): the guest takes INTx from the 8259 PICs, routed by
// the PIIX3 PIRQ registers. There is no IOAPIC remote IRR to watch for the guest's EOI, so the
// adapter counts the function's next BAR access as the EOI (QEMU's rule without an irqchip to ask)
// and the VMM resamples then. The virtio-net PF is assigned through vfio-pci (VFs have no INTx).
describe('real guest without an APIC: INTx through the PIC and the VMM', () => {
  let guest: LinuxGuest;
  let sc: StackScenario;
  const logs: string[] = [];
  beforeAll(async () => {
    guest = await LinuxGuest.boot(
      {
        acpi: false,
        beforeRun: async (e) => {
          sc = await attachStackScenario(e, { assignPf: true, attach: { msi: false, log: (l) => logs.push(l) } });
        },
      },
      400_000,
    );
    console.log(`[v86] no-APIC boot took ${(guest.bootMs / 1000).toFixed(1)} s`);
  }, 420_000);
  afterAll(async () => {
    sc?.attachment.detach();
    sc?.vmm.close();
    await guest?.destroy();
  });

  it('virtio_pci binds the assigned PF on an XT-PIC line; pings pass both ways; interrupts are resampled', async () => {
    expect(sc.assigned).toEqual([{ hostBdf: '0000:00:04.0', guestBdf: '0000:00:10.0', driver: 'vfio-pci' }]);
    await guest.sh('insmod /lib/modules/virtio_pci.ko && insmod /lib/modules/virtio_net.ko');
    expect(await guest.sh('readlink /sys/bus/pci/devices/0000:00:10.0/driver')).toMatch(/drivers\/virtio-pci\s*$/);
    const line = await guest.sh('grep virtio0 /proc/interrupts');
    expect(line).toMatch(/XT-PIC\s+virtio0/);
    // the IRQ the guest reads from the function's Interrupt Line is the one the PIRQ register routes
    const irq = Number(/^\s*(\d+):/.exec(line)![1]);
    expect(Number((await guest.sh('cat /sys/bus/pci/devices/0000:00:10.0/irq')).trim())).toBe(irq);
    const ping = await guest.sh('ip addr add 10.0.2.15/24 dev eth0 && ip link set eth0 up && ping -c 3 -W 10 10.0.2.2', 120_000);
    expect(ping).toContain('3 packets received');
    const mac = (await guest.sh('cat /sys/class/net/eth0/address')).trim();
    await sc.peer.ping('10.0.2.15', mac);
    const count = Number(/^\s*\d+:\s+(\d+)/.exec(await guest.sh('grep virtio0 /proc/interrupts'))![1]);
    expect(count).toBeGreaterThan(0);
    const intx = sc.vmm.device('0000:00:10.0')!.intx!;
    // each trigger is EOI'd at the handler's next BAR access (its ISR read) and resampled
    expect(intx.triggers).toBeGreaterThanOrEqual(count);
    expect(intx.resamples).toBeGreaterThanOrEqual(intx.triggers - 1);
    expect(sc.attachment.stats.eoi).toBe(intx.resamples);
    expect(sc.attachment.stats.msi).toBe(0);
    expect(logs).toEqual([]);
  }, 240_000);
});
