// Bad input: config accesses hardware could never produce are a RangeError (and change nothing);
// an invalid EndpointSpec is an Error naming the offending field, and leaves the topology as it was.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BarSpec, CapabilitySpec, EndpointSpec, Hardware } from '../../src/index.js';
import { pcieEndpointSpec } from '../fixtures/configSpace.js';
import { configDiff, configSnapshot, newHardware, disposeHardware } from './helpers.js';

const BDF = '0000:00:0d.0';
const NEW = '0000:00:0e.0';

let hw: Hardware;
beforeEach(async () => {
  hw = await newHardware();
  hw.addEndpoint(BDF, pcieEndpointSpec);
});
afterEach(() => disposeHardware(hw));

describe('config accesses outside what hardware can do', () => {
  const badOffsets = [-1, -4, 4096, 4100, 0x10000, 1.5, Number.NaN, Number.POSITIVE_INFINITY];
  const badSizes = [0, 3, 5, 8, -1, 1.5, Number.NaN];
  const misaligned: [number, number][] = [
    [1, 2],
    [3, 2],
    [0xfff, 2],
    [1, 4],
    [2, 4],
    [3, 4],
    [0xffe, 4],
    [0xffd, 4],
  ];
  const targets = [BDF, '0000:00:1f.0']; // present and absent

  it.each(targets)('%s: offsets outside 0..4095 throw RangeError', (bdf) => {
    for (const off of badOffsets) {
      expect(() => hw.configRead(bdf, off, 1), `read ${off}`).toThrow(RangeError);
      expect(() => hw.configWrite(bdf, off, 1, 0), `write ${off}`).toThrow(RangeError);
    }
  });

  it.each(targets)('%s: sizes other than 1, 2, 4 throw RangeError', (bdf) => {
    for (const size of badSizes) {
      expect(() => hw.configRead(bdf, 0, size as 1), `read size ${size}`).toThrow(RangeError);
      expect(() => hw.configWrite(bdf, 0, size as 1, 0), `write size ${size}`).toThrow(RangeError);
    }
  });

  it.each(targets)('%s: misaligned accesses throw RangeError', (bdf) => {
    for (const [off, size] of misaligned) {
      expect(() => hw.configRead(bdf, off, size as 2 | 4), `read ${off}/${size}`).toThrow(RangeError);
      expect(() => hw.configWrite(bdf, off, size as 2 | 4, 0xffffffff), `write ${off}/${size}`).toThrow(RangeError);
    }
  });

  it('a rejected write changes nothing', () => {
    const before = configSnapshot(hw, BDF);
    for (const [off, size] of misaligned) expect(() => hw.configWrite(BDF, off, size as 2 | 4, 0xffffffff)).toThrow(RangeError);
    for (const off of badOffsets) expect(() => hw.configWrite(BDF, off, 4, 0xffffffff)).toThrow(RangeError);
    expect(() => hw.configWrite(BDF, 0x04, 2, Number.NaN)).toThrow(RangeError);
    expect(configDiff(before, configSnapshot(hw, BDF))).toEqual([]);
  });

  it('the last byte, word and dword of config space are valid', () => {
    expect(hw.configRead(BDF, 0xfff, 1)).toBe(0);
    expect(hw.configRead(BDF, 0xffe, 2)).toBe(0);
    expect(hw.configRead(BDF, 0xffc, 4)).toBe(0);
  });

  it('port I/O and MMIO reject bad sizes and addresses with RangeError', () => {
    for (const size of [0, 3, 8]) {
      expect(() => hw.ioRead(0x1000, size as 1)).toThrow(RangeError);
      expect(() => hw.ioWrite(0x1000, size as 1, 0)).toThrow(RangeError);
      expect(() => hw.mmioRead(0x1000, size as 1)).toThrow(RangeError);
      expect(() => hw.mmioWrite(0x1000, size as 1, 0)).toThrow(RangeError);
    }
    for (const addr of [-1, 1.5, Number.NaN]) {
      expect(() => hw.ioRead(addr, 1)).toThrow(RangeError);
      expect(() => hw.mmioRead(addr, 1)).toThrow(RangeError);
    }
    expect(() => hw.ioRead(0xffffffff, 2)).toThrow(RangeError);
  });
});

