// Address-space routing: port I/O and MMIO reach a BAR's handler only where the BAR is programmed,
// its decode is enabled in Command (and the ROM Enable bit for the ROM), and every bridge above
// forwards the address (bridge Command and windows). Everything else master-aborts: reads all-ones,
// writes dropped. BAR and window changes take effect at once.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DeviceModel, EndpointSpec, Hardware, PciFunction } from '../../src/index.js';
import { CMD_IO, CMD_MEM, hex, newHardware, programBar, disposeHardware } from './helpers.js';

/** A device model that records every access and answers reads with (bar << 24 | offset). */
class Recorder implements DeviceModel {
  calls: string[] = [];
  barRead(_fn: PciFunction, bar: number, offset: number, size: 1 | 2 | 4): number {
    this.calls.push(`r${bar} ${hex(offset)}/${size}`);
    const v = ((bar << 24) | offset) >>> 0;
    return size === 4 ? v : v & (size === 2 ? 0xffff : 0xff);
  }
  barWrite(_fn: PciFunction, bar: number, offset: number, size: 1 | 2 | 4, value: number): void {
    this.calls.push(`w${bar} ${hex(offset)}/${size}=${hex(value)}`);
  }
  take(): string[] {
    const c = this.calls;
    this.calls = [];
    return c;
  }
}

const EP = '0000:00:03.0';
const BR = '0000:00:1c.0';
const B = '0000:01:00.0';
const DS = '0000:01:01.0';
const C = '0000:02:00.0';

const epSpec: EndpointSpec = {
  vendorId: 0x1af4,
  deviceId: 0x1000,
  classCode: 0x020000,
  bars: [{ kind: 'io', size: 0x100 }, { kind: 'mem32', size: 0x1000 }, { kind: 'mem64', size: 0x100000, prefetchable: true }, null],
  romSize: 0x8000,
};
const bSpec: EndpointSpec = {
  vendorId: 0x8086,
  deviceId: 0x1572,
  classCode: 0x020000,
  bars: [{ kind: 'mem32', size: 0x10000 }, { kind: 'io', size: 0x20 }, { kind: 'mem64', size: 0x100000, prefetchable: true }, null],
  capabilities: [{ id: 'pcie' }],
};
const cSpec: EndpointSpec = { vendorId: 0x144d, deviceId: 0xa808, classCode: 0x010802, bars: [{ kind: 'mem32', size: 0x1000 }], capabilities: [{ id: 'pcie' }] };

let hw: Hardware;
let ep: Recorder;
let b: Recorder;
let c: Recorder;

beforeEach(async () => {
  hw = await newHardware();
  ep = new Recorder();
  b = new Recorder();
  c = new Recorder();
  hw.addFunction(EP, epSpec, ep);
  hw.addBridge(BR, { secondaryBus: 1, portType: 'pci' }); // two devices behind it
  hw.addFunction(B, bSpec, b);
  hw.addBridge(DS, { secondaryBus: 2, portType: 'downstream' });
  hw.addFunction(C, cSpec, c);
});
afterEach(() => disposeHardware(hw));

