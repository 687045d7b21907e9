// Power Management Events (PCI PM 1.2 3.2.3-3.2.4, PCIe r4.0 5.3.3.2): the `pme` option of the PM
// capability (PME_Support from D0 and D3hot, PME_En writable), PciFunction.raisePme (PME_Status set
// when PME_Support covers the current D-state, the message sent only with PME_En), PME_Status RW1C,
// and every reset clearing both bits (no PME from D3cold, so they are not sticky).
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InterruptLog } from '../../src/index.js';
import type { EndpointSpec, Hardware, PciFunction } from '../../src/index.js';
import { pcieEndpointSpec, pmBlock } from '../fixtures/configSpace.js';
import type { GoldenBlock } from '../fixtures/configSpace.js';
import { describeGolden } from './golden.js';
import { configDiff, configSnapshot, disposeHardware, freshEndpoint, newHardware } from './helpers.js';

const BDF = '0000:00:0a.0';
const PM = 0x40;
const PMC = PM + 2;
const PMCSR = PM + 4;
const EXP = 0x48;
const DEVCTL = EXP + 8;
const PME_EN = 0x0100;
const PME_STATUS = 0x8000;

const spec = (pm: { noSoftReset?: boolean; pme?: boolean }, flr = false): EndpointSpec => ({
  vendorId: 0x8086,
  deviceId: 0x1533,
  classCode: 0x020000,
  interruptPin: 1,
  bars: [{ kind: 'mem32', size: 0x1000 }],
  capabilities: [{ id: 'pm', ...pm }, { id: 'pcie', flr }],
});

// the golden PM block, for the same endpoint with PME: only PMC and PMCSR's PME_En differ
const pmePmBlock: GoldenBlock = {
  ...pmBlock,
  name: 'PM with PME',
  spec: { ...pcieEndpointSpec, capabilities: pcieEndpointSpec.capabilities!.map((c) => (c.id === 'pm' ? { ...c, pme: true } : c)) },
  regs: pmBlock.regs.map((r) => {
    // PME_Support: D0 (bit 11) and D3hot (bit 14); not D1/D2 (unsupported states), not D3cold
    if (r.name === 'PMC') return { ...r, init: 0x4803 };
    // PME_En (bit 8) RW; PME_Status RW1C as before
    if (r.name === 'PMCSR') return { ...r, rw: 0x0103 };
    return r;
  }),
};

describe('PM capability golden layouts', () => {
  describeGolden(pmePmBlock);
});

let hw: Hardware;
let log: InterruptLog;
let f: PciFunction;
const csr = () => hw.configRead(BDF, PMCSR, 2);
const setState = (s: number) => hw.configWrite(BDF, PMCSR, 2, (csr() & ~(3 | PME_STATUS)) | s);

beforeEach(async () => {
  hw = await newHardware();
  log = new InterruptLog();
  hw.setInterruptSink(log);
});
afterEach(() => disposeHardware(hw));

describe('without the pme option (the default)', () => {
  beforeEach(() => {
    f = hw.addEndpoint(BDF, spec({}));
  });

  it('advertises no PME_Support and PME_En stays 0', () => {
    expect(hw.configRead(BDF, PMC, 2)).toBe(0x0003);
    hw.configWrite(BDF, PMCSR, 2, PME_EN);
    expect(csr()).toBe(0);
    hw.configWrite(BDF, PMCSR + 1, 1, 0xff);
    expect(csr()).toBe(0);
  });

  it('raisePme does nothing, in D0 or D3hot', () => {
    expect(f.raisePme()).toBe(false);
    setState(3);
    expect(f.raisePme()).toBe(false);
    expect(csr()).toBe(3);
    expect(log.pmes).toEqual([]);
  });
});

describe('with pme', () => {
  beforeEach(() => {
    f = hw.addEndpoint(BDF, spec({ pme: true, noSoftReset: true }));
  });

  it('PMC advertises PME from D0 and D3hot; PME_En is writable', () => {
    expect(hw.configRead(BDF, PMC, 2)).toBe(0x4803);
    expect(csr()).toBe(0x0008);
    hw.configWrite(BDF, PMCSR, 2, PME_EN);
    expect(csr()).toBe(0x0108);
    hw.configWrite(BDF, PMCSR + 1, 1, 0);
    expect(csr()).toBe(0x0008);
  });

  it('PME_En clear: PME_Status is set, no message is sent', () => {
    expect(f.raisePme()).toBe(false);
    expect(csr()).toBe(PME_STATUS | 0x0008);
    expect(log.pmes).toEqual([]);
  });

  it('PME_En set: PME_Status is set and the message goes to the sink, from D0 and from D3hot', () => {
    hw.configWrite(BDF, PMCSR, 2, PME_EN);
    expect(f.raisePme()).toBe(true);
    expect(csr() & PME_STATUS).toBe(PME_STATUS);
    expect(log.pmes).toEqual([BDF]);
    hw.configWrite(BDF, PMCSR, 2, PME_STATUS | PME_EN | 3);
    expect(csr()).toBe(0x0108 | 3);
    expect(f.raisePme()).toBe(true);
    expect(log.pmes).toEqual([BDF, BDF]);
    // each event is one message; the status stays set until software clears it
    expect(f.raisePme()).toBe(true);
    expect(log.pmes).toHaveLength(3);
    expect(csr()).toBe(PME_STATUS | 0x0108 | 3);
  });

  it('PME_Status is RW1C: writing 0 keeps it, writing 1 clears it, in every access width', () => {
    for (const [off, size, one] of [
      [PMCSR, 2, PME_STATUS],
      [PMCSR + 1, 1, 0x80],
      [PMCSR, 4, PME_STATUS],
    ] as const) {
      f.raisePme();
      hw.configWrite(BDF, off, size, 0);
      expect(csr() & PME_STATUS, `${size}-byte write of 0`).toBe(PME_STATUS);
      hw.configWrite(BDF, off, size, one);
      expect(csr() & PME_STATUS, `${size}-byte write of 1`).toBe(0);
    }
  });

  it('PME_Support decides per D-state: a function with PME from D0 only ignores raisePme in D3hot', () => {
    f.setRegister(PMC, 2, 0x0803); // device-internal strap change, as a function with PME from D0 only
    hw.configWrite(BDF, PMCSR, 2, PME_EN | 3);
    expect(f.raisePme()).toBe(false);
    expect(csr() & PME_STATUS).toBe(0);
    setState(0);
    expect(f.raisePme()).toBe(true);
    expect(log.pmes).toEqual([BDF]);
  });

  it('a removed function does nothing', () => {
    hw.configWrite(BDF, PMCSR, 2, PME_EN);
    hw.removeFunction(BDF);
    expect(f.raisePme()).toBe(false);
    expect(log.pmes).toEqual([]);
  });
});

