// ISO 20022 mode through the real pipeline (hub and DFSP roles), with Mojaloop's transformer and SDK as the
// oracle: the SDK (19.19, ILP v4) issues the packet, the transformer writes the ISO 20022 bodies an SDK in ISO
// mode sends, and the gateway must apply every FSPIOP check to them, unchanged (docs/ilp.md "ISO 20022 mode").

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { fspiopView } from '../../../src/fspiop/iso20022.js';
import { createKeyring } from '../../../src/ilp/keyring.js';
import { buildIlp, decodePacket } from '../../../src/ilp/packet.js';
import type { JsonObject } from '../../../src/ilp/transaction.js';
import { transactionObjectOf } from '../../../src/ilp/transaction.js';
import { createMemoryStore } from '../../../src/store/memory.js';
import { fulfilBody, ilpApp, quoteRequest, quoteResponse, recorder, SECRET, testConfig } from '../../helpers/ilp.js';
import { fromIso, isoHeaders, toIso } from '../../helpers/iso20022.js';

const require = createRequire(import.meta.url);
interface SdkIlp {
  getQuoteResponseIlp(q: object, r: object): { fulfilment: string; condition: string; ilpPacket: string };
  validateFulfil(f: string, c: string): boolean;
}
const { Ilp } = require('@mojaloop/sdk-standard-components') as { Ilp: { ilpFactory: (v: string, o: object) => SdkIlp } };
const logger = { child: () => logger, push: () => logger, debug() {}, info() {}, warn() {}, error() {}, verbose() {}, isDebugEnabled: false };
const sdk = Ilp.ilpFactory('v4', { secret: SECRET, logger });

const ulid = () =>
  `01J${randomBytes(12)
    .toString('hex')
    .toUpperCase()
    .replace(/[ILOU]/g, 'A')
    .slice(0, 23)}`;

/** A quote answered in ISO mode by an SDK payee: the ISO pacs.081/082, the FSPIOP originals and the SDK's ILP. */
async function isoQuote(amount = '19.99', now = Date.now()) {
  const qr = quoteRequest({ quoteId: ulid(), transactionId: ulid(), amount: { amount, currency: 'USD' }, amountType: 'SEND' });
  const resp = quoteResponse(now, { transferAmount: { amount, currency: 'USD' }, payeeReceiveAmount: { amount, currency: 'USD' }, payeeFspFee: undefined });
  const ilp = sdk.getQuoteResponseIlp(qr, resp);
  const isoPost = await toIso.postQuotes(qr);
  const isoPut = await toIso.putQuotes(qr.quoteId as string, { ...resp, ilpPacket: ilp.ilpPacket, condition: ilp.condition }, isoPost);
  return { qr, resp, ilp, isoPost, isoPut };
}

/** The pacs.008 an SDK in ISO mode sends for a quote (expiring in 30 s). */
async function isoPrepare(q: Awaited<ReturnType<typeof isoQuote>>, now = Date.now(), over: JsonObject = {}) {
  const transferId = ulid();
  const prepare = {
    transferId,
    payerFsp: 'payerfsp',
    payeeFsp: 'payeefsp',
    amount: q.resp.transferAmount,
    ilpPacket: q.ilp.ilpPacket,
    condition: q.ilp.condition,
    expiration: new Date(now + 30_000).toISOString(),
    ...over,
  };
  return { transferId, body: await toIso.postTransfers(prepare as JsonObject, q.isoPut) };
}

function hub(env: Record<string, string> = {}) {
  const store = createMemoryStore({ maxEntries: 1000 });
  const telemetry = recorder();
  const { call, close } = ilpApp({ config: testConfig({ GATEWAY_ROLE: 'hub', ILP_QUOTE_BINDING: 'enforce', ...env }), store, telemetry });
  const iso = (method: string, path: string, body: unknown, headers: Record<string, string> = {}) =>
    call(method, path, body, { ...isoHeaders(path.split('/')[1]!), ...(method === 'PUT' ? { 'fspiop-source': 'payeefsp' } : {}), ...headers });
  /** A quote whose pacs.082 the payee sent through this hub (quote binding is on). */
  const quoted = async (amount?: string) => {
    const q = await isoQuote(amount);
    const r = await iso('PUT', `/quotes/${q.qr.quoteId}`, q.isoPut);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    telemetry.ilpEvents.length = 0;
    return q;
  };
  return { call, iso, quoted, telemetry, store, close };
}

