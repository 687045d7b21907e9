import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { L } from '../../src/core/wasm.js';
import { createEmulator } from '../../src/emulator.js';
import type { Emulator } from '../../src/emulator.js';
import { buildAer } from '../../src/hw/capabilities/aer.js';
import { buildDsn } from '../../src/hw/capabilities/dsn.js';
import type { ConfigBuilder } from '../../src/hw/configBuilder.js';
import { GenericEndpoint } from '../../src/hw/devices/genericEndpoint.js';
import type { PciFunction } from '../../src/hw/pciFunction.js';
import type { EndpointSpec } from '../../src/hw/spec.js';
import type { VfioConfigHooks, VfioIrqType } from '../../src/host/vfio/pciCore/config/hooks.js';
import { VfioConfig } from '../../src/host/vfio/pciCore/config/vfioConfig.js';
import type { VfioConfigOptions } from '../../src/host/vfio/pciCore/config/vfioConfig.js';
import { VfioError } from '../../src/host/vfio/vfioError.js';

// ---- golden perm bits (hand-written from the kernel's tables) -------------------------------

type Row = [number, number, string, string];
interface GoldenTable {
  length: number;
  source: string;
  registers: Row[];
  handlers: [number, number, string][];
  pairs: Row[];
}
const golden = JSON.parse(readFileSync(new URL('../fixtures/vfioPermBits.json', import.meta.url), 'utf8')) as {
  tables: Record<string, GoldenTable>;
};

const HANDLER_EVENT: Record<string, number> = {
  command: L.VEV_COMMAND,
  intx: L.VEV_INTX,
  bar: L.VEV_BAR,
  pm: L.VEV_PM,
  msi: L.VEV_MSI,
  pcie: L.VEV_PCIE,
  af: L.VEV_AF,
};

// ---- building functions ---------------------------------------------------------------------

interface Recorder {
  calls: string[];
  hooks: VfioConfigHooks;
  irq: VfioIrqType;
}

function recorder(irq: VfioIrqType = 'none'): Recorder {
  const r: Recorder = {
    calls: [],
    irq,
    hooks: {
      intxMask: (m) => r.calls.push(`intx:${m}`),
      irqType: () => r.irq,
      setPowerState: (s) => r.calls.push(`pm:${s}`),
      flr: () => r.calls.push('flr'),
    },
  };
  return r;
}

function open(fn: PciFunction, rec = recorder(), opts: Partial<VfioConfigOptions> = {}): VfioConfig {
  const vc = new VfioConfig(fn, { isVirtfn: false, hooks: rec.hooks, ...opts });
  vc.init();
  return vc;
}

/** Writes addresses into BARs as the host's resource assignment would (0 = leave unassigned). */
function assign(emu: Emulator, fn: PciFunction, bars: Record<number, number>): void {
  for (const [reg, v] of Object.entries(bars)) emu.hw.configWrite(fn.bdf, Number(reg), 4, v);
}

/**
 * Function A, a PCI Express endpoint: pm 0x40, msi (64-bit, per-vector mask) 0x48, msix 0x60,
 * pcie 0x6c (0x3c bytes in hardware, 0x34 for vfio), vendor (5 bytes) 0xa8; aer 0x100, dsn 0x148.
 * BAR0 mem32 4K, BAR1/2 mem64 prefetchable 16K, BAR3 io 32, BAR4 mem32 256 left unassigned, ROM 32K.
 */
const SPEC_A: EndpointSpec = {
  vendorId: 0x8086,
  deviceId: 0x1234,
  classCode: 0x020000,
  interruptPin: 1,
  bars: [
    { kind: 'mem32', size: 0x1000 },
    { kind: 'mem64', size: 0x4000, prefetchable: true },
    null,
    { kind: 'io', size: 32 },
    { kind: 'mem32', size: 0x100 },
  ],
  romSize: 0x8000,
  capabilities: [
    { id: 'pm' },
    { id: 'msi', vectors: 4, is64: true, perVectorMask: true },
    { id: 'msix', vectors: 8, tableBar: 0, tableOffset: 0, pbaBar: 0, pbaOffset: 0x800 },
    { id: 'pcie', flr: true },
    { id: 'vendor', length: 5 },
  ],
  extendedCapabilities: [{ id: 'aer' }, { id: 'dsn', serial: 0x1122334455667788n }],
};

const A = { pm: 0x40, msi: 0x48, msix: 0x60, pcie: 0x6c, vendor: 0xa8, aer: 0x100, dsn: 0x148 };
const BAR0 = 0xe0000000;
const BAR1 = 0xe0100000;
const IO3 = 0x2000;
const ROM = 0xe0200000;

async function deviceA(rec = recorder(), opts: Partial<VfioConfigOptions> = {}) {
  const emu = await createEmulator();
  const fn = emu.hw.addEndpoint('0000:00:01.0', SPEC_A);
  assign(emu, fn, { 0x10: BAR0, 0x14: BAR1, 0x18: 0x1, 0x1c: IO3, 0x30: ROM });
  const vc = open(fn, rec, opts);
  return { emu, fn, vc, rec };
}

/** A function built with `extra` config (capabilities the EndpointSpec cannot describe). */
async function custom(spec: EndpointSpec, extra: (b: ConfigBuilder) => void, bdf = '0000:00:05.0') {
  const emu = await createEmulator();
  const fn = emu.hw.addFunction(bdf, spec, new GenericEndpoint(), (b) => extra(b));
  return { emu, fn };
}

const PLAIN: EndpointSpec = { vendorId: 0x1af4, deviceId: 0x1000, classCode: 0xff0000 };
const PCIE_ONLY: EndpointSpec = { ...PLAIN, capabilities: [{ id: 'pcie' }] };

