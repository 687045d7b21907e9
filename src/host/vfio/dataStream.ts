import type { HostFile } from '../fileTable.js';

/** A file opened by an ioctl (a migration data fd): read and write bytes, then close. */
export interface DataStream {
  read(length: number): Uint8Array;
  write(data: Uint8Array): number;
  close(): void;
}

/**
 * A stream as the host holds it: ioctls on the file (VFIO_MIG_GET_PRECOPY_INFO), and `finish`, which
 * the core calls when the device leaves the stream's state (later reads and writes then fail).
 */
export interface DataStreamFile extends DataStream, HostFile {
  ioctl?(request: number, arg: Uint8Array): number;
  finish?(): void;
  fd?: number;
}
