// End to end through two real gateways: a payee DFSP-role gateway and a hub-role gateway, with mTLS,
// JWS verification and signing, ILP generation and checks, and the real Redis store. The quote →
// transfer journey of docs/ilp.md: the payee gateway attaches the ILP packet/condition and the
// fulfilment, signs them; the hub gateway verifies the signature, stores the condition and accepts
// the fulfilment once; and the FX journey with an FXP behind the DFSP-role gateway. Mojaloop's SDK checks what arrives at the switch.
import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { loadConfig } from '../../../src/config/load.js';
import { type RunningGateway, startGateway } from '../../../src/gateway.js';
import { ALGORITHMS } from '../../../src/jws/algorithms.js';
import { signRequest } from '../../../src/jws/sign.js';
import type { Issued } from '../../../src/pki/forge-pki.js';
import { fspiopHeaders, type Reply, type Stub, send, startStub, testEnv } from '../../helpers/gateway.js';
import { makeTestPki, type TestPki } from '../../helpers/pki.js';

const require = createRequire(import.meta.url);
const { Jws, Ilp } = require('@mojaloop/sdk-standard-components') as {
  Jws: {
    validator: new (c: {
      validationKeys: Record<string, string>;
      logger: unknown;
    }) => { validate(r: { headers: Record<string, string>; body: unknown }): true };
  };
  Ilp: {
    ilpFactory(
      v: string,
      o: { secret: string; logger: unknown },
    ): {
      calculateFulfil(p: string): string;
      calculateConditionFromFulfil(f: string): string;
      getFxQuoteResponseIlp(req: object, res: object): { condition: string; fulfilment: string };
    };
  };
};
const sdkLogger = {
  isDebugEnabled: false,
  child() {
    return sdkLogger;
  },
  debug() {},
  info() {},
  warn() {},
  error() {},
};

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `sgtest:${randomBytes(4).toString('hex')}:`;
const SECRET = 'e2e-payee-ilp-secret-0123456789abcdef';

let pki: TestPki;
let hub: RunningGateway, payee: RunningGateway;
let switchStub: Stub, backend: Stub;
const jws: Record<string, { pub: string; priv: string }> = {};
const certs: Record<string, Issued> = {};

