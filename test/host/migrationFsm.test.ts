import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MIG_FLAG,
  MigState,
  isSupportedArc,
  migrationArcs,
  migrationDriverArcs,
  migrationNextState,
  migrationStateSupported,
} from '../../src/host/vfio/migrationFsm.js';
import { VfioError } from '../../src/host/vfio/vfioError.js';

type StateName = keyof typeof MigState;
interface Fixture {
  states: StateName[];
  cases: { flags: number; flagNames: string[]; next: Record<StateName, Record<StateName, StateName | 'EINVAL'>> }[];
}
const fixture = JSON.parse(
  readFileSync(new URL('../fixtures/migrationNextState.json', import.meta.url), 'utf8'),
) as Fixture;

const { ERROR, STOP, RUNNING, STOP_COPY, RESUMING, RUNNING_P2P, PRE_COPY, PRE_COPY_P2P } = MigState;
const SC = MIG_FLAG.STOP_COPY;
const P2P = MIG_FLAG.P2P;
const PC = MIG_FLAG.PRE_COPY;
const CAPABILITY_SETS = [SC, SC | P2P, SC | PC, SC | P2P | PC];
const ALL_STATES = [ERROR, STOP, RUNNING, STOP_COPY, RESUMING, RUNNING_P2P, PRE_COPY, PRE_COPY_P2P];
const SAVING_GROUP = new Set([PRE_COPY, PRE_COPY_P2P, STOP_COPY]);
const name = (s: MigState) => MigState[s];

function expectEinval(fn: () => unknown): VfioError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(VfioError);
  const err = caught as VfioError;
  expect(err.errno).toBe(22);
  expect(err.code).toBe('EINVAL');
  return err;
}

/** Supported (non-ERROR) states of a capability set, by the uapi's description of the flags. */
function statesOf(flags: number): MigState[] {
  if (!(flags & SC)) return [];
  const s = [STOP, RUNNING, STOP_COPY, RESUMING];
  if (flags & P2P) s.push(RUNNING_P2P);
  if (flags & PC) s.push(PRE_COPY);
  if (flags & P2P && flags & PC) s.push(PRE_COPY_P2P);
  return s;
}

/** The driver arcs as the task lists them, per capability. */
function listedArcs(flags: number): Set<string> {
  const arcs = ['STOP>RUNNING', 'RUNNING>STOP', 'STOP>STOP_COPY', 'STOP_COPY>STOP', 'STOP>RESUMING', 'RESUMING>STOP'];
  if (flags & P2P) arcs.push('RUNNING>RUNNING_P2P', 'RUNNING_P2P>RUNNING', 'RUNNING_P2P>STOP', 'STOP>RUNNING_P2P');
  if (flags & PC) arcs.push('RUNNING>PRE_COPY', 'PRE_COPY>RUNNING', 'PRE_COPY>STOP_COPY');
  if (flags & P2P && flags & PC) {
    arcs.push(
      'PRE_COPY>PRE_COPY_P2P',
      'PRE_COPY_P2P>PRE_COPY',
      'PRE_COPY_P2P>STOP_COPY',
      'RUNNING_P2P>PRE_COPY_P2P',
      'PRE_COPY_P2P>RUNNING_P2P',
    );
  }
  return new Set(arcs);
}

describe('migrationNextState against the kernel table (golden fixture)', () => {
  it('fixture covers every capability set asked for, with and without STOP_COPY', () => {
    const flags = fixture.cases.map((c) => c.flags).sort((a, b) => a - b);
    expect(flags).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    for (const c of fixture.cases) {
      expect(Object.keys(c.next)).toEqual(fixture.states);
      for (const row of Object.values(c.next)) expect(Object.keys(row)).toEqual(fixture.states);
    }
    expect(fixture.states).toEqual(ALL_STATES.map(name));
  });

  for (const c of fixture.cases) {
    it(`all 8x8 pairs for flags ${c.flags} (${c.flagNames.join('|') || 'none'})`, () => {
      for (const cur of fixture.states) {
        for (const tgt of fixture.states) {
          const expected = c.next[cur][tgt];
          const call = () => migrationNextState(MigState[cur], MigState[tgt], c.flags);
          if (expected === 'EINVAL') expectEinval(call);
          else expect(call(), `${cur} -> ${tgt}`).toBe(MigState[expected]);
        }
      }
    });
  }

  it('unknown extra capability bits change nothing (the kernel only checks required bits)', () => {
    for (const c of fixture.cases) {
      const flags = (c.flags | 0x8 | 0x100 | 0x80000000) >>> 0;
      for (const cur of fixture.states) {
        for (const tgt of fixture.states) {
          const expected = c.next[cur][tgt];
          const call = () => migrationNextState(MigState[cur], MigState[tgt], flags);
          if (expected === 'EINVAL') expectEinval(call);
          else expect(call()).toBe(MigState[expected]);
        }
      }
    }
  });

  it('with all 32 capability bits set ERROR counts as supported, as in the kernel', () => {
    expect(migrationNextState(ERROR, STOP, 0xffffffff)).toBe(ERROR);
    expect(migrationNextState(RUNNING, ERROR, 0xffffffff)).toBe(ERROR);
    expect(migrationNextState(STOP_COPY, PRE_COPY, 0xffffffff)).toBe(ERROR);
    expect(migrationNextState(RUNNING, STOP, 0xffffffff)).toBe(RUNNING_P2P);
  });
});

