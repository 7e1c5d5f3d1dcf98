// INBOUND_UPSTREAM_ROUTES over real mTLS: three recording upstreams on free loopback ports stand for
// Mojaloop's account-lookup, quoting and ml-api-adapter services, the test gateway's stub for the rest.
// Each request reaches the upstream of its resource, /ready names the one upstream that is down, and the
// upstream metrics carry each upstream's name.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { fspiopHeaders, type Reply, type Stub, send, startStub, startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import { waitFor } from '../../helpers/wait.js';

let t: TestGateway;
let als: Stub;
let quoting: Stub;
let adapter: Stub;
let quotingStopped = false;

before(async () => {
  als = await startStub();
  quoting = await startStub();
  adapter = await startStub();
  t = await startTestGateway({
    env: {
      INBOUND_UPSTREAM_ROUTES: [
        `parties|participants=${als.url}`,
        `quotes|fxQuotes|bulkQuotes=${quoting.url}/quoting`,
        `transfers|fxTransfers|bulkTransfers=${adapter.url}`,
      ].join(','),
    },
  });
});
after(async () => {
  await t.close();
  await als.close();
  if (!quotingStopped) await quoting.close();
  await adapter.close();
});

const call = (method: string, path: string, resource: string, body?: string): Promise<Reply> =>
  send(t.gw.inbound.port, {
    method,
    path,
    headers: fspiopHeaders(resource, 'dfsp-a', { 'fspiop-destination': 'dfsp-b' }),
    ...(body === undefined ? {} : { body }),
    cert: t.cert('dfsp-a'),
    ca: t.pki.ca.certPem,
  });
const admin = (path: string) => fetch(`http://127.0.0.1:${t.gw.admin.port}${path}`);
const paths = (s: Stub) => s.requests.map((r) => `${r.method} ${r.url}`);

test('each resource reaches its own upstream, base path kept; resources not listed go to INBOUND_UPSTREAM_URL', async () => {
  const sent: [string, string, string, string?][] = [
    ['GET', '/parties/MSISDN/27713803912', 'parties'],
    ['POST', '/participants/MSISDN/27713803912', 'participants', '{"fspId":"dfsp-a"}'], // not PUT: the ALS's answer (switch-only.test.ts)
    ['POST', '/quotes', 'quotes', '{"quoteId":"q1"}'],
    ['POST', '/fxQuotes', 'fxQuotes', '{"conversionRequestId":"c1"}'],
    ['POST', '/transfers', 'transfers', '{"transferId":"t1"}'],
    ['PUT', '/fxTransfers/c1', 'fxTransfers', '{"conversionState":"RESERVED"}'], // not PATCH: only the switch sends that (switch-only.test.ts)
    ['POST', '/transactionRequests', 'transactionRequests', '{"transactionRequestId":"r1"}'],
    ['GET', '/authorizations/a1', 'authorizations'],
  ];
  for (const [method, path, resource, body] of sent) {
    const r = await call(method, path, resource, body);
    assert.equal(r.status, 202, `${method} ${path}: ${r.body.toString()}`);
  }
  assert.deepEqual(paths(als), ['GET /parties/MSISDN/27713803912', 'POST /participants/MSISDN/27713803912']);
  assert.deepEqual(paths(quoting), ['POST /quoting/quotes', 'POST /quoting/fxQuotes']);
  assert.deepEqual(paths(adapter), ['POST /transfers', 'PUT /fxTransfers/c1']);
  assert.deepEqual(paths(t.stub), ['POST /transactionRequests', 'GET /authorizations/a1']);
  // The upstream got the request as forwarded everywhere else: verified peer id, body byte for byte.
  assert.equal(adapter.requests[0]!.headers['x-client-id'], 'dfsp-a');
  assert.equal(adapter.requests[0]!.body.toString(), '{"transferId":"t1"}');
});

test('metrics are labelled by upstream name, never by URL', async () => {
  const text = await (await admin('/metrics')).text();
  const count = (target: string) => Number(new RegExp(`switchguard_upstream_requests_total\\{target="${target}",outcome="ok"\\} (\\d+)`).exec(text)?.[1]);
  assert.equal(count('upstream:parties'), 2);
  assert.equal(count('upstream:quotes'), 2);
  assert.equal(count('upstream:transfers'), 2);
  assert.equal(count('upstream'), 2);
  for (const name of ['upstream', 'upstream:parties', 'upstream:quotes', 'upstream:transfers'])
    assert.match(text, new RegExp(`switchguard_upstream_up\\{target="${name}"\\} 1`));
  assert.doesNotMatch(text, /127\.0\.0\.1:\d+/, 'no upstream URL in a label');
});

test('/ready has one check per upstream and names the one that is down; its resources fail with 1001, the others still pass', async () => {
  const ready = await admin('/ready');
  assert.equal(ready.status, 200);
  const body = (await ready.json()) as { checks: Record<string, boolean>; failing: string[] };
  for (const name of ['upstream', 'upstream:parties', 'upstream:quotes', 'upstream:transfers']) assert.equal(body.checks[name], true, name);

  await quoting.close();
  quotingStopped = true;
  // One probe answers /ready for a second (src/proxy/probe.ts), so the downed upstream shows within about a second.
  const down = await waitFor(
    async () => {
      const r = await admin('/ready');
      if (r.status === 503) return r;
      await r.arrayBuffer();
      return undefined;
    },
    { timeoutMs: 3000, what: '/ready to answer 503' },
  );
  const after = (await down.json()) as { checks: Record<string, boolean>; failing: string[] };
  assert.deepEqual(after.failing, ['upstream:quotes']);
  assert.equal(after.checks['upstream:parties'], true);

  const q = await call('POST', '/quotes', 'quotes', '{"quoteId":"q2"}');
  assert.equal(q.status, 503);
  assert.equal(q.json().errorInformation.errorCode, '1001');
  assert.equal((await call('POST', '/transfers', 'transfers', '{"transferId":"t2"}')).status, 202);
  assert.equal(adapter.requests.length, 3);

  await waitFor(async () => /switchguard_upstream_up\{target="upstream:quotes"\} 0/.test(await (await admin('/metrics')).text()), { timeoutMs: 3000 });
  const text = await (await admin('/metrics')).text();
  assert.match(text, /switchguard_upstream_requests_total\{target="upstream:quotes",outcome="error"\} 1/);
  assert.match(text, /switchguard_upstream_up\{target="upstream:transfers"\} 1/);
});
