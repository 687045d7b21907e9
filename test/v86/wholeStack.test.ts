import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LinuxGuest } from '../../src/v86/nodeGuest.js';
import type { StackScenario } from '../../src/v86/scenario.js';
import { attachStackScenario } from '../../src/v86/scenario.js';

// The whole stack under a real guest: two VFs of pcisim's virtio-net PF, bound on the emulated host
// by best match (virtio-vfio-pci), assigned through the VMM, driven by Linux 6.1's virtio_pci in
// modern mode and then with force_legacy=1 (every legacy BAR0 access an admin command on the PF).
// One boot: the driver is unloaded and loaded again between the modes.
const NICS = [
  { dev: 'eth0', ip: '10.0.2.15', guestBdf: '0000:00:10.0' },
  { dev: 'eth1', ip: '10.0.2.16', guestBdf: '0000:00:11.0' },
];

describe('real guest, whole stack: VFs through the VMM and virtio-vfio-pci', () => {
  let guest: LinuxGuest;
  let sc: StackScenario;
  const logs: string[] = [];
  beforeAll(async () => {
    guest = await LinuxGuest.boot({
      beforeRun: async (e) => {
        sc = await attachStackScenario(e, { vfs: 2, assignVfs: 2, attach: { msi: true, log: (l) => logs.push(l) } });
      },
    }, 400_000);
    console.log(`[v86] whole-stack boot took ${(guest.bootMs / 1000).toFixed(1)} s`);
  }, 420_000);
  afterAll(async () => {
    sc?.attachment.detach();
    sc?.vmm.close();
    await guest?.destroy();
  });

  it('the host bound both VFs to virtio-vfio-pci by best match; the guest sees transitional virtio-net devices', async () => {
    expect(sc.assigned.map((a) => [a.hostBdf, a.guestBdf, a.driver])).toEqual([
      ['0000:00:04.1', NICS[0].guestBdf, 'virtio-vfio-pci'],
      ['0000:00:04.2', NICS[1].guestBdf, 'virtio-vfio-pci'],
    ]);
    const out = await guest.sh('for d in /sys/bus/pci/devices/*; do echo ${d##*/} $(cat $d/vendor $d/device $d/class); done');
    for (const n of NICS) expect(out).toContain(`${n.guestBdf} 0x1af4 0x1000 0x020000`);
  }, 120_000);

  for (const mode of ['modern', 'legacy'] as const) {
    it(`virtio_pci (${mode}) binds both VFs, each pings the peer and answers the peer's pings`, async () => {
      const adminBefore = sc.pf.admin?.executed ?? 0;
      const ioBefore = sc.attachment.stats.io;
      await guest.sh(`insmod /lib/modules/virtio_pci.ko${mode === 'legacy' ? ' force_legacy=1' : ''} && insmod /lib/modules/virtio_net.ko`);
      for (const [i, n] of NICS.entries()) {
        // sysfs names the drivers, as ethtool -i would: virtio-pci on the PCI function, virtio_net on the netdev
        expect(await guest.sh(`readlink /sys/bus/pci/devices/${n.guestBdf}/driver`)).toMatch(/drivers\/virtio-pci\s*$/);
        expect(await guest.sh(`readlink /sys/class/net/${n.dev}/device/driver`)).toMatch(/drivers\/virtio_net\s*$/);
        // VIRTIO_F_VERSION_1 (bit 32) is negotiated on the modern path only
        const features = (await guest.sh(`cat /sys/class/net/${n.dev}/device/features`)).trim();
        expect(features[32], `${n.dev} VERSION_1`).toBe(mode === 'modern' ? '1' : '0');
        const ping = await guest.sh(`ip addr add ${n.ip}/24 dev ${n.dev} 2>/dev/null; ip link set ${n.dev} up && ping -c 2 -W 10 -I ${n.dev} 10.0.2.2`, 120_000);
        expect(ping, n.dev).toContain('2 packets received');
        const mac = (await guest.sh(`cat /sys/class/net/${n.dev}/address`)).trim();
        expect(mac).toBe(sc.pf.member(i + 1)!.macAddress);
        const rtt = await sc.peer.ping(n.ip, mac);
        expect(rtt).toBeGreaterThan(0);
      }
      if (mode === 'legacy') {
        // the legacy I/O BAR went through the VMM to the variant driver, which turned it into admin commands
        expect(sc.attachment.stats.io).toBeGreaterThan(ioBefore);
        expect(sc.pf.admin!.executed).toBeGreaterThan(adminBefore);
      }
      await guest.sh('ip link set eth0 down; ip link set eth1 down; rmmod virtio_net && rmmod virtio_pci');
    }, 240_000);
  }

  it('nothing was logged: no IOMMU faults, no refused accesses', () => {
    expect(logs).toEqual([]);
    expect(sc.vmm.log.lines.filter((l: string) => /fault|fail|refus/i.test(l))).toEqual([]);
  });
});
