// The Redis adapter against a three-master Redis Cluster started by this test.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createRedisStore } from '../../../src/store/redis.js';
import type { Store } from '../../../src/store/types.js';
import { NOOP_TELEMETRY } from '../../../src/telemetry/types.js';
import { type RedisCluster, startCluster } from '../../helpers/redis-procs.js';
import { storeContract } from '../../helpers/store-contract.js';
import { waitFor } from '../../helpers/wait.js';

describe('redis store (cluster of three masters): contract', () => {
  let cluster: RedisCluster;
  let store: Store;
  before(async () => {
    cluster = await startCluster();
    store = createRedisStore({ clusterNodes: cluster.nodes, keyPrefix: 'sgtest:', timeoutMs: 1000, telemetry: NOOP_TELEMETRY });
    await waitFor(() => store.ping(), { timeoutMs: 10_000, intervalMs: 100, what: 'the cluster store to answer' });
  });
  after(async () => {
    await store?.close();
    await cluster?.cleanup();
  });
  storeContract(() => store);

  test('a store just connected takes a burst on every master: no call refused while a node connection opens', async () => {
    // ioredis opens node connections lazily; without the fix every call meeting one still opening failed.
    const fresh = createRedisStore({ clusterNodes: cluster.nodes, keyPrefix: 'sgtest:', timeoutMs: 1000, telemetry: NOOP_TELEMETRY });
    try {
      await waitFor(() => fresh.ping(), { timeoutMs: 10_000, intervalMs: 50, what: 'the fresh store to answer' });
      await sleep(200);
      const results = await Promise.allSettled(Array.from({ length: 60 }, (_, i) => fresh.save(`burst:{${i}}`, 'v', 5000)));
      const failed = results.filter((r) => r.status === 'rejected').map((r) => String((r.reason as { cause?: Error }).cause?.message));
      assert.deepEqual(failed, []);
    } finally {
      await fresh.close();
    }
  });

  test('keys spread over the masters (different hash tags work)', async () => {
    for (let i = 0; i < 30; i++) assert.equal(await store.save(`spread:{${i}}`, String(i), 5000), true);
    for (let i = 0; i < 30; i++) assert.equal(await store.take(`spread:{${i}}`, 'used'), String(i));
  });
});