describe('migrationNextState input checks', () => {
  it('throws EINVAL for numbers that are not states', () => {
    for (const bad of [-1, 8, 9, 255, 2 ** 32, 1.5, Number.NaN, Infinity]) {
      expectEinval(() => migrationNextState(bad as MigState, STOP, SC | P2P | PC));
      expectEinval(() => migrationNextState(STOP, bad as MigState, SC | P2P | PC));
    }
  });

  it('throws EINVAL for flags that are not a u32', () => {
    for (const bad of [-1, 2 ** 32, 1.5, Number.NaN]) expectEinval(() => migrationNextState(STOP, RUNNING, bad));
  });

  it('messages say what was wrong', () => {
    expect(expectEinval(() => migrationNextState(RUNNING, PRE_COPY, SC)).message).toMatch(/PRE_COPY.*STOP_COPY\|PRE_COPY.*device has STOP_COPY/);
    expect(expectEinval(() => migrationNextState(STOP, RUNNING, P2P)).message).toMatch(/does not support migration.*lack STOP_COPY/);
    expect(expectEinval(() => migrationNextState(STOP, ERROR, SC)).message).toMatch(/ERROR/);
    expect(expectEinval(() => migrationNextState(STOP, 9 as MigState, SC)).message).toMatch(/requested migration state 9 is not a state/);
    expect(expectEinval(() => migrationNextState(STOP, RUNNING, -1)).message).toMatch(/not a u32/);
  });
});

