// The examples/ folder: complete programs a user can run (`node examples/<name>`), each checking
// its own result with node:assert and printing "ok: ...". They import 'pcisim' by name, which
// resolves to this package's exports (dist/) through Node's package self-reference.
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureDist, ROOT } from './packed.js';

const EXAMPLES = readdirSync(join(ROOT, 'examples')).filter((f) => /\.(mjs|cjs)$/.test(f)).sort();

beforeAll(() => ensureDist(), 300_000);

describe('examples/', () => {
  it('holds the examples the README points at', () => {
    expect(EXAMPLES).toEqual(['commonjs.cjs', 'endpoint.mjs', 'hardware-only.mjs', 'vfio-device.mjs', 'whole-stack.mjs']);
  });

  it.each(EXAMPLES)('%s runs and checks its own result', async (name) => {
    const r = await new Promise<{ code: number; stdout: string; stderr: string }>((ok) =>
      execFile(process.execPath, [join('examples', name)], { cwd: ROOT, timeout: 60_000 }, (err, stdout, stderr) =>
        ok({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      ),
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^ok: .+\n$/);
    expect(r.code).toBe(0);
  }, 60_000);
});
