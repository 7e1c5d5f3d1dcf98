// GCRA (src/limits/gcra.ts) against its definition as a token bucket, on random arrival sequences
// (fast-check): the admissions never exceed capacity + rate × elapsed over any interval, a sender that keeps to
// the rate is never refused, a refusal's wait is exactly when the next request would conform, and a flood is
// admitted one request per interval once the bucket is spent (no window boundaries).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { bucketOf, bucketsOf, conform, decide, EPSILON_MS, expiresAt, type Tats } from '../../../src/limits/gcra.js';

/** Arrival times (ms, non-decreasing) from gaps. */
const arrivals = fc.array(fc.double({ min: 0, max: 400, noNaN: true }), { minLength: 1, maxLength: 300 }).map((gaps) => {
  let t = 1000;
  return gaps.map((g) => (t += g));
});

test('admissions never exceed capacity + rate × interval, over every interval of every sequence', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 50 }), arrivals, (rps, times) => {
      const r = bucketsOf(rps, 0, 60);
      const s: Tats = {};
      const admitted = times.filter((t) => decide(s, t, r).ok);
      for (let i = 0; i < admitted.length; i++) {
        for (let j = i; j < admitted.length; j++) {
          const count = j - i + 1;
          const bound = rps + (rps * (admitted[j]! - admitted[i]!)) / 1000;
          assert.ok(count <= bound + 1e-6, `${count} admitted in ${admitted[j]! - admitted[i]!} ms at ${rps}/s`);
        }
      }
    }),
    { numRuns: 200 },
  );
});

test('a sender that keeps to the rate is never refused, whatever it sent before a pause of a second', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: 200 }), (rps, n) => {
      const r = bucketsOf(rps, 0, 60);
      const s: Tats = {};
      const step = 1000 / rps;
      for (let i = 0; i < n; i++) assert.equal(decide(s, 5000 + i * step, r).ok, true, `request ${i} at exactly ${rps}/s`);
    }),
  );
});

test('a refusal names the wait exactly: refused just before it, admitted at it; a refusal changes nothing', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 100 }), arrivals, (rps, times) => {
      const r = bucketsOf(rps, 0, 60);
      const s: Tats = {};
      for (const t of times) {
        const before = { ...s };
        const d = decide(s, t, r);
        if (d.ok) continue;
        assert.deepEqual(s, before, 'a refusal leaves the state as it was');
        assert.ok(d.waitMs > 0);
        if (d.waitMs > 2 * EPSILON_MS) assert.equal(decide({ ...s }, t + d.waitMs - 2 * EPSILON_MS - 1e-3, r).ok, false);
        assert.equal(decide({ ...s }, t + d.waitMs, r).ok, true);
      }
    }),
    { numRuns: 200 },
  );
});

test('a flood at 5x: a second’s worth at once, then one admission per interval, evenly (no window starts)', () => {
  const rps = 50;
  const r = bucketsOf(rps, 0, 60);
  const s: Tats = {};
  const admitted: number[] = [];
  for (let t = 0; t < 10_000; t += 1000 / (5 * rps)) if (decide(s, t, r).ok) admitted.push(t);
  assert.equal(admitted.filter((t) => t < 1).length, 1, 'the first request of an idle bucket');
  // From the second second on, admissions are spaced by the interval (20 ms), within one arrival gap (4 ms).
  const later = admitted.filter((t) => t >= 1000);
  for (let i = 1; i < later.length; i++) {
    const gap = later[i]! - later[i - 1]!;
    assert.ok(gap >= 20 - 1e-6 && gap <= 24 + 1e-6, `gap ${gap} ms`);
  }
  // Over the ten seconds: the bucket (50) plus 50 per second.
  assert.ok(Math.abs(admitted.length - (rps + rps * 10)) <= 2, `${admitted.length} admitted`);
});

test('capacity at once from idle; the burst bucket adds its own once the main one is spent; waits are the sooner', () => {
  const r = bucketsOf(5, 3, 60);
  const s: Tats = {};
  const at0 = Array.from({ length: 9 }, () => decide(s, 0, r));
  assert.deepEqual(
    at0.map((d) => d.ok),
    [true, true, true, true, true, true, true, true, false],
  );
  const last = at0.at(-1)!;
  assert.ok(!last.ok && Math.abs(last.waitMs - 200) < 1e-6, 'the main bucket frees one in 1/rps');
  assert.ok(expiresAt(s) > 0);
  // No burst: one interval; a non-integral interval (1000/3) sums without drift.
  const third = bucketOf(3, 3);
  let tat: number | undefined;
  for (let i = 0; i < 3000; i++) {
    const c = conform(tat, (i * 1000) / 3, third);
    assert.equal(c.ok, true, `request ${i} at exactly 3/s`);
    if (c.ok) tat = c.tat;
  }
  assert.throws(() => bucketOf(0, 1), RangeError);
  assert.throws(() => bucketOf(1, 0), RangeError);
});

test('with a burst bucket: never more than rps x (1 + t) + burst x (1 + t/60) over any interval, and never fewer refusals than without it would allow', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 20 }), arrivals, (rps, burst, times) => {
      const withBurst = bucketsOf(rps, burst, 60);
      const without = bucketsOf(rps, 0, 60);
      const s: Tats = {};
      const plain: Tats = {};
      const admitted: number[] = [];
      for (const t of times) {
        const d = decide(s, t, withBurst);
        if (d.ok) admitted.push(t);
        // Replaying the same arrivals without the burst bucket: an arrival the main bucket alone would admit is
        // admitted with the burst bucket too (the burst only ever adds).
        if (decide(plain, t, without).ok) assert.equal(d.ok, true);
      }
      for (let i = 0; i < admitted.length; i++) {
        for (let j = i; j < admitted.length; j++) {
          const t = (admitted[j]! - admitted[i]!) / 1000;
          const bound = rps * (1 + t) + burst * (1 + t / 60);
          assert.ok(j - i + 1 <= bound + 1e-6, `${j - i + 1} admitted in ${t} s at ${rps}/s + ${burst}`);
        }
      }
    }),
    { numRuns: 150 },
  );
});
