// Payload of DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP (SET). LOW_POWER_ENTRY and
// LOW_POWER_EXIT carry no payload.

import { defineStruct } from './structLayout.js';

/** struct vfio_device_low_power_entry_with_wakeup. */
export interface LowPowerEntryWithWakeup {
  /** eventfd signalled when the device wakes up. */
  wakeupEventfd: number;
  /** Reserved padding; 0. */
  reserved: number;
}

/** sizeof(struct vfio_device_low_power_entry_with_wakeup). */
export const LOW_POWER_ENTRY_WITH_WAKEUP_SIZEOF = 8;

/** Layout of struct vfio_device_low_power_entry_with_wakeup: offset and C type of each field, sizeof and minsz. */
export const lowPowerEntryWithWakeupLayout = defineStruct<LowPowerEntryWithWakeup>(
  'vfio_device_low_power_entry_with_wakeup',
  LOW_POWER_ENTRY_WITH_WAKEUP_SIZEOF,
  {
    wakeupEventfd: { offset: 0, kind: 's32' },
    reserved: { offset: 4, kind: 'u32' },
  },
);

/** Reads a struct vfio_device_low_power_entry_with_wakeup from an ioctl argument: EFAULT if its minsz bytes are not there. */
export const decodeLowPowerEntryWithWakeup = lowPowerEntryWithWakeupLayout.decode;
/** Writes a struct vfio_device_low_power_entry_with_wakeup (or its first `length` bytes) into an ioctl argument: EFAULT if it does not fit, EINVAL for a value a field cannot hold. */
export const encodeLowPowerEntryWithWakeup = lowPowerEntryWithWakeupLayout.encode;
