import type { Hardware } from '../hw/hardware.js';
import { PCI_CLASS_PROG, PCI_DEVICE_ID, PCI_SUBSYSTEM_ID, PCI_SUBSYSTEM_VENDOR_ID, PCI_VENDOR_ID } from '../hw/pciRegs.js';

const hex8 = (n: number) => n.toString(16).toUpperCase().padStart(8, '0');
const hex2 = (n: number) => n.toString(16).toUpperCase().padStart(2, '0');

/**
 * The emulated host kernel. It sees the functions of `hw` and reaches their config space only
 * through it.
 */
export class Host {
  constructor(readonly hw: Hardware) {}

  private present(bdf: string) {
    const f = this.hw.function(bdf);
    if (!f) throw new Error(`${bdf}: no such PCI function`);
    return f;
  }

  /** The device's modalias, as /sys/bus/pci/devices/.../modalias shows it. */
  modalias(bdf: string): string {
    const f = this.present(bdf);
    // VFs read 0xffff in hardware; the PCI core takes their IDs from the PF (pci_iov)
    const vendor = f.isVirtfn ? f.vendorId : this.hw.configRead(f.bdf, PCI_VENDOR_ID, 2);
    const device = f.isVirtfn ? f.deviceId : this.hw.configRead(f.bdf, PCI_DEVICE_ID, 2);
    const sv = this.hw.configRead(f.bdf, PCI_SUBSYSTEM_VENDOR_ID, 2);
    const sd = this.hw.configRead(f.bdf, PCI_SUBSYSTEM_ID, 2);
    const cls = this.hw.configRead(f.bdf, PCI_CLASS_PROG - 1, 4) >>> 8;
    return `pci:v${hex8(vendor)}d${hex8(device)}sv${hex8(sv)}sd${hex8(sd)}bc${hex2(cls >>> 16)}sc${hex2((cls >>> 8) & 0xff)}i${hex2(cls & 0xff)}`;
  }
}
