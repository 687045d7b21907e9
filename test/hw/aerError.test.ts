// Device-reported PCIe errors (PciFunction.reportAerError): the AER status registers (RW1C, sticky),
// Device Status's error bits, masking, severity, and the error message the InterruptSink receives.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InterruptLog } from '../../src/index.js';
import type { EndpointSpec, Hardware, PciFunction } from '../../src/index.js';
import {
  PCI_COMMAND, PCI_COMMAND_SERR, PCI_ERR_COR_MASK, PCI_ERR_COR_STATUS, PCI_ERR_UNCOR_MASK, PCI_ERR_UNCOR_SEVER,
  PCI_ERR_UNCOR_STATUS, PCI_EXP_DEVCTL, PCI_EXP_DEVSTA, PCI_EXT_CAP_ID_ERR, PCI_STATUS, PCI_STATUS_SIG_SYSTEM_ERROR,
} from '../../src/hw/pciRegs.js';
import { L } from '../../src/core/wasm.js';
import { disposeHardware, newHardware } from './helpers.js';

const BDF = '0000:00:04.0';
const SPEC: EndpointSpec = {
  vendorId: 0x1234,
  deviceId: 0x5678,
  classCode: 0x020000,
  bars: [{ kind: 'mem32', size: 0x1000 }],
  capabilities: [{ id: 'pcie' }],
  extendedCapabilities: [{ id: 'dsn', serial: 7n }, { id: 'aer' }],
};
/** Completion Timeout (bit 14, non-fatal by default), Malformed TLP (bit 18, fatal by default). */
const CMPL_TIMEOUT = 14;
const MALF_TLP = 18;
const UNSUP = 20;
/** Receiver Error (bit 0), Advisory Non-Fatal (bit 13, masked by default). */
const RCVR = 0;
const ADVISORY = 13;

let hw: Hardware;
let fn: PciFunction;
let log: InterruptLog;
let exp: number;
let aer: number;

beforeEach(async () => {
  hw = await newHardware();
  log = new InterruptLog();
  hw.setInterruptSink(log);
  fn = hw.addEndpoint(BDF, SPEC);
  exp = fn.capOffset(L.M_PCIE_CAP);
  aer = fn.extCapOffset(PCI_EXT_CAP_ID_ERR);
});
afterEach(() => disposeHardware(hw));

const devsta = () => fn.configRead(exp + PCI_EXP_DEVSTA, 2);
const enableReporting = (bits = 0xf) => fn.configWrite(exp + PCI_EXP_DEVCTL, 2, fn.configRead(exp + PCI_EXP_DEVCTL, 2) | bits);

