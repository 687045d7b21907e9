// The demo page: an emulated host (a virtio-net PF with SR-IOV and a loopback peer on its uplink,
// the DMA engine), its kernel binding VFs to vfio, a VMM assigning one to a real Linux guest booted
// in v86, the guest's serial console in xterm.js, the stack drawn from live state, counters taken
// at the embedding seam, and the actions a visitor can take.
import { Terminal } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import { createEmulator } from '../src/emulator.js';
import type { Emulator } from '../src/emulator.js';
import { LoopbackPeer } from '../src/hw/devices/virtio/loopbackPeer.js';
import type { VirtioNetPf } from '../src/hw/devices/virtio/virtioNetPf.js';
import { attachV86 } from '../src/v86/attach.js';
import type { V86Attachment } from '../src/v86/attach.js';
import { v86GuestMemory } from '../src/v86/scenario.js';
import { Vmm } from '../src/vmm/vmm.js';
import type { V86 } from 'v86';
import { Counters, countCalls } from './counters.js';
import { bootGuest } from './guest.js';
import type { DemoGuest } from './guest.js';
import { runMigration } from './migration.js';
import { renderStack } from './stack.js';
import type { GuestPciView } from './stack.js';

/** the PF whose VF 1 is the guest's eth0 from boot */
export const NET_PF = '0000:00:04.0';
/** the PF a visitor changes sriov_numvfs on; its VFs are what "hot-add" gives the guest */
export const PF_BDF = '0000:00:05.0';
export const DMA_BDF = '0000:00:06.0';
export const PEER = { mac: '02:00:00:00:00:fe', ip: '10.0.2.2' };
/** the peer on the second PF's uplink, reached through a hot-added VF */
export const PEER2 = { mac: '02:00:00:00:01:fe', ip: '10.0.3.2' };
const GUEST_IP = '10.0.2.15';
/** guest slots: the boot NIC, then hot-added VFs (v86's own devices sit below 0x10) */
const GUEST_NIC = '0000:00:10.0';
const HOTPLUG_FIRST_SLOT = 0x11;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const statusEl = $('status');
const resultEl = $('result');

function status(text: string, state: 'starting' | 'ready' | 'error' = 'starting'): void {
  statusEl.textContent = text;
  statusEl.dataset.state = state;
}

function result(text: string, cls = ''): void {
  resultEl.textContent = text;
  resultEl.className = cls;
}

const term = new Terminal({ convertEol: true, fontSize: 13, rows: 26, cols: 88, scrollback: 5000, theme: { background: '#000000' } });
term.open($('terminal'));

export interface DemoState {
  emu: Emulator;
  pf: VirtioNetPf;
  counters: Counters;
  /** the VMM whose bus the guest sees, and the v86 adapter (null until v86 is loaded) */
  vmm: Vmm | null;
  attachment: V86Attachment | null;
  guest: DemoGuest | null;
  guestPci: GuestPciView[] | null;
  /** host bdf -> guest bdf for what the VMM assigned */
  assigned: Map<string, string>;
  fresh: Set<string>;
}

async function buildHost(counters: Counters): Promise<{ emu: Emulator; pf: VirtioNetPf }> {
  const emu = await createEmulator({ memoryBytes: 16 << 20 });
  const net = emu.hw.addVirtioNet(NET_PF, { totalVfs: 1, mac: '52:54:00:12:34:00' });
  new LoopbackPeer(PEER).attach(net.uplink);
  const pf = emu.hw.addVirtioNet(PF_BDF, { totalVfs: 4, mac: '52:54:00:12:35:00' });
  new LoopbackPeer(PEER2).attach(pf.uplink);
  emu.hw.addDmaEngine(DMA_BDF, { deviceMemoryBytes: 64 << 10 });
  emu.host.bind(DMA_BDF); // dmae-vfio-pci, by best match
  emu.host.sriovConfigure(NET_PF, 1);
  // the host kernel and vfio reach the emulated hardware through these: count them
  countCalls(emu.hw, counters, { configRead: 'config', configWrite: 'config', ioRead: 'pio', ioWrite: 'pio', mmioRead: 'mmio', mmioWrite: 'mmio' });
  return { emu, pf };
}

