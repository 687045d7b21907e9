import { parseBdf } from '../../bdf.js';
import { buildMsix } from '../../capabilities/msix.js';
import { buildSriov } from '../../capabilities/sriov.js';
import type { SriovCapabilityLayout } from '../../capabilities/sriov.js';
import type { DeviceModel } from '../../deviceModel.js';
import type { Hardware } from '../../hardware.js';
import type { PciBus } from '../../pciBus.js';
import { PciFunction } from '../../pciFunction.js';
import type { BarSpec, EndpointSpec } from '../../spec.js';
import { checkInt } from '../../spec.js';
import { Sriov } from '../../sriov.js';
import type { VfBlueprint, VirtualFunction } from '../../sriov.js';
import { AdminVirtqueue } from './adminQueue.js';
import { NetSwitch, parseMac } from './netSwitch.js';
import type { Uplink } from './netSwitch.js';
import { buildVirtioCapabilities, virtioBarLayout } from './pciCapabilities.js';
import type { VirtioCapOffsets } from './pciCapabilities.js';
import { VirtioNetDevice } from './virtioNetDevice.js';
import {
  featureBits, VIRTIO_ADMIN_GROUP_TYPE_SRIOV, VIRTIO_F_ADMIN_VQ, VIRTIO_F_RING_INDIRECT_DESC, VIRTIO_F_RING_RESET, VIRTIO_F_SR_IOV,
  VIRTIO_F_VERSION_1, VIRTIO_LEGACY_ADMIN_CMD_BITMAP, VIRTIO_NET_F_MAC, VIRTIO_NET_F_STATUS, VIRTIO_PCI_DEVICE_ID_NET,
  VIRTIO_PCI_MODERN_REVISION, VIRTIO_PCI_SUBSYSTEM_ID, VIRTIO_PCI_VENDOR_ID,
} from './virtioSpec.js';

/** Options of {@link Hardware.addVirtioNet}. */
export interface VirtioNetOptions {
  /** SR-IOV TotalVFs (0: no SR-IOV capability and no administration queue); default 4 */
  totalVfs?: number;
  /** the PF's MAC address; VF n gets this address plus n in its low 24 bits. Default 52:54:00:12:34:56 */
  mac?: string;
  /** maximum size of each virtqueue (a power of two, 2..32768); default 256 */
  queueSize?: number;
  /** SR-IOV First VF Offset and VF Stride (default 1 and 1) */
  firstVfOffset?: number;
  /** SR-IOV VF Stride (routing ID distance between VFs); default 1. */
  vfStride?: number;
}

/** PF: MSI-X table and PBA in BAR1, the virtio structures in BAR4 (a 64-bit BAR), like QEMU's virtio-net-pci. */
const PF_MSIX_BAR = 1;
const PF_VIRTIO_BAR = 4;
const PF_BARS: (BarSpec | null)[] = [null, { kind: 'mem32', size: 0x1000 }, null, null, { kind: 'mem64', size: 0x4000 }, null];
/**
 * VF: no BAR0 (VF BAR0 is hardwired to zero, as LEGACY_NOTIFY_INFO requires and the virtio-vfio-pci
 * variant driver expects); VF BAR2 (64-bit) holds the virtio structures, the legacy notification
 * register at 0x4000 and the MSI-X table (0x5000) and PBA (0x6000).
 */
const VF_VIRTIO_BAR = 2;
const VF_BARS: (BarSpec | null)[] = [null, null, { kind: 'mem64', size: 0x8000 }, null, null, null];
const VF_MSIX_TABLE = 0x5000;
const VF_MSIX_PBA = 0x6000;

/** Common identity of PF and VFs: a non-transitional virtio network device (virtio 1.3 4.1.2.1). */
function identity(): Pick<EndpointSpec, 'vendorId' | 'deviceId' | 'classCode' | 'revision' | 'subsystemVendorId' | 'subsystemId'> {
  return {
    vendorId: VIRTIO_PCI_VENDOR_ID,
    deviceId: VIRTIO_PCI_DEVICE_ID_NET,
    classCode: 0x020000,
    revision: VIRTIO_PCI_MODERN_REVISION,
    subsystemVendorId: VIRTIO_PCI_VENDOR_ID,
    subsystemId: VIRTIO_PCI_SUBSYSTEM_ID,
  };
}

/** VF n's MAC: the PF's address plus n in the low 24 bits, locally administered. */
export function vfMac(pfMac: Uint8Array, vfNumber: number): Uint8Array {
  const low = ((pfMac[3] << 16) | (pfMac[4] << 8) | pfMac[5]) + vfNumber;
  return new Uint8Array([pfMac[0] | 0x02, pfMac[1], pfMac[2], (low >> 16) & 0xff, (low >> 8) & 0xff, low & 0xff]);
}

