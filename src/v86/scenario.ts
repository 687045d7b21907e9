/**
 * Ready-made pcisim setups for a v86 guest: guest RAM as a GuestMemory over v86's memory, a
 * hardware-level machine (the guest drives pcisim functions directly) and the default whole-stack
 * scenario (virtio-net PF with VFs on an emulated host, best-match vfio binding, a VMM with VFs
 * assigned, its bus attached to v86).
 */
import { createEmulator } from '../emulator.js';
import type { Emulator } from '../emulator.js';
import { buildIcmpEcho, ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST, parseIcmpEcho } from '../hw/devices/virtio/ethernetFrames.js';
import { LoopbackPeer } from '../hw/devices/virtio/loopbackPeer.js';
import { parseMac } from '../hw/devices/virtio/netSwitch.js';
import type { Uplink } from '../hw/devices/virtio/netSwitch.js';
import type { VirtioNetPf } from '../hw/devices/virtio/virtioNetPf.js';
import { GuestMemory } from '../hw/guestMemory.js';
import type { PciFunction } from '../hw/pciFunction.js';
import type { EndpointSpec } from '../hw/spec.js';
import { Vmm } from '../vmm/vmm.js';
import type { AttachV86Options, V86Attachment } from './attach.js';
import { attachV86 } from './attach.js';
import type { V86Cpu, V86Like } from './v86Types.js';
import { v86Cpu } from './v86Types.js';

/** The default peer on the uplink: the address QEMU's user-mode network gives its gateway. */
export const PEER = {
  /** the peer's Ethernet address (locally administered) */
  mac: '02:00:00:00:00:fe',
  /** the peer's IPv4 address, the guest's gateway in QEMU's 10.0.2.0/24 */
  ip: '10.0.2.2',
};

/**
 * v86's guest RAM as a GuestMemory. v86 grows its wasm memory while the guest runs, which detaches
 * every view over the old buffer: a detached view reads as empty, and the view is rebuilt then.
 * (Asking the Memory for its buffer on every DMA access costs a call into the engine each time.)
 * Device writes into it invalidate what v86's JIT compiled for the pages written.
 */
export function v86GuestMemory(emulator: V86Like): GuestMemory {
  const cpu: V86Cpu = v86Cpu(emulator);
  const offset = cpu.mem8.byteOffset;
  const size = cpu.memory_size[0];
  let view = new Uint8Array(0);
  const jitDirty = typeof cpu.jit_dirty_cache === 'function' ? cpu.jit_dirty_cache : undefined;
  return GuestMemory.wrap(
    () => {
      if (view.length === 0) view = new Uint8Array(cpu.wasm_memory.buffer, offset, size);
      return view;
    },
    // v86's JIT keeps compiled code per guest page and drops it when the CPU or one of its own
    // devices writes there (write_blob): pcisim's DMA does the same
    jitDirty === undefined ? {} : { onWrite: (o, n) => jitDirty(o, o + n) },
  );
}

/** The ICMP echo id of the peer's own pings. */
const PEER_PING_ID = 0x7063;

/**
 * Whether a frame can be an echo reply to the peer's own pings (IPv4, ICMP, type 0, the peer's id),
 * read from its bytes: the guest's traffic is mostly not, and skips the full parse and its copies.
 */
function mayBePeerPingReply(f: Uint8Array): boolean {
  if (f.length < 42 || f[12] !== 0x08 || f[13] !== 0x00 || f[23] !== 1) return false;
  const ic = 14 + (f[14] & 0x0f) * 4;
  return f.length >= ic + 8 && f[ic] === ICMP_ECHO_REPLY && ((f[ic + 4] << 8) | f[ic + 5]) === PEER_PING_ID;
}

/**
 * A peer on the uplink that answers ARP and pings (LoopbackPeer) and can also ping the guest:
 * `ping(ip, mac)` sends an echo request and resolves with the round trip in ms, or rejects.
 */
export class PingingPeer {
  /** the LoopbackPeer answering the guest's ARP requests and pings */
  readonly responder: LoopbackPeer;
  private waiting = new Map<number, (at: number) => void>();
  private seq = 0;
  /** echo replies the guest sent to the peer's own pings */
  repliesFromGuest = 0;

