// A function cloned from a real device's config image (ConfigImageSpec): its config space is the
// image byte for byte, and the registers the header and recognised capabilities implement behave as
// hardware (BAR sizing, Command, RW1C Status, MSI, MSI-X, PM, PCIe control), the rest read-only.
import { afterEach, describe, expect, it } from 'vitest';
import { InterruptLog } from '../../src/index.js';
import type { Hardware, PciFunction } from '../../src/index.js';
import { barSizesOf, hexBytes, loadRealDump, romSizeOf } from '../fixtures/real/load.js';
import { formatLspciText } from '../../src/hw/configImageParse.js';
import { disposeHardware, newHardware } from './helpers.js';

const BDF = '0000:00:03.0';
const e1000e = loadRealDump('e1000e');
const virtio = loadRealDump('virtio-net-pci');
const xhci = loadRealDump('nec-usb-xhci');

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
  for (const d of [e1000e, virtio, xhci]) {
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

/** The e1000e clone: PM 0xc8 (v2), MSI 0xd0 (64-bit, 1 vector), PCIe v1 0xe0, MSI-X 0xa0 (5 vectors in BAR3), AER 0x100, DSN 0x140. */
async function e1000eClone(extra: { writableMask?: Uint8Array; rw1cMask?: Uint8Array } = {}): Promise<{ h: Hardware; f: PciFunction; image: Uint8Array }> {
  const h = await newHardware();
  hw = h;
  const image = hexBytes(e1000e.raw.config);
  const f = h.addEndpoint(BDF, { configImage: image, barSizes: barSizesOf(e1000e), romSize: romSizeOf(e1000e), ...extra });
  return { h, f, image };
}

const rd = (o: number, size: 1 | 2 | 4) => hw!.configRead(BDF, o, size);
const wr = (o: number, size: 1 | 2 | 4, v: number) => hw!.configWrite(BDF, o, size, v);
/** Writes all ones and returns what reads back, then puts the old value back. */
function probe(o: number, size: 1 | 2 | 4): number {
  const old = rd(o, size);
  wr(o, size, size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff);
  const v = rd(o, size);
  wr(o, size, old);
  return v;
}

describe('the clone behaves as hardware where the header and the recognised capabilities say', () => {
  it('BAR and ROM sizing answer from barSizes/romSize with the image\'s kinds; BAR4/5 are unimplemented', async () => {
    await e1000eClone();
    expect([0, 1, 2, 3, 4, 5].map((i) => probe(0x10 + 4 * i, 4))).toEqual([0xfffe0000, 0xfffe0000, 0xffffffe1, 0xffffc000, 0, 0]);
    expect(probe(0x30, 4)).toBe(0xfffc0001);
    expect(rd(0x10, 4)).toBe(0xfe840000); // put back
  });

  it('Command takes its implemented bits; Status error bits are RW1C and Capabilities List is read-only', async () => {
    const { f } = await e1000eClone();
    expect(probe(0x04, 2)).toBe(0x0547);
    f.setRegister(0x06, 2, rd(0x06, 2) | 0x2000); // the device signals Received Master Abort
    wr(0x06, 2, 0x0010);
    expect(rd(0x06, 2)).toBe(0x2010);
    wr(0x06, 2, 0xffff);
    expect(rd(0x06, 2)).toBe(0x0010);
    expect(probe(0x00, 4)).toBe(0x10d38086);
    expect(probe(0x0d, 1)).toBe(0); // Latency Timer: hardwired 0 on PCI Express
    expect(probe(0x3c, 1)).toBe(0xff);
  });

  it('MSI at 0xd0 (64-bit, one vector) delivers the message programmed into it', async () => {
    const { h, f } = await e1000eClone();
    const log = new InterruptLog();
    h.setInterruptSink(log);
    wr(0xd4, 4, 0xfee01000);
    wr(0xd8, 4, 0);
    wr(0xdc, 2, 0x4041);
    expect(probe(0xd2, 2)).toBe(0x0081); // Enable writable; one vector: Multiple Message Enable stays 0
    wr(0xd2, 2, 0x0001);
    wr(0x04, 2, 0x0507); // Bus Master
    f.raiseMsi(0);
    expect(log.messages).toEqual([{ addressLo: 0xfee01000, addressHi: 0, data: 0x4041, source: BDF }]);
  });

  it('MSI-X at 0xa0 has its 5-entry table at BAR3+0 and PBA at BAR3+0x2000, reached through the BAR', async () => {
    const { h, f } = await e1000eClone();
    const log = new InterruptLog();
    h.setInterruptSink(log);
    const table = 0xfe880000; // BAR3 as the image has it; Command's Memory Space is on in the image
    expect(probe(0xa2, 2)).toBe(0xc004);
    expect(h.mmioRead(table + 16 * 4 + 12, 4)).toBe(1); // the last entry, masked at power-on
    h.mmioWrite(table + 32, 4, 0xfee02000);
    h.mmioWrite(table + 36, 4, 0);
    h.mmioWrite(table + 40, 4, 0x4062);
    h.mmioWrite(table + 44, 4, 0);
    wr(0x04, 2, 0x0507);
    wr(0xa2, 2, 0xc000); // enabled, function masked
    f.raiseMsix(2);
    expect(log.messages).toEqual([]);
    expect(h.mmioRead(table + 0x2000, 4)).toBe(0b100);
    wr(0xa2, 2, 0x8000);
    expect(log.messages).toEqual([{ addressLo: 0xfee02000, addressHi: 0, data: 0x4062, source: BDF }]);
  });

  it('PM at 0xc8 (version 2): PowerState is writable and D3hot -> D0 without No_Soft_Reset resets to the image', async () => {
    const { h, f, image } = await e1000eClone();
    expect(rd(0xca, 2)).toBe(0x0022);
    wr(0xd4, 4, 0xfee00000); // something a reset clears
    wr(0xcc, 2, 3);
    expect(f.powerState).toBe(3);
    expect(rd(0xcc, 2)).toBe(3);
    wr(0xcc, 2, 0);
    expect(f.powerState).toBe(0);
    expect(Buffer.from(configBytes(h, BDF)).toString('hex')).toBe(Buffer.from(image).toString('hex'));
  });

  it('PCIe v1 at 0xe0 gets the builder\'s control masks only inside its 0x14 bytes; AER keeps its own at 0x100', async () => {
    await e1000eClone();
    expect(probe(0xe8, 2)).toBe(0x79ff); // Device Control (Initiate FLR reads 0)
    expect(probe(0xf0, 2)).toBe(0x00cb); // Link Control
    expect(probe(0xea, 2)).toBe(0); // Device Status: RW1C bits, all clear
    // where a v2 capability's Link Control 2 would be (0xe0 + 0x30) is AER's Correctable Error Status
    expect(probe(0x110, 2)).toBe(0);
    expect(probe(0x108, 4)).toBe(0x007ff010); // AER Uncorrectable Error Mask
    expect(probe(0x114, 4)).toBe(0x0000f1c1); // AER Correctable Error Mask
  });

  it('unknown and vendor-specific capabilities, DSN and the bytes between capabilities are read-only', async () => {
    hw = await newHardware();
    const image = hexBytes(virtio.raw.config);
    hw.addEndpoint(BDF, { configImage: image, barSizes: barSizesOf(virtio), romSize: romSizeOf(virtio) });
    for (const o of [0x84, 0x88, 0x8c, 0xc8, 0xd0, 0x74, 0xf8]) expect(probe(o, 4), `0x${o.toString(16)}`).toBe(rd(o, 4));
    expect(rd(0x88, 4)).toBe(0x00000004);
    hw.removeFunction(BDF);
    await e1000eClone();
    for (const o of [0x140, 0x144, 0x148, 0x40, 0x9c, 0xb0, 0xf8]) expect(probe(o, 4), `0x${o.toString(16)}`).toBe(rd(o, 4));
    expect(rd(0x144, 4)).toBe(0xff123456);
  });

  it('writableMask and rw1cMask replace the default masks byte by byte (BAR registers keep sizing)', async () => {
    const image = hexBytes(e1000e.raw.config);
    const writable = new Uint8Array(4096);
    const rw1c = new Uint8Array(4096);
    writable[0x40] = 0xf0;
    writable.fill(0xff, 0x10, 0x14); // ignored: BAR0 follows barSizes
    image[0x41] = 0x0f;
    rw1c[0x41] = 0x05;
    hw = await newHardware();
    hw.addEndpoint(BDF, { configImage: image, barSizes: barSizesOf(e1000e), romSize: romSizeOf(e1000e), writableMask: writable, rw1cMask: rw1c });
    expect(probe(0x40, 1)).toBe(0xf0);
    wr(0x41, 1, 0xff);
    expect(rd(0x41, 1)).toBe(0x0a);
    expect(probe(0x04, 2)).toBe(0x0103); // Command too follows the mask given: read-only here
    expect(probe(0x10, 4)).toBe(0xfffe0000);
  });
});

describe('a PCIe v1 capability has no version 2 registers', () => {
  it('a reset does not keep what lies where Link Control 2 would be (here: MSI Mask Bits)', async () => {
    hw = await newHardware();
    const b = new Uint8Array(256);
    b.set([0x86, 0x80, 0x34, 0x12]);
    b[0x06] = 0x10;
    b[0x34] = 0x40;
    b.set([0x10, 0x58, 0x01, 0x00], 0x40); // PCIe v1 endpoint, 0x40..0x53
    b.set([0x01, 0x60, 0x02, 0x00], 0x58); // PM v2, no No_Soft_Reset: D3hot -> D0 resets
    b.set([0x05, 0x00, 0x80, 0x01], 0x60); // MSI 64-bit with per-vector masking: Mask Bits at 0x70 = 0x40 + 0x30
    hw.addEndpoint(BDF, { configImage: b, barSizes: [] });
    wr(0x70, 4, 1);
    expect(rd(0x70, 4)).toBe(1);
    wr(0x5c, 2, 3);
    wr(0x5c, 2, 0);
    expect(rd(0x70, 4)).toBe(0);
    expect(Buffer.from(configBytes(hw, BDF).subarray(0, 256)).toString('hex')).toBe(Buffer.from(b).toString('hex'));
  });
});