/**
 * Function E (PCIe): pcie 0x40; vpd 0x7c; SLOTID (hidden) 0x84; PCI-X v0 0x88; AF 0x90; EA (hidden)
 * 0x98; CHSWP (hidden) 0xa0. Extended: PWR 0x100; DPC (hidden) 0x110; vendor (16) 0x120;
 * DVSEC (12) 0x130; RCLD (hidden) 0x13c.
 */
async function deviceE() {
  const { emu, fn } = await custom(PCIE_ONLY, (b) => {
    const vpd = b.addCapability(0x03, 8, 'vpd');
    b.reg(vpd + 2, 2, 0, 0xffff);
    b.reg(vpd + 4, 4, 0, 0xffffffff);
    const slot = b.addCapability(0x04, 4, 'slotid');
    b.reg(slot + 2, 2, 0x5a5a, 0xffff);
    const pcix = b.addCapability(0x07, 8, 'pcix');
    b.reg(pcix + 2, 2, 0, 0x007f);
    b.reg(pcix + 4, 4, 0x00010008);
    const af = b.addCapability(0x13, 6, 'af');
    b.reg(af + 2, 1, 6);
    b.reg(af + 3, 1, 0x03);
    b.reg(af + 4, 1, 0, 0x01);
    const ea = b.addCapability(0x14, 8, 'ea');
    b.reg(ea + 4, 4, 0xdeadbeef, 0xffffffff);
    b.addCapability(0x06, 4, 'chswp');
    const pwr = b.addExtCapability(0x04, 1, 16, 'pwr');
    b.reg(pwr + 4, 1, 0, 0xff);
    b.reg(pwr + 8, 4, 0x1234);
    const dpc = b.addExtCapability(0x1d, 1, 16, 'dpc');
    b.reg(dpc + 4, 4, 0x77, 0xffffffff);
    const vsec = b.addExtCapability(0x0b, 1, 16, 'vsec');
    b.reg(vsec + 4, 4, (16 << 20) | (1 << 16) | 0x0042);
    b.reg(vsec + 8, 4, 0, 0xffffffff);
    const dvsec = b.addExtCapability(0x23, 1, 12, 'dvsec');
    b.reg(dvsec + 4, 4, (12 << 20) | (1 << 16) | 0x1e98);
    b.reg(dvsec + 8, 2, 0x0007, 0);
    b.reg(dvsec + 10, 2, 0, 0xffff);
    b.addExtCapability(0x05, 1, 8, 'rcld');
  });
  return { emu, fn };
}
const E = { pcie: 0x40, vpd: 0x7c, slotid: 0x84, pcix: 0x88, af: 0x90, ea: 0x98, chswp: 0xa0, pwr: 0x100, dpc: 0x110, vsec: 0x120, dvsec: 0x130, rcld: 0x13c };

/** Bytes at `off` of a vfio area (L.VIRT, L.UWRITE, ...) of the function's vfio block. */
function vfioBytes(fn: PciFunction, area: number, off: number, size: number): number {
  const at = fn.mem.vfioBase(fn.slot) + area + off;
  let v = 0;
  for (let i = size - 1; i >= 0; i--) v = v * 256 + fn.mem.u8[at + i];
  return v;
}

const hex = (n: number) => '0x' + (n >>> 0).toString(16);

// ---- the tests ------------------------------------------------------------------------------

describe('golden perm bits', () => {
  it('every fixture pair agrees with the fixture registers (the fixture is self-consistent)', () => {
    for (const [name, t] of Object.entries(golden.tables)) {
      const virt = new Uint8Array(t.length);
      const write = new Uint8Array(t.length);
      for (const [off, size, v, w] of t.registers) {
        for (let i = 0; i < size; i++) {
          virt[off + i] = Math.floor(Number(v) / 2 ** (8 * i)) & 0xff;
          write[off + i] = Math.floor(Number(w) / 2 ** (8 * i)) & 0xff;
        }
      }
      let n = 0;
      for (const [off, size, v, w] of t.pairs) {
        let ev = 0;
        let ew = 0;
        for (let i = size - 1; i >= 0; i--) {
          ev = ev * 256 + virt[off + i];
          ew = ew * 256 + write[off + i];
        }
        expect([name, off, size, Number(v), Number(w)]).toEqual([name, off, size, ev, ew]);
        n++;
      }
      // 1-, 2- and 4-byte pairs over the whole length
      expect(n, name).toBe(t.length + Math.floor(t.length / 2) + Math.floor(t.length / 4));
    }
  });

  async function placements(): Promise<[string, PciFunction, number][]> {
    const a = await deviceA();
    const e = await deviceE();
    const b = await custom({ ...PLAIN, capabilities: [{ id: 'msi', vectors: 2 }, { id: 'vendor', length: 8 }] }, () => {});
    const c = await custom({ ...PLAIN, capabilities: [{ id: 'msi', vectors: 8, perVectorMask: true }] }, () => {});
    const d = await custom({ ...PLAIN, capabilities: [{ id: 'msi', vectors: 1, is64: true }, { id: 'pcie' }] }, () => {});
    const i = await custom(PLAIN, (bb) => {
      const x = bb.addCapability(0x07, 24, 'pcix1');
      bb.reg(x + 2, 2, 0x1000, 0x007f);
      bb.reg(x + 8, 4, 0, 0xffffffff);
    });
    for (const f of [b.fn, c.fn, d.fn, e.fn, i.fn]) open(f);
    return [
      ['header', a.fn, 0],
      ['pm', a.fn, A.pm],
      ['msi64mask', a.fn, A.msi],
      ['msix', a.fn, A.msix],
      ['pcie', a.fn, A.pcie],
      ['vendor5', a.fn, A.vendor],
      ['aer', a.fn, A.aer],
      ['dsn', a.fn, A.dsn],
      ['msi32', b.fn, 0x40],
      ['vendor8', b.fn, 0x4c],
      ['msi32mask', c.fn, 0x40],
      ['msi64', d.fn, 0x40],
      ['vpd', e.fn, E.vpd],
      ['pcix0', e.fn, E.pcix],
      ['af', e.fn, E.af],
      ['pwr', e.fn, E.pwr],
      ['vendorExt16', e.fn, E.vsec],
      ['dvsec12', e.fn, E.dvsec],
      ['pcix1', i.fn, 0x40],
    ];
  }

  it('the slot holds the kernel virt and write masks for every aligned (offset, size) of every table', async () => {
    const places = await placements();
    expect(new Set(places.map((p) => p[0]))).toEqual(new Set(Object.keys(golden.tables)));
    for (const [name, fn, base] of places) {
      for (const [off, size, v, w] of golden.tables[name].pairs) {
        const at = `${name}+${off}/${size}`;
        expect(hex(vfioBytes(fn, L.VIRT, base + off, size)), `${at} virt`).toBe(hex(Number(v)));
        expect(hex(vfioBytes(fn, L.UWRITE, base + off, size)), `${at} write`).toBe(hex(Number(w)));
      }
    }
  });

  it('writefn bytes are exactly the handler bytes of the fixture', async () => {
    for (const [name, fn, base] of await placements()) {
      const t = golden.tables[name];
      const want = new Uint8Array(t.length);
      for (const [off, n, h] of t.handlers) for (let i = 0; i < n; i++) want[off + i] |= HANDLER_EVENT[h];
      for (let i = 0; i < t.length; i++) expect(vfioBytes(fn, L.VEVMAP, base + i, 1), `${name}+${i}`).toBe(want[i]);
    }
  });

  it('bytes outside every capability are raw: hardware reads, every bit writable', async () => {
    const { fn, vc } = await deviceA();
    // MSI-X ends at 0x6c exactly; vendor (5 bytes at 0xa8) leaves 0xad-0xaf; PCIe's hardware tail
    // 0xa0-0xa7 is past vfio's 0x34 bytes; AER's root port registers 0x12c-0x147 are past 0x2c
    for (const off of [0xa0, 0xa4, 0xa7, 0xad, 0xae, 0xaf, 0xb0, 0xfc, 0x12c, 0x140, 0x154, 0xffc]) {
      expect(vc.map[off], hex(off)).toBe(0xff);
      expect(vfioBytes(fn, L.VIRT, off, 1)).toBe(0);
      expect(vfioBytes(fn, L.UWRITE, off, 1)).toBe(0xff);
    }
  });
});

