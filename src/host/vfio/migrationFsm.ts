import { VfioError } from './vfioError.js';

/**
 * The VFIO migration v2 device states (enum vfio_device_mig_state in include/uapi/linux/vfio.h).
 * ERROR is never a state a user may ask for; a device lands there when an arc fails and it cannot
 * get back to a valid state, and only a device reset leaves it.
 */
export enum MigState {
  /** Error state (VFIO_DEVICE_STATE_ERROR): an arc failed and the device could not recover; only a reset leaves it. */
  ERROR = 0,
  /** Stopped (VFIO_DEVICE_STATE_STOP): no DMA, no interrupts, device state frozen. */
  STOP = 1,
  /** Running normally (VFIO_DEVICE_STATE_RUNNING). */
  RUNNING = 2,
  /** Stopped while the final device state is read from the data fd (VFIO_DEVICE_STATE_STOP_COPY). */
  STOP_COPY = 3,
  /** Stopped while an incoming device state is written to the data fd (VFIO_DEVICE_STATE_RESUMING). */
  RESUMING = 4,
  /** Running but not starting peer-to-peer DMA, a quiesce step (VFIO_DEVICE_STATE_RUNNING_P2P). */
  RUNNING_P2P = 5,
  /** Running while initial device state is read from the data fd (VFIO_DEVICE_STATE_PRE_COPY). */
  PRE_COPY = 6,
  /** PRE_COPY with peer-to-peer quiesced (VFIO_DEVICE_STATE_PRE_COPY_P2P). */
  PRE_COPY_P2P = 7,
}

/** Migration capability bits of VFIO_DEVICE_FEATURE_MIGRATION (VFIO_MIGRATION_*). */
export const MIG_FLAG = Object.freeze({
  /** VFIO_MIGRATION_STOP_COPY: the device has STOP, RUNNING, STOP_COPY and RESUMING. */
  STOP_COPY: 1,
  /** VFIO_MIGRATION_P2P: RUNNING_P2P (and PRE_COPY_P2P with PRE_COPY) exist. */
  P2P: 2,
  /** VFIO_MIGRATION_PRE_COPY: PRE_COPY (and PRE_COPY_P2P with P2P) exist. */
  PRE_COPY: 4,
} as const);

/** Number of states, i.e. one past the largest MigState value. */
export const MIG_STATE_COUNT = 8;

const { ERROR, STOP, RUNNING, STOP_COPY, RESUMING, RUNNING_P2P, PRE_COPY, PRE_COPY_P2P } = MigState;
const { STOP_COPY: F_STOP_COPY, P2P: F_P2P, PRE_COPY: F_PRE_COPY } = MIG_FLAG;

/**
 * Capability bits a device must advertise for a state to exist on it, indexed by MigState.
 * Every state needs STOP_COPY (no STOP_COPY means no migration support at all); the P2P states
 * also need P2P, the PRE_COPY states PRE_COPY. ERROR asks for all 32 bits, which no real
 * capability set has, so ERROR is never accepted as a current or requested state.
 */
export const MIG_STATE_REQUIRED_FLAGS: readonly number[] = Object.freeze([
  0xffffffff, // ERROR
  F_STOP_COPY, // STOP
  F_STOP_COPY, // RUNNING
  F_STOP_COPY, // STOP_COPY
  F_STOP_COPY, // RESUMING
  F_STOP_COPY | F_P2P, // RUNNING_P2P
  F_STOP_COPY | F_PRE_COPY, // PRE_COPY
  F_STOP_COPY | F_P2P | F_PRE_COPY, // PRE_COPY_P2P
]);

/**
 * One step of the route from a state (row) towards a requested state (column), as the kernel's
 * migration core lays it out when every optional state exists. A step into a state the device
 * lacks is followed by looking that state's row up again for the same request, until a state the
 * device has is found. STOP_COPY cannot go back into pre-copy; those entries are ERROR.
 * Columns are in MigState order: ERROR, STOP, RUNNING, STOP_COPY, RESUMING, RUNNING_P2P,
 * PRE_COPY, PRE_COPY_P2P.
 */
