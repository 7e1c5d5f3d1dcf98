// The admin API as wired into the running gateway: quarantine through the admin listener stops a real
// mTLS peer on the inbound listener with 2003/503, release lets it through again; metrics and readiness
// are served next to it.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fspiopHeaders, send, startTestGateway } from '../../helpers/gateway.js';
import { makeTestPki } from '../../helpers/pki.js';

const TOKEN = 'obs-test-admin-token-0123456789';

test('quarantine through the gateway admin listener stops and releases a real peer', { timeout: 20_000 }, async (t) => {
  const pki = makeTestPki();
  t.after(() => pki.cleanup());
  const peersPath = pki.write('peers.json', JSON.stringify({ dfsp1: 'http://127.0.0.1:9/', dfsp2: 'http://127.0.0.1:9/' }));
  const tg = await startTestGateway({ pki, env: { ADMIN_TOKEN: TOKEN, PEERS_PATH: peersPath } });
  t.after(() => tg.close());
  const admin = `http://127.0.0.1:${tg.gw.admin.port}`;
  const call = (method: string, path: string, token = TOKEN) => fetch(admin + path, { method, headers: { authorization: `Bearer ${token}` } });
  const party = () =>
    send(tg.gw.inbound.port, {
      path: '/parties/MSISDN/123456',
      headers: { ...fspiopHeaders('parties', 'dfsp1'), 'fspiop-destination': 'dfsp2' },
      cert: tg.cert('dfsp1'),
      ca: pki.ca.certPem,
    });

  assert.equal((await party()).status, 202);
  assert.equal((await call('POST', '/admin/quarantine/dfsp1', 'wrong-token')).status, 401);
  // An id outside the directories can be quarantined (a peer bound from its certificate only); an id the
  // FSP-id rule refuses cannot.
  const unknown = await call('POST', '/admin/quarantine/nobody');
  assert.equal(unknown.status, 200);
  assert.equal(((await unknown.json()) as { known: boolean }).known, false);
  assert.equal((await call('DELETE', '/admin/quarantine/nobody')).status, 200);
  assert.equal((await call('POST', `/admin/quarantine/${'x'.repeat(40)}`)).status, 400);
  const on = await call('POST', '/admin/quarantine/dfsp1');
  assert.equal(on.status, 200);
  assert.deepEqual(((await on.json()) as { all: string[] }).all, ['dfsp1']);

  const blocked = await party();
  assert.equal(blocked.status, 503);
  assert.equal(blocked.json().errorInformation.errorCode, '2003');
  const forwardedBefore = tg.stub.requests.length;
  assert.equal(forwardedBefore, 1, 'the quarantined request never reached the upstream');

  const metrics = await (await fetch(`${admin}/metrics`)).text();
  assert.match(metrics, /^switchguard_quarantined_peers 1$/m);
  assert.match(metrics, /^switchguard_http_request_duration_seconds_count\{listener="inbound",route="[^"]*",method="GET",fspiop_code="2003"\} 1$/m);

  assert.equal((await call('DELETE', '/admin/quarantine/dfsp1')).status, 200);
  assert.equal((await party()).status, 202);
  assert.equal((await fetch(`${admin}/health`)).status, 200);
});
