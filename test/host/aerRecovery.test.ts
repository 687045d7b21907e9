// The host's AER handling: pci_aer_init at enumeration (status cleared, Device Control error
// reporting enabled for functions with AER), and what an error message leads to (aer.c
// pci_aer_handle_error, err.c pcie_do_recovery with aer_root_reset): the drivers' error callbacks
// in the kernel's order over every device below the port, the reset after a fatal error, and the
// status the host clears afterwards.
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { createEmulator } from '../../src/emulator.js';
import type { Emulator } from '../../src/emulator.js';
import { L } from '../../src/core/wasm.js';
import { AER_COR_BITS, AER_UNCOR_BITS } from '../../src/hw/capabilities/aer.js';
import { buildSriov } from '../../src/hw/capabilities/sriov.js';
import { GenericEndpoint } from '../../src/hw/devices/genericEndpoint.js';
import type { PciFunction } from '../../src/hw/pciFunction.js';
import {
  PCI_BASE_ADDRESS_0, PCI_COMMAND, PCI_COMMAND_MASTER, PCI_COMMAND_MEMORY, PCI_ERR_COR_MASK, PCI_ERR_COR_STATUS,
  PCI_ERR_UNCOR_MASK, PCI_ERR_UNCOR_SEVER, PCI_ERR_UNCOR_STATUS, PCI_EXP_DEVCTL, PCI_EXP_DEVSTA, PCI_EXT_CAP_ID_ERR,
} from '../../src/hw/pciRegs.js';
import type { EndpointSpec } from '../../src/hw/spec.js';
import { Sriov } from '../../src/hw/sriov.js';
import { PCI_EXP_AER_FLAGS } from '../../src/host/aer.js';
import type { HostPciDev } from '../../src/host/pciCore.js';
import type { PciDev, PciDriver, PciErsResult } from '../../src/host/pciDriver.js';
import { CONVENTIONAL_SPEC, PCIE_SPEC, VFIO, fds, irqSet, openOne } from './vfio/machine.js';

const BRIDGE = '0000:00:01.0';
const F0 = '0000:01:00.0';
const F1 = '0000:01:00.1';
const OUT = '0000:00:03.0';
/** Completion Timeout (non-fatal by default), Malformed TLP (fatal by default), Receiver Error, Advisory Non-Fatal (masked by default). */
const CMPL_TIMEOUT = 14;
const MALF_TLP = 18;
const RCVR = 0;
const ADVISORY = 13;
const DEVSTA_ERRORS = 0x000f;

/** A PCIe endpoint with AER and no FLR, no PM: only a bus reset reaches it. */
const AER_SPEC: EndpointSpec = {
  vendorId: 0x1234,
  deviceId: 0x4321,
  classCode: 0x020000,
  interruptPin: 1,
  bars: [{ kind: 'mem32', size: 0x1000 }],
  capabilities: [{ id: 'pcie' }],
  extendedCapabilities: [{ id: 'aer' }],
};
/** PCIe without AER. */
const NO_AER_SPEC: EndpointSpec = { ...AER_SPEC, deviceId: 0x4322, extendedCapabilities: [] };

const exp = (fn: PciFunction) => fn.capOffset(L.M_PCIE_CAP);
const aerOf = (fn: PciFunction) => fn.extCapOffset(PCI_EXT_CAP_ID_ERR);
const devctl = (fn: PciFunction) => fn.configRead(exp(fn) + PCI_EXP_DEVCTL, 2);
const devsta = (fn: PciFunction) => fn.configRead(exp(fn) + PCI_EXP_DEVSTA, 2);
const uncor = (fn: PciFunction) => fn.configRead(aerOf(fn) + PCI_ERR_UNCOR_STATUS, 4);
const cor = (fn: PciFunction) => fn.configRead(aerOf(fn) + PCI_ERR_COR_STATUS, 4);
/** Every config dword of a function, as the hardware answers. */
const dump = (fn: PciFunction) => Array.from({ length: 1024 }, (_, i) => fn.hw.configRead(fn.bdf, 4 * i, 4));

interface Behaviour {
  detected?: PciErsResult;
  mmio?: PciErsResult;
  slot?: PciErsResult;
  /** slot_reset does what drivers do: pci_restore_state */
  restore?: boolean;
  /** callbacks the driver leaves out */
  without?: ('errorDetected' | 'mmioEnabled' | 'slotReset' | 'resume' | 'corErrorDetected')[];
}

