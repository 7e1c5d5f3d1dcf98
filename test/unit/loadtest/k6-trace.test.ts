// The k6 scripts' trace ids (loadtest/k6/lib/trace.js, plain JavaScript loaded as k6 runs it): valid W3C
// traceparent values, a new trace for every request of a VU, and none shared between two VUs' prefixes.
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

const LIB = resolve(fileURLToPath(import.meta.url), '../../../../loadtest/k6/lib');
const { traceparentOf } = (await import(pathToFileURL(join(LIB, 'trace.js')).href)) as { traceparentOf(prefix: string, n: number): string };

// W3C Trace Context §3.2: version 00, 32 hex trace-id, 16 hex parent-id, flags; all-zero ids are invalid.
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/;

test('every request of a VU gets a valid traceparent with a trace-id of its own, never an all-zero id', () => {
  const prefix = '9f86d081884c7d65';
  const traces = new Set<string>();
  const counters = new Set([1, 2, 15, 16, 255, 256, 65_535, 2 ** 32, 2 ** 53 - 1, ...Array.from({ length: 5000 }, (_, i) => i + 300)]);
  for (const n of counters) {
    const m = TRACEPARENT.exec(traceparentOf(prefix, n));
    assert.ok(m, `n=${n}: ${traceparentOf(prefix, n)}`);
    const [, traceId, parentId] = m as unknown as [string, string, string];
    assert.ok(traceId.startsWith(prefix));
    assert.notEqual(BigInt(`0x${traceId}`), 0n);
    assert.equal(BigInt(`0x${parentId}`), BigInt(n), `parent-id of ${n}`);
    traces.add(traceId);
  }
  assert.equal(traces.size, counters.size);
});

test('two VUs (two prefixes) never share a trace-id, whatever their counters', () => {
  const a = new Set(Array.from({ length: 2000 }, (_, i) => traceparentOf('0000000000000001', i + 1).slice(3, 35)));
  for (let i = 1; i <= 2000; i++) assert.ok(!a.has(traceparentOf('0000000000000002', i).slice(3, 35)));
});
