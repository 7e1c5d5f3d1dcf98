// One form per body (hostile review of 2026-12-02). The gateway reads a body through the form its Content-Type names;
// Mojaloop's quoting-service checks the Content-Type of `quotes` only and reads `/fxQuotes` by its API_TYPE setting
// (src/lib/dto.js isTransformNeeded), so a body carrying both forms was checked in one and acted on in the other: under
// IDENTITY_CHECK=enforce, an ISO part naming the sender passed while the FSPIOP part named another FSP. Such a body is
// now refused (3101) before any check, whatever the identity policy (src/fspiop/iso20022.ts checkBodyForm). And under
// IDENTITY_CHECK=log, an ISO body whose agent is wrapped in an array (read through by the transformer) was forwarded
// with no refusal, count or warning; it is refused (3101) under either policy (src/http/identity.ts).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ALGORITHMS } from '../../src/jws/algorithms.js';
import { signRequest } from '../../src/jws/sign.js';
import { makeApp } from '../helpers/app.js';
import { quoteRequest } from '../helpers/ilp.js';
import { isoHeaders, toIso } from '../helpers/iso20022.js';
import { KEYS, PRIVATE_KEYS } from '../helpers/jws.js';
import { makeTestPki } from '../helpers/pki.js';

const pki = makeTestPki();
const keysDir = mkdtempSync(join(tmpdir(), 'sg-iso-form-'));
writeFileSync(join(keysDir, 'payerfsp.pem'), KEYS.payerfspPublicKeyPem!);
after(() => {
  pki.cleanup();
  rmSync(keysDir, { recursive: true, force: true });
});
const payerCert = pki.client('payerfsp').certPem;
const fspiopCt = (resource: string) => ({
  'content-type': `application/vnd.interoperability.${resource}+json;version=2.0`,
  accept: `application/vnd.interoperability.${resource}+json;version=2.0`,
});

const conversionTerms = (initiatingFsp: string) => ({
  conversionId: '01JBVM14S6SC453EY9XB9GXQB5',
  determiningTransferId: '01JBVM13SQYP507JB1DYBZVCMF',
  initiatingFsp,
  counterPartyFsp: 'fxpfsp',
  amountType: 'SEND',
  sourceAmount: { currency: 'USD', amount: '100' },
  targetAmount: { currency: 'ZMW' },
  expiration: new Date(Date.now() + 60_000).toISOString(),
});
const fxQuote = (initiatingFsp: string) => ({ conversionRequestId: '01JBVM16V0ZQ9JK6VNK1W0W8ZY', conversionTerms: conversionTerms(initiatingFsp) });

async function gateway(identity: 'enforce' | 'log') {
  const a = await makeApp({
    env: {
      INBOUND_UPSTREAM_URL: 'http://upstream.test',
      IN_CA_CERT_PATH: pki.caPath,
      IN_SERVER_CERT_PATH: pki.serverCertPath,
      IN_SERVER_KEY_PATH: pki.serverKeyPath,
      VALIDATE_INBOUND_JWS: 'true',
      JWS_VERIFICATION_KEYS_DIRECTORY: keysDir,
      IDENTITY_CHECK: identity,
    },
  });
  const send = async (path: string, json: unknown, extra: Record<string, string>, destination = 'fxpfsp') => {
    const headers: Record<string, string> = { 'fspiop-source': 'payerfsp', 'fspiop-destination': destination, date: new Date().toUTCString(), ...extra };
    const signed = signRequest({ method: 'POST', url: path, headers, json }, { key: PRIVATE_KEYS.payerfsp!, alg: ALGORITHMS.RS256 });
    const res = await a.request('POST', path, { headers: { ...headers, ...signed.headers }, body: signed.body, peerCertPem: payerCert });
    const body = (await res.json().catch(() => ({}))) as { errorInformation?: { errorCode: string; errorDescription: string } };
    return { status: res.status, code: body.errorInformation?.errorCode, description: body.errorInformation?.errorDescription ?? '' };
  };
  return { a, send };
}

for (const identity of ['enforce', 'log'] as const) {
  test(`IDENTITY_CHECK=${identity}: POST /fxQuotes, ISO 20022 Content-Type, an FSPIOP part naming another FSP beside the ISO part → 3101, nothing forwarded`, async () => {
    const { a, send } = await gateway(identity);
    try {
      const iso = await toIso.postFxQuotes(fxQuote('payerfsp'));
      const r = await send('/fxQuotes', { ...iso, ...fxQuote('victimfsp') }, isoHeaders('fxQuotes'));
      assert.deepEqual([r.status, r.code], [400, '3101']);
      assert.match(r.description, /an FSPIOP member in an ISO 20022 body/);
      assert.equal(a.upstream.requests.length, 0);
    } finally {
      await a.close();
    }
  });

  test(`IDENTITY_CHECK=${identity}: POST /fxQuotes, FSPIOP Content-Type, an ISO part naming another FSP beside the FSPIOP part → 3101, nothing forwarded`, async () => {
    const { a, send } = await gateway(identity);
    try {
      const iso = await toIso.postFxQuotes(fxQuote('victimfsp'));
      const r = await send('/fxQuotes', { ...fxQuote('payerfsp'), ...iso }, fspiopCt('fxQuotes'));
      assert.deepEqual([r.status, r.code], [400, '3101']);
      assert.match(r.description, /an ISO 20022 member in an FSPIOP body/);
      assert.equal(a.upstream.requests.length, 0);
    } finally {
      await a.close();
    }
  });

  test(`IDENTITY_CHECK=${identity}: a pacs.081 whose payer agent (DbtrAgt) is wrapped in an array → 3101, nothing forwarded`, async () => {
    const { a, send } = await gateway(identity);
    try {
      const iso = (await toIso.postQuotes(quoteRequest())) as { CdtTrfTxInf: Record<string, unknown> };
      iso.CdtTrfTxInf.DbtrAgt = [{ FinInstnId: { Othr: { Id: 'victimfsp' } } }];
      const r = await send('/quotes', iso, isoHeaders('quotes'), 'payeefsp');
      assert.deepEqual([r.status, r.code], [400, '3101']);
      assert.equal(a.upstream.requests.length, 0);
    } finally {
      await a.close();
    }
  });
}

test('controls: each form alone, naming the sender, is forwarded', async () => {
  const { a, send } = await gateway('enforce');
  try {
    assert.equal((await send('/fxQuotes', await toIso.postFxQuotes(fxQuote('payerfsp')), isoHeaders('fxQuotes'))).status, 202);
    assert.equal((await send('/fxQuotes', fxQuote('payerfsp'), fspiopCt('fxQuotes'))).status, 202);
    assert.equal((await send('/quotes', await toIso.postQuotes(quoteRequest()), isoHeaders('quotes'), 'payeefsp')).status, 202);
    assert.equal(a.upstream.requests.length, 3);
  } finally {
    await a.close();
  }
});
