// Graceful shutdown with keep-alive clients (src/http/listeners.ts close()): a response written while the
// gateway drains carries `Connection: close` and its connection is closed after it, so the drain ends soon
// after the last in-flight request (not at SHUTDOWN_TIMEOUT_MS) and a client that keeps its connections open
// (a load balancer's pool, an SDK's agent) moves to another replica instead of being cut off at the deadline;
// a request still on its way on an idle kept-alive connection when the drain begins is answered, not cut.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Pool } from 'undici';
import { fspiopHeaders, startTestGateway } from '../../helpers/gateway.js';
import { waitFor } from '../../helpers/wait.js';

/** A gateway, and a keep-alive pool of `connections` mTLS connections of dfsp-a to it that POSTs /quotes. */
async function gatewayWithPool(connections: number) {
  const t = await startTestGateway();
  const c = t.cert('dfsp-a');
  const pool = new Pool(`https://127.0.0.1:${t.gw.inbound.port}`, {
    connections,
    keepAliveTimeout: 60_000,
    connect: { ca: t.pki.ca.certPem, cert: c.certPem, key: c.keyPem, servername: 'localhost' },
  });
  const post = () => pool.request({ method: 'POST', path: '/quotes', headers: fspiopHeaders('quotes', 'dfsp-a'), body: '{}' });
  const close = async () => {
    await pool.destroy();
    await t.stub.close();
    t.pki.cleanup();
  };
  return { t, post, close };
}

test('drain: the in-flight response says Connection: close, the kept-alive connection is closed, close() ends long before its timeout', async () => {
  const { t, post, close } = await gatewayWithPool(2);
  try {
    // A first exchange leaves both a busy and an idle kept-alive connection behind.
    const warm = await Promise.all([post(), post()]);
    for (const r of warm) {
      assert.equal(r.statusCode, 202);
      assert.equal(r.headers.connection, 'keep-alive');
      await r.body.dump();
    }
    t.stub.behave({ status: 202, body: 'late', delayMs: 600 });
    const inflight = post();
    await waitFor(() => t.stub.requests.length === 3, { what: 'the request to reach the upstream' });
    const started = performance.now();
    const closed = t.gw.close(8000);
    const r = await inflight;
    assert.equal(r.statusCode, 202);
    assert.equal(await r.body.text(), 'late');
    assert.equal(r.headers.connection, 'close', 'a response written while draining tells the client to go');
    await closed;
    const ms = performance.now() - started;
    assert.ok(ms < 3000, `drained when the in-flight request ended (${Math.round(ms)} ms), not at the 8000 ms deadline`);
  } finally {
    await close();
  }
});

test('drain: a request arriving on an idle kept-alive connection just after the drain began is answered (Connection: close), not cut', async () => {
  const { t, post, close } = await gatewayWithPool(1);
  try {
    const warm = await post();
    assert.equal(warm.headers.connection, 'keep-alive');
    await warm.body.dump();
    // The connection is idle now; the drain begins while the next request is on its way on it.
    const closed = t.gw.close(8000);
    const r = await post();
    assert.equal(r.statusCode, 202);
    assert.equal(r.headers.connection, 'close');
    await r.body.dump();
    await closed;
    assert.equal(t.stub.requests.length, 2, 'both requests reached the upstream');
  } finally {
    await close();
  }
});

test('drain: a request in flight on a connection idle for longer than the grace period before it is answered, not cut', async () => {
  const { t, post, close } = await gatewayWithPool(1);
  try {
    const warm = await post();
    await warm.body.dump();
    // Idle for longer than the drain's grace period (1 s, src/http/listeners.ts), then a slow request: the sweep
    // must see it in progress, whatever the time of the connection's last answer.
    await new Promise((r) => setTimeout(r, 1300));
    t.stub.behave({ status: 202, body: 'late', delayMs: 1500 });
    const inflight = post();
    await waitFor(() => t.stub.requests.length === 2, { what: 'the request to reach the upstream' });
    const closed = t.gw.close(8000);
    const r = await inflight;
    assert.equal(r.statusCode, 202);
    assert.equal(await r.body.text(), 'late');
    await closed;
  } finally {
    await close();
  }
});
