// Re-review of the fifth review's fixes (2026-12-02): the one deadline per upstream exchange (src/proxy/upstream.ts
// BufferedAnswer). A request still queued for a connection when its deadline passes is answered 2004 and aborted
// when undici starts it, before anything is written: the upstream certainly never gets it, so its error says so
// (`context.notSent`) and what a stage consumed for it is given back (src/ilp/middleware.ts: a hub fulfilment's
// record, a payee's quote answer), else the payee's resend of its fulfilment would be refused 3106.
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { isGatewayError } from '../../src/errors.js';
import { Upstreams } from '../../src/proxy/upstream.js';
import { NOOP_TELEMETRY } from '../../src/telemetry/types.js';

test('a request whose deadline passed while it waited for a pool connection is reported as never sent', async (t) => {
  const held: ServerResponse[] = [];
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(req.url ?? '');
    req.resume();
    held.push(res); // never answered
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // One connection; deadline 150 + 150 ms.
  const pools = new Upstreams(
    { connections: 1, connectTimeoutMs: 1000, headersTimeoutMs: 150, bodyTimeoutMs: 150, maxResponseBytes: 1024, endpoint: 'upstream' },
    NOOP_TELEMETRY,
  );
  t.after(async () => {
    for (const r of held) r.destroy();
    await pools.close();
    server.close();
  });
  const req = (path: string) => ({ method: 'PUT', path, headers: { 'content-type': 'application/json' }, body: Buffer.from('{}') });
  // The first holds the one connection; the second (a fulfilment, say) waits for it.
  const first = pools.send(origin, req('/transfers/a'), 'upstream').catch((e: unknown) => e);
  const second = pools.send(origin, req('/transfers/b'), 'upstream').catch((e: unknown) => e);
  const [e1, e2] = await Promise.all([first, second]);
  // Give undici the time to start the second (where it is aborted) and the server to see anything it was sent.
  await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual(seen, ['/transfers/a'], 'the second request never reached the upstream');
  assert.ok(isGatewayError(e1) && e1.code === 'GW_UPSTREAM_TIMEOUT');
  assert.ok(isGatewayError(e2) && e2.code === 'GW_UPSTREAM_TIMEOUT', String(e2));
  assert.equal(
    isGatewayError(e2) ? e2.context?.notSent : undefined,
    true,
    'the upstream never got the second request, but its 2004 does not say so (context.notSent): the ILP stage keeps what it consumed for it',
  );
});