/**
 * A driver that records its error callbacks as "<bdf> <callback>[ <state>]". Probe enables the
 * device with bus mastering and saves its state (pci_save_state), as a real driver would.
 */
function recorder(emu: Emulator, log: string[], behaviour: (bdf: string) => Behaviour = () => ({})): PciDriver {
  const short = (d: PciDev) => d.bdf.slice(5);
  const drv: PciDriver = {
    name: 'aer-recorder',
    idTable: [],
    probe(d) {
      emu.host.pci.enableDevice(d as HostPciDev);
      emu.host.pci.setMaster(d as HostPciDev, true);
      emu.host.pci.saveState(d as HostPciDev);
    },
    remove() {},
    errorDetected(d, state) {
      log.push(`${short(d)} error_detected ${state}`);
      return behaviour(d.bdf).detected ?? 'can_recover';
    },
    mmioEnabled(d) {
      log.push(`${short(d)} mmio_enabled`);
      return behaviour(d.bdf).mmio ?? 'recovered';
    },
    slotReset(d) {
      log.push(`${short(d)} slot_reset`);
      if (behaviour(d.bdf).restore) emu.host.pci.restoreState(d as HostPciDev);
      return behaviour(d.bdf).slot ?? 'recovered';
    },
    resume(d) {
      log.push(`${short(d)} resume`);
    },
    corErrorDetected(d) {
      log.push(`${short(d)} cor_error_detected`);
    },
  };
  return drv;
}

/** Registers `drv` and binds it to each of `bdfs` (driver_override, then bind). */
function bindAll(emu: Emulator, drv: PciDriver, bdfs: string[], without: Behaviour['without'] = []): void {
  const d = { ...drv } as Record<string, unknown>;
  for (const k of without) delete d[k];
  emu.host.registerDriver(d as unknown as PciDriver);
  for (const bdf of bdfs) {
    emu.host.driverOverride(bdf, drv.name);
    emu.host.bind(bdf, drv.name);
  }
}

let emu: Emulator | undefined;
afterEach(() => {
  if (emu) for (const f of emu.hw.functions().reverse()) emu.hw.removeFunction(f.bdf);
  emu = undefined;
});

/** A root port with a two-function AER device behind it, and an AER device on the root bus; all enumerated. */
async function bridgeMachine() {
  emu = await createEmulator({ memoryBytes: 1 << 20 });
  const hw = emu.hw;
  const bridge = hw.addBridge(BRIDGE, { secondaryBus: 1 });
  const f0 = hw.addEndpoint(F0, AER_SPEC);
  const f1 = hw.addEndpoint(F1, { ...AER_SPEC, deviceId: 0x4323 });
  const out = hw.addEndpoint(OUT, AER_SPEC);
  emu.host.pciDev(F0);
  return { emu, hw, bridge, f0, f1, out };
}

