// REDIS_WAIT_REPLICAS (src/store/redis.ts): a fulfilment's take counts only once enough replicas hold it, so a
// master that crashes cannot lose a take the gateway acted on. Against a master and replica of the test's own,
// and a 3 + 3 Redis Cluster (the WAIT must reach the master of the record's slot).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { createRedisStore } from '../../../src/store/redis.js';
import { NOOP_TELEMETRY } from '../../../src/telemetry/types.js';
import { type RedisCluster, type RedisProc, startCluster, startRedis } from '../../helpers/redis-procs.js';
import { waitFor } from '../../helpers/wait.js';

const RECORD = '{"p":"payeefsp","c":"cond","e":1}';
const PREFIX = '{"p":"payeefsp",';
const tombstone = (n: number) => `used:cond:take-${n}`;

describe('REDIS_WAIT_REPLICAS on a master with one replica', () => {
  let master: RedisProc & { cleanup(): Promise<void> };
  let replica: RedisProc & { cleanup(): Promise<void> };
  let onMaster: Redis;
  let onReplica: Redis;
  before(async () => {
    master = await startRedis();
    replica = await startRedis();
    onMaster = new Redis(master.url);
    onReplica = new Redis(replica.url);
    await onReplica.call('REPLICAOF', '127.0.0.1', String(master.port));
    await waitFor(async () => (await onReplica.info('replication')).includes('master_link_status:up'), { timeoutMs: 10_000, what: 'the replica in sync' });
  });
  after(async () => {
    replica.resume();
    onMaster.disconnect();
    onReplica.disconnect();
    await replica.cleanup();
    await master.cleanup();
  });

  test('a confirmed take returns the record and the replica holds the tombstone; an unconfirmed one is given back and refused', async (t) => {
    const store = createRedisStore({ url: master.url, keyPrefix: 'w:', timeoutMs: 600, waitReplicas: 1, telemetry: NOOP_TELEMETRY });
    t.after(() => store.close());
    await store.save('ilp:hub:{a}', RECORD, 60_000);
    assert.equal(await store.take('ilp:hub:{a}', tombstone(1), PREFIX), RECORD);
    assert.equal(await onReplica.get('w:ilp:hub:{a}'), tombstone(1), 'the replica had it before the take counted');

    // A take that finds nothing to consume needs no confirmation.
    assert.equal(await store.take('ilp:hub:{a}', tombstone(2), PREFIX), tombstone(1));

    await store.save('ilp:hub:{b}', RECORD, 60_000);
    replica.pause(); // it stops acknowledging
    try {
      const started = performance.now();
      await assert.rejects(store.take('ilp:hub:{b}', tombstone(3), PREFIX), { code: 'GW_STORE_UNAVAILABLE' });
      const ms = performance.now() - started;
      assert.ok(ms >= 250 && ms < 2000, `refused after the wait (${Math.round(ms)} ms)`);
      assert.equal(await onMaster.get('w:ilp:hub:{b}'), RECORD, 'given back on the master');
    } finally {
      replica.resume();
    }
    await waitFor(async () => (await onReplica.get('w:ilp:hub:{b}')) === RECORD, { timeoutMs: 5000, what: 'the replica to catch up' });
    assert.equal(await store.take('ilp:hub:{b}', tombstone(4), PREFIX), RECORD, 'the resend passes once the replica answers');
  });

  test('REDIS_WAIT_REPLICAS=0 (the default) never waits', async (t) => {
    const store = createRedisStore({ url: master.url, keyPrefix: 'w0:', timeoutMs: 600, telemetry: NOOP_TELEMETRY });
    t.after(() => store.close());
    await store.save('ilp:hub:{c}', RECORD, 60_000);
    replica.pause();
    try {
      assert.equal(await store.take('ilp:hub:{c}', tombstone(5), PREFIX), RECORD);
    } finally {
      replica.resume();
    }
  });
});

describe('REDIS_WAIT_REPLICAS on a Redis Cluster', () => {
  let cluster: RedisCluster;
  before(async () => {
    cluster = await startCluster({ replicas: 1 });
  });
  after(async () => {
    await cluster?.cleanup();
  });

  test('takes on every master are confirmed by its replica; with one replica dead, its master refuses and gives back', async (t) => {
    const store = createRedisStore({ clusterNodes: cluster.nodes, keyPrefix: 'wc:', timeoutMs: 1000, waitReplicas: 1, telemetry: NOOP_TELEMETRY });
    t.after(() => store.close());
    await waitFor(() => store.ping(), { timeoutMs: 10_000, intervalMs: 50, what: 'the cluster store to answer' });
    await new Promise((r) => setTimeout(r, 500)); // every node connection open (test/integration/store/cluster.test.ts)
    // Ids spread over the three masters' slots.
    const ids = Array.from({ length: 12 }, (_, i) => `id-${i}`);
    for (const id of ids) await store.save(`ilp:hub:{${id}}`, RECORD, 60_000);
    for (const [i, id] of ids.entries()) assert.equal(await store.take(`ilp:hub:{${id}}`, tombstone(100 + i), PREFIX), RECORD, id);
    for (const [i, id] of ids.entries()) assert.equal(await store.get(`ilp:hub:{${id}}`), tombstone(100 + i));

    const replica = cluster.topology.find((n) => n.replicaOf !== undefined);
    assert.ok(replica, 'a replica');
    await cluster.kill(replica.port);
    const again = ids.map((id) => `ilp:hub:{${id}-b}`);
    for (const k of again) await store.save(k, RECORD, 60_000);
    const outcomes = await Promise.all(
      again.map((k, i) =>
        store.take(k, tombstone(200 + i), PREFIX).then(
          () => 'taken',
          (e: { code?: string }) => String(e.code),
        ),
      ),
    );
    assert.ok(outcomes.includes('taken'), `the other masters confirm: ${outcomes.join(' ')}`);
    assert.ok(outcomes.includes('GW_STORE_UNAVAILABLE'), `the master without its replica refuses: ${outcomes.join(' ')}`);
    for (const [i, k] of again.entries()) {
      const v = await store.get(k);
      if (outcomes[i] === 'taken') assert.equal(v, tombstone(200 + i));
      else assert.equal(v, RECORD, `${k} given back`);
    }
  });
});
