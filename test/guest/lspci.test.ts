import { describe, expect, it } from 'vitest';
import { cf8Access, cf8WithEcamAccess } from '../../src/guest/configAccess.js';
import { enumerate, platformPools } from '../../src/guest/enumerator.js';
import { formatLspci, formatSize } from '../../src/guest/lspci.js';
import type { Node } from './topology.js';
import { build, MIXED } from './topology.js';

async function lspci(nodes: Node[], verbose = true) {
  const emu = await build(nodes);
  const hw = emu.hw;
  const access = cf8WithEcamAccess(hw, hw.ecamBase);
  const result = enumerate(access, { pools: platformPools(hw.ecamBase) });
  return { text: formatLspci(access, result, { verbose }), hw, access, result };
}

/** The block of one function in lspci -vv output. */
function block(text: string, slot: string): string {
  const b = text.split('\n\n').find((x) => x.startsWith(slot + ' '));
  expect(b, slot).toBeDefined();
  return b!;
}

describe('lspci sizes', () => {
  it.each([
    [16, '16'],
    [256, '256'],
    [0x1000, '4K'],
    [0x4000, '16K'],
    [0x100000, '1M'],
    [0x300000, '3M'],
    [0x1800, '6K'],
    [2 ** 30, '1G'],
    [2 ** 34, '16G'],
  ])('%d bytes is %s', (n, s) => expect(formatSize(n)).toBe(s));
});

