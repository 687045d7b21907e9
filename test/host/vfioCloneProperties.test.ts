// Property test (fast-check): real dumps with random bytes changed, cloned and bound to pcisim's
// vfio-pci, answer every config region read and any config write of any width with data or a vfio
// errno (VfioError), never a crash; REGION_INFO of every index answers; the device closes and goes.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmulator } from '../../src/emulator.js';
import type { Emulator } from '../../src/emulator.js';
import { VFIO } from '../../src/host/vfio/uapi/constants.js';
import { VfioError } from '../../src/host/vfio/vfioError.js';
import { regionOffset } from '../../src/vmm/vfioClient.js';
import { barSizesOf, hexBytes, loadRealDump, romSizeOf } from '../fixtures/real/load.js';

const BDF = '0000:00:06.0';
const dumps = [loadRealDump('e1000e'), loadRealDump('virtio-net-pci'), loadRealDump('nec-usb-xhci')];

function vfioOnly<T>(fn: () => T): T | string {
  try {
    return fn();
  } catch (e) {
    if (!(e instanceof VfioError)) throw e;
    return e.code;
  }
}

describe('property: a mutated clone behind vfio-pci never crashes the host', () => {
  let emu: Emulator;
  beforeAll(async () => {
    emu = await createEmulator({ memoryBytes: 1 << 20 });
  });
  afterAll(() => {
    for (const f of emu.hw.functions().reverse()) emu.hw.removeFunction(f.bdf);
  });

  it('random bytes changed in the header and capabilities, then random config writes through the device file', () => {
    let opened = 0;
    fc.assert(
      fc.property(
        fc.nat({ max: dumps.length - 1 }),
        fc.array(fc.record({ off: fc.oneof(fc.integer({ min: 0x40, max: 0xff }), fc.integer({ min: 0x100, max: 0x17f }), fc.integer({ min: 0x04, max: 0x3f })), value: fc.nat({ max: 0xff }) }), { minLength: 1, maxLength: 4 }),
        fc.array(fc.record({ size: fc.constantFrom(1 as const, 2 as const, 4 as const), at: fc.nat({ max: 0x1ff }), value: fc.nat({ max: 0xffffffff }) }), { maxLength: 12 }),
        (which, noise, writes) => {
          const d = dumps[which];
          const img = hexBytes(d.raw.config);
          for (const n of noise) img[n.off] = n.value;
          try {
            emu.hw.addEndpoint(BDF, { configImage: img, barSizes: barSizesOf(d), romSize: romSizeOf(d) });
          } catch (e) {
            if (!(e instanceof Error) || e instanceof TypeError || e instanceof RangeError) throw e;
            return; // refused with a message: the image property tests cover that
          }
          try {
            emu.host.driverOverride(BDF, 'vfio-pci');
            if (emu.host.pci.device(BDF)?.driver) emu.host.unbind(BDF);
            if (vfioOnly(() => emu.host.bind(BDF, 'vfio-pci')) !== 'vfio-pci') return;
            const file = vfioOnly(() => emu.host.openDevice(BDF));
            if (typeof file === 'string') return;
            opened++;
            for (let i = 0; i < 9; i++) {
              const arg = new Uint8Array(32);
              new DataView(arg.buffer).setUint32(0, 32, true);
              new DataView(arg.buffer).setUint32(8, i, true);
              vfioOnly(() => file.ioctl(VFIO.DEVICE_GET_REGION_INFO, arg));
            }
            const cfg = (off: number) => regionOffset(VFIO.PCI_CONFIG_REGION_INDEX, off);
            for (let o = 0; o < 4096; o += 4) vfioOnly(() => file.read(cfg(o), 4));
            for (const w of writes) {
              const b = new Uint8Array(w.size);
              for (let i = 0; i < w.size; i++) b[i] = (w.value >>> (8 * i)) & 0xff;
              vfioOnly(() => file.write(cfg(w.at - (w.at % w.size)), b));
              vfioOnly(() => file.read(cfg(w.at - (w.at % w.size)), w.size));
            }
            file.close();
            emu.host.unbind(BDF);
          } finally {
            emu.hw.removeFunction(BDF);
          }
        },
      ),
      { numRuns: 120 },
    );
    expect(opened).toBeGreaterThan(30);
  });
});
