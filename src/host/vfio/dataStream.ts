import type { HostFile } from '../fileTable.js';

/** A file opened by an ioctl (a migration data fd): read and write bytes, then close. */
export interface DataStream {
  /** Reads up to `length` bytes (fewer at the end of the data; empty at the end). */
  read(length: number): Uint8Array;
  /** Writes `data`; returns the bytes accepted. */
  write(data: Uint8Array): number;
  /** Closes the file; later reads and writes fail. */
  close(): void;
}

/**
 * A stream as the host holds it: ioctls on the file (VFIO_MIG_GET_PRECOPY_INFO), and `finish`, which
 * the core calls when the device leaves the stream's state (later reads and writes then fail).
 */
export interface DataStreamFile extends DataStream, HostFile {
  /** ioctl on the stream file (VFIO_MIG_GET_PRECOPY_INFO); returns the ioctl's value. */
  ioctl?(request: number, arg: Uint8Array): number;
  /** Called by the core when the device leaves the stream's state; later reads and writes fail. */
  finish?(): void;
  /** The stream's fd in the owner's file table, once installed. */
  fd?: number;
}