const NEXT_STEP: readonly (readonly MigState[])[] = [
  /* ERROR        */ [ERROR, ERROR, ERROR, ERROR, ERROR, ERROR, ERROR, ERROR],
  /* STOP         */ [ERROR, STOP, RUNNING_P2P, STOP_COPY, RESUMING, RUNNING_P2P, RUNNING_P2P, RUNNING_P2P],
  /* RUNNING      */ [ERROR, RUNNING_P2P, RUNNING, RUNNING_P2P, RUNNING_P2P, RUNNING_P2P, PRE_COPY, RUNNING_P2P],
  /* STOP_COPY    */ [ERROR, STOP, STOP, STOP_COPY, STOP, STOP, ERROR, ERROR],
  /* RESUMING     */ [ERROR, STOP, STOP, STOP, RESUMING, STOP, STOP, STOP],
  /* RUNNING_P2P  */ [ERROR, STOP, RUNNING, STOP, STOP, RUNNING_P2P, RUNNING, PRE_COPY_P2P],
  /* PRE_COPY     */ [ERROR, RUNNING, RUNNING, PRE_COPY_P2P, RUNNING, RUNNING, PRE_COPY, PRE_COPY_P2P],
  /* PRE_COPY_P2P */ [ERROR, RUNNING_P2P, RUNNING_P2P, STOP_COPY, RUNNING_P2P, RUNNING_P2P, PRE_COPY, PRE_COPY_P2P],
];

/** The name of a state ('STOP_COPY'), or a description of a number that is not one. */
export function migStateName(state: number): string {
  return isMigState(state) ? MigState[state] : `invalid state ${String(state)}`;
}

/** True if `state` is one of the eight MigState values. */
export function isMigState(state: number): state is MigState {
  return Number.isInteger(state) && state >= 0 && state < MIG_STATE_COUNT;
}

function isU32(flags: number): boolean {
  return Number.isInteger(flags) && flags >= 0 && flags <= 0xffffffff;
}

function flagNames(flags: number): string {
  const names: string[] = (Object.keys(MIG_FLAG) as (keyof typeof MIG_FLAG)[]).filter((n) => (flags & MIG_FLAG[n]) !== 0);
  const unknown = (flags & ~(F_STOP_COPY | F_P2P | F_PRE_COPY)) >>> 0;
  if (unknown !== 0) names.push(`0x${unknown.toString(16)}`);
  return names.length > 0 ? names.join('|') : 'none';
}

/**
 * True if a device with capability bits `flags` has `state`. False for numbers that are not a
 * state and for flags that are not a u32.
 */
export function migrationStateSupported(state: number, flags: number): boolean {
  if (!isMigState(state) || !isU32(flags)) return false;
  const need = MIG_STATE_REQUIRED_FLAGS[state]!;
  return ((flags & need) >>> 0) === need;
}

function checkFlags(flags: number): void {
  if (!isU32(flags)) {
    throw new VfioError('EINVAL', `migration capability flags ${String(flags)} are not a u32 bit mask`);
  }
}

function checkState(role: 'current' | 'requested', state: number, flags: number): void {
  if (!isMigState(state)) {
    throw new VfioError('EINVAL', `${role} migration state ${String(state)} is not a state (valid: 0..${MIG_STATE_COUNT - 1})`);
  }
  if (migrationStateSupported(state, flags)) return;
  if (state === ERROR) {
    throw new VfioError('EINVAL', `${role} migration state ERROR can be neither requested nor left by a state change; only a device reset leaves it`);
  }
  if ((flags & F_STOP_COPY) === 0) {
    throw new VfioError('EINVAL', `${role} migration state ${MigState[state]}: the device does not support migration (capabilities ${flagNames(flags)} lack STOP_COPY)`);
  }
  throw new VfioError(
    'EINVAL',
    `${role} migration state ${MigState[state]} needs capabilities ${flagNames(MIG_STATE_REQUIRED_FLAGS[state]!)} but the device has ${flagNames(flags)}`,
  );
}

/**
 * The end state of the next single arc on the way from `current` to `target` for a device with
 * capability bits `flags`; the kernel's vfio_mig_get_next_state(). Returns `current` when it
 * already is `target`.
 *
 * Returns MigState.ERROR for a request the FSM forbids although both states exist (STOP_COPY to
 * PRE_COPY or PRE_COPY_P2P); the kernel answers such a request with -EINVAL and the device stays
 * where it is. Throws VfioError EINVAL when `current` or `target` is not a state, is ERROR, or
 * needs a capability `flags` lacks (without STOP_COPY, no state is supported), and when `flags` is
 * not a u32.
 */
