import { FileTable } from '../fileTable.js';

/**
 * The owner of opened device files: an iommufd context in the kernel's cdev model. Files opened with
 * the same context belong to one user; hot reset may only reach devices that user owns (or that
 * nobody has open). Each device bound to a context gets a device ID in it. A context is one user's
 * process as far as files go: the device files it opens, the eventfds made for it and the data fds
 * its ioctls open are numbered in its own file table, which no other context can reach.
 */
export class IommufdCtx {
  private nextId = 1;
  /** The device IDs handed out in this context, by device. */
  readonly devIds = new Map<unknown, number>();
  /** this user's file numbers */
  readonly files = new FileTable();

  constructor(
    /** Name of the context in errors and logs. */
    readonly name = 'iommufd',
  ) {}

  /** Binds a device to the context (VFIO_DEVICE_BIND_IOMMUFD); returns its device ID, the same one on a repeated bind. */
  bind(dev: unknown): number {
    let id = this.devIds.get(dev);
    if (id === undefined) {
      id = this.nextId++;
      this.devIds.set(dev, id);
    }
    return id;
  }

  /** Forgets the device's binding (its device ID is not reused). */
  unbind(dev: unknown): void {
    this.devIds.delete(dev);
  }

  /** The device's ID in this context, undefined when not bound. */
  devId(dev: unknown): number | undefined {
    return this.devIds.get(dev);
  }
}
