// A config register whose hardware read has side effects (virtio's pci_cfg_data window, 4.1.4.9)
// sits in a vendor-specific capability, which vfio passes through raw: a read through the vfio config
// region must reach the device exactly as a host read does (vfio_default_config_read reads
// hardware for every bit that is not virtualized).
import { describe, expect, it } from 'vitest';
import { createEmulator } from '../../../src/emulator.js';
import { VFIO } from '../../../src/host/vfio/uapi/constants.js';
import { VfioClient, regionOffset } from '../../../src/vmm/vfioClient.js';

const PF = '0000:00:04.0';
const VIRTIO_PCI_CAP_PCI_CFG = 5;

async function vfioVirtioPf() {
  const emu = await createEmulator();
  const pf = emu.hw.addVirtioNet(PF, { totalVfs: 0 });
  emu.host.unbind(PF);
  emu.host.driverOverride(PF, 'vfio-pci');
  expect(emu.host.bind(PF, 'vfio-pci')).toBe('vfio-pci');
  const file = emu.host.openDevice(PF);
  return { emu, pf, file, c: new VfioClient(file) };
}

/** The PCI configuration access capability's offset, walked through the vfio config region. */
function pciCfgCap(c: VfioClient): number {
  for (let p = c.configRead(0x34, 1) & 0xfc; p !== 0; p = c.configRead(p + 1, 1) & 0xfc) {
    if (c.configRead(p, 1) === 0x09 && c.configRead(p + 3, 1) === VIRTIO_PCI_CAP_PCI_CFG) return p;
  }
  throw new Error('no virtio PCI cfg capability');
}

describe('vfio config read of a register with read side effects', () => {
  it('pci_cfg_data read through vfio reads the selected BAR bytes (ISR is read-to-clear)', async () => {
    const { pf, c, file } = await vfioVirtioPf();
    const cap = pciCfgCap(c);
    // select the ISR byte where the ISR capability (cfg_type 3) places it
    let isrCap = 0;
    for (let p = c.configRead(0x34, 1) & 0xfc; p !== 0; p = c.configRead(p + 1, 1) & 0xfc) {
      if (c.configRead(p, 1) === 0x09 && c.configRead(p + 3, 1) === 3) isrCap = p;
    }
    expect(isrCap).not.toBe(0);
    const bar = c.configRead(isrCap + 4, 1);
    const off = c.configRead(isrCap + 8, 4);
    c.configWrite(cap + 4, 1, bar);
    c.configWrite(cap + 8, 4, off);
    c.configWrite(cap + 12, 4, 1);
    let up = true;
    for (const read of [
      () => c.configRead(cap + 16, 1),
      () => file.read(regionOffset(VFIO.PCI_CONFIG_REGION_INDEX, cap + 16), 1)[0],
      // an unaligned 3-byte read goes through the general (chunked) path
      () => file.read(regionOffset(VFIO.PCI_CONFIG_REGION_INDEX, cap + 16), 3)[0],
    ]) {
      // a link change is a config change: ISR bit 1
      up = !up;
      pf.virtio.setLink(up);
      expect(read()).toBe(2);
      expect(read()).toBe(0);
    }
  });
});