describe('lspci -vv view', () => {
  it('lists functions sorted by address with class, names and revision', async () => {
    const { text } = await lspci(MIXED, false);
    expect(text.trimEnd().split('\n')).toEqual([
      '00:00.0 Host bridge: Intel Corporation 82G33/G31/P35/P31 Express DRAM Controller',
      '00:01.0 PCI bridge: Red Hat, Inc. QEMU PCIe Root port',
      '00:02.0 PCI bridge: Red Hat, Inc. QEMU PCIe Root port',
      '00:03.0 PCI bridge: Red Hat, Inc. QEMU PCIe Root port',
      '00:04.0 PCI bridge: Red Hat, Inc. QEMU PCIe Root port',
      '00:1f.0 Ethernet controller: Red Hat, Inc. Virtio network device',
      '00:1f.2 SATA controller: Intel Corporation Device 2922',
      '01:00.0 Ethernet controller: Intel Corporation I350 Gigabit Network Connection (rev 01)',
      '01:00.1 Ethernet controller: Intel Corporation I350 Gigabit Network Connection (rev 01)',
      '01:01.0 PCI bridge: Red Hat, Inc. QEMU PCIe Root port',
      '02:00.0 VGA compatible controller: NVIDIA Corporation GA102 [GeForce RTX 3090]',
      '02:00.3 Audio device: NVIDIA Corporation GA102 High Definition Audio Controller',
      '03:00.0 Non-Volatile memory controller: Samsung Electronics Co Ltd NVMe SSD Controller SM981/PM981/PM983',
      '04:05.0 Ethernet controller: Realtek Semiconductor Co., Ltd. RTL-8100/8101L/8139 PCI Fast Ethernet Adapter',
    ]);
  });

  it('decodes an endpoint: control, status, regions, ROM and every capability', async () => {
    const { text, result } = await lspci(MIXED);
    const nic = result.functions.find((f) => f.bdf === '0000:01:00.0')!;
    const h = (n: number, w = 8) => n.toString(16).padStart(w, '0');
    const b = block(text, '01:00.0');
    const lines = b.split('\n');
    expect(lines[0]).toBe('01:00.0 Ethernet controller: Intel Corporation I350 Gigabit Network Connection (rev 01)');
    expect(b).toContain('\tControl: I/O+ Mem+ BusMaster+ SpecCycle- MemWINV- VGASnoop- ParErr- Stepping- SERR- FastB2B- DisINTx-');
    expect(b).toContain('\tStatus: Cap+ 66MHz- UDF- FastB2B- ParErr- DEVSEL=fast >TAbort- <TAbort- <MAbort- >SERR- <PERR- INTx-');
    expect(b).toContain(`\tInterrupt: pin A routed to IRQ ${nic.interruptLine}`);
    expect(b).toContain(`\tRegion 0: Memory at ${h(nic.bars[0].address!)} (32-bit, non-prefetchable) [size=1M]`);
    expect(b).toContain(`\tRegion 2: I/O ports at ${h(nic.bars[1].address!, 4)} [size=32]`);
    expect(b).toContain(`\tExpansion ROM at ${h(nic.rom!.address!)} [disabled] [size=512K]`);
    expect(b).toContain('\tCapabilities: [40] Power Management version 3');
    expect(b).toContain('\tCapabilities: [48] MSI: Enable- Count=1/4 Maskable+ 64bit+');
    expect(b).toContain('\tCapabilities: [60] MSI-X: Enable- Count=8 Masked-');
    expect(b).toContain('\t\tVector table: BAR=3 offset=00000000');
    expect(b).toContain('\t\tPBA: BAR=3 offset=00002000');
    expect(b).toContain('\tCapabilities: [6c] Express (v2) Endpoint, MSI 00');
    expect(b).toContain('\tCapabilities: [100 v2] Advanced Error Reporting');
    expect(b).toContain('\tCapabilities: [148 v1] Device Serial Number 01-23-45-67-89-ab-cd-ef');
    // capabilities come in list order, standard before extended
    const caps = lines.filter((l) => l.startsWith('\tCapabilities:')).map((l) => l.slice(15, 22));
    expect(caps).toEqual(['[40] Po', '[48] MS', '[60] MS', '[6c] Ex', '[100 v2', '[148 v1']);
  });

  it('shows 64-bit prefetchable regions above 4 GiB', async () => {
    const { text, result } = await lspci(MIXED);
    const gpu = result.functions.find((f) => f.bdf === '0000:02:00.0')!;
    const b = block(text, '02:00.0');
    expect(b).toContain(`\tRegion 1: Memory at ${gpu.bars[1].address!.toString(16)} (64-bit, prefetchable) [size=256M]`);
    expect(b).toContain(`\tRegion 3: Memory at ${gpu.bars[2].address!.toString(16)} (64-bit, prefetchable) [size=16K]`);
    expect(b).toContain('\tRegion 5: I/O ports at');
    expect(b).toContain('(prog-if 00 [VGA controller])');
  });

  it('decodes bridges: bus numbers and the three windows', async () => {
    const { text, result } = await lspci(MIXED);
    const rp = result.functions.find((f) => f.bdf === '0000:00:01.0')!.bridge!;
    const h = (n: number, w: number) => n.toString(16).padStart(w, '0');
    const b = block(text, '00:01.0');
    expect(b.split('\n')[0]).toBe('00:01.0 PCI bridge: Red Hat, Inc. QEMU PCIe Root port (prog-if 00 [Normal decode])');
    expect(b).toContain('\tBus: primary=00, secondary=01, subordinate=02, sec-latency=0');
    expect(b).toContain(`\tI/O behind bridge: ${h(rp.io!.base, 4)}-${h(rp.io!.limit, 4)} [size=8K] [32-bit]`);
    expect(b).toContain(`\tMemory behind bridge: ${h(rp.memory!.base, 8)}-${h(rp.memory!.limit, 8)} [size=`);
    expect(b).toContain(`\tPrefetchable memory behind bridge: ${h(rp.prefetchable!.base, 16)}-${h(rp.prefetchable!.limit, 16)} [size=257M] [64-bit]`);
    expect(b).toContain('\tCapabilities: [40] Express (v2) Root Port (Slot-), MSI 00');
    expect(b).toContain('\tBridgeCtl: Parity- SERR- NoISA- VGA- VGA16- MAbort- >Reset- FastB2B-');
    const empty = block(text, '00:04.0');
    expect(empty).toContain('\tBus: primary=00, secondary=05, subordinate=05, sec-latency=0');
    expect(empty).toContain('\tI/O behind bridge: [disabled] [32-bit]');
    expect(empty).toContain('\tMemory behind bridge: [disabled] [32-bit]');
    expect(empty).toContain('\tPrefetchable memory behind bridge: [disabled] [64-bit]');
    expect(block(text, '01:01.0')).toContain('Express (v2) Downstream Port (Slot-), MSI 00');
  });

  it('reads registers live: enabling MSI-X and MSI shows up', async () => {
    const { hw, access, result } = await lspci(MIXED);
    access.write(1, 0, 0, 0x60 + 2, 2, 0xc000); // MSI-X Enable + Function Mask
    access.write(1, 0, 1, 0x48 + 4, 4, 0xfee00000);
    access.write(1, 0, 1, 0x48 + 12, 2, 0x4041);
    access.write(1, 0, 1, 0x48 + 2, 2, 0x0021); // enable, 4 vectors
    access.write(1, 0, 1, 0x04, 2, 0x0407); // DisINTx
    const text = formatLspci(access, result);
    expect(block(text, '01:00.0')).toContain('MSI-X: Enable+ Count=8 Masked+');
    const f1 = block(text, '01:00.1');
    expect(f1).toContain('MSI: Enable+ Count=4/4 Maskable+ 64bit+');
    expect(f1).toContain('\t\tAddress: 00000000fee00000  Data: 4041');
    expect(f1).toContain('DisINTx+');
    expect(hw.function('0000:01:00.1')!.msiEnabled).toBe(true);
  });

  it('through mechanism #1 alone, no extended capabilities are shown', async () => {
    const emu = await build(MIXED);
    const access = cf8Access(emu.hw);
    const result = enumerate(access, { pools: platformPools(emu.hw.ecamBase) });
    const text = formatLspci(access, result);
    expect(text).toContain('Capabilities: [6c] Express (v2) Endpoint, MSI 00');
    expect(text).not.toContain('Capabilities: [1');
  });

  it('falls back to numbers for unknown vendors and classes', async () => {
    const { text } = await lspci([{ kind: 'endpoint', bdf: '0000:00:03.0', spec: { vendorId: 0x1234, deviceId: 0x1111, classCode: 0xab1201, revision: 2 } }]);
    expect(text.split('\n')[0]).toBe('00:03.0 Class ab12: Device 1234:1111 (rev 02) (prog-if 01)');
  });
});
