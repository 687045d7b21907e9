// What `npm pack` ships (issue 11 §4): the built library, its sources for the source maps, the
// CommonJS stub, the release wasm, the docs files; no debug build, no .wat, no map without its source.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { packList, ROOT } from './packed.js';

let files: Set<string>;
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  main: string;
  types: string;
  bin: Record<string, string>;
  exports: Record<string, string | Record<string, Record<string, string>>>;
  sideEffects: boolean;
};

beforeAll(() => {
  files = new Set(packList().map((f) => f.path));
}, 300_000);

/** Every file a package.json field points at, without the leading "./". */
function targets(): string[] {
  const out = [pkg.main, pkg.types, ...Object.values(pkg.bin)];
  for (const e of Object.values(pkg.exports)) {
    if (typeof e === 'string') out.push(e);
    else for (const cond of Object.values(e)) out.push(...Object.values(cond));
  }
  return [...new Set(out.map((p) => posix.normalize(p)))];
}

describe('the npm tarball', () => {
  it('holds the package files', () => {
    for (const f of ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'cjs/esm-only.cjs', 'cjs/esm-only.d.cts', 'build/release.wasm']) {
      expect(files, f).toContain(f);
    }
  });

  it('ships no debug build, no .wat, no tests, no build inputs', () => {
    const unwanted = [...files].filter((f) => /^build\/debug\.|\.wat$|^test\/|^bench\/|^assembly\/|^scripts\/|^node_modules\/|^docs\/|tsbuildinfo$/.test(f));
    expect(unwanted).toEqual([]);
    expect([...files].filter((f) => f.startsWith('build/'))).toEqual(['build/release.wasm']);
  });

  it('ships every source a source map names', () => {
    const maps = [...files].filter((f) => f.endsWith('.map'));
    expect(maps.length).toBeGreaterThan(0);
    const missing: string[] = [];
    for (const m of maps) {
      const map = JSON.parse(readFileSync(join(ROOT, m), 'utf8')) as { sources: string[]; sourcesContent?: string[] };
      map.sources.forEach((s, i) => {
        const source = posix.normalize(posix.join(dirname(m), s));
        if (!files.has(source) && map.sourcesContent?.[i] == null) missing.push(`${m} -> ${source}`);
      });
    }
    expect(missing).toEqual([]);
  });

  it('holds every file main, types, bin and exports point at', () => {
    const missing = targets().filter((t) => !files.has(t));
    // pcisim/v86 is built from src/v86, which lands with the v86 adapter's branch
    expect(missing).toEqual(existsSync(join(ROOT, 'src/v86/index.ts')) ? [] : ['dist/v86/index.d.ts', 'dist/v86/index.js']);
  });

  it('is side-effect free for bundlers, and the bin is a node script', () => {
    expect(pkg.sideEffects).toBe(false);
    expect(pkg.bin).toEqual({ pcisim: './dist/cli/main.js' });
    expect(readFileSync(join(ROOT, 'dist/cli/main.js'), 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
  });
});
