// Messages only the switch sends (src/fspiop/resources.ts isSwitchOnly): PATCH /transfers/{ID} and
// PATCH /fxTransfers/{ID}, the switch's notification of a final state (API Definition v1.1 §6.7.3.3), the Account
// Lookup System's PUT /participants callbacks (§6.2) and the switch's PUT /services/FXP (API 2.0). A payee credits its
// customer on PATCH COMMITTED and a payer pays the FSP a lookup names, so one sent by another DFSP in its own name
// (its certificate, its FSPIOP-Source) must reach nobody (hostile reviews of 2026-12-02): 400/3100 GW_PEER_NOT_SWITCH,
// in both roles, over real mTLS, and without mTLS by FSPIOP-Source.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { fspiopHeaders, send, startTestGateway, type TestGateway } from '../helpers/gateway.js';

const patches = () =>
  [
    ['transfers', `/transfers/${randomUUID()}`, { transferState: 'COMMITTED', completedTimestamp: new Date().toISOString() }],
    ['fxTransfers', `/fxTransfers/${randomUUID()}`, { conversionState: 'COMMITTED', completedTimestamp: new Date().toISOString() }],
  ] as const;

/** Sends `method path` with `body` as `source` (default: the peer), over mTLS as `peer` (none: no client certificate). */
async function sendAs(t: TestGateway, method: string, resource: string, path: string, body: object, peer: string | undefined, source = peer!) {
  const before = t.stub.requests.length;
  const r = await send(t.gw.inbound.port, {
    method,
    path,
    body: JSON.stringify(body),
    headers: fspiopHeaders(resource, source, { 'fspiop-destination': 'payeefsp' }),
    ...(peer === undefined ? {} : { cert: t.cert(peer) }),
    ca: t.pki.ca.certPem,
  });
  return { status: r.status, body: r.body.toString(), forwarded: t.stub.requests.length - before };
}
const patch = (t: TestGateway, resource: string, path: string, body: object, peer: string, source = peer) =>
  sendAs(t, 'PATCH', resource, path, body, peer, source);

describe('DFSP role: a PATCH notification only from the hub', () => {
  let t: TestGateway;
  before(async () => {
    t = await startTestGateway({ env: { GATEWAY_ROLE: 'dfsp', DFSP_ID: 'payeefsp', HUB_ID: 'hub' } });
  });
  after(() => t.close());

  for (const [resource, path, body] of patches()) {
    test(`PATCH /${resource}/{ID} from another DFSP → 400/3100, forwarded to nobody; from the hub → forwarded`, async () => {
      const forged = await patch(t, resource, path, body, 'otherfsp');
      assert.equal(forged.status, 400);
      assert.equal(JSON.parse(forged.body).errorInformation.errorCode, '3100');
      assert.match(forged.body, /sent by the switch only/);
      assert.equal(forged.forwarded, 0);
      // Nor under another source: a DFSP is no relay (GW_PEER_SOURCE_MISMATCH comes first).
      const asHub = await patch(t, resource, path, body, 'otherfsp', 'hub');
      assert.equal(asHub.status, 400);
      assert.equal(asHub.forwarded, 0);
      const real = await patch(t, resource, path, body, 'hub');
      assert.equal(real.status, 202, real.body);
      assert.equal(real.forwarded, 1);
    });
  }

  for (const [resource, path, body] of [
    ['participants', '/participants/MSISDN/27713803912', { fspId: 'otherfsp' }],
    ['participants', '/participants/MSISDN/27713803912/error', { errorInformation: { errorCode: '3204', errorDescription: 'Party not found' } }],
    ['participants', `/participants/${randomUUID()}`, { partyList: [] }],
    ['services', '/services/FXP', { providers: ['otherfsp'] }],
    ['services', '/services/FXP/USD/EUR', { providers: ['otherfsp'] }],
  ] as const) {
    test(`PUT ${path.replace(/[0-9a-f-]{36}/, '{ID}')} (the switch's answer) from another DFSP → 400/3100, forwarded to nobody; from the hub → forwarded`, async () => {
      const put = (peer: string) => sendAs(t, 'PUT', resource, path, body, peer);
      const forged = await put('otherfsp');
      assert.equal(forged.status, 400);
      assert.equal(JSON.parse(forged.body).errorInformation.errorCode, '3100');
      assert.equal(forged.forwarded, 0);
      const real = await put('hub');
      assert.equal(real.status, 202, real.body);
      assert.equal(real.forwarded, 1);
    });
  }

  test('other messages from another DFSP in its own name still pass (the rule is the switch-only routes only)', async () => {
    const r = await send(t.gw.inbound.port, {
      path: '/parties/MSISDN/27713803912',
      headers: fspiopHeaders('parties', 'otherfsp', { 'fspiop-destination': 'payeefsp' }),
      cert: t.cert('otherfsp'),
      ca: t.pki.ca.certPem,
    });
    assert.equal(r.status, 202, r.body.toString());
  });
});

describe('hub role: DFSPs never send a PATCH notification; a listed relay may', () => {
  let t: TestGateway;
  before(async () => {
    t = await startTestGateway({ env: { GATEWAY_ROLE: 'hub', HUB_ID: 'hub', TRUSTED_PROXY_PEERS: 'proxy-a' } });
  });
  after(() => t.close());

  for (const [resource, path, body] of patches()) {
    test(`PATCH /${resource}/{ID} from a DFSP → 400/3100 and nothing forwarded; from TRUSTED_PROXY_PEERS → forwarded`, async () => {
      const forged = await patch(t, resource, path, body, 'payerfsp');
      assert.equal(forged.status, 400);
      assert.equal(JSON.parse(forged.body).errorInformation.errorCode, '3100');
      assert.equal(forged.forwarded, 0);
      const relayed = await patch(t, resource, path, body, 'proxy-a', 'otherhub');
      assert.equal(relayed.status, 202, relayed.body);
      assert.equal(relayed.forwarded, 1);
    });
  }
});

describe('DFSP role without mTLS: the rule holds by FSPIOP-Source', () => {
  let t: TestGateway;
  before(async () => {
    t = await startTestGateway({ env: { GATEWAY_ROLE: 'dfsp', DFSP_ID: 'payeefsp', HUB_ID: 'hub', INBOUND_MUTUAL_TLS_ENABLED: 'false' } });
  });
  after(() => t.close());

  test('PATCH /transfers/{ID} with FSPIOP-Source otherfsp → 400/3100, nothing forwarded; with the hub as source → forwarded', async () => {
    const [[resource, path, body]] = patches();
    const asSource = async (source: string) => {
      const r = await sendAs(t, 'PATCH', resource, path, body, undefined, source);
      return { status: r.status, forwarded: r.forwarded };
    };
    assert.deepEqual(await asSource('otherfsp'), { status: 400, forwarded: 0 });
    assert.deepEqual(await asSource('hub'), { status: 202, forwarded: 1 });
  });
});
