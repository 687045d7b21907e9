// Function Level Reset (PCIe r4.0 6.6.2) through Device Control bit 15, and Secondary Bus Reset
// through a bridge's Bridge Control bit 6. A reset returns non-sticky registers, the MSI-X table and
// the device model to power-on; sticky bits (RWS, RW1CS, ROS: AER) survive both, and FLR also leaves
// the link configuration alone.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InterruptLog } from '../../src/index.js';
import type { EndpointSpec, Hardware, PciFunction } from '../../src/index.js';
import { CMD_MEM, configDiff, configSnapshot, newHardware, programBar, disposeHardware } from './helpers.js';

const BDF = '0000:00:0a.0';
const EXP = 0x40; // PCIe capability
const DEVCTL = EXP + 8;
const DEVSTA = EXP + 0xa;
const LNKCTL = EXP + 0x10;
const LNKCTL2 = EXP + 0x30;
const MSIX = 0x7c;
const AER = 0x100;
const MEM = 0xfd000000;

const spec = (flr: boolean): EndpointSpec => ({
  vendorId: 0x8086,
  deviceId: 0x1521,
  classCode: 0x020000,
  interruptPin: 1,
  bars: [{ kind: 'mem32', size: 0x8000 }],
  capabilities: [{ id: 'pcie', flr }, { id: 'msix', vectors: 4, tableBar: 0, tableOffset: 0x4000, pbaBar: 0, pbaOffset: 0x6000 }],
  extendedCapabilities: [{ id: 'aer' }],
});

let hw: Hardware;
let log: InterruptLog;
let f: PciFunction;

beforeEach(async () => {
  hw = await newHardware();
  log = new InterruptLog();
  hw.setInterruptSink(log);
});
afterEach(() => disposeHardware(hw));

/** Puts the function into a thoroughly non-power-on state. */
function dirty(): void {
  programBar(hw, BDF, 0, MEM);
  hw.configWrite(BDF, 0x04, 2, CMD_MEM | 0x4);
  hw.configWrite(BDF, 0x0c, 1, 0x10);
  hw.configWrite(BDF, 0x3c, 1, 10);
  f.signalStatus(0x2000); // Received Master Abort
  f.setIntx(true);
  hw.configWrite(BDF, MSIX + 2, 2, 0x8000);
  hw.mmioWrite(MEM + 0x4000, 4, 0xfee00000);
  hw.mmioWrite(MEM + 0x4008, 4, 0x77);
  hw.mmioWrite(MEM + 0x400c, 4, 0);
  hw.mmioWrite(MEM + 0x100, 4, 0x12345678); // device memory behind BAR0
  hw.configWrite(BDF, DEVCTL, 2, 0x2810 | 0x000f | 0x0020); // error reporting enables, MPS 256 B
  f.setRegister(DEVSTA, 2, 0x0005); // Correctable + Fatal Error Detected
  hw.configWrite(BDF, LNKCTL, 2, 0x0043); // ASPM L0s+L1, Common Clock Configuration
  hw.configWrite(BDF, LNKCTL2, 2, 0x0021); // HW Autonomous Speed Disable
  f.setRegister(AER + 4, 4, 0x00001010); // Uncorrectable: DLP, Poisoned TLP
  hw.configWrite(BDF, AER + 8, 4, 0x00401000); // mask Poisoned TLP too
  hw.configWrite(BDF, AER + 0xc, 4, 0x00000010); // only DLP fatal
  f.setRegister(AER + 0x10, 4, 0x00000041); // Correctable: Receiver Error, Bad TLP
  hw.configWrite(BDF, AER + 0x14, 4, 0x0000f000); // mask Replay Timer Timeout too
  expect(log.intxLevels.get(BDF), 'INTx asserted before the reset').toBe(false); // MSI-X enabled: INTx suppressed
}