describe('a function on the root bus', () => {
  it('memory BAR: nothing before programming and enabling; then exactly one handler call per access', () => {
    expect(hw.mmioRead(0xfe000000, 4)).toBe(0xffffffff);
    programBar(hw, EP, 1, 0xfe000000);
    expect(hw.mmioRead(0xfe000000, 4), 'Memory Space off').toBe(0xffffffff);
    hw.mmioWrite(0xfe000010, 4, 1);
    expect(ep.take(), 'nothing reached the device').toEqual([]);
    hw.configWrite(EP, 0x04, 2, CMD_MEM);
    expect(hw.mmioRead(0xfe000010, 4)).toBe(0x01000010);
    expect(hw.mmioRead(0xfe000ffe, 2)).toBe(0x0ffe);
    hw.mmioWrite(0xfe000020, 1, 0xab);
    expect(ep.take()).toEqual(['r1 0x10/4', 'r1 0xffe/2', 'w1 0x20/1=0xab']);
    // past the end of the 4 KiB BAR
    expect(hw.mmioRead(0xfe001000, 4)).toBe(0xffffffff);
    expect(ep.take()).toEqual([]);
  });

  it('I/O BAR decodes with Command.IO only', () => {
    programBar(hw, EP, 0, 0xc100);
    hw.configWrite(EP, 0x04, 2, CMD_MEM);
    expect(hw.ioRead(0xc104, 2)).toBe(0xffff);
    hw.ioWrite(0xc104, 2, 7);
    expect(ep.take()).toEqual([]);
    hw.configWrite(EP, 0x04, 2, CMD_IO);
    expect(hw.ioRead(0xc1fc, 4)).toBe(0x000000fc);
    hw.ioWrite(0xc101, 1, 0x5a);
    expect(hw.ioRead(0xc200, 1), 'past the 256-byte BAR').toBe(0xff);
    expect(ep.take()).toEqual(['r0 0xfc/4', 'w0 0x1/1=0x5a']);
    // memory decode is separate: the mem BAR does not answer with IO only
    programBar(hw, EP, 1, 0xfe000000);
    expect(hw.mmioRead(0xfe000000, 4)).toBe(0xffffffff);
  });

  it('a 64-bit BAR decodes above 4 GiB', () => {
    programBar(hw, EP, 1, 0xfe000000); // out of the way: an enabled BAR at 0 decodes at 0
    programBar(hw, EP, 2, 0x4_0000_0000, true);
    hw.configWrite(EP, 0x04, 2, CMD_MEM);
    expect(hw.mmioRead(0x4_0000_0010, 4)).toBe(0x02000010);
    expect(hw.mmioRead(0x0000_0010, 4), 'not at the low alias').toBe(0xffffffff);
    hw.mmioWrite(0x4_000f_fffc, 4, 0x11223344);
    expect(ep.take()).toEqual(['r2 0x10/4', 'w2 0xffffc/4=0x11223344']);
  });

  it('moving a BAR takes effect at once; the old address master-aborts', () => {
    programBar(hw, EP, 1, 0xfe000000);
    hw.configWrite(EP, 0x04, 2, CMD_MEM);
    expect(hw.mmioRead(0xfe000008, 4)).toBe(0x01000008);
    programBar(hw, EP, 1, 0xfd800000);
    expect(hw.mmioRead(0xfe000008, 4)).toBe(0xffffffff);
    expect(hw.mmioRead(0xfd800008, 4)).toBe(0x01000008);
    // byte-wise reprogramming of the upper address byte
    hw.configWrite(EP, 0x17, 1, 0xfc);
    expect(hw.mmioRead(0xfc800008, 4)).toBe(0x01000008);
    expect(hw.mmioRead(0xfd800008, 4)).toBe(0xffffffff);
    expect(ep.take()).toEqual(['r1 0x8/4', 'r1 0x8/4', 'r1 0x8/4']);
  });

  it('expansion ROM: decodes with Memory Space and ROM Enable, serves the image, ignores writes', () => {
    hw.configWrite(EP, 0x30, 4, 0xfeb00000);
    hw.configWrite(EP, 0x04, 2, CMD_MEM);
    expect(hw.mmioRead(0xfeb00000, 2), 'ROM Enable clear').toBe(0xffff);
    hw.configWrite(EP, 0x30, 4, 0xfeb00001);
    expect(hw.mmioRead(0xfeb00000, 2), 'ROM signature').toBe(0xaa55);
    const pcir = hw.mmioRead(0xfeb00018, 2);
    expect(hw.mmioRead(0xfeb00000 + pcir, 4), '"PCIR"').toBe(0x52494350);
    expect(hw.mmioRead(0xfeb00000 + pcir + 4, 4)).toBe(0x10001af4);
    hw.mmioWrite(0xfeb00000, 2, 0);
    expect(hw.mmioRead(0xfeb00000, 2)).toBe(0xaa55);
    hw.configWrite(EP, 0x04, 2, 0);
    expect(hw.mmioRead(0xfeb00000, 2), 'Memory Space off').toBe(0xffff);
    expect(ep.take(), 'ROM accesses never reach the BAR handlers').toEqual([]);
  });
});

