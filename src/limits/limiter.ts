// The two counters behind traffic control: a request-rate limiter and an in-flight tracker. Both are shared
// across replicas through Redis (single node or Cluster) when the store is Redis, and local to the process
// with the memory store.
//
// Rate: GCRA (gcra.ts): per scope a main bucket of `rps` per second holding a second's worth, and, when the
// rule has a `burst`, a burst bucket of `burst` per BURST_WINDOW_SECONDS consulted only when the main one
// refuses. Shared: one Lua script on one hash per scope, <REDIS_KEY_PREFIX>gcra:<listener>:<fspId>[/<class>]
// (fields m and b, the two theoretical arrival times on Redis' own clock, TIME), expiring when both are past.
// The key is new with GCRA (the fixed windows before it used …rl:… strings): during a rolling upgrade old and
// new replicas count apart. (rate-limiter-flexible, used before, has fixed windows only; they let a flood take
// a second's worth at the start of every window, measured in docs/performance/2026-11-29-traffic-control.md.)
//
// In flight: a sorted set per scope, <REDIS_KEY_PREFIX>inflight:<listener>:<fspId>[/<class>], member = a
// random lease id, score = lease expiry on Redis' own clock. Acquire is one Lua script (drop expired
// leases, count, add if below the limit); release is ZREM. A lease expires after `leaseMs` (longer than
// any request can live), so a replica that dies holding leases cannot leak slots.
//
// A refusal costs no store round trip while it lasts: the first refusal of a scope under a rule is kept in this
// process as "refused until t0 + wait", t0 read on the monotonic clock (performance.now) before the call went
// out, and every later request of that scope and rule before then is refused here. A refusal changes no state
// and admissions only move a scope's next conforming time later, so whichever limiter decided (the store, or the
// fallback while the store is down) would refuse them too; since the store read its clock after t0 and reports
// the wait rounded down to the microsecond, the block ends at or before the scope conforms again (never later:
// no event-loop delay or wall-clock step can stretch it; review of 2026-11-29). Blocks are per rule, so a
// run-time change of a DFSP's rule starts with none. Size: one entry per scope refused, expired ones swept above
// BLOCKS_MAX; above that nothing more is cached (the store decides).
//
// Store down (no answer within the store timeout, or not connected): neither fails open nor closed. Each process
// enforces its share (1/(replicas × workers)) of every limit in memory: a bucket of rps × share per second
// holding as much (at least one), and a local counter for in-flight. The shared counters resume by themselves
// when the store answers again.
import { randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { pruneDeadlines } from '../util/deadlines.js';
import { bucketsOf, decide, expiresAt, type RuleBuckets, type Tats } from './gcra.js';
import { BURST_WINDOW_SECONDS, type Rule } from './rules.js';

export type Backend = { readonly kind: 'memory' } | { readonly kind: 'redis'; readonly client: Redis | Cluster; readonly keyPrefix: string };

export interface LimiterOptions {
  readonly backend: Backend;
  /** This process's share of every limit while the store is down (0 < share ≤ 1). */
  readonly share: number;
  /** Upper bound of a request's life: a lease older than this is dropped (crashed replica). */
  readonly leaseMs: number;
  /** Called when a decision was taken by the per-process fallback (store down). */
  readonly onFallback?: (what: 'rate' | 'concurrency') => void;
}

export type Decision = { readonly ok: true } | { readonly ok: false; readonly retryAfterMs: number };

const ACQUIRE = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`;

// GCRA (gcra.ts) on one hash: ARGV = main interval and tolerance, burst interval and tolerance (0: no burst
// bucket), all in ms. Returns 0 when admitted, else the wait in whole microseconds (rounded down, at least 1).
// (The 1e-6 slack is below a double's step at today's epoch in ms, 2.4e-4: there it changes nothing, and the
// worst a rounding can do is a 1 µs wait, seen by the client as a refusal with Retry-After 1.)
const RATE = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local s = redis.call('HMGET', KEYS[1], 'm', 'b')
local function conform(tat, T, tau)
  if tat == nil or tat < now then tat = now end
  if tat - tau <= now + 1e-6 then return true, tat + T end
  return false, tat - tau - now
end
local field, other = 'm', tonumber(s[2])
local ok, v = conform(tonumber(s[1]), tonumber(ARGV[1]), tonumber(ARGV[2]))
if not ok and tonumber(ARGV[3]) > 0 then
  local okb, vb = conform(tonumber(s[2]), tonumber(ARGV[3]), tonumber(ARGV[4]))
  if okb then ok, v, field, other = true, vb, 'b', tonumber(s[1]) else v = math.min(v, vb) end
end
if not ok then return math.max(1, math.floor(v * 1000)) end
redis.call('HSET', KEYS[1], field, string.format('%.6f', v))
redis.call('PEXPIRE', KEYS[1], math.ceil(math.max(v, other or 0) - now) + 1)
return 0`;

/** Bound of the in-process refusal blocks (entries live at most one window each). */
const BLOCKS_MAX = 10_000;
/** In-process GCRA states (memory store, or the fallback): swept of expired ones above SWEEP_AT, capped at STATES_MAX. */
const SWEEP_AT = 10_000;
const STATES_MAX = 100_000;

type AcquireClient = { sgInflightAcquire(key: string, limit: number, leaseMs: number, id: string): Promise<number> };
type RateClient = { sgRate(key: string, t: number, tau: number, tb: number, taub: number): Promise<number> };

/** GCRA states of this process, by scope, in order of last use (a used scope moves to the end). */
class LocalStates {
  readonly #s = new Map<string, Tats>();
  /** New scopes since the last sweep: a sweep runs at most once per SWEEP_AT / 10 of them (review of 2026-11-30). */
  #added = 0;
  decide(scope: string, r: RuleBuckets): number {
    const now = performance.now();
    let st = this.#s.get(scope);
    if (st === undefined) {
      if (this.#s.size >= SWEEP_AT && ++this.#added >= SWEEP_AT / 10) this.#sweep(now);
      st = {};
    } else this.#s.delete(scope);
    this.#s.set(scope, st);
    const d = decide(st, now, r);
    return d.ok ? 0 : d.waitMs;
  }
  #sweep(now: number): void {
    this.#added = 0;
    for (const [k, st] of this.#s) if (expiresAt(st) < now) this.#s.delete(k);
    // Still full of live scopes (an id flood): forget the least recently used; a forgotten scope starts with a
    // full bucket.
    for (const k of this.#s.keys()) {
      if (this.#s.size < STATES_MAX) break;
      this.#s.delete(k);
    }
  }
}

export interface Lease {
  release(): void;
}

export class Limiter {
  readonly #o: LimiterOptions;
  /** Buckets by rule (`<rps>/<burst>`), and the same scaled to this process's share (store down). */
  readonly #buckets = new Map<string, RuleBuckets>();
  readonly #shared = new Map<string, RuleBuckets>();
  readonly #states = new LocalStates();
  readonly #fallbackStates = new LocalStates();
  readonly #local = new Map<string, number>();
  /** `<rps>/<burst>\n<scope>` → refused until (performance.now() time); see the header. */
  readonly #blocked = new Map<string, number>();

  constructor(options: LimiterOptions) {
    if (!(options.share > 0 && options.share <= 1)) throw new TypeError('limiter share must be in (0, 1]');
    this.#o = options;
    if (options.backend.kind === 'redis') {
      options.backend.client.defineCommand('sgInflightAcquire', { numberOfKeys: 1, lua: ACQUIRE });
      options.backend.client.defineCommand('sgRate', { numberOfKeys: 1, lua: RATE });
    }
  }

  /** Takes one request from the rate of `scope` under `rule`. Never throws. */
  async consume(scope: string, rule: Rule): Promise<Decision> {
    const block = `${rule.rps}/${rule.burst}\n${scope}`;
    const until = this.#blocked.get(block);
    if (until !== undefined) {
      const left = until - performance.now();
      if (left > 0) return { ok: false, retryAfterMs: Math.max(1, Math.ceil(left)) };
      this.#blocked.delete(block);
    }
    const t0 = performance.now();
    const d = await this.#decide(scope, rule);
    if (d.waitMs === 0) return { ok: true };
    // A fallback refusal waits on this process's share of the rule (up to 1/(rps × share) s): neither its block
    // nor its Retry-After outlasts one interval of the shared rule, so the store decides again soon after it
    // returns (shortening a block only asks again; review of 2026-11-30).
    const waitMs = d.fallback ? Math.min(d.waitMs, 1000 / rule.rps) : d.waitMs;
    this.#block(block, t0 + waitMs);
    return { ok: false, retryAfterMs: Math.max(1, Math.ceil(waitMs)) };
  }

  /** waitMs 0 when admitted, else the wait in ms; fallback: decided by this process's share (store down). */
  async #decide(scope: string, rule: Rule): Promise<{ waitMs: number; fallback: boolean }> {
    const id = `${rule.rps}/${rule.burst}`;
    let r = this.#buckets.get(id);
    if (r === undefined) {
      r = bucketsOf(rule.rps, rule.burst, BURST_WINDOW_SECONDS);
      this.#buckets.set(id, r);
    }
    const b = this.#o.backend;
    if (b.kind === 'memory') return { waitMs: this.#states.decide(scope, r), fallback: false };
    if (b.client.status === 'ready') {
      try {
        const burst = r.burst ?? { intervalMs: 0, toleranceMs: 0 };
        const us = await (b.client as unknown as RateClient).sgRate(
          `${b.keyPrefix}gcra:${scope}`,
          r.main.intervalMs,
          r.main.toleranceMs,
          burst.intervalMs,
          burst.toleranceMs,
        );
        // The script answers a whole number of microseconds; anything else (a proxy or server misbehaving) is no
        // decision at all, never an admission (review of 2026-11-30).
        if (typeof us === 'number' && Number.isInteger(us) && us >= 0) return { waitMs: us / 1000, fallback: false };
      } catch {
        // no answer in time: decided below
      }
    }
    // The store did not answer (or not with a decision): counted (switchguard_rate_limit_fallback_total) and
    // decided locally on this process's share of the rule.
    this.#o.onFallback?.('rate');
    let shared = this.#shared.get(id);
    if (shared === undefined) {
      const share = this.#o.share;
      shared = bucketsOf(rule.rps * share, Math.floor(rule.burst * share), BURST_WINDOW_SECONDS, Math.max(1, Math.floor(rule.rps * share)));
      this.#shared.set(id, shared);
    }
    return { waitMs: this.#fallbackStates.decide(scope, shared), fallback: true };
  }

  /** Takes an in-flight slot of `scope` if fewer than `limit` are held; the lease must be released. */
  async acquire(scope: string, limit: number): Promise<Lease | undefined> {
    const b = this.#o.backend;
    if (b.kind === 'redis') {
      const id = randomBytes(9).toString('base64url');
      const key = `${b.keyPrefix}inflight:${scope}`;
      try {
        const got = await (b.client as unknown as AcquireClient).sgInflightAcquire(key, limit, this.#o.leaseMs, id);
        if (got !== 1) return undefined;
        let done = false;
        return {
          release: () => {
            if (!done) {
              done = true;
              b.client.zrem(key, id).catch(() => {});
            }
          },
        }; // a lease not released expires after leaseMs
      } catch {
        // The store did not answer: counted (switchguard_rate_limit_fallback_total) and decided locally.
        this.#o.onFallback?.('concurrency');
        return this.#acquireLocal(scope, Math.max(1, Math.floor(limit * this.#o.share)));
      }
    }
    return this.#acquireLocal(scope, limit);
  }

  #acquireLocal(scope: string, limit: number): Lease | undefined {
    const n = this.#local.get(scope) ?? 0;
    if (n >= limit) return undefined;
    this.#local.set(scope, n + 1);
    let done = false;
    return {
      release: () => {
        if (done) return;
        done = true;
        const left = (this.#local.get(scope) ?? 1) - 1;
        if (left <= 0) this.#local.delete(scope);
        else this.#local.set(scope, left);
      },
    };
  }

  #block(key: string, until: number): void {
    if (pruneDeadlines(this.#blocked, BLOCKS_MAX, performance.now())) this.#blocked.set(key, until);
  }
}
