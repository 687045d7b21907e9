// Interrupts out, EOI in: an embedder's sink receives MSI messages and INTx levels (function, pin,
// root-bus routing) through InterruptBridge; its EOI resamples INTx through the VMM (vfio unmask).
import { describe, expect, it } from 'vitest';
import { createEmulator, InterruptBridge } from '../../src/index.js';
import type { IntxLevel, MsiMessage } from '../../src/index.js';
import { PCI_COMMAND, PCI_COMMAND_INTX_DISABLE } from '../../src/hw/pciRegs.js';
import { machine } from '../vmm/machine.js';

function recorder(lineOf?: (l: IntxLevel) => number) {
  const msis: MsiMessage[] = [];
  const levels: IntxLevel[] = [];
  const bridge = new InterruptBridge({ msi: (m) => msis.push(m), intx: (l) => levels.push(l), lineOf });
  return { msis, levels, bridge };
}

describe('InterruptBridge on bare hardware', () => {
  it('delivers MSI messages with address halves, data and the source routing ID', async () => {
    const emu = await createEmulator({ memoryBytes: 1 << 20 });
    const f = emu.hw.addEndpoint('0000:00:02.0', {
      vendorId: 0x8086, deviceId: 0x1234, classCode: 0xff0000, interruptPin: 3,
      capabilities: [{ id: 'msi', vectors: 4, is64: true }],
    });
    const r = recorder();
    emu.hw.setInterruptSink(r.bridge);
    emu.hw.interrupts.msi(0xfee01000, 0x1, 0x4031, f);
    expect(r.msis).toEqual([{ address: 0xfee01000, addressHi: 1, data: 0x4031, source: f, rid: 0x0010 }]);
  });

  it('INTx levels name the function, its pin and where the pin lands on the root bus behind a bridge', async () => {
    const emu = await createEmulator({ memoryBytes: 1 << 20 });
    emu.hw.addBridge('0000:00:1c.0', { secondaryBus: 2 });
    const f = emu.hw.addEndpoint('0000:02:01.0', { vendorId: 0x8086, deviceId: 0x1234, classCode: 0xff0000, interruptPin: 2 });
    const r = recorder((l) => 16 + ((l.rootDevice + l.rootPin - 1) & 3));
    emu.hw.setInterruptSink(r.bridge);
    f.setIntx(true);
    // pin B of device 1 swizzles to pin C at the bridge's slot 0x1c
    expect(r.levels.at(-1)).toMatchObject({ rid: 0x0208, pin: 2, rootDevice: 0x1c, rootPin: 3, asserted: true });
    expect(r.bridge.eoi(99)).toBe(0); // another line
    expect(r.bridge.eoi(16 + ((0x1c + 2) & 3))).toBe(1); // no VMM: nothing to resample, but counted
    f.setIntx(false);
    expect(r.levels.at(-1)!.asserted).toBe(false);
    expect(r.bridge.eoi()).toBe(0);
  });

  it('refuses a sink without msi and intx', () => {
    expect(() => new InterruptBridge({ msi: () => {} } as never)).toThrow(TypeError);
  });
});

describe('InterruptBridge as a VMM guest interrupt controller', () => {
  const EP = { kind: 'endpoint' as const, hostBdf: '0000:00:07.0', guestBdf: '0000:00:04.0' };

  it('the guest line follows the host INTx; EOI unmasks through vfio and a still-asserted line fires again', async () => {
    const m = await machine([EP]);
    m.guest.enumerate();
    const r = recorder(() => 11);
    m.vmm.connectInterruptController(r.bridge);
    const rid = 0x0020; // 00:04.0
    const cmd = m.vmm.hw.configReadRid(rid, PCI_COMMAND, 2);
    m.vmm.hw.configWriteRid(rid, PCI_COMMAND, 2, cmd & ~PCI_COMMAND_INTX_DISABLE);
    const dev = m.vmm.device(EP.guestBdf)!;
    expect(dev.intx?.active).toBe(true);
    const host = m.hostFn.get(EP.guestBdf)!;
    const asserted = () => r.levels.filter((l) => l.asserted).length;

    host.setIntx(true);
    expect(asserted()).toBe(1);
    expect(r.levels.at(-1)).toMatchObject({ rid, pin: 2, asserted: true });
    // the host INTx is masked until the guest's EOI; the device still asserts, so the unmask fires again
    expect(r.bridge.eoi(11)).toBe(1);
    expect(asserted()).toBe(2);
    expect(dev.intx!.resamples).toBe(1);
    host.setIntx(false);
    expect(r.bridge.eoi(11)).toBe(1);
    expect(asserted()).toBe(2);
    expect(r.levels.at(-1)!.asserted).toBe(false);
    expect(dev.intx!.level).toBe(false);
    expect(r.bridge.eoi(11)).toBe(0);
  });
});