describe('read merge and write split', () => {
  it('every aligned read is (hardware & ~virt) | (vconfig & virt)', async () => {
    const { fn, vc } = await deviceA();
    // scribble vconfig so that both sources differ everywhere
    const mem = fn.mem;
    const vb = mem.vfioBase(fn.slot);
    for (let i = 0; i < 0x1000; i++) mem.u8[vb + L.VCONFIG + i] ^= (i * 37 + 11) & 0xff;
    for (const size of [1, 2, 4] as const) {
      for (let off = 0; off + size <= vc.size; off += size) {
        let want = 0;
        for (let i = size - 1; i >= 0; i--) {
          const b = off + i;
          const v = mem.u8[vb + L.VIRT + b];
          want = want * 256 + ((mem.u8[fn.base + L.CFG + b] & ~v) | (mem.u8[vb + L.VCONFIG + b] & v));
        }
        if (vc.read(off, size) !== want) expect([off, size, hex(vc.read(off, size))]).toEqual([off, size, hex(want)]);
      }
    }
  });

  it('writable virtual bits go to vconfig, writable real bits to hardware, the rest is dropped', async () => {
    const { fn, vc } = await deviceA();
    // Interrupt Line: virtual and writable
    vc.write(0x3c, 1, 0x5a);
    expect(vc.read(0x3c, 1)).toBe(0x5a);
    expect(fn.configRead(0x3c, 1)).toBe(0);
    // Cache Line Size: real and writable
    vc.write(0x0c, 1, 0x10);
    expect(fn.configRead(0x0c, 1)).toBe(0x10);
    // Interrupt Pin, Class, Capabilities Pointer: dropped
    vc.write(0x3d, 1, 4);
    vc.write(0x08, 4, 0xffffffff);
    vc.write(0x34, 1, 0x80);
    expect(vc.read(0x3d, 1)).toBe(1);
    expect(vc.read(0x08, 4)).toBe(0x02000000);
    expect(vc.read(0x34, 1)).toBe(0x40);
    // MSI address: virtual; the hardware MSI address is the host's business
    vc.write(A.msi + 4, 4, 0xfee00000);
    expect(vc.read(A.msi + 4, 4)).toBe(0xfee00000);
    expect(fn.configRead(A.msi + 4, 4)).toBe(0);
    // MSI mask bits: hardware
    vc.write(A.msi + 16, 4, 0x5);
    expect(fn.configRead(A.msi + 16, 4)).toBe(0x5);
    // AER uncorrectable mask: only the kernel's bits reach hardware (bit 22 internal error is one, bit 26 is not)
    vc.write(A.aer + 8, 4, 0xffffffff);
    expect(fn.configRead(A.aer + 8, 4)).toBe(0x007ff010 & 0x03fff031);
    // DSN and MSI-X: read-only to the user
    vc.write(A.dsn + 4, 4, 0);
    vc.write(A.msix + 2, 2, 0xc000);
    expect(vc.read(A.dsn + 4, 4)).toBe(0x55667788);
    expect(fn.configRead(A.msix + 2, 2) & 0xc000).toBe(0);
  });

  it('a real-bit write is a read-modify-write of the whole piece, so set RW1C bits beside it clear (as in the kernel)', async () => {
    const { fn, vc } = await deviceA();
    fn.signalStatus(0x2000); // Received Master Abort
    vc.write(4, 2, 0x0002); // Command only: Status untouched
    expect(fn.configRead(6, 2) & 0x2000).toBe(0x2000);
    vc.write(4, 4, 0x0002); // the dword: Status is not user-writable, but its current value is written back
    expect(fn.configRead(6, 2) & 0x2000).toBe(0);
  });

  it('hardware writes reach the function side effects with the merged value', async () => {
    const { emu, fn, vc } = await deviceA();
    expect(emu.hw.decodedRanges('mem').length).toBe(0);
    vc.write(4, 2, 0x0002); // MEM on: the host-assigned (real) BARs decode
    const ranges = emu.hw.decodedRanges('mem').map((r) => r.base);
    expect(ranges).toContain(BAR0);
    expect(ranges).toContain(0x1e0100000);
    void fn;
  });

  it('rejects bad pieces with the errno the uapi uses', async () => {
    const { vc } = await deviceA();
    expect(() => vc.read(2, 4)).toThrow(VfioError);
    expect(() => vc.read(4096, 1)).toThrowError(/EFAULT/);
    expect(() => vc.read(1, 2)).toThrowError(/EINVAL/);
    expect(() => vc.write(0, 3 as 4, 0)).toThrowError(/EINVAL/);
    const b = await custom({ ...PLAIN, capabilities: [{ id: 'msi', vectors: 1 }] }, () => {});
    const cv = open(b.fn);
    expect(cv.size).toBe(256);
    expect(() => cv.read(0x100, 4)).toThrowError(/EFAULT/);
    // not initialised yet, and not a type 0 function
    const fresh = new VfioConfig(b.fn, { isVirtfn: false, hooks: recorder().hooks });
    expect(() => fresh.read(0, 4)).toThrowError(/EIO/);
    const br = b.emu.hw.addBridge('0000:00:1e.0', { secondaryBus: 1 });
    expect(() => new VfioConfig(br, { isVirtfn: false, hooks: recorder().hooks })).toThrowError(/EINVAL/);
  });
});

