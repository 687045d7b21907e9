import type { Emulator, EndpointSpec, PciFunction } from '../index.js';

/** The functions of the default machine a demo drives from the device side. */
export interface DefaultTopology {
  /** Intel I350 port 0 (01:00.0): mem32 + I/O BARs, ROM, PM, MSI, MSI-X, PCIe, AER, DSN */
  nic: PciFunction;
  /** Samsung NVMe (02:00.0): a 64-bit BAR holding the MSI-X table and PBA */
  nvme: PciFunction;
  /** Realtek 8139 (04:01.0) behind a PCI-PCI bridge: I/O and memory BARs, INTx, ROM */
  legacyNic: PciFunction;
  /** NVIDIA GPU (05:00.0): 64-bit prefetchable BARs, an I/O BAR, ROM; audio at 05:00.1 */
  gpu: PciFunction;
}

const i350 = (fn: number): EndpointSpec => ({
  vendorId: 0x8086,
  deviceId: 0x1521,
  classCode: 0x020000,
  revision: 0x01,
  subsystemVendorId: 0x8086,
  subsystemId: 0x0002,
  interruptPin: (fn + 1) as 1 | 2,
  bars: [{ kind: 'mem32', size: 0x100000 }, null, { kind: 'io', size: 32 }, { kind: 'mem32', size: 0x4000 }],
  romSize: fn === 0 ? 0x80000 : undefined,
  capabilities: [
    { id: 'pm' },
    { id: 'msi', vectors: 1, is64: true, perVectorMask: true },
    { id: 'msix', vectors: 10, tableBar: 3, tableOffset: 0, pbaBar: 3, pbaOffset: 0x2000 },
    { id: 'pcie', flr: true },
  ],
  extendedCapabilities: [{ id: 'aer' }, { id: 'dsn', serial: 0x0123_45ff_fe67_89abn }],
});

/**
 * A small PC: a host bridge and four PCIe root ports on bus 0, with a two-port NIC (multi-function),
 * an NVMe drive, a conventional PCI segment behind a second-level bridge, and a GPU with its audio
 * function. Bus numbers are strapped in depth-first order, so the enumerator's numbering matches.
 *
 *   00:00.0 host bridge
 *   00:01.0 root port -> 01: 01:00.0, 01:00.1 I350
 *   00:02.0 root port -> 02: 02:00.0 NVMe
 *   00:03.0 root port -> 03: 03:00.0 PCI-PCI bridge -> 04: 04:01.0 RTL8139
 *   00:04.0 root port -> 05: 05:00.0 GPU, 05:00.1 HD audio
 */
export function buildDefaultTopology(emu: Emulator): DefaultTopology {
  const hw = emu.hw;
  hw.addEndpoint('0000:00:00.0', { vendorId: 0x8086, deviceId: 0x29c0, classCode: 0x060000, subsystemVendorId: 0x1af4, subsystemId: 0x1100 });
  hw.addBridge('0000:00:01.0', { secondaryBus: 1 });
  hw.addBridge('0000:00:02.0', { secondaryBus: 2 });
  hw.addBridge('0000:00:03.0', { secondaryBus: 3 });
  hw.addBridge('0000:00:04.0', { secondaryBus: 5 });
  hw.addBridge('0000:03:00.0', { secondaryBus: 4, vendorId: 0x1b36, deviceId: 0x0001, portType: 'pci' });

  const nic = hw.addEndpoint('0000:01:00.0', i350(0));
  hw.addEndpoint('0000:01:00.1', i350(1));

  const nvme = hw.addEndpoint('0000:02:00.0', {
    vendorId: 0x144d,
    deviceId: 0xa808,
    classCode: 0x010802,
    subsystemVendorId: 0x144d,
    subsystemId: 0xa801,
    interruptPin: 1,
    bars: [{ kind: 'mem64', size: 0x4000 }],
    capabilities: [
      { id: 'pm' },
      { id: 'msi', vectors: 32, is64: true, perVectorMask: true },
      { id: 'msix', vectors: 33, tableBar: 0, tableOffset: 0x3000, pbaBar: 0, pbaOffset: 0x2000 },
      { id: 'pcie', flr: true },
    ],
    extendedCapabilities: [{ id: 'aer' }, { id: 'dsn', serial: 0x0025_38b1_81a0_1c2dn }],
  });

  const legacyNic = hw.addEndpoint('0000:04:01.0', {
    vendorId: 0x10ec,
    deviceId: 0x8139,
    classCode: 0x020000,
    revision: 0x20,
    subsystemVendorId: 0x1af4,
    subsystemId: 0x1100,
    interruptPin: 1,
    bars: [{ kind: 'io', size: 256 }, { kind: 'mem32', size: 256 }],
    romSize: 0x10000,
    capabilities: [{ id: 'pm' }],
  });

  const gpu = hw.addEndpoint('0000:05:00.0', {
    vendorId: 0x10de,
    deviceId: 0x2204,
    classCode: 0x030000,
    revision: 0xa1,
    subsystemVendorId: 0x10de,
    subsystemId: 0x1454,
    interruptPin: 1,
    bars: [
      { kind: 'mem32', size: 16 << 20 },
      { kind: 'mem64', size: 256 << 20, prefetchable: true },
      null,
      { kind: 'mem64', size: 32 << 20, prefetchable: true },
      null,
      { kind: 'io', size: 128 },
    ],
    romSize: 0x80000,
    capabilities: [{ id: 'pm' }, { id: 'msi', vectors: 1, is64: true }, { id: 'pcie' }],
    extendedCapabilities: [{ id: 'aer' }],
  });
  hw.addEndpoint('0000:05:00.1', {
    vendorId: 0x10de,
    deviceId: 0x1aef,
    classCode: 0x040300,
    revision: 0xa1,
    subsystemVendorId: 0x10de,
    subsystemId: 0x1454,
    interruptPin: 2,
    bars: [{ kind: 'mem32', size: 0x4000 }],
    capabilities: [{ id: 'pm' }, { id: 'msi', vectors: 1, is64: true }, { id: 'pcie' }],
  });
  return { nic, nvme, legacyNic, gpu };
}