describe('through bridges', () => {
  function enableB(): void {
    programBar(hw, B, 0, 0xc0000000);
    programBar(hw, B, 1, 0x2040);
    programBar(hw, B, 2, 0x4_0000_0000, true);
    hw.configWrite(B, 0x04, 2, CMD_MEM | CMD_IO);
  }
  const memWindow = (bdf: string, base: number, limit: number) => hw.configWrite(bdf, 0x20, 4, ((limit >>> 16) << 16) | (base >>> 16));

  it('the memory window and the bridge Memory Space bit both gate forwarding', () => {
    enableB();
    expect(hw.mmioRead(0xc0000000, 4), 'window closed at power-on').toBe(0xffffffff);
    memWindow(BR, 0xc0000000, 0xc00fffff);
    expect(hw.mmioRead(0xc0000000, 4), 'bridge Memory Space off').toBe(0xffffffff);
    hw.mmioWrite(0xc0000004, 4, 1);
    expect(b.take()).toEqual([]);
    hw.configWrite(BR, 0x04, 2, CMD_MEM);
    expect(hw.mmioRead(0xc000fffc, 4)).toBe(0x0000fffc);
    hw.mmioWrite(0xc0000004, 4, 2);
    expect(b.take()).toEqual(['r0 0xfffc/4', 'w0 0x4/4=0x2']);
    // the BAR moves outside the window: unreachable until the window grows
    programBar(hw, B, 0, 0xc0100000);
    expect(hw.mmioRead(0xc0100000, 4)).toBe(0xffffffff);
    memWindow(BR, 0xc0000000, 0xc01fffff);
    expect(hw.mmioRead(0xc0100000, 4)).toBe(0x00000000);
    expect(b.take()).toEqual(['r0 0x0/4']);
  });

  it('the I/O window and the bridge I/O Space bit gate port I/O', () => {
    enableB();
    hw.configWrite(BR, 0x1c, 2, 0x2121); // I/O base 0x2000, limit 0x2fff (32-bit I/O)
    hw.configWrite(BR, 0x04, 2, CMD_MEM);
    expect(hw.ioRead(0x2044, 4), 'bridge I/O Space off').toBe(0xffffffff);
    hw.configWrite(BR, 0x04, 2, CMD_IO);
    expect(hw.ioRead(0x2044, 4)).toBe(0x01000004);
    hw.ioWrite(0x205f, 1, 0x99);
    expect(b.take()).toEqual(['r1 0x4/4', 'w1 0x1f/1=0x99']);
    hw.configWrite(BR, 0x1c, 2, 0x3131); // window 0x3000-0x3fff
    expect(hw.ioRead(0x2044, 4)).toBe(0xffffffff);
    hw.ioWrite(0x2044, 4, 0);
    expect(b.take()).toEqual([]);
  });

  it('the 64-bit prefetchable window forwards above 4 GiB', () => {
    enableB();
    hw.configWrite(BR, 0x04, 2, CMD_MEM);
    hw.configWrite(BR, 0x24, 4, 0x00010001); // prefetchable base/limit low: 0x..0000_0000 - 0x..001f_ffff
    expect(hw.mmioRead(0x4_0000_0000, 4), 'upper 32 bits still 0').toBe(0xffffffff);
    hw.configWrite(BR, 0x28, 4, 4);
    hw.configWrite(BR, 0x2c, 4, 4);
    expect(hw.mmioRead(0x4_0000_0100, 4)).toBe(0x02000100);
    expect(hw.mmioRead(0x0_0000_0100, 4)).toBe(0xffffffff);
    expect(b.take()).toEqual(['r2 0x100/4']);
  });

  it('nested bridges: every window on the path must cover the address', () => {
    programBar(hw, C, 0, 0xc0080000);
    hw.configWrite(C, 0x04, 2, CMD_MEM);
    hw.configWrite(BR, 0x04, 2, CMD_MEM);
    hw.configWrite(DS, 0x04, 2, CMD_MEM);
    memWindow(DS, 0xc0000000, 0xc00fffff);
    expect(hw.mmioRead(0xc0080000, 4), 'upstream window closed').toBe(0xffffffff);
    memWindow(BR, 0xc0000000, 0xc00fffff);
    expect(hw.mmioRead(0xc0080004, 4)).toBe(0x00000004);
    hw.configWrite(DS, 0x04, 2, 0);
    expect(hw.mmioRead(0xc0080004, 4), 'downstream port Memory Space off').toBe(0xffffffff);
    hw.configWrite(DS, 0x04, 2, CMD_MEM);
    memWindow(DS, 0xc0100000, 0xc01fffff);
    expect(hw.mmioRead(0xc0080004, 4), 'downstream window moved away').toBe(0xffffffff);
    expect(c.take()).toEqual(['r0 0x4/4']);
  });
});
