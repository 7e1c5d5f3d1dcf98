// One audit record per window for refusals a flood repeats (src/logging/audit-window.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { windowedAudit } from '../../../src/logging/audit-window.js';

test('the first refusal at once, the rest counted into one closing record; keys are separate', async () => {
  const audited = windowedAudit(50);
  const records: [string, number, boolean][] = [];
  const hit = (key: string) => audited(key, (count, first) => records.push([key, count, first]));
  for (let i = 0; i < 5; i++) hit('a');
  hit('b');
  assert.deepEqual(records, [
    ['a', 1, true],
    ['b', 1, true],
  ]);
  await sleep(120);
  assert.deepEqual(records.slice(2), [['a', 4, false]], 'b had no refusal after its first: no closing record');
  hit('a');
  assert.deepEqual(records.at(-1), ['a', 1, true], 'a new window opens after the last one closed');
});

test('at most maxWindows are open: refusals beyond are not recorded', () => {
  const audited = windowedAudit(10_000, 2);
  const records: string[] = [];
  for (const key of ['a', 'b', 'c', 'a']) audited(key, () => records.push(key));
  assert.deepEqual(records, ['a', 'b']);
});