/** Before the guest runs: a VMM over v86's RAM with VF 1 of the first PF assigned, its bus attached to v86. */
function attachToV86(v86: V86): void {
  const { emu } = state;
  const emulator = v86 as unknown as Parameters<typeof attachV86>[0];
  const vmm = new Vmm(emu, { memory: v86GuestMemory(emulator) });
  const vf = `${NET_PF.slice(0, -1)}1`;
  emu.host.bind(vf); // virtio-vfio-pci, by best match
  vmm.assign(emu.host.openDevice(vf), GUEST_NIC);
  state.assigned.set(vf, GUEST_NIC);
  state.vmm = vmm;
  state.attachment = attachV86(emulator, vmm);
}

let state: DemoState;

function redraw(): void {
  renderStack($('stack'), state);
  const a = state.attachment?.stats;
  const admin = state.emu.hw.functions().reduce((n, f) => n + ((f as Partial<VirtioNetPf>).admin?.executed ?? 0), 0);
  const h = state.counters.host;
  state.counters.render($('counters'), [
    ['config', 'guest config cycles (v86 -> VMM bus)', a?.config ?? 0],
    ['pio', 'guest port I/O', a?.io ?? 0],
    ['mmio', 'guest MMIO', a?.mmio ?? 0],
    ['msi', 'MSI/MSI-X delivered to the guest', a?.msi ?? 0],
    ['intx', 'INTx edges / EOIs', (a?.intx ?? 0) + (a?.eoi ?? 0)],
    ['hotplug', 'ACPI hotplug: plugs, SCIs', (state.attachment?.hotplug?.stats.plugs ?? 0) + (state.attachment?.hotplug?.stats.sciRaised ?? 0)],
    ['admin', 'virtio admin commands (PF admin queues)', admin],
    ['host-config', 'host config accesses (kernel, vfio)', h.config],
    ['host-pio', 'host port I/O (vfio -> hardware)', h.pio],
    ['host-mmio', 'host MMIO (vfio -> hardware)', h.mmio],
  ]);
}

async function main(): Promise<void> {
  const counters = new Counters();
  const { emu, pf } = await buildHost(counters);
  state = { emu, pf, counters, vmm: null, attachment: null, guest: null, guestPci: null, assigned: new Map(), fresh: new Set() };
  redraw();
  setInterval(redraw, 500);
  wireActions();

  status('booting Linux in v86…');
  try {
    state.guest = await bootGuest(attachToV86, term, (s) => status(s));
  } catch (e) {
    status(`guest: ${(e as Error).message}`, 'error');
    term.write(`\r\n\x1b[31m${(e as Error).message}\x1b[0m\r\n`);
    return;
  }
  for (const id of ['act-ping', 'act-hotadd']) ($(id) as HTMLButtonElement).disabled = false;
  status(`guest up in ${(state.guest.bootMs / 1000).toFixed(1)} s — bringing eth0 up`);
  await state.guest.networkUp(GUEST_IP);
  state.guestPci = await state.guest.pciView();
  await ping(3);
  status(`guest ready (booted in ${(state.guest.bootMs / 1000).toFixed(1)} s)`, 'ready');
}

async function ping(count: number): Promise<void> {
  if (!state.guest) return;
  const out = await state.guest.run(`ping -c ${count} -W 10 ${PEER.ip}`, 60_000);
  const replies = out.split('\n').filter((l) => /bytes from 10\.0\.2\.2/.test(l)).length;
  const el = document.createElement('div');
  el.id = 'ping-replies';
  el.dataset.replies = String(replies);
  result(`guest ping ${PEER.ip}: ${replies}/${count} replies\n${out.trim().split('\n').slice(-2).join('\n')}`, replies > 0 ? 'ok' : 'bad');
  resultEl.dataset.pingReplies = String(replies);
  document.body.dataset.pingReplies = String(Number(document.body.dataset.pingReplies ?? 0) + replies);
}

