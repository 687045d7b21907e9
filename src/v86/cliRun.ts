/**
 * `npm start -- --v86`: the whole-stack scenario under a real Linux guest in v86. The guest's
 * console is printed as it boots; then the guest loads virtio_pci and virtio_net on the assigned
 * VFs, brings them up and pings the peer, and the peer pings it back.
 */
import { LinuxGuest, loadGuestFiles } from './nodeGuest.js';
import type { StackScenario } from './scenario.js';
import { attachStackScenario } from './scenario.js';

interface Output {
  write(text: string): unknown;
}

export async function runV86(out: Output, err: Output, options: { legacy?: boolean; pings?: number } = {}): Promise<number> {
  try {
    loadGuestFiles();
  } catch (e) {
    err.write(`pcisim: ${(e as Error).message}\n`);
    return 1;
  }
  const pings = options.pings ?? 3;
  let sc: StackScenario | null = null;
  out.write('# the whole stack under a real guest: Debian Linux 6.1 in v86, its PCI bus = pcisim\'s VMM (2 VFs of a virtio-net PF through virtio-vfio-pci)\n');
  const guest = await LinuxGuest.boot({
    onConsole: (ch) => out.write(ch),
    beforeRun: async (e) => {
      sc = await attachStackScenario(e, { vfs: 2, assignVfs: 2, attach: { msi: true, log: (l) => out.write(`\n[pcisim/v86] ${l}\n`) } });
      for (const a of sc.assigned) out.write(`[vmm] host ${a.hostBdf} (${a.driver}) -> guest ${a.guestBdf}\n`);
    },
  }, 600_000);
  const s = sc as unknown as StackScenario;
  const problems: string[] = [];
  try {
    out.write(`\n[v86] booted to /init in ${(guest.bootMs / 1000).toFixed(1)} s\n`);
    const run = async (cmd: string) => {
      out.write(`# ${cmd}\n`);
      const r = await guest.run(cmd, 120_000);
      out.write(r.out);
      if (r.status !== 0) problems.push(`\`${cmd}\` exited ${r.status}`);
      return r.out;
    };
    await run(`insmod /lib/modules/virtio_pci.ko${options.legacy ? ' force_legacy=1' : ''} && insmod /lib/modules/virtio_net.ko`);
    await run('for d in /sys/bus/pci/devices/*; do echo ${d##*/} $(cat $d/vendor $d/device) $(basename $(readlink $d/driver) 2>/dev/null); done');
    const nics = [['eth0', '10.0.2.15'], ['eth1', '10.0.2.16']];
    for (const [dev, ip] of nics) {
      await run(`ip addr add ${ip}/24 dev ${dev} && ip link set ${dev} up && ping -c ${pings} -W 10 -I ${dev} 10.0.2.2`);
      const mac = (await guest.sh(`cat /sys/class/net/${dev}/address`)).trim();
      try {
        const rtt = await s.peer.ping(ip, mac);
        out.write(`[peer] ping ${ip} (${mac}) from 10.0.2.2: reply in ${rtt.toFixed(2)} ms\n`);
      } catch (e) {
        problems.push((e as Error).message);
      }
    }
    const st = s.attachment.stats;
    out.write(`\n# summary: config cycles ${st.config}, port I/O ${st.io}, MMIO ${st.mmio}, MSIs ${st.msi}; peer answered ${s.peer.responder.stats.echoReplies} pings, guest answered ${s.peer.repliesFromGuest}\n`);
    out.write(problems.length === 0 ? 'ok: every ping answered both ways\n' : `FAILED:\n${problems.map((p) => `  ${p}`).join('\n')}\n`);
    return problems.length === 0 ? 0 : 1;
  } finally {
    s.attachment.detach();
    s.vmm.close();
    await guest.destroy();
  }
}
