// sideEffects: false and the layer subpaths let a hardware-only page leave the host kernel, the VMM
// and the guest out of its bundle. Measured with esbuild (minified, for the browser) against the
// packed package; the figures are printed (README "Bundle size" quotes them), the test asserts what
// each bundle holds and that the hardware-only page runs in headless Chromium.
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installPacked } from '../package/packed.js';
import { launchChromium, pageResult, serve } from './browser.js';

// strings only the host kernel (driver names, sysfs attributes, uapi names), the VMM or the guest carry
const HOST_MARKERS = ['vfio-pci', 'sriov_numvfs', 'driver_override', 'VfioError', 'DEVICE_GET_INFO'];
const VMM_GUEST_MARKERS = ['Vmm', 'GuestNetStack'];

let dir: string;
const sizes: Record<string, { minified: number; gzip: number; text: string }> = {};

async function bundle(name: string): Promise<void> {
  const outfile = join(dir, `${name}.min.js`);
  await build({ entryPoints: [join(dir, `${name}.js`)], bundle: true, minify: true, format: 'esm', platform: 'browser', outfile, logLevel: 'silent' });
  const text = readFileSync(outfile, 'utf8');
  sizes[name] = { minified: Buffer.byteLength(text), gzip: gzipSync(text, { level: 9 }).length, text };
}

beforeAll(async () => {
  const project = installPacked();
  dir = join(project, 'size');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  cpSync(resolve(import.meta.dirname, 'consumer'), dir, { recursive: true });
  for (const name of ['hwOnly', 'main', 'everything']) await bundle(name);
  const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
  for (const [name, s] of Object.entries(sizes)) console.log(`bundle size (esbuild --minify, browser) ${name}: ${kib(s.minified)}, ${kib(s.gzip)} gzipped`);
}, 300_000);

let closeBrowser: (() => Promise<void>) | undefined;
afterAll(async () => closeBrowser?.());

describe('bundle size: a hardware-only page does not carry the host kernel', () => {
  it('pcisim/hw alone holds no host, VMM or guest code; the whole package does', () => {
    for (const m of [...HOST_MARKERS, ...VMM_GUEST_MARKERS]) {
      expect(sizes.hwOnly.text, m).not.toContain(m);
      expect(sizes.everything.text, m).toContain(m);
    }
  });

  it('createEmulator (hardware and host kernel) leaves the VMM and guest out', () => {
    for (const m of HOST_MARKERS) expect(sizes.main.text, m).toContain(m);
    for (const m of VMM_GUEST_MARKERS) expect(sizes.main.text, m).not.toContain(m);
  });

  it('the bundles nest: hardware-only < createEmulator < everything', () => {
    expect(sizes.hwOnly.minified).toBeLessThan(sizes.main.minified);
    expect(sizes.main.minified).toBeLessThan(sizes.everything.minified);
  });

  it('the hardware-only page runs in headless Chromium', async () => {
    const browser = await launchChromium();
    closeBrowser = () => browser.close();
    writeFileSync(join(dir, 'index.html'), '<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>pending</title></head><body><script type="module" src="hwOnly.min.js"></script></body></html>');
    const { url, server } = await serve(dir);
    try {
      expect(await pageResult(browser, url)).toEqual({ title: 'ok vendor 8086 bar0 fffff000', errors: [] });
    } finally {
      server.close();
    }
  }, 60_000);
});
