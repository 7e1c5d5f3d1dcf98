// The Redis store across a Redis Cluster failover (three masters with one replica each, started by this
// test; a master killed, its replica promoted): calls during the window fail (the gateway answers 2003), a
// failed call never runs later (no ghost write on the promoted master: src/store/redis.ts, "A failed call
// must not run later"), and the same store recovers by itself once the replica is promoted.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Cluster } from 'ioredis';
import { createRedisStore } from '../../../src/store/redis.js';
import type { Store } from '../../../src/store/types.js';
import { NOOP_TELEMETRY } from '../../../src/telemetry/types.js';
import { type RedisCluster, startCluster } from '../../helpers/redis-procs.js';
import { waitFor } from '../../helpers/wait.js';

describe('redis store on a Redis Cluster: master failover', () => {
  let cluster: RedisCluster;
  let store: Store;
  before(async () => {
    cluster = await startCluster({ replicas: 1, nodeTimeoutMs: 1000 });
    store = createRedisStore({ clusterNodes: cluster.nodes, keyPrefix: 'sgfo:', timeoutMs: 500, telemetry: NOOP_TELEMETRY });
    await waitFor(() => store.ping(), { timeoutMs: 10_000, intervalMs: 100, what: 'the cluster store to answer' });
  });
  after(async () => {
    await store?.close();
    await cluster?.cleanup();
  });

  test('master killed: the window fails, no failed save or take is executed afterwards, the store recovers by itself', { timeout: 60_000 }, async () => {
    const master = cluster.topology[0]!;
    const replica = cluster.topology.find((t) => t.replicaOf === master.port)!;
    let killedAt = Number.POSITIVE_INFINITY;
    let stop = false;
    let n = 0;
    let ok = 0;
    // Keys that a call failed on, when the call began after the kill: the dead master cannot have run it.
    const failedSaves: string[] = [];
    const failedTakes: string[] = [];
    let lastFailure = 0;
    const worker = async () => {
      while (!stop) {
        const key = `k:{${n++}}`;
        let began = Date.now();
        try {
          await store.save(key, 'condition', 60_000, 'nx');
        } catch {
          lastFailure = Date.now();
          if (began > killedAt) failedSaves.push(key);
          await sleep(10);
          continue;
        }
        began = Date.now();
        try {
          assert.equal(await store.take(key, 'used'), 'condition');
          ok++;
        } catch (e) {
          if (e instanceof assert.AssertionError) throw e;
          lastFailure = Date.now();
          if (began > killedAt) failedTakes.push(key);
          await sleep(10);
        }
      }
    };
    const workers = Array.from({ length: 12 }, worker);
    await sleep(500);
    killedAt = Date.now();
    await cluster.kill(master.port);
    await waitFor(async () => (await cluster.cli(replica.port, 'role')).startsWith('master'), {
      timeoutMs: 30_000,
      intervalMs: 50,
      what: 'the replica to be promoted',
    });
    const promotedAt = Date.now();
    await sleep(2000);
    stop = true;
    await Promise.all(workers);
    const okBefore = ok;
    // Recovered: a fresh round of calls on every slot range succeeds.
    for (let i = 0; i < 30; i++) {
      assert.equal(await store.save(`after:{${i}}`, 'v', 10_000), true);
      assert.equal(await store.take(`after:{${i}}`, 'used'), 'v');
    }
    assert.ok(failedSaves.length + failedTakes.length > 0, 'the window was seen by the calls');
    assert.ok(lastFailure < promotedAt + 1500, `failures end with the promotion (last ${lastFailure - promotedAt} ms after it)`);

    // What the failed calls left behind, read straight from the surviving nodes.
    const raw = new Cluster(
      cluster.topology.filter((t) => t.port !== master.port).map((t) => ({ host: '127.0.0.1', port: t.port })),
      { lazyConnect: true },
    );
    try {
      await raw.connect();
      const ghostSaves = (await Promise.all(failedSaves.map((k) => raw.get(`sgfo:${k}`)))).filter((v) => v !== null).length;
      const ghostTakes = (await Promise.all(failedTakes.map((k) => raw.get(`sgfo:${k}`)))).filter((v) => v === 'used').length;
      assert.deepEqual(
        { ghostSaves, ghostTakes },
        { ghostSaves: 0, ghostTakes: 0 },
        `a call answered as failed ran later (failed saves ${failedSaves.length}, failed takes ${failedTakes.length}, successful pairs ${okBefore})`,
      );
    } finally {
      raw.disconnect();
    }
  });
});