function wireActions(): void {
  const busy = async (btn: HTMLButtonElement, f: () => Promise<void>) => {
    btn.disabled = true;
    try {
      await f();
    } catch (e) {
      result(`${btn.textContent}: ${(e as Error).message}`, 'bad');
    } finally {
      btn.disabled = false;
      redraw();
    }
  };
  $('act-ping').addEventListener('click', (ev) => void busy(ev.currentTarget as HTMLButtonElement, () => ping(3)));
  $('act-sriov').addEventListener('click', (ev) =>
    void busy(ev.currentTarget as HTMLButtonElement, async () => {
      const n = Number(($('numvfs') as HTMLInputElement).value);
      const before = new Set(state.pf.vfs.map((v) => v.bdf));
      const got = setNumVfs(n);
      const now = state.pf.vfs.map((v) => v.bdf);
      state.fresh = new Set(now.filter((b) => !before.has(b)));
      result(`echo ${n} > /sys/bus/pci/devices/${PF_BDF}/sriov_numvfs\nsriov_numvfs = ${got}: VFs ${now.map((b) => b.slice(5)).join(', ') || 'none'}`, 'ok');
      $('result').dataset.numvfs = String(got);
    }),
  );
  $('act-hotadd').addEventListener('click', (ev) =>
    void busy(ev.currentTarget as HTMLButtonElement, async () => {
      result('hot-adding…');
      const text = await hotAdd();
      result(text, 'ok');
      $('result').dataset.hotadd = 'ok';
      if (state.guest) state.guestPci = await state.guest.pciView();
    }),
  );
  $('act-migrate').addEventListener('click', (ev) =>
    void busy(ev.currentTarget as HTMLButtonElement, async () => {
      $('migration').textContent = 'migrating…';
      const r = await runMigration();
      const same = r.sourceDigest === r.destinationDigest;
      const lines = [
        `DMA engine 00:06.0 on ${r.driver}, guest slot 00:05.0; the guest kept submitting jobs during pre-copy`,
        ...r.passes.map((p) => `pre-copy pass ${p.pass}: ${p.deviceBytes} device + ${p.ramBytes} RAM bytes`),
        `stop-and-copy (downtime): ${r.stopCopy.deviceBytes} device + ${r.stopCopy.ramBytes} RAM + ${r.stopCopy.vmmBytes} VMM bytes in ${r.stopCopy.steps} steps; ${r.inFlightAtStop} jobs in flight`,
        `source ${r.sourceStates.join(' -> ')}; destination ${r.destinationStates.join(' -> ')}`,
        `digest source      ${r.sourceDigest}`,
        `digest destination ${r.destinationDigest}`,
        `${same ? 'digests equal' : 'DIGESTS DIFFER'}, guest RAM ${r.ramEqual ? 'equal' : 'DIFFERS'}; jobs verified ${r.jobsVerifiedBefore} before, ${r.jobsVerifiedAfter} after on the destination; ${r.failures.length} failures`,
      ];
      const el = $('migration');
      el.textContent = lines.join('\n');
      el.className = same && r.ramEqual && r.failures.length === 0 ? 'ok' : 'bad';
      el.dataset.digestsEqual = String(same && r.ramEqual);
    }),
  );
}

/**
 * Hot-adds the next free VF of the second PF to the running guest: the host binds it (best match:
 * virtio-vfio-pci), the VMM assigns its vfio device file at a new guest slot, and the ACPI hotplug
 * controller tells Linux (PCI_UP bit, GPE 1, SCI): its _E01 method runs PCNF, which notifies the
 * slot, and acpiphp scans it, assigns BARs and probes virtio-pci. Then the new NIC pings its peer.
 */
