// `npm start`: build the default machine, enumerate it as firmware does, print an lspci -vv view,
// then use it live. The only file that touches Node (process, argv, stdout).
import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEmulator } from '../index.js';
import type { ConfigAccess } from '../guest/configAccess.js';
import { cf8Access, cf8WithEcamAccess, ecamAccess } from '../guest/configAccess.js';
import { enumerate, platformPools } from '../guest/enumerator.js';
import { formatLspci } from '../guest/lspci.js';
import { buildDefaultTopology } from './defaultTopology.js';
import { runLiveDemo } from './liveDemo.js';

export interface Output {
  write(text: string): unknown;
}

export const USAGE = `usage: npm start -- [options]

Builds a small PCI machine (host bridge, PCIe root ports, a PCI-PCI bridge, NICs, NVMe, GPU),
enumerates it the way firmware does using config cycles only, prints an lspci -vv view, and then
uses the assigned resources live (MMIO, port I/O, expansion ROM, MSI-X).

options:
  --ecam       use ECAM (memory-mapped config space) for every config access
  --cf8-only   use mechanism #1 (0xCF8/0xCFC) alone: only the first 256 bytes of config space are
               reachable, so extended capabilities (AER, DSN) are not seen
               (default: mechanism #1, and ECAM for the extended space, as Linux does on x86)
  --json       print the enumeration result as JSON instead (for harnesses; run it as
               "npm start --silent -- --json" so npm's banner stays out of stdout)
  --help       show this help
`;

/**
 * Runs the CLI with `argv` (no node/script prefix), writing results to `out` and usage errors to
 * `err`; resolves to the exit code (0 ok, 1 resources left unassigned, 2 bad usage).
 */
export async function main(argv: string[], out: Output, err: Output = out): Promise<number> {
  let mode: 'cf8' | 'ecam' | 'cf8-only' = 'cf8';
  let json = false;
  for (const arg of argv) {
    if (arg === '--help' || arg === '-h') {
      out.write(USAGE);
      return 0;
    } else if (arg === '--json') json = true;
    else if (arg === '--ecam') mode = 'ecam';
    else if (arg === '--cf8-only') mode = 'cf8-only';
    else {
      err.write(`pcisim: unknown option ${JSON.stringify(arg)}\n\n${USAGE}`);
      return 2;
    }
  }

  const emu = await createEmulator();
  const topo = buildDefaultTopology(emu);
  const hw = emu.hw;
  const access: ConfigAccess =
    mode === 'ecam' ? ecamAccess(hw, hw.ecamBase) : mode === 'cf8-only' ? cf8Access(hw) : cf8WithEcamAccess(hw, hw.ecamBase);
  const result = enumerate(access, { pools: platformPools(hw.ecamBase, hw.ecamSize) });

  if (json) {
    out.write(JSON.stringify(result, null, 2) + '\n');
    return result.problems.length === 0 ? 0 : 1;
  }

  const how = {
    cf8: `config mechanism #1 (0xCF8/0xCFC), extended config space through ECAM at ${hw.ecamBase.toString(16)}`,
    'cf8-only': 'config mechanism #1 (0xCF8/0xCFC) only: extended config space not reachable',
    ecam: `ECAM at ${hw.ecamBase.toString(16)}`,
  }[mode];
  out.write(`# pcisim: ${result.functions.length} functions on buses 00-${result.lastBus.toString(16).padStart(2, '0')}, enumerated through ${how}\n\n`);
  out.write(formatLspci(access, result));
  for (const p of result.problems) out.write(`# problem: ${p}\n`);
  out.write('\n# live, at the addresses enumeration assigned\n');
  for (const line of runLiveDemo(emu, topo, access, result)) out.write(line + '\n');
  return result.problems.length === 0 ? 0 : 1;
}

function invokedDirectly(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(resolve(script)) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (invokedDirectly()) {
  // `npm start | head` closes the pipe early: that is not an error
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  main(process.argv.slice(2), process.stdout, process.stderr).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`pcisim: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
