/**
 * The emulated process file table: eventfds, vfio device files and the files ioctls open (migration
 * data fds) get small integer numbers, as in a process, so ioctl structs can carry them. Each user
 * (an iommufd context, src/host/vfio/iommufd.ts) has its own table, as each process has its own fds:
 * a number means nothing outside its table. A closed file leaves the table at once and its number
 * is reused, lowest free first, as Linux's fd allocation does.
 */
export interface HostFile {
  close(): void;
}

/** What a number names: only `stream` files are handed out by Host.fd(). */
export type FileKind = 'eventfd' | 'device' | 'stream';

interface Entry {
  file: HostFile;
  kind: FileKind;
}

export class FileTable {
  private readonly files = new Map<number, Entry>();
  /** every number below this one is taken (Linux's files->next_fd) */
  private nextFree = FIRST_FD;

  install(file: HostFile, kind: FileKind): number {
    let n = this.nextFree;
    while (this.files.has(n)) n++;
    this.files.set(n, { file, kind });
    this.nextFree = n + 1;
    return n;
  }

  get(n: number): HostFile | undefined {
    return this.files.get(n)?.file;
  }

  /** The file at `n` when it is of this kind. */
  getKind(n: number, kind: FileKind): HostFile | undefined {
    const e = this.files.get(n);
    return e && e.kind === kind ? e.file : undefined;
  }

  /**
   * Forgets the number (the file's own close already ran or will run). With `file`, only when the
   * number still names that file: a late release must not drop a newer file that reuses it.
   */
  release(n: number, file?: HostFile): void {
    const e = this.files.get(n);
    if (!e || (file !== undefined && e.file !== file)) return;
    this.files.delete(n);
    if (n < this.nextFree) this.nextFree = n;
  }

  get size(): number {
    return this.files.size;
  }

  /** The numbers in use, ascending. */
  numbers(): number[] {
    return [...this.files.keys()].sort((a, b) => a - b);
  }

  /** The open files. */
  list(): HostFile[] {
    return [...this.files.values()].map((e) => e.file);
  }

  /** Forgets every file and returns them (the emulator is being destroyed). */
  drain(): HostFile[] {
    const all = [...this.files.values()].map((e) => e.file);
    this.files.clear();
    this.nextFree = FIRST_FD;
    return all;
  }
}

/** 0-2 are stdin/stdout/stderr in a real process; files start after them so 0 never names one. */
const FIRST_FD = 3;

/**
 * An eventfd: a counter the kernel side signals and the embedding code reads or listens to. The
 * listener runs synchronously at signal time, which is when an interrupt is delivered.
 */
export class Eventfd implements HostFile {
  /** eventfd counter: signals not yet consumed by read() */
  count = 0;
  /** total signals ever received */
  signals = 0;
  /** close() ran: later signals are ignored. */
  closed = false;
  /** The eventfd's number in its file table, -1 until installed. */
  fd = -1;
  private listeners: ((e: Eventfd) => void)[] = [];
  /** the table holding `fd`, which close() releases */
  private table: FileTable | null = null;

  /** Puts the eventfd in `table` (once). */
  installIn(table: FileTable): this {
    this.table = table;
    this.fd = table.install(this, 'eventfd');
    return this;
  }

  /** Signals the eventfd (what the kernel's eventfd_signal does): counts and calls the listeners. */
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

  /** Calls `listener` on every signal (the other end's poll/read); returns a function that removes it. */
  onSignal(listener: (e: Eventfd) => void): () => void {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  /** Closes the eventfd and releases its number (a holder such as SET_IRQS no longer hears it). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.listeners = [];
    this.table?.release(this.fd, this);
    this.table = null;
  }
}
