// In-memory Store adapter: the embedded default for a single gateway process (SPEC §8).
// Bounded by MEMORY_STORE_MAX_ENTRIES: when full, the oldest written entry is evicted (a Map keeps
// insertion order; the oldest is also the likeliest to have expired). Every entry has a TTL. Node runs one request handler at a time, so read-and-delete inside one synchronous call is
// atomic without locks. Replicas cannot share it: WORKERS > 1 needs the Redis adapter.
import type { Telemetry } from '../telemetry/types.js';
import type { Store } from './types.js';

export interface MemoryStoreOptions {
  readonly maxEntries: number;
  readonly telemetry?: Telemetry;
  /** Clock (ms), for tests. */
  readonly now?: () => number;
}

/** Creates a bounded, TTL-expiring in-process store. */
export function createMemoryStore(options: MemoryStoreOptions): Store {
  const now = options.now ?? Date.now;
  // A plain Map: lru-cache's delete of the last entry clears arrays of `max` slots (O(max) per take).
  const cache = new Map<string, { value: string; expiresAt: number }>();
  const put = (key: string, value: string, expiresAt: number) => {
    cache.delete(key);
    cache.set(key, { value, expiresAt });
    if (cache.size > options.maxEntries) cache.delete(cache.keys().next().value as string);
  };
  const report = (op: string, started: number) =>
    options.telemetry?.store({ op, outcome: 'ok', seconds: (performance.now() - started) / 1000 });

  const live = (key: string): { value: string; expiresAt: number } | undefined => {
    const e = cache.get(key);
    if (e === undefined) return undefined;
    if (e.expiresAt <= now()) {
      cache.delete(key);
      return undefined;
    }
    return e;
  };

  return {
    kind: 'memory',
    async save(key, value, ttlMs, mode) {
      const t = performance.now();
      if (mode === 'nx' && live(key) !== undefined) {
        report('save', t);
        return false;
      }
      put(key, value, now() + Math.max(1, Math.ceil(ttlMs)));
      report('save', t);
      return true;
    },
    async take(key, tombstone) {
      const t = performance.now();
      const e = live(key);
      const value = e?.value;
      if (e !== undefined) {
        if (tombstone === undefined) cache.delete(key);
        else e.value = tombstone;
      }
      report('take', t);
      return value;
    },
    async get(key) {
      const t = performance.now();
      const e = live(key);
      report('get', t);
      return e?.value;
    },
    async delete(key) {
      const t = performance.now();
      cache.delete(key);
      report('delete', t);
    },
    async ping() {
      return true;
    },
    async close() {
      cache.clear();
    },
  };
}