describe('pci_aer_init at enumeration', () => {
  it('enables error reporting (CERE|NFERE|FERE|URRE) in Device Control of functions with AER only', async () => {
    emu = await createEmulator({ memoryBytes: 1 << 20 });
    const withAer = emu.hw.addEndpoint('0000:00:02.0', AER_SPEC);
    const noAer = emu.hw.addEndpoint('0000:00:04.0', NO_AER_SPEC);
    const conventional = emu.hw.addEndpoint('0000:00:05.0', CONVENTIONAL_SPEC);
    const convBefore = dump(conventional);
    expect(devctl(withAer) & PCI_EXP_AER_FLAGS).toBe(0);
    const noAerBefore = devctl(noAer);
    emu.host.pciDev('0000:00:02.0'); // the host's PCI core enumerates everything
    expect(PCI_EXP_AER_FLAGS).toBe(0xf);
    expect(devctl(withAer) & PCI_EXP_AER_FLAGS).toBe(PCI_EXP_AER_FLAGS);
    expect(devctl(withAer) & ~PCI_EXP_AER_FLAGS).toBe(0x2810); // the rest as it powered on
    expect(devctl(noAer)).toBe(noAerBefore);
    expect(emu.host.pciDev('0000:00:04.0').aerCap).toBe(0);
    expect(emu.host.pciDev('0000:00:02.0').aerCap).toBe(aerOf(withAer));
    // Command may change (resources), but nothing in the capabilities of a conventional function
    expect(dump(conventional).slice(0x10)).toEqual(convBefore.slice(0x10));
  });

  it('clears AER status logged before the host came up; Device Status stays as it was', async () => {
    emu = await createEmulator({ memoryBytes: 1 << 20 });
    const fn = emu.hw.addEndpoint('0000:00:02.0', AER_SPEC);
    fn.reportAerError(CMPL_TIMEOUT);
    fn.reportAerError(RCVR, { correctable: true });
    expect(uncor(fn)).toBe(1 << CMPL_TIMEOUT);
    expect(cor(fn)).toBe(1 << RCVR);
    emu.host.pciDev('0000:00:02.0');
    expect(uncor(fn)).toBe(0);
    expect(cor(fn)).toBe(0);
    expect(devsta(fn) & DEVSTA_ERRORS).toBe(0x3); // pci_aer_init does not touch Device Status
  });

  it('a function hot-added after the host enumerated gets the same on the next rescan', async () => {
    emu = await createEmulator({ memoryBytes: 1 << 20 });
    emu.hw.addEndpoint('0000:00:02.0', AER_SPEC);
    emu.host.pciDev('0000:00:02.0');
    const late = emu.hw.addEndpoint('0000:00:06.0', AER_SPEC);
    expect(devctl(late) & PCI_EXP_AER_FLAGS).toBe(0);
    emu.host.pciDev('0000:00:06.0');
    expect(devctl(late) & PCI_EXP_AER_FLAGS).toBe(PCI_EXP_AER_FLAGS);
  });

  it('SR-IOV VFs with AER get it when pci_iov_add_virtfn adds them', async () => {
    emu = await createEmulator({ memoryBytes: 1 << 20 });
    const PF = '0000:00:04.0';
    class SriovEndpoint extends GenericEndpoint {
      sriov: Sriov | null = null;
      configWritten(_fn: PciFunction, off: number, size: 1 | 2 | 4): void {
        if (this.sriov?.covers(off, size)) this.sriov.configWritten(off, size);
      }
      override reset(): void {
        super.reset();
        this.sriov?.reset();
      }
    }
    const model = new SriovEndpoint();
    let layout: ReturnType<typeof buildSriov> | null = null;
    emu.hw.addFunction(
      PF,
      AER_SPEC,
      model,
      (b) => {
        layout = buildSriov(b, { totalVfs: 2, firstVfOffset: 1, vfStride: 1, vfDeviceId: 0x4399, functionLink: 0, vfBars: [{ kind: 'mem32', size: 0x1000 }] });
      },
      (f) => {
        model.sriov = new Sriov(f, layout!, { createVf: () => ({ spec: { ...AER_SPEC, bars: [] }, model: new GenericEndpoint() }) });
      },
    );
    expect(emu.host.bind(PF)).toBe('vfio-pci');
    expect(emu.host.sriovConfigure(PF, 2)).toBe(2);
    for (const vf of model.sriov!.vfs) {
      expect(emu.host.pciDev(vf.bdf).isVirtfn).toBe(true);
      expect(devctl(vf) & PCI_EXP_AER_FLAGS).toBe(PCI_EXP_AER_FLAGS);
    }
  });

  it('vfio-pci shows the enabled bits: DevCtl error reporting reads through to the hardware', async () => {
    const o = await openOne(PCIE_SPEC);
    emu = o.emu;
    const fn = o.emu.host.pciDev(o.bdf).fn;
    expect(o.c.configRead(exp(fn) + PCI_EXP_DEVCTL, 2) & PCI_EXP_AER_FLAGS).toBe(PCI_EXP_AER_FLAGS);
  });
});

