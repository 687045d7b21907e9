/**
 * Real-guest network benchmark (`tsx bench/realGuest.ts`, writes bench/results/realGuest.json).
 * One process, one guest (Debian Linux 6.1 in v86, from scripts/prepare-guest.sh) with two NICs
 * driven by the same virtio_net driver: a VF of pcisim's virtio-net PF through the VMM and
 * virtio-vfio-pci (modern, then force_legacy=1), and v86's own virtio-net device. Each NIC has a
 * LoopbackPeer on the far side. Measured from the guest's own ping:
 *  - RTT: ping -c N, 64-byte frames, average;
 *  - frame rate at 64 and 1500 bytes: a ping stream asked for every 0.1 ms (-i 0.0001; busybox
 *    paces requests by its timer, not by the replies), frames both ways (requests sent + replies
 *    received) per second of guest time.
 * Also the boot time (to /init) of the same guest without pcisim and with the stack attached.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LoopbackPeer } from '../src/hw/devices/virtio/loopbackPeer.js';
import type { Uplink } from '../src/hw/devices/virtio/netSwitch.js';
import { LinuxGuest } from '../src/v86/nodeGuest.js';
import type { StackScenario } from '../src/v86/scenario.js';
import { attachStackScenario } from '../src/v86/scenario.js';

const N_RTT = Number(process.env.RTT_PINGS ?? 20);
const N_RATE = Number(process.env.RATE_PINGS ?? 300);

interface V86Bus {
  add_listener(ev: string, f: (data: Uint8Array) => void): void;
  bus: { send(ev: string, data: Uint8Array): void };
}

/** A LoopbackPeer on v86's own NIC: its frames arrive on net0-send, replies go in on net0-receive. */
function peerOnV86Nic(emulator: V86Bus, ip: string): LoopbackPeer {
  let receiver: ((f: Uint8Array) => void) | null = null;
  const uplink = {
    attach: (r: (f: Uint8Array) => void) => (receiver = r),
    detach: () => (receiver = null),
    send: (frame: Uint8Array) => {
      emulator.bus.send('net0-receive', frame);
      return true;
    },
  } as unknown as Uplink;
  const peer = new LoopbackPeer({ mac: '02:00:00:00:01:fe', ip }).attach(uplink);
  emulator.add_listener('net0-send', (frame) => receiver?.(frame.slice()));
  return peer;
}

interface PingFigures {
  rttMs: number;
  frames64PerS: number;
  frames1500PerS: number;
}

async function measure(guest: LinuxGuest, dev: string, peerIp: string): Promise<PingFigures> {
  const rtt = await guest.sh(`ping -c ${N_RTT} -i 0.05 -I ${dev} ${peerIp} | tail -n 1`, 300_000);
  const avg = Number(/= [\d.]+\/([\d.]+)\//.exec(rtt)?.[1] ?? NaN);
  const rate = async (payload: number) => {
    const out = await guest.sh(`s=$(cut -d' ' -f1 /proc/uptime); ping -q -c ${N_RATE} -i 0.0001 -W 5 -s ${payload} -I ${dev} ${peerIp} >/tmp/p; e=$(cut -d' ' -f1 /proc/uptime); echo "$s $e"; cat /tmp/p`, 600_000);
    const [s, e] = out.trim().split('\n')[0].split(' ').map(Number);
    const got = Number(/(\d+) packets received/.exec(out)?.[1] ?? 0);
    // frames both ways (requests + replies) per second of guest time
    return (N_RATE + got) / (e - s);
  };
  // 64-byte frame: 14 Ethernet + 20 IP + 8 ICMP + 18 payload + 4 FCS; 1500: 1458 payload + headers
  return { rttMs: avg, frames64PerS: await rate(18), frames1500PerS: await rate(1458) };
}

async function main(): Promise<void> {
  const results: Record<string, unknown> = { when: new Date().toISOString(), rttPings: N_RTT, ratePings: N_RATE };

  // boot time without pcisim (v86's own virtio-net present in both boots)
  const plain = await LinuxGuest.boot({ netDevice: { type: 'virtio' } as never }, 900_000);
  results.bootWithoutPcisimS = plain.bootMs / 1000;
  await plain.destroy();
  console.log(`boot without pcisim: ${(plain.bootMs / 1000).toFixed(1)} s`);

  let sc: StackScenario | null = null;
  let v86Peer: LoopbackPeer | null = null;
  const guest = await LinuxGuest.boot({
    netDevice: { type: 'virtio' } as never,
    beforeRun: async (e) => {
      sc = await attachStackScenario(e, { vfs: 1, assignVfs: 1, attach: { msi: true } });
      v86Peer = peerOnV86Nic(e as unknown as V86Bus, '10.0.3.2');
    },
  }, 900_000);
  results.bootWithPcisimS = guest.bootMs / 1000;
  console.log(`boot with pcisim attached: ${(guest.bootMs / 1000).toFixed(1)} s`);
  const s = sc as unknown as StackScenario;
  try {
    const netdevOf = async (bdf: string) => (await guest.sh(`ls /sys/bus/pci/devices/${bdf}/virtio*/net`)).trim();
    await guest.sh('insmod /lib/modules/virtio_pci.ko && insmod /lib/modules/virtio_net.ko');
    const vf = await netdevOf('0000:00:10.0');
    const own = await netdevOf('0000:00:0a.0');
    await guest.sh(`ip addr add 10.0.2.15/24 dev ${vf}; ip link set ${vf} up; ip addr add 10.0.3.15/24 dev ${own}; ip link set ${own} up`);
    await guest.sh(`ping -c 1 -W 10 -I ${vf} 10.0.2.2 && ping -c 1 -W 10 -I ${own} 10.0.3.2`, 120_000);
    results.v86VirtioNet = await measure(guest, own, '10.0.3.2');
    console.log('v86 virtio-net', results.v86VirtioNet);
    results.pcisimVfModern = await measure(guest, vf, '10.0.2.2');
    console.log('pcisim VF (modern)', results.pcisimVfModern);
    // the legacy path: v86's NIC is modern-only, so force_legacy leaves it unbound
    await guest.sh('ip link set eth0 down; ip link set eth1 down; rmmod virtio_net && rmmod virtio_pci && insmod /lib/modules/virtio_pci.ko force_legacy=1 && insmod /lib/modules/virtio_net.ko');
    const vfl = await netdevOf('0000:00:10.0');
    await guest.sh(`ip addr add 10.0.2.15/24 dev ${vfl} 2>/dev/null; ip link set ${vfl} up; ping -c 1 -W 10 -I ${vfl} 10.0.2.2`, 120_000);
    results.pcisimVfLegacy = await measure(guest, vfl, '10.0.2.2');
    console.log('pcisim VF (legacy)', results.pcisimVfLegacy);
    results.adapterStats = s.attachment.stats;
    results.v86PeerEchoReplies = (v86Peer as unknown as LoopbackPeer | null)?.stats.echoReplies;
  } finally {
    s.attachment.detach();
    s.vmm.close();
    await guest.destroy();
  }
  const b = results as { bootWithoutPcisimS: number; bootWithPcisimS: number };
  results.addedBootPercent = ((b.bootWithPcisimS - b.bootWithoutPcisimS) / b.bootWithoutPcisimS) * 100;
  const dir = join(dirname(fileURLToPath(import.meta.url)), 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'realGuest.json'), JSON.stringify(results, null, 2) + '\n');
  console.log(JSON.stringify(results, null, 2));
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(1);
  },
);
