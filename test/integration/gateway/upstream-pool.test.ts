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
