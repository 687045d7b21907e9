import type { HostFile } from '../fileTable.js';

/** A file opened by an ioctl (a migration data fd): read and write bytes, then close. */
export interface DataStream {
  read(length: number): Uint8Array;
  write(data: Uint8Array): number;
  close(): void;
}

export interface DataStreamFile extends DataStream, HostFile {}
