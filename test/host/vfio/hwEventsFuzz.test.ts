// Hardware events (PME wakeups, AER errors of every severity) interleaved at random with what a VMM
// does through the device file (config and BAR accesses, low-power entry/exit, ERR/MSI-X eventfds,
// DEVICE_RESET): only VfioErrors from the uapi ever escape, a function outside the error's recovery
// scope never changes, and afterwards the device still works: out of low power, in D0, its identity
// readable through vfio and its BAR decoding.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { L } from '../../../src/core/wasm.js';
import { AER_COR_BITS, AER_UNCOR_BITS } from '../../../src/hw/capabilities/aer.js';
import type { EndpointSpec } from '../../../src/hw/spec.js';
import { PCIE_SPEC, VFIO, VfioError, createEmulator, feature, fds, irqSet, readLe, regionOffset, snapshotConfig, wakeup } from './machine.js';

const BYSTANDER = '0000:00:04.0';
const BRIDGE = '0000:00:01.0';
const SIBLING = '0000:01:00.1';
/** On the root bus the device is its own recovery scope; behind a bridge a fatal error resets the bus. */
const TOPOLOGIES = [
  { name: 'a root-bus device', dev: '0000:00:03.0', bridged: false },
  { name: 'a device behind a bridge, with a sibling', dev: '0000:01:00.0', bridged: true },
];
const PME_SPEC: EndpointSpec = {
  ...PCIE_SPEC,
  capabilities: PCIE_SPEC.capabilities!.map((c) => (c.id === 'pm' ? { ...c, pme: true } : c)),
};
const bitsOf = (mask: number) => Array.from({ length: 32 }, (_, i) => i).filter((i) => (mask >>> i) & 1);

type Action =
  | { kind: 'pme' }
  | { kind: 'aer'; bit: number; correctable: boolean; fatal: boolean }
  | { kind: 'cfgRead'; off: number; size: number }
  | { kind: 'cfgWrite'; off: number; size: number; value: number }
  | { kind: 'barRead'; off: number }
  | { kind: 'lowPower'; which: 'entry' | 'wakeup' | 'exit' }
  | { kind: 'irqs'; index: number }
  | { kind: 'reset' };

// the registers the events and the VMM fight over: Command, BARs, PM, MSI, MSI-X, PCIe DevCtl/DevSta, AER
const CFG_OFFSETS = [0x04, 0x06, 0x10, 0x14, 0x3c, 0x40, 0x44, 0x48, 0x50, 0x54, 0x70, 0x72, 0x78, 0x7a, 0x100, 0x104, 0x108, 0x10c, 0x110, 0x114];

const action: fc.Arbitrary<Action> = fc.oneof(
  fc.constant<Action>({ kind: 'pme' }),
  fc.record({ kind: fc.constant('aer' as const), bit: fc.constantFrom(...bitsOf(AER_UNCOR_BITS), ...bitsOf(AER_COR_BITS)), correctable: fc.boolean(), fatal: fc.boolean() }).map((a) => ({
    ...a,
    // a bit of the other kind is a RangeError from the hardware model, not an event: keep to valid ones
    correctable: ((a.correctable ? AER_COR_BITS : AER_UNCOR_BITS) >>> a.bit) & 1 ? a.correctable : !a.correctable,
  })),
  fc.record({ kind: fc.constant('cfgRead' as const), off: fc.constantFrom(...CFG_OFFSETS), size: fc.constantFrom(1, 2, 4) }),
  fc.record({ kind: fc.constant('cfgWrite' as const), off: fc.constantFrom(...CFG_OFFSETS), size: fc.constantFrom(1, 2, 4), value: fc.nat({ max: 0xffffffff }) }),
  fc.record({ kind: fc.constant('barRead' as const), off: fc.integer({ min: 0, max: 0x3ffc }).map((o) => o & ~3) }),
  fc.record({ kind: fc.constant('lowPower' as const), which: fc.constantFrom('entry' as const, 'wakeup' as const, 'exit' as const) }),
  fc.record({ kind: fc.constant('irqs' as const), index: fc.constantFrom(VFIO.PCI_MSIX_IRQ_INDEX, VFIO.PCI_ERR_IRQ_INDEX, VFIO.PCI_INTX_IRQ_INDEX) }),
  fc.constant<Action>({ kind: 'reset' }),
);

