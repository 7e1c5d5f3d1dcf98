// WORKERS=2: two processes share the inbound port (state in Redis), the primary serves the admin port,
// aggregates /metrics across workers and broadcasts /ready; SIGTERM stops all of them.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { after, test } from 'node:test';
import { ADMIN_METHODS, adminPathOf, isBroadcast, MAX_ADMIN_BODIES_IN_FLIGHT, MAX_ADMIN_BODY_BYTES, mergeReplies } from '../../../src/cluster/ipc.js';
import { answerAdminCall } from '../../../src/cluster/worker.js';
import { fspiopHeaders, send, startStub, testEnv } from '../../helpers/gateway.js';
import { startMain } from '../../helpers/main-process.js';
import { makeTestPki } from '../../helpers/pki.js';

const pki = makeTestPki();
after(() => pki.cleanup());

/** A connection that sent `text` and then nothing more (a body that never completes). */
function openStalled(port: number, text: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => {
      s.write(text);
      resolve(s);
    });
    s.on('error', reject);
  });
}

/** One raw HTTP/1.1 exchange (fetch refuses TRACE): the whole answer as text. */
function rawRequest(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.write(text));
    let got = '';
    s.on('data', (d: Buffer) => {
      got += d.toString('latin1');
    });
    s.on('error', reject);
    s.on('close', () => resolve(got));
    s.setTimeout(5000, () => s.destroy());
  });
}

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

test('the primary reads a request target as the worker will route it', () => {
  for (const [target, path] of [
    ['/ready', '/ready'],
    ['/ready?x=1', '/ready'],
    ['/ready#x', '/ready'],
    ['/admin/./reload', '/admin/reload'],
    ['/x/../admin/reload', '/admin/reload'],
    ['/admin/%72eload', '/admin/reload'],
    ['/admin/%2Freload', '/admin/%2Freload'], // decodeURI keeps reserved characters encoded, as Hono does
    ['/admin/%E0%A4%A', '/admin/%E0%A4%A'], // malformed: left as it is
    ['//metrics', '//metrics'],
  ] as const)
    assert.equal(adminPathOf(target), path, target);
  assert.equal(isBroadcast('POST', adminPathOf('/admin/%72eload')), true);
});

test('a worker answers every relayed admin call, even one fetch cannot represent, and never rejects', async () => {
  const seen: string[] = [];
  const callers: (string | undefined)[] = [];
  const adminFetch = async (req: Request, remoteAddress?: string) => {
    seen.push(`${req.method} ${new URL(req.url).pathname}`);
    callers.push(remoteAddress);
    if (req.url.endsWith('/boom')) throw new Error('admin app failed');
    return new Response('{"ok":true}', { status: 200, headers: { 'content-type': 'application/json' } });
  };
  const call = (method: string, url: string, headers: Record<string, string> = {}) =>
    answerAdminCall(adminFetch, { type: 'sg:admin', id: 7, method, url, headers, body: '' });
  for (const method of ['TRACE', 'TRACK', 'CONNECT', 'GET\r\n']) {
    const r = await call(method, '/ready');
    assert.deepEqual([r.id, r.status, JSON.parse(r.body)], [7, 400, { status: 'bad admin request' }], method);
  }
  assert.equal((await call('GET', '/ready', { 'bad header\u0000': 'x' })).status, 400);
  assert.equal((await call('GET', '/boom')).status, 500);
  const ok = await call('GET', '/ready');
  assert.deepEqual([ok.status, ok.body, ok.headers['content-type']], [200, '{"ok":true}', 'application/json']);
  assert.deepEqual(seen, ['GET /boom', 'GET /ready'], 'only representable calls reach the admin app');
  // The caller's address the primary saw reaches the admin app, for its audit records.
  await answerAdminCall(adminFetch, { type: 'sg:admin', id: 8, method: 'GET', url: '/ready', headers: {}, body: '', remoteAddress: '198.51.100.7' });
  assert.deepEqual(callers, [undefined, undefined, '198.51.100.7']);
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
    // Methods the admin API does not serve are answered by the primary; a body past the bound is refused.
    // Until 2026-11-30 a relayed TRACE ended the worker it reached, and TRACE /ready every worker at once.
    for (const path of ['/ready', '/admin/peers']) {
      const r = await rawRequest(ports.admin, `TRACE ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n`);
      assert.match(r, /^HTTP\/1\.1 405 /);
      assert.match(r, new RegExp(`allow: ${[...ADMIN_METHODS].join(', ')}`, 'i'));
    }
    // A rewritten target is still broadcast (each worker answers 404 here: the admin API is off; the shape tells).
    for (const target of ['/admin/./reload', '/admin/%72eload', '/x/../admin/reload']) {
      const r = await fetch(`http://127.0.0.1:${ports.admin}${target}`, { method: 'POST' });
      assert.equal(((await r.json()) as { workers?: unknown[] }).workers?.length, 2, target);
    }
    // At most MAX_ADMIN_BODIES_IN_FLIGHT bodies are held at once; a stalled one is released when its client goes.
    const stalled = await Promise.all(
      Array.from({ length: MAX_ADMIN_BODIES_IN_FLIGHT }, () =>
        openStalled(ports.admin, 'POST /admin/limits/dfsp-a HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: 100\r\n\r\n{'),
      ),
    );
    await new Promise((r) => setTimeout(r, 200));
    assert.match(
      await rawRequest(ports.admin, 'POST /admin/reload HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}'),
      /^HTTP\/1\.1 503 /,
    );
    for (const s of stalled) s.destroy();
    await new Promise((r) => setTimeout(r, 200));
    assert.match(
      await rawRequest(ports.admin, 'POST /admin/reload HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}'),
      /^HTTP\/1\.1 (?!503)\d{3} [\s\S]*"workers"/,
    );
    const big = await rawRequest(
      ports.admin,
      `POST /admin/quarantine/dfsp-a HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: ${MAX_ADMIN_BODY_BYTES + 1}\r\n\r\n{`,
    );
    assert.match(big, /^HTTP\/1\.1 413 /);
    // The primary answers /health and /metrics itself and relays /ready: a Host a page rebound to it (DNS rebinding)
    // gets 421 for each, before anything is read or relayed (src/admin/host.ts).
    for (const path of ['/health', '/metrics', '/ready', '/admin/peers'])
      assert.match(
        await rawRequest(ports.admin, `GET ${path} HTTP/1.1\r\nhost: rebind.attacker.example:${ports.admin}\r\nconnection: close\r\n\r\n`),
        /^HTTP\/1\.1 421 [\s\S]*"errorCode":"3000"/,
        path,
      );
    const ready = await fetch(`http://127.0.0.1:${ports.admin}/ready`);
    assert.equal(ready.status, 200);
    assert.equal(((await ready.json()) as { workers: unknown[] }).workers.length, 2);
    assert.doesNotMatch(main.output(), /worker \d+ exited/, 'no worker died');
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