function expectPowerOnExceptSticky(): void {
  expect(hw.configRead(BDF, 0x04, 2), 'Command').toBe(0);
  expect(hw.configRead(BDF, 0x06, 2), 'Status').toBe(0x0010);
  expect(hw.configRead(BDF, 0x0c, 1), 'Cache Line Size').toBe(0);
  expect(hw.configRead(BDF, 0x10, 4), 'BAR0').toBe(0);
  expect(hw.configRead(BDF, 0x3c, 1), 'Interrupt Line').toBe(0);
  expect(hw.configRead(BDF, MSIX + 2, 2), 'MSI-X Message Control').toBe(3);
  expect(hw.configRead(BDF, DEVSTA, 2), 'Device Status (RW1C, not sticky)').toBe(0);
  expect(f.intxLevel, 'INTx no longer driven').toBe(false);
  // back to decoding: table masked and empty, device memory at power-on
  programBar(hw, BDF, 0, MEM);
  hw.configWrite(BDF, 0x04, 2, CMD_MEM);
  expect([0, 4, 8, 12].map((o) => hw.mmioRead(MEM + 0x4000 + o, 4))).toEqual([0, 0, 0, 1]);
  expect(hw.mmioRead(MEM + 0x100, 4)).toBe(0);
}

function expectStickyKept(): void {
  expect(hw.configRead(BDF, AER + 4, 4), 'AER Uncorrectable Status (RW1CS)').toBe(0x00001010);
  expect(hw.configRead(BDF, AER + 8, 4), 'AER Uncorrectable Mask (RWS)').toBe(0x00401000);
  expect(hw.configRead(BDF, AER + 0xc, 4), 'AER Uncorrectable Severity (RWS)').toBe(0x00000010);
  expect(hw.configRead(BDF, AER + 0x10, 4), 'AER Correctable Status (RW1CS)').toBe(0x00000041);
  expect(hw.configRead(BDF, AER + 0x14, 4), 'AER Correctable Mask (RWS)').toBe(0x0000f000);
  expect(hw.configRead(BDF, LNKCTL2, 2), 'Link Control 2 (RWS)').toBe(0x0021);
}

describe('Function Level Reset', () => {
  const triggers: [string, () => void][] = [
    ['a word write of Device Control with bit 15', () => hw.configWrite(BDF, DEVCTL, 2, hw.configRead(BDF, DEVCTL, 2) | 0x8000)],
    ['a byte write of Device Control bits 15:8', () => hw.configWrite(BDF, DEVCTL + 1, 1, 0x80)],
    ['a dword write of Device Control + Device Status', () => hw.configWrite(BDF, DEVCTL, 4, hw.configRead(BDF, DEVCTL, 2) | 0x8000)],
  ];

  it('is advertised in Device Capabilities when flr is set', () => {
    f = hw.addEndpoint(BDF, spec(true));
    expect(hw.configRead(BDF, EXP + 4, 4) & 0x10000000).toBe(0x10000000);
  });

  it.each(triggers)('%s resets the function; Initiate FLR reads 0', (_name, trigger) => {
    f = hw.addEndpoint(BDF, spec(true));
    dirty();
    trigger();
    expect(hw.configRead(BDF, DEVCTL, 2) & 0x8000, 'Initiate FLR reads 0').toBe(0);
    // FLR keeps Max_Payload_Size and the Link Control settings; everything else non-sticky is reset
    expect(hw.configRead(BDF, DEVCTL, 2), 'Device Control: power-on except MPS').toBe(0x2810 | 0x0020);
    expect(hw.configRead(BDF, LNKCTL, 2), 'Link Control kept').toBe(0x0043);
    expectStickyKept();
    expectPowerOnExceptSticky();
  });

  it('deasserts an asserted INTx line', () => {
    f = hw.addEndpoint(BDF, spec(true));
    f.setIntx(true);
    expect(log.intxLevels.get(BDF)).toBe(true);
    expect(hw.configRead(BDF, 0x06, 2) & 0x8).toBe(0x8);
    hw.configWrite(BDF, DEVCTL + 1, 1, 0x80);
    expect(log.intxLevels.get(BDF)).toBe(false);
    expect(hw.configRead(BDF, 0x06, 2) & 0x8, 'Status.Interrupt').toBe(0);
  });

  it('without FLR support bit 15 is read-only 0 and nothing is reset', () => {
    f = hw.addEndpoint(BDF, spec(false));
    expect(hw.configRead(BDF, EXP + 4, 4) & 0x10000000).toBe(0);
    dirty();
    const before = configSnapshot(hw, BDF);
    hw.configWrite(BDF, DEVCTL + 1, 1, 0x80 | (before[DEVCTL + 1] & 0x7f));
    expect(configDiff(before, configSnapshot(hw, BDF))).toEqual([]);
    expect(hw.mmioRead(MEM + 0x100, 4)).toBe(0x12345678);
  });
});