async function hotAdd(): Promise<string> {
  const { guest, vmm } = state;
  const hp = state.attachment?.hotplug;
  if (!guest || !vmm || !hp) throw new Error('the guest is not running (or the adapter has no ACPI hotplug controller)');
  const lines: string[] = [];
  if (state.pf.vfs.length === 0) {
    setNumVfs(1);
    lines.push(`host: echo 1 > /sys/bus/pci/devices/${PF_BDF}/sriov_numvfs`);
  }
  const vf = state.pf.vfs.find((v) => !state.assigned.has(v.bdf));
  if (!vf) throw new Error(`every VF of ${PF_BDF} is in the guest already: raise sriov_numvfs first`);
  const k = [...state.assigned.values()].filter((b) => b !== GUEST_NIC).length;
  const slot = HOTPLUG_FIRST_SLOT + k;
  const guestBdf = `0000:00:${slot.toString(16).padStart(2, '0')}.0`;
  const driver = state.emu.host.bind(vf.bdf);
  vmm.assign(state.emu.host.openDevice(vf.bdf), guestBdf);
  state.assigned.set(vf.bdf, guestBdf);
  state.fresh = new Set([vf.bdf, guestBdf]);
  lines.push(`host: ${vf.bdf.slice(5)} bound to ${driver}; VMM: vfio device assigned at guest ${guestBdf.slice(5)}`);
  hp.plug(slot);
  lines.push(`ACPI: PCI_UP bit ${slot} set, GPE0 status bit 1, SCI (IRQ 9) raised`);
  // v86's ACPI timer may lower IRQ 9 before Linux takes the SCI: keep the level up while it is pending
  const keep = setInterval(() => hp.refreshSci(), 250);
  let found: string;
  try {
    guest.note(`[page] hot-add: waiting for Linux's acpiphp to scan slot ${slot} and a driver to bind ${guestBdf}`);
    found = await guest.run(
      `d=/sys/bus/pci/devices/${guestBdf}; for i in $(seq 1 90); do [ -n "$(ls $d/virtio*/net 2>/dev/null)" ] && break; sleep 1; done; ls $d/virtio*/net; basename $(readlink $d/driver)`,
      150_000,
      true,
    );
    guest.note(`[page] ${guestBdf}: ${found.trim().split('\n').reverse().join(', ')}`);
  } finally {
    clearInterval(keep);
  }
  const ifname = /^(eth\d+)$/m.exec(found)?.[1];
  if (!ifname) throw new Error(`${lines.join('\n')}\nthe guest did not bring up a NIC at ${guestBdf}:\n${found}`);
  const ip = `10.0.3.${15 + k}`;
  const out = await guest.run(`ip addr add ${ip}/24 dev ${ifname} && ip link set ${ifname} up && ping -c 2 -W 10 -I ${ifname} ${PEER2.ip}`, 60_000);
  const replies = out.split('\n').filter((l) => /bytes from 10\.0\.3\.2/.test(l)).length;
  lines.push(`guest: acpiphp took slot ${slot}; ${guestBdf.slice(5)} driver ${/^\S+$/m.exec(found.trim().split('\n').pop() ?? '')?.[0]}, ${ifname} ${ip}; ping ${PEER2.ip}: ${replies}/2 replies`);
  return lines.join('\n');
}

/** `echo n > sriov_numvfs`: like the kernel, a change between two non-zero counts goes through 0. */
function setNumVfs(n: number): number {
  const cur = state.pf.vfs.length;
  if (n === cur) return cur;
  const inUse = [...state.assigned.keys()].filter((b) => state.pf.vfs.some((v) => v.bdf === b));
  if (inUse.length > 0 && n < cur) throw new Error(`sriov_numvfs: ${inUse.join(', ')} assigned to the guest (EBUSY)`);
  if (cur !== 0 && n !== 0 && inUse.length === 0) state.emu.host.sriovConfigure(PF_BDF, 0);
  return state.emu.host.sriovConfigure(PF_BDF, n);
}

main().catch((e) => {
  status(`error: ${(e as Error).message}`, 'error');
  console.error(e);
});
