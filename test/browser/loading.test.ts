import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

// The library (dist/ + the wasm core in build/) loads in a browser from the same code as in Node:
// the esm bindings fetch the .wasm next to them. Runs when Debian's chromium is installed
// (apt-get install chromium); skipped otherwise.
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const ROOT = resolve(import.meta.dirname, '../..');

const PAGE = `<!doctype html><html><body><pre id="out">pending</pre><script type="module">
import { createEmulator, VFIO } from '/dist/index.js';
try {
  const emu = await createEmulator({ memoryBytes: 1 << 20 });
  const f = emu.hw.addEndpoint('0000:00:02.0', { vendorId: 0x8086, deviceId: 0x10d3, classCode: 0x020000,
    bars: [{ kind: 'mem32', size: 0x20000 }], capabilities: [{ id: 'pcie' }] });
  emu.hw.configWrite(f.bdf, 0x10, 4, 0xffffffff);
  const sizing = emu.hw.configRead(f.bdf, 0x10, 4).toString(16);
  emu.host.bind(f.bdf);
  const b = emu.host.openDevice(f.bdf).read(BigInt(VFIO.PCI_CONFIG_REGION_INDEX) << 40n, 2);
  document.getElementById('out').textContent = 'ok ' + sizing + ' ' + (b[0] | (b[1] << 8)).toString(16);
} catch (e) { document.getElementById('out').textContent = 'error ' + e; }
</script></body></html>`;

const TYPES: Record<string, string> = { '.js': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html' };

describe('in a browser', () => {
  it('dist/index.js and the wasm core load in headless Chromium and answer like in Node', async () => {
    if (!CHROMIUM) throw new Error('Debian chromium is not installed: apt-get install chromium');
    if (!existsSync(join(ROOT, 'dist/index.js'))) throw new Error('dist/ is missing: npm run build');
    const server = createServer((req, res) => {
      const path = normalize(decodeURIComponent((req.url ?? '/').split('?')[0]));
      if (path === '/smoke.html') {
        res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
        return;
      }
      const file = join(ROOT, path);
      if (!file.startsWith(ROOT) || !existsSync(file)) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const port = (server.address() as AddressInfo).port;
    try {
      const profile = mkdtempSync(join(tmpdir(), 'pcisim-chromium-'));
      const dom = await new Promise<string>((ok, fail) => {
        // run async so the in-process server can answer
        import('node:child_process').then(({ execFile }) =>
          execFile(
            CHROMIUM!,
            ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
              '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`, '--virtual-time-budget=10000',
              '--dump-dom', `http://127.0.0.1:${port}/smoke.html`],
            { timeout: 60000 },
            (err, stdout) => (err ? fail(err) : ok(stdout)),
          ),
        );
      });
      expect(dom).toMatch(/<pre id="out">ok fffe0000 8086<\/pre>/);
    } finally {
      server.close();
    }
  }, 90000);
});

