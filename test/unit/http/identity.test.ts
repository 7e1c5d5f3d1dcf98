// IDENTITY_CHECK through the real pipelines in-process (test/helpers/app.ts): inbound over a bound client
// certificate and a verified signature, outbound before signing. enforce refuses a body FSP id that differs from
// the signed FSPIOP-Source (3100) and forwards nothing; log forwards the bytes unchanged, counts and warns; off does
// neither; a body whose signature fails is a signature failure, never a mismatch.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../../../src/config/load.js';
import { ALGORITHMS } from '../../../src/jws/algorithms.js';
import { signRequest } from '../../../src/jws/sign.js';
import { createTelemetry, type MetricsTelemetry } from '../../../src/metrics/registry.js';
import { makeApp } from '../../helpers/app.js';
import { quoteRequest, quoteResponse } from '../../helpers/ilp.js';
import { isoHeaders, toIso } from '../../helpers/iso20022.js';
import { KEYS, PRIVATE_KEYS } from '../../helpers/jws.js';
import { makeTestPki } from '../../helpers/pki.js';

const pki = makeTestPki();
const keysDir = mkdtempSync(join(tmpdir(), 'sg-identity-'));
writeFileSync(join(keysDir, 'payerfsp.pem'), KEYS.payerfspPublicKeyPem!);
after(() => {
  pki.cleanup();
  rmSync(keysDir, { recursive: true, force: true });
});
const payerCert = pki.client('payerfsp').certPem;

const TRANSFER = {
  transferId: '7c23e80c-d078-4077-8263-2c047876fcf6',
  payerFsp: 'payerfsp',
  payeeFsp: 'payeefsp',
  amount: { currency: 'USD', amount: '100.50' },
  expiration: '2029-01-01T10:05:00.000Z',
  ilpPacket: 'AYIBgQAAAAAAAASwNGxldmVsb25lLmRmc3AxLm1lci45T2RTOF81MDdqUUZERmZlakgyOVc4bXFmNEpLMHlGTFGCAUBQU0svMS4w',
  condition: 'f5sqb7tBTWPd5Y8BDFdMm9BJR_MNI4isf8p8n4D5pHA',
};

/** The inbound gateway (hub role) with mTLS, JWS verification and the policy under test; ILP off, so the identity stage decides alone. */
async function inbound(policy: 'off' | 'log' | 'enforce', env: Record<string, string> = {}) {
  const telemetry = createTelemetry({ processMetrics: false });
  const a = await makeApp({
    telemetry,
    env: {
      INBOUND_UPSTREAM_URL: 'http://upstream.test',
      IN_CA_CERT_PATH: pki.caPath,
      IN_SERVER_CERT_PATH: pki.serverCertPath,
      IN_SERVER_KEY_PATH: pki.serverKeyPath,
      VALIDATE_INBOUND_JWS: 'true',
      VALIDATE_INBOUND_PUT_PARTIES_JWS: 'true',
      JWS_VERIFICATION_KEYS_DIRECTORY: keysDir,
      IDENTITY_CHECK: policy,
      ...env,
    },
  });
  /** A request signed by payerfsp over its certificate; `tamper` changes the bytes after signing. */
  const send = async (path: string, json: unknown, o: { destination?: string; headers?: Record<string, string>; tamper?: (b: string) => string } = {}) => {
    const headers: Record<string, string> = {
      'fspiop-source': 'payerfsp',
      'fspiop-destination': o.destination ?? 'payeefsp',
      date: new Date().toUTCString(),
      ...o.headers,
    };
    const signed = signRequest({ method: 'POST', url: path, headers, json }, { key: PRIVATE_KEYS.payerfsp!, alg: ALGORITHMS.RS256 });
    const body = o.tamper ? Buffer.from(o.tamper(signed.body.toString('utf8'))) : signed.body;
    const res = await a.request('POST', path, { headers: { ...headers, ...signed.headers }, body, peerCertPem: payerCert });
    return { res, body, json: (await res.json().catch(() => ({}))) as { errorInformation?: { errorCode: string; errorDescription: string } } };
  };
  return { a, telemetry, send };
}

async function series(t: MetricsTelemetry, labels: string): Promise<number | undefined> {
  const name = `switchguard_identity_mismatch_total{${labels}}`;
  const line = (await t.metricsText()).split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}
const identityLines = async (t: MetricsTelemetry) => (await t.metricsText()).split('\n').filter((l) => l.startsWith('switchguard_identity_mismatch_total{'));
const warnings = (logs: Record<string, unknown>[]) => logs.filter((l) => l.policy === 'log');