describe('non-fatal and correctable errors of a vfio-pci device', () => {
  async function withErrFd() {
    const o = await openOne(PCIE_SPEC);
    emu = o.emu;
    const err = o.emu.host.eventfd();
    o.file.ioctl(VFIO.DEVICE_SET_IRQS, irqSet(VFIO.IRQ_SET_DATA_EVENTFD | VFIO.IRQ_SET_ACTION_TRIGGER, VFIO.PCI_ERR_IRQ_INDEX, 0, 1, fds(err.fd)));
    const fn = o.emu.host.pciDev(o.bdf).fn;
    return { ...o, err, fn, aer: aerOf(fn), exp: exp(fn) };
  }

  it('non-fatal: ERR signalled once, then AER Uncorrectable Status and DevSta read back clear through the config region', async () => {
    const { c, err, fn, aer, exp: e } = await withErrFd();
    const before = dump(fn);
    fn.reportAerError(CMPL_TIMEOUT);
    expect(err.signals).toBe(1);
    expect(c.configRead(aer + PCI_ERR_UNCOR_STATUS, 4)).toBe(0);
    expect(c.configRead(e + PCI_EXP_DEVSTA, 2) & DEVSTA_ERRORS).toBe(0);
    expect(dump(fn)).toEqual(before); // no reset for a non-fatal error
    expect(emu!.host.pciDev(fn.bdf).errorState).toBe('normal');
  });

  it('fatal: ERR once, the device reset by FLR; the sticky fatal bit stays until a reset through vfio restores state', async () => {
    const { c, err, fn, aer, exp: e } = await withErrFd();
    fn.reportAerError(MALF_TLP);
    expect(err.signals).toBe(1);
    expect(fn.configRead(PCI_COMMAND, 2) & PCI_COMMAND_MEMORY).toBe(0); // FLR, nothing restored
    expect(c.configRead(e + PCI_EXP_DEVSTA, 2) & DEVSTA_ERRORS).toBe(0);
    expect(c.configRead(aer + PCI_ERR_UNCOR_STATUS, 4)).toBe(1 << MALF_TLP);
    c.reset(); // VFIO_DEVICE_RESET: pci_try_reset_function ends in pci_restore_state
    expect(c.configRead(aer + PCI_ERR_UNCOR_STATUS, 4)).toBe(0);
  });

  it('correctable: no ERR, the host clears Correctable Status and DevSta', async () => {
    const { c, err, fn, aer, exp: e } = await withErrFd();
    fn.reportAerError(RCVR, { correctable: true });
    expect(err.signals).toBe(0);
    expect(c.configRead(aer + PCI_ERR_COR_STATUS, 4)).toBe(0);
    expect(c.configRead(e + PCI_EXP_DEVSTA, 2) & DEVSTA_ERRORS).toBe(0);
  });

  it('a masked error sends nothing: no ERR, its status stays for the host to find later', async () => {
    const { err, fn, aer } = await withErrFd();
    fn.reportAerError(ADVISORY, { correctable: true }); // masked by default
    fn.configWrite(aer + PCI_ERR_UNCOR_MASK, 4, 1 << CMPL_TIMEOUT);
    fn.reportAerError(CMPL_TIMEOUT);
    expect(err.signals).toBe(0);
    expect(cor(fn)).toBe(1 << ADVISORY);
    expect(uncor(fn)).toBe(1 << CMPL_TIMEOUT);
    expect(devsta(fn) & DEVSTA_ERRORS).toBe(0x3);
  });
});

