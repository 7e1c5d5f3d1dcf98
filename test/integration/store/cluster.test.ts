// The Redis adapter against a three-master Redis Cluster started by this test.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
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

  test('keys spread over the masters (different hash tags work)', async () => {
    for (let i = 0; i < 30; i++) assert.equal(await store.save(`spread:{${i}}`, String(i), 5000), true);
    for (let i = 0; i < 30; i++) assert.equal(await store.take(`spread:{${i}}`, 'used'), String(i));
  });
});
