/**
 * The VMM's log. Guest mistakes that the VMM contains (a dropped write, a clamped field, a BAR over
 * another) are logged once per kind and device, as QEMU's warn_report_once / LOG_GUEST_ERROR do,
 * so a guest that repeats one in a loop cannot flood the log.
 */
export class VmmLog {
  readonly lines: string[] = [];
  private readonly seen = new Set<string>();
  /** also receives every line (a console, a test) */
  sink: ((line: string) => void) | null = null;

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

  /** Lines containing `text` (for tests and diagnostics). */
  grep(text: string): string[] {
    return this.lines.filter((l) => l.includes(text));
  }
}