describe('BAR virtualization', () => {
  it('sizes BARs through vconfig: ~(size-1) | flags, 64-bit upper half, I/O, ROM with enable', async () => {
    const { fn, vc } = await deviceA();
    expect(vc.read(0x10, 4)).toBe(BAR0);
    expect(vc.read(0x14, 4)).toBe((BAR1 | 0xc) >>> 0);
    expect(vc.read(0x18, 4)).toBe(1);
    expect(vc.read(0x1c, 4)).toBe(IO3 | 1);
    expect(vc.read(0x30, 4)).toBe(ROM);
    for (const reg of [0x10, 0x14, 0x18, 0x1c, 0x20, 0x24, 0x30]) vc.write(reg, 4, 0xffffffff);
    expect(hex(vc.read(0x10, 4))).toBe(hex(0xfffff000));
    expect(hex(vc.read(0x14, 4))).toBe(hex(0xffffc00c));
    expect(hex(vc.read(0x18, 4))).toBe(hex(0xffffffff));
    expect(hex(vc.read(0x1c, 4))).toBe(hex(0xffffffe1));
    expect(vc.read(0x20, 4)).toBe(0); // unassigned by the host: unimplemented to the user
    expect(vc.read(0x24, 4)).toBe(0);
    expect(hex(vc.read(0x30, 4))).toBe(hex(0xffff8001));
    vc.write(0x30, 4, 0xfffffffe);
    expect(hex(vc.read(0x30, 4))).toBe(hex(0xffff8000));
    // the user's addresses stay virtual
    vc.write(0x10, 4, 0x12345678);
    expect(hex(vc.read(0x10, 4))).toBe(hex(0x12345000));
    expect(fn.configRead(0x10, 4)).toBe(BAR0);
    expect(fn.configRead(0x14, 4)).toBe((BAR1 | 0xc) >>> 0);
    expect(fn.configRead(0x30, 4)).toBe(ROM);
  });

  it('byte-wise sizing gives the same answer as a dword write', async () => {
    const { vc } = await deviceA();
    for (let i = 0; i < 4; i++) vc.write(0x10 + i, 1, 0xff);
    expect(hex(vc.read(0x10, 4))).toBe(hex(0xfffff000));
    vc.write(0x1c, 2, 0xffff);
    expect(hex(vc.read(0x1c, 4))).toBe(hex((IO3 & 0xffff0000) | 0xffe1));
  });

  it('a 64-bit BAR larger than 4 GiB sizes its upper half', async () => {
    const emu = await createEmulator();
    const fn = emu.hw.addEndpoint('0000:00:02.0', { ...PLAIN, bars: [{ kind: 'mem64', size: 2 ** 34 }] });
    assign(emu, fn, { 0x10: 0, 0x14: 0x10 });
    const vc = open(fn);
    expect(hex(vc.read(0x10, 4))).toBe(hex(0x4));
    vc.write(0x10, 4, 0xffffffff);
    vc.write(0x14, 4, 0xffffffff);
    expect(hex(vc.read(0x10, 4))).toBe(hex(0x4));
    expect(hex(vc.read(0x14, 4))).toBe(hex(0xfffffffc));
  });

  it('an unassigned ROM and unimplemented BARs read 0', async () => {
    const emu = await createEmulator();
    const fn = emu.hw.addEndpoint('0000:00:02.0', { ...PLAIN, bars: [{ kind: 'mem32', size: 0x100 }], romSize: 0x800 });
    const vc = open(fn);
    for (const reg of [0x10, 0x14, 0x30]) {
      vc.write(reg, 4, 0xffffffff);
      expect(vc.read(reg, 4)).toBe(0);
    }
  });

  it('host resources given by the PCI core win over the registers', async () => {
    const emu = await createEmulator();
    const fn = emu.hw.addEndpoint('0000:00:02.0', { ...PLAIN, bars: [{ kind: 'mem32', size: 0x100 }] });
    const vc = open(fn, recorder(), {
      resources: [{ kind: 'mem', size: 0x100, is64: false, prefetch: true, start: 0xf0000000 }, null, null, null, null, null, null],
    });
    vc.write(0x10, 4, 0xffffffff);
    expect(hex(vc.read(0x10, 4))).toBe(hex(0xffffff08));
  });

  it('restores the real BARs after a reset the host did not see, on the next Command write', async () => {
    const { fn, vc } = await deviceA();
    vc.write(4, 2, 0x0003); // MEM | IO, remembered in vconfig
    expect(vc.needBarRestore()).toBe(false);
    fn.reset('flr'); // behind vfio's back: BARs and Command back to 0
    expect(fn.configRead(0x10, 4)).toBe(0);
    expect(vc.needBarRestore()).toBe(true);
    vc.write(4, 2, 0x0003);
    expect(fn.configRead(0x10, 4)).toBe(BAR0);
    expect(fn.configRead(0x14, 4)).toBe((BAR1 | 0xc) >>> 0);
    expect(fn.configRead(0x18, 4)).toBe(1);
    expect(fn.configRead(0x1c, 4)).toBe(IO3 | 1);
    expect(fn.configRead(0x30, 4)).toBe(ROM);
    expect(fn.configRead(4, 2) & 3).toBe(3);
    expect(vc.needBarRestore()).toBe(false);
  });

  it('with nointx, BAR restore keeps INTx Disable set in hardware', async () => {
    const { fn, vc } = await deviceA(recorder(), { nointx: true });
    expect(vc.read(0x3d, 1)).toBe(0); // pin hidden
    fn.reset('flr');
    vc.barRestore();
    expect(fn.configRead(4, 2) & 0x400).toBe(0x400);
  });
});

