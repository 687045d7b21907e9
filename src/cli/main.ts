#!/usr/bin/env node
// `pcisim` (`npx pcisim`, or `npm start` in a clone): a short firmware-style view of a PC's PCI hardware, then the whole stack (host, vfio,
// VMM, guest, live migration: stackScenario.ts); --hardware runs the hardware part in full. The only
// file that touches Node (process, argv, stdout).
import { readFileSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEmulator } from '../index.js';
import type { Emulator } from '../index.js';
import type { ConfigAccess } from '../guest/configAccess.js';
import { cf8Access, cf8WithEcamAccess, ecamAccess } from '../guest/configAccess.js';
import { enumerate, platformPools } from '../guest/enumerator.js';
import { formatLspci } from '../guest/lspci.js';
import { buildDefaultTopology } from './defaultTopology.js';
import { runLiveDemo } from './liveDemo.js';
import type { StackOptions, StackReport } from './stackScenario.js';
import { runStackScenario } from './stackScenario.js';
import { formatOptions, parseOptions, UsageError } from './args.js';

export interface Output {
  write(text: string): unknown;
}

export const USAGE = `usage: pcisim [options]        (from a clone of the repository: npm start -- [options])

Runs the whole stack: a host with a virtio-net PF (SR-IOV, 4 VFs) and a DMA engine, best-match
vfio binding (virtio-vfio-pci on the VFs, dmae-vfio-pci on the engine), a VMM with two VFs and the
engine assigned, a guest that enumerates its bus, brings the NICs up with the legacy virtio-net
driver, pings the peer on the PF's uplink and keeps the DMA engine busy, then a live migration of
the guest to a second emulated host. First, a short firmware-style view of a PC's PCI hardware.

options (a value may also be given as --opt=value):
${formatOptions()}`;

/** pcisim's version, from the package.json beside src/ and dist/. */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

type Mode = 'cf8' | 'ecam' | 'cf8-only';

function enumerateHardware(mode: Mode, emu: Emulator) {
  const topo = buildDefaultTopology(emu);
  const hw = emu.hw;
  const access: ConfigAccess =
    mode === 'ecam' ? ecamAccess(hw, hw.ecamBase) : mode === 'cf8-only' ? cf8Access(hw) : cf8WithEcamAccess(hw, hw.ecamBase);
  const result = enumerate(access, { pools: platformPools(hw.ecamBase, hw.ecamSize) });
  const how = {
    cf8: `config mechanism #1 (0xCF8/0xCFC), extended config space through ECAM at ${hw.ecamBase.toString(16)}`,
    'cf8-only': 'config mechanism #1 (0xCF8/0xCFC) only: extended config space not reachable',
    ecam: `ECAM at ${hw.ecamBase.toString(16)}`,
  }[mode];
  const header = `# pcisim: ${result.functions.length} functions on buses 00-${result.lastBus.toString(16).padStart(2, '0')}, enumerated through ${how}\n`;
  return { topo, access, result, header };
}

/** The hardware part in full (--hardware): enumeration, lspci -vv, the live demo. */
async function runHardware(mode: Mode, json: boolean, out: Output): Promise<number> {
  const emu = await createEmulator();
  const { topo, access, result, header } = enumerateHardware(mode, emu);
  if (json) {
    out.write(JSON.stringify(result, null, 2) + '\n');
    return result.problems.length === 0 ? 0 : 1;
  }
  out.write(header + '\n');
  out.write(formatLspci(access, result));
  for (const p of result.problems) out.write(`# problem: ${p}\n`);
  out.write('\n# live, at the addresses enumeration assigned\n');
  for (const line of runLiveDemo(emu, topo, access, result)) out.write(line + '\n');
  return result.problems.length === 0 ? 0 : 1;
}

