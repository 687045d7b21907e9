// Issue 11 §1: pcisim works with zero configuration under vite, webpack 5, rollup and esbuild, in a
// browser and as a bundled Node program. Each bundler builds the tiny consumer (create an emulator,
// add an endpoint, read its vendor ID) against the packed package, and the result is loaded: the
// Node program is run, the page is opened in headless Chromium.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installPacked } from '../package/packed.js';
import { launchChromium, pageResult, serve } from './browser.js';
import { BUNDLERS, buildConsumer } from './build.js';

let project: string;
let browser: Browser;

beforeAll(async () => {
  project = installPacked();
  browser = await launchChromium();
}, 300_000);

afterAll(async () => {
  await browser?.close();
});

function runNode(program: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((ok) =>
    execFile(process.execPath, [program], { timeout: 30_000 }, (err, stdout, stderr) =>
      ok({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

/** Every file the build wrote, as text (the emitted JavaScript and HTML). */
function emittedText(dir: string): string {
  let text = '';
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    text += statSync(p).isDirectory() ? emittedText(p) : readFileSync(p, 'utf8');
  }
  return text;
}

describe.each(BUNDLERS)('%s', (bundler) => {
  it('bundles a Node program that runs', async () => {
    const built = await buildConsumer(project, bundler, 'node');
    const r = await runNode(built.path);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('ok vendor 8086\n');
    expect(r.code).toBe(0);
  }, 60_000);

  it('bundles a page that runs in headless Chromium, with no node: import in it', async () => {
    const built = await buildConsumer(project, bundler, 'browser');
    expect(emittedText(built.path)).not.toMatch(/\bfrom\s*["'`]node:|\bimport\s*\(\s*["'`]node:|\brequire\s*\(\s*["'`]node:/);
    const { url, server } = await serve(built.path);
    try {
      const r = await pageResult(browser, url);
      expect(r).toEqual({ title: 'ok vendor 8086', errors: [] });
    } finally {
      server.close();
    }
  }, 60_000);
});