export function migrationNextState(current: MigState, target: MigState, flags: number): MigState {
  checkFlags(flags);
  checkState('current', current, flags);
  checkState('requested', target, flags);
  let next = NEXT_STEP[current]![target]!;
  // Hop over states this device does not have; the route continues from each as if the device
  // had passed through it.
  for (let hops = 0; !migrationStateSupported(next, flags); hops++) {
    // A forbidden request ends here. (The kernel's own loop keeps looking ERROR up in the table
    // at this point; the answer it means to give is ERROR with -EINVAL.)
    if (next === ERROR) return ERROR;
    if (hops >= MIG_STATE_COUNT) {
      throw new Error(`migration FSM: no supported step from ${MigState[current]} towards ${MigState[target]}`);
    }
    next = NEXT_STEP[next]![target]!;
  }
  return next;
}

/**
 * The whole route from `current` to `target`: the end state of each single arc a migration driver
 * executes, in order, ending with `target` (empty when `current` already is `target`). A route
 * the FSM forbids ends with MigState.ERROR instead; that last entry is not an arc to execute but
 * the kernel's refusal (-EINVAL). Throws like {@link migrationNextState}.
 */
export function migrationArcs(current: MigState, target: MigState, flags: number): MigState[] {
  checkFlags(flags);
  checkState('current', current, flags);
  checkState('requested', target, flags);
  const arcs: MigState[] = [];
  let state = current;
  while (state !== target) {
    const next = migrationNextState(state, target, flags);
    arcs.push(next);
    if (next === ERROR) break;
    if (arcs.length > MIG_STATE_COUNT) {
      throw new Error(`migration FSM: route from ${MigState[current]} to ${MigState[target]} does not end`);
    }
    state = next;
  }
  return arcs;
}

type Arc = readonly [MigState, MigState];

const BASE_ARCS: readonly Arc[] = [
  [STOP, STOP_COPY],
  [STOP_COPY, STOP],
  [STOP, RESUMING],
  [RESUMING, STOP],
];
const NO_P2P_ARCS: readonly Arc[] = [
  [RUNNING, STOP],
  [STOP, RUNNING],
];
const P2P_ARCS: readonly Arc[] = [
  [RUNNING, RUNNING_P2P],
  [RUNNING_P2P, RUNNING],
  [RUNNING_P2P, STOP],
  [STOP, RUNNING_P2P],
];
const PRE_COPY_ARCS: readonly Arc[] = [
  [RUNNING, PRE_COPY],
  [PRE_COPY, RUNNING],
];
const PRE_COPY_NO_P2P_ARCS: readonly Arc[] = [[PRE_COPY, STOP_COPY]];
const PRE_COPY_P2P_ARCS: readonly Arc[] = [
  [PRE_COPY, PRE_COPY_P2P],
  [PRE_COPY_P2P, PRE_COPY],
  [PRE_COPY_P2P, RUNNING_P2P],
  [PRE_COPY_P2P, STOP_COPY],
  [RUNNING_P2P, PRE_COPY_P2P],
];

/**
 * The single arcs a migration driver with capability bits `flags` must implement: exactly the
 * arcs {@link migrationArcs} can ask it to execute. Empty without STOP_COPY or for flags that are
 * not a u32.
 */
export function migrationDriverArcs(flags: number): Array<[MigState, MigState]> {
  if (!isU32(flags) || (flags & F_STOP_COPY) === 0) return [];
  const p2p = (flags & F_P2P) !== 0;
  const preCopy = (flags & F_PRE_COPY) !== 0;
  const groups: (readonly Arc[])[] = [BASE_ARCS, p2p ? P2P_ARCS : NO_P2P_ARCS];
  if (preCopy) groups.push(PRE_COPY_ARCS, p2p ? PRE_COPY_P2P_ARCS : PRE_COPY_NO_P2P_ARCS);
  return groups.flatMap((g) => g.map(([from, to]): [MigState, MigState] => [from, to]));
}

/**
 * True if `from` -> `to` is one of the single arcs a driver with capability bits `flags` executes
 * (see {@link migrationDriverArcs}). False for anything else, including `from === to`.
 */
export function isSupportedArc(from: MigState, to: MigState, flags: number): boolean {
  return migrationDriverArcs(flags).some(([a, b]) => a === from && b === to);
}
