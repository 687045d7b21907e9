// `npm start`: a short firmware-style view of a PC's PCI hardware, then the whole stack (host, vfio,
// VMM, guest, live migration: stackScenario.ts); --hardware runs the hardware part in full. The only
// file that touches Node (process, argv, stdout).
import { realpathSync } from 'node:fs';
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
import { MAX_VFS, runStackScenario } from './stackScenario.js';

export interface Output {
  write(text: string): unknown;
}

export const USAGE = `usage: npm start -- [options]

Runs the whole stack: a host with a virtio-net PF (SR-IOV, 4 VFs) and a DMA engine, best-match
vfio binding (virtio-vfio-pci on the VFs, dmae-vfio-pci on the engine), a VMM with two VFs and the
engine assigned, a guest that enumerates its bus, brings the NICs up with the legacy virtio-net
driver, pings the peer on the PF's uplink and keeps the DMA engine busy, then a live migration of
the guest to a second emulated host. First, a short firmware-style view of a PC's PCI hardware.

options:
  --vfs N          VFs to enable with sriov_numvfs, 1-4 (default 4; the guest gets the first two)
  --pings N        pings per NIC, before and after the migration (default 10)
  --rounds N       rounds of DMA engine work before and after the migration (default 200)
  --no-migration   skip the live migration
  --json           print the scenario's report as JSON instead (for harnesses; run it as
                   "npm start --silent -- --json" so npm's banner stays out of stdout)
  --ecam           use ECAM (memory-mapped config space) for every config access of the lspci views
  --hardware       only the hardware part, in full: a small PC (host bridge, PCIe root ports, a
                   PCI-PCI bridge, NICs, NVMe, GPU) enumerated the way firmware does using config
                   cycles only, an lspci -vv view, then the assigned resources used live (MMIO, port
                   I/O, expansion ROM, MSI-X); with --json, the enumeration result as JSON
  --cf8-only       with --hardware: mechanism #1 (0xCF8/0xCFC) alone, so extended capabilities
                   (AER, DSN) are not seen (default: mechanism #1, and ECAM for the extended space,
                   as Linux does on x86)
  --v86            the whole stack under a real Linux guest: Debian's 6.1 kernel boots in v86 with
                   pcisim's VMM as its PCI bus (2 VFs through virtio-vfio-pci), its console printed
                   as it boots, then Linux's virtio_net pings the peer and is pinged back (needs
                   "bash scripts/prepare-guest.sh" first); with --legacy, virtio_pci force_legacy=1
  --help           show this help
`;

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

function intArg(name: string, v: string | undefined, min: number, max: number): number {
  const n = v === undefined ? NaN : Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${name} needs a whole number from ${min} to ${max}`);
  return n;
}

class UsageError extends Error {}

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
    for (let i = 0; i < argv.length; i++) {
      const arg = argv[i];
      if (arg === '--help' || arg === '-h') {
        out.write(USAGE);
        return 0;
      } else if (arg === '--json') json = true;
      else if (arg === '--ecam') mode = 'ecam';
      else if (arg === '--cf8-only') mode = 'cf8-only';
      else if (arg === '--hardware') hardware = true;
      else if (arg === '--v86') v86 = true;
      else if (arg === '--legacy') legacy = true;
      else if (arg === '--no-migration') stack.migrate = false;
      else if (arg === '--vfs') stack.vfs = intArg(arg, argv[++i], 1, MAX_VFS);
      else if (arg === '--pings' || arg === '--frames') stack.pings = intArg(arg, argv[++i], 1, 10000);
      else if (arg === '--rounds') stack.rounds = intArg(arg, argv[++i], 0, 100000);
      else throw new UsageError(`unknown option ${JSON.stringify(arg)}`);
    }
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