describe('resets clear PME_En and PME_Status (not sticky without PME from D3cold)', () => {
  const armed = (s: EndpointSpec) => {
    f = freshEndpoint(hw, BDF, s);
    hw.configWrite(BDF, PMCSR, 2, PME_EN);
    f.raisePme();
    expect(csr() & (PME_EN | PME_STATUS)).toBe(PME_EN | PME_STATUS);
  };

  it('FLR', () => {
    armed(spec({ pme: true, noSoftReset: true }, true));
    hw.configWrite(BDF, DEVCTL + 1, 1, 0x80); // Initiate FLR
    expect(csr()).toBe(0x0008);
  });

  it('D3hot -> D0 without No_Soft_Reset', () => {
    armed(spec({ pme: true }));
    hw.configWrite(BDF, PMCSR, 2, PME_EN | 3);
    hw.configWrite(BDF, PMCSR, 2, PME_EN);
    expect(csr()).toBe(0);
  });

  it('D3hot -> D0 with No_Soft_Reset is no reset: both bits survive', () => {
    armed(spec({ pme: true, noSoftReset: true }));
    hw.configWrite(BDF, PMCSR, 2, PME_EN | 3);
    hw.configWrite(BDF, PMCSR, 2, PME_EN);
    expect(csr()).toBe(PME_STATUS | PME_EN | 0x0008);
  });

  it.each(['bus', 'power'] as const)('%s reset', (kind) => {
    armed(spec({ pme: true, noSoftReset: true }));
    f.reset(kind);
    expect(csr()).toBe(0x0008);
  });
});

describe('property: PMCSR writes and raisePme follow the PM 1.2 model and touch nothing outside PMCSR', () => {
  type Op = { kind: 'write'; off: number; size: 1 | 2 | 4; value: number } | { kind: 'raise' };
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({
      kind: fc.constant('write' as const),
      at: fc.constantFrom(
        { off: PMCSR, size: 4 as const },
        { off: PMCSR, size: 2 as const },
        { off: PMCSR, size: 1 as const },
        { off: PMCSR + 1, size: 1 as const },
        { off: PM, size: 4 as const },
      ),
      value: fc.oneof(fc.nat({ max: 0xffffffff }), fc.constantFrom(0, 3, PME_EN, PME_EN | 3, PME_STATUS, 0xffffffff)),
    }).map(({ at, value }): Op => ({ kind: 'write', off: at.off, size: at.size, value })),
    fc.constant({ kind: 'raise' as const }),
  );

  it.each([
    ['PME, No_Soft_Reset', true, true],
    ['PME, soft reset', true, false],
    ['no PME', false, true],
  ])('%s', (_name, pme, noSoftReset) => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 30 }), (ops) => {
        f = freshEndpoint(hw, BDF, spec({ pme, noSoftReset }));
        log.clear();
        const before = configSnapshot(hw, BDF);
        // the model: D-state, PME_En, PME_Status and messages sent
        let state = 0;
        let en = 0;
        let status = 0;
        let sent = 0;
        for (const o of ops) {
          if (o.kind === 'raise') {
            const ok = f.raisePme();
            if (pme) status = PME_STATUS;
            if (pme && en) sent++;
            expect(ok).toBe(pme && en !== 0);
            continue;
          }
          hw.configWrite(BDF, o.off, o.size, o.value);
          const lo = o.off <= PMCSR && PMCSR < o.off + o.size ? (o.value >>> (8 * (PMCSR - o.off))) & 0xff : -1;
          const hi = o.off <= PMCSR + 1 && PMCSR + 1 < o.off + o.size ? (o.value >>> (8 * (PMCSR + 1 - o.off))) & 0xff : -1;
          if (hi >= 0) {
            if (pme) en = (hi << 8) & PME_EN;
            if (hi & 0x80) status = 0;
          }
          if (lo >= 0 && (lo & 3) !== 1 && (lo & 3) !== 2) {
            const prev = state;
            state = lo & 3;
            if (prev === 3 && state === 0 && !noSoftReset) en = status = 0;
          }
        }
        expect(csr()).toBe(status | en | (noSoftReset ? 0x0008 : 0) | state);
        expect(log.pmes).toHaveLength(sent);
        // nothing but PMCSR changed
        const after = configSnapshot(hw, BDF);
        for (const b of [PMCSR, PMCSR + 1]) after[b] = before[b];
        expect(configDiff(before, after)).toEqual([]);
      }),
      { numRuns: 150 },
    );
  });
});
