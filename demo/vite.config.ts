// `npm run demo`: vite builds demo/ into build/demo and serves it on 127.0.0.1. The real guest's
// files (prepared by scripts/prepare-guest.sh into .guest/) and v86's wasm are served from where
// they are, not copied into the bundle: /guest/<file> and /v86/v86.wasm.
import { createReadStream, existsSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join, resolve } from 'node:path';
import { defineConfig } from 'vite';
import type { Plugin } from 'vite';

const repo = resolve(import.meta.dirname, '..');
export const DEMO_PORT = 5186;

const FILES: Record<string, string> = {
  '/guest/bios.bin': '.guest/bios.bin',
  '/guest/vgabios.bin': '.guest/vgabios.bin',
  '/guest/bzImage': '.guest/bzImage',
  '/guest/initramfs.gz': '.guest/initramfs.gz',
  '/v86/v86.wasm': 'node_modules/v86/build/v86.wasm',
};

function guestFiles(): Plugin {
  const serve = (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    const rel = FILES[(req.url ?? '').split('?')[0]];
    if (!rel) return next();
    const file = join(repo, rel);
    if (!existsSync(file)) {
      res.statusCode = 404;
      res.end(`${rel} is missing: run \`bash scripts/prepare-guest.sh\` (the real guest) or \`npm install\` (v86)`);
      return;
    }
    res.setHeader('content-type', rel.endsWith('.wasm') ? 'application/wasm' : 'application/octet-stream');
    res.setHeader('content-length', String(statSync(file).size));
    res.setHeader('cache-control', 'no-cache');
    createReadStream(file).pipe(res);
  };
  return {
    name: 'pcisim-demo-guest-files',
    configureServer: (server) => void server.middlewares.use(serve),
    configurePreviewServer: (server) => void server.middlewares.use(serve),
  };
}

export default defineConfig({
  root: resolve(repo, 'demo'),
  base: './',
  logLevel: 'warn',
  build: {
    outDir: resolve(repo, 'build/demo'),
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 4096,
    rollupOptions: {
      // v86's and the wasm core's Node branches import node: modules they never reach in a browser
      onwarn(warning, warn) {
        if (/externalized for browser compatibility/.test(warning.message)) return;
        warn(warning);
      },
    },
  },
  server: { host: '127.0.0.1', port: DEMO_PORT, fs: { allow: [repo] } },
  preview: { host: '127.0.0.1', port: DEMO_PORT },
  plugins: [guestFiles()],
});