describe('rw() chunking', () => {
  /** The kernel's loop, written out independently: cut at the map's dword-local run, then 4/2/1. */
  function reference(map: Uint8Array, pos: number, count: number): [number, number][] {
    const out: [number, number][] = [];
    while (count > 0) {
      let same = 1;
      while ((pos + same) & 3 && map[pos + same] === map[pos]) same++;
      const c = Math.min(count, same);
      const n = c >= 4 && (pos & 3) === 0 ? 4 : c >= 2 && (pos & 1) === 0 ? 2 : 1;
      out.push([pos, n]);
      pos += n;
      count -= n;
    }
    return out;
  }

  it('splits every (offset, length 1..8) read exactly as the kernel and returns the same bytes', async () => {
    const { vc } = await deviceA();
    const pieces: [number, number][] = [];
    const spy = vi.spyOn(vc as unknown as { readPiece(o: number, s: number): number }, 'readPiece');
    spy.mockImplementation(function (this: unknown, o: number, s: number) {
      pieces.push([o, s]);
      let v = 0;
      for (let i = s - 1; i >= 0; i--) v = v * 256 + vc.read(o + i, 1);
      return v;
    });
    for (let pos = 0; pos < vc.size; pos++) {
      for (let len = 1; len <= 8 && pos + len <= vc.size; len++) {
        pieces.length = 0;
        const buf = new Uint8Array(len);
        expect(vc.rw(pos, buf, false)).toBe(len);
        const want = reference(vc.map, pos, len);
        if (JSON.stringify(pieces) !== JSON.stringify(want)) expect([pos, len, pieces]).toEqual([pos, len, want]);
      }
    }
    spy.mockRestore();
    // the data: a multi-byte read equals its bytes read one at a time
    for (let pos = 0x3f; pos < 0x1a0; pos += 3) {
      const buf = new Uint8Array(8);
      vc.rw(pos, buf, false);
      for (let i = 0; i < 8; i++) expect(buf[i]).toBe(vc.read(pos + i, 1));
    }
  });

  it('splits every (offset, length 1..8) write exactly as the kernel, little-endian values', async () => {
    const b = await custom({ ...PLAIN, capabilities: [{ id: 'msi', vectors: 2 }, { id: 'vendor', length: 5 }] }, () => {});
    const vc = open(b.fn);
    const pieces: [number, number, number][] = [];
    const spy = vi.spyOn(vc as unknown as { writePiece(o: number, s: number, v: number): void }, 'writePiece');
    spy.mockImplementation((o: number, s: number, v: number) => void pieces.push([o, s, v]));
    for (let pos = 0; pos < vc.size; pos++) {
      for (let len = 1; len <= 8 && pos + len <= vc.size; len++) {
        pieces.length = 0;
        const buf = Uint8Array.from({ length: len }, (_, i) => (pos + 16 * i + 1) & 0xff);
        expect(vc.rw(pos, buf, true)).toBe(len);
        const want = reference(vc.map, pos, len).map(([o, s]) => {
          let v = 0;
          for (let i = s - 1; i >= 0; i--) v = v * 256 + buf[o - pos + i];
          return [o, s, v];
        });
        if (JSON.stringify(pieces) !== JSON.stringify(want)) expect([pos, len, pieces]).toEqual([pos, len, want]);
      }
    }
    spy.mockRestore();
  });

  it('cuts at a capability end inside a dword (32-bit MSI is 10 bytes: 0x48 then raw 0x4a)', async () => {
    const b = await custom({ ...PLAIN, capabilities: [{ id: 'msi', vectors: 2 }] }, () => {});
    const vc = open(b.fn);
    const pieces: [number, number][] = [];
    const spy = vi.spyOn(vc as unknown as { readPiece(o: number, s: number): number }, 'readPiece');
    spy.mockImplementation((o: number, s: number) => (pieces.push([o, s]), 0));
    vc.rw(0x48, new Uint8Array(4), false);
    expect(pieces).toEqual([
      [0x48, 2],
      [0x4a, 2],
    ]);
    spy.mockRestore();
  });

  it('checks bounds against the config size: EFAULT, and nothing happens', async () => {
    const { fn, vc } = await deviceA();
    expect(vc.size).toBe(4096);
    expect(() => vc.rw(4095, new Uint8Array(2), true)).toThrowError(/EFAULT/);
    expect(() => vc.rw(4096, new Uint8Array(1), false)).toThrowError(/EFAULT/);
    expect(() => vc.rw(0x0c, new Uint8Array(4096), true)).toThrowError(/EFAULT/);
    expect(fn.configRead(0x0c, 1)).toBe(0);
    expect(() => vc.rw(-1, new Uint8Array(1), false)).toThrowError(/EINVAL/);
    expect(() => vc.rw(1.5, new Uint8Array(1), false)).toThrowError(/EINVAL/);
    expect(vc.rw(5000, new Uint8Array(0), false)).toBe(0); // nothing to do: no error, as the kernel's loop
    expect(vc.rw(4092, new Uint8Array(4), false)).toBe(4);
    try {
      vc.rw(4093, new Uint8Array(4), false);
    } catch (e) {
      expect(e).toBeInstanceOf(VfioError);
      expect((e as VfioError).errno).toBe(14);
    }
  });

  it('a write() piece that straddles a capability end is split there', async () => {
    const b = await custom({ ...PLAIN, capabilities: [{ id: 'msi', vectors: 2 }] }, () => {});
    const vc = open(b.fn);
    vc.write(0x48, 4, 0xabcd1234); // MSI data (virtual) + 2 raw bytes (hardware, read-only here)
    expect(vc.read(0x48, 2)).toBe(0x1234);
    expect(b.fn.configRead(0x48, 2)).toBe(0);
  });
});