describe('Secondary Bus Reset', () => {
  const BR = '0000:00:1c.0';
  const DS = '0000:01:01.0';
  const BEHIND = ['0000:01:00.0', '0000:02:00.0'];
  const ASIDE = '0000:00:03.0';

  it('resets every function below the bridge, recursively, and nothing else', () => {
    hw.addBridge(BR, { secondaryBus: 1, portType: 'pci' });
    hw.addBridge(DS, { secondaryBus: 2, portType: 'pci' });
    for (const bdf of [...BEHIND, ASIDE]) hw.addEndpoint(bdf, spec(true));
    f = hw.function(BEHIND[1])!;
    for (const bdf of [...BEHIND, ASIDE]) {
      hw.configWrite(bdf, 0x04, 2, CMD_MEM);
      hw.configWrite(bdf, 0x3c, 1, 9);
      hw.configWrite(bdf, AER + 8, 4, 0x00401000);
    }
    hw.configWrite(DS, 0x04, 2, CMD_MEM);
    hw.configWrite(DS, 0x20, 4, 0xfe10fe00); // memory window
    hw.configWrite(BR, 0x04, 2, CMD_MEM);
    hw.configWrite(BR, 0x3c, 1, 5);
    const aside = configSnapshot(hw, ASIDE);

    hw.configWrite(BR, 0x3e, 2, 0x0040);
    expect(hw.configRead(BR, 0x3e, 2), 'Secondary Bus Reset reads back while asserted').toBe(0x0040);
    hw.configWrite(BR, 0x3e, 2, 0);

    for (const bdf of BEHIND) {
      expect(hw.configRead(bdf, 0x04, 2), `${bdf} Command`).toBe(0);
      expect(hw.configRead(bdf, 0x3c, 1), `${bdf} Interrupt Line`).toBe(0);
      expect(hw.configRead(bdf, AER + 8, 4), `${bdf} AER mask is sticky`).toBe(0x00401000);
    }
    expect(hw.configRead(DS, 0x04, 2), 'bridge below: Command').toBe(0);
    expect(hw.configRead(DS, 0x20, 4), 'bridge below: memory window closed again').toBe(0x0000fff0);
    // the bridge itself and functions elsewhere are untouched
    expect(hw.configRead(BR, 0x04, 2)).toBe(CMD_MEM);
    expect(hw.configRead(BR, 0x3c, 1)).toBe(5);
    expect(configDiff(aside, configSnapshot(hw, ASIDE))).toEqual([]);
  });
});

describe('D3hot -> D0 soft reset (No_Soft_Reset = 0)', () => {
  it('resets the function but keeps sticky AER and Link Control 2 bits', () => {
    const s = spec(true);
    f = hw.addEndpoint(BDF, { ...s, capabilities: [...s.capabilities!, { id: 'pm' }] });
    dirty();
    const pm = 0x88; // after PCIe (0x40, 0x3c bytes) and MSI-X (0x7c, 12 bytes)
    const pmcsr = pm + 4;
    expect(hw.configRead(BDF, pm, 1), 'PM capability ID').toBe(0x01);
    hw.configWrite(BDF, pmcsr, 2, 3);
    hw.configWrite(BDF, pmcsr, 2, 0);
    expect(hw.configRead(BDF, DEVCTL, 2), 'Device Control back to power-on').toBe(0x2810);
    expect(hw.configRead(BDF, LNKCTL, 2), 'Link Control back to power-on').toBe(0);
    expectStickyKept();
    expectPowerOnExceptSticky();
  });
});
