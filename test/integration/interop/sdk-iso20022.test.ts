// ISO 20022 mode with Mojaloop's own SDK (@mojaloop/sdk-standard-components 19.19, apiType 'iso20022') on both
// sides of a hub gateway, over mTLS, with JWS verification, ILP checks and quote binding on: the SDK transforms
// each FSPIOP message to ISO 20022, signs the ISO body and sends it; the gateway verifies the signature over the
// raw ISO JSON, runs its checks on the ISO body and forwards exactly what was signed.

import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { JsonObject } from '../../../src/ilp/transaction.js';
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import { quoteRequest, quoteResponse, SECRET } from '../../helpers/ilp.js';
import { toIso } from '../../helpers/iso20022.js';

const require = createRequire(import.meta.url);
interface SdkRequests {
  putQuotes(id: string, body: object, dest: string, headers: object, ctx: object): Promise<unknown>;
  postTransfers(body: object, dest: string, headers: object, ctx: object): Promise<unknown>;
  putTransfers(id: string, body: object, dest: string, headers?: object): Promise<unknown>;
}
const sdkLib = require('@mojaloop/sdk-standard-components') as {
  MojaloopRequests: new (o: object) => SdkRequests;
  Ilp: { ilpFactory: (v: string, o: object) => { getQuoteResponseIlp(q: object, r: object): { fulfilment: string; condition: string; ilpPacket: string } } };
};
const logger = {
  child: () => logger,
  push: () => logger,
  debug() {},
  info() {},
  warn() {},
  error() {},
  verbose() {},
  trace() {},
  fatal() {},
  log() {},
  isDebugEnabled: false,
  isVerboseEnabled: false,
  isInfoEnabled: false,
  isWarnEnabled: false,
  isErrorEnabled: false,
};
/** The FSPIOP error code of a refused SDK request (the SDK rethrows axios' error for a non-2xx answer). */
const errorCode = (e: unknown): string | undefined => {
  const x = e as {
    response?: { data?: { errorInformation?: { errorCode?: string } } };
    getData?: () => { res?: { data?: { errorInformation?: { errorCode?: string } } } };
  };
  return x.response?.data?.errorInformation?.errorCode ?? x.getData?.().res?.data?.errorInformation?.errorCode;
};
/** Mojaloop's ISO 20022 deployments speak version 2.0 (the SDK's default is 1.0 for every resource). */
const V2 = { contentVersion: '2.0', acceptVersion: '2' };
const ulid = () => `01J${randomBytes(12).toString('hex').toUpperCase().slice(0, 23)}`;

