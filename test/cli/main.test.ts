import { describe, expect, it } from 'vitest';
import { main, USAGE } from '../../src/cli/main.js';
import type { EnumerationResult } from '../../src/guest/enumerator.js';

async function run(...argv: string[]) {
  let out = '';
  let err = '';
  const code = await main(argv, { write: (s: string) => (out += s) }, { write: (s: string) => (err += s) });
  return { code, out, err };
}

describe('npm start', () => {
  it('prints the lspci -vv view of the enumerated default machine, then the live demo', async () => {
    const { code, out, err } = await run();
    expect(code).toBe(0);
    expect(err).toBe('');
    const lines = out.split('\n');
    expect(lines[0]).toMatch(/^# pcisim: 12 functions on buses 00-05, enumerated through config mechanism #1/);
    const heads = lines.filter((l) => /^[0-9a-f]{2}:[0-9a-f]{2}\.[0-7] /.test(l));
    expect(heads).toEqual([
      '00:00.0 Host bridge: Intel Corporation 82G33/G31/P35/P31 Express DRAM Controller',
      '00:01.0 PCI bridge: Red Hat, Inc. QEMU PCIe Root port (prog-if 00 [Normal decode])',
      '00:02.0 PCI bridge: Red Hat, Inc. QEMU PCIe Root port (prog-if 00 [Normal decode])',
      '00:03.0 PCI bridge: Red Hat, Inc. QEMU PCIe Root port (prog-if 00 [Normal decode])',
      '00:04.0 PCI bridge: Red Hat, Inc. QEMU PCIe Root port (prog-if 00 [Normal decode])',
      '01:00.0 Ethernet controller: Intel Corporation I350 Gigabit Network Connection (rev 01)',
      '01:00.1 Ethernet controller: Intel Corporation I350 Gigabit Network Connection (rev 01)',
      '02:00.0 Non-Volatile memory controller: Samsung Electronics Co Ltd NVMe SSD Controller SM981/PM981/PM983 (prog-if 02 [NVM Express])',
      '03:00.0 PCI bridge: Red Hat, Inc. QEMU PCI-PCI bridge (prog-if 00 [Normal decode])',
      '04:01.0 Ethernet controller: Realtek Semiconductor Co., Ltd. RTL-8100/8101L/8139 PCI Fast Ethernet Adapter (rev 20)',
      '05:00.0 VGA compatible controller: NVIDIA Corporation GA102 [GeForce RTX 3090] (rev a1) (prog-if 00 [VGA controller])',
      '05:00.1 Audio device: NVIDIA Corporation GA102 High Definition Audio Controller (rev a1)',
    ]);
    for (const expected of [
      '\tControl: I/O+ Mem+ BusMaster+ SpecCycle- MemWINV- VGASnoop- ParErr- Stepping- SERR- FastB2B- DisINTx-',
      '\tBus: primary=00, secondary=01, subordinate=01, sec-latency=0',
      '\tBus: primary=00, secondary=03, subordinate=04, sec-latency=0',
      '\tBus: primary=03, secondary=04, subordinate=04, sec-latency=0',
      '\tRegion 1: Memory at 800000000 (64-bit, prefetchable) [size=256M]',
      '\tRegion 0: Memory at c1400000 (64-bit, non-prefetchable) [size=16K]',
      '\tRegion 0: I/O ports at d000 [size=256]',
      '\tExpansion ROM at c1500000 [disabled] [size=64K]',
      '\tPrefetchable memory behind bridge: 0000000800000000-0000000811ffffff [size=288M] [64-bit]',
      '\tI/O behind bridge: d000-dfff [size=4K] [32-bit]',
      '\tCapabilities: [40] Power Management version 3',
      '\tCapabilities: [48] MSI: Enable- Count=1/32 Maskable+ 64bit+',
      '\tCapabilities: [60] MSI-X: Enable- Count=33 Masked-',
      '\t\tVector table: BAR=0 offset=00003000',
      '\tCapabilities: [6c] Express (v2) Endpoint, MSI 00',
      '\tCapabilities: [40] Express (v2) Root Port (Slot-), MSI 00',
      '\tCapabilities: [100 v2] Advanced Error Reporting',
      '\tCapabilities: [148 v1] Device Serial Number 01-23-45-ff-fe-67-89-ab',
      '\tInterrupt: pin A routed to IRQ 10',
    ]) {
      expect(out).toContain(expected);
    }
    // the live part: MMIO, port I/O, ROM and MSI-X at the assigned addresses
    expect(out).toContain('MMIO     01:00.0 BAR0+0x5400 @ c1105400: write32 12005452, read32 -> 12005452');
    expect(out).toMatch(/I\/O      04:01\.0 BAR0\+0x37 @ port d037: outb 0c, inb -> 0c/);
    expect(out).toContain('signature aa55, PCIR vendor 8086 device 1521');
    expect(out).toContain('device raises vector 0 -> message from 02:00.0: write 00004021 to 00000000fee00000');
    expect(out).toContain('device raises vector 1 (masked) -> 1 message(s) so far, PBA reads 00000002');
    expect(out).toContain('unmask vector 1 -> message from 02:00.0: write 00004022 to 00000000fee00000, PBA reads 00000000');
    expect(out).not.toContain('problem');
  });

  it('--ecam prints the same view through ECAM', async () => {
    const cf8 = await run();
    const ecam = await run('--ecam');
    expect(ecam.code).toBe(0);
    expect(ecam.out.split('\n')[0]).toBe('# pcisim: 12 functions on buses 00-05, enumerated through ECAM at b0000000');
    expect(ecam.out.split('\n').slice(1)).toEqual(cf8.out.split('\n').slice(1));
  });

  it('--cf8-only cannot see extended capabilities', async () => {
    const { code, out } = await run('--cf8-only');
    expect(code).toBe(0);
    expect(out).toContain('Capabilities: [6c] Express (v2) Endpoint, MSI 00');
    expect(out).not.toContain('Advanced Error Reporting');
  });

  it('--json prints the enumeration result', async () => {
    const { code, out } = await run('--json');
    expect(code).toBe(0);
    const r = JSON.parse(out) as EnumerationResult;
    expect(r.mechanism).toBe('cf8+ecam');
    expect(r.lastBus).toBe(5);
    expect(r.problems).toEqual([]);
    expect(r.functions).toHaveLength(12);
    for (const f of r.functions) {
      expect(Object.keys(f).sort()).toEqual(
        ['bars', 'bdf', 'bridge', 'bus', 'capabilities', 'classCode', 'command', 'device', 'deviceId', 'extendedCapabilities', 'function', 'headerType',
          'interruptLine', 'interruptPin', 'multiFunction', 'pcie', 'revision', 'rom', 'subsystemId', 'subsystemVendorId', 'vendorId'].sort(),
      );
      expect(f.bdf).toMatch(/^0000:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/);
    }
    const nvme = r.functions.find((f) => f.bdf === '0000:02:00.0')!;
    expect(nvme.bars).toEqual([{ index: 0, kind: 'mem64', size: 0x4000, address: 0xc1400000, prefetchable: false, is64: true }]);
    expect(nvme.capabilities.map((c) => c.id)).toEqual([0x01, 0x05, 0x11, 0x10]);
    expect(nvme.extendedCapabilities).toEqual([{ id: 1, version: 2, offset: 0x100 }, { id: 3, version: 1, offset: 0x148 }]);
    const bridge = r.functions.find((f) => f.bdf === '0000:00:03.0')!.bridge!;
    expect(bridge).toMatchObject({ primaryBus: 0, secondaryBus: 3, subordinateBus: 4, prefetchable: null });
    expect(bridge.io).toEqual({ base: 0xd000, limit: 0xdfff, size: 0x1000 });
    const gpu = r.functions.find((f) => f.bdf === '0000:05:00.0')!;
    expect(gpu.multiFunction).toBe(true);
    expect(gpu.bars.map((b) => [b.index, b.kind, b.size, b.prefetchable])).toEqual([
      [0, 'mem32', 16 << 20, false],
      [1, 'mem64', 256 << 20, true],
      [3, 'mem64', 32 << 20, true],
      [5, 'io', 128, false],
    ]);
    expect(gpu.rom).toEqual({ size: 0x80000, address: expect.any(Number), enabled: false });
  });

  it('--help prints usage; an unknown option is a usage error on stderr', async () => {
    const help = await run('--help');
    expect(help.code).toBe(0);
    expect(help.out).toBe(USAGE);
    expect(help.out).toContain('--json');
    const bad = await run('--frobnicate');
    expect(bad.code).toBe(2);
    expect(bad.out).toBe('');
    expect(bad.err).toContain('unknown option "--frobnicate"');
  });
});
