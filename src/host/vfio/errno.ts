/**
 * Linux errno numbers that the vfio stack (core, vfio-pci-core, variant drivers, migration data
 * files) hands back to user space. Values are the generic Linux ones (x86, arm, riscv ...; a few
 * old architectures such as alpha, mips, sparc and parisc renumber some of them). Aliases
 * (EWOULDBLOCK = EAGAIN, EDEADLOCK = EDEADLK, ENOTSUP = EOPNOTSUPP) are left out so that every
 * number has exactly one name.
 */
export const ERRNO = Object.freeze({
  /** EPERM 1: Operation not permitted (asm-generic/errno*.h). */
  EPERM: 1,
  /** ENOENT 2: No such file or directory (asm-generic/errno*.h). */
  ENOENT: 2,
  /** ESRCH 3: No such process (asm-generic/errno*.h). */
  ESRCH: 3,
  /** EINTR 4: Interrupted system call (asm-generic/errno*.h). */
  EINTR: 4,
  /** EIO 5: I/O error (asm-generic/errno*.h). */
  EIO: 5,
  /** ENXIO 6: No such device or address (asm-generic/errno*.h). */
  ENXIO: 6,
  /** E2BIG 7: Argument list too long (asm-generic/errno*.h). */
  E2BIG: 7,
  /** ENOEXEC 8: Exec format error (asm-generic/errno*.h). */
  ENOEXEC: 8,
  /** EBADF 9: Bad file number (asm-generic/errno*.h). */
  EBADF: 9,
  /** ECHILD 10: No child processes (asm-generic/errno*.h). */
  ECHILD: 10,
  /** EAGAIN 11: Try again (resource temporarily unavailable) (asm-generic/errno*.h). */
  EAGAIN: 11,
  /** ENOMEM 12: Out of memory (asm-generic/errno*.h). */
  ENOMEM: 12,
  /** EACCES 13: Permission denied (asm-generic/errno*.h). */
  EACCES: 13,
  /** EFAULT 14: Bad address (asm-generic/errno*.h). */
  EFAULT: 14,
  /** EBUSY 16: Device or resource busy (asm-generic/errno*.h). */
  EBUSY: 16,
  /** EEXIST 17: File exists (asm-generic/errno*.h). */
  EEXIST: 17,
  /** EXDEV 18: Cross-device link (asm-generic/errno*.h). */
  EXDEV: 18,
  /** ENODEV 19: No such device (asm-generic/errno*.h). */
  ENODEV: 19,
  /** ENOTDIR 20: Not a directory (asm-generic/errno*.h). */
  ENOTDIR: 20,
  /** EISDIR 21: Is a directory (asm-generic/errno*.h). */
  EISDIR: 21,
  /** EINVAL 22: Invalid argument (asm-generic/errno*.h). */
  EINVAL: 22,
  /** ENFILE 23: File table overflow (asm-generic/errno*.h). */
  ENFILE: 23,
  /** EMFILE 24: Too many open files (asm-generic/errno*.h). */
  EMFILE: 24,
  /** ENOTTY 25: Not a typewriter (inappropriate ioctl for device) (asm-generic/errno*.h). */
  ENOTTY: 25,
  /** EFBIG 27: File too large (asm-generic/errno*.h). */
  EFBIG: 27,
  /** ENOSPC 28: No space left on device (asm-generic/errno*.h). */
  ENOSPC: 28,
  /** ESPIPE 29: Illegal seek (asm-generic/errno*.h). */
  ESPIPE: 29,
  /** EROFS 30: Read-only file system (asm-generic/errno*.h). */
  EROFS: 30,
  /** EPIPE 32: Broken pipe (asm-generic/errno*.h). */
  EPIPE: 32,
  /** EDOM 33: Math argument out of domain of func (asm-generic/errno*.h). */
  EDOM: 33,
  /** ERANGE 34: Math result not representable (asm-generic/errno*.h). */
  ERANGE: 34,
  /** EDEADLK 35: Resource deadlock would occur (asm-generic/errno*.h). */
  EDEADLK: 35,
  /** ENOSYS 38: Invalid system call number (asm-generic/errno*.h). */
  ENOSYS: 38,
  /** ENOMSG 42: No message of desired type (asm-generic/errno*.h). */
  ENOMSG: 42,
  /** ENODATA 61: No data available (asm-generic/errno*.h). */
  ENODATA: 61,
  /** ETIME 62: Timer expired (asm-generic/errno*.h). */
  ETIME: 62,
  /** EOVERFLOW 75: Value too large for defined data type (asm-generic/errno*.h). */
  EOVERFLOW: 75,
  /** EBADFD 77: File descriptor in bad state (asm-generic/errno*.h). */
  EBADFD: 77,
  /** EMSGSIZE 90: Message too long (asm-generic/errno*.h). */
  EMSGSIZE: 90,
  /** EOPNOTSUPP 95: Operation not supported on transport endpoint (asm-generic/errno*.h). */
  EOPNOTSUPP: 95,
  /** ETIMEDOUT 110: Connection timed out (asm-generic/errno*.h). */
  ETIMEDOUT: 110,
  /** EALREADY 114: Operation already in progress (asm-generic/errno*.h). */
  EALREADY: 114,
  /** EINPROGRESS 115: Operation now in progress (asm-generic/errno*.h). */
  EINPROGRESS: 115,
  /** ECANCELED 125: Operation Canceled (asm-generic/errno*.h). */
  ECANCELED: 125,
} as const);

/** An errno name known to {@link ERRNO} ('EINVAL' ...). */
export type ErrnoName = keyof typeof ERRNO;

const NAME_BY_NUMBER: ReadonlyMap<number, ErrnoName> = new Map(
  (Object.keys(ERRNO) as ErrnoName[]).map((name) => [ERRNO[name], name]),
);

/** True if `name` is one of the errno names in {@link ERRNO}. */
export function isErrnoName(name: string): name is ErrnoName {
  return Object.prototype.hasOwnProperty.call(ERRNO, name);
}

/** The name of an errno number ('EINVAL' for 22), or undefined if it is not in {@link ERRNO}. */
export function errnoName(errno: number): ErrnoName | undefined {
  return NAME_BY_NUMBER.get(errno);
}
