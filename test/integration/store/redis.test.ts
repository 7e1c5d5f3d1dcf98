// The Redis adapter against the machine's Redis (own key prefix, cleaned up), and against a
// redis-server of the test's own that is stopped and restarted mid-run.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { createRedisStore } from '../../../src/store/redis.js';
import type { Store } from '../../../src/store/types.js';
import { NOOP_TELEMETRY, type Telemetry } from '../../../src/telemetry/types.js';
import { REDIS_URL, startRedis } from '../../helpers/redis-procs.js';
import { storeContract } from '../../helpers/store-contract.js';
import { waitFor } from '../../helpers/wait.js';

const prefix = `sgtest:${randomBytes(6).toString('hex')}:`;

describe('redis store (single node): contract', () => {
  let store: Store;
  const raw = new Redis(REDIS_URL, { lazyConnect: true });
  before(async () => {
    store = createRedisStore({ url: REDIS_URL, keyPrefix: prefix, timeoutMs: 1000, telemetry: NOOP_TELEMETRY });
  });
  after(async () => {
    await store.close();
    const keys = await raw.keys(`${prefix}*`);
    if (keys.length) await raw.del(...keys);
    await raw.quit();
  });
  storeContract(() => store);

  test('keys carry REDIS_KEY_PREFIX and a PX TTL', async () => {
    await store.save('ilp:hub:{abc}', 'v', 10_000);
    assert.equal(await raw.get(`${prefix}ilp:hub:{abc}`), 'v');
    const ttl = await raw.pttl(`${prefix}ilp:hub:{abc}`);
    assert.ok(ttl > 9000 && ttl <= 10_000, `ttl ${ttl}`);
    assert.equal(store.kind, 'redis');
  });
});

describe('redis store (REDIS_URL at a node in cluster mode owning every slot): contract', () => {
  // A one-shard cluster behind one URL refuses a script whose keys hash to other slots (CROSSSLOT): a replay
  // record and an ILP record always do, so Store.marked falls back to two steps there (and stays on them).
  let server: Awaited<ReturnType<typeof startRedis>>;
  let store: Store;
  const events: string[] = [];
  before(async () => {
    server = await startRedis({ clusterMode: true });
    const telemetry: Telemetry = { ...NOOP_TELEMETRY, store: (e) => events.push(`${e.op}:${e.outcome}`) };
    store = createRedisStore({ url: server.url, keyPrefix: prefix, timeoutMs: 1000, telemetry });
    await waitFor(() => store.ping(), { timeoutMs: 10_000, intervalMs: 50, what: 'the cluster-mode node to answer' });
  });
  after(async () => {
    await store?.close();
    await server?.cleanup();
  });
  storeContract(() => store);

  test('a replay record and an ILP record in other slots: written in two steps, never refused for it', async () => {
    const mark = { key: 'jws-replay:0a1b', ttlMs: 5000 };
    events.length = 0;
    assert.deepEqual(await store.marked(mark, { op: 'save', key: 'ilp:hub:{t-cs}', value: 'v', ttlMs: 5000, mode: 'nx' }), { fresh: true, result: true });
    assert.deepEqual(await store.marked(mark, { op: 'take', key: 'ilp:hub:{t-cs}', tombstone: 'used', requirePrefix: 'v' }), { fresh: false });
    assert.equal(await store.get('ilp:hub:{t-cs}'), 'v', 'a replayed take consumed nothing');
    assert.deepEqual(events, ['marked:ok', 'marked:ok', 'get:ok']);
  });
});

describe('redis store: outage and recovery', () => {
  test('Redis stopped: calls fail fast with GW_STORE_UNAVAILABLE, ping false; restarted: the same store recovers', async (t) => {
    const server = await startRedis();
    const events: string[] = [];
    const telemetry: Telemetry = { ...NOOP_TELEMETRY, store: (e) => events.push(`${e.op}:${e.outcome}`) };
    const store = createRedisStore({ url: server.url, keyPrefix: prefix, timeoutMs: 300, telemetry });
    t.after(async () => {
      await store.close();
      await server.cleanup();
    });
    assert.equal(await store.save('k', 'v', 10_000), true);
    assert.equal(await store.ping(), true);

    await server.kill();
    const started = performance.now();
    await assert.rejects(store.take('k'), { code: 'GW_STORE_UNAVAILABLE' });
    await assert.rejects(store.save('k2', 'v', 1000), { code: 'GW_STORE_UNAVAILABLE' });
    assert.equal(await store.ping(), false);
    assert.ok(performance.now() - started < 2000, 'fails promptly');
    assert.ok(events.includes('take:error'));

    await server.restart();
    const up = await waitFor(() => store.ping(), { timeoutMs: 10_000, intervalMs: 100 }).catch(() => false);
    assert.equal(up, true);
    assert.equal(await store.save('k3', 'back', 10_000), true);
    assert.equal(await store.take('k3'), 'back');
  });
});

describe('redis store: hung server', () => {
  test('Redis paused (SIGSTOP): calls fail with GW_STORE_UNAVAILABLE after about STORE_TIMEOUT_MS; resumed: works again', async (t) => {
    const server = await startRedis();
    const store = createRedisStore({ url: server.url, keyPrefix: prefix, timeoutMs: 300, telemetry: NOOP_TELEMETRY });
    t.after(async () => {
      server.resume();
      await store.close();
      await server.cleanup();
    });
    assert.equal(await store.save('h', 'v', 10_000), true);
    server.pause();
    const started = performance.now();
    await assert.rejects(store.take('h', 'used'), { code: 'GW_STORE_UNAVAILABLE' });
    const took = performance.now() - started;
    assert.ok(took >= 250 && took < 1500, `took ${took} ms`);
    assert.equal(await store.ping(), false);
    server.resume();
    const up = await waitFor(() => store.ping(), { timeoutMs: 10_000, intervalMs: 100 }).catch(() => false);
    assert.equal(up, true);
    // The timed-out take was already on the wire: Redis runs it on resume, and then its undo (the caller saw
    // 2003 and forwarded nothing), so a retry of that fulfilment finds the record (src/store/redis-take.ts).
    assert.equal(await waitFor(async () => ((await store.get('h')) === 'v' ? 'v' : undefined), { timeoutMs: 5000 }), 'v');
    assert.equal(await store.save('h2', 'fresh', 10_000), true);
    assert.equal(await store.take('h2'), 'fresh');
  });
});