/**
 * The virtio-net PF that `hw.addVirtioNet` creates: a PciFunction with its virtio device, its
 * embedded switch (`uplink` is where frames leave and enter), its SR-IOV state (`vfs`) and the
 * administration virtqueue's command set.
 */
export class VirtioNetPf extends PciFunction {
  /** the PF's own virtio device */
  virtio!: VirtioNetDevice;
  /** The embedded switch connecting the PF, its VFs and the uplink. */
  netSwitch!: NetSwitch;
  /** The PF's SR-IOV capability state, null when built without VFs. */
  sriov: Sriov | null = null;
  /** The administration virtqueue's command service (VIRTIO_ADMIN_CMD_* for the VFs), null when built without VFs. */
  admin: AdminVirtqueue | null = null;

  constructor(hw: Hardware, bdf: string, bus: PciBus, device: number, fn: number, model: DeviceModel, slot: number) {
    super(hw, bdf, bus, device, fn, model, slot);
  }

  /** Where frames leave the embedded switch and enter it from the wire. */
  get uplink(): Uplink {
    return this.netSwitch.uplink;
  }

  /** The enabled VFs, in VF-number order. */
  get vfs(): VirtualFunction[] {
    return this.sriov?.vfs ?? [];
  }

  /** The virtio device of VF number `n` (1-based), if enabled. */
  member(n: number): VirtioNetDevice | undefined {
    const vf = this.sriov?.vf(n);
    return vf?.alive ? (vf.model as VirtioNetDevice) : undefined;
  }

  /**
   * The group administration commands the PF implements for a group type (what LIST_QUERY answers,
   * device_admin_cmd_opcodes[0]); 0 without SR-IOV.
   */
  adminCommands(groupType = VIRTIO_ADMIN_GROUP_TYPE_SRIOV): number {
    return this.admin?.supportedCommands(groupType) ?? 0;
  }

  /** Whether the PF implements every legacy access command (Linux's VIRTIO_LEGACY_ADMIN_CMD_BITMAP). */
  get supportsLegacyAdmin(): boolean {
    return (this.adminCommands() & VIRTIO_LEGACY_ADMIN_CMD_BITMAP) === VIRTIO_LEGACY_ADMIN_CMD_BITMAP;
  }
}

/** The virtio device behind a function made by addVirtioNet (PF or VF), if it is one. */
export function virtioNetOf(fn: PciFunction): VirtioNetDevice | undefined {
  return fn.model instanceof VirtioNetDevice ? fn.model : undefined;
}

/**
 * Builds a virtio-net PF (1af4:1041, class 020000, revision 1, subsystem 1af4:1100) at `bdf`: modern
 * virtio PCI transport (common/notify/ISR/device/PCI-config capabilities in BAR4, MSI-X in BAR1),
 * PCI Express with FLR, power management, and with totalVfs > 0 an SR-IOV capability (VF Device ID
 * 0x1041, VF BAR2 64-bit 32 KiB) and an administration virtqueue (VIRTIO_F_SR_IOV, VIRTIO_F_ADMIN_VQ).
 */
