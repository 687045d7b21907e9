// struct vfio_irq_set, the VFIO_DEVICE_SET_IRQS argument: a fixed header followed by `count`
// data elements whose type the DATA_* flag picks (none, u8 bools, or s32 eventfds).

import { VFIO } from './constants.js';
import { checkFieldValue, defineStruct, readScalars, writeScalars } from './structLayout.js';
import { uapiInvalid } from './uapiError.js';

/** The fields of struct vfio_irq_set (include/uapi/linux/vfio.h), in camelCase. */
export interface IrqSet {
  /** Size in bytes of the caller's buffer: the struct and what follows it (argsz). */
  argsz: number;
  /** One VFIO.IRQ_SET_DATA_* bit | one VFIO.IRQ_SET_ACTION_* bit. */
  flags: number;
  /** The irq index (VFIO.PCI_*_IRQ_INDEX). */
  index: number;
  /** First vector of the range. */
  start: number;
  /** Number of vectors; with DATA_NONE and ACTION_TRIGGER, 0 disables the index. */
  count: number;
}

/** sizeof(struct vfio_irq_set) (the flexible data[] adds nothing). */
export const IRQ_SET_SIZEOF = 20;
/** offsetofend(struct vfio_irq_set, count). */
export const IRQ_SET_MINSZ = 20;

/** Layout of struct vfio_irq_set: offset and C type of each field, sizeof and minsz. */
export const irqSetLayout = defineStruct<IrqSet>(
  'vfio_irq_set',
  IRQ_SET_SIZEOF,
  {
    argsz: { offset: 0, kind: 'u32' },
    flags: { offset: 4, kind: 'u32' },
    index: { offset: 8, kind: 'u32' },
    start: { offset: 12, kind: 'u32' },
    count: { offset: 16, kind: 'u32' },
  },
  IRQ_SET_MINSZ,
);

/** Reads a struct vfio_irq_set from an ioctl argument: EFAULT if its minsz bytes are not there. */
export const decodeIrqSet = irqSetLayout.decode;
/** Writes a struct vfio_irq_set (or its first `length` bytes) into an ioctl argument: EFAULT if it does not fit, EINVAL for a value a field cannot hold. */
export const encodeIrqSet = irqSetLayout.encode;

/** The data[] payload, by DATA_* type. Bools are the raw bytes (non-zero means set). */
export type IrqSetData =
  | {
      /** DATA_NONE: no payload. */
      kind: 'none';
    }
  | {
      /** DATA_BOOL: one u8 per vector. */
      kind: 'bool';
      /** The bytes, one per vector from `start`. */
      values: number[];
    }
  | {
      /** DATA_EVENTFD: one s32 fd per vector. */
      kind: 'eventfd';
      /** The eventfds, one per vector from `start`; -1 unwires a vector. */
      fds: number[];
    };

/**
 * Bytes per data element for the DATA_* type in `flags`: 0 (NONE), 1 (BOOL), 4 (EVENTFD), or
 * undefined when the type bits are not exactly one of those (the kernel answers EINVAL).
 */
export function irqSetDataElementSize(flags: number): 0 | 1 | 4 | undefined {
  switch (flags & VFIO.IRQ_SET_DATA_TYPE_MASK) {
    case VFIO.IRQ_SET_DATA_NONE:
      return 0;
    case VFIO.IRQ_SET_DATA_BOOL:
      return 1;
    case VFIO.IRQ_SET_DATA_EVENTFD:
      return 4;
    default:
      return undefined;
  }
}

/**
 * Read the data[] that follows the header in `arg` (`set.count` elements of the type named by
 * `set.flags`). EINVAL for a bad data type; EFAULT if the elements are not all inside `arg`.
 * Byte level only: the kernel's argsz and index/start/count checks are the caller's.
 */
export function decodeIrqSetData(arg: Uint8Array, set: Pick<IrqSet, 'flags' | 'count'>): IrqSetData {
  const elem = irqSetDataElementSize(set.flags);
  switch (elem) {
    case 0:
      return { kind: 'none' };
    case 1:
      return { kind: 'bool', values: readScalars(arg, IRQ_SET_MINSZ, set.count, 'u8', 'vfio_irq_set.data (bool)') };
    case 4:
      return { kind: 'eventfd', fds: readScalars(arg, IRQ_SET_MINSZ, set.count, 's32', 'vfio_irq_set.data (eventfd)') };
    default:
      throw uapiInvalid(`vfio_irq_set: flags 0x${set.flags.toString(16)} name no single DATA_ type`);
  }
}

/**
 * A complete VFIO_DEVICE_SET_IRQS argument: header plus data, argsz set to the total size.
 * The DATA_* bit is taken from `data`; `flags` supplies the ACTION_* bit. For DATA_NONE, `count`
 * is `set.count` (default 0); otherwise it is the number of data elements.
 */
export function buildIrqSet(set: { flags: number; index: number; start: number; count?: number }, data: IrqSetData = { kind: 'none' }): Uint8Array {
  checkFieldValue(set.flags, 'u32', 'vfio_irq_set.flags');
  const values = data.kind === 'bool' ? data.values : data.kind === 'eventfd' ? data.fds : [];
  const dataFlag =
    data.kind === 'bool' ? VFIO.IRQ_SET_DATA_BOOL : data.kind === 'eventfd' ? VFIO.IRQ_SET_DATA_EVENTFD : VFIO.IRQ_SET_DATA_NONE;
  const elem = data.kind === 'bool' ? 1 : data.kind === 'eventfd' ? 4 : 0;
  const argsz = IRQ_SET_MINSZ + values.length * elem;
  const buf = new Uint8Array(argsz);
  irqSetLayout.encode(
    {
      argsz,
      flags: ((set.flags & ~VFIO.IRQ_SET_DATA_TYPE_MASK) | dataFlag) >>> 0,
      index: set.index,
      start: set.start,
      count: data.kind === 'none' ? (set.count ?? 0) : values.length,
    },
    buf,
  );
  if (data.kind === 'bool') writeScalars(buf, IRQ_SET_MINSZ, values, 'u8', 'vfio_irq_set.data (bool)');
  if (data.kind === 'eventfd') writeScalars(buf, IRQ_SET_MINSZ, values, 's32', 'vfio_irq_set.data (eventfd)');
  return buf;
}