describe('pcie_do_recovery over the devices below the port', () => {
  it('fatal: error_detected(frozen) to all, Secondary Bus Reset, mmio_enabled, resume; the device outside is untouched', async () => {
    const { emu, f0, f1, out, bridge } = await bridgeMachine();
    const log: string[] = [];
    const seen: Record<string, number> = {};
    const drv = recorder(emu, log);
    const inner = drv.mmioEnabled!;
    drv.mmioEnabled = (d) => {
      seen[d.bdf] = d.fn.configRead(PCI_COMMAND, 2);
      return inner(d);
    };
    bindAll(emu, drv, [F0, F1, OUT]);
    expect(f0.configRead(PCI_COMMAND, 2) & PCI_COMMAND_MEMORY).toBe(PCI_COMMAND_MEMORY);
    const outBefore = dump(out);
    const bridgeBefore = dump(bridge);
    f0.reportAerError(MALF_TLP);
    expect(log).toEqual([
      '01:00.0 error_detected frozen', '01:00.1 error_detected frozen',
      '01:00.0 mmio_enabled', '01:00.1 mmio_enabled',
      '01:00.0 resume', '01:00.1 resume',
    ]);
    // the reset happened between error_detected and mmio_enabled: Command back to 0
    expect(seen).toEqual({ [F0]: 0, [F1]: 0 });
    for (const f of [f0, f1]) {
      expect(f.configRead(PCI_COMMAND, 2)).toBe(0);
      expect(f.configRead(PCI_BASE_ADDRESS_0, 4)).toBe(0);
      expect(devctl(f) & PCI_EXP_AER_FLAGS).toBe(0); // Device Control is not sticky; nobody restored it
      expect(emu.host.pciDev(f.bdf).errorState).toBe('normal');
    }
    // the source's Device Status is clear; its fatal AER bit is sticky and only pci_restore_state clears it
    expect(devsta(f0) & DEVSTA_ERRORS).toBe(0);
    expect(uncor(f0)).toBe(1 << MALF_TLP);
    expect(dump(out)).toEqual(outBefore);
    expect(dump(bridge)).toEqual(bridgeBefore);
  });

  it('fatal with NEED_RESET: slot_reset instead of mmio_enabled; a driver restoring its state gets the AER status cleared', async () => {
    const { emu, f0, f1 } = await bridgeMachine();
    const log: string[] = [];
    const cmd = f0.configRead(PCI_COMMAND, 2);
    bindAll(emu, recorder(emu, log, (bdf) => (bdf === F1 ? { detected: 'need_reset' } : { restore: true })), [F0, F1]);
    const bar0 = f0.configRead(PCI_BASE_ADDRESS_0, 4);
    f0.reportAerError(MALF_TLP);
    expect(log).toEqual([
      '01:00.0 error_detected frozen', '01:00.1 error_detected frozen',
      '01:00.0 slot_reset', '01:00.1 slot_reset',
      '01:00.0 resume', '01:00.1 resume',
    ]);
    expect(f0.configRead(PCI_COMMAND, 2) & (PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER)).toBe(PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    expect(cmd & PCI_COMMAND_MASTER).toBe(0); // mastering came from the driver's probe, and came back
    expect(f0.configRead(PCI_BASE_ADDRESS_0, 4)).toBe(bar0);
    expect(devctl(f0) & PCI_EXP_AER_FLAGS).toBe(PCI_EXP_AER_FLAGS);
    expect(uncor(f0)).toBe(0);
    expect(devsta(f0) & DEVSTA_ERRORS).toBe(0);
    expect(f1.configRead(PCI_COMMAND, 2)).toBe(0); // F1's driver did not restore
  });

  it('non-fatal: error_detected(normal) to all, mmio_enabled, resume, no reset; non-fatal status cleared', async () => {
    const { emu, f0, f1 } = await bridgeMachine();
    const log: string[] = [];
    bindAll(emu, recorder(emu, log), [F0, F1, OUT]);
    const f1Before = dump(f1);
    const cmd = f0.configRead(PCI_COMMAND, 2);
    f1.reportAerError(CMPL_TIMEOUT);
    expect(log).toEqual([
      '01:00.0 error_detected normal', '01:00.1 error_detected normal',
      '01:00.0 mmio_enabled', '01:00.1 mmio_enabled',
      '01:00.0 resume', '01:00.1 resume',
    ]);
    expect(f0.configRead(PCI_COMMAND, 2)).toBe(cmd);
    expect(dump(f1)).toEqual(f1Before);
  });

  it('a non-fatal error with a NEED_RESET vote gets slot_reset but no reset (the kernel does none there)', async () => {
    const { emu, f0 } = await bridgeMachine();
    const log: string[] = [];
    bindAll(emu, recorder(emu, log, () => ({ detected: 'need_reset' })), [F0, F1]);
    const cmd = f0.configRead(PCI_COMMAND, 2);
    f0.reportAerError(CMPL_TIMEOUT);
    expect(log.filter((l) => l.startsWith('01:00.0'))).toEqual(['01:00.0 error_detected normal', '01:00.0 slot_reset', '01:00.0 resume']);
    expect(f0.configRead(PCI_COMMAND, 2)).toBe(cmd);
    expect(uncor(f0)).toBe(0);
  });

  it('callbacks a driver leaves out are skipped; without error_detected the recovery fails after the reset', async () => {
    const { emu, f0, f1 } = await bridgeMachine();
    const log: string[] = [];
    bindAll(emu, recorder(emu, log), [F0, F1], ['mmioEnabled', 'resume']);
    f0.reportAerError(CMPL_TIMEOUT);
    expect(log).toEqual(['01:00.0 error_detected normal', '01:00.1 error_detected normal']);
    expect(uncor(f0)).toBe(0);

    // F1 without a driver: NO_AER_DRIVER, nothing after error_detected, status left for later
    log.length = 0;
    emu.host.unbind(F1);
    f0.reportAerError(CMPL_TIMEOUT);
    expect(log).toEqual(['01:00.0 error_detected normal']);
    expect(uncor(f0)).toBe(1 << CMPL_TIMEOUT);
    expect(devsta(f0) & DEVSTA_ERRORS).toBe(0x2);
    // a fatal one still resets everything below the port, then gives up: channels stay frozen
    log.length = 0;
    f0.reportAerError(MALF_TLP);
    expect(log).toEqual(['01:00.0 error_detected frozen']);
    expect(f0.configRead(PCI_COMMAND, 2)).toBe(0);
    expect(emu.host.pciDev(F0).errorState).toBe('frozen');
    expect(emu.host.pciDev(F1).errorState).toBe('frozen');
    expect(f1.configRead(PCI_COMMAND, 2)).toBe(0);
  });

  it('walks nested buses depth first; a bridge without a driver does not spoil the recovery', async () => {
    emu = await createEmulator({ memoryBytes: 1 << 20 });
    const hw = emu.hw;
    hw.addBridge(BRIDGE, { secondaryBus: 1 });
    hw.addBridge('0000:01:00.0', { secondaryBus: 2, portType: 'downstream' });
    const deep = hw.addEndpoint('0000:02:00.0', AER_SPEC);
    const src = hw.addEndpoint('0000:01:01.0', AER_SPEC);
    const log: string[] = [];
    bindAll(emu, recorder(emu, log), ['0000:02:00.0', '0000:01:01.0']);
    // an error below the downstream port covers that port's bus only
    deep.reportAerError(CMPL_TIMEOUT);
    expect(log).toEqual(['02:00.0 error_detected normal', '02:00.0 mmio_enabled', '02:00.0 resume']);
    log.length = 0;
    src.reportAerError(MALF_TLP);
    expect(log).toEqual([
      '02:00.0 error_detected frozen', '01:01.0 error_detected frozen',
      '02:00.0 mmio_enabled', '01:01.0 mmio_enabled',
      '02:00.0 resume', '01:01.0 resume',
    ]);
    expect(deep.configRead(PCI_COMMAND, 2)).toBe(0); // the reset reaches every bus below the port
    // nobody restored Device Control: the reset devices report nothing any more (Linux alike)
    log.length = 0;
    deep.reportAerError(CMPL_TIMEOUT);
    expect(log).toEqual([]);
    expect(devctl(deep) & PCI_EXP_AER_FLAGS).toBe(0);
  });

  it('a root-bus endpoint is its own bridge (as an RCiEP): FLR resets it alone; without FLR the recovery fails', async () => {
    emu = await createEmulator({ memoryBytes: 1 << 20 });
    const flr = emu.hw.addEndpoint('0000:00:02.0', { ...AER_SPEC, capabilities: [{ id: 'pcie', flr: true }] });
    const noFlr = emu.hw.addEndpoint('0000:00:04.0', AER_SPEC);
    const log: string[] = [];
    bindAll(emu, recorder(emu, log), ['0000:00:02.0', '0000:00:04.0']);
    const other = dump(noFlr);
    flr.reportAerError(MALF_TLP);
    expect(log).toEqual(['00:02.0 error_detected frozen', '00:02.0 mmio_enabled', '00:02.0 resume']);
    expect(flr.configRead(PCI_COMMAND, 2)).toBe(0);
    expect(dump(noFlr)).toEqual(other);
    log.length = 0;
    noFlr.reportAerError(MALF_TLP);
    expect(log).toEqual(['00:04.0 error_detected frozen']);
    expect(emu.host.pciDev('0000:00:04.0').errorState).toBe('frozen');
    expect(noFlr.configRead(PCI_COMMAND, 2) & PCI_COMMAND_MEMORY).toBe(PCI_COMMAND_MEMORY);
  });

  it('correctable: cor_error_detected only, status cleared; masked: nothing', async () => {
    const { emu, f0 } = await bridgeMachine();
    const log: string[] = [];
    bindAll(emu, recorder(emu, log), [F0, F1]);
    f0.reportAerError(RCVR, { correctable: true });
    expect(log).toEqual(['01:00.0 cor_error_detected']);
    expect(cor(f0)).toBe(0);
    expect(devsta(f0) & DEVSTA_ERRORS).toBe(0);
    log.length = 0;
    f0.reportAerError(ADVISORY, { correctable: true });
    f0.configWrite(aerOf(f0) + PCI_ERR_UNCOR_MASK, 4, 1 << MALF_TLP);
    f0.reportAerError(MALF_TLP);
    expect(log).toEqual([]);
    expect(cor(f0)).toBe(1 << ADVISORY);
    expect(uncor(f0)).toBe(1 << MALF_TLP);
  });

  it('a function without AER is not handled, even when it sends a message (SERR# enabled)', async () => {
    emu = await createEmulator({ memoryBytes: 1 << 20 });
    const fn = emu.hw.addEndpoint('0000:00:04.0', NO_AER_SPEC);
    const log: string[] = [];
    bindAll(emu, recorder(emu, log), ['0000:00:04.0']);
    fn.configWrite(PCI_COMMAND, 2, fn.configRead(PCI_COMMAND, 2) | 0x100);
    fn.reportAerError(MALF_TLP, { fatal: true });
    expect(log).toEqual([]);
    expect(devsta(fn) & DEVSTA_ERRORS).toBe(0x4);
  });
});

describe('property: an error changes config only where Linux says', () => {
  const uncorBits = [...Array(32).keys()].filter((b) => (AER_UNCOR_BITS >>> b) & 1);
  const corBits = [...Array(32).keys()].filter((b) => (AER_COR_BITS >>> b) & 1);

  it('outside the port nothing changes; below it only AER status and DevSta, unless a fatal error reset the devices', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.nat(31),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.constantFrom(F0, F1),
        async (correctable, pick, sever, mask, source) => {
          const m = await bridgeMachine();
          try {
            bindAll(m.emu, recorder(m.emu, []), [F0, F1, OUT]);
            const src = source === F0 ? m.f0 : m.f1;
            const peer = source === F0 ? m.f1 : m.f0;
            const aer = aerOf(src);
            const bits = correctable ? corBits : uncorBits;
            const bit = bits[pick % bits.length];
            // the host owns the mask and severity registers; a random setting through the hardware
            src.configWrite(aer + PCI_ERR_UNCOR_SEVER, 4, sever & AER_UNCOR_BITS);
            src.configWrite(aer + (correctable ? PCI_ERR_COR_MASK : PCI_ERR_UNCOR_MASK), 4, mask & (correctable ? AER_COR_BITS : AER_UNCOR_BITS));
            const before = { src: dump(src), peer: dump(peer), out: dump(m.out), bridge: dump(m.bridge) };
            const masked = ((mask >>> bit) & 1) === 1;
            const fatal = !correctable && ((sever >>> bit) & 1) === 1;
            src.reportAerError(bit, { correctable });
            expect(dump(m.out)).toEqual(before.out);
            expect(dump(m.bridge)).toEqual(before.bridge);
            if (fatal && !masked) {
              for (const f of [src, peer]) {
                expect(f.configRead(PCI_COMMAND, 2)).toBe(0);
                expect(f.configRead(PCI_BASE_ADDRESS_0, 4)).toBe(0);
              }
              expect(uncor(src)).toBe((1 << bit) >>> 0); // sticky fatal bit
              expect(devsta(src) & DEVSTA_ERRORS).toBe(0);
              return;
            }
            expect(dump(peer)).toEqual(before.peer);
            const e = exp(src);
            const changed = before.src.flatMap((v, i) => (dump(src)[i] !== v ? [4 * i] : []));
            for (const off of changed) expect([aer + PCI_ERR_UNCOR_STATUS, aer + PCI_ERR_COR_STATUS, e + PCI_EXP_DEVCTL]).toContain(off);
            expect(devctl(src)).toBe(before.src[(e + PCI_EXP_DEVCTL) >> 2] & 0xffff);
            if (masked) {
              expect(correctable ? cor(src) : uncor(src)).toBe((1 << bit) >>> 0);
            } else {
              expect(cor(src)).toBe(0);
              expect(uncor(src)).toBe(0);
              expect(devsta(src) & DEVSTA_ERRORS).toBe(0);
            }
          } finally {
            for (const f of m.hw.functions().reverse()) m.hw.removeFunction(f.bdf);
            emu = undefined;
          }
        },
      ),
      { numRuns: 30 },
    );
  });
});
