// The errors the hardware layer throws. They carry an errno-style `code` like VfioError does, so a
// caller can branch on `e.code` at every layer, yet stay the Error/RangeError the API promises
// (a JS class has one base, so there is one class per base).

/** The errno names the hardware layer uses; numbers are Linux's generic ones. */
export const PCI_ERRNO = Object.freeze({
  /** ENOENT 2 (Linux "No such file or directory"): no such device, function or capability. */
  ENOENT: 2,
  /** EFAULT 14 (Linux "Bad address"): an address or offset the hardware cannot reach. */
  EFAULT: 14,
  /** EBUSY 16 (Linux "Device or resource busy"): the resource is in use. */
  EBUSY: 16,
  /** EEXIST 17 (Linux "File exists"): the address or slot is already taken. */
  EEXIST: 17,
  /** ENODEV 19 (Linux "No such device"): the device is gone or absent. */
  ENODEV: 19,
  /** EINVAL 22 (Linux "Invalid argument"): an invalid argument. */
  EINVAL: 22,
  /** ERANGE 34 (Linux "Math result not representable"): a value out of its range. */
  ERANGE: 34,
});

/** One of the errno names in {@link PCI_ERRNO}. */
export type PciErrorCode = keyof typeof PCI_ERRNO;

/** An invalid request to the hardware layer (bad spec, bad address, an address already taken ...). */
export class PciError extends Error {
  /** errno name, e.g. 'EINVAL' */
  readonly code: PciErrorCode;
  /** the positive Linux errno number of `code` */
  readonly errno: number;

  /**
   * @param code errno name saying what kind of failure this is
   * @param message what was wrong, in words a caller can act on
   */
  constructor(code: PciErrorCode, message: string) {
    super(message);
    this.name = 'PciError';
    this.code = code;
    this.errno = PCI_ERRNO[code];
  }
}

/** A hardware-layer access outside what the hardware can do (config offset, size, address). */
export class PciRangeError extends RangeError {
  /** errno name, e.g. 'EFAULT' for a config register the access mechanism cannot address */
  readonly code: PciErrorCode;
  /** the positive Linux errno number of `code` */
  readonly errno: number;

  /**
   * @param code errno name saying what kind of failure this is
   * @param message what was wrong, in words a caller can act on
   */
  constructor(code: PciErrorCode, message: string) {
    super(message);
    this.name = 'PciRangeError';
    this.code = code;
    this.errno = PCI_ERRNO[code];
  }
}

/** True if `err` came from the hardware layer, and (when `code` is given) has that errno name. */
export function isPciError(err: unknown, code?: PciErrorCode): err is PciError | PciRangeError {
  return (err instanceof PciError || err instanceof PciRangeError) && (code === undefined || err.code === code);
}

/**
 * A value as the caller wrote it, for error messages: strings quoted (`"8086"`, so a string is
 * never mistaken for the number it looks like), bigints with their `n`, everything else plain.
 */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (value instanceof Uint8Array) return `a Uint8Array of ${value.length} bytes`;
  if (typeof value === 'object' && value !== null) return 'an object';
  if (typeof value === 'function') return 'a function';
  return String(value);
}

/**
 * A value users write in hex (IDs, register offsets, addresses) in hex, `0x1af4`; anything that is
 * not a non-negative integer goes through {@link describeValue} so the mistake stays visible.
 */
export function hexValue(value: unknown): string {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return '0x' + value.toString(16);
  if (typeof value === 'bigint' && value >= 0n) return '0x' + value.toString(16);
  return describeValue(value);
}
