import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LinuxGuest } from '../../src/v86/nodeGuest.js';
import type { HardwareScenario } from '../../src/v86/scenario.js';
import { attachHardwareScenario } from '../../src/v86/scenario.js';

// Hardware level: Linux 6.1 in v86 drives pcisim functions directly (no host, no VMM): a generic
// endpoint and the virtio-net PF. One boot; every check reads the guest's own output.
const PF = '0000:00:10.0';
const EP = '0000:00:11.0';

/** `od -An -v -tx1` output as bytes. */
function hexBytes(text: string): number[] {
  return text.trim().split(/\s+/).filter(Boolean).map((h) => parseInt(h, 16));
}

describe('real guest, hardware level: Linux drives pcisim functions on v86\'s bus', () => {
  let guest: LinuxGuest;
  let sc: HardwareScenario;
  const logs: string[] = [];
  beforeAll(async () => {
    guest = await LinuxGuest.boot({
      beforeRun: async (e) => {
        sc = await attachHardwareScenario(e, { attach: { msi: true, log: (l) => logs.push(l) } });
      },
    }, 400_000);
    console.log(`[v86] hardware-level boot took ${(guest.bootMs / 1000).toFixed(1)} s`);
  }, 420_000);
  afterAll(async () => {
    sc?.attachment.detach();
    await guest?.destroy();
  });

  it('the guest enumerates both functions with pcisim\'s identity next to v86\'s own devices', async () => {
    const out = await guest.sh('for d in /sys/bus/pci/devices/*; do echo ${d##*/} $(cat $d/vendor $d/device $d/class); done');
    expect(out).toContain(`${PF} 0x1af4 0x1041 0x020000`);
    expect(out).toContain(`${EP} 0x1b36 0x0005 0x00ff00`);
    // v86's own devices keep their config space (the ISA bridge, and the ACPI device in slot 7 that
    // acpiphp would drop without the hotplug registers)
    expect(out).toContain('0000:00:01.0 0x8086 0x7000 0x060100');
    expect(out).toContain('0000:00:07.0 0x8086 0x7113 0x068000');
  }, 120_000);

  it('virtio_net binds the PF on MSI-X and pings the LoopbackPeer; the peer pings the guest', async () => {
    await guest.sh('insmod /lib/modules/virtio_pci.ko && insmod /lib/modules/virtio_net.ko');
    expect(await guest.sh(`readlink /sys/bus/pci/devices/${PF}/driver`)).toMatch(/drivers\/virtio-pci\s*$/);
    expect(sc.pf.msixEnabled).toBe(true);
    const irqs = await guest.sh('cat /proc/interrupts');
    expect(irqs).toMatch(/virtio0-input\.0/);
    const ping = await guest.sh('ip addr add 10.0.2.15/24 dev eth0 && ip link set eth0 up && ping -c 3 -W 10 10.0.2.2', 120_000);
    expect(ping).toContain('3 packets received');
    expect(sc.peer.responder.stats.echoReplies).toBeGreaterThanOrEqual(3);
    for (let i = 0; i < 2; i++) await sc.peer.ping('10.0.2.15', sc.pf.virtio.macAddress);
    expect(sc.peer.repliesFromGuest).toBe(2);
    expect(sc.attachment.stats.msi).toBeGreaterThan(0);
  }, 180_000);

  it('sysfs config and resource files equal pcisim\'s own view of both functions', async () => {
    for (const bdf of [EP, PF]) {
      const f = sc.emu.hw.function(bdf)!;
      const guestConfig = hexBytes(await guest.sh(`od -An -v -tx1 /sys/bus/pci/devices/${bdf}/config`));
      expect(guestConfig.length).toBe(256); // v86 has no ECAM: conventional config space only
      const ours: number[] = [];
      for (let off = 0; off < 256; off += 4) {
        const v = sc.emu.hw.configRead(bdf, off, 4);
        ours.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24);
      }
      expect(guestConfig, `${bdf} config`).toEqual(ours);

      const lines = (await guest.sh(`cat /sys/bus/pci/devices/${bdf}/resource`)).trim().split('\n');
      for (let bar = 0; bar < 6; bar++) {
        const [start, end] = lines[bar].trim().split(/\s+/).map((x) => Number(BigInt(x)));
        const size = f.barSize(bar);
        if (size > 0) expect([start, end], `${bdf} BAR${bar}`).toEqual([f.barBase(bar), f.barBase(bar) + size - 1]);
        else expect([start, end], `${bdf} BAR${bar} (none)`).toEqual([0, 0]);
      }
    }
    expect(logs).toEqual([]);
  }, 120_000);
});
