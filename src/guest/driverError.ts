/** The errno names guest drivers fail with, as Linux's drivers return them. */
export type DriverErrno = 'ENODEV' | 'ENOENT' | 'EBUSY' | 'ENOMEM' | 'E2BIG' | 'EINVAL' | 'EIO' | 'ENOSPC';

/** A guest driver operation failed the way the Linux driver's would (probe returns -errno). */
export class DriverError extends Error {
  constructor(
    readonly code: DriverErrno,
    message: string,
  ) {
    super(`${message} (${code})`);
    this.name = 'DriverError';
  }
}
