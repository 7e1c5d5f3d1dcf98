// The two counters behind traffic control: a request-rate limiter (rate-limiter-flexible) and an
// in-flight tracker. Both are shared across replicas through Redis (single node or Cluster) when the
// store is Redis, and local to the process with the memory store.
//
// Rate: fixed one-second windows of `rps` points (RateLimiterRedis, one Lua INCR+PEXPIRE on one key), plus
// a burst allowance of `burst` points per BURST_WINDOW_SECONDS consumed only when the second is spent
// (BurstyRateLimiter). Keys: <REDIS_KEY_PREFIX>rl:<listener>:<fspId>[:<class>] and …rlb:… for the burst.
//
// In flight: a sorted set per scope, <REDIS_KEY_PREFIX>inflight:<listener>:<fspId>[:<class>], member = a
// random lease id, score = lease expiry on Redis' own clock. Acquire is one Lua script (drop expired
// leases, count, add if below the limit); release is ZREM. A lease expires after `leaseMs` (longer than
// any request can live), so a replica that dies holding leases cannot leak slots.
//
// A refusal costs no store round trip while its window lasts: the first refusal of a scope under a rule is kept
// in this process as "refused until t0 + msBeforeNext", t0 read on the monotonic clock (performance.now) before
// the call went out, and every later request of that scope and rule before then is refused here. A fixed
// window's count only grows until it expires, so whichever limiter decided (the store, or the fallback while
// the store is down) would refuse them too; since the store read its TTL after t0, the block ends at or before
// the window does (never later: no event-loop delay or wall-clock step can stretch it; review of 2026-11-29).
// A bursty rule's refusal carries the sooner of its second's and its burst's ends (BurstyRateLimiter
// _combineRes). Blocks are per rule, so a run-time change of a DFSP's rule starts with none. Size: one entry per
// scope refused in its current window, expired ones swept above BLOCKS_MAX; above that nothing more is cached
// (the store decides).
//
// Store down: neither fails open nor closed. Each process enforces its share (1/(replicas × workers))
// of every limit in memory: rate-limiter-flexible's insuranceLimiter for the rate, a local counter for
// in-flight. The shared counters resume by themselves when the store answers again.
import { randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { BurstyRateLimiter, type RateLimiterAbstract, RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
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

/** A memory limiter that reports when it stands in for the store (the insurance limiter). */
class Insurance extends RateLimiterMemory {
  constructor(
    points: number,
    duration: number,
    private readonly onUse: () => void,
  ) {
    super({ points, duration });
  }
  override consume(key: string | number, points?: number, options?: { [key: string]: unknown }): Promise<RateLimiterRes> {
    this.onUse();
    return super.consume(key, points, options);
  }
}

const ACQUIRE = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`;

/** Bound of the in-process refusal blocks (entries live at most one window each). */
const BLOCKS_MAX = 10_000;

type AcquireClient = { sgInflightAcquire(key: string, limit: number, leaseMs: number, id: string): Promise<number> };

export interface Lease {
  release(): void;
}

export class Limiter {
  readonly #o: LimiterOptions;
  readonly #rate = new Map<string, { consume(key: string): Promise<RateLimiterRes> }>();
  readonly #local = new Map<string, number>();
  /** `<rps>/<burst>\n<scope>` → refused until (performance.now() time); see the header. */
  readonly #blocked = new Map<string, number>();

  constructor(options: LimiterOptions) {
    if (!(options.share > 0 && options.share <= 1)) throw new TypeError('limiter share must be in (0, 1]');
    this.#o = options;
    if (options.backend.kind === 'redis') options.backend.client.defineCommand('sgInflightAcquire', { numberOfKeys: 1, lua: ACQUIRE });
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
    try {
      await this.#rateLimiter(rule).consume(scope);
      return { ok: true };
    } catch (e) {
      if (e instanceof RateLimiterRes) {
        this.#block(block, t0 + e.msBeforeNext);
        return { ok: false, retryAfterMs: Math.max(1, e.msBeforeNext) };
      }
      // Both the store and the fallback failed (should not happen: the fallback is memory). Admit rather than
      // refuse every DFSP: the in-flight bound and the listener caps still hold.
      return { ok: true };
    }
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
    if (this.#blocked.size >= BLOCKS_MAX) {
      const now = performance.now();
      for (const [k, t] of this.#blocked) if (t <= now) this.#blocked.delete(k);
      if (this.#blocked.size >= BLOCKS_MAX) return;
    }
    this.#blocked.set(key, until);
  }

  #rateLimiter(rule: Rule) {
    const id = `${rule.rps}/${rule.burst}`;
    let l = this.#rate.get(id);
    if (l === undefined) {
      const main = this.#one('rl', rule.rps, 1);
      l = rule.burst > 0 ? new BurstyRateLimiter(main, this.#one('rlb', rule.burst, BURST_WINDOW_SECONDS)) : main;
      this.#rate.set(id, l);
    }
    return l;
  }

  #one(prefix: string, points: number, duration: number): RateLimiterAbstract {
    const b = this.#o.backend;
    if (b.kind === 'memory') return new RateLimiterMemory({ points, duration, keyPrefix: prefix });
    return new RateLimiterRedis({
      storeClient: b.client,
      keyPrefix: `${b.keyPrefix}${prefix}`,
      points,
      duration,
      rejectIfRedisNotReady: true,
      insuranceLimiter: new Insurance(Math.max(1, Math.floor(points * this.#o.share)), duration, () => this.#o.onFallback?.('rate')),
    });
  }
}
