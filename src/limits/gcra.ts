// The rate algorithm of traffic control: GCRA, the generic cell rate algorithm in its "virtual scheduling" form
// (ITU-T I.371 §4.4.2; the ATM Forum's Traffic Management 4.0). Each scope keeps one time, its theoretical
// arrival time (TAT). A request conforms when it arrives no earlier than TAT − τ; admitting it moves TAT on by
// T = 1/rate. This is a token bucket of `capacity` tokens refilled at `rate` (τ = (capacity − 1)·T), kept as
// one number and decided in O(1), with no window boundaries: once a flood has spent the bucket, it is admitted
// one request every T, as evenly as a client sending exactly at its limit, instead of a second's worth at the
// start of every fixed window (docs/performance/2026-11-29-traffic-control.md, 2026-11-30).
//
// The same arithmetic runs in the store's Lua script (limiter.ts) and in process (memory store, store down).

/** A bucket: one admission every intervalMs, up to capacity at once after a pause. */
export interface Bucket {
  readonly intervalMs: number;
  /** τ = (capacity − 1) · intervalMs. */
  readonly toleranceMs: number;
}

/** Float slack (ms) for TATs summed from non-integral intervals (e.g. 1000/3). */
export const EPSILON_MS = 1e-6;

export function bucketOf(perSecond: number, capacity: number): Bucket {
  if (!(perSecond > 0) || !(capacity >= 1)) throw new RangeError(`a bucket needs a positive rate and a capacity of at least 1 (got ${perSecond}, ${capacity})`);
  const intervalMs = 1000 / perSecond;
  return { intervalMs, toleranceMs: (Math.floor(capacity) - 1) * intervalMs };
}

export type Conformance = { readonly ok: true; readonly tat: number } | { readonly ok: false; readonly waitMs: number };

/** One decision at `now` for a scope whose TAT is `tat` (undefined: never seen, or expired). */
export function conform(tat: number | undefined, now: number, b: Bucket): Conformance {
  const t = tat === undefined || tat < now ? now : tat;
  const allowAt = t - b.toleranceMs;
  if (allowAt <= now + EPSILON_MS) return { ok: true, tat: t + b.intervalMs };
  return { ok: false, waitMs: allowAt - now };
}

/**
 * The two buckets of a rule: `rps` sustained with `capacity` (default a second's worth) at once, and `burst`
 * more per burstWindowSeconds.
 */
export interface RuleBuckets {
  readonly main: Bucket;
  readonly burst: Bucket | undefined;
}

export function bucketsOf(rps: number, burst: number, burstWindowSeconds: number, capacity = rps): RuleBuckets {
  return { main: bucketOf(rps, capacity), burst: burst > 0 ? bucketOf(burst / burstWindowSeconds, burst) : undefined };
}

/** A scope's state: the TATs of its main and burst buckets. */
export interface Tats {
  m?: number;
  b?: number;
}

/**
 * Decides one request of a scope: the main bucket first; when it refuses, the burst bucket; when both refuse,
 * the wait is the sooner of the two. Mutates `s` on admission only (a refusal changes nothing, so a refused
 * scope's next conforming time only moves later through admissions: see limiter.ts on blocks).
 */
export function decide(s: Tats, now: number, r: RuleBuckets): { ok: true } | { ok: false; waitMs: number } {
  const m = conform(s.m, now, r.main);
  if (m.ok) {
    s.m = m.tat;
    return { ok: true };
  }
  if (r.burst === undefined) return { ok: false, waitMs: m.waitMs };
  const b = conform(s.b, now, r.burst);
  if (b.ok) {
    s.b = b.tat;
    return { ok: true };
  }
  return { ok: false, waitMs: Math.min(m.waitMs, b.waitMs) };
}

/** Until when (same clock as `now`) a scope's state matters: after this it equals a scope never seen. */
export const expiresAt = (s: Tats): number => Math.max(s.m ?? 0, s.b ?? 0);
