// The upstream pools are bounded (UPSTREAM_CONNECTIONS per origin) and report their load: requests in flight,
// the peak since the previous sample, open connections and the bound (src/proxy/upstream.ts), against a real
// slow HTTP server on loopback.

import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { Upstreams } from '../../../src/proxy/upstream.js';
import { NOOP_TELEMETRY } from '../../../src/telemetry/types.js';
import { waitFor } from '../../helpers/wait.js';

test('a saturated pool: never more connections than its bound, the excess waits, the sample tells in flight and peak', async (t) => {
  const held: ServerResponse[] = [];
  let open = 0;
  let mostOpen = 0;
  const server = createServer((req, res) => {
    req.resume();
    held.push(res);
  });
  server.on('connection', (s) => {
    mostOpen = Math.max(mostOpen, ++open);
    s.on('close', () => open--);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const pools = new Upstreams(
    { connections: 3, connectTimeoutMs: 1000, headersTimeoutMs: 10_000, bodyTimeoutMs: 10_000, maxResponseBytes: 1024, endpoint: 'upstream' },
    NOOP_TELEMETRY,
  );
  t.after(async () => {
    for (const r of held) r.destroy();
    await pools.close();
    server.close();
  });

  const req = { method: 'POST', path: '/quotes', headers: { 'content-type': 'application/json' }, body: Buffer.from('{}') };
  const sent = Array.from({ length: 8 }, () => pools.send(origin, req, 'upstream'));
  await waitFor(() => held.length === 3, { timeoutMs: 5000, what: 'three requests at the upstream' });
  assert.deepEqual(pools.sample(), [{ target: 'upstream', inFlight: 8, peak: 8, connections: 3, limit: 3 }]);

  // Answering frees connections for the waiting requests, never more than three at once.
  const all = Promise.all(sent);
  let done = false;
  void all.then(() => {
    done = true;
  });
  while (!done) {
    for (const r of held.splice(0)) {
      r.writeHead(202, { 'content-length': '0' });
      r.end();
    }
    await new Promise((res) => setTimeout(res, 10));
  }
  assert.deepEqual(
    (await Promise.all(sent)).map((r) => r.status),
    Array(8).fill(202),
  );
  assert.equal(mostOpen, 3, 'the pool never opened more connections than its bound');
  // The peak of the previous interval was reset by the sample: now the interval's own peak (8 still in flight at its start).
  const [after] = pools.sample();
  assert.equal(after?.inFlight, 0);
  assert.equal(after?.peak, 8);
  assert.equal(pools.sample()[0]?.peak, 0, 'an idle interval has peak 0');
});

// The answer is buffered by undici's dispatch handler (src/proxy/upstream.ts BufferedAnswer): each way an
// upstream can answer badly, against a real node:http server on loopback.
test('the buffered answer: final status after 1xx, chunks joined, oversize cut, reset and slow body mapped, the pool still usable', async (t) => {
  const big = Buffer.alloc(5000, 0x61);
  const server = createServer((req, res) => {
    req.resume();
    const url = req.url ?? '';
    if (url === '/informational') {
      res.writeEarlyHints({ link: '</a>; rel=preload' });
      res.writeHead(202, { 'x-final': 'yes', 'content-type': 'application/json' });
      res.end('{"ok":true}');
    } else if (url === '/chunked') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"parts":[');
      setTimeout(() => {
        res.write('1,2,');
        setTimeout(() => res.end('3]}'), 5);
      }, 5);
    } else if (url === '/big') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(big); // maxResponseBytes is 1024
    } else if (url === '/big-streamed') {
      res.writeHead(200, { 'content-type': 'application/json' });
      for (let i = 0; i < 5; i++) res.write(big.subarray(0, 1000));
      res.end();
    } else if (url === '/reset') {
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial');
      setTimeout(() => res.socket?.destroy(), 5);
    } else if (url === '/slow-body') {
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial'); // the rest never comes: bodyTimeoutMs
    } else if (url === '/informational-forever') {
      const tick = setInterval(() => {
        if (res.socket?.destroyed) clearInterval(tick);
        else res.writeProcessing(); // 102, again and again, and never a final answer
      }, 30);
      res.on('close', () => clearInterval(tick));
    } else if (url === '/head') {
      res.writeHead(200, { 'content-length': '42' });
      res.end();
    } else {
      res.writeHead(204);
      res.end();
    }
  });
  // A tunnel granted: the gateway never asks for one, and must not hang or keep the socket when it gets one.
  server.on('connect', (_req, socket) => socket.write('HTTP/1.1 200 Connection Established\r\n\r\n'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const pools = new Upstreams(
    { connections: 2, connectTimeoutMs: 1000, headersTimeoutMs: 2000, bodyTimeoutMs: 300, maxResponseBytes: 1024, endpoint: 'upstream' },
    NOOP_TELEMETRY,
  );
  t.after(async () => {
    await pools.close();
    server.closeAllConnections();
    server.close();
  });
  const send = (path: string, method = 'POST') =>
    pools.send(origin, { method, path, headers: {}, body: method === 'POST' ? Buffer.from('{}') : Buffer.alloc(0) }, 'upstream');
  const code = (p: Promise<unknown>) =>
    p.then(
      () => 'answered',
      (e: { code?: string }) => e.code,
    );

  const info = await send('/informational');
  assert.equal(info.status, 202, 'the final status, not 103');
  assert.equal(info.headers['x-final'], 'yes');
  assert.equal(info.headers.link, undefined, "the 103's headers are not the answer's");
  assert.equal(info.body.toString(), '{"ok":true}');

  assert.equal((await send('/chunked')).body.toString(), '{"parts":[1,2,3]}');
  assert.equal(await code(send('/big')), 'GW_UPSTREAM_RESPONSE_TOO_LARGE');
  assert.equal(await code(send('/big-streamed')), 'GW_UPSTREAM_RESPONSE_TOO_LARGE');
  assert.equal(await code(send('/reset')), 'GW_UPSTREAM_UNREACHABLE');
  assert.equal(await code(send('/slow-body')), 'GW_UPSTREAM_TIMEOUT');
  // Each 1xx restarts undici's headers timeout (2 s here): without a bound this request never ended.
  const t0 = performance.now();
  assert.equal(await code(send('/informational-forever')), 'GW_UPSTREAM_UNREACHABLE');
  assert.ok(performance.now() - t0 < 2000, 'refused after a few informational answers, not after a timeout');
  assert.equal(await code(send('127.0.0.1:1', 'CONNECT')), 'GW_UPSTREAM_UNREACHABLE');
  const head = await send('/head', 'HEAD');
  assert.deepEqual([head.status, head.body.length], [200, 0]);

  // None of the failures above left the pool stuck: ten more requests all answer, none in flight afterwards.
  const after = await Promise.all(Array.from({ length: 10 }, () => send('/informational')));
  assert.deepEqual(new Set(after.map((r) => r.status)), new Set([202]));
  assert.equal(pools.sample()[0]?.inFlight, 0);
});