before(async () => {
  pki = makeTestPki();
  for (const id of ['payerfsp', 'payeefsp', 'hub']) {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    jws[id] = { pub: publicKey.export({ type: 'spki', format: 'pem' }).toString(), priv: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
    certs[id] = pki.client(id);
  }
  const dir = (name: string, ids: string[]) => {
    const d = join(pki.dir, name);
    mkdirSync(d);
    for (const id of ids) writeFileSync(join(d, `${id}.pem`), jws[id]!.pub);
    return d;
  };
  const file = (name: string, content: string) => pki.write(name, content);
  switchStub = await startStub();
  backend = await startStub();
  hub = await startGateway(
    loadConfig(
      testEnv(pki, switchStub.url, {
        GATEWAY_ROLE: 'hub',
        VALIDATE_INBOUND_JWS: 'true',
        JWS_VERIFICATION_KEYS_DIRECTORY: dir('hub-keys', ['payerfsp', 'payeefsp']),
        JWS_SIGN: 'true',
        JWS_SIGNING_KEY_PATH: file('hub-sign.key', jws.hub!.priv),
        ILP_CHECK: 'true',
        REDIS_URL,
        REDIS_KEY_PREFIX: `${PREFIX}hub:`,
      }),
    ),
  );
  payee = await startGateway(
    loadConfig(
      testEnv(pki, backend.url, {
        GATEWAY_ROLE: 'dfsp',
        DFSP_ID: 'payeefsp',
        VALIDATE_INBOUND_JWS: 'true',
        JWS_VERIFICATION_KEYS_DIRECTORY: dir('payee-keys', ['payerfsp', 'hub']),
        JWS_SIGN: 'true',
        JWS_SIGNING_KEY_PATH: file('payee-sign.key', jws.payeefsp!.priv),
        ILP_CHECK: 'true',
        ILP_SECRET: SECRET,
        PEER_ENDPOINT: `https://localhost:${hub.inbound.port}`,
        OUT_CLIENT_CERT_PATH: file('payee-out.pem', certs.payeefsp!.certPem),
        OUT_CLIENT_KEY_PATH: file('payee-out.key', certs.payeefsp!.keyPem),
        OUT_CA_CERT_PATH: pki.caPath,
        REDIS_URL,
        REDIS_KEY_PREFIX: `${PREFIX}payee:`,
      }),
    ),
  );
});

after(async () => {
  await Promise.all([hub?.close(500), payee?.close(500)]);
  await Promise.all([switchStub?.close(), backend?.close()]);
  const r = new Redis(REDIS_URL);
  const keys = await r.keys(`${PREFIX}*`);
  if (keys.length) await r.del(...keys);
  await r.quit();
  pki.cleanup();
});

/** A DFSP signs a message with its JWS key (as its SDK would) and sends it to a gateway's inbound listener with a client certificate. */
function signedSend(
  port: number,
  as: string,
  cert: string,
  method: string,
  path: string,
  resource: string,
  json: unknown,
  extra: Record<string, string> = {},
): Promise<Reply> {
  const headers = { ...fspiopHeaders(resource, as, extra), ...(method === 'PUT' ? { accept: undefined as unknown as string } : {}) };
  const signed = signRequest({ method, url: path, headers, json }, { key: createPrivateKey(jws[as]!.priv), alg: ALGORITHMS.RS256 });
  return send(port, { method, path, headers: { ...headers, ...signed.headers }, body: signed.body, cert: certs[cert]!, ca: pki.ca.certPem });
}
/** The switch relays a message it received (signature intact) to a DFSP gateway with the hub's certificate. */
function relay(port: number, m: { method: string; url: string; headers: Record<string, string | string[] | undefined>; body: Buffer }): Promise<Reply> {
  const h: Record<string, string> = {};
  for (const k of ['accept', 'content-type', 'date', 'fspiop-source', 'fspiop-destination', 'fspiop-signature', 'fspiop-uri', 'fspiop-http-method']) {
    const v = m.headers[k];
    if (typeof v === 'string') h[k] = v;
  }
  return send(port, { method: m.method, path: m.url, headers: h, body: m.body, cert: certs.hub!, ca: pki.ca.certPem });
}
const local = (port: number, method: string, path: string, resource: string, json: unknown) =>
  send(port, {
    tls: false,
    method,
    path,
    headers: {
      ...fspiopHeaders(resource, 'payeefsp', { 'fspiop-destination': 'payerfsp' }),
      ...(method === 'PUT' ? { accept: undefined as unknown as string } : {}),
    },
    body: JSON.stringify(json),
    ca: '',
  });
const plainHeaders = (h: Record<string, string | string[] | undefined>) =>
  Object.fromEntries(Object.entries(h).filter(([, v]) => typeof v === 'string')) as Record<string, string>;

test('quote → transfer through a payee gateway and a hub gateway: ILP attached, signed, verified, fulfilled once', async () => {
  const quoteId = randomUUID(),
    transactionId = randomUUID(),
    transferId = randomUUID();
  const quoteRequest = {
    quoteId,
    transactionId,
    amountType: 'RECEIVE',
    amount: { amount: '100.50', currency: 'USD' },
    payee: { partyIdInfo: { partyIdType: 'MSISDN', partyIdentifier: '27713803912', fspId: 'payeefsp' } },
    payer: { partyIdInfo: { partyIdType: 'MSISDN', partyIdentifier: '44123456789', fspId: 'payerfsp' } },
    transactionType: { scenario: 'TRANSFER', initiator: 'PAYER', initiatorType: 'CONSUMER' },
  };
  // 1. payer → hub gateway → switch; switch → payee gateway → payee backend (signature of the payer intact).
  assert.equal(
    (await signedSend(hub.inbound.port, 'payerfsp', 'payerfsp', 'POST', '/quotes', 'quotes', quoteRequest, { 'fspiop-destination': 'payeefsp' })).status,
    202,
  );
  const atSwitch = switchStub.requests.at(-1)!;
  assert.equal((await relay(payee.inbound.port, atSwitch)).status, 202);
  assert.ok(backend.requests.at(-1)!.body.equals(atSwitch.body), 'forwarded byte for byte');

  // 2. payee backend answers without ILP fields; the payee gateway attaches packet + condition, signs, sends to the hub gateway.
  const quoteResponse = { transferAmount: { amount: '100.50', currency: 'USD' }, expiration: new Date(Date.now() + 60_000).toISOString() };
  const put = await local(payee.outbound.port, 'PUT', `/quotes/${quoteId}`, 'quotes', quoteResponse);
  assert.equal(put.status, 202, put.body.toString());
  const quoteAtSwitch = switchStub.requests.at(-1)!;
  assert.equal(quoteAtSwitch.url, `/quotes/${quoteId}`);
  const answered = JSON.parse(quoteAtSwitch.body.toString()) as { ilpPacket: string; condition: string };
  assert.match(answered.condition, /^[A-Za-z0-9_-]{43}$/);
  // Mojaloop's SDK accepts the payee gateway's signature and derives the same condition from the packet.
  const validator = new Jws.validator({ validationKeys: { payeefsp: jws.payeefsp!.pub }, logger: sdkLogger });
  assert.equal(validator.validate({ headers: plainHeaders(quoteAtSwitch.headers), body: JSON.parse(quoteAtSwitch.body.toString()) }), true);
  const sdkIlp = Ilp.ilpFactory('v1', { secret: SECRET, logger: sdkLogger });
  assert.equal(sdkIlp.calculateConditionFromFulfil(sdkIlp.calculateFulfil(answered.ilpPacket)), answered.condition);

  // 3. payer prepares the transfer at the hub gateway (condition stored), the switch relays it to the payee gateway (condition recognised).
  const transfer = {
    transferId,
    payerFsp: 'payerfsp',
    payeeFsp: 'payeefsp',
    amount: { amount: '100.50', currency: 'USD' },
    ilpPacket: answered.ilpPacket,
    condition: answered.condition,
    expiration: new Date(Date.now() + 30_000).toISOString(),
  };
  assert.equal(
    (await signedSend(hub.inbound.port, 'payerfsp', 'payerfsp', 'POST', '/transfers', 'transfers', transfer, { 'fspiop-destination': 'payeefsp' })).status,
    202,
  );
  assert.equal((await relay(payee.inbound.port, switchStub.requests.at(-1)!)).status, 202);

  // 4. payee backend commits without a fulfilment; the payee gateway derives it, signs, the hub gateway validates it against the stored condition.
  const commit = await local(payee.outbound.port, 'PUT', `/transfers/${transferId}`, 'transfers', {
    transferState: 'COMMITTED',
    completedTimestamp: new Date().toISOString(),
  });
  assert.equal(commit.status, 202, commit.body.toString());
  const fulfilAtSwitch = switchStub.requests.at(-1)!;
  const fulfilled = JSON.parse(fulfilAtSwitch.body.toString()) as { fulfilment: string };
  assert.equal(sdkIlp.calculateConditionFromFulfil(fulfilled.fulfilment), answered.condition);
  assert.equal(validator.validate({ headers: plainHeaders(fulfilAtSwitch.headers), body: fulfilled }), true);

  // 5. the same signed fulfilment again (a replay within the skew window) is refused, and not forwarded: since
  // replay protection (security.md class 9) is on by default and stops it (3105) before the ILP single-use check (3106).
  const n = switchStub.requests.length;
  const again = await send(hub.inbound.port, {
    method: 'PUT',
    path: fulfilAtSwitch.url,
    headers: plainHeaders(fulfilAtSwitch.headers),
    body: fulfilAtSwitch.body,
    cert: certs.payeefsp!,
    ca: pki.ca.certPem,
  });
  assert.equal(again.status, 400);
  assert.equal(again.json().errorInformation.errorCode, '3105');
  assert.match(again.json().errorInformation.errorDescription, /signature already seen/);
  assert.equal(switchStub.requests.length, n);
});

test('FX (FSPIOP 2.0) with an FXP behind the DFSP gateway: condition attached to PUT /fxQuotes, fxTransfer checked, fulfilment released once', async () => {
  const v2 = (r: string) => ({
    accept: `application/vnd.interoperability.${r}+json;version=2.0`,
    'content-type': `application/vnd.interoperability.${r}+json;version=2.0`,
  });
  const conversionRequestId = randomUUID();
  const terms = {
    conversionId: randomUUID(),
    determiningTransferId: randomUUID(),
    initiatingFsp: 'payerfsp',
    counterPartyFsp: 'payeefsp',
    amountType: 'SEND',
    sourceAmount: { currency: 'USD', amount: '300' },
    targetAmount: { currency: 'ZMW', amount: '7950' },
    expiration: new Date(Date.now() + 60_000).toISOString(),
  };
  const fxQuoteRequest = { conversionRequestId, conversionTerms: { ...terms, targetAmount: { currency: 'ZMW' } } };
  // 1. payer → hub gateway → switch → FXP gateway → FXP backend.
  assert.equal(
    (
      await signedSend(hub.inbound.port, 'payerfsp', 'payerfsp', 'POST', '/fxQuotes', 'fxQuotes', fxQuoteRequest, {
        'fspiop-destination': 'payeefsp',
        ...v2('fxQuotes'),
      })
    ).status,
    202,
  );
  assert.equal((await relay(payee.inbound.port, switchStub.requests.at(-1)!)).status, 202);

  // 2. the FXP backend answers without a condition; its gateway attaches the SDK's getFxQuoteResponseIlp condition and signs.
  const fxLocal = (method: string, path: string, resource: string, json: unknown) =>
    send(payee.outbound.port, {
      tls: false,
      method,
      path,
      headers: { ...fspiopHeaders(resource, 'payeefsp', { 'fspiop-destination': 'payerfsp' }), ...v2(resource), accept: undefined as unknown as string },
      body: JSON.stringify(json),
      ca: '',
    });
  const put = await fxLocal('PUT', `/fxQuotes/${conversionRequestId}`, 'fxQuotes', { conversionTerms: terms });
  assert.equal(put.status, 202, put.body.toString());
  const atSwitch = switchStub.requests.at(-1)!;
  const answered = JSON.parse(atSwitch.body.toString()) as { condition: string };
  const sdkIlp = Ilp.ilpFactory('v1', { secret: SECRET, logger: sdkLogger });
  const expected = sdkIlp.getFxQuoteResponseIlp(fxQuoteRequest, { conversionTerms: terms });
  assert.equal(answered.condition, expected.condition);
  const validator = new Jws.validator({ validationKeys: { payeefsp: jws.payeefsp!.pub }, logger: sdkLogger });
  assert.equal(validator.validate({ headers: plainHeaders(atSwitch.headers), body: answered }), true);

  // 3. payer prepares the fxTransfer at the hub (condition stored); the switch relays it to the FXP gateway (condition recognised).
  const fxTransfer = {
    commitRequestId: terms.conversionId,
    determiningTransferId: terms.determiningTransferId,
    initiatingFsp: 'payerfsp',
    counterPartyFsp: 'payeefsp',
    sourceAmount: terms.sourceAmount,
    targetAmount: terms.targetAmount,
    condition: answered.condition,
    expiration: new Date(Date.now() + 30_000).toISOString(),
  };
  assert.equal(
    (
      await signedSend(hub.inbound.port, 'payerfsp', 'payerfsp', 'POST', '/fxTransfers', 'fxTransfers', fxTransfer, {
        'fspiop-destination': 'payeefsp',
        ...v2('fxTransfers'),
      })
    ).status,
    202,
  );
  const n = backend.requests.length;
  assert.equal((await relay(payee.inbound.port, switchStub.requests.at(-1)!)).status, 202);
  assert.equal(backend.requests.length, n + 1);

  // A prepare naming a different target amount is refused by the FXP gateway (3100) and never reaches the FXP.
  const forged = await signedSend(
    payee.inbound.port,
    'payerfsp',
    'hub',
    'POST',
    '/fxTransfers',
    'fxTransfers',
    { ...fxTransfer, targetAmount: { currency: 'ZMW', amount: '9000' } },
    { 'fspiop-destination': 'payeefsp', ...v2('fxTransfers') },
  );
  assert.equal(forged.json().errorInformation.errorCode, '3100');
  assert.match(forged.json().errorInformation.errorDescription, /targetAmount differs from the conversion terms/);
  assert.equal(backend.requests.length, n + 1);

  // 4. the FXP accepts (RESERVED) without a fulfilment; its gateway releases it, the hub validates it against the stored condition.
  const accept = await fxLocal('PUT', `/fxTransfers/${terms.conversionId}`, 'fxTransfers', {
    conversionState: 'RESERVED',
    completedTimestamp: new Date().toISOString(),
  });
  assert.equal(accept.status, 202, accept.body.toString());
  const fulfilled = JSON.parse(switchStub.requests.at(-1)!.body.toString()) as { fulfilment: string };
  assert.equal(fulfilled.fulfilment, expected.fulfilment);
  assert.equal(sdkIlp.calculateConditionFromFulfil(fulfilled.fulfilment), answered.condition);
});

test('a tampered quote response is refused by the hub gateway with 3105 and never reaches the switch', async () => {
  const n = switchStub.requests.length;
  const quote = { quoteId: randomUUID(), transactionId: randomUUID(), amountType: 'SEND', amount: { amount: '1', currency: 'USD' } };
  const headers = fspiopHeaders('quotes', 'payerfsp', { 'fspiop-destination': 'payeefsp' });
  const signed = signRequest({ method: 'POST', url: '/quotes', headers, json: quote }, { key: createPrivateKey(jws.payerfsp!.priv), alg: ALGORITHMS.RS256 });
  const tampered = Buffer.from(signed.body.toString().replace('"1"', '"9"'));
  const r = await send(hub.inbound.port, {
    method: 'POST',
    path: '/quotes',
    headers: { ...headers, ...signed.headers },
    body: tampered,
    cert: certs.payerfsp!,
    ca: pki.ca.certPem,
  });
  assert.equal(r.status, 400);
  assert.equal(r.json().errorInformation.errorCode, '3105');
  assert.equal(switchStub.requests.length, n);
});

test('a DFSP signing as another DFSP is refused by the certificate binding (3100)', async () => {
  const r = await signedSend(hub.inbound.port, 'payerfsp', 'payeefsp', 'POST', '/quotes', 'quotes', { quoteId: randomUUID() });
  assert.equal(r.status, 400);
  assert.equal(r.json().errorInformation.errorCode, '3100');
});
