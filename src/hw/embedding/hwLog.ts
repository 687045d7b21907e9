/**
 * The hardware's log: guest or embedder accesses a device contains rather than performs as asked
 * (a register written with fewer bytes than it has, a write a register refuses) are logged once per
 * key (device, register, width), as VmmLog.once and QEMU's LOG_GUEST_ERROR do, so a guest repeating
 * one in a loop cannot flood it.
 */
export class HwLog {
  /** every line logged, oldest first */
  readonly lines: string[] = [];
  private readonly seen = new Set<string>();
  /** also receives every line (a console, a test) */
  sink: ((line: string) => void) | null = null;

  /** Logs `message` unconditionally. */
  info(message: string): void {
    this.lines.push(message);
    this.sink?.(message);
  }

  /** Logs `message` the first time `key` is seen; returns whether it logged. */
  once(key: string, message: string): boolean {
    if (this.seen.has(key)) return false;
    this.seen.add(key);
    this.info(message);
    return true;
  }

  /** Lines containing `text`. */
  grep(text: string): string[] {
    return this.lines.filter((l) => l.includes(text));
  }
}
