// Builds the consumer (consumer/main.js) with one bundler, for the browser or as a Node program,
// with each bundler's ordinary setup for an npm dependency and no pcisim-specific configuration.
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export type Bundler = 'vite' | 'webpack' | 'rollup' | 'esbuild';
export type Target = 'browser' | 'node';

export const BUNDLERS: Bundler[] = ['vite', 'webpack', 'rollup', 'esbuild'];
const CONSUMER = resolve(import.meta.dirname, 'consumer');

/** What a build produced: a Node program to run, or a directory with index.html to serve. */
export interface Built {
  /** Node: the program; browser: the directory holding index.html */
  path: string;
}

const page = (script: string, module: boolean) =>
  `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>pending</title></head><body><script ${module ? 'type="module" ' : ''}src="${script}"></script></body></html>`;

/**
 * Builds in `<project>/<bundler>-<target>/`, where `project` has pcisim installed in its
 * node_modules (so `import 'pcisim'` resolves the way it does for a user).
 */
export async function buildConsumer(project: string, bundler: Bundler, target: Target): Promise<Built> {
  const dir = join(project, `${bundler}-${target}`);
  const src = join(dir, 'src');
  const out = join(dir, 'out');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  cpSync(CONSUMER, src, { recursive: true });
  const entry = join(src, 'main.js');
  const browser = target === 'browser';

  switch (bundler) {
    case 'vite': {
      const { build } = await import('vite');
      if (browser) {
        await build({ root: src, configFile: false, logLevel: 'silent', build: { outDir: out, emptyOutDir: true, minify: false } });
        return { path: out };
      }
      await build({
        root: src,
        configFile: false,
        logLevel: 'silent',
        ssr: { noExternal: true, target: 'node' }, // a bundled Node program: pcisim goes into the bundle
        build: { ssr: entry, outDir: out, emptyOutDir: true, minify: false, rolldownOptions: { output: { entryFileNames: 'main.mjs' } } },
      });
      return { path: join(out, 'main.mjs') };
    }
    case 'webpack': {
      const { default: webpack } = await import('webpack');
      const stats = await new Promise<import('webpack').Stats>((ok, fail) =>
        webpack(
          {
            mode: 'production',
            context: src,
            entry: './main.js',
            target: browser ? 'web' : 'node',
            output: { path: out, filename: browser ? 'main.js' : 'main.cjs' },
            optimization: { minimize: false },
            devtool: false,
            performance: { hints: false },
          },
          (err, s) => (err || !s ? fail(err ?? new Error('webpack gave no stats')) : ok(s)),
        ),
      );
      if (stats.hasErrors()) throw new Error(`webpack: ${stats.toString({ all: false, errors: true })}`);
      if (!browser) return { path: join(out, 'main.cjs') };
      writeFileSync(join(out, 'index.html'), page('main.js', false));
      return { path: out };
    }
    case 'rollup': {
      const { rollup } = await import('rollup');
      const { nodeResolve } = await import('@rollup/plugin-node-resolve');
      const bundle = await rollup({
        input: entry,
        plugins: [browser ? nodeResolve({ browser: true }) : nodeResolve({ exportConditions: ['node'], preferBuiltins: true })],
        external: browser ? [] : [/^node:/],
        onwarn: (w) => {
          throw new Error(`rollup: ${w.message}`);
        },
      });
      const file = join(out, browser ? 'main.js' : 'main.mjs');
      await bundle.write({ file, format: 'es' });
      await bundle.close();
      if (!browser) return { path: file };
      writeFileSync(join(out, 'index.html'), page('main.js', true));
      return { path: out };
    }
    case 'esbuild': {
      const { build } = await import('esbuild');
      const file = join(out, browser ? 'main.js' : 'main.mjs');
      await build({ entryPoints: [entry], bundle: true, format: 'esm', platform: browser ? 'browser' : 'node', outfile: file, logLevel: 'silent' });
      if (!browser) return { path: file };
      writeFileSync(join(out, 'index.html'), page('main.js', true));
      return { path: out };
    }
  }
}
