// The CLI's option parsing (src/cli/args.ts): node:util parseArgs, strict, plus list options that take every
// word up to the next option (`--dfsp a b c`, the documented form).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCommand, UsageError } from '../../../src/cli/args.js';

const OPTIONS = { dfsp: { type: 'string', multiple: true }, dir: { type: 'string' }, force: { type: 'boolean' } } as const;

const values = (...a: Parameters<typeof parseCommand<typeof OPTIONS>>) => ({ ...parseCommand(...a).values });

test('a list option takes the words that follow it, up to the next option', () => {
  assert.deepEqual(values(['--dfsp', 'a', 'b', 'c', '--dir', 'd', '--force'], OPTIONS, ['dfsp']), { dfsp: ['a', 'b', 'c'], dir: 'd', force: true });
  assert.deepEqual(values(['--dir', 'd', '--dfsp', 'a', 'b'], OPTIONS, ['dfsp']), { dfsp: ['a', 'b'], dir: 'd' });
  assert.deepEqual(values(['--dfsp=a', 'b', '--dfsp', 'c'], OPTIONS, ['dfsp']), { dfsp: ['a', 'b', 'c'] });
  assert.deepEqual(values([], OPTIONS, ['dfsp']), {});
});

test('positionals: only as many as the command takes; words after a non-list option are not list values', () => {
  assert.deepEqual(parseCommand(['PACKET'], {}, [], 1).positionals, ['PACKET']);
  assert.throws(
    () => parseCommand(['A', 'B'], {}, [], 1),
    (e) => e instanceof UsageError && /unexpected argument 'B'/.test(e.message),
  );
  assert.throws(() => parseCommand(['--dir', 'd', 'stray'], OPTIONS, ['dfsp']), UsageError);
  assert.throws(() => parseCommand(['--force', 'a'], OPTIONS, ['dfsp']), UsageError);
});

test('unknown options, missing values and values that look like options are usage errors', () => {
  for (const argv of [['--frobnicate'], ['--dir'], ['--dir', '--force'], ['--force=yes'], ['-x']]) {
    assert.throws(() => parseCommand(argv, OPTIONS, ['dfsp']), UsageError, argv.join(' '));
  }
});
