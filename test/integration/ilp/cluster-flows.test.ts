// The hub and DFSP ILP flows on a three-master Redis Cluster started by this test.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { JsonObject } from '../../../src/ilp/transaction.js';
import { createRedisStore } from '../../../src/store/redis.js';
import type { Store } from '../../../src/store/types.js';
import { NOOP_TELEMETRY } from '../../../src/telemetry/types.js';
import { counting, fulfilBody, ilpApp, issuedTransfer, quoteRequest, quoteResponse, testConfig } from '../../helpers/ilp.js';
import { type RedisCluster, startCluster } from '../../helpers/redis-procs.js';
import { waitFor } from '../../helpers/wait.js';

describe('ILP flows on a Redis Cluster', () => {
  let cluster: RedisCluster;
  let a: Store;
  let b: Store;
  before(async () => {
    cluster = await startCluster();
    const mk = () => createRedisStore({ clusterNodes: cluster.nodes, keyPrefix: 'sgtest:', timeoutMs: 1000, telemetry: NOOP_TELEMETRY });
    a = mk();
    b = mk();
    await waitFor(async () => (await a.ping()) && (await b.ping()), { timeoutMs: 10_000, intervalMs: 100, what: 'both cluster stores to answer' });
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await cluster?.cleanup();
  });

  test('hub: 15 transfers prepared, raced by two replicas, each fulfilled exactly once; one round trip per check', async () => {
    const hub = testConfig({ GATEWAY_ROLE: 'hub' });
    const ca = counting(a);
    const A = ilpApp({ config: hub, store: ca }).call;
    const B = ilpApp({ config: hub, store: b }).call;
    for (let i = 0; i < 15; i++) {
      const x = issuedTransfer('1', Date.now());
      ca.calls = 0;
      assert.equal((await A('POST', '/transfers', x.prepare)).status, 200);
      assert.equal(ca.calls, 1);
      const codes = (await Promise.all([A, B].map((call) => call('PUT', `/transfers/${x.transferId}`, fulfilBody(x.ilp.fulfilment))))).map(
        (r) => r.code ?? String(r.status),
      );
      assert.deepEqual(codes.sort(), ['200', '3106']);
    }
  });

  test('DFSP: quote stored on one replica, ILP attached and transfer checked on the other (v4)', async () => {
    const dfsp = testConfig({ GATEWAY_ROLE: 'dfsp', ILP_VERSION: '4' });
    const inA = ilpApp({ config: dfsp, store: a }).call;
    const outB = ilpApp({ config: dfsp, store: b, direction: 'outbound' }).call;
    const inB = ilpApp({ config: dfsp, store: b }).call;
    const qr = quoteRequest();
    const resp = quoteResponse(Date.now());
    assert.equal((await inA('POST', '/quotes', qr)).status, 200);
    const q = (await outB('PUT', `/quotes/${qr.quoteId}`, resp)).json.rewritten as JsonObject;
    assert.match(String(q.condition), /^[A-Za-z0-9_-]{43}$/);
    const prepare = {
      transferId: qr.transactionId,
      payerFsp: 'payerfsp',
      payeeFsp: 'payeefsp',
      amount: resp.transferAmount,
      ilpPacket: q.ilpPacket,
      condition: q.condition,
      expiration: new Date(Date.now() + 30_000).toISOString(),
    };
    assert.equal((await inB('POST', '/transfers', prepare)).status, 200);
    const c = await ilpApp({ config: dfsp, store: a, direction: 'outbound' }).call('PUT', `/transfers/${qr.transactionId}`, { transferState: 'COMMITTED' });
    const f = (c.json.rewritten as JsonObject).fulfilment;
    assert.equal(typeof f, 'string');
    const hub = testConfig({ GATEWAY_ROLE: 'hub', ILP_VERSION: '4' });
    const H = ilpApp({ config: hub, store: a }).call;
    assert.equal((await H('POST', '/transfers', prepare)).status, 200);
    assert.equal((await H('PUT', `/transfers/${qr.transactionId}`, fulfilBody(String(f)))).status, 200);
  });
});
