// Every export has a doc comment: TypeDoc's notDocumented validation over the package's entry
// points, with validation warnings as errors (`npm run docs:check`). docs/undocumented.json lists
// the members that were undocumented when the check came in; the list can only shrink (TypeDoc
// reports a listed name that is documented now), and anything new must come documented.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './packed.js';

describe('API reference', () => {
  it('typedoc --treatValidationWarningsAsErrors passes: no undocumented export outside the shrinking list', async () => {
    const r = await new Promise<{ code: number; out: string }>((ok) =>
      execFile(process.execPath, [join(ROOT, 'node_modules/typedoc/bin/typedoc'), '--emit', 'none', '--treatValidationWarningsAsErrors'], { cwd: ROOT, timeout: 240_000 }, (err, stdout, stderr) =>
        ok({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
      ),
    );
    expect(r.out.replace(/\x1b\[[0-9;]*m/g, '')).not.toMatch(/warning|error/i);
    expect(r.code).toBe(0);
  }, 300_000);

  it('the list of still-undocumented names holds no top-level export and is sorted', () => {
    const names = JSON.parse(readFileSync(join(ROOT, 'docs/undocumented.json'), 'utf8')) as string[];
    // "index.Name" would be a top-level export of the root entry point: those are all documented
    expect(names.filter((n) => n.split('.').length < 3)).toEqual([]);
    expect(names).toEqual([...names].sort());
  });
});