describe('ISO 20022 with the SDK (19.19, apiType iso20022) through a hub gateway', () => {
  let t: TestGateway;
  let dir: string;
  const jws: Record<string, { pub: string; priv: string }> = {};
  const sdk: Record<string, SdkRequests> = {};

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sg-iso-'));
    const keys = join(dir, 'keys');
    mkdirSync(keys);
    for (const id of ['payerfsp', 'payeefsp']) {
      const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      jws[id] = { pub: publicKey.export({ type: 'spki', format: 'pem' }) as string, priv: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
      writeFileSync(join(keys, `${id}.pem`), jws[id]!.pub);
    }
    t = await startTestGateway({
      env: { GATEWAY_ROLE: 'hub', ILP_CHECK: 'true', ILP_VERSION: '4', VALIDATE_INBOUND_JWS: 'true', JWS_VERIFICATION_KEYS_DIRECTORY: keys, STORE: 'memory' },
    });
    for (const id of ['payerfsp', 'payeefsp']) {
      const cert = t.cert(id);
      sdk[id] = new sdkLib.MojaloopRequests({
        logger,
        dfspId: id,
        apiType: 'iso20022',
        peerEndpoint: `127.0.0.1:${t.gw.inbound.port}`,
        tls: {
          enabled: true,
          mutualTLS: { enabled: true },
          creds: { ca: readFileSync(t.pki.caPath, 'utf8'), cert: cert.certPem, key: cert.keyPem, servername: 'localhost' },
        },
        jwsSign: true,
        jwsSigningKey: jws[id]!.priv,
        retryConfig: { retries: 0 },
        resourceVersions: { quotes: V2, transfers: V2 },
      });
    }
  });
  after(async () => {
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The quote request as the payee's SDK received it (ISO pacs.081), and the ILP it answers with. */
  async function quote(amount: string) {
    const qr = quoteRequest({ quoteId: ulid(), transactionId: ulid(), amount: { amount, currency: 'USD' }, amountType: 'SEND' });
    const resp = quoteResponse(Date.now(), { transferAmount: { amount, currency: 'USD' }, payeeReceiveAmount: { amount, currency: 'USD' } });
    delete resp.payeeFspFee;
    const ilp = sdkLib.Ilp.ilpFactory('v4', { secret: SECRET, logger }).getQuoteResponseIlp(qr, resp);
    const isoPostQuote = await toIso.postQuotes(qr);
    return { qr, resp, ilp, isoPostQuote };
  }

  const last = () => t.stub.requests.at(-1)!;

  test('quote answer, transfer and fulfilment of 19.99 USD, each signed by the SDK over its ISO 20022 body, pass every check and reach the switch byte for byte', async () => {
    const q = await quote('19.99');
    await sdk.payeefsp!.putQuotes(
      q.qr.quoteId as string,
      { ...q.resp, ilpPacket: q.ilp.ilpPacket, condition: q.ilp.condition },
      'payerfsp',
      {},
      { isoPostQuote: q.isoPostQuote },
    );
    const pacs082 = last();
    assert.match(String(pacs082.headers['content-type']), /^application\/vnd\.interoperability\.iso20022\.quotes\+json;version=2\.0$/);
    const isoPostQuoteResponse = JSON.parse(pacs082.body.toString('utf8')) as JsonObject;
    assert.equal(
      (isoPostQuoteResponse.CdtTrfTxInf as JsonObject & { VrfctnOfTerms: { IlpV4PrepPacket: string } }).VrfctnOfTerms.IlpV4PrepPacket,
      q.ilp.ilpPacket,
    );

    const transferId = ulid();
    const prepare = {
      transferId,
      payerFsp: 'payerfsp',
      payeeFsp: 'payeefsp',
      amount: q.resp.transferAmount,
      ilpPacket: q.ilp.ilpPacket,
      condition: q.ilp.condition,
      expiration: new Date(Date.now() + 30_000).toISOString(),
    };
    await sdk.payerfsp!.postTransfers(prepare, 'payeefsp', {}, { isoPostQuoteResponse });
    const pacs008 = last();
    assert.equal(pacs008.url, '/transfers');
    assert.ok(pacs008.headers['fspiop-signature'], 'the SDK signature is forwarded');
    assert.equal(((JSON.parse(pacs008.body.toString('utf8')) as JsonObject).CdtTrfTxInf as JsonObject & { PmtId: { TxId: string } }).PmtId.TxId, transferId);

    await sdk.payeefsp!.putTransfers(
      transferId,
      { fulfilment: q.ilp.fulfilment, transferState: 'COMMITTED', completedTimestamp: new Date().toISOString() },
      'payerfsp',
    );
    const pacs002 = last();
    assert.equal(pacs002.url, `/transfers/${transferId}`);
    assert.equal(((JSON.parse(pacs002.body.toString('utf8')) as JsonObject).TxInfAndSts as JsonObject).ExctnConf, q.ilp.fulfilment);

    // The same fulfilment again: spent (3106), not forwarded.
    const before = t.stub.requests.length;
    await assert.rejects(
      sdk.payeefsp!.putTransfers(
        transferId,
        { fulfilment: q.ilp.fulfilment, transferState: 'COMMITTED', completedTimestamp: new Date().toISOString() },
        'payerfsp',
      ),
      (e) => errorCode(e) === '3106',
    );
    assert.equal(t.stub.requests.length, before);
  });

  test('a pacs.008 whose packet the payee never issued through the hub, or with a changed amount, is refused and never forwarded', async () => {
    const q = await quote('4.35');
    await sdk.payeefsp!.putQuotes(
      q.qr.quoteId as string,
      { ...q.resp, ilpPacket: q.ilp.ilpPacket, condition: q.ilp.condition },
      'payerfsp',
      {},
      { isoPostQuote: q.isoPostQuote },
    );
    const isoPostQuoteResponse = JSON.parse(last().body.toString('utf8')) as JsonObject;
    const before = t.stub.requests.length;
    const prepare = {
      transferId: ulid(),
      payerFsp: 'payerfsp',
      payeeFsp: 'payeefsp',
      amount: { amount: '4.36', currency: 'USD' },
      ilpPacket: q.ilp.ilpPacket,
      condition: q.ilp.condition,
      expiration: new Date(Date.now() + 30_000).toISOString(),
    };
    await assert.rejects(sdk.payerfsp!.postTransfers(prepare, 'payeefsp', {}, { isoPostQuoteResponse }), (e) => errorCode(e) === '3100');
    // A quote the payee never answered through the hub: 3205.
    const other = await quote('4.35');
    const unbound = { ...prepare, amount: other.resp.transferAmount, ilpPacket: other.ilp.ilpPacket, condition: other.ilp.condition };
    await assert.rejects(sdk.payerfsp!.postTransfers(unbound, 'payeefsp', {}, { isoPostQuoteResponse }), (e) => errorCode(e) === '3205');
    assert.equal(t.stub.requests.length, before);
  });
});
