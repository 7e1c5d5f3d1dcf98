// WORKERS=2: two processes share the inbound port (state in Redis), the primary serves the admin port,
// aggregates /metrics across workers and broadcasts /ready; SIGTERM stops all of them.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, test } from 'node:test';
import { isBroadcast, mergeReplies } from '../../../src/cluster/ipc.js';
import { fspiopHeaders, send, startStub, testEnv } from '../../helpers/gateway.js';
import { startMain } from '../../helpers/main-process.js';
import { makeTestPki } from '../../helpers/pki.js';

const pki = makeTestPki();
after(() => pki.cleanup());

test('admin calls that touch per-process state are broadcast; the worst status wins', () => {
  assert.equal(isBroadcast('GET', '/ready'), true);
  assert.equal(isBroadcast('POST', '/admin/reload'), true);
  assert.equal(isBroadcast('POST', '/admin/quarantine/x'), false);
  const m = mergeReplies([
    { type: 'sg:admin-reply', id: 1, status: 200, headers: {}, body: '{"ok":1}' },
    { type: 'sg:admin-reply', id: 2, status: 503, headers: {}, body: '{"ok":0}' },
  ]);
  assert.equal(m.status, 503);
  assert.deepEqual(JSON.parse(m.body), { workers: [{ ok: 1 }, { ok: 0 }] });
});

test('WORKERS=2 serves on one port, aggregates metrics, drains on SIGTERM', { timeout: 90_000 }, async () => {
  const stub = await startStub();
  const prefix = `sgtest:${randomBytes(4).toString('hex')}:`;
  const env = {
    ...testEnv(pki, stub.url),
    INBOUND_LISTEN_PORT: '0',
    ADMIN_LISTEN_PORT: '0',
    OUTBOUND_LISTEN_PORT: '0',
    WORKERS: '2',
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    REDIS_KEY_PREFIX: prefix,
  };
  // Workers listening on port 0 share one port (node:cluster hands them the primary's handle); the banner says which.
  const main = await startMain(env, { readyLine: 'worker processes share', timeoutMs: 80_000 }).catch(async (e: unknown) => {
    await stub.close();
    throw e;
  });
  const { child, ports } = main;
  try {
    const cert = pki.client('dfsp-a');
    const n = 20;
    for (let i = 0; i < n; i++) {
      const r = await send(ports.inbound, {
        method: 'POST',
        path: '/quotes',
        headers: fspiopHeaders('quotes', 'dfsp-a'),
        body: '{}',
        cert,
        ca: pki.ca.certPem,
      });
      assert.equal(r.status, 202);
    }
    const ready = await fetch(`http://127.0.0.1:${ports.admin}/ready`);
    assert.equal(ready.status, 200);
    assert.equal(((await ready.json()) as { workers: unknown[] }).workers.length, 2);
    const metrics = await (await fetch(`http://127.0.0.1:${ports.admin}/metrics`)).text();
    const m = /switchguard_http_request_duration_seconds_count\{listener="inbound",route="POST \/quotes",method="POST",fspiop_code=""\} (\d+)/.exec(metrics);
    assert.ok(m, 'aggregated request metric present');
    assert.equal(Number(m[1]), n, 'counts from both workers are summed');
    child.kill('SIGTERM');
    assert.equal(await main.exited, 0);
  } finally {
    child.kill('SIGKILL');
    await stub.close();
  }
});
