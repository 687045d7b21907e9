import { ERRNO, errnoName, isErrnoName } from './errno.js';
import type { ErrnoName } from './errno.js';

/**
 * A failure at the vfio uapi: what an ioctl, read or write on a vfio file would report through
 * errno. `errno` is the positive Linux number, `code` its name ('EINVAL').
 */
export class VfioError extends Error {
  /** The positive Linux errno number, e.g. 22. */
  readonly errno: number;
  /** The errno name, e.g. 'EINVAL'. */
  readonly code: string;

  /**
   * @param errno an errno name ('EINVAL') or number (22; a kernel-style negative -22 is accepted too)
   * @param message what was wrong with the request, in words a caller can act on
   */
  constructor(errno: ErrnoName | number, message: string) {
    let number: number;
    let code: string;
    if (typeof errno === 'string') {
      if (!isErrnoName(errno)) throw new TypeError(`VfioError: unknown errno name ${JSON.stringify(errno)}`);
      number = ERRNO[errno];
      code = errno;
    } else {
      if (!Number.isSafeInteger(errno) || errno === 0) {
        throw new TypeError(`VfioError: errno must be a non-zero integer, got ${String(errno)}`);
      }
      number = Math.abs(errno);
      code = errnoName(number) ?? `ERRNO_${number}`;
    }
    super(`${code}: ${message}`);
    this.name = 'VfioError';
    this.errno = number;
    this.code = code;
  }
}

/** True if `err` is a VfioError, and (when `code` is given) one with that errno name. */
export function isVfioError(err: unknown, code?: ErrnoName): err is VfioError {
  return err instanceof VfioError && (code === undefined || err.code === code);
}
