// The demo page end to end in headless Chromium: vite builds demo/ and serves it (the real guest's
// files from .guest/, prepared by scripts/prepare-guest.sh), the page boots Linux in v86 with
// pcisim's devices attached, the guest pings the peer behind pcisim's VF, and a visitor's actions
// work: sriov_numvfs on the host makes VFs appear, and the live migration of the DMA engine ends
// with equal digests. The screenshot is checked for content; with PCISIM_DEMO_SCREENSHOT=<path> it
// is also saved there (docs/demo.png is made that way).
import { writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { build, preview } from 'vite';
import type { PreviewServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const CONFIG = resolve(ROOT, 'demo/vite.config.ts');
const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'];
/** a Linux boot in v86 takes 15-50 s on an idle machine; CI shares 2 cores */
const BOOT_MS = 600_000;

let server: PreviewServer;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

/** Mean and variance of the luminance of a PNG, computed by the page's own canvas. */
async function pixelStats(png: Buffer): Promise<{ mean: number; variance: number; width: number }> {
  return page.evaluate(async (b64) => {
    const img = new Image();
    img.src = `data:image/png;base64,${b64}`;
    await img.decode();
    const c = document.createElement('canvas');
    c.width = img.width;
    c.height = img.height;
    const ctx = c.getContext('2d')!;
    ctx.drawImage(img, 0, 0);
    const d = ctx.getImageData(0, 0, c.width, c.height).data;
    let sum = 0;
    let sq = 0;
    const n = d.length / 4;
    for (let i = 0; i < d.length; i += 4) {
      const y = 0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2];
      sum += y;
      sq += y * y;
    }
    const mean = sum / n;
    return { mean, variance: sq / n - mean * mean, width: c.width };
  }, png.toString('base64'));
}

describe('the demo page (npm run demo) in headless Chromium', () => {
  beforeAll(async () => {
    await build({ configFile: CONFIG, logLevel: 'error' });
    server = await preview({ configFile: CONFIG, logLevel: 'error', preview: { port: 0, strictPort: false } });
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_FLAGS });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    const port = (server.httpServer.address() as AddressInfo).port;
    await page.goto(`http://127.0.0.1:${port}/`);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((ok) => (server ? server.httpServer.close(() => ok()) : ok()));
  });

  it('boots Linux in v86 with pcisim attached; the guest pings the peer behind the VF; the page is not blank', async () => {
    await page.waitForFunction(() => Number(document.body.dataset.pingReplies ?? 0) > 0 || document.getElementById('status')?.dataset.state === 'error', null, {
      timeout: BOOT_MS,
      polling: 1000,
    });
    const status = await page.textContent('#status');
    expect(await page.getAttribute('#status', 'data-state'), status ?? '').not.toBe('error');
    expect(Number(await page.evaluate(() => document.body.dataset.pingReplies))).toBeGreaterThan(0);
    expect(await page.textContent('#result')).toMatch(/guest ping 10\.0\.2\.2: [1-9]\/\d replies/);
    // the terminal shows the guest's console, ping's own lines included
    expect(await page.textContent('.xterm-rows')).toMatch(/bytes from 10\.0\.2\.2/);
    // the stack shows Linux's own driver and BARs on pcisim's VF, as the guest's sysfs has them
    const guestNic = page.locator('#stack .layer:last-child .dev[data-bdf="0000:00:10.0"]');
    await guestNic.locator('.bar').first().waitFor({ timeout: 10_000 });
    expect(await guestNic.locator('.drv').textContent()).toBe('virtio-pci');
    expect(await guestNic.textContent()).toMatch(/BAR0 io 0x[0-9a-f]+ \[32\]/);
    const stats = await pixelStats(await page.screenshot());
    expect(stats.width).toBe(1400);
    expect(stats.variance).toBeGreaterThan(100); // a blank page has variance ~0
    expect(pageErrors).toEqual([]);
  }, BOOT_MS + 60_000);

  it('sriov_numvfs on the host: the VFs appear in the host hardware and the kernel layer', async () => {
    await page.fill('#numvfs', '3');
    await page.click('#act-sriov');
    await page.waitForSelector('#result[data-numvfs="3"]', { timeout: 30_000 });
    for (const vf of ['0000:00:05.1', '0000:00:05.2', '0000:00:05.3']) {
      expect(await page.locator(`#stack .dev[data-bdf="${vf}"]`).count()).toBe(2); // hardware + kernel rows
    }
    expect(await page.textContent('#stack')).toMatch(/sriov_numvfs=3\/4/);
    await page.fill('#numvfs', '0');
    await page.click('#act-sriov');
    await page.waitForSelector('#result[data-numvfs="0"]', { timeout: 30_000 });
    expect(await page.locator('#stack .dev[data-bdf="0000:00:05.1"]').count()).toBe(0);
  }, 60_000);

  it('hot-adds a VF to the running guest (ACPI PCI hotplug): acpiphp scans the slot, virtio-pci binds it, the new NIC pings', async () => {
    await page.click('#act-hotadd');
    await page.waitForFunction(
      () => {
        const r = document.getElementById('result')!;
        return r.dataset.hotadd === 'ok' || r.className === 'bad';
      },
      null,
      { timeout: 300_000, polling: 1000 },
    );
    const text = (await page.textContent('#result')) ?? '';
    expect(text).toMatch(/00:05\.1 bound to virtio-vfio-pci; VMM: vfio device assigned at guest 00:11\.0/);
    expect(text).toMatch(/acpiphp took slot 17; 00:11\.0 driver virtio-pci, eth1/);
    expect(text).toMatch(/ping 10\.0\.3\.2: [12]\/2 replies/);
    // the guest's sysfs view on the page shows the new function with the BARs Linux gave it
    await page.waitForSelector('#stack .dev[data-bdf="0000:00:11.0"] .bar', { timeout: 60_000 });
  }, 360_000);

  it('live migration of the DMA engine (pure pcisim): pre-copy, stop-and-copy, equal digests', async () => {
    await page.click('#act-migrate');
    await page.waitForSelector('#migration[data-digests-equal]', { timeout: 120_000 });
    expect(await page.getAttribute('#migration', 'data-digests-equal')).toBe('true');
    const text = (await page.textContent('#migration')) ?? '';
    expect(text).toMatch(/PRE_COPY -> STOP_COPY -> STOP/);
    expect(text).toMatch(/RESUMING -> STOP -> RUNNING/);
    expect(text).toMatch(/digests equal, guest RAM equal/);
    const [, a] = /digest source\s+(\S+)/.exec(text)!;
    const [, b] = /digest destination\s+(\S+)/.exec(text)!;
    expect(a).toBe(b);
    const shot = process.env.PCISIM_DEMO_SCREENSHOT;
    if (shot) writeFileSync(resolve(ROOT, shot), await page.screenshot({ fullPage: true }));
    expect(pageErrors).toEqual([]);
  }, 150_000);
});