describe('invalid EndpointSpec', () => {
  const base: EndpointSpec = { vendorId: 0x1af4, deviceId: 0x1000, classCode: 0x020000 };
  const withBars = (bars: (BarSpec | null)[]): EndpointSpec => ({ ...base, bars });
  const msix = (m: Partial<Extract<CapabilitySpec, { id: 'msix' }>>, bars: (BarSpec | null)[] = [{ kind: 'mem32', size: 0x1000 }]): EndpointSpec => ({
    ...base,
    bars,
    capabilities: [{ id: 'msix', vectors: 16, tableBar: 0, tableOffset: 0, pbaBar: 0, pbaOffset: 0x800, ...m }],
  });

  const cases: [string, EndpointSpec, RegExp][] = [
    ['BAR size not a power of two', withBars([{ kind: 'mem32', size: 0x3000 }]), /bars\[0\]\.size/],
    ['mem32 BAR below 16 bytes', withBars([null, { kind: 'mem32', size: 8 }]), /bars\[1\]\.size/],
    ['mem64 BAR below 16 bytes', withBars([{ kind: 'mem64', size: 8 }, null]), /bars\[0\]\.size/],
    ['io BAR below 4 bytes', withBars([null, null, { kind: 'io', size: 2 }]), /bars\[2\]\.size/],
    ['io BAR above 256 bytes', withBars([{ kind: 'io', size: 512 }]), /bars\[0\]\.size/],
    ['mem32 BAR above 2 GiB', withBars([{ kind: 'mem32', size: 2 ** 32 }]), /bars\[0\]\.size/],
    ['mem64 BAR whose next slot is used', withBars([null, null, { kind: 'mem64', size: 0x1000 }, { kind: 'mem32', size: 0x1000 }]), /bars\[3\]/],
    ['mem64 BAR in BAR5', withBars([null, null, null, null, null, { kind: 'mem64', size: 0x1000 }]), /bars\[5\]/],
    ['more than six BARs', withBars([null, null, null, null, null, null, { kind: 'mem32', size: 16 }]), /bars/],
    ['unknown BAR kind', withBars([{ kind: 'mem16' as 'mem32', size: 16 }]), /bars\[0\]\.kind/],
    [
      'a PCIe capability that does not fit',
      { ...base, capabilities: [{ id: 'vendor', length: 0xa0 }, { id: 'pcie' }] },
      /capabilities\[1\].*overflows/,
    ],
    [
      'capabilities overflowing 0x100',
      { ...base, capabilities: [{ id: 'pcie' }, { id: 'vendor', length: 0xc0 }] },
      /capabilities\[1\].*overflows/,
    ],
    [
      'capabilities overflowing 0x100 by one dword',
      { ...base, capabilities: [{ id: 'vendor', length: 0xc0 }, { id: 'pm' }] },
      /capabilities\[1\].*overflows/,
    ],
    ['MSI-X table outside its BAR', msix({ tableOffset: 0xf80, pbaOffset: 0x800 }), /capabilities\[0\].*table/],
    ['MSI-X table larger than its BAR', msix({ vectors: 512, pbaBar: 1 }, [{ kind: 'mem32', size: 0x1000 }, { kind: 'mem32', size: 0x1000 }]), /capabilities\[0\].*table/],
    ['MSI-X PBA outside its BAR', msix({ pbaOffset: 0x1000 }), /capabilities\[0\].*pba/i],
    ['MSI-X table and PBA overlapping', msix({ pbaOffset: 0x80 }), /capabilities\[0\].*overlap/],
    ['MSI-X table in an I/O BAR', msix({}, [{ kind: 'io', size: 256 }, { kind: 'mem32', size: 0x1000 }]), /capabilities\[0\]\.tableBar/],
    ['MSI-X table in a missing BAR', msix({ tableBar: 3 }), /capabilities\[0\]\.tableBar/],
    ['MSI-X PBA in the upper half of a mem64 BAR', msix({ pbaBar: 1 }, [{ kind: 'mem64', size: 0x1000 }, null]), /capabilities\[0\]\.pbaBar/],
    ['MSI-X table offset not 8-byte aligned', msix({ tableOffset: 4 }), /capabilities\[0\]\.tableOffset/],
    ['MSI-X with 0 vectors', msix({ vectors: 0 }), /capabilities\[0\]\.vectors/],
    ['MSI-X with 2049 vectors', msix({ vectors: 2049 }), /capabilities\[0\]\.vectors/],
    ['MSI with 3 vectors', { ...base, capabilities: [{ id: 'msi', vectors: 3 as 4 }] }, /capabilities\[0\]\.vectors/],
    ['vendor capability too short', { ...base, capabilities: [{ id: 'pm' }, { id: 'vendor', length: 2 }] }, /capabilities\[1\]\.length/],
    ['two PM capabilities', { ...base, capabilities: [{ id: 'pm' }, { id: 'pm' }] }, /capabilities\[1\]/],
    ['unknown capability', { ...base, capabilities: [{ id: 'ht' as 'pm' }] }, /capabilities\[0\]\.id/],
    ['extended capabilities without PCIe', { ...base, extendedCapabilities: [{ id: 'aer' }] }, /extendedCapabilities/],
    ['unknown extended capability', { ...base, capabilities: [{ id: 'pcie' }], extendedCapabilities: [{ id: 'ats' as 'aer' }] }, /extendedCapabilities\[0\]\.id/],
    ['DSN serial out of range', { ...base, capabilities: [{ id: 'pcie' }], extendedCapabilities: [{ id: 'dsn', serial: 1n << 64n }] }, /extendedCapabilities\[dsn\]\.serial/],
    ['vendorId 0xffff', { ...base, vendorId: 0xffff }, /vendorId/],
    ['deviceId above 16 bits', { ...base, deviceId: 0x10000 }, /deviceId/],
    ['classCode above 24 bits', { ...base, classCode: 0x1000000 }, /classCode/],
    ['interruptPin 5', { ...base, interruptPin: 5 as 4 }, /interruptPin/],
    ['romSize not a power of two', { ...base, romSize: 3000 }, /romSize/],
    ['romSize below 2 KiB', { ...base, romSize: 1024 }, /romSize/],
  ];

  it.each(cases)('%s', (_name, spec, field) => {
    const before = hw.functions().map((f) => f.bdf);
    const snap = configSnapshot(hw, BDF);
    expect(() => hw.addEndpoint(NEW, spec)).toThrow(field);
    // nothing was added, nothing existing changed, and the address is still free
    expect(hw.functions().map((f) => f.bdf)).toEqual(before);
    expect(hw.configRead(NEW, 0, 4)).toBe(0xffffffff);
    expect(configDiff(snap, configSnapshot(hw, BDF))).toEqual([]);
    expect(hw.addEndpoint(NEW, base).bdf).toBe(NEW);
  });

  it('a duplicate BDF is rejected, naming the address, and the first function survives', () => {
    const snap = configSnapshot(hw, BDF);
    expect(() => hw.addEndpoint(BDF, base)).toThrow(/0000:00:0d\.0.*already exists/);
    expect(() => hw.addEndpoint(BDF.toUpperCase(), base)).toThrow(/already exists/);
    expect(() => hw.addBridge(BDF, { secondaryBus: 3 })).toThrow(/already exists/);
    expect(configDiff(snap, configSnapshot(hw, BDF))).toEqual([]);
    expect(hw.configRead(BDF, 0, 4)).toBe(0xec201d0f);
  });

  it('malformed or unreachable addresses are rejected', () => {
    expect(() => hw.addEndpoint('0:01.0', base)).toThrow(/"0:01\.0"/); // the short "bb:dd.f" form is accepted (test/hw/bdf.test.ts)
    expect(() => hw.addEndpoint('0000:00:20.0', base)).toThrow(/device number/);
    expect(() => hw.addEndpoint('0000:00:01.8', base)).toThrow(/0000:00:01\.8/);
    expect(() => hw.addEndpoint('0000:07:00.0', base)).toThrow(/bus 07/);
    expect(() => hw.addEndpoint('0001:00:01.0', base)).toThrow(/domain/);
  });

  it('invalid bridge specs name the field', () => {
    expect(() => hw.addBridge('0000:00:1c.0', { secondaryBus: 0 })).toThrow(/secondaryBus/);
    expect(() => hw.addBridge('0000:00:1c.0', { secondaryBus: 256 })).toThrow(/secondaryBus/);
    hw.addBridge('0000:00:1c.0', { secondaryBus: 1 });
    expect(() => hw.addBridge('0000:00:1d.0', { secondaryBus: 1 })).toThrow(/secondaryBus 1/);
    expect(hw.configRead('0000:00:1d.0', 0, 4)).toBe(0xffffffff);
  });
});
