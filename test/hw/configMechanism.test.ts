// Config access mechanisms over a topology with bridges: configuration mechanism #1 (CF8/CFC) and
// ECAM agree with direct configRead for every function; absent functions read all-ones and drop
// writes; config cycles follow the bus numbers programmed into the bridges; Header Type bit 7 says
// whether a device is multifunction.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cf8Address, ecamOffset, parseBdf } from '../../src/index.js';
import type { EndpointSpec, Hardware } from '../../src/index.js';
import { pcieEndpointSpec } from '../fixtures/configSpace.js';
import { configDiff, configSnapshot, disposeHardware, newHardware } from './helpers.js';

const endpoint = (deviceId: number): EndpointSpec => ({
  vendorId: 0x1b36,
  deviceId,
  classCode: 0x010802,
  interruptPin: 1,
  bars: [{ kind: 'mem32', size: 0x4000 }],
  capabilities: [{ id: 'pm' }, { id: 'msi', vectors: 4, is64: true }, { id: 'pcie' }],
  extendedCapabilities: [{ id: 'aer' }, { id: 'dsn', serial: BigInt(deviceId) }],
});

const ENDPOINTS = ['0000:00:00.0', '0000:00:02.0', '0000:00:02.1', '0000:00:02.5', '0000:01:00.0', '0000:02:00.0', '0000:02:1f.7', '0000:05:00.0'];
const BRIDGES = ['0000:00:1c.0', '0000:01:01.0', '0000:00:1d.0'];
const ALL = [...ENDPOINTS, ...BRIDGES];

let hw: Hardware;

/**
 * 00:1c.0 -> bus 1 (01:01.0 -> bus 2), 00:1d.0 -> bus 5; endpoints on every bus. Buses 1 and 2 hold
 * several devices, so their bridges are conventional PCI-to-PCI bridges (a PCIe port's link only has
 * device 0); 00:1d.0 is a PCIe root port.
 */
function build(): void {
  hw.addEndpoint('0000:00:00.0', endpoint(0x10));
  hw.addEndpoint('0000:00:02.0', endpoint(0x20));
  hw.addEndpoint('0000:00:02.1', endpoint(0x21));
  hw.addEndpoint('0000:00:02.5', endpoint(0x25));
  hw.addBridge('0000:00:1c.0', { secondaryBus: 1, portType: 'pci' });
  hw.addEndpoint('0000:01:00.0', pcieEndpointSpec);
  hw.addBridge('0000:01:01.0', { secondaryBus: 2, portType: 'pci' });
  hw.addEndpoint('0000:02:00.0', endpoint(0x200));
  hw.addEndpoint('0000:02:1f.7', endpoint(0x21f7));
  hw.addBridge('0000:00:1d.0', { secondaryBus: 5 });
  hw.addEndpoint('0000:05:00.0', endpoint(0x500));
}

beforeEach(async () => {
  hw = await newHardware();
  build();
});
afterEach(() => disposeHardware(hw));

const ecam = (bus: number, dev: number, fn: number, reg: number) => hw.ecamBase + ecamOffset(bus, dev, fn, reg);
function cf8Read(bus: number, dev: number, fn: number, reg: number, size: 1 | 2 | 4): number {
  hw.ioWrite(0xcf8, 4, cf8Address(bus, dev, fn, reg));
  return hw.ioRead(0xcfc + (reg & 3), size);
}
function cf8Write(bus: number, dev: number, fn: number, reg: number, size: 1 | 2 | 4, value: number): void {
  hw.ioWrite(0xcf8, 4, cf8Address(bus, dev, fn, reg));
  hw.ioWrite(0xcfc + (reg & 3), size, value);
}
const snapshotAll = () => new Map(ALL.map((b) => [b, configSnapshot(hw, b)]));
/** The functions whose config space differs from the snapshot, with the changed bytes. */
const changedSince = (before: Map<string, Uint8Array>) =>
  [...before].flatMap(([bdf, snap]) => configDiff(snap, configSnapshot(hw, bdf)).map((d) => `${bdf} ${d}`));