describe('capability chain', () => {
  it('hides capabilities the kernel does not know (or sizes 0), keeping the chain valid', async () => {
    const { fn } = await deviceE();
    const vc = open(fn);
    const chain = vc.userCapChain().map(([id, off]) => [id, off]);
    expect(chain).toEqual([
      [0x10, E.pcie],
      [0x03, E.vpd],
      [0x07, E.pcix],
      [0x13, E.af],
    ]);
    // the hardware chain still has them
    expect(fn.configRead(E.vpd + 1, 1)).toBe(E.slotid);
    expect(vc.read(E.vpd + 1, 1)).toBe(E.pcix);
    expect(vc.read(E.af + 1, 1)).toBe(0);
    // hidden bytes are unassigned in the map: raw hardware access, as the kernel leaves them
    expect(vc.map[E.slotid]).toBe(0xff);
    expect(vc.read(E.slotid + 2, 2)).toBe(0x5a5a);
    vc.write(E.ea + 4, 4, 0x01020304);
    expect(fn.configRead(E.ea + 4, 4)).toBe(0x01020304);
    // extended chain: PWR -> (DPC hidden) -> vendor -> DVSEC -> (RCLD hidden)
    const ecaps: [number, number][] = [];
    for (let pos = 0x100; pos; ) {
      const h = vc.read(pos, 4);
      ecaps.push([h & 0xffff, pos]);
      pos = (h >>> 20) & 0xffc;
    }
    expect(ecaps).toEqual([
      [0x04, E.pwr],
      [0x0b, E.vsec],
      [0x23, E.dvsec],
    ]);
    expect(vc.read(E.pwr + 2, 2) >>> 4).toBe(E.vsec);
    expect((fn.configRead(E.pwr, 4) >>> 20) & 0xffc).toBe(E.dpc);
    expect(vc.read(E.dvsec, 4) >>> 20).toBe(0);
    expect(vc.ecaps.map((c) => c[0])).toEqual([0x04, 0x0b, 0x23]);
  });

  it('a hidden first extended capability becomes a header with ID 0, version 0 and the next pointer', async () => {
    const { fn } = await custom(PCIE_ONLY, (b) => {
      b.addExtCapability(0x1d, 1, 16, 'dpc');
      buildAer(b);
      buildDsn(b, 7n);
    });
    const vc = open(fn);
    expect(fn.configRead(0x100, 4) & 0xffff).toBe(0x1d);
    expect(hex(vc.read(0x100, 4))).toBe(hex(0x110 << 20));
    expect(vc.read(0x100, 2)).toBe(0);
    vc.write(0x100, 4, 0xffffffff);
    expect(hex(vc.read(0x100, 4))).toBe(hex(0x110 << 20));
    expect(vc.read(0x110, 2)).toBe(0x0001);
    // past the 4-byte placeholder the hidden capability's bytes are raw
    expect(vc.map[0x104]).toBe(0xff);
    expect(vc.ecaps.map((c) => c[0])).toEqual([0x01, 0x03]);
  });

  it('no visible extended capability: the 0x100 header reads 0', async () => {
    const { fn } = await custom(PCIE_ONLY, (b) => {
      b.addExtCapability(0x05, 1, 8, 'rcld');
      b.addExtCapability(0x1d, 1, 16, 'dpc');
    });
    const vc = open(fn);
    expect(vc.read(0x100, 4)).toBe(0);
    expect(fn.configRead(0x100, 4)).not.toBe(0);
  });

  it('no visible capability: Status.CapList reads 0 and the pointer skips the hidden ones', async () => {
    const { fn } = await custom(PLAIN, (b) => {
      b.addCapability(0x04, 4, 'slotid');
      b.addCapability(0x0a, 4, 'dbg');
    });
    const vc = open(fn);
    expect(fn.configRead(6, 2) & 0x10).toBe(0x10);
    expect(vc.read(6, 2) & 0x10).toBe(0);
    expect(vc.read(0x34, 1)).toBe(0);
    expect(vc.userCapChain()).toEqual([]);
  });

  it('PME is hidden: PME_Support, PME_En and PME_Status read 0 whatever the hardware says', async () => {
    const { fn } = await custom({ ...PLAIN, capabilities: [{ id: 'pm' }] }, (b) => {
      b.reg(0x42, 2, 0xc803);
      b.reg(0x44, 2, 0x8100, 0x0103, 0x8000);
    });
    const vc = open(fn);
    expect(hex(vc.read(0x42, 2))).toBe(hex(0x0003));
    expect(hex(vc.read(0x44, 2))).toBe(hex(0x0000));
    vc.write(0x44, 2, 0x8100);
    expect(vc.read(0x44, 2) & 0x8100).toBe(0);
  });
});

