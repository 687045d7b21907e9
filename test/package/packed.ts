// The package as a user gets it: `npm pack` of this repository, unpacked into a fresh project's
// node_modules. Package tests and bundler tests run against that, not against the source tree, so
// `files`, `exports` and `bin` are what is tested.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * Builds dist/ (tsc -p tsconfig.build.json) when it is missing or older than src/, so these tests
 * never pass or fail on a stale build. Test files run in parallel: a lock directory makes the
 * others wait for the one build.
 */
export function ensureDist(): void {
  const marker = join(ROOT, 'dist/index.js');
  const fresh = () => existsSync(marker) && statSync(marker).mtimeMs >= newestMtime(join(ROOT, 'src'));
  if (fresh()) return;
  const lock = join(ROOT, '.dist-build.lock');
  try {
    mkdirSync(lock);
  } catch {
    const until = Date.now() + 300_000;
    while (existsSync(lock) && Date.now() < until) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    if (fresh()) return;
    throw new Error('dist/ is stale and another build did not finish: run `npm run build`');
  }
  try {
    execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json')], { stdio: 'pipe' });
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** One entry of `npm pack --json`'s file list. */
export interface PackedFile {
  path: string;
  size: number;
}

/** What `npm pack --dry-run --json` says the tarball holds (scripts not run: dist is built above). */
export function packList(): PackedFile[] {
  ensureDist();
  const json = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return (JSON.parse(json) as { files: PackedFile[] }[])[0].files;
}

/**
 * A fresh project in a temporary directory with the packed pcisim installed by
 * `npm install <tarball>` (offline: pcisim has no runtime dependencies). Returns the project dir.
 * One install per state of the package, shared by the test files (a lock makes the others wait).
 */
export function installPacked(): string {
  ensureDist();
  const key = ['dist', 'cjs', 'src', 'build', 'package.json', 'README.md', 'LICENSE', 'CHANGELOG.md']
    .map((p) => join(ROOT, p))
    .filter((p) => existsSync(p))
    .map((p) => (statSync(p).isDirectory() ? newestMtime(p) : statSync(p).mtimeMs))
    .reduce((a, b) => Math.max(a, b), 0);
  const project = join(tmpdir(), `pcisim-packed-${Math.round(key)}`);
  const ready = join(project, '.ready');
  if (existsSync(ready)) return project;
  const lock = project + '.lock';
  try {
    mkdirSync(lock);
  } catch {
    const until = Date.now() + 300_000;
    while (!existsSync(ready) && Date.now() < until) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    if (existsSync(ready)) return project;
    throw new Error(`installing the packed pcisim into ${project} did not finish`);
  }
  try {
    rmSync(project, { recursive: true, force: true });
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    const npm = (args: string[]) => execFileSync('npm', args, { cwd: project, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', project], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })) as { filename: string }[];
    npm(['install', '--offline', '--no-audit', '--no-fund', '--no-save', '--ignore-scripts', `./${packed[0].filename}`]);
    rmSync(join(project, packed[0].filename));
    writeFileSync(ready, '');
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
  return project;
}