export function addVirtioNet(hw: Hardware, bdf: string, options: VirtioNetOptions = {}): VirtioNetPf {
  if (options === null || typeof options !== 'object') throw new Error('addVirtioNet options must be an object');
  const totalVfs = checkInt(options.totalVfs ?? 4, 0, 255, 'totalVfs');
  const queueSize = checkInt(options.queueSize ?? 256, 2, 32768, 'queueSize');
  if ((queueSize & (queueSize - 1)) !== 0) throw new Error(`queueSize must be a power of two, got ${queueSize}`);
  const firstVfOffset = checkInt(options.firstVfOffset ?? 1, 1, 0xffff, 'firstVfOffset');
  const vfStride = checkInt(options.vfStride ?? 1, 1, 0xffff, 'vfStride');
  const mac = parseMac(options.mac ?? '52:54:00:12:34:56');
  const at = parseBdf(bdf);
  const rid = (at.bus << 8) | (at.device << 3) | at.fn;
  if (totalVfs > 0 && (rid + firstVfOffset + vfStride * (totalVfs - 1)) >> 8 !== at.bus) {
    throw new Error(`totalVfs ${totalVfs} with First VF Offset ${firstVfOffset} and VF Stride ${vfStride} does not fit on bus ${at.bus.toString(16).padStart(2, '0')} after ${bdf}`);
  }

  const admin = totalVfs > 0;
  const pfFeatures = admin
    ? featureBits(VIRTIO_NET_F_MAC, VIRTIO_NET_F_STATUS, VIRTIO_F_RING_INDIRECT_DESC, VIRTIO_F_VERSION_1, VIRTIO_F_SR_IOV, VIRTIO_F_RING_RESET, VIRTIO_F_ADMIN_VQ)
    : featureBits(VIRTIO_NET_F_MAC, VIRTIO_NET_F_STATUS, VIRTIO_F_RING_INDIRECT_DESC, VIRTIO_F_VERSION_1, VIRTIO_F_RING_RESET);
  const vfFeatures = featureBits(VIRTIO_NET_F_MAC, VIRTIO_NET_F_STATUS, VIRTIO_F_RING_INDIRECT_DESC, VIRTIO_F_VERSION_1, VIRTIO_F_RING_RESET);
  const netSwitch = new NetSwitch();
  const pfLayout = virtioBarLayout(PF_VIRTIO_BAR, false);
  const device = new VirtioNetDevice({
    name: bdf.toLowerCase(),
    memory: hw.memory,
    mac,
    features: pfFeatures,
    layout: pfLayout,
    queueSize,
    adminQueues: admin ? 1 : 0,
    netSwitch,
  });
  const vectors = 2 + 1 + (admin ? 1 : 0); // config, rx, tx, admin
  const spec: EndpointSpec = {
    ...identity(),
    interruptPin: 1,
    bars: PF_BARS,
    capabilities: [
      { id: 'pm' },
      { id: 'pcie', flr: true },
      { id: 'msix', vectors, tableBar: PF_MSIX_BAR, tableOffset: 0, pbaBar: PF_MSIX_BAR, pbaOffset: 0x800 },
    ],
  };
  let caps: VirtioCapOffsets | null = null;
  let sriovLayout: SriovCapabilityLayout | null = null;
  const pf = hw.addFunction<VirtioNetPf>(
    bdf,
    spec,
    device,
    (b) => {
      caps = buildVirtioCapabilities(b, pfLayout);
      if (totalVfs > 0) {
        sriovLayout = buildSriov(b, {
          totalVfs,
          firstVfOffset,
          vfStride,
          vfDeviceId: VIRTIO_PCI_DEVICE_ID_NET,
          functionLink: at.fn,
          vfBars: VF_BARS,
        });
      }
    },
    (f) => {
      f.netSwitch = netSwitch;
      f.virtio = device;
      device.attach(f, caps!);
      if (sriovLayout !== null) {
        const sriov = new Sriov(f, sriovLayout, {
          createVf: (index) => vfBlueprint(hw, mac, index, queueSize, vfFeatures, netSwitch),
          vfRemoved: (vf) => (vf.model as VirtioNetDevice).detach(),
        });
        f.sriov = sriov;
        device.configHook = sriov;
        f.admin = new AdminVirtqueue({ sriov, member: (n) => f.member(n) });
        device.admin = f.admin;
      }
    },
    (h, a, bus, dev, fn, model, slot) => new VirtioNetPf(h, a, bus, dev, fn, model, slot),
  );
  return pf;
}

/** VF `index` (0-based): its own virtio device, MAC and notification area, in VF BAR2. */
function vfBlueprint(hw: Hardware, pfMac: Uint8Array, index: number, queueSize: number, features: [number, number], netSwitch: NetSwitch): VfBlueprint {
  const layout = virtioBarLayout(VF_VIRTIO_BAR, true);
  const device = new VirtioNetDevice({
    name: `vf${index + 1}`,
    memory: hw.memory,
    mac: vfMac(pfMac, index + 1),
    features,
    layout,
    queueSize,
    adminQueues: 0,
    netSwitch,
  });
  let caps: VirtioCapOffsets | null = null;
  const vectors = 3; // config, rx, tx
  return {
    spec: { ...identity(), interruptPin: 0, capabilities: [{ id: 'pcie', flr: true }] },
    model: device,
    extra: (b, l) => {
      const msix = { vectors, tableBar: VF_VIRTIO_BAR, tableOffset: VF_MSIX_TABLE, pbaBar: VF_VIRTIO_BAR, pbaOffset: VF_MSIX_PBA };
      const off = buildMsix(b, msix, VF_BARS, 'VF msix');
      l.msix = { tableBar: VF_VIRTIO_BAR, tableOffset: VF_MSIX_TABLE, tableBytes: vectors * 16, pbaBar: VF_VIRTIO_BAR, pbaOffset: VF_MSIX_PBA, pbaBytes: 8 };
      l.caps.push({ id: 'msix', offset: off });
      caps = buildVirtioCapabilities(b, layout);
    },
    init: (vf) => device.attach(vf, caps!),
  };
}