const set = (o: JsonObject, path: string, v: unknown): JsonObject => {
  const copy = structuredClone(o);
  const keys = path.split('.');
  let at = copy as Record<string, unknown>;
  for (const k of keys.slice(0, -1)) at = at[k] as Record<string, unknown>;
  at[keys.at(-1)!] = v;
  return copy;
};

describe('ISO 20022: the gateway reads a body as Mojaloop does', () => {
  test('pacs.008, pacs.002, pacs.081, pacs.082: every mapped member equals the transformer’s ISO → FSPIOP reading (60 random quotes)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 99_999_999 }),
        fc.constantFrom('MSISDN', 'ACCOUNT_ID', 'EMAIL'),
        fc.constantFrom('COMMITTED', 'RESERVED', 'ABORTED'),
        async (cents, idType, state) => {
          const amount = (cents / 100).toFixed(2);
          const q = await isoQuote(amount);
          q.qr.payee = { partyIdInfo: { partyIdType: idType, partyIdentifier: `${cents}`, fspId: 'payeefsp' } };
          const isoPost = await toIso.postQuotes(q.qr);
          const oracleQuote = await fromIso.postQuotes(isoPost);
          const ours = fspiopView('iso20022', 'POST /quotes', isoPost);
          assert.equal(ours.quoteId, oracleQuote.quoteId);
          assert.equal(ours.transactionId, oracleQuote.transactionId);
          assert.deepEqual(ours.amount, oracleQuote.amount);
          assert.deepEqual((ours.payee as JsonObject).partyIdInfo, (oracleQuote.payee as JsonObject).partyIdInfo);
          assert.deepEqual((ours.payer as JsonObject).partyIdInfo, (oracleQuote.payer as JsonObject).partyIdInfo);

          const oraclePut = await fromIso.putQuotes(q.qr.quoteId as string, q.isoPut);
          const put = fspiopView('iso20022', 'PUT /quotes/{ID}', q.isoPut);
          for (const k of ['expiration', 'ilpPacket', 'transferAmount', 'payeeReceiveAmount']) assert.deepEqual(put[k], oraclePut[k], k);
          assert.equal(decodePacket(put.ilpPacket, '4').condition?.toString('base64url'), oraclePut.condition);

          const p = await isoPrepare(q);
          const oracle = await fromIso.postTransfers(p.body);
          const view = fspiopView('iso20022', 'POST /transfers', p.body);
          for (const k of ['transferId', 'payerFsp', 'payeeFsp', 'amount', 'ilpPacket', 'expiration']) assert.deepEqual(view[k], oracle[k], k);

          const fulfil = await toIso.putTransfers(p.transferId, {
            fulfilment: q.ilp.fulfilment,
            transferState: state,
            completedTimestamp: new Date().toISOString(),
          });
          const oracleFulfil = await fromIso.putTransfers(p.transferId, fulfil);
          const fv = fspiopView('iso20022', 'PUT /transfers/{ID}', fulfil);
          for (const k of ['fulfilment', 'transferState', 'completedTimestamp']) assert.deepEqual(fv[k], oracleFulfil[k], k);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('ISO 20022, hub role: every FSPIOP check applies', () => {
  test('a pacs.008 prepared from an SDK quote passes; the pacs.002 fulfilment passes once; a second one is 3106', async () => {
    const h = hub();
    const q = await h.quoted();
    const p = await isoPrepare(q);
    const r = await h.iso('POST', '/transfers', p.body);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.upstream, true);
    const f = await toIso.putTransfers(p.transferId, {
      fulfilment: q.ilp.fulfilment,
      transferState: 'COMMITTED',
      completedTimestamp: new Date().toISOString(),
    });
    assert.equal((await h.iso('PUT', `/transfers/${p.transferId}`, f)).status, 200);
    const again = await h.iso('PUT', `/transfers/${p.transferId}`, f);
    assert.equal(again.code, '3106');
    assert.deepEqual(
      h.telemetry.ilpEvents.map((e) => `${e.check}:${e.outcome}`),
      ['prepare:ok', 'fulfil:ok', 'fulfil:failed'],
    );
    await h.close();
  });

  test('both API types side by side: an ISO prepare is fulfilled by an FSPIOP PUT and vice versa', async () => {
    // FSPIOP peers here speak ILP v4 too (ISO 20022 is v4 whatever ILP_VERSION says).
    const h = hub({ ILP_VERSION: '4' });
    const q = await h.quoted('4.35');
    const p = await isoPrepare(q);
    assert.equal((await h.iso('POST', '/transfers', p.body)).status, 200);
    assert.equal((await h.call('PUT', `/transfers/${p.transferId}`, fulfilBody(q.ilp.fulfilment), { 'fspiop-source': 'payeefsp' })).status, 200);

    const q2 = await h.quoted('2.55');
    const fspiop = { ...(await fromIso.postTransfers((await isoPrepare(q2)).body)) };
    delete fspiop.condition;
    fspiop.condition = q2.ilp.condition;
    assert.equal((await h.call('POST', '/transfers', fspiop)).status, 200);
    const f = await toIso.putTransfers(String(fspiop.transferId), { fulfilment: q2.ilp.fulfilment, transferState: 'COMMITTED' });
    assert.equal((await h.iso('PUT', `/transfers/${fspiop.transferId}`, f)).status, 200);
    await h.close();
  });

  const tampered: [string, (b: JsonObject) => JsonObject, string, string][] = [
    ['amount raised', (b) => set(b, 'CdtTrfTxInf.IntrBkSttlmAmt.ActiveCurrencyAndAmount', '20.99'), '3100', 'GW_ILP_PACKET_MISMATCH'],
    ['currency changed', (b) => set(b, 'CdtTrfTxInf.IntrBkSttlmAmt.Ccy', 'EUR'), '3100', 'GW_ILP_PACKET_MISMATCH'],
    ['payee agent differs from FSPIOP-Destination', (b) => set(b, 'CdtTrfTxInf.CdtrAgt.FinInstnId.Othr.Id', 'otherfsp'), '3100', 'GW_ILP_PACKET_MISMATCH'],
    ['payer agent differs from FSPIOP-Source', (b) => set(b, 'CdtTrfTxInf.DbtrAgt.FinInstnId.Othr.Id', 'victimfsp'), '3100', 'GW_ILP_PACKET_MISMATCH'],
    ['expiry in the past', (b) => set(b, 'GrpHdr.PmtInstrXpryDtTm', new Date(Date.now() - 1000).toISOString()), '3100', 'GW_ILP_EXPIRATION_INVALID'],
    ['expiry missing', (b) => set(b, 'GrpHdr.PmtInstrXpryDtTm', undefined), '3102', 'GW_BODY_MEMBER_MISSING'],
    ['expiry not a DateTime', (b) => set(b, 'GrpHdr.PmtInstrXpryDtTm', 'tomorrow'), '3100', 'GW_ILP_EXPIRATION_INVALID'],
    ['transfer id missing', (b) => set(b, 'CdtTrfTxInf.PmtId.TxId', undefined), '3102', 'GW_BODY_MEMBER_MISSING'],
    ['packet missing', (b) => set(b, 'CdtTrfTxInf.VrfctnOfTerms.IlpV4PrepPacket', undefined), '3102', 'GW_BODY_MEMBER_MISSING'],
    ['packet is garbage', (b) => set(b, 'CdtTrfTxInf.VrfctnOfTerms.IlpV4PrepPacket', 'AAAA'), '3100', 'GW_ILP_PACKET_MALFORMED'],
    ['packet is a member of the wrong type (the path runs through a scalar)', (b) => set(b, 'CdtTrfTxInf.VrfctnOfTerms', 'x'), '3101', 'GW_BODY_MALFORMED'],
  ];
  for (const [name, mutate, code, gw] of tampered) {
    test(`pacs.008 ${name} → ${code} ${gw}, nothing stored`, async () => {
      const h = hub();
      const q = await h.quoted();
      const p = await isoPrepare(q);
      const r = await h.iso('POST', '/transfers', mutate(p.body), { 'fspiop-destination': 'payeefsp' });
      assert.equal(r.code, code, JSON.stringify(r.json));
      // A member behind a non-object is refused by the identity stage, before ILP, under either identity policy
      // (src/http/identity.ts); every other tampering by the ILP check.
      assert.deepEqual(h.telemetry.ilpEvents, gw === 'GW_BODY_MALFORMED' ? [] : [{ check: 'prepare', outcome: 'failed', errorType: gw }]);
      // Nothing stored: the honest prepare under the same id still passes.
      assert.equal((await h.iso('POST', '/transfers', p.body)).status, 200);
      await h.close();
    });
  }

  test('a pacs.008 carrying an ILP v1 packet is refused (ISO 20022 mode is ILP v4)', async () => {
    const h = hub();
    const q = await h.quoted();
    const v1 = buildIlp('1', transactionObjectOf(q.qr, q.resp), createKeyring([SECRET]));
    const p = await isoPrepare(q);
    const r = await h.iso('POST', '/transfers', set(p.body, 'CdtTrfTxInf.VrfctnOfTerms.IlpV4PrepPacket', v1.ilpPacket));
    assert.equal(r.code, '3100');
    assert.deepEqual(h.telemetry.ilpEvents, [{ check: 'prepare', outcome: 'failed', errorType: 'GW_ILP_PACKET_MALFORMED' }]);
    await h.close();
  });

  test('pacs.002: from another FSP 3100 (not consumed), no ExctnConf with an unknown TxSts 3102, unknown transfer 3208, wrong fulfilment 3100 (the transfer is then spent, as the switch aborts it), after expiry 3303', async () => {
    let now = Date.now();
    const store = createMemoryStore({ maxEntries: 1000, now: () => now });
    const telemetry = recorder();
    const app = ilpApp({ config: testConfig({ GATEWAY_ROLE: 'hub' }), store, telemetry, now: () => now });
    const iso = (path: string, body: unknown, source = 'payeefsp') => app.call('PUT', path, body, { ...isoHeaders('transfers'), 'fspiop-source': source });
    const q = await isoQuote();
    const p = await isoPrepare(q);
    assert.equal((await app.call('POST', '/transfers', p.body, isoHeaders('transfers'))).status, 200);
    const put = (fulfilment: string | undefined, TxSts = 'COMM') =>
      set(set({ TxInfAndSts: { PrcgDt: { DtTm: new Date().toISOString() } } }, 'TxInfAndSts.TxSts', TxSts), 'TxInfAndSts.ExctnConf', fulfilment);
    assert.equal((await iso(`/transfers/${p.transferId}`, put(q.ilp.fulfilment), 'payerfsp')).code, '3100');
    assert.equal((await iso(`/transfers/${p.transferId}`, put(undefined, 'XXXX'))).code, '3102');
    assert.equal((await iso(`/transfers/${ulid()}`, put(q.ilp.fulfilment))).code, '3208');
    // Nothing above consumed the transfer: the payee's own fulfilment passes.
    assert.equal((await iso(`/transfers/${p.transferId}`, put(q.ilp.fulfilment))).status, 200);

    const q2 = await isoQuote('1.10');
    const p2 = await isoPrepare(q2);
    assert.equal((await app.call('POST', '/transfers', p2.body, isoHeaders('transfers'))).status, 200);
    assert.equal((await iso(`/transfers/${p2.transferId}`, put(randomBytes(32).toString('base64url')))).code, '3100');
    assert.equal((await iso(`/transfers/${p2.transferId}`, put(q2.ilp.fulfilment))).code, '3106');

    const q3 = await isoQuote('0.01');
    const p3 = await isoPrepare(q3);
    assert.equal((await app.call('POST', '/transfers', p3.body, isoHeaders('transfers'))).status, 200);
    now += 31_000;
    assert.equal((await iso(`/transfers/${p3.transferId}`, put(q3.ilp.fulfilment))).code, '3303');
    assert.deepEqual(
      telemetry.ilpEvents.map((e) => e.errorType ?? e.outcome),
      [
        'ok',
        'GW_ILP_NOT_PAYEE',
        'GW_ILP_FULFILMENT_MISSING',
        'GW_ILP_TRANSFER_UNKNOWN',
        'ok',
        'ok',
        'GW_ILP_FULFILMENT_INVALID',
        'GW_ILP_FULFILMENT_REUSED',
        'ok',
        'GW_ILP_TRANSFER_EXPIRED',
      ],
    );
    await app.close();
  });

  test('pacs.002 ABOR without a fulfilment is an abort: from the payee only; an error pacs.002 likewise', async () => {
    const h = hub();
    const q = await h.quoted();
    const p = await isoPrepare(q);
    assert.equal((await h.iso('POST', '/transfers', p.body)).status, 200);
    const abort = await toIso.putTransfers(p.transferId, { transferState: 'ABORTED', completedTimestamp: new Date().toISOString() });
    assert.equal((await h.iso('PUT', `/transfers/${p.transferId}`, abort, { 'fspiop-source': 'payerfsp' })).code, '3100');
    assert.equal((await h.iso('PUT', `/transfers/${p.transferId}`, abort)).status, 200);
    const err = await toIso.putTransfersError(p.transferId, { errorInformation: { errorCode: '5100', errorDescription: 'payee rejected' } });
    assert.equal((await h.iso('PUT', `/transfers/${p.transferId}/error`, err, { 'fspiop-source': 'payerfsp' })).code, '3100');
    assert.equal((await h.iso('PUT', `/transfers/${p.transferId}/error`, err)).status, 200);
    assert.deepEqual(
      h.telemetry.ilpEvents.map((e) => `${e.check}:${e.errorType ?? e.outcome}`),
      ['prepare:ok', 'abort:GW_ILP_NOT_PAYEE', 'abort:ok', 'abort:GW_ILP_NOT_PAYEE', 'abort:ok'],
    );
    await h.close();
  });

  test('FX: pacs.009 prepare and pacs.002 fulfilment; a tampered condition and a reused fulfilment are refused', async () => {
    const h = hub();
    const fulfilment = randomBytes(32);
    const condition = createHash('sha256').update(fulfilment).digest('base64url');
    const commitRequestId = ulid();
    const fx = {
      commitRequestId,
      determiningTransferId: ulid(),
      initiatingFsp: 'payerfsp',
      counterPartyFsp: 'fxpfsp',
      sourceAmount: { currency: 'USD', amount: '100' },
      targetAmount: { currency: 'XOF', amount: '60000' },
      condition,
      expiration: new Date(Date.now() + 30_000).toISOString(),
    };
    const conversionRequestId = ulid();
    const pacs092 = await toIso.putFxQuotes(conversionRequestId, {
      condition,
      conversionTerms: {
        conversionId: commitRequestId,
        determiningTransferId: fx.determiningTransferId,
        initiatingFsp: 'payerfsp',
        counterPartyFsp: 'fxpfsp',
        amountType: 'SEND',
        sourceAmount: fx.sourceAmount,
        targetAmount: fx.targetAmount,
        expiration: fx.expiration,
      },
    });
    // Binding: before the FXP answered the FX quote through this hub, the pacs.009 is refused (3205).
    const pacs009 = await toIso.postFxTransfers(fx);
    assert.equal((await h.iso('POST', '/fxTransfers', pacs009, { 'fspiop-destination': 'fxpfsp' })).code, '3205');
    assert.equal((await h.iso('PUT', `/fxQuotes/${conversionRequestId}`, pacs092, { 'fspiop-source': 'fxpfsp' })).status, 200);
    // Another condition than the FXP issued → 3100.
    const other = createHash('sha256').update(randomBytes(32)).digest('base64url');
    assert.equal(
      (await h.iso('POST', '/fxTransfers', set(pacs009, 'CdtTrfTxInf.VrfctnOfTerms.Sh256Sgntr', other), { 'fspiop-destination': 'fxpfsp' })).code,
      '3100',
    );
    const bad = await h.iso('POST', '/fxTransfers', set(pacs009, 'CdtTrfTxInf.VrfctnOfTerms.Sh256Sgntr', 'short'), { 'fspiop-destination': 'fxpfsp' });
    assert.equal(bad.code, '3100');
    // The FXP's condition at a target amount of the payer's making → 3100 (the terms are bound, not only the condition).
    const raised = await h.iso('POST', '/fxTransfers', set(pacs009, 'CdtTrfTxInf.IntrBkSttlmAmt.ActiveCurrencyAndAmount', '9999999'), {
      'fspiop-destination': 'fxpfsp',
    });
    assert.equal(raised.code, '3100');
    assert.match(String((raised.json.errorInformation as { errorDescription?: string } | undefined)?.errorDescription), /targetAmount/);
    assert.equal((await h.iso('POST', '/fxTransfers', pacs009, { 'fspiop-destination': 'fxpfsp' })).status, 200);
    const put = await toIso.putFxTransfers(commitRequestId, {
      fulfilment: fulfilment.toString('base64url'),
      conversionState: 'RESERVED',
      completedTimestamp: new Date().toISOString(),
    });
    assert.equal((await h.iso('PUT', `/fxTransfers/${commitRequestId}`, put, { 'fspiop-source': 'fxpfsp' })).status, 200);
    assert.equal((await h.iso('PUT', `/fxTransfers/${commitRequestId}`, put, { 'fspiop-source': 'fxpfsp' })).code, '3106');
    await h.close();
  });
});

describe('ISO 20022: content types', () => {
  test('ISO 20022 on a resource Mojaloop keeps FSPIOP-only → 3101; ISO 20022 under version 1.0 (the SDK default) is read as ISO 20022; an unsupported version → 3001/406', async () => {
    const h = hub();
    const q = await h.quoted();
    const p = await isoPrepare(q);
    const bulk = await h.call('POST', '/bulkTransfers', p.body, isoHeaders('bulkTransfers'));
    assert.equal(bulk.code, '3101');
    const tr = await h.call('POST', '/transactionRequests', {}, isoHeaders('transactionRequests'));
    assert.equal(tr.code, '3101');
    const v3 = 'application/vnd.interoperability.iso20022.transfers+json;version=3.0';
    const unsupported = await h.call('POST', '/transfers', p.body, { 'content-type': v3, accept: v3 });
    assert.equal(unsupported.status, 406);
    assert.equal(unsupported.code, '3001');
    assert.deepEqual(h.telemetry.ilpEvents, []);
    const v10 = 'application/vnd.interoperability.iso20022.transfers+json;version=1.0';
    const sdkDefault = await h.call('POST', '/transfers', p.body, { 'content-type': v10, accept: v10 });
    assert.equal(sdkDefault.status, 200, JSON.stringify(sdkDefault.json));
    assert.deepEqual(h.telemetry.ilpEvents, [{ check: 'prepare', outcome: 'ok' }]);
    await h.close();
  });

  test('an ISO body sent as FSPIOP (or the reverse) is refused by the checks, never passed unchecked', async () => {
    const h = hub();
    const q = await h.quoted();
    const p = await isoPrepare(q);
    // A body of the other form than its Content-Type names is refused before any check reads it: 3101
    // (src/fspiop/iso20022.ts checkBodyForm; before, its members were read as absent: 3102).
    assert.equal((await h.call('POST', '/transfers', p.body)).code, '3101');
    const fspiop = await fromIso.postTransfers(p.body);
    assert.equal((await h.iso('POST', '/transfers', fspiop)).code, '3101');
    await h.close();
  });
});

describe('ISO 20022, DFSP (payee) role', () => {
  test('pacs.081 in, pacs.082 out completed with the packet, pacs.008 in checked, pacs.002 out completed with the fulfilment', async () => {
    const store = createMemoryStore({ maxEntries: 1000 });
    const config = testConfig({ GATEWAY_ROLE: 'dfsp' });
    const inbound = ilpApp({ config, store });
    const outbound = ilpApp({ config, store, direction: 'outbound' });
    const qr = quoteRequest({ quoteId: ulid(), transactionId: ulid(), amount: { amount: '19.99', currency: 'USD' }, amountType: 'SEND' });
    const pacs081 = await toIso.postQuotes(qr);
    assert.equal((await inbound.call('POST', '/quotes', pacs081, isoHeaders('quotes'))).status, 200);

    // The payee's backend answers without ILP; the gateway completes the pacs.082.
    const resp = quoteResponse(Date.now(), { transferAmount: { amount: '19.99', currency: 'USD' }, payeeReceiveAmount: { amount: '19.99', currency: 'USD' } });
    delete resp.payeeFspFee;
    const pacs082 = await toIso.putQuotes(qr.quoteId as string, resp, pacs081);
    delete (pacs082.CdtTrfTxInf as JsonObject).VrfctnOfTerms;
    const out = await outbound.call(
      'PUT',
      `/quotes/${qr.quoteId}`,
      pacs082,
      isoHeaders('quotes', { 'fspiop-source': 'payeefsp', 'fspiop-destination': 'payerfsp' }),
    );
    assert.equal(out.status, 200, JSON.stringify(out.json));
    const completed = out.json.rewritten as JsonObject;
    const packet = (completed.CdtTrfTxInf as JsonObject & { VrfctnOfTerms: { IlpV4PrepPacket: string } }).VrfctnOfTerms.IlpV4PrepPacket;
    assert.equal(decodePacket(packet, '4').amount, '1999');
    // Mojaloop reads the completed message: its condition is the packet's.
    const asMojaloop = await fromIso.putQuotes(qr.quoteId as string, completed);
    assert.equal(asMojaloop.ilpPacket, packet);

    // The payer's SDK prepares from it; the gateway recognises its own condition.
    const transferId = ulid();
    const prepare = {
      transferId,
      payerFsp: 'payerfsp',
      payeeFsp: 'payeefsp',
      amount: { amount: '19.99', currency: 'USD' },
      ilpPacket: packet,
      condition: asMojaloop.condition,
      expiration: new Date(Date.now() + 30_000).toISOString(),
    };
    const pacs008 = await toIso.postTransfers(prepare, completed);
    assert.equal((await inbound.call('POST', '/transfers', pacs008, isoHeaders('transfers'))).status, 200);
    // A pacs.008 whose packet another DFSP made is refused.
    const foreign = buildIlp(
      '4',
      transactionObjectOf(qr, { ...resp, expiration: new Date(Date.now() + 60_000).toISOString() }),
      createKeyring(['another-secret-0123456789abcdefghij']),
    );
    const forged = await toIso.postTransfers({ ...prepare, transferId: ulid(), ilpPacket: foreign.ilpPacket, condition: foreign.condition }, completed);
    assert.equal((await inbound.call('POST', '/transfers', forged, isoHeaders('transfers'))).code, '3100');

    // The backend commits without a fulfilment; the gateway adds ExctnConf, and it fulfils the condition.
    const pacs002 = await toIso.putTransfers(transferId, { transferState: 'COMMITTED', completedTimestamp: new Date().toISOString() });
    const commit = await outbound.call(
      'PUT',
      `/transfers/${transferId}`,
      pacs002,
      isoHeaders('transfers', { 'fspiop-source': 'payeefsp', 'fspiop-destination': 'payerfsp' }),
    );
    assert.equal(commit.status, 200, JSON.stringify(commit.json));
    const fulfilment = ((commit.json.rewritten as JsonObject).TxInfAndSts as JsonObject).ExctnConf as string;
    assert.equal(sdk.validateFulfil(fulfilment, asMojaloop.condition as string), true);
    assert.equal(((commit.json.rewritten as JsonObject).TxInfAndSts as JsonObject).TxSts, 'COMM');
    await inbound.close();
    await outbound.close();
  });
});

describe('ISO 20022, DFSP role with an FXP behind it', () => {
  test('pacs.092 out completed with Sh256Sgntr, pacs.009 in checked against the issued terms, pacs.002 out completed with ExctnConf', async () => {
    const store = createMemoryStore({ maxEntries: 1000 });
    const config = testConfig({ GATEWAY_ROLE: 'dfsp' });
    const inbound = ilpApp({ config, store });
    const outbound = ilpApp({ config, store, direction: 'outbound' });
    const conversionRequestId = ulid();
    const terms = {
      conversionId: ulid(),
      determiningTransferId: ulid(),
      initiatingFsp: 'payerfsp',
      counterPartyFsp: 'fxpfsp',
      amountType: 'SEND',
      sourceAmount: { currency: 'USD', amount: '300' },
      targetAmount: { currency: 'ZMW', amount: '7950.5' },
      expiration: new Date(Date.now() + 60_000).toISOString(),
    };
    const headers = isoHeaders('fxQuotes', { 'fspiop-source': 'fxpfsp', 'fspiop-destination': 'payerfsp' });
    const pacs092 = await toIso.putFxQuotes(conversionRequestId, { conversionTerms: terms, condition: 'x'.repeat(43) });
    delete ((pacs092.CdtTrfTxInf as JsonObject).VrfctnOfTerms as JsonObject).Sh256Sgntr;
    const q = await outbound.call('PUT', `/fxQuotes/${conversionRequestId}`, pacs092, headers);
    assert.equal(q.status, 200, JSON.stringify(q.json));
    const completed = q.json.rewritten as JsonObject;
    const condition = ((completed.CdtTrfTxInf as JsonObject).VrfctnOfTerms as JsonObject).Sh256Sgntr as string;
    assert.match(condition, /^[A-Za-z0-9_-]{43}$/);
    // Mojaloop reads the completed pacs.092 with the condition the gateway issued.
    assert.equal((await fromIso.putFxQuotes(conversionRequestId, completed)).condition, condition);

    const fxTransfer = {
      commitRequestId: terms.conversionId,
      determiningTransferId: terms.determiningTransferId,
      initiatingFsp: 'payerfsp',
      counterPartyFsp: 'fxpfsp',
      sourceAmount: terms.sourceAmount,
      targetAmount: terms.targetAmount,
      condition,
      expiration: new Date(Date.now() + 30_000).toISOString(),
    };
    const inHeaders = isoHeaders('fxTransfers', { 'fspiop-source': 'payerfsp', 'fspiop-destination': 'fxpfsp' });
    // Terms changed on the way (a higher target amount) → 3100; another condition → 3100; the issued one passes.
    const richer = await toIso.postFxTransfers({ ...fxTransfer, targetAmount: { currency: 'ZMW', amount: '9000' } });
    assert.equal((await inbound.call('POST', '/fxTransfers', richer, inHeaders)).code, '3100');
    const forged = await toIso.postFxTransfers({ ...fxTransfer, condition: createHash('sha256').update(randomBytes(32)).digest('base64url') });
    assert.equal((await inbound.call('POST', '/fxTransfers', forged, inHeaders)).code, '3100');
    assert.equal((await inbound.call('POST', '/fxTransfers', await toIso.postFxTransfers(fxTransfer), inHeaders)).status, 200);

    const pacs002 = await toIso.putFxTransfers(terms.conversionId, { conversionState: 'RESERVED', completedTimestamp: new Date().toISOString() });
    const accept = await outbound.call(
      'PUT',
      `/fxTransfers/${terms.conversionId}`,
      pacs002,
      isoHeaders('fxTransfers', { 'fspiop-source': 'fxpfsp', 'fspiop-destination': 'payerfsp' }),
    );
    assert.equal(accept.status, 200, JSON.stringify(accept.json));
    const fulfilment = ((accept.json.rewritten as JsonObject).TxInfAndSts as JsonObject).ExctnConf as string;
    assert.equal(createHash('sha256').update(Buffer.from(fulfilment, 'base64url')).digest('base64url'), condition);
    await inbound.close();
    await outbound.close();
  });
});
