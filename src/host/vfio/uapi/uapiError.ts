// The two ways an ioctl argument can be wrong at the byte level, as the kernel reports them:
// - EFAULT: copy_from_user / copy_to_user failed. Here that means the bytes the kernel would
//   touch lie outside the Uint8Array passed as the ioctl arg (the emulator's "user memory"),
//   or the arg is not a Uint8Array at all.
// - EINVAL: the bytes are there but say something the kernel refuses (argsz below the
//   minimum, a value a field cannot hold).
// Every error leaving the uapi layer is a VfioError; nothing else is thrown for bad input.

import type { ErrnoName } from '../errno.js';
import { VfioError } from '../vfioError.js';

/** A VfioError with errno `code` and `message`. */
export function uapiError(code: ErrnoName, message: string): VfioError {
  return new VfioError(code, message);
}

/** An EFAULT VfioError: a copy to or from the ioctl argument failed. */
export function uapiFault(message: string): VfioError {
  return new VfioError('EFAULT', message);
}

/** An EINVAL VfioError: the argument's bytes say something the kernel refuses. */
export function uapiInvalid(message: string): VfioError {
  return new VfioError('EINVAL', message);
}

/**
 * The kernel's `if (x.argsz < minsz) return -EINVAL;` that follows the copy of the fixed part
 * of every argsz-carrying struct.
 */
export function requireArgsz(argsz: number, minsz: number, struct: string): void {
  if (argsz < minsz) throw uapiInvalid(`${struct}: argsz ${argsz} is below the minimum ${minsz}`);
}
