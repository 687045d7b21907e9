// The real Linux guest in the browser: v86 boots the kernel, SeaBIOS and initramfs that
// scripts/prepare-guest.sh prepared (served by the demo's vite config), its serial console goes to
// xterm.js, and the page drives the busybox shell that the guest's /init leaves on ttyS0.
import type { Terminal } from '@xterm/xterm';
import { V86 } from 'v86';
import type { V86Options } from 'v86';
import type { GuestPciView } from './stack.js';
import { sizeText } from './stack.js';

// the same words the Node harness boots with (src/v86/nodeGuest.ts), for a quick emulated boot
const CMDLINE = 'console=ttyS0 panic=-1 tsc=reliable mitigations=off random.trust_cpu=on nokaslr no_timer_check i8042.noaux i8042.nokbd audit=0 rdinit=/init';
const MARK = '__PCISIM';

export interface DemoGuest {
  readonly emulator: V86;
  bootMs: number;
  /** runs a shell command on the guest's console; resolves with what it printed (kept off the terminal when `quiet`) */
  run(cmd: string, timeoutMs?: number, quiet?: boolean): Promise<string>;
  networkUp(ip: string): Promise<void>;
  /** a line of the page's own on the terminal (not from the guest) */
  note(text: string): void;
  pciView(): Promise<GuestPciView[]>;
}

/** Console bytes to the terminal, minus the marker lines the page uses to frame its commands. */
class ConsoleFilter {
  private pending = '';
  private batch = '';
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** commands whose output the page reads but the terminal does not show */
  readonly quiet = new Set<number>();
  private muted = false;
  constructor(private readonly term: Terminal) {}
  /** the console arrives a byte at a time: hand xterm a batch every 40 ms instead */
  write(text: string): void {
    this.batch += text;
    this.timer ??= setTimeout(() => {
      this.term.write(this.batch);
      this.batch = '';
      this.timer = null;
    }, 40);
  }
  byte(ch: string): void {
    if (this.pending === '' && ch !== '_') {
      if (!this.muted) this.write(ch);
      return;
    }
    this.pending += ch;
    if (ch === '\n') {
      const m = new RegExp(`^${MARK}([BE])(\\d+)`).exec(this.pending);
      if (m && this.quiet.has(Number(m[2]))) this.muted = m[1] === 'B';
      if (!m && !this.muted) this.write(this.pending);
      this.pending = '';
    } else if (!MARK.startsWith(this.pending.slice(0, MARK.length))) {
      if (!this.muted) this.write(this.pending);
      this.pending = '';
    }
  }
}

export async function bootGuest(attach: (emulator: V86) => void, term: Terminal, status: (s: string) => void): Promise<DemoGuest> {
  const t0 = performance.now();
  let out = '';
  let waiters: (() => void)[] = [];
  const filter = new ConsoleFilter(term);
  const emulator = new V86({
    wasm_path: new URL('/v86/v86.wasm', location.href).href,
    memory_size: 96 * 1024 * 1024,
    vga_memory_size: 2 * 1024 * 1024,
    bios: { url: 'guest/bios.bin' },
    vga_bios: { url: 'guest/vgabios.bin' },
    bzimage: { url: 'guest/bzImage' },
    initrd: { url: 'guest/initramfs.gz' },
    cmdline: CMDLINE,
    acpi: true,
    autostart: false,
    disable_keyboard: true,
    disable_mouse: true,
    disable_speaker: true,
  } as V86Options);
  emulator.add_listener('serial0-output-byte', (byte: number) => {
    const ch = String.fromCharCode(byte);
    out += ch;
    filter.byte(ch);
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  });
  term.onData((d) => emulator.serial0_send(d));
  await new Promise<void>((res) => emulator.add_listener('emulator-loaded', () => res()));
  attach(emulator);
  status('v86 loaded, pcisim attached; booting Linux…');
  await emulator.run();

  const waitFor = (re: RegExp, from: number, timeoutMs: number, what: string) =>
    new Promise<RegExpExecArray>((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`)), timeoutMs);
      const check = () => {
        const m = re.exec(out.slice(from));
        if (m) {
          clearTimeout(timer);
          res(m);
        } else waiters.push(check);
      };
      check();
    });
  await waitFor(/PCISIM-GUEST-READY \S+\r?\n/, 0, 600_000, 'the guest to boot');
  const bootMs = performance.now() - t0;

  let seq = 0;
  let queue: Promise<unknown> = Promise.resolve();
  const run = (cmd: string, timeoutMs = 30_000, quiet = false): Promise<string> => {
    const job = queue.then(async () => {
      const n = ++seq;
      if (quiet) filter.quiet.add(n);
      else filter.write(`\x1b[36m# ${cmd}\x1b[0m\r\n`);
      const from = out.length;
      // markers built by the shell ($((n))), so an echo of the command line could never match them
      emulator.serial0_send(`echo ${MARK}B$((${n})); { ${cmd}; } 2>&1; echo ${MARK}E$((${n}))\n`);
      const m = await waitFor(new RegExp(`${MARK}B${n}\\r?\\n([\\s\\S]*?)${MARK}E${n}\\r?\\n`), from, timeoutMs, cmd);
      return m[1].replace(/\r/g, '');
    });
    queue = job.catch(() => {});
    return job;
  };

  return {
    emulator,
    bootMs,
    run,
    note: (text) => filter.write(`\x1b[33m${text}\x1b[0m\r\n`),
    async networkUp(ip: string) {
      await run('insmod /lib/modules/virtio_pci.ko force_legacy=1; insmod /lib/modules/virtio_net.ko', 60_000);
      await run(`ip addr add ${ip}/24 dev eth0 && ip link set eth0 up && ip addr show eth0`, 30_000);
    },
    async pciView() {
      // vendor, device, driver and the resource lines of every function, from sysfs
      const text = await run(
        'for d in /sys/bus/pci/devices/*; do echo "@ ${d##*/} $(cat $d/vendor) $(cat $d/device) $(basename "$(readlink $d/driver)" 2>/dev/null)"; head -7 $d/resource; done',
        30_000,
        true,
      );
      return parsePciView(text);
    },
  };
}

/** Parses the sysfs listing of pciView into functions with their BARs. */
export function parsePciView(text: string): GuestPciView[] {
  const out: GuestPciView[] = [];
  let cur: GuestPciView | null = null;
  let index = 0;
  for (const line of text.split('\n')) {
    const m = /^@ (\S+) 0x([0-9a-f]+) 0x([0-9a-f]+) ?(\S*)/.exec(line);
    if (m) {
      cur = { bdf: m[1], vendor: parseInt(m[2], 16), device: parseInt(m[3], 16), driver: m[4] || null, bars: [] };
      out.push(cur);
      index = 0;
      continue;
    }
    const r = /^0x([0-9a-f]+) 0x([0-9a-f]+) 0x([0-9a-f]+)/.exec(line);
    if (r && cur) {
      const start = parseInt(r[1], 16);
      const end = parseInt(r[2], 16);
      const flags = parseInt(r[3], 16);
      if (end > start) cur.bars.push(`${index === 6 ? 'ROM' : `BAR${index}`} ${flags & 0x100 ? 'io' : 'mem'} 0x${start.toString(16)} [${sizeText(end - start + 1)}]`);
      index++;
    }
  }
  return out;
}