describe('hardware events interleaved with device file use', () => {
  for (const { name, dev: DEV, bridged } of TOPOLOGIES) {
    it(`${name}: only uapi errors escape, bystanders stay as they were, and the device ends up usable`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 24 }), async (actions) => {
          const emu = await createEmulator();
          if (bridged) emu.hw.addBridge(BRIDGE, { secondaryBus: 1 });
          const fn = emu.hw.addEndpoint(DEV, PME_SPEC);
          emu.hw.addEndpoint(BYSTANDER, { ...PCIE_SPEC, deviceId: 0x10fc });
          if (bridged) {
            emu.hw.addEndpoint(SIBLING, { ...PCIE_SPEC, deviceId: 0x10fd });
            emu.host.bind(SIBLING);
          }
          emu.host.bind(DEV);
          const file = emu.host.openDevice(DEV);
          const efd = emu.host.eventfd();
          // what recovery may reset: the device, and behind a bridge everything below it
          const scope = bridged ? [DEV, SIBLING, BRIDGE] : [DEV];
          const before = snapshotConfig(emu, scope);
          for (const a of actions) {
            try {
              switch (a.kind) {
                case 'pme':
                  fn.raisePme();
                  break;
                case 'aer':
                  fn.reportAerError(a.bit, { correctable: a.correctable, fatal: a.fatal });
                  break;
                case 'cfgRead':
                  file.read(regionOffset(VFIO.PCI_CONFIG_REGION_INDEX, a.off), a.size);
                  break;
                case 'cfgWrite': {
                  const b = new Uint8Array(a.size);
                  for (let i = 0; i < a.size; i++) b[i] = (a.value >>> (8 * i)) & 0xff;
                  file.write(regionOffset(VFIO.PCI_CONFIG_REGION_INDEX, a.off), b);
                  break;
                }
                case 'barRead':
                  file.read(regionOffset(0, a.off), 4);
                  break;
                case 'lowPower':
                  if (a.which === 'entry') feature({ file }, VFIO.DEVICE_FEATURE_SET | VFIO.DEVICE_FEATURE_LOW_POWER_ENTRY);
                  else if (a.which === 'wakeup') feature({ file }, VFIO.DEVICE_FEATURE_SET | VFIO.DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP, wakeup(efd.fd));
                  else feature({ file }, VFIO.DEVICE_FEATURE_SET | VFIO.DEVICE_FEATURE_LOW_POWER_EXIT);
                  break;
                case 'irqs':
                  file.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(VFIO.IRQ_SET_DATA_EVENTFD | VFIO.IRQ_SET_ACTION_TRIGGER, a.index, 0, 1, fds(efd.fd)));
                  break;
                case 'reset':
                  file.ioctl(VFIO.DEVICE_RESET, new Uint8Array(0));
                  break;
              }
            } catch (e) {
              expect(e).toBeInstanceOf(VfioError);
              expect((e as VfioError).message).not.toMatch(/internal error/);
            }
          }
          expect(snapshotConfig(emu, scope)).toEqual(before);
          // out of low power and back in D0 (the user may have written D3hot itself), and a working
          // device: identity, memory decode after enabling it
          const pmcsr = fn.capOffset(L.M_PM_CAP) + 4;
          feature({ file }, VFIO.DEVICE_FEATURE_SET | VFIO.DEVICE_FEATURE_LOW_POWER_EXIT);
          file.write(regionOffset(VFIO.PCI_CONFIG_REGION_INDEX, pmcsr), Uint8Array.of(0));
          expect(emu.hw.configRead(DEV, pmcsr, 2) & 3).toBe(0);
          expect(readLe(file, VFIO.PCI_CONFIG_REGION_INDEX, 0, 4)).toBe(0x10fb8086);
          file.write(regionOffset(VFIO.PCI_CONFIG_REGION_INDEX, 4), Uint8Array.of(0x06, 0));
          file.write(regionOffset(0, 0x40), Uint8Array.of(1, 2, 3, 4));
          expect(readLe(file, 0, 0x40, 4)).toBe(0x04030201);
          file.close();
          expect(emu.hw.configRead(DEV, pmcsr, 2) & 3).toBe(0);
        }),
        { numRuns: 60 },
      );
    });
  }
});
