import { L } from '../../../core/wasm.js';
import type { ConfigBuilder } from '../../configBuilder.js';
import { PCI_CAP_ID_VNDR } from '../../pciRegs.js';
import {
  VIRTIO_PCI_CAP_BAR, VIRTIO_PCI_CAP_CFG_TYPE, VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_CAP_ID,
  VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_CAP_LEN, VIRTIO_PCI_CAP_LENGTH, VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_PCI_CAP_OFFSET,
  VIRTIO_PCI_CAP_PCI_CFG, VIRTIO_PCI_CAP_SIZEOF, VIRTIO_PCI_CFG_CAP_DATA, VIRTIO_PCI_CFG_CAP_SIZEOF, VIRTIO_PCI_COMMON_CFG_SIZEOF,
  VIRTIO_NET_CFG_SIZEOF, VIRTIO_PCI_NOTIFY_CAP_MULT, VIRTIO_PCI_NOTIFY_CAP_SIZEOF,
} from './virtioSpec.js';

/**
 * Where a function's virtio structures sit inside one memory BAR (the same offsets for the PF and
 * the VFs): common configuration, ISR status, device configuration, queue notifications (queue q at
 * notify + q * notifyMultiplier), and for VFs the legacy notification register that
 * VIRTIO_ADMIN_CMD_LEGACY_NOTIFY_INFO reports (-1 when absent).
 */
export interface VirtioBarLayout {
  bar: number;
  common: number;
  commonLength: number;
  isr: number;
  device: number;
  deviceLength: number;
  notify: number;
  notifyLength: number;
  notifyMultiplier: number;
  legacyNotify: number;
}

export function virtioBarLayout(bar: number, legacyNotify: boolean): VirtioBarLayout {
  return {
    bar,
    common: 0x0000,
    commonLength: VIRTIO_PCI_COMMON_CFG_SIZEOF,
    isr: 0x1000,
    device: 0x2000,
    deviceLength: VIRTIO_NET_CFG_SIZEOF,
    notify: 0x3000,
    notifyLength: 0x1000,
    notifyMultiplier: 4,
    legacyNotify: legacyNotify ? 0x4000 : -1,
  };
}

/** Config offsets of the virtio capabilities of one function. */
export interface VirtioCapOffsets {
  common: number;
  notify: number;
  isr: number;
  device: number;
  pciCfg: number;
}

function virtioCap(b: ConfigBuilder, cfgType: number, len: number, bar: number, offset: number, length: number, what: string): number {
  const off = b.addCapability(PCI_CAP_ID_VNDR, len, what);
  b.reg(off + VIRTIO_PCI_CAP_LEN, 1, len);
  b.reg(off + VIRTIO_PCI_CAP_CFG_TYPE, 1, cfgType);
  b.reg(off + VIRTIO_PCI_CAP_BAR, 1, bar);
  b.reg(off + VIRTIO_PCI_CAP_ID, 1, 0);
  b.reg(off + 6, 2, 0);
  b.reg(off + VIRTIO_PCI_CAP_OFFSET, 4, offset);
  b.reg(off + VIRTIO_PCI_CAP_LENGTH, 4, length);
  return off;
}

/**
 * The virtio structure capabilities (virtio 1.3 4.1.4), vendor-specific capabilities in this order:
 * common, notify (with notify_off_multiplier), ISR, device, PCI configuration access. All read-only
 * except the PCI configuration access capability's bar, offset, length and pci_cfg_data, as the spec
 * makes them; writes to pci_cfg_data report EV_DEVICE (the device then does the BAR write) and reads
 * of it are trapped by the function (the device does the BAR read first).
 */
export function buildVirtioCapabilities(b: ConfigBuilder, l: VirtioBarLayout): VirtioCapOffsets {
  const common = virtioCap(b, VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_CAP_SIZEOF, l.bar, l.common, l.commonLength, 'virtio common cap');
  const notify = virtioCap(b, VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_PCI_NOTIFY_CAP_SIZEOF, l.bar, l.notify, l.notifyLength, 'virtio notify cap');
  b.reg(notify + VIRTIO_PCI_NOTIFY_CAP_MULT, 4, l.notifyMultiplier);
  const isr = virtioCap(b, VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_CAP_SIZEOF, l.bar, l.isr, 1, 'virtio isr cap');
  const device = virtioCap(b, VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_CAP_SIZEOF, l.bar, l.device, l.deviceLength, 'virtio device cap');
  const pciCfg = virtioCap(b, VIRTIO_PCI_CAP_PCI_CFG, VIRTIO_PCI_CFG_CAP_SIZEOF, 0, 0, 0, 'virtio pci cfg cap');
  b.reg(pciCfg + VIRTIO_PCI_CAP_BAR, 1, 0, 0xff);
  b.reg(pciCfg + VIRTIO_PCI_CAP_OFFSET, 4, 0, 0xffffffff);
  b.reg(pciCfg + VIRTIO_PCI_CAP_LENGTH, 4, 0, 0xffffffff);
  b.reg(pciCfg + VIRTIO_PCI_CFG_CAP_DATA, 4, 0, 0xffffffff, 0, L.EV_DEVICE);
  return { common, notify, isr, device, pciCfg };
}