  constructor(private readonly uplink: Uplink, options = PEER) {
    this.responder = new LoopbackPeer(options);
    // the responder replies through the uplink; we see each frame first
    this.responder.attach(uplink);
    // neither keeps the frame: it is seen in place, not copied out of guest memory first
    uplink.attach(
      (frame) => {
        if (mayBePeerPingReply(frame)) {
          const e = parseIcmpEcho(frame);
          if (e !== null && e.type === ICMP_ECHO_REPLY && e.id === PEER_PING_ID) {
            this.repliesFromGuest++;
            this.waiting.get(e.seq)?.(performance.now());
            return;
          }
        }
        this.responder.receive(frame);
      },
      { zeroCopy: true },
    );
  }

  /** Pings the guest at `ip`/`mac` from the peer's address. */
  ping(ip: string, mac: string, timeoutMs = 10_000): Promise<number> {
    const seq = ++this.seq & 0xffff;
    const start = performance.now();
    const frame = buildIcmpEcho({
      srcMac: this.responder.mac,
      dstMac: parseMac(mac),
      srcIp: this.responder.ip,
      dstIp: new Uint8Array(ip.split('.').map(Number)),
      type: ICMP_ECHO_REQUEST,
      id: PEER_PING_ID,
      seq,
      payload: new TextEncoder().encode('pcisim peer ping'),
    });
    return new Promise((res, rej) => {
      const t = setTimeout(() => {
        this.waiting.delete(seq);
        rej(new Error(`peer ping of ${ip} (seq ${seq}) got no reply in ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(seq, (at) => {
        clearTimeout(t);
        this.waiting.delete(seq);
        res(at - start);
      });
      this.uplink.send(frame);
    });
  }
}

/** A generic endpoint for the hardware-level checks: three kinds of BAR and a few capabilities. */
export const GENERIC_ENDPOINT: EndpointSpec = {
  vendorId: 0x1b36,
  deviceId: 0x0005,
  classCode: 0x00ff00,
  revision: 2,
  subsystemVendorId: 0x1af4,
  subsystemId: 0x1100,
  interruptPin: 1,
  bars: [{ kind: 'mem32', size: 4096 }, { kind: 'io', size: 64 }, { kind: 'mem64', size: 64 << 10, prefetchable: true }, null],
  capabilities: [{ id: 'pm' }, { id: 'msi', vectors: 4, is64: true }, { id: 'vendor', length: 12 }],
};

/** What attachHardwareScenario built: the pcisim machine on v86's bus and its parts. */
export interface HardwareScenario {
  /** the pcisim emulator whose memory is v86's RAM */
  emu: Emulator;
  /** the virtio-net PF (no VFs) the guest's virtio_net driver binds */
  pf: VirtioNetPf;
  /** the generic endpoint (GENERIC_ENDPOINT) */
  endpoint: PciFunction;
  /** the peer on the PF's uplink */
  peer: PingingPeer;
  /** the attachment to v86 (detach(), counters) */
  attachment: V86Attachment;
}

/**
 * Hardware level: a pcisim machine whose memory is v86's RAM, with a virtio-net PF (no VFs) and a
 * generic endpoint on v86's bus; the guest's own drivers drive them. Call before the guest runs.
 */
export async function attachHardwareScenario(emulator: V86Like, options: { pfBdf?: string; endpointBdf?: string; attach?: AttachV86Options } = {}): Promise<HardwareScenario> {
  const emu = await createEmulator({ memory: v86GuestMemory(emulator) });
  const pf = emu.hw.addVirtioNet(options.pfBdf ?? '0000:00:10.0', { totalVfs: 0 });
  const endpoint = emu.hw.addEndpoint(options.endpointBdf ?? '0000:00:11.0', GENERIC_ENDPOINT);
  const peer = new PingingPeer(pf.uplink);
  const attachment = attachV86(emulator, emu.hw, options.attach);
  return { emu, pf, endpoint, peer, attachment };
}

/** What attachStackScenario built: host, VMM, assigned functions, peer and the v86 attachment. */
export interface StackScenario {
  /** the emulated host: its hardware, kernel and own memory (never visible to the guest) */
  host: Emulator;
  /** the host's virtio-net PF (SR-IOV, admin queue) */
  pf: VirtioNetPf;
  /** the VMM whose guest bus is attached to v86 */
  vmm: Vmm;
  /** host bdf -> guest bdf of each assigned function */
  assigned: {
    /** the function's address on the host */
    hostBdf: string;
    /** where the VMM placed it on the guest's bus */
    guestBdf: string;
    /** the host driver it is bound to (virtio-vfio-pci, vfio-pci) */
    driver: string;
  }[];
  /** the peer on the PF's uplink */
  peer: PingingPeer;
  /** the attachment of the VMM's bus to v86 */
  attachment: V86Attachment;
}

/** Options of attachStackScenario: how many VFs, which functions the VMM assigns, host memory. */
export interface StackScenarioOptions {
  /** VFs enabled on the host (default 2) */
  vfs?: number;
  /**
   * how many of them the VMM assigns to the guest, in the slots from 00:10.0 up that v86's own
   * devices leave free (its VGA sits at 00:12.0) (default 1)
   */
  assignVfs?: number;
  /** assign the PF itself (through vfio-pci, driver_override) instead of VFs: INTx works there */
  assignPf?: boolean;
  /** host memory for the PF's admin queue and host-side buffers (default 4 MiB) */
  hostMemoryBytes?: number;
  /** passed on to attachV86 */
  attach?: AttachV86Options;
}

/** First guest slot for assigned functions (v86's own devices sit below). */
const GUEST_FIRST_SLOT = 0x10;

/**
 * The whole stack under a real guest: an emulated host with a virtio-net PF (SR-IOV, admin queue)
 * and a LoopbackPeer, VFs enabled and bound by best match (virtio-vfio-pci), a VMM whose guest RAM
 * is v86's memory (mapped into each assigned device's IOMMU domain) with the VFs assigned, and the
 * VMM's bus attached to v86. Call before the guest runs.
 */
export async function attachStackScenario(emulator: V86Like, options: StackScenarioOptions = {}): Promise<StackScenario> {
  const nVfs = options.assignPf ? 0 : (options.vfs ?? 2);
  const slots = freeGuestSlots(emulator, options.assignPf ? 1 : Math.min(options.assignVfs ?? 1, nVfs));
  const host = await createEmulator({ memoryBytes: options.hostMemoryBytes ?? 4 << 20 });
  const pf = host.hw.addVirtioNet('0000:00:04.0', { totalVfs: Math.max(nVfs, 1) });
  const peer = new PingingPeer(pf.uplink);
  const assigned: StackScenario['assigned'] = [];
  const vmm = new Vmm(host, { memory: v86GuestMemory(emulator) });
  try {
    if (options.assignPf) {
      // the host's own virtio driver lets go of the PF first, as `echo ... > unbind` would
      if (host.host.pciDev(pf.bdf).driver !== null) host.host.unbind(pf.bdf);
      host.host.driverOverride(pf.bdf, 'vfio-pci');
      const driver = host.host.bind(pf.bdf, 'vfio-pci');
      const guestBdf = slots[0];
      vmm.assign(host.host.openDevice(pf.bdf), guestBdf);
      assigned.push({ hostBdf: pf.bdf, guestBdf, driver });
    } else {
      if (host.host.sriovConfigure(pf.bdf, nVfs) !== nVfs) throw new Error(`sriov_numvfs=${nVfs} failed`);
      const n = Math.min(options.assignVfs ?? 1, nVfs);
      pf.vfs.slice(0, n).forEach((vf, i) => {
        const driver = host.host.bind(vf.bdf);
        const guestBdf = slots[i];
        vmm.assign(host.host.openDevice(vf.bdf), guestBdf);
        assigned.push({ hostBdf: vf.bdf, guestBdf, driver });
      });
    }
    const attachment = attachV86(emulator, vmm, options.attach);
    return { host, pf, vmm, assigned, peer, attachment };
  } catch (e) {
    vmm.close();
    throw e;
  }
}

/** `n` guest slots (function 0) from GUEST_FIRST_SLOT up that none of v86's own devices uses. */
function freeGuestSlots(emulator: V86Like, n: number): string[] {
  const spaces = v86Cpu(emulator).devices.pci.device_spaces;
  const out: string[] = [];
  for (let slot = GUEST_FIRST_SLOT; slot < 32 && out.length < n; slot++) {
    let used = false;
    for (let f = 0; f < 8; f++) used ||= spaces[(slot << 3) | f] !== undefined;
    if (!used) out.push(`0000:00:${slot.toString(16).padStart(2, '0')}.0`);
  }
  if (out.length < n) throw new Error(`attachStackScenario: ${n} functions to assign but only ${out.length} guest slots from 00:${GUEST_FIRST_SLOT.toString(16)}.0 up are free of v86's devices`);
  return out;
}