describe('reportAerError', () => {
  it('finds AER behind another extended capability', () => {
    expect(aer).toBeGreaterThan(0x100);
    expect(fn.configRead(aer, 4) & 0xffff).toBe(PCI_EXT_CAP_ID_ERR);
  });

  it('sets the uncorrectable status bit (RW1C) and Non-Fatal Error Detected; no message while reporting is disabled', () => {
    fn.reportAerError(CMPL_TIMEOUT);
    expect(fn.configRead(aer + PCI_ERR_UNCOR_STATUS, 4)).toBe(1 << CMPL_TIMEOUT);
    expect(devsta()).toBe(0x2);
    expect(log.errors).toEqual([]);
    fn.configWrite(aer + PCI_ERR_UNCOR_STATUS, 4, 1 << CMPL_TIMEOUT);
    fn.configWrite(exp + PCI_EXP_DEVSTA, 2, 0x2);
    expect(fn.configRead(aer + PCI_ERR_UNCOR_STATUS, 4)).toBe(0);
    expect(devsta()).toBe(0);
  });

  it('sends ERR_NONFATAL / ERR_FATAL per the Severity register once Device Control enables them', () => {
    enableReporting();
    fn.reportAerError(CMPL_TIMEOUT);
    fn.reportAerError(MALF_TLP);
    expect(devsta()).toBe(0x6);
    expect(log.errors).toEqual([{ source: BDF, severity: 'nonfatal' }, { source: BDF, severity: 'fatal' }]);
    // the Severity register decides, not the caller
    fn.configWrite(aer + PCI_ERR_UNCOR_SEVER, 4, 1 << CMPL_TIMEOUT);
    log.clear();
    fn.reportAerError(CMPL_TIMEOUT, { fatal: false });
    expect(log.errors).toEqual([{ source: BDF, severity: 'fatal' }]);
  });

  it('reports only what its Device Control bit enables; SERR# Enable also sends and sets Signaled System Error', () => {
    enableReporting(0x4); // fatal only
    fn.reportAerError(CMPL_TIMEOUT);
    expect(log.errors).toEqual([]);
    fn.configWrite(PCI_COMMAND, 2, PCI_COMMAND_SERR);
    fn.reportAerError(CMPL_TIMEOUT);
    expect(log.errors).toEqual([{ source: BDF, severity: 'nonfatal' }]);
    expect(fn.configRead(PCI_STATUS, 2) & PCI_STATUS_SIG_SYSTEM_ERROR).toBe(PCI_STATUS_SIG_SYSTEM_ERROR);
  });

  it('a masked uncorrectable error sets its status and Device Status but sends nothing', () => {
    enableReporting();
    fn.configWrite(aer + PCI_ERR_UNCOR_MASK, 4, 1 << MALF_TLP);
    fn.reportAerError(MALF_TLP);
    expect(fn.configRead(aer + PCI_ERR_UNCOR_STATUS, 4)).toBe(1 << MALF_TLP);
    expect(devsta()).toBe(0x4);
    expect(log.errors).toEqual([]);
  });

  it('Unsupported Request also sets UR Detected and needs UR Reporting Enable', () => {
    enableReporting(0x7);
    fn.reportAerError(UNSUP);
    expect(devsta()).toBe(0xa);
    expect(log.errors).toEqual([]);
    enableReporting(0x8);
    fn.reportAerError(UNSUP);
    expect(log.errors).toEqual([{ source: BDF, severity: 'nonfatal' }]);
  });

  it('correctable errors: COR status, Correctable Error Detected, ERR_COR unless masked', () => {
    enableReporting(0x1);
    fn.reportAerError(RCVR, { correctable: true });
    fn.reportAerError(ADVISORY, { correctable: true }); // masked by default
    expect(fn.configRead(aer + PCI_ERR_COR_STATUS, 4)).toBe((1 << RCVR) | (1 << ADVISORY));
    expect(devsta()).toBe(0x1);
    expect(log.errors).toEqual([{ source: BDF, severity: 'correctable' }]);
    fn.configWrite(aer + PCI_ERR_COR_MASK, 4, 1 << RCVR);
    fn.reportAerError(RCVR, { correctable: true });
    expect(log.errors).toHaveLength(1);
  });

  it('the AER status is sticky across a bus reset; Device Status is not', () => {
    fn.reportAerError(CMPL_TIMEOUT);
    fn.reset('bus');
    expect(fn.configRead(aer + PCI_ERR_UNCOR_STATUS, 4)).toBe(1 << CMPL_TIMEOUT);
    expect(devsta()).toBe(0);
  });

  it('rejects bits the endpoint does not implement', () => {
    expect(() => fn.reportAerError(0)).toThrow(RangeError);
    expect(() => fn.reportAerError(3, { correctable: true })).toThrow(RangeError);
    expect(() => fn.reportAerError(32)).toThrow(RangeError);
  });

  it('without AER, logs Device Status only and takes the severity from the caller', () => {
    disposeHardware(hw);
    const f = hw.addEndpoint(BDF, { ...SPEC, extendedCapabilities: [] });
    const e = f.capOffset(L.M_PCIE_CAP);
    f.configWrite(e + PCI_EXP_DEVCTL, 2, f.configRead(e + PCI_EXP_DEVCTL, 2) | 0x7);
    f.reportAerError(CMPL_TIMEOUT, { fatal: true });
    expect(f.configRead(e + PCI_EXP_DEVSTA, 2)).toBe(0x4);
    expect(log.errors).toEqual([{ source: BDF, severity: 'fatal' }]);
  });
});
