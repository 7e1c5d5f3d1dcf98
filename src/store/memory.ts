// In-memory Store adapter: the embedded default for a single gateway process (docs/ilp.md, "Store").
// Bounded by MEMORY_STORE_MAX_ENTRIES and MEMORY_STORE_MAX_BYTES (key + value characters). It never
// evicts a live record to make room: when a write would cross a bound, expired entries are swept and,
// if that frees nothing, the write is refused with GW_STORE_FULL (2003/503) and counted. A live ILP
// condition, a replay record or a quarantine list therefore never disappears because of traffic.
//
// Expired entries are swept incrementally: a little on every write, a batch on a periodic unref'd
// timer, and a bounded batch under write pressure before refusing. The sweep walks one live Map iterator
// (Map iterators tolerate deletes and appends), so no request ever pays for a full scan.
//
// Security state (isSecurityKey: the quarantine list and its lock) lives in a partition of its own that
// request traffic neither fills nor sweeps: only its own TTL or an explicit delete removes it.
//
// Node runs one request handler at a time, so read-and-replace inside one synchronous call is atomic
// without locks. Replicas cannot share it: WORKERS > 1 needs the Redis adapter.
import { GatewayError } from '../errors.js';
import type { Telemetry } from '../telemetry/types.js';
import { isSecurityKey, type Store, type StoreOp, type StoreOpResult } from './types.js';

export interface MemoryStoreOptions {
  readonly maxEntries: number;
  /** Bound on the sum of key and value lengths (characters) of request state; default unbounded. */
  readonly maxBytes?: number;
  readonly telemetry?: Telemetry;
  /** Clock (ms), for tests. */
  readonly now?: () => number;
  /** Period of the background sweep of expired entries (default 1000 ms; 0 turns the timer off). */
  readonly sweepIntervalMs?: number;
}

interface Entry {
  value: string;
  expiresAt: number;
  size: number;
}

/** Entries examined per write, per timer tick and per full-store write before refusing. */
const SWEEP_PER_WRITE = 4;
const SWEEP_PER_TICK = 20_000;
const SWEEP_UNDER_PRESSURE = 2_000;

