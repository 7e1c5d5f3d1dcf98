// Test-only Store adapters: a Map (unit tests) and a minimal ioredis one (shared-store tests against the
// real Redis, under a key prefix of its own). The production adapters live in src/store/.
import { Redis } from 'ioredis';
import type { Store } from '../../src/store/types.js';

export function mapStore(): Store & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return {
    kind: 'memory', data,
    async save(k, v, _ttl, mode) {
      if (mode === 'nx' && data.has(k)) return false;
      data.set(k, v);
      return true;
    },
    async take(k) { const v = data.get(k); data.delete(k); return v; },
    async get(k) { return data.get(k); },
    async delete(k) { data.delete(k); },
    async ping() { return true; },
    async close() {},
  };
}

export function redisStore(prefix: string): Store & { cleanup(): Promise<void> } {
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { lazyConnect: false, maxRetriesPerRequest: 1 });
  const k = (key: string) => prefix + key;
  return {
    kind: 'redis',
    async save(key, value, ttlMs, mode) {
      const r = mode === 'nx' ? await redis.set(k(key), value, 'PX', ttlMs, 'NX') : await redis.set(k(key), value, 'PX', ttlMs);
      return r === 'OK';
    },
    async take(key) { return (await redis.getdel(k(key))) ?? undefined; },
    async get(key) { return (await redis.get(k(key))) ?? undefined; },
    async delete(key) { await redis.del(k(key)); },
    async ping() { return (await redis.ping()) === 'PONG'; },
    async close() { redis.disconnect(); },
    async cleanup() {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length) await redis.del(...keys);
    },
  };
}
