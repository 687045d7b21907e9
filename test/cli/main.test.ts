import { describe, expect, it } from 'vitest';
import { main, USAGE } from '../../src/cli/main.js';
import type { EnumerationResult } from '../../src/guest/enumerator.js';

async function run(...argv: string[]) {
  let out = '';
  let err = '';
  const code = await main(argv, { write: (s: string) => (out += s) }, { write: (s: string) => (err += s) });
  return { code, out, err };
}

describe('npm start -- --hardware', () => {
  it('prints the lspci -vv view of the enumerated default machine, then the live demo', async () => {
    const { code, out, err } = await run('--hardware');
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
    const cf8 = await run('--hardware');
    const ecam = await run('--hardware', '--ecam');
    expect(ecam.code).toBe(0);
    expect(ecam.out.split('\n')[0]).toBe('# pcisim: 12 functions on buses 00-05, enumerated through ECAM at b0000000');
    expect(ecam.out.split('\n').slice(1)).toEqual(cf8.out.split('\n').slice(1));
  });

  it('--cf8-only cannot see extended capabilities', async () => {
    const { code, out } = await run('--hardware', '--cf8-only');
    expect(code).toBe(0);
    expect(out).toContain('Capabilities: [6c] Express (v2) Endpoint, MSI 00');
    expect(out).not.toContain('Advanced Error Reporting');
  });

  it('--json prints the enumeration result', async () => {
    const { code, out } = await run('--hardware', '--json');
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
    for (const args of [['--vfs', '9'], ['--vfs'], ['--pings', 'x'], ['--cf8-only']]) {
      const r = await run(...args);
      expect(r.code).toBe(2);
      expect(r.out).toBe('');
      expect(r.err).toMatch(/^pcisim: /);
    }
    for (const opt of ['--vfs', '--pings', '--no-migration', '--json', '--ecam', '--hardware']) expect(USAGE).toContain(opt);
  });
});

describe('npm start (the whole stack)', () => {
  it('shows the hardware in short, then host, binding, VMM, guest, pings, DMA work and the migration with its numbers', async () => {
    const { code, out, err } = await run();
    expect(err).toBe('');
    expect(code).toBe(0);
    const lines = out.split('\n');
    expect(lines[0]).toMatch(/^# pcisim: the PCI hardware of a small PC, as firmware finds it: 12 functions on buses 00-05/);
    expect(lines).toContain('02:00.0 Non-Volatile memory controller: Samsung Electronics Co Ltd NVMe SSD Controller SM981/PM981/PM983');
    expect(out).not.toContain('\tControl:'); // the short form: no -vv details for the hardware
    expect(out).toContain('[host]    echo 4 > sriov_numvfs -> VFs 00:04.1 00:04.2 00:04.3 00:04.4');
    expect(out).toMatch(/\[bind\]    00:04\.1 pci:v00001AF4d00001041\S+ -> virtio-vfio-pci \(\d \*\), over vfio-pci/);
    expect(out).toMatch(/\[bind\]    00:06\.0 pci:v00001B36d000000F0\S+ -> dmae-vfio-pci/);
    expect(out).toContain('[vmm]     assigned 00:04.1 -> guest 00:03.0, 00:04.2 -> guest 00:04.0, 00:06.0 -> guest 00:05.0');
    expect(out).toContain('          00:03.0 Ethernet controller: Red Hat, Inc. Virtio network device');
    expect(out).toContain('          00:05.0 System peripheral: Red Hat, Inc. Device 00f0 (rev 01)');
    expect(out).toMatch(/\[guest\]   eth0: legacy virtio-net at 00:03\.0 .*msix-each, carrier up, 10\.0\.2\.15\/24/);
    expect(out.match(/ping -c 10 10\.0\.2\.2 on eth\d: 10\/10 replies/g)).toHaveLength(4);
    expect(out).toContain('[migrate] with the VFs in use: migration is blocked');
    expect(out).toMatch(/\[migrate\] pre-copy pass 0: \d+ device bytes, \d+ RAM bytes/);
    expect(out).toMatch(/\[migrate\] stop-and-copy \(downtime\): \d+ device \+ \d+ RAM \+ \d+ VMM bytes = \d+ bytes in \d+ emulated steps/);
    expect(out).toContain('digest equal, guest RAM equal');
    expect(out).toMatch(/^migration  \d+ pre-copy pass\(es\)/m);
    expect(out).toMatch(/^ {11}before: .* completions/m);
    expect(out).toMatch(/^ok: every ping answered, every job verified, nothing lost or done twice$/m);
  });

  it('--no-migration --vfs 1 --pings 3: one NIC, no migration', async () => {
    const { code, out } = await run('--no-migration', '--vfs', '1', '--pings', '3');
    expect(code).toBe(0);
    expect(out).toContain('echo 1 > sriov_numvfs -> VFs 00:04.1 (');
    expect(out).toContain('ping -c 3 10.0.2.2 on eth0: 3/3 replies');
    expect(out).not.toContain('eth1');
    expect(out).not.toContain('[migrate]');
  });
});
