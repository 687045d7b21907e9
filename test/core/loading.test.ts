// Where the core comes from: createEmulator({ wasm }) takes a URL, a path, bytes or a compiled
// Module; nothing loads at import time; a failure names pcisim and what was tried.
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createEmulator } from '../../src/index.js';
import { loadCoreModule } from '../../src/core/load.js';

const WASM = resolve(import.meta.dirname, '../../build/release.wasm');
const bytes = readFileSync(WASM);

/** An emulator built from `wasm` answers like any other. */
async function works(wasm: Parameters<typeof createEmulator>[0]): Promise<void> {
  const emu = await createEmulator(wasm);
  const f = emu.hw.addEndpoint('0000:00:02.0', { vendorId: 0x8086, deviceId: 0x10d3, classCode: 0x020000, bars: [{ kind: 'mem32', size: 0x1000 }] });
  emu.hw.configWrite(f.bdf, 0x10, 4, 0xffffffff);
  expect(emu.hw.configRead(f.bdf, 0x10, 4)).toBe(0xfffff000);
  expect(emu.hw.configRead(f.bdf, 0, 4)).toBe(0x10d38086);
}

async function served<T>(body: (base: string) => Promise<T>): Promise<T> {
  const server = createServer((req, res) => {
    if (req.url === '/core.wasm') res.writeHead(200, { 'content-type': 'application/wasm' }).end(bytes);
    else res.writeHead(404).end();
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  try {
    return await body(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    server.close();
  }
}

describe('loading the core', () => {
  it('defaults to the core built into the package', async () => {
    await works(undefined);
  });

  it('takes a path string, a file: URL and a file: URL string', async () => {
    await works({ wasm: WASM });
    await works({ wasm: pathToFileURL(WASM) });
    await works({ wasm: pathToFileURL(WASM).href });
  });

  it('fetches an http URL (URL object and string)', async () => {
    await served(async (base) => {
      await works({ wasm: new URL('/core.wasm', base) });
      await works({ wasm: `${base}/core.wasm` });
    });
  });

  it('takes an ArrayBuffer, a Uint8Array and a compiled Module', async () => {
    await works({ wasm: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) });
    await works({ wasm: new Uint8Array(bytes) });
    await works({ wasm: new WebAssembly.Module(bytes) });
  });

  it('compiles a source once', async () => {
    const u8 = new Uint8Array(bytes);
    expect(await loadCoreModule(u8)).toBe(await loadCoreModule(u8));
    expect(await loadCoreModule(WASM)).toBe(await loadCoreModule(WASM));
  });

  it('a missing file rejects with an Error naming pcisim and the path, keeping the cause', async () => {
    const path = resolve(import.meta.dirname, 'no-such-dir/release.wasm');
    const err = await createEmulator({ wasm: path }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/^pcisim: /);
    expect((err as Error).message).toContain(path);
    expect(((err as Error).cause as { code?: string }).code).toBe('ENOENT');
  });

  it('an HTTP 404 rejects naming the URL', async () => {
    await served(async (base) => {
      const err = await createEmulator({ wasm: `${base}/missing.wasm` }).then(() => null, (e: unknown) => e as Error);
      expect(err?.message).toMatch(/^pcisim: .*\/missing\.wasm.*404/);
    });
  });

  it('bytes that are not a wasm module, or another module, reject with a pcisim error', async () => {
    const junk = await createEmulator({ wasm: new Uint8Array([1, 2, 3]) }).then(() => null, (e: unknown) => e as Error);
    expect(junk?.message).toMatch(/^pcisim: cannot load the wasm core from 3 bytes/);
    expect(junk?.cause).toBeInstanceOf(Error);
    // a valid module that is not pcisim's core (no imports, no exports)
    const empty = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
    const other = await createEmulator({ wasm: empty }).then(() => null, (e: unknown) => e as Error);
    expect(other?.message).toMatch(/^pcisim: the wasm core from .* does not match this pcisim build/);
  });

  it('a source of the wrong type is a TypeError naming pcisim', async () => {
    const err = await createEmulator({ wasm: 42 as unknown as Uint8Array }).then(() => null, (e: unknown) => e as Error);
    expect(err).toBeInstanceOf(TypeError);
    expect(err?.message).toMatch(/^pcisim: the wasm option/);
  });
});

describe('the browser entry', () => {
  it('reaches no node: module and no build/ file through its static or dynamic imports', () => {
    const seen = new Set<string>();
    const bad: string[] = [];
    const walk = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const src = readFileSync(file, 'utf8');
      for (const m of src.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
        const spec = m[1] ?? m[2];
        if (/^node:/.test(spec) || /build\//.test(spec)) bad.push(`${file}: ${spec}`);
        if (!spec.startsWith('.')) continue;
        const ts = resolve(dirname(file), spec.replace(/\.js$/, '.ts'));
        if (existsSync(ts)) walk(ts);
      }
    };
    walk(resolve(import.meta.dirname, '../../src/index.ts'));
    expect(seen.size).toBeGreaterThan(50);
    expect(bad).toEqual([]);
  });
});
