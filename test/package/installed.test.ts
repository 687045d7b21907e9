// The package as installed from its tarball: `npx pcisim` runs the CLI from dist, every subpath
// resolves to the same module instances, require() from CommonJS fails with a clear message, and
// TypeScript says the same for CommonJS while an ES module gets the real types.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { installPacked, ROOT } from './packed.js';

let project: string;

beforeAll(() => {
  project = installPacked();
}, 300_000);

function run(cmd: string, args: string[], cwd = project): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((ok) =>
    execFile(cmd, args, { cwd, timeout: 60_000 }, (err, stdout, stderr) => ok({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr })),
  );
}

const node = (file: string, source: string) => {
  writeFileSync(join(project, file), source);
  return run(process.execPath, [file]);
};

describe('pcisim installed from its tarball', () => {
  it('npx pcisim runs the CLI from dist: --version, and a usage error with a hint', async () => {
    const { version } = (await import(join(ROOT, 'package.json'), { with: { type: 'json' } })).default as { version: string };
    expect(await run('npx', ['--no-install', 'pcisim', '--version'])).toEqual({ code: 0, stdout: `pcisim ${version}\n`, stderr: '' });
    const bad = await run('npx', ['--no-install', 'pcisim', '--hardwar']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.split('\n')[0]).toBe('pcisim: unknown option "--hardwar"; did you mean --hardware?');
  }, 60_000);

  it('npx pcisim --hardware --json enumerates the default machine', async () => {
    const r = await run('npx', ['--no-install', 'pcisim', '--hardware', '--json']);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { functions: unknown[] }).functions).toHaveLength(12);
  }, 60_000);

  it('the root and every layer subpath import, sharing module instances', async () => {
    const r = await node(
      'subpaths.mjs',
      `import * as all from 'pcisim';
import * as hw from 'pcisim/hw';
import * as host from 'pcisim/host';
import * as vmm from 'pcisim/vmm';
import * as guest from 'pcisim/guest';
const layers = { hw, host, vmm, guest };
const differ = Object.entries(layers).flatMap(([l, m]) => Object.keys(m).filter((k) => m[k] !== all[k]).map((k) => l + '.' + k));
const emu = await all.createEmulator({ memoryBytes: 1 << 20 });
emu.hw.addEndpoint('00:02.0', { vendorId: 0x8086, deviceId: 0x10d3, classCode: 0x020000 });
console.log(JSON.stringify({ differ, hw: hw.Hardware === all.Hardware, vendor: emu.hw.configRead('0000:00:02.0', 0, 2) }));
`,
    );
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ differ: [], hw: true, vendor: 0x8086 });
  });

  it("require('pcisim') and its subpaths throw an Error saying pcisim is ESM-only, naming import()", async () => {
    const r = await node(
      'require.cjs',
      `const out = [];
for (const id of ['pcisim', 'pcisim/hw', 'pcisim/host']) {
  try { require(id); out.push(id + ' loaded'); } catch (e) { out.push(id + ': ' + (e instanceof Error) + ' ' + e.message); }
}
console.log(out.join('\\n'));
`,
    );
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    for (const l of lines) expect(l).toMatch(/^pcisim(\/hw|\/host)?: true pcisim is ESM-only and cannot be loaded with require\(\)\. .*await import\('pcisim'\)/);
  });

  it('a dynamic import() from CommonJS works', async () => {
    const r = await node('dynamic.cjs', `import('pcisim').then(async ({ createEmulator }) => { const emu = await createEmulator(); console.log(typeof emu.hw.addEndpoint); });\n`);
    expect(r).toEqual({ code: 0, stdout: 'function\n', stderr: '' });
  });

  it('TypeScript: an ES module gets the types, CommonJS gets the ESM-only message', async () => {
    writeFileSync(join(project, 'esm.mts'), `import { createEmulator, type Emulator } from 'pcisim';\nimport { Hardware } from 'pcisim/hw';\nconst emu: Emulator = await createEmulator();\nconst n: number = emu.hw.configRead('00:02.0', 0, 2);\nexport { n, Hardware };\n`);
    writeFileSync(join(project, 'cjs.cts'), `import pcisim = require('pcisim');\nexport const f = pcisim.createEmulator;\n`);
    const tsc = (file: string) =>
      run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '--noEmit', '--strict', '--skipLibCheck', '--module', 'nodenext', '--target', 'es2022', '--types', 'node', '--typeRoots', join(ROOT, 'node_modules/@types'), file]);
    const [esm, cjs] = await Promise.all([tsc('esm.mts'), tsc('cjs.cts')]);
    expect(esm.stdout).toBe('');
    expect(esm.code).toBe(0);
    expect(cjs.code).not.toBe(0);
    expect(cjs.stdout).toContain(`Property 'createEmulator' does not exist on type '"pcisim is ESM-only: use import or await import('pcisim'), not require()"'`);
  }, 120_000);
});
