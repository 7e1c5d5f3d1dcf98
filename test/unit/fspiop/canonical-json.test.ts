import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalJson } from '../../../src/fspiop/canonical-json.js';

// Reference: sort members recursively, then let JSON.stringify do all the escaping.
const sortDeep = (v: unknown): unknown => {
  if (Array.isArray(v)) return v.map(sortDeep);
  if (v && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON !== 'function') {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortDeep((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
};
const reference = (v: unknown) => JSON.stringify(sortDeep(v));

test('sorted compact JSON equals the reference for FSPIOP-like and awkward values', () => {
  const cases: unknown[] = [
    { quoteId: 'q', amount: { currency: 'USD', amount: '1.5' }, extensionList: { extension: [{ value: 'b', key: 'a' }] } },
    { b: [3, 'x', null, true, false, { d: 1, c: [] }], a: -0, e: 1e21, f: 0.1 + 0.2, g: undefined, h: () => 1 },
    { 'a"b': 'x\\y', '\u0001': '\ud800', '😀': 'é', '\u2028': '\t\n', Z: 'z', a: 'A' },
    { d: new Date(0), n: null, nested: { deeper: { deepest: ['x'.repeat(6000)] } } },
    [],
    {},
    'plain',
    42,
  ];
  for (const c of cases) assert.equal(canonicalJson(c), reference(c));
});

test('member order is UTF-16 code unit order at every depth; no whitespace', () => {
  assert.equal(canonicalJson({ b: { z: 1, a: 2 }, a: 1, B: 0 }), '{"B":0,"a":1,"b":{"a":2,"z":1}}');
  // Integer-like keys sort as strings too (JS objects would list them numerically first).
  assert.equal(canonicalJson({ 2: 'two', 10: 'ten', a: 'x' }), '{"10":"ten","2":"two","a":"x"}');
});
