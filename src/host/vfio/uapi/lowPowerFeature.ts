// Payload of DEVICE_FEATURE_LOW_POWER_ENTRY_WITH_WAKEUP (SET). LOW_POWER_ENTRY and
// LOW_POWER_EXIT carry no payload.

import { defineStruct } from './structLayout.js';

/** struct vfio_device_low_power_entry_with_wakeup. */
export interface LowPowerEntryWithWakeup {
  /** eventfd signalled when the device wakes up. */
  wakeupEventfd: number;
  reserved: number;
}

export const LOW_POWER_ENTRY_WITH_WAKEUP_SIZEOF = 8;

export const lowPowerEntryWithWakeupLayout = defineStruct<LowPowerEntryWithWakeup>(
  'vfio_device_low_power_entry_with_wakeup',
  LOW_POWER_ENTRY_WITH_WAKEUP_SIZEOF,
  {
    wakeupEventfd: { offset: 0, kind: 's32' },
    reserved: { offset: 4, kind: 'u32' },
  },
);

export const decodeLowPowerEntryWithWakeup = lowPowerEntryWithWakeupLayout.decode;
export const encodeLowPowerEntryWithWakeup = lowPowerEntryWithWakeupLayout.encode;