function printSummary(r: StackReport, out: Output): void {
  out.write('\n# summary\n');
  for (const n of r.nics) out.write(`${n.name}  ${n.guestBdf.slice(5)} (host ${n.hostBdf.slice(5)})  ${n.mac}  ${n.irqMode}  ping ${n.repliesReceived}/${n.pingsSent}  tx ${n.txPackets} rx ${n.rxPackets}\n`);
  const d = r.dma;
  out.write(`dmae  ${d.guestBdf.slice(5)} (host ${d.hostBdf.slice(5)})  ${d.irqMode}  ${d.completed}/${d.submitted} descriptors, ${d.jobsVerified} jobs verified, device counter ${d.deviceCompleted}, ${d.failures} failures, ${d.duplicates} duplicates\n`);
  const m = r.migration;
  if (m) {
    out.write(`migration  ${m.passes.length} pre-copy pass(es): ${m.passes.map((p) => `${p.deviceBytes + p.ramBytes} B`).join(', ')}; stop-and-copy ${m.stopCopy.bytes} B (device ${m.stopCopy.deviceBytes}, RAM ${m.stopCopy.ramBytes}, VMM ${m.stopCopy.vmmBytes}) in ${m.stopCopy.steps} steps; ${m.totalBytes} B in all, ${m.elapsedMs.toFixed(1)} ms\n`);
    out.write(`           before: ${m.before.txPackets} tx / ${m.before.rxPackets} rx packets, ${m.before.echoReplies} echo replies, ${m.before.completions} completions, ${m.before.jobsVerified} jobs\n`);
    out.write(`           after:  ${m.after.txPackets} tx / ${m.after.rxPackets} rx packets (new NIC drivers), ${m.after.echoReplies} echo replies, ${m.after.completions} completions, ${m.after.jobsVerified} jobs\n`);
  }
  out.write(r.ok ? 'ok: every ping answered, every job verified, nothing lost or done twice\n' : `FAILED:\n${r.problems.map((p) => `  ${p}`).join('\n')}\n`);
}

/**
 * Runs the CLI with `argv` (no node/script prefix), writing results to `out` and usage errors to
 * `err`; resolves to the exit code (0 ok, 1 a check failed or resources were left unassigned, 2 bad usage).
 */
export async function main(argv: string[], out: Output, err: Output = out): Promise<number> {
  let mode: Mode = 'cf8';
  let json = false;
  let hardware = false;
  let v86 = false;
  let legacy = false;
  const stack: StackOptions = {};
  try {
    const o = parseOptions(argv);
    if (o.help) {
      out.write(USAGE);
      return 0;
    }
    if (o.version) {
      out.write(`pcisim ${packageVersion()}\n`);
      return 0;
    }
    json = o.json === true;
    hardware = o.hardware === true;
    v86 = o.v86 === true;
    legacy = o.legacy === true;
    if (o.ecam && o['cf8-only']) throw new UsageError('--ecam and --cf8-only exclude each other');
    if (o.ecam) mode = 'ecam';
    if (o['cf8-only']) mode = 'cf8-only';
    if (o['no-migration']) stack.migrate = false;
    if (typeof o.vfs === 'number') stack.vfs = o.vfs;
    if (typeof o.pings === 'number') stack.pings = o.pings;
    if (typeof o.rounds === 'number') stack.rounds = o.rounds;
    if (mode === 'cf8-only' && !hardware) throw new UsageError('--cf8-only goes with --hardware');
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    err.write(`pcisim: ${e.message}\n\n${USAGE}`);
    return 2;
  }

  if (hardware) return runHardware(mode, json, out);
  if (v86) return (await import('../v86/cliRun.js')).runV86(out, err, { legacy, pings: stack.pings });
  if (legacy) {
    err.write(`pcisim: --legacy goes with --v86\n\n${USAGE}`);
    return 2;
  }

  stack.ecam = mode === 'ecam';
  let hwProblems = 0;
  if (!json) {
    const emu = await createEmulator();
    const { access, result, header } = enumerateHardware(mode, emu);
    hwProblems = result.problems.length;
    out.write(header.replace('# pcisim: ', '# pcisim: the PCI hardware of a small PC, as firmware finds it: ') + '# (npm start -- --hardware for lspci -vv and the live demo)\n');
    out.write(formatLspci(access, result, { verbose: false }));
    for (const p of result.problems) out.write(`# problem: ${p}\n`);
    out.write('\n# the whole stack: host hardware -> host kernel -> vfio -> VMM -> guest, then a live migration\n');
  }
  const report = await runStackScenario(stack, json ? () => {} : (line) => out.write(line + '\n'));
  if (json) {
    out.write(JSON.stringify(report, null, 2) + '\n');
  } else {
    printSummary(report, out);
  }
  return report.ok && hwProblems === 0 ? 0 : 1;
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
