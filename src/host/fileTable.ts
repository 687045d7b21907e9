/**
 * The emulated process file table: eventfds, vfio device files and the files ioctls open (migration
 * data fds) get small integer numbers, as in a process, so ioctl structs can carry them.
 */
export interface HostFile {
  close(): void;
}

export class FileTable {
  private readonly files = new Map<number, HostFile>();
  // 0-2 are stdin/stdout/stderr in a real process; start after them so 0 never names a file
  private next = 3;

  install(file: HostFile): number {
    while (this.files.has(this.next)) this.next++;
    const n = this.next++;
    this.files.set(n, file);
    return n;
  }

  get(n: number): HostFile | undefined {
    return this.files.get(n);
  }

  /** Forgets the number (the file's own close already ran or will run). */
  release(n: number): void {
    this.files.delete(n);
  }

  get size(): number {
    return this.files.size;
  }

  /** The open files. */
  list(): HostFile[] {
    return [...this.files.values()];
  }

  /** Forgets every file and returns them (the emulator is being destroyed). */
  drain(): HostFile[] {
    const all = [...this.files.values()];
    this.files.clear();
    return all;
  }
}

/**
 * An eventfd: a counter the kernel side signals and the embedding code reads or listens to. The
 * listener runs synchronously at signal time, which is when an interrupt is delivered.
 */
export class Eventfd implements HostFile {
  /** eventfd counter: signals not yet consumed by read() */
  count = 0;
  /** total signals ever received */
  signals = 0;
  closed = false;
  fd = -1;
  private listeners: ((e: Eventfd) => void)[] = [];

  signal(): void {
    if (this.closed) return;
    this.count++;
    this.signals++;
    for (const l of this.listeners) l(this);
  }

  /** Returns and clears the counter, as read(2) on an eventfd does (0 when nothing is pending). */
  read(): number {
    const c = this.count;
    this.count = 0;
    return c;
  }

  onSignal(listener: (e: Eventfd) => void): () => void {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  close(): void {
    this.closed = true;
    this.listeners = [];
  }
}
