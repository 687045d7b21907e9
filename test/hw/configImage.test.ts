// A function cloned from a real device's config image (ConfigImageSpec): its config space is the
// image byte for byte, and the registers the header and recognised capabilities implement behave as
// hardware (BAR sizing, Command, RW1C Status, MSI, MSI-X, PM, PCIe control), the rest read-only.
import { afterEach, describe, expect, it } from 'vitest';
import type { Hardware } from '../../src/index.js';
import { barSizesOf, hexBytes, loadRealDump, romSizeOf } from '../fixtures/real/load.js';
import { formatLspciText } from '../../src/hw/configImageParse.js';
import { disposeHardware, newHardware } from './helpers.js';

const BDF = '0000:00:03.0';
const e1000e = loadRealDump('e1000e');
const virtio = loadRealDump('virtio-net-pci');

let hw: Hardware | undefined;
afterEach(() => {
  disposeHardware(hw);
  hw = undefined;
});

function configBytes(h: Hardware, bdf: string): Uint8Array {
  const out = new Uint8Array(4096);
  for (let o = 0; o < 4096; o += 4) new DataView(out.buffer).setUint32(o, h.configRead(bdf, o, 4), true);
  return out;
}

describe('a clone of a real dump', () => {
  for (const d of [e1000e, virtio]) {
    it(`${d.name}: config space equals the raw sysfs dump byte for byte`, async () => {
      hw = await newHardware();
      const image = hexBytes(d.raw.config);
      expect(image.length).toBe(4096);
      hw.addEndpoint(BDF, { configImage: image, barSizes: barSizesOf(d), romSize: romSizeOf(d) });
      expect(Buffer.from(configBytes(hw, BDF)).toString('hex')).toBe(d.raw.config);
    });

    it(`${d.name}: the same from lspci -xxxx text, and from its first 256 bytes (lspci -xxx)`, async () => {
      hw = await newHardware();
      const image = hexBytes(d.raw.config);
      const title = `${d.bdf.slice(5)} Ethernet controller: cloned\n`;
      hw.addEndpoint(BDF, { configImage: title + formatLspciText(image), barSizes: barSizesOf(d), romSize: romSizeOf(d) });
      expect(Buffer.from(configBytes(hw, BDF)).toString('hex')).toBe(d.raw.config);
      hw.addEndpoint('0000:00:04.0', { configImage: formatLspciText(image.subarray(0, 256)), barSizes: barSizesOf(d), romSize: romSizeOf(d) });
      const short = configBytes(hw, '0000:00:04.0');
      expect(Buffer.from(short.subarray(0, 256)).toString('hex')).toBe(d.raw.config.slice(0, 512));
      expect(short.subarray(256).every((b) => b === 0)).toBe(true);
    });
  }
});
