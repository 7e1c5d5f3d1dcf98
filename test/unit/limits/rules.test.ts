// The limits file parser (src/limits/rules.ts): classes derived from the resource table, the documented
// example, refusals, and a property: any input either parses or throws a plain "limits …" Error.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { RESOURCES } from '../../../src/fspiop/resources.js';
import { CLASS_OF, LIMIT_CLASSES, parseFspLimits, parseLimits, RESOURCES_OF } from '../../../src/limits/rules.js';

test('every FSPIOP resource has exactly one class, and the classes cover the table', () => {
  assert.deepEqual(Object.keys(CLASS_OF).sort(), [...RESOURCES].sort());
  assert.deepEqual(LIMIT_CLASSES.flatMap((k) => RESOURCES_OF[k]).sort(), [...RESOURCES].sort());
  assert.deepEqual(RESOURCES_OF.lookups, ['participants', 'parties']);
  assert.deepEqual(RESOURCES_OF.transfers, ['transfers', 'bulkTransfers', 'fxTransfers']);
});

test('the documented example parses; an fsps entry replaces the default', () => {
  const t = parseLimits(
    `default: { rps: 50, burst: 20, concurrency: 20 }
fsps:
  dfsp1:
    rps: 200
    burst: 50
    concurrency: 100
    classes:
      transfers: { rps: 80, burst: 10, concurrency: 40 }
`,
    (id) => id === 'dfsp1',
  );
  assert.deepEqual(t.default, { rps: 50, burst: 20, concurrency: 20, classes: {} });
  assert.deepEqual(t.fsps.get('dfsp1')?.classes.transfers, { rps: 80, burst: 10, concurrency: 40 });
  assert.equal(t.fsps.get('dfsp1')?.classes.quotes, undefined);
});

test('refusals: unknown or invalid FSP id, negative/fractional/zero rate, unknown field or class, garbage', () => {
  const known = (id: string) => id === 'dfsp1';
  for (const [text, why] of [
    ['{"fsps":{"dfsp2":{"rps":1}}}', /unknown FSP id/],
    ['{"fsps":{"bad id":{"rps":1}}}', /invalid FSP id/],
    ['{"fsps":{"dfsp1":{"rps":-1}}}', /rps/],
    ['{"fsps":{"dfsp1":{"rps":0}}}', /rps/],
    ['{"fsps":{"dfsp1":{"rps":1.5}}}', /rps/],
    ['{"fsps":{"dfsp1":{"rps":1,"burst":-1}}}', /burst/],
    ['{"fsps":{"dfsp1":{"rps":1,"concurrency":0}}}', /concurrency/],
    ['{"fsps":{"dfsp1":{"rps":1,"colour":"red"}}}', /limits file/],
    ['{"fsps":{"dfsp1":{"rps":1,"classes":{"payments":{"rps":1}}}}}', /limits file/],
    ['{"defaults":{"rps":1}}', /limits file/],
    ['[1,2]', /limits file/],
    ['fsps: [this is: {not valid', /limits file/],
  ] as const)
    assert.throws(() => parseLimits(text, known), why, text);
  assert.throws(() => parseFspLimits({ rps: '5' }), /limits/);
});

test('property: any JSON either parses or throws a plain limits Error', () => {
  fc.assert(
    fc.property(fc.jsonValue(), (v) => {
      try {
        parseLimits(JSON.stringify(v) ?? 'null');
      } catch (e) {
        assert.ok(e instanceof Error && /^limits/.test(e.message), String(e));
      }
    }),
    { numRuns: 500 },
  );
});
