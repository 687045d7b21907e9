import type { VfioDevice } from './vfioDevice.js';

/**
 * struct vfio_device_set: the devices a reset can reach together (same slot or bus). open_device runs
 * on a device's first open and close_device on its last, under the set's lock; hot reset needs the
 * whole set.
 */
export class VfioDeviceSet {
  readonly devices = new Set<VfioDevice>();

  constructor(readonly setId: unknown) {}

  /** Number of devices in the set with an open file. */
  get openCount(): number {
    let n = 0;
    for (const d of this.devices) if (d.openCount > 0) n++;
    return n;
  }
}

/** The sets of one host, keyed by their set_id object (a bus, a slot, or the device itself). */
export class DeviceSetRegistry {
  private readonly sets = new Map<unknown, VfioDeviceSet>();

  assign(vdev: VfioDevice, setId: unknown): VfioDeviceSet {
    let set = this.sets.get(setId);
    if (!set) {
      set = new VfioDeviceSet(setId);
      this.sets.set(setId, set);
    }
    set.devices.add(vdev);
    return set;
  }

  release(vdev: VfioDevice): void {
    const set = vdev.devSet;
    set.devices.delete(vdev);
    if (set.devices.size === 0) this.sets.delete(set.setId);
  }
}
