import { constants } from 'node:os';
import { describe, expect, it } from 'vitest';
import { ERRNO, errnoName, isErrnoName } from '../../src/host/vfio/errno.js';
import type { ErrnoName } from '../../src/host/vfio/errno.js';
import { VfioError, isVfioError } from '../../src/host/vfio/vfioError.js';

describe('ERRNO', () => {
  it('has the Linux numbers vfio uses', () => {
    expect(ERRNO).toMatchObject({
      EPERM: 1, ENOENT: 2, EIO: 5, E2BIG: 7, EBADF: 9, EAGAIN: 11, ENOMEM: 12, EFAULT: 14, EBUSY: 16, EEXIST: 17,
      ENODEV: 19, EINVAL: 22, ENOTTY: 25, ENOSPC: 28, ESPIPE: 29, ERANGE: 34, ENOMSG: 42, EOVERFLOW: 75,
      EOPNOTSUPP: 95,
    });
  });

  // the numbers are Linux's: the check needs a Linux host's libc (the project's machines and CI are)
  it('agrees with the host libc on Linux', () => {
    expect(process.platform, 'errno numbers are compared with a Linux libc').toBe('linux');
    const host = constants.errno as Record<string, number | undefined>;
    for (const [n, v] of Object.entries(ERRNO)) {
      if (host[n] !== undefined) expect(v, n).toBe(host[n]);
    }
  });

  it('gives each number one name, both ways', () => {
    const numbers = Object.values(ERRNO);
    expect(new Set(numbers).size).toBe(numbers.length);
    for (const [n, v] of Object.entries(ERRNO)) expect(errnoName(v)).toBe(n);
    expect(errnoName(0)).toBeUndefined();
    expect(errnoName(9999)).toBeUndefined();
    expect(isErrnoName('EINVAL')).toBe(true);
    expect(isErrnoName('toString')).toBe(false);
    expect(isErrnoName('EWOULDBLOCK')).toBe(false);
  });
});

describe('VfioError', () => {
  it('is built from a name', () => {
    const e = new VfioError('EINVAL', 'argsz 4 is below the 16 bytes of struct vfio_device_info');
    expect(e).toBeInstanceOf(Error);
    expect(e).toBeInstanceOf(VfioError);
    expect(e.name).toBe('VfioError');
    expect(e.errno).toBe(22);
    expect(e.code).toBe('EINVAL');
    expect(e.message).toBe('EINVAL: argsz 4 is below the 16 bytes of struct vfio_device_info');
  });

  it('is built from a number, positive or kernel-style negative', () => {
    expect(new VfioError(25, 'x')).toMatchObject({ errno: 25, code: 'ENOTTY' });
    expect(new VfioError(-14, 'x')).toMatchObject({ errno: 14, code: 'EFAULT' });
    expect(new VfioError(4095, 'x')).toMatchObject({ errno: 4095, code: 'ERRNO_4095' });
  });

  it('refuses what is not an errno', () => {
    expect(() => new VfioError('EWHATEVER' as ErrnoName, 'x')).toThrow(TypeError);
    expect(() => new VfioError(0, 'x')).toThrow(TypeError);
    expect(() => new VfioError(1.5, 'x')).toThrow(TypeError);
    expect(() => new VfioError(Number.NaN, 'x')).toThrow(TypeError);
  });

  it('isVfioError checks the class and optionally the code', () => {
    const e = new VfioError('EBUSY', 'device is open');
    expect(isVfioError(e)).toBe(true);
    expect(isVfioError(e, 'EBUSY')).toBe(true);
    expect(isVfioError(e, 'EINVAL')).toBe(false);
    expect(isVfioError(new Error('EBUSY'))).toBe(false);
  });
});