describe('CF8/CFC and ECAM agree with configRead', () => {
  it.each(ALL)('%s: every dword, and every byte and word of the header, capabilities and first extended ones', (bdf) => {
    const { bus, device, fn } = parseBdf(bdf);
    const mismatches: string[] = [];
    for (let reg = 0; reg < 0x1000; reg += 4) {
      const want = hw.configRead(bdf, reg, 4);
      if (hw.mmioRead(ecam(bus, device, fn, reg), 4) !== want) mismatches.push(`ecam ${reg}/4`);
      if (reg >= 0x160) continue;
      for (const size of [1, 2] as const) {
        for (let k = 0; k < 4; k += size) {
          const w = hw.configRead(bdf, reg + k, size);
          if (hw.mmioRead(ecam(bus, device, fn, reg + k), size) !== w) mismatches.push(`ecam ${reg + k}/${size}`);
          if (reg < 0x100 && cf8Read(bus, device, fn, reg + k, size) !== w) mismatches.push(`cf8 ${reg + k}/${size}`);
        }
      }
      if (reg < 0x100 && cf8Read(bus, device, fn, reg, 4) !== want) mismatches.push(`cf8 ${reg}/4`);
    }
    expect(mismatches).toEqual([]);
    // and the identity is the one the function was built with
    expect(hw.mmioRead(ecam(bus, device, fn, 0), 2)).toBe(hw.function(bdf)!.vendorId);
  });

  it('writes through one mechanism are seen through the others, one byte lane at a time', () => {
    const { bus, device, fn } = parseBdf('0000:02:1f.7');
    cf8Write(bus, device, fn, 0x3c, 1, 0x0b); // Interrupt Line, lane 0
    cf8Write(bus, device, fn, 0x0c, 1, 0x10); // Cache Line Size, lane 0
    hw.mmioWrite(ecam(bus, device, fn, 0x04), 2, 0x0006);
    hw.mmioWrite(ecam(bus, device, fn, 0x10), 4, 0xfe000000);
    expect(hw.configRead('0000:02:1f.7', 0x3c, 2), 'Interrupt Pin untouched').toBe(0x010b);
    expect(hw.configRead('0000:02:1f.7', 0x0c, 4)).toBe(0x00000010);
    expect(cf8Read(bus, device, fn, 0x04, 2)).toBe(0x0006);
    expect(cf8Read(bus, device, fn, 0x10, 4)).toBe(0xfe000000);
    // a byte write into lane 1 of Command changes only bits 15:8 (INTx Disable)
    cf8Write(bus, device, fn, 0x05, 1, 0x04);
    expect(hw.mmioRead(ecam(bus, device, fn, 0x04), 2)).toBe(0x0406);
  });

  it('CONFIG_ADDRESS reads back with its reserved bits 30:24 and 1:0 clear; Enable clear means no config cycle', () => {
    hw.ioWrite(0xcf8, 4, 0xff001c3f);
    expect(hw.ioRead(0xcf8, 4)).toBe(0x80001c3c);
    hw.ioWrite(0xcf8, 4, cf8Address(0, 0, 0, 0) & 0x7fffffff);
    expect(hw.ioRead(0xcfc, 4)).toBe(0xffffffff);
    const before = snapshotAll();
    hw.ioWrite(0xcf8, 4, cf8Address(0, 0, 0, 0x3c) & 0x7fffffff);
    hw.ioWrite(0xcfc, 1, 0x55);
    expect(changedSince(before)).toEqual([]);
  });

  it('the bridges present type 1 headers with the bus numbers of the topology', () => {
    expect(hw.configRead('0000:00:1c.0', 0x08, 4) >>> 8).toBe(0x060400);
    expect(hw.configRead('0000:00:1c.0', 0x0e, 1) & 0x7f).toBe(1);
    expect(hw.configRead('0000:00:1c.0', 0x18, 4) & 0xffffff).toBe(0x020100);
    expect(hw.configRead('0000:01:01.0', 0x18, 4) & 0xffffff).toBe(0x020201);
    expect(hw.configRead('0000:00:1d.0', 0x18, 4) & 0xffffff).toBe(0x050500);
  });
});

describe('absent functions', () => {
  const absent: [number, number, number][] = [
    [0, 3, 0], // empty slot on the root bus
    [0, 2, 2], // a hole in a multifunction device
    [0, 0, 1], // a single-function device's other functions
    [1, 5, 0],
    [2, 0, 1],
    [3, 0, 0], // a bus no bridge forwards
    [4, 0, 0],
    [9, 0, 0],
    [255, 31, 7],
  ];
  it.each(absent)('%d:%d.%d reads all-ones through every mechanism and width', (bus, dev, fn) => {
    for (const reg of [0, 2, 4, 0x3c, 0xfc]) {
      expect(cf8Read(bus, dev, fn, reg, 4)).toBe(0xffffffff);
      expect(cf8Read(bus, dev, fn, reg, 2)).toBe(0xffff);
      expect(cf8Read(bus, dev, fn, reg + 1, 1)).toBe(0xff);
      expect(hw.mmioRead(ecam(bus, dev, fn, reg), 4)).toBe(0xffffffff);
      expect(hw.mmioRead(ecam(bus, dev, fn, reg + 2), 2)).toBe(0xffff);
      expect(hw.mmioRead(ecam(bus, dev, fn, reg + 3), 1)).toBe(0xff);
    }
    expect(hw.mmioRead(ecam(bus, dev, fn, 0x100), 4)).toBe(0xffffffff);
    const bdf = `0000:${bus.toString(16).padStart(2, '0')}:${dev.toString(16).padStart(2, '0')}.${fn}`;
    if (bus <= 5) expect(hw.configRead(bdf, 0, 4)).toBe(0xffffffff);
  });

  it.each(absent)('%d:%d.%d drops writes: no present function changes', (bus, dev, fn) => {
    const before = snapshotAll();
    for (const reg of [0x04, 0x10, 0x3c, 0x40, 0x18]) {
      cf8Write(bus, dev, fn, reg, 4, 0xffffffff);
      hw.mmioWrite(ecam(bus, dev, fn, reg), 4, 0xffffffff);
      hw.mmioWrite(ecam(bus, dev, fn, reg + 1), 1, 0xff);
    }
    expect(changedSince(before)).toEqual([]);
  });

  it('configRead/configWrite by address of a function that does not exist', () => {
    const before = snapshotAll();
    hw.configWrite('0000:00:04.0', 0x04, 2, 0xffff);
    hw.configWrite('0000:07:00.0', 0x3c, 1, 0x12);
    expect(hw.configRead('0000:00:04.0', 0x00, 4)).toBe(0xffffffff);
    expect(hw.configRead('0000:00:04.0', 0x06, 2)).toBe(0xffff);
    expect(hw.configRead('0000:00:04.0', 0xfff, 1)).toBe(0xff);
    expect(changedSince(before)).toEqual([]);
  });
});

