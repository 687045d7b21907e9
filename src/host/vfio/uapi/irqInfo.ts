// struct vfio_irq_info, the VFIO_DEVICE_GET_IRQ_INFO argument.

import { defineStruct } from './structLayout.js';

/** The fields of struct vfio_irq_info (include/uapi/linux/vfio.h), in camelCase. */
export interface IrqInfo {
  /** Size in bytes of the caller's buffer: the struct and what follows it (argsz). */
  argsz: number;
  /** VFIO.IRQ_INFO_*. */
  flags: number;
  /** Irq index (VFIO.PCI_*_IRQ_INDEX), set by the caller. */
  index: number;
  /** Number of vectors in this index (0: not implemented). */
  count: number;
}

/** sizeof(struct vfio_irq_info). */
export const IRQ_INFO_SIZEOF = 16;
/** offsetofend(struct vfio_irq_info, count): the whole struct. */
export const IRQ_INFO_MINSZ = 16;

/** Layout of struct vfio_irq_info: offset and C type of each field, sizeof and minsz. */
export const irqInfoLayout = defineStruct<IrqInfo>(
  'vfio_irq_info',
  IRQ_INFO_SIZEOF,
  {
    argsz: { offset: 0, kind: 'u32' },
    flags: { offset: 4, kind: 'u32' },
    index: { offset: 8, kind: 'u32' },
    count: { offset: 12, kind: 'u32' },
  },
  IRQ_INFO_MINSZ,
);

/** Reads a struct vfio_irq_info from an ioctl argument: EFAULT if its minsz bytes are not there. */
export const decodeIrqInfo = irqInfoLayout.decode;
/** Writes a struct vfio_irq_info (or its first `length` bytes) into an ioctl argument: EFAULT if it does not fit, EINVAL for a value a field cannot hold. */
export const encodeIrqInfo = irqInfoLayout.encode;