describe('migrationArcs', () => {
  // Combination transitions the kernel documents for a device with P2P and PRE_COPY.
  const DOCUMENTED_PATHS = [
    'PRE_COPY PRE_COPY_P2P STOP_COPY',
    'PRE_COPY RUNNING RUNNING_P2P',
    'PRE_COPY RUNNING RUNNING_P2P STOP',
    'PRE_COPY RUNNING RUNNING_P2P STOP RESUMING',
    'PRE_COPY_P2P RUNNING_P2P RUNNING',
    'PRE_COPY_P2P RUNNING_P2P STOP',
    'PRE_COPY_P2P RUNNING_P2P STOP RESUMING',
    'RESUMING STOP RUNNING_P2P',
    'RESUMING STOP RUNNING_P2P PRE_COPY_P2P',
    'RESUMING STOP RUNNING_P2P RUNNING',
    'RESUMING STOP RUNNING_P2P RUNNING PRE_COPY',
    'RESUMING STOP STOP_COPY',
    'RUNNING RUNNING_P2P PRE_COPY_P2P',
    'RUNNING RUNNING_P2P STOP',
    'RUNNING RUNNING_P2P STOP RESUMING',
    'RUNNING RUNNING_P2P STOP STOP_COPY',
    'RUNNING_P2P RUNNING PRE_COPY',
    'RUNNING_P2P STOP RESUMING',
    'RUNNING_P2P STOP STOP_COPY',
    'STOP RUNNING_P2P PRE_COPY_P2P',
    'STOP RUNNING_P2P RUNNING',
    'STOP RUNNING_P2P RUNNING PRE_COPY',
    'STOP_COPY STOP RESUMING',
    'STOP_COPY STOP RUNNING_P2P',
    'STOP_COPY STOP RUNNING_P2P RUNNING',
  ];

  it('with every capability, the multi-arc routes are exactly the documented ones', () => {
    const full = SC | P2P | PC;
    const multi: string[] = [];
    for (const cur of statesOf(full)) {
      for (const tgt of statesOf(full)) {
        const arcs = migrationArcs(cur, tgt, full);
        if (arcs.length > 1) multi.push([cur, ...arcs].map(name).join(' '));
      }
    }
    expect(multi.sort()).toEqual([...DOCUMENTED_PATHS].sort());
  });

  it('is empty when already there, and ends in ERROR only for STOP_COPY -> pre-copy', () => {
    expect(migrationArcs(RUNNING, RUNNING, SC)).toEqual([]);
    expect(migrationArcs(STOP_COPY, PRE_COPY, SC | PC)).toEqual([ERROR]);
    expect(migrationArcs(STOP_COPY, PRE_COPY, SC | P2P | PC)).toEqual([ERROR]);
    expect(migrationArcs(STOP_COPY, PRE_COPY_P2P, SC | P2P | PC)).toEqual([ERROR]);
    expect(migrationArcs(RUNNING, STOP_COPY, SC)).toEqual([STOP, STOP_COPY]);
    expect(migrationArcs(PRE_COPY, STOP_COPY, SC | PC)).toEqual([STOP_COPY]);
    expect(migrationArcs(PRE_COPY, RESUMING, SC | PC)).toEqual([RUNNING, STOP, RESUMING]);
  });

  it('throws EINVAL like migrationNextState, even when current is target', () => {
    expectEinval(() => migrationArcs(PRE_COPY, PRE_COPY, SC));
    expectEinval(() => migrationArcs(ERROR, ERROR, SC | P2P | PC));
    expectEinval(() => migrationArcs(STOP, RUNNING_P2P, SC | PC));
    expectEinval(() => migrationArcs(STOP, RUNNING, 0));
  });

  for (const flags of CAPABILITY_SETS) {
    it(`flags ${flags}: every route reaches its target or ERROR through driver arcs only, without loops, by a shortest path`, () => {
      const states = statesOf(flags);
      const listed = listedArcs(flags);
      const used = new Set<string>();
      for (const cur of states) {
        for (const tgt of states) {
          const arcs = migrationArcs(cur, tgt, flags);
          const route = [cur, ...arcs];
          expect(new Set(route).size, route.map(name).join(' ')).toBe(route.length);
          const last = route[route.length - 1];
          if (last === ERROR) {
            expect(cur).toBe(STOP_COPY);
            expect([PRE_COPY, PRE_COPY_P2P]).toContain(tgt);
            expect(arcs).toEqual([ERROR]);
            continue;
          }
          expect(last).toBe(tgt);
          for (let i = 0; i + 1 < route.length; i++) {
            const [a, b] = [route[i]!, route[i + 1]!];
            expect(migrationStateSupported(b, flags)).toBe(true);
            expect(isSupportedArc(a, b, flags), `${name(a)} -> ${name(b)}`).toBe(true);
            expect(listed.has(`${name(a)}>${name(b)}`), `${name(a)} -> ${name(b)} listed`).toBe(true);
            // saving-group states are end points, except when the route stays inside the group
            if (i > 0 && SAVING_GROUP.has(a)) expect(route.slice(0, i + 1).every((s) => SAVING_GROUP.has(s))).toBe(true);
            used.add(`${name(a)}>${name(b)}`);
          }
          expect(arcs.length).toBe(shortestRoute(cur, tgt, flags));
        }
      }
      // migrationDriverArcs is exact: each listed driver arc is used by some route, nothing else is
      const driver = migrationDriverArcs(flags).map(([a, b]) => `${name(a)}>${name(b)}`);
      expect([...used].sort()).toEqual([...driver].sort());
    });
  }

  /** Breadth-first search over the driver arcs, entering a saving-group state only at the end or while inside the group. */
  function shortestRoute(from: MigState, to: MigState, flags: number): number | undefined {
    const arcs = migrationDriverArcs(flags);
    const start = { s: from, inGroup: SAVING_GROUP.has(from), d: 0 };
    const seen = new Set([`${start.s}/${start.inGroup}`]);
    const queue = [start];
    while (queue.length > 0) {
      const u = queue.shift()!;
      if (u.s === to) return u.d;
      if (u.s !== from && SAVING_GROUP.has(u.s) && !u.inGroup) continue;
      for (const [a, b] of arcs) {
        if (a !== u.s) continue;
        const v = { s: b, inGroup: u.inGroup && SAVING_GROUP.has(b), d: u.d + 1 };
        const key = `${v.s}/${v.inGroup}`;
        if (!seen.has(key)) {
          seen.add(key);
          queue.push(v);
        }
      }
    }
    return undefined;
  }
});