describe('special registers', () => {
  it('VF: IDs from the PF, Command MEM virtual, pin 0', async () => {
    const { emu, fn } = await custom({ ...PLAIN, interruptPin: 1, bars: [{ kind: 'mem64', size: 0x4000 }] }, (b) => {
      b.reg(0, 2, 0xffff);
      b.reg(2, 2, 0xffff);
      b.reg(4, 2, 0, 0x0545, 0, L.EV_COMMAND); // no MEM bit in a VF's Command
      b.reg(0x10, 4, 0);
      b.reg(0x14, 4, 0); // VF BARs read 0: the PF's SR-IOV capability places them
    });
    const vc = open(fn, recorder(), {
      isVirtfn: true,
      ids: { vendor: 0x8086, device: 0x10ed },
      resources: [{ kind: 'mem', size: 0x4000, is64: true, prefetch: false, start: 0x4000000000 }, null, null, null, null, null, null],
    });
    expect(hex(vc.read(0, 4))).toBe(hex(0x10ed8086));
    expect(vc.read(0x3d, 1)).toBe(0);
    expect(vc.read(4, 2) & 2).toBe(2); // vfio sets the virtual MEM bit for VFs
    vc.write(4, 2, 0);
    expect(vc.read(4, 2) & 2).toBe(0);
    expect(vc.memoryEnabled()).toBe(false);
    vc.write(4, 2, 6);
    expect(vc.read(4, 2) & 6).toBe(6);
    expect(vc.memoryEnabled()).toBe(true);
    expect(emu.hw.configRead(fn.bdf, 4, 2)).toBe(4);
    vc.write(0x10, 4, 0xffffffff);
    vc.write(0x14, 4, 0xffffffff);
    expect(hex(vc.read(0x10, 4))).toBe(hex(0xffffc004));
    expect(hex(vc.read(0x14, 4))).toBe(hex(0xffffffff));
    // VFs never get BAR restore
    vc.barRestore();
    expect(fn.configRead(0x10, 4)).toBe(0);
  });

  it('INTx Disable is virtual: the hook sees each change once, hardware keeps its own bit', async () => {
    const { fn, vc, rec } = await deviceA();
    vc.write(4, 2, 0x0400);
    expect(vc.read(4, 2) & 0x400).toBe(0x400);
    expect(fn.configRead(4, 2) & 0x400).toBe(0);
    vc.write(5, 1, 0x04);
    vc.write(4, 4, 0x0400);
    vc.write(5, 1, 0x00);
    vc.write(6, 2, 0); // Status: not Command, no INTx emulation
    vc.write(4, 1, 0x02);
    expect(rec.calls).toEqual(['intx:true', 'intx:false']);
    expect(vc.virqDisabled).toBe(false);
  });

  it('MSI Enable only sticks while vfio-pci-core has MSI set up; queue size clamps to qmax', async () => {
    const rec = recorder('none');
    const { fn, vc } = await deviceA(rec);
    const flags = A.msi + 2;
    // Multiple Message Capable reads the hardware's 4 vectors whatever msi_qmax is (the real 6.1 dumps)
    expect(fn.configRead(flags, 2) & 0x0e).toBe(2 << 1);
    expect(vc.read(flags, 2) & 0x0e).toBe(2 << 1);
    vc.setMsiQmax(2); // what SET_IRQS enabling 4 vectors does
    expect(vc.read(flags, 2) & 0x0e).toBe(2 << 1);
    vc.write(flags, 2, 0x0001);
    expect(vc.read(flags, 2) & 1).toBe(0);
    expect(fn.configRead(flags, 2) & 1).toBe(0);
    rec.irq = 'msix';
    vc.write(flags, 1, 0x01);
    expect(vc.read(flags, 2) & 1).toBe(0);
    rec.irq = 'msi';
    vc.write(flags, 2, 0x0071); // enable, ask for 32 vectors
    expect(hex(vc.read(flags, 2) & 0x71)).toBe(hex(0x21));
    expect(hex(fn.configRead(flags, 2) & 0x71)).toBe(hex(0x21));
    vc.setMsiQmax(0);
    expect(vc.read(flags, 2) & 0x0e).toBe(2 << 1);
    vc.write(flags, 2, 0x0021);
    expect(hex(vc.read(flags, 2) & 0x71)).toBe(hex(0x01));
    // a user write of Multiple Message Capable does not stick (docs/linux-parity.md, item 1)
    vc.write(flags, 2, 0x0001 | (5 << 1));
    expect(vc.read(flags, 2) & 0x0e).toBe(2 << 1);
    // the kernel's condition is piece start <= Message Control <= piece end: a word write of ID
    // and next (offset 0, 2 bytes) also rewrites the flags
    rec.irq = 'none';
    vc.write(A.msi, 2, 0);
    expect(fn.configRead(flags, 2) & 1).toBe(0);
  });

  it('MSI-X Enable and Function Mask are not user-writable in config space', async () => {
    const { fn, vc } = await deviceA(recorder('msix'));
    vc.write(A.msix + 2, 2, 0xc000);
    expect(fn.configRead(A.msix + 2, 2) & 0xc000).toBe(0);
    fn.configWrite(A.msix + 2, 2, 0x8000); // what vfio-pci-core does for SET_IRQS
    expect(vc.read(A.msix + 2, 2) & 0x8000).toBe(0x8000);
  });

  it('Initiate FLR calls the hook when Device Capabilities has FLR, and always reads 0', async () => {
    const { vc, rec } = await deviceA();
    const ctl = A.pcie + 8;
    vc.write(ctl, 2, vc.read(ctl, 2) | 0x8000);
    expect(rec.calls).toEqual(['flr']);
    expect(vc.read(ctl, 2) & 0x8000).toBe(0);
    vc.write(ctl + 1, 1, 0x80);
    expect(rec.calls).toEqual(['flr', 'flr']);

    const noFlr = await custom({ ...PLAIN, capabilities: [{ id: 'pcie', flr: false }] }, () => {});
    const r2 = recorder();
    const v2 = open(noFlr.fn, r2);
    v2.write(0x48, 2, 0x8000);
    expect(r2.calls).toEqual([]);
    expect(v2.read(0x48, 2) & 0x8000).toBe(0);
  });

  it('Advanced Features FLR calls the hook when AF has FLR and TP', async () => {
    const { fn } = await deviceE();
    const rec = recorder();
    const vc = open(fn, rec);
    vc.write(E.af + 4, 1, 1);
    expect(rec.calls).toEqual(['flr']);
    expect(vc.read(E.af + 4, 1)).toBe(0);
  });

  it('MPS is virtual; MRRS goes to hardware with the floor at the hardware MPS', async () => {
    const { fn, vc } = await deviceA();
    const ctl = A.pcie + 8;
    const hw0 = fn.configRead(ctl, 2); // MRRS 512 (2), MPS 128 (0)
    vc.write(ctl, 2, (hw0 & ~0x70e0) | 0x00a0 | (5 << 12)); // MPS 4096 (virtual), MRRS 4096
    expect((vc.read(ctl, 2) >> 5) & 7).toBe(5);
    expect((fn.configRead(ctl, 2) >> 5) & 7).toBe(0);
    expect((fn.configRead(ctl, 2) >> 12) & 7).toBe(5);
    // raise the hardware MPS to 256 (host business), then the user asks for MRRS 128
    fn.configWrite(ctl, 2, (fn.configRead(ctl, 2) & ~0xe0) | 0x20);
    vc.write(ctl, 2, vc.read(ctl, 2) & ~0x7000);
    expect((vc.read(ctl, 2) >> 12) & 7).toBe(0);
    expect((fn.configRead(ctl, 2) >> 12) & 7).toBe(1);
    // Phantom Functions is not writable
    vc.write(ctl, 2, vc.read(ctl, 2) | 0x0200);
    expect(vc.read(ctl, 2) & 0x0200).toBe(0);
  });

  it('a PMCSR write asks the host for the power state; the state bits are not written', async () => {
    const { fn, vc, rec } = await deviceA();
    vc.write(A.pm + 4, 2, 3);
    expect(rec.calls).toEqual(['pm:3']);
    expect(fn.configRead(A.pm + 4, 2) & 3).toBe(0);
    vc.write(A.pm + 4, 1, 0);
    vc.write(A.pm + 5, 1, 0); // not a write starting at PMCSR
    vc.write(A.pm + 4, 4, 2);
    expect(rec.calls).toEqual(['pm:3', 'pm:0', 'pm:2']);
  });
});

