import type { IoSize, LegacyIo } from './legacyIo.js';

/** One register access: direction, width, BAR offset, and the value written or the value read back. */
export interface LegacyIoAccess {
  op: 'R' | 'W';
  size: IoSize;
  off: number;
  value: number;
}

/**
 * Passes accesses through to `inner` and records each one in order, so a test can compare a driver's
 * register sequence with a reference (what Linux's virtio_pci legacy transport does).
 */
export class LegacyIoRecorder implements LegacyIo {
  readonly log: LegacyIoAccess[] = [];
  recording = true;

  constructor(private readonly inner: LegacyIo) {}

  read(off: number, size: IoSize): number {
    const value = this.inner.read(off, size);
    if (this.recording) this.log.push({ op: 'R', size, off, value });
    return value;
  }

  write(off: number, size: IoSize, value: number): void {
    this.inner.write(off, size, value);
    if (this.recording) this.log.push({ op: 'W', size, off, value: value >>> 0 });
  }

  /** Returns what was recorded so far and starts a new log. */
  take(): LegacyIoAccess[] {
    return this.log.splice(0, this.log.length);
  }
}