describe('IDENTITY_CHECK, inbound (after the signature)', () => {
  test('enforce: a payerFsp other than the signed FSPIOP-Source is refused with 3100 naming the member, nothing forwarded, counted', async () => {
    const { a, telemetry, send } = await inbound('enforce');
    try {
      const r = await send('/transfers', { ...TRANSFER, payerFsp: 'victimfsp' });
      assert.equal(r.res.status, 400);
      assert.equal(r.json.errorInformation?.errorCode, '3100');
      assert.equal(r.json.errorInformation?.errorDescription, 'Generic validation error - payerFsp differs from FSPIOP-Source');
      assert.equal(a.upstream.requests.length, 0);
      assert.equal(await series(telemetry, 'listener="inbound",template="POST /transfers",member="payerFsp",policy="enforce"'), 1);
      const line = a.logs.at(-1)!;
      assert.equal(line.errorCode, 'GW_IDENTITY_MISMATCH');
      assert.equal(line.member, 'payerFsp');
      assert.equal(line.jwsForm, 'raw', 'the signature had verified: the refusal is the identity check’s');

      // the honest transfer passes, byte for byte
      const ok = await send('/transfers', TRANSFER);
      assert.equal(ok.res.status, 202);
      assert.equal(a.upstream.requests.length, 1);
      assert.ok(a.upstream.requests[0]!.body.equals(ok.body));
    } finally {
      await a.close();
    }
  });

  test('enforce: a mismatching body whose signature fails is a signature failure (3105), never counted as a mismatch', async () => {
    const { a, telemetry, send } = await inbound('enforce');
    try {
      const r = await send('/transfers', TRANSFER, { tamper: (b) => b.replace('"payerFsp":"payerfsp"', '"payerFsp":"victimfsp"') });
      assert.equal(r.res.status, 400);
      assert.equal(r.json.errorInformation?.errorCode, '3105');
      assert.equal(a.upstream.requests.length, 0);
      assert.deepEqual(await identityLines(telemetry), []);
    } finally {
      await a.close();
    }
  });

  test('log: the mismatching transfer is forwarded unchanged, counted once and warned once with the member and header', async () => {
    const { a, telemetry, send } = await inbound('log');
    try {
      const r = await send('/transfers', { ...TRANSFER, payerFsp: 'victimfsp', payeeFsp: 'otherfsp' });
      assert.equal(r.res.status, 202);
      assert.equal(a.upstream.requests.length, 1);
      assert.ok(a.upstream.requests[0]!.body.equals(r.body), 'forwarded byte for byte');
      assert.equal(await series(telemetry, 'listener="inbound",template="POST /transfers",member="payerFsp",policy="log"'), 1);
      assert.equal(await series(telemetry, 'listener="inbound",template="POST /transfers",member="payeeFsp",policy="log"'), 1);
      const w = warnings(a.logs);
      assert.deepEqual(
        w.map((l) => [l.member, l.header, l.source, l.destination, l.route, l.listener]),
        [
          ['payerFsp', 'source', 'payerfsp', 'payeefsp', 'POST /transfers', 'inbound'],
          ['payeeFsp', 'destination', 'payerfsp', 'payeefsp', 'POST /transfers', 'inbound'],
        ],
      );
      assert.equal(w[0]!.requestId, a.logs.at(-1)!.requestId, 'the warning carries the request id of the request line');
      // an honest message adds nothing
      await send('/transfers', TRANSFER);
      assert.equal(warnings(a.logs).length, 2);
      assert.equal((await identityLines(telemetry)).length, 2);
    } finally {
      await a.close();
    }
  });

  test('off: no stage, nothing counted or warned, forwarded', async () => {
    const { a, telemetry, send } = await inbound('off');
    try {
      const r = await send('/transfers', { ...TRANSFER, payerFsp: 'victimfsp' });
      assert.equal(r.res.status, 202);
      assert.equal(a.upstream.requests.length, 1);
      assert.deepEqual(await identityLines(telemetry), []);
      assert.deepEqual(warnings(a.logs), []);
    } finally {
      await a.close();
    }
  });

  test('enforce, ISO 20022: a pacs.008 whose DbtrAgt is not the signed FSPIOP-Source is refused naming the ISO path and the member', async () => {
    const { a, telemetry, send } = await inbound('enforce');
    try {
      const isoPut = await toIso.putQuotes('q1', { ...quoteResponse(Date.now()), ilpPacket: TRANSFER.ilpPacket }, await toIso.postQuotes(quoteRequest()));
      const headers = isoHeaders('transfers');
      const bad = await send('/transfers', await toIso.postTransfers({ ...TRANSFER, payerFsp: 'victimfsp' }, isoPut), { headers });
      assert.equal(bad.res.status, 400);
      assert.equal(
        bad.json.errorInformation?.errorDescription,
        'Generic validation error - CdtTrfTxInf.DbtrAgt.FinInstnId.Othr.Id (payerFsp) differs from FSPIOP-Source',
      );
      assert.equal(a.upstream.requests.length, 0);
      assert.equal(await series(telemetry, 'listener="inbound",template="POST /transfers",member="payerFsp",policy="enforce"'), 1);
      const ok = await send('/transfers', await toIso.postTransfers(TRANSFER, isoPut), { headers });
      assert.equal(ok.res.status, 202);
      assert.equal(a.upstream.requests.length, 1);
    } finally {
      await a.close();
    }
  });

  test('enforce: a POST /participants/{Type}/{ID} registering a party for another FSP (mojaloop/project#4510) is refused', async () => {
    const { a, send } = await inbound('enforce');
    try {
      const bad = await send('/participants/MSISDN/27713803912', { fspId: 'victimfsp', currency: 'USD' }, { destination: 'hub' });
      assert.equal(bad.res.status, 400);
      assert.equal(bad.json.errorInformation?.errorDescription, 'Generic validation error - fspId differs from FSPIOP-Source');
      const ok = await send('/participants/MSISDN/27713803912', { fspId: 'payerfsp', currency: 'USD' }, { destination: 'hub' });
      assert.equal(ok.res.status, 202);
      assert.equal(a.upstream.requests.length, 1);
    } finally {
      await a.close();
    }
  });

  test('enforce: a message addressed to a relay (TRUSTED_PROXY_PEERS) or to the hub is not compared with that header; its source still is', async () => {
    const { a, send } = await inbound('enforce', { TRUSTED_PROXY_PEERS: 'proxyab' });
    try {
      const quote = quoteRequest({ payee: { partyIdInfo: { partyIdType: 'MSISDN', partyIdentifier: '1', fspId: 'foreignfsp' } } });
      assert.equal((await send('/quotes', quote, { destination: 'proxyab' })).res.status, 202);
      assert.equal((await send('/quotes', quote, { destination: 'hub' })).res.status, 202);
      assert.equal((await send('/quotes', quote, { destination: 'payeefsp' })).res.status, 400);
      const spoof = quoteRequest({ payer: { partyIdInfo: { partyIdType: 'MSISDN', partyIdentifier: '1', fspId: 'victimfsp' } } });
      const r = await send('/quotes', spoof, { destination: 'proxyab' });
      assert.equal(r.json.errorInformation?.errorDescription, 'Generic validation error - payer.partyIdInfo.fspId differs from FSPIOP-Source');
      assert.equal(a.upstream.requests.length, 2);
    } finally {
      await a.close();
    }
  });
});