describe('properties', () => {
  it('random user writes never change bits the perm tables make read-only, nor another function', async () => {
    const { emu, fn, vc } = await deviceA();
    const other = emu.hw.addEndpoint('0000:00:02.0', SPEC_A);
    assign(emu, other, { 0x10: 0xe1000000 });
    const mem = fn.mem;
    const otherBefore = mem.slotBytes(other.slot);
    const vb = mem.vfioBase(fn.slot);
    const virt = mem.u8.slice(vb + L.VIRT, vb + L.VIRT + 4096);
    const write = mem.u8.slice(vb + L.UWRITE, vb + L.UWRITE + 4096);
    const w1c = mem.u8.slice(fn.base + L.W1C, fn.base + L.W1C + 4096);
    const view = () => {
      const b = new Uint8Array(4096);
      vc.rw(0, b, false);
      return b;
    };
    const interesting = fc.oneof(
      fc.integer({ min: 0, max: 0x3f }),
      fc.integer({ min: 0x40, max: 0xb0 }),
      fc.integer({ min: 0x100, max: 0x160 }),
      fc.integer({ min: 0, max: 4095 }),
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(interesting, fc.integer({ min: 1, max: 8 }), fc.uint8Array({ minLength: 8, maxLength: 8 })), { maxLength: 20 }),
        (writes) => {
          for (const [pos, len, bytes] of writes) {
            const n = Math.min(len, 4096 - pos);
            const before = view();
            const hwW1cBefore = mem.u8.slice(fn.base + L.CFG, fn.base + L.CFG + 4096);
            vc.rw(pos, bytes.subarray(0, n), true);
            const after = view();
            for (let b = 0; b < 4096; b++) {
              // user-visible read-only bits, except real RW1C bits, which the kernel's
              // read-modify-write may clear
              const ro = ~write[b] & ~(w1c[b] & ~virt[b]) & 0xff;
              if ((before[b] ^ after[b]) & ro) {
                throw new Error(`byte ${hex(b)}: read-only bits ${hex(ro)} changed ${hex(before[b])} -> ${hex(after[b])} (write ${pos}+${n})`);
              }
              const cleared = w1c[b] & ~virt[b];
              if (mem.u8[fn.base + L.CFG + b] & cleared & ~hwW1cBefore[b]) throw new Error(`byte ${hex(b)}: an RW1C bit was set`);
            }
          }
          const otherNow = mem.slotBytes(other.slot);
          if (otherNow.length !== otherBefore.length) throw new Error('the other slot changed size');
          for (let i = 0; i < otherNow.length; i++) if (otherNow[i] !== otherBefore[i]) throw new Error(`other slot byte ${hex(i)} changed`);
        },
      ),
      { numRuns: 60 },
    );
  });
});