describe('routing follows the bridges bus-number registers', () => {
  const vendor = (bus: number, dev: number, fn: number) => hw.mmioRead(ecam(bus, dev, fn, 0), 4);
  const id = (bdf: string) => hw.configRead(bdf, 0, 4);

  it('renumbering the secondary and subordinate buses moves the functions behind the bridge', () => {
    expect(vendor(1, 0, 0)).toBe(id('0000:01:00.0'));
    expect(vendor(2, 0, 0)).toBe(id('0000:02:00.0'));
    // 00:1c.0 now forwards buses 3-4; the port below still claims bus 2 only
    hw.configWrite('0000:00:1c.0', 0x19, 1, 3);
    hw.configWrite('0000:00:1c.0', 0x1a, 1, 4);
    expect(vendor(1, 0, 0), 'old bus 1').toBe(0xffffffff);
    expect(vendor(2, 0, 0), 'bus 2 is outside 3-4 now').toBe(0xffffffff);
    expect(vendor(3, 0, 0)).toBe(id('0000:01:00.0'));
    expect(vendor(3, 1, 0)).toBe(id('0000:01:01.0'));
    expect(vendor(4, 0, 0), 'the port below still says bus 2').toBe(0xffffffff);
    hw.configWrite('0000:01:01.0', 0x18, 4, 0x00040403);
    expect(vendor(4, 0, 0)).toBe(id('0000:02:00.0'));
    expect(vendor(4, 0x1f, 7)).toBe(id('0000:02:1f.7'));
    // a subordinate below the port's bus cuts it off
    hw.configWrite('0000:00:1c.0', 0x1a, 1, 3);
    expect(vendor(4, 0, 0)).toBe(0xffffffff);
    expect(vendor(3, 0, 0)).toBe(id('0000:01:00.0'));
    // secondary bus 0 means the bridge forwards nothing
    hw.configWrite('0000:00:1c.0', 0x18, 4, 0);
    expect(vendor(3, 0, 0)).toBe(0xffffffff);
    // the other bridge was never affected
    expect(vendor(5, 0, 0)).toBe(id('0000:05:00.0'));
    // back to the original numbers
    hw.configWrite('0000:00:1c.0', 0x18, 4, 0x00020100);
    hw.configWrite('0000:01:01.0', 0x18, 4, 0x00020201);
    expect(vendor(1, 0, 0)).toBe(id('0000:01:00.0'));
    expect(vendor(2, 0x1f, 7)).toBe(id('0000:02:1f.7'));
  });

  it('writes follow the routing too', () => {
    hw.configWrite('0000:00:1d.0', 0x18, 4, 0x00080800);
    hw.mmioWrite(ecam(8, 0, 0, 0x3c), 1, 0x42);
    cf8Write(5, 0, 0, 0x3c, 1, 0x43); // bus 5 is gone: dropped
    expect(hw.configRead('0000:05:00.0', 0x3c, 1)).toBe(0x42);
  });
});

describe('multifunction devices (Header Type bit 7)', () => {
  const ht = (bus: number, dev: number, fn: number) => cf8Read(bus, dev, fn, 0x0e, 1);

  it('is set on function 0 of a device with other functions and clear otherwise', () => {
    expect(ht(0, 2, 0)).toBe(0x80);
    expect(ht(0, 0, 0)).toBe(0x00);
    expect(ht(2, 0, 0)).toBe(0x00);
    expect(ht(0, 0x1c, 0), 'single-function bridge').toBe(0x01);
    expect(hw.mmioRead(ecam(0, 2, 0, 0x0c), 4) >>> 16).toBe(0x0080);
  });

  it('follows functions being added and removed, and is read-only', () => {
    hw.addEndpoint('0000:00:00.3', endpoint(0x13));
    expect(ht(0, 0, 0)).toBe(0x80);
    hw.configWrite('0000:00:00.0', 0x0e, 1, 0x00);
    expect(ht(0, 0, 0)).toBe(0x80);
    hw.removeFunction('0000:00:00.3');
    expect(ht(0, 0, 0)).toBe(0x00);
    expect(cf8Read(0, 0, 3, 0, 4)).toBe(0xffffffff);
    hw.addEndpoint('0000:00:1c.4', endpoint(0x1c4));
    expect(ht(0, 0x1c, 0), 'bridge with a sibling function').toBe(0x81);
  });
});
