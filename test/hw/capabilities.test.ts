// Capability lists: the standard list from the Capabilities Pointer (0x34) and Status.CapList, and
// the extended list from 0x100, in the order the spec array gives.
import { beforeAll, describe, expect, it } from 'vitest';
import type { CapabilitySpec, EndpointSpec, ExtCapabilitySpec, Hardware } from '../../src/index.js';
import { pcieEndpointSpec } from '../fixtures/configSpace.js';
import { freshEndpoint, newHardware, walkCapabilities, walkExtCapabilities } from './helpers.js';

const BDF = '0000:00:06.0';
const CAP_ID: Record<CapabilitySpec['id'], number> = { pm: 0x01, msi: 0x05, vendor: 0x09, pcie: 0x10, msix: 0x11 };
const EXT_ID: Record<ExtCapabilitySpec['id'], [number, number]> = { aer: [0x0001, 2], dsn: [0x0003, 1] };

const msix: CapabilitySpec = { id: 'msix', vectors: 8, tableBar: 0, tableOffset: 0, pbaBar: 0, pbaOffset: 0x800 };
const spec = (capabilities: CapabilitySpec[], extendedCapabilities: ExtCapabilitySpec[] = []): EndpointSpec => ({
  vendorId: 0x1af4,
  deviceId: 0x1041,
  classCode: 0x020000,
  bars: [{ kind: 'mem32', size: 0x1000 }],
  capabilities,
  extendedCapabilities,
});

let hw: Hardware;
beforeAll(async () => {
  hw = await newHardware();
});
const read = (off: number, size: 1 | 2 | 4) => hw.configRead(BDF, off, size);

describe('standard capability list', () => {
  const orders: CapabilitySpec[][] = [
    [{ id: 'pm' }, { id: 'msi', vectors: 4, is64: true, perVectorMask: true }, msix, { id: 'pcie' }, { id: 'vendor', length: 0x10 }],
    [{ id: 'vendor', length: 5 }, { id: 'pcie', flr: true }, msix, { id: 'msi', vectors: 1 }, { id: 'pm' }],
    [{ id: 'msi', vectors: 32, perVectorMask: true }, { id: 'vendor', length: 3 }, { id: 'vendor', length: 0x21 }, { id: 'pm' }],
    [msix],
  ];
  it.each(orders.map((caps) => ({ caps, ids: caps.map((c) => c.id).join(', ') })))('chain order = array order: $ids', ({ caps }) => {
    freshEndpoint(hw, BDF, spec(caps));
    const chain = walkCapabilities(read);
    expect(chain.map(([, id]) => id)).toEqual(caps.map((c) => CAP_ID[c.id]));
    // first one at 0x40, pointers dword aligned, inside the 256-byte header space, ascending, no overlap
    expect(chain[0][0]).toBe(0x40);
    for (let i = 0; i < chain.length; i++) {
      const [off] = chain[i];
      expect(off & 3, `cap ${i} alignment`).toBe(0);
      expect(off).toBeGreaterThanOrEqual(0x40);
      expect(off).toBeLessThan(0x100);
      if (i > 0) expect(off).toBeGreaterThan(chain[i - 1][0]);
    }
    expect(read(0x06, 2) & 0x10, 'Status.CapList').toBe(0x10);
    // the pointer registers are read-only
    hw.configWrite(BDF, 0x34, 1, 0x80);
    for (const [off] of chain) hw.configWrite(BDF, off, 2, 0xffff);
    expect(walkCapabilities(read)).toEqual(chain);
  });

  it('vendor capability length decides where the next one starts (dword aligned)', () => {
    freshEndpoint(hw, BDF, spec([{ id: 'vendor', length: 5 }, { id: 'pm' }, { id: 'vendor', length: 0x13 }, { id: 'msi', vectors: 2 }]));
    expect(walkCapabilities(read)).toEqual([
      [0x40, 0x09],
      [0x48, 0x01],
      [0x50, 0x09],
      [0x64, 0x05],
    ]);
    expect(read(0x42, 1)).toBe(5);
    expect(read(0x52, 1)).toBe(0x13);
  });

  it('no capabilities: pointer 0 and Status.CapList clear', () => {
    freshEndpoint(hw, BDF, spec([]));
    expect(read(0x34, 1)).toBe(0);
    expect(read(0x06, 2) & 0x10).toBe(0);
    expect(walkCapabilities(read)).toEqual([]);
  });

  it('the low two bits of the Capabilities Pointer read 0 and ignore writes', () => {
    freshEndpoint(hw, BDF, spec([{ id: 'pm' }]));
    hw.configWrite(BDF, 0x34, 4, 0xffffffff);
    expect(read(0x34, 4)).toBe(0x40);
  });
});

describe('extended capability list', () => {
  const cases: ExtCapabilitySpec[][] = [
    [{ id: 'aer' }, { id: 'dsn', serial: 1n }],
    [{ id: 'dsn', serial: 0xffffffffffffffffn }, { id: 'aer' }],
    [{ id: 'aer' }],
    [{ id: 'dsn', serial: 0x0123456789abcdefn }],
  ];
  it.each(cases.map((ext) => ({ ext, ids: ext.map((c) => c.id).join(', ') })))('starts at 0x100, order = array order: $ids', ({ ext }) => {
    freshEndpoint(hw, BDF, spec([{ id: 'pcie' }], ext));
    const chain = walkExtCapabilities(read);
    expect(chain.map(([, id, ver]) => [id, ver])).toEqual(ext.map((c) => EXT_ID[c.id]));
    expect(chain[0][0]).toBe(0x100);
    for (let i = 0; i < chain.length; i++) {
      const [off] = chain[i];
      expect(off & 3).toBe(0);
      expect(off).toBeLessThan(0x1000);
      if (i > 0) expect(off).toBeGreaterThan(chain[i - 1][0]);
    }
    // DSN carries its serial, low dword first
    for (let i = 0; i < ext.length; i++) {
      const c = ext[i];
      if (c.id !== 'dsn') continue;
      const off = chain[i][0];
      const serial = (BigInt(read(off + 8, 4)) << 32n) | BigInt(read(off + 4, 4));
      expect(serial).toBe(c.serial);
    }
    // headers are read-only
    for (const [off] of chain) hw.configWrite(BDF, off, 4, 0);
    expect(walkExtCapabilities(read)).toEqual(chain);
  });

  it('a PCIe function without extended capabilities reads 0 at 0x100 (empty list)', () => {
    freshEndpoint(hw, BDF, spec([{ id: 'pcie' }]));
    expect(read(0x100, 4)).toBe(0);
    expect(walkExtCapabilities(read)).toEqual([]);
  });

  it('the golden PCIe endpoint: standard and extended chains', () => {
    freshEndpoint(hw, BDF, pcieEndpointSpec);
    expect(walkCapabilities(read)).toEqual([
      [0x40, 0x01],
      [0x48, 0x05],
      [0x60, 0x11],
      [0x6c, 0x10],
      [0xa8, 0x09],
    ]);
    expect(walkExtCapabilities(read)).toEqual([
      [0x100, 0x0001, 2],
      [0x148, 0x0003, 1],
    ]);
    // everything after the last capability is reserved: reads 0
    for (let off = 0xb8; off < 0x100; off += 4) expect(read(off, 4)).toBe(0);
    for (let off = 0x154; off < 0x1000; off += 4) expect(read(off, 4)).toBe(0);
  });
});
