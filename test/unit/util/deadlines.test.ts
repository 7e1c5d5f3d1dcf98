// pruneDeadlines (src/util/deadlines.ts): the one sweep rule of the limits' per-process deadline maps.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pruneDeadlines } from '../../../src/util/deadlines.js';

test('nothing is swept below the bound; at it, passed deadlines go and live ones stay', () => {
  const m = new Map([
    ['a', 5],
    ['b', 10],
    ['c', 20],
  ]);
  assert.equal(pruneDeadlines(m, 4, 100), true);
  assert.equal(m.size, 3, 'below the bound nothing is touched, even passed deadlines');
  assert.equal(pruneDeadlines(m, 3, 10), true);
  assert.deepEqual([...m.keys()], ['c'], 'a deadline equal to now has passed');
  m.set('d', 30).set('e', 40);
  assert.equal(pruneDeadlines(m, 3, 15), false, 'still full of live deadlines: no room');
  assert.equal(m.size, 3);
});