/** Creates a bounded, TTL-expiring in-process store. */
export function createMemoryStore(options: MemoryStoreOptions): Store & { readonly stats: () => { entries: number; bytes: number } } {
  const now = options.now ?? Date.now;
  const maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
  // Plain Maps: lru-cache's delete of the last entry clears arrays of `max` slots (O(max) per take).
  const cache = new Map<string, Entry>();
  const security = new Map<string, Entry>();
  let bytes = 0;
  let cursor: Iterator<[string, Entry]> | undefined;

  const mapOf = (key: string) => (isSecurityKey(key) ? security : cache);
  const remove = (key: string) => {
    const m = mapOf(key);
    const e = m.get(key);
    if (e === undefined) return;
    m.delete(key);
    if (m === cache) bytes -= e.size;
  };
  /** Examines up to `budget` request-state entries from the sweep cursor, deleting expired ones. */
  const sweep = (budget: number): number => {
    const t = now();
    let freed = 0;
    for (let i = 0; i < budget && cache.size > 0; i++) {
      cursor ??= cache.entries();
      const n = cursor.next();
      if (n.done) {
        cursor = undefined;
        continue;
      }
      const [key, e] = n.value;
      if (e.expiresAt <= t && cache.get(key) === e) {
        cache.delete(key);
        bytes -= e.size;
        freed++;
      }
    }
    return freed;
  };
  const timer =
    options.sweepIntervalMs === 0
      ? undefined
      : setInterval(() => {
          sweep(SWEEP_PER_TICK);
          const t = now();
          for (const [k, e] of security) if (e.expiresAt <= t) security.delete(k);
        }, options.sweepIntervalMs ?? 1000);
  timer?.unref();

  const full = () => {
    options.telemetry?.storeFull();
    return new GatewayError('GW_STORE_FULL', { detail: 'store full' });
  };
  /** Writes `key`, replacing its previous value; throws GW_STORE_FULL rather than evicting anything live. */
  const put = (key: string, value: string, expiresAt: number) => {
    const m = mapOf(key);
    if (m === security) {
      m.set(key, { value, expiresAt, size: 0 });
      return;
    }
    const size = key.length + value.length;
    const old = cache.get(key);
    const grow = size - (old?.size ?? 0);
    const fits = () => (old !== undefined || cache.size < options.maxEntries) && bytes + grow <= maxBytes;
    sweep(SWEEP_PER_WRITE);
    if (!fits()) {
      sweep(SWEEP_UNDER_PRESSURE);
      if (!fits()) throw full();
    }
    if (old !== undefined) {
      cache.delete(key);
      bytes -= old.size;
    }
    cache.set(key, { value, expiresAt, size });
    bytes += size;
  };
  const report = (op: string, started: number) => options.telemetry?.store({ op, outcome: 'ok', seconds: (performance.now() - started) / 1000 });

  /** Replaces a live entry's value in place (same expiry), accounting the size difference in the request partition. */
  const replaceValue = (key: string, e: Entry, value: string) => {
    if (mapOf(key) === cache) {
      const size = key.length + value.length;
      bytes += size - e.size;
      e.size = size;
    }
    e.value = value;
  };

  const live = (key: string): Entry | undefined => {
    const e = mapOf(key).get(key);
    if (e === undefined) return undefined;
    if (e.expiresAt <= now()) {
      remove(key);
      return undefined;
    }
    return e;
  };

  // Each operation is synchronous inside: read-and-replace, and a mark with the operation after it, are atomic.
  const saveNow = (key: string, value: string, ttlMs: number, mode?: 'nx'): boolean => {
    if (mode === 'nx' && live(key) !== undefined) return false;
    put(key, value, now() + Math.max(1, Math.ceil(ttlMs)));
    return true;
  };
  const takeNow = (key: string, tombstone?: string, requirePrefix?: string): string | undefined => {
    const e = live(key);
    const value = e?.value;
    if (e !== undefined && (requirePrefix === undefined || e.value.startsWith(requirePrefix))) {
      if (tombstone === undefined) remove(key);
      else replaceValue(key, e, tombstone);
    }
    return value;
  };
  const runNow = <O extends StoreOp>(op: O): StoreOpResult<O> =>
    (op.op === 'save'
      ? saveNow(op.key, op.value, op.ttlMs, op.mode)
      : op.op === 'get'
        ? live(op.key)?.value
        : takeNow(op.key, op.tombstone, op.requirePrefix)) as StoreOpResult<O>;

  return {
    kind: 'memory',
    stats: () => ({ entries: cache.size, bytes }),
    async marked(mark, op) {
      const t = performance.now();
      if (!saveNow(mark.key, '1', mark.ttlMs, 'nx')) {
        report('marked', t);
        return { fresh: false };
      }
      try {
        const result = runNow(op);
        report('marked', t);
        return { fresh: true, result };
      } catch (error) {
        // The record is written; the operation failed on its own (GW_STORE_FULL): counted as the Redis
        // adapter counts it (src/store/redis.ts), the mark ok and `marked_operation` an error.
        report('marked', t);
        options.telemetry?.store({ op: 'marked_operation', outcome: 'error', seconds: 0 });
        return { fresh: true, error };
      }
    },
    async save(key, value, ttlMs, mode) {
      const t = performance.now();
      const saved = saveNow(key, value, ttlMs, mode);
      report('save', t);
      return saved;
    },
    async take(key, tombstone, requirePrefix) {
      const t = performance.now();
      const value = takeNow(key, tombstone, requirePrefix);
      report('take', t);
      return value;
    },
    async untake(key, tombstone, value) {
      const t = performance.now();
      const e = live(key);
      const back = e !== undefined && e.value === tombstone;
      if (back) replaceValue(key, e, value);
      report('untake', t);
      return back;
    },
    async get(key) {
      const t = performance.now();
      const e = live(key);
      report('get', t);
      return e?.value;
    },
    async delete(key) {
      const t = performance.now();
      remove(key);
      report('delete', t);
    },
    async ping() {
      return true;
    },
    async close() {
      if (timer) clearInterval(timer);
      cache.clear();
      security.clear();
      bytes = 0;
      cursor = undefined;
    },
  };
}
