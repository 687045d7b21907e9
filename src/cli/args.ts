// The CLI's options as one table: parsing (node:util parseArgs, so `--vfs 2` and `--vfs=2` both
// work), the help text and the "did you mean" hint all come from it. A new option is one entry.
import { parseArgs } from 'node:util';
import { MAX_VFS } from './stackScenario.js';

/** One command-line option. */
export interface OptionSpec {
  /** placeholder of the option's value in the help ('N', 'URL'); absent for a flag */
  arg?: string;
  /** for an option with `arg`: the value must be a whole number in this range */
  range?: readonly [number, number];
  /** one-letter form (`-h`) */
  short?: string;
  /** help text; further lines are indented under the first */
  help: string;
  /** another name for the option `alias` (left out of the help) */
  alias?: string;
}

/** The options of `pcisim`, in help order. */
export const OPTIONS: Readonly<Record<string, OptionSpec>> = {
  vfs: { arg: 'N', range: [1, MAX_VFS], help: `VFs to enable with sriov_numvfs, 1-${MAX_VFS} (default ${MAX_VFS}; the guest gets the first two)` },
  pings: { arg: 'N', range: [1, 10000], help: 'pings per NIC, before and after the migration (default 10)' },
  frames: { arg: 'N', range: [1, 10000], alias: 'pings', help: '' },
  rounds: { arg: 'N', range: [0, 100000], help: 'rounds of DMA engine work before and after the migration (default 200)' },
  'no-migration': { help: 'skip the live migration' },
  json: {
    help: `print the scenario's report as JSON instead (for harnesses; with npm, run it as
"npm start --silent -- --json" so npm's banner stays out of stdout)`,
  },
  ecam: { help: 'use ECAM (memory-mapped config space) for every config access of the lspci views' },
  hardware: {
    help: `only the hardware part, in full: a small PC (host bridge, PCIe root ports, a
PCI-PCI bridge, NICs, NVMe, GPU) enumerated the way firmware does using config
cycles only, an lspci -vv view, then the assigned resources used live (MMIO, port
I/O, expansion ROM, MSI-X); with --json, the enumeration result as JSON`,
  },
  'cf8-only': {
    help: `with --hardware: mechanism #1 (0xCF8/0xCFC) alone, so extended capabilities
(AER, DSN) are not seen (default: mechanism #1, and ECAM for the extended space,
as Linux does on x86)`,
  },
  v86: {
    help: `the whole stack under a real Linux guest: Debian's 6.1 kernel boots in v86 with
pcisim's VMM as its PCI bus (2 VFs through virtio-vfio-pci), its console printed
as it boots, then Linux's virtio_net pings the peer and is pinged back (needs
"npm run prepare-guest" first)`,
  },
  legacy: { help: 'with --v86: the guest\'s virtio_pci takes the legacy I/O BAR (force_legacy=1)' },
  version: { help: "print pcisim's version" },
  help: { short: 'h', help: 'show this help' },
};

/** The help text's option list, built from OPTIONS. */
export function formatOptions(options: Readonly<Record<string, OptionSpec>> = OPTIONS): string {
  const col = 19;
  let out = '';
  for (const [name, o] of Object.entries(options)) {
    if (o.alias) continue;
    const head = `  --${name}${o.arg ? ` ${o.arg}` : ''}`;
    const [first, ...rest] = o.help.split('\n');
    out += `${head.padEnd(col - 1)} ${first}\n`;
    for (const line of rest) out += `${' '.repeat(col)}${line}\n`;
  }
  return out;
}

/** A command line that cannot be run as given (exit code 2). */
export class UsageError extends Error {}

/** Parsed options by (canonical) name: true for a flag, a number for a ranged value, else a string. */
export type ParsedOptions = Record<string, boolean | number | string>;

/**
 * Parses `argv` against `options`.
 * @throws UsageError for an unknown option (with the closest known one as a hint), a missing or
 *   out-of-range value, a value given to a flag, or a stray argument
 */
export function parseOptions(argv: string[], options: Readonly<Record<string, OptionSpec>> = OPTIONS): ParsedOptions {
  const config: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const [name, o] of Object.entries(options)) config[name] = { type: o.arg ? 'string' : 'boolean', ...(o.short ? { short: o.short } : {}) };
  // strict: false so that every problem is reported by us, with the option's own words
  const { tokens } = parseArgs({ args: argv, options: config, strict: false, allowPositionals: true, tokens: true });
  const out: ParsedOptions = {};
  for (const t of tokens) {
    if (t.kind === 'positional') throw new UsageError(`unexpected argument ${JSON.stringify(t.value)}`);
    if (t.kind !== 'option') continue;
    const o = options[t.name];
    if (!o) throw new UsageError(`unknown option ${JSON.stringify(t.rawName)}${hint(t.name, options)}`);
    const key = o.alias ?? t.name;
    if (!o.arg) {
      if (t.value !== undefined) throw new UsageError(`${t.rawName} takes no value, got ${JSON.stringify(t.value)}`);
      out[key] = true;
      continue;
    }
    if (t.value === undefined || (!t.inlineValue && t.value.startsWith('--'))) throw new UsageError(`${t.rawName} needs a value (${t.rawName} ${o.arg})`);
    if (!o.range) {
      out[key] = t.value;
      continue;
    }
    const [min, max] = o.range;
    const n = t.value.trim() === '' ? NaN : Number(t.value);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new UsageError(`${t.rawName} needs a whole number from ${min} to ${max}, got ${JSON.stringify(t.value)}`);
    }
    out[key] = n;
  }
  return out;
}

/** ", did you mean --x?" for the known option closest to `name`, when one is close enough. */
function hint(name: string, options: Readonly<Record<string, OptionSpec>>): string {
  let best = '';
  let bestDistance = Infinity;
  for (const known of Object.keys(options)) {
    const d = known.startsWith(name) && name.length >= 2 ? 0.5 : editDistance(name, known);
    if (d < bestDistance) {
      best = options[known].alias ?? known;
      bestDistance = d;
    }
  }
  // a third of the name may be wrong: "--jsno" finds --json, "--frobnicate" finds nothing
  return bestDistance <= Math.max(1, Math.floor(name.length / 3)) ? `; did you mean --${best}?` : '';
}

/** Levenshtein distance with adjacent transpositions (the optimal string alignment variant). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}
