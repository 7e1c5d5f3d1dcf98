// tuneHeap (src/util/heap-tuning.ts): allocation-site pretenuring off unless node's command line chose, and
// the run-time flag really reaching V8's heap (its pretenuring trace goes silent), on the runtime under test.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { pretenuringChosen, tuneHeap } from '../../../src/util/heap-tuning.js';

test('the command line choosing either setting is respected; anything else is not a choice', () => {
  for (const argv of [
    ['--allocation-site-pretenuring'],
    ['--no-allocation-site-pretenuring'],
    ['--allocation_site_pretenuring'],
    ['--inspect', '--no-allocation-site-pretenuring'],
  ])
    assert.equal(pretenuringChosen(argv), true, argv.join(' '));
  for (const argv of [[], ['--inspect'], ['--trace-pretenuring'], ['--allocation-site-pretenuring-x'], ['--max-semi-space-size=64']])
    assert.equal(pretenuringChosen(argv), false, argv.join(' '));
});

test('tuneHeap sets --no-allocation-site-pretenuring once, and nothing when the command line chose', () => {
  const set: string[] = [];
  assert.equal(
    tuneHeap([], (f) => set.push(f)),
    true,
  );
  assert.deepEqual(set, ['--no-allocation-site-pretenuring']);
  assert.equal(
    tuneHeap(['--allocation-site-pretenuring'], (f) => set.push(f)),
    false,
  );
  assert.deepEqual(set, ['--no-allocation-site-pretenuring'], 'an explicit choice is left as it is');
});

// A loop whose objects survive scavenges: V8 weighs pretenuring for their allocation site and, with
// --trace-pretenuring-statistics, prints a "pretenuring:" line per decision round.
const loop = `const keep = []; for (let r = 0; r < 24; r++) { for (let i = 0; i < 200000; i++) keep.push({ a: i, b: [i] }); if (keep.length > 600000) keep.splice(0, 400000); }`;

function traceLines(tune: boolean): number {
  const mod = pathToFileURL(new URL('../../../src/util/heap-tuning.ts', import.meta.url).pathname).href;
  const code = `${tune ? `const { tuneHeap } = await import(${JSON.stringify(mod)}); tuneHeap(process.execArgv);` : ''} ${loop}`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--trace-pretenuring-statistics', '--input-type=module', '-e', code], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter((l) => l.includes('pretenuring:')).length;
}

test('set at run time, the flag reaches the heap: V8 stops weighing pretenuring', () => {
  const untuned = traceLines(false);
  assert.ok(untuned > 0, `without tuneHeap, V8 weighs pretenuring for the loop (else this test proves nothing): ${untuned} trace lines`);
  assert.equal(traceLines(true), 0, 'with tuneHeap, no pretenuring trace');
});
