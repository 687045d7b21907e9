import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { editDistance, formatOptions, OPTIONS, parseOptions, UsageError } from '../../src/cli/args.js';
import { main, USAGE } from '../../src/cli/main.js';

async function run(...argv: string[]) {
  let out = '';
  let err = '';
  const code = await main(argv, { write: (s: string) => (out += s) }, { write: (s: string) => (err += s) });
  return { code, out, err };
}

function usageError(argv: string[]): string {
  try {
    parseOptions(argv);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error(`${argv.join(' ')} parsed`);
}

describe('pcisim command line (node:util parseArgs over one option table)', () => {
  it('--version prints the package version', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(await run('--version')).toEqual({ code: 0, out: `pcisim ${pkg.version}\n`, err: '' });
  });

  it('--opt value and --opt=value are the same; flags are true, ranged values numbers', () => {
    expect(parseOptions(['--vfs', '2', '--pings=3', '--json', '--no-migration'])).toEqual({ vfs: 2, pings: 3, json: true, 'no-migration': true });
    expect(parseOptions(['--vfs=2'])).toEqual(parseOptions(['--vfs', '2']));
    expect(parseOptions(['-h'])).toEqual({ help: true });
    expect(parseOptions(['--frames', '5'])).toEqual({ pings: 5 }); // the old name still works
    expect(parseOptions([])).toEqual({});
  });

  it('an unknown option names itself and, when one is close, the option meant', () => {
    expect(usageError(['--jsno'])).toBe('unknown option "--jsno"; did you mean --json?');
    expect(usageError(['--hardwre'])).toBe('unknown option "--hardwre"; did you mean --hardware?');
    expect(usageError(['--vf=2'])).toBe('unknown option "--vf"; did you mean --vfs?');
    expect(usageError(['--no-migrate'])).toBe('unknown option "--no-migrate"; did you mean --no-migration?');
    expect(usageError(['--frobnicate'])).toBe('unknown option "--frobnicate"');
    expect(usageError(['-x'])).toBe('unknown option "-x"');
  });

  it('values are checked: missing, out of range, not a number, given to a flag, stray arguments', () => {
    expect(usageError(['--vfs'])).toBe('--vfs needs a value (--vfs N)');
    expect(usageError(['--vfs', '--json'])).toBe('--vfs needs a value (--vfs N)');
    expect(usageError(['--vfs=9'])).toBe('--vfs needs a whole number from 1 to 4, got "9"');
    expect(usageError(['--rounds', '1.5'])).toBe('--rounds needs a whole number from 0 to 100000, got "1.5"');
    expect(usageError(['--pings='])).toBe('--pings needs a whole number from 1 to 10000, got ""');
    expect(usageError(['--json=yes'])).toBe('--json takes no value, got "yes"');
    expect(usageError(['go'])).toBe('unexpected argument "go"');
  });

  it('a usage error exits 2 with the message and the help on stderr', async () => {
    const r = await run('--jsno');
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toBe(`pcisim: unknown option "--jsno"; did you mean --json?\n\n${USAGE}`);
    expect((await run('--ecam', '--cf8-only', '--hardware')).code).toBe(2);
  });

  it('the help lists every option of the table except aliases, from the table', () => {
    const help = formatOptions();
    for (const [name, o] of Object.entries(OPTIONS)) {
      if (o.alias) expect(help).not.toContain(`--${name}`);
      else expect(help).toMatch(new RegExp(`^  --${name}${o.arg ? ` ${o.arg}` : ''} +\\S`, 'm'));
    }
    expect(USAGE).toContain(help);
    // a new option is one entry: it parses and shows up in the help
    const more = { ...OPTIONS, v86: { help: 'boot a real guest', arg: 'URL' } };
    expect(parseOptions(['--v86=http://x/'], more)).toEqual({ v86: 'http://x/' });
    expect(formatOptions(more)).toContain(`${'  --v86 URL'.padEnd(19)}boot a real guest\n`);
  });

  it('edit distance counts a swap of neighbours as one edit', () => {
    expect(editDistance('json', 'jsno')).toBe(1);
    expect(editDistance('vfs', 'vfs')).toBe(0);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });
});