describe('IDENTITY_CHECK, outbound (before ILP completion and signing)', () => {
  test('enforce: the local side’s quote naming another payer is refused before it is signed; an honest one is signed and sent', async () => {
    const telemetry = createTelemetry({ processMetrics: false });
    const a = await makeApp({
      listener: 'outbound',
      telemetry,
      env: {
        GATEWAY_ROLE: 'dfsp',
        DFSP_ID: 'payerfsp',
        JWS_SIGN: 'true',
        JWS_SIGNING_KEY_PATH: pki.write('payer.key', KEYS.payerfspPrivateKeyPem!),
        IDENTITY_CHECK: 'enforce',
      },
    });
    try {
      const headers = { 'fspiop-source': 'payerfsp', 'fspiop-destination': 'payeefsp' };
      const bad = await a.request('POST', '/quotes', {
        headers,
        body: JSON.stringify(quoteRequest({ payer: { partyIdInfo: { partyIdType: 'MSISDN', partyIdentifier: '1', fspId: 'otherfsp' } } })),
      });
      assert.equal(bad.status, 400);
      assert.equal(((await bad.json()) as { errorInformation: { errorCode: string } }).errorInformation.errorCode, '3100');
      assert.equal(a.upstream.requests.length, 0);
      const text = await telemetry.metricsText();
      assert.ok(!/^mojaloop_jws_sign_duration_seconds_count\{[^}]*\} [1-9]/m.test(text), 'nothing was signed');
      assert.equal(await series(telemetry, 'listener="outbound",template="POST /quotes",member="payer.partyIdInfo.fspId",policy="enforce"'), 1);
      const ok = await a.request('POST', '/quotes', { headers, body: JSON.stringify(quoteRequest()) });
      assert.equal(ok.status, 202, await ok.text());
      assert.ok(a.upstream.requests[0]!.headers['fspiop-signature']);
    } finally {
      await a.close();
    }
  });
});

describe('IDENTITY_CHECK configuration', () => {
  const load = (env: Record<string, string> = {}) => loadConfig({ SWITCHGUARD_PROFILE: 'development', ...env });
  test('default log; off has no group (no stage); enforce; relays are HUB_ID and TRUSTED_PROXY_PEERS; the group is frozen', () => {
    assert.deepEqual(load().identity, { enforce: false, relays: ['hub'] });
    assert.equal(load({ IDENTITY_CHECK: 'off' }).identity, undefined);
    const c = load({ IDENTITY_CHECK: 'enforce', HUB_ID: 'switch', TRUSTED_PROXY_PEERS: 'proxyab, proxycd' });
    assert.deepEqual(c.identity, { enforce: true, relays: ['switch', 'proxyab', 'proxycd'] });
    assert.ok(Object.isFrozen(c.identity) && Object.isFrozen(c.identity!.relays));
  });
  test('any other value stops start-up naming the variable', () => {
    assert.throws(
      () => load({ IDENTITY_CHECK: 'warn' }),
      (e: unknown) => e instanceof ConfigError && e.problems.length === 1 && e.problems[0]!.startsWith('IDENTITY_CHECK: '),
    );
  });
});
