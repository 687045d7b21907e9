// How Linux packs an ioctl request number (include/uapi/asm-generic/ioctl.h), reduced to the
// one form vfio uses. vfio defines every request with _IO(), i.e. with the direction and size
// bits left at zero, because each struct carries its own argsz and grows by flags instead.
//
//   bits 31..30 direction | 29..16 size | 15..8 type | 7..0 number
//
// So a vfio request is just (type << 8) | number.

/** Bits of the number field of an ioctl request (_IOC_NRBITS). */
export const IOC_NRBITS = 8;
/** Bits of the type field of an ioctl request (_IOC_TYPEBITS). */
export const IOC_TYPEBITS = 8;
/** Shift of the number field of an ioctl request (_IOC_NRSHIFT). */
export const IOC_NRSHIFT = 0;
/** Shift of the type field of an ioctl request (_IOC_TYPESHIFT). */
export const IOC_TYPESHIFT = IOC_NRSHIFT + IOC_NRBITS;

/** The ioctl "type" (magic) byte of vfio: the character ';'. */
export const VFIO_TYPE = ';'.charCodeAt(0); // 0x3b
/** First ioctl number vfio uses; request n is VFIO_BASE + n. */
export const VFIO_BASE = 100;

/** Linux's _IO(type, nr): a request with no direction and no size. */
export function ioctlIo(type: number, nr: number): number {
  return (((type & 0xff) << IOC_TYPESHIFT) | ((nr & 0xff) << IOC_NRSHIFT)) >>> 0;
}

/** _IO(VFIO_TYPE, VFIO_BASE + n). */
export function vfioIo(n: number): number {
  return ioctlIo(VFIO_TYPE, VFIO_BASE + n);
}

/** The type byte of a request (_IOC_TYPE). */
export function ioctlType(request: number): number {
  return (request >>> IOC_TYPESHIFT) & 0xff;
}

/** The number byte of a request (_IOC_NR). */
export function ioctlNr(request: number): number {
  return (request >>> IOC_NRSHIFT) & 0xff;
}