describe('isSupportedArc / migrationDriverArcs', () => {
  it('lists the arcs the kernel requires of a driver for each capability set', () => {
    const show = (flags: number) => migrationDriverArcs(flags).map(([a, b]) => `${name(a)}>${name(b)}`).sort();
    expect(show(SC)).toEqual(['RESUMING>STOP', 'RUNNING>STOP', 'STOP>RESUMING', 'STOP>RUNNING', 'STOP>STOP_COPY', 'STOP_COPY>STOP']);
    expect(show(SC | P2P)).toEqual(
      ['RESUMING>STOP', 'RUNNING>RUNNING_P2P', 'RUNNING_P2P>RUNNING', 'RUNNING_P2P>STOP', 'STOP>RESUMING', 'STOP>RUNNING_P2P', 'STOP>STOP_COPY', 'STOP_COPY>STOP'],
    );
    expect(show(SC | PC)).toEqual(
      ['PRE_COPY>RUNNING', 'PRE_COPY>STOP_COPY', 'RESUMING>STOP', 'RUNNING>PRE_COPY', 'RUNNING>STOP', 'STOP>RESUMING', 'STOP>RUNNING', 'STOP>STOP_COPY', 'STOP_COPY>STOP'],
    );
    expect(show(SC | P2P | PC)).toHaveLength(15);
    expect(show(0)).toEqual([]);
    expect(show(P2P | PC)).toEqual([]);
  });

  it('rejects self arcs, ERROR, blocked and unsupported arcs', () => {
    const full = SC | P2P | PC;
    for (const s of ALL_STATES) expect(isSupportedArc(s, s, full)).toBe(false);
    for (const s of ALL_STATES) {
      expect(isSupportedArc(s, ERROR, full)).toBe(false);
      expect(isSupportedArc(ERROR, s, full)).toBe(false);
    }
    expect(isSupportedArc(STOP_COPY, PRE_COPY, full)).toBe(false);
    expect(isSupportedArc(STOP_COPY, RUNNING, full)).toBe(false);
    expect(isSupportedArc(STOP, RUNNING, full)).toBe(false); // P2P devices go through RUNNING_P2P
    expect(isSupportedArc(STOP, RUNNING, SC)).toBe(true);
    expect(isSupportedArc(PRE_COPY, STOP_COPY, full)).toBe(false); // through PRE_COPY_P2P
    expect(isSupportedArc(PRE_COPY, STOP_COPY, SC | PC)).toBe(true);
    expect(isSupportedArc(STOP, STOP_COPY, P2P)).toBe(false);
    expect(isSupportedArc(STOP, STOP_COPY, -1)).toBe(false);
  });
});

describe('property: random request sequences', () => {
  it('never reach an unsupported state, never loop, and leave the state alone on refusal', () => {
    const flagsArb = fc.tuple(fc.constantFrom(...CAPABILITY_SETS), fc.constantFrom(0, 0x8, 0x40000000));
    fc.assert(
      fc.property(
        flagsArb,
        fc.nat(),
        fc.array(fc.integer({ min: -1, max: 9 }), { maxLength: 40 }),
        ([caps, extra], startPick, requests) => {
          const flags = caps | extra;
          const states = statesOf(caps);
          let state = states[startPick % states.length]!;
          for (const req of requests) {
            const valid = states.includes(req as MigState);
            if (!valid) {
              expectEinval(() => migrationArcs(state, req as MigState, flags));
              continue;
            }
            const arcs = migrationArcs(state, req as MigState, flags);
            const route = [state, ...arcs];
            expect(new Set(route).size).toBe(route.length);
            expect(arcs.length).toBeLessThanOrEqual(4);
            if (arcs[arcs.length - 1] === ERROR) {
              expect(state).toBe(STOP_COPY);
              expect(arcs).toEqual([ERROR]);
              continue; // the kernel answers EINVAL; the device stays in STOP_COPY
            }
            for (let i = 0; i + 1 < route.length; i++) {
              expect(migrationStateSupported(route[i + 1]!, flags)).toBe(true);
              expect(isSupportedArc(route[i]!, route[i + 1]!, flags)).toBe(true);
            }
            state = req as MigState;
            expect(states).toContain(state);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
