/**
 * The real Linux guest under Node: loads the files scripts/prepare-guest.sh put in .guest/, boots
 * them in v86 and drives the guest's serial shell. Node-only (it reads files); the browser-neutral
 * adapter is attach.ts. Used by test/v86, `npm start -- --v86` and bench/realGuest.ts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { V86, V86Options } from 'v86';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const guestDir = join(repoRoot, '.guest');
const FILES = ['bios.bin', 'vgabios.bin', 'bzImage', 'initramfs.gz'] as const;

/** The guest's files, or an Error naming the prepare script when any is missing. */
export function loadGuestFiles(dir = guestDir): Record<(typeof FILES)[number], ArrayBuffer> {
  const missing = FILES.filter((f) => !existsSync(join(dir, f)));
  if (missing.length > 0) {
    throw new Error(`the real guest is not prepared (${missing.join(', ')} missing in ${dir}): run \`bash scripts/prepare-guest.sh\` first (it fetches pinned Debian packages with apt-get download)`);
  }
  const out = {} as Record<(typeof FILES)[number], ArrayBuffer>;
  for (const f of FILES) {
    const b = readFileSync(join(dir, f));
    out[f] = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
  }
  return out;
}

export interface BootOptions {
  /** extra kernel command line words (e.g. "pci=nomsi") */
  cmdline?: string;
  memoryBytes?: number;
  /** LAPIC + IOAPIC (needed for MSI/MSI-X); default true */
  acpi?: boolean;
  /** v86's own network device, e.g. { type: 'virtio' } */
  netDevice?: V86Options['net_device'];
  /** called with the created emulator before its CPU runs (attach pcisim here) */
  beforeRun?: (emulator: V86) => void | Promise<void>;
  /** every console byte, for printing the boot as it happens */
  onConsole?: (text: string) => void;
}

// Words that make a 6.1 kernel boot quicker in an emulator: no TSC calibration retries, no
// mitigations, no wait for entropy, no extra probing of hardware v86 does not have.
const BASE_CMDLINE = 'console=ttyS0 panic=-1 tsc=reliable mitigations=off random.trust_cpu=on nokaslr no_timer_check i8042.noaux i8042.nokbd audit=0 rdinit=/init';

/** A booted guest whose serial console runs the shell of scripts/guest/init. */
export class LinuxGuest {
  private out = '';
  private consumed = 0;
  private seq = 0;
  private waiters: (() => void)[] = [];
  /** milliseconds from construction to the shell prompt */
  bootMs = 0;
  private constructor(readonly emulator: V86) {}

  /** Boots the guest and resolves when its /init says it is ready (or rejects after `timeoutMs`). */
  static async boot(options: BootOptions = {}, timeoutMs = 120_000): Promise<LinuxGuest> {
    const start = performance.now();
    const emulator = await createV86(options);
    const guest = new LinuxGuest(emulator);
    emulator.add_listener('serial0-output-byte', (byte: number) => {
      const ch = String.fromCharCode(byte);
      guest.out += ch;
      options.onConsole?.(ch);
      const w = guest.waiters;
      guest.waiters = [];
      for (const f of w) f();
    });
    try {
      await options.beforeRun?.(emulator);
      await emulator.run();
      await guest.waitFor(/PCISIM-GUEST-READY \S+\r?\n/, timeoutMs, 'boot to /init');
    } catch (e) {
      await guest.destroy();
      throw e;
    }
    guest.bootMs = performance.now() - start;
    return guest;
  }

  /** Everything the console printed so far. */
  get console(): string {
    return this.out;
  }

  /** Resolves with the match once the console output after the last consumed point matches `re`. */
  waitFor(re: RegExp, timeoutMs: number, what: string): Promise<RegExpExecArray> {
    return new Promise((res, rej) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== check);
        rej(new Error(`real guest: timed out after ${timeoutMs} ms waiting for ${what}; console tail:\n${this.out.slice(-2000)}`));
      }, timeoutMs);
      const check = (): void => {
        const m = re.exec(this.out.slice(this.consumed));
        if (m) {
          clearTimeout(timer);
          this.consumed += m.index + m[0].length;
          res(m);
        } else this.waiters.push(check);
      };
      check();
    });
  }

  /**
   * Runs a shell command line in the guest and returns its output and exit status. The shell's
   * echo is off (scripts/guest/init), so the output is exactly what the command printed.
   */
  async run(cmd: string, timeoutMs = 60_000): Promise<{ out: string; status: number }> {
    const n = ++this.seq;
    const tag = `@@PCISIM-END-${n}@@`;
    const from = this.out.length;
    // The marker is built by the shell so a console echo of the command could never match it.
    this.emulator.serial0_send(`${cmd}; echo "@@PCISIM-END-$((${n}))@@ $?"\n`);
    const m = await this.waitFor(new RegExp(`${tag} (\\d+)\\r?\\n`), timeoutMs, `\`${cmd}\``);
    const end = this.out.lastIndexOf(tag);
    const out = this.out.slice(from, end).replace(/\r/g, '');
    return { out, status: Number(m[1]) };
  }

  /** Runs `cmd` and throws with its output unless it exits 0. */
  async sh(cmd: string, timeoutMs?: number): Promise<string> {
    const r = await this.run(cmd, timeoutMs);
    if (r.status !== 0) throw new Error(`real guest: \`${cmd}\` exited ${r.status}:\n${r.out}`);
    return r.out;
  }

  async destroy(): Promise<void> {
    try {
      await this.emulator.stop();
    } finally {
      this.emulator.destroy();
    }
  }
}

/**
 * A v86 with the prepared guest loaded but not yet running (its CPU, BIOS and devices exist, the
 * firmware has not run): where pcisim is attached. `emulator.run()` starts it.
 */
export async function createV86(options: BootOptions = {}): Promise<V86> {
  const files = loadGuestFiles();
  const { V86: V86Ctor } = (await import('v86')) as unknown as { V86: new (o: V86Options) => V86 };
  const require = createRequire(import.meta.url);
  const emulator = new V86Ctor({
    wasm_path: join(dirname(require.resolve('v86')), 'v86.wasm'),
    memory_size: options.memoryBytes ?? 96 * 1024 * 1024,
    vga_memory_size: 2 * 1024 * 1024,
    bios: { buffer: files['bios.bin'] },
    vga_bios: { buffer: files['vgabios.bin'] },
    bzimage: { buffer: files.bzImage },
    initrd: { buffer: files['initramfs.gz'] },
    cmdline: `${BASE_CMDLINE} ${options.cmdline ?? ''}`.trim(),
    acpi: options.acpi ?? true,
    autostart: false,
    disable_keyboard: true,
    disable_mouse: true,
    disable_speaker: true,
    net_device: options.netDevice,
  } as V86Options);
  await new Promise<void>((res) => emulator.add_listener('emulator-loaded', () => res()));
  return emulator;
}
