// Hub quote binding (ILP_QUOTE_BINDING=enforce, docs/ilp.md "Quote binding"): a POST /transfers must carry the
// packet and condition that its payee issued, through this hub, for the quote the packet names.

import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { GatewayError } from '../../../src/errors.js';
import type { IlpVersion } from '../../../src/ilp/keyring.js';
import { hubBulkQuoteRequestKey, hubFxQuoteKey, hubQuoteKey, hubQuoteUseKey } from '../../../src/ilp/records.js';
import { createMemoryStore } from '../../../src/store/memory.js';
import { makeApp } from '../../helpers/app.js';
import { bulkTransferOf, counting, fulfilBody, ilpApp, issuedTransfer, recorder, testConfig } from '../../helpers/ilp.js';

const T0 = Date.parse('2030-01-01T00:00:00.000Z');

function setup(env: Record<string, string> = {}) {
  let now = T0;
  const store = counting(createMemoryStore({ maxEntries: 1000, now: () => now }));
  const telemetry = recorder();
  const app = ilpApp({ config: testConfig({ GATEWAY_ROLE: 'hub', ILP_QUOTE_BINDING: 'enforce', ...env }), store, telemetry, now: () => now });
  return {
    store,
    telemetry,
    call: app.call,
    close: app.close,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

type Issued = ReturnType<typeof issuedTransfer>;
const quoteAnswer = (t: Issued) => ({ ...t.quoteResponse, ilpPacket: t.ilp.ilpPacket, condition: t.ilp.condition });
const putQuote = (h: ReturnType<typeof setup>, t: Issued, source = 'payeefsp', body: object = quoteAnswer(t)) =>
  h.call('PUT', `/quotes/${t.quoteRequest.quoteId}`, body, { 'fspiop-source': source, 'fspiop-destination': 'payerfsp' });

for (const v of ['1', '4'] as IlpVersion[]) {
  describe(`quote binding, ILP v${v}`, () => {
    const env = { ILP_VERSION: v };
    test('the payee’s quote answer, then the transfer with its packet and condition, then the fulfilment: all pass', async () => {
      const h = setup(env);
      const t = issuedTransfer(v, T0);
      assert.equal((await putQuote(h, t)).status, 200);
      h.store.calls = 0;
      const r = await h.call('POST', '/transfers', t.prepare);
      assert.equal(r.status, 200, JSON.stringify(r.json));
      assert.equal(h.store.calls, 4, 'the quote record and the transfer id read together, the quote claimed, the transfer record written: three round trips');
      assert.equal((await h.call('PUT', `/transfers/${t.transferId}`, fulfilBody(t.ilp.fulfilment), { 'fspiop-source': 'payeefsp' })).status, 200);
      assert.deepEqual(
        h.telemetry.ilpEvents.map((e) => `${e.check}:${e.outcome}`),
        ['quote_issued:ok', 'prepare:ok', 'fulfil:ok'],
      );
      await h.close();
    });

    test('one quote serves one transfer: another transfer id with the same quote → 3106, even concurrently; a resend of the first passes', async () => {
      // Review finding (2026-12-01): the hub's binding checked the condition and the packet, not how often.
      const h = setup(env);
      const t = issuedTransfer(v, T0);
      assert.equal((await putQuote(h, t)).status, 200);
      const ids = [randomUUID(), randomUUID()];
      const answers = await Promise.all(ids.map((transferId) => h.call('POST', '/transfers', { ...t.prepare, transferId })));
      assert.deepEqual(answers.map((r) => r.status).sort(), [200, 400]);
      const won = answers.findIndex((r) => r.status === 200);
      const refused = answers[1 - won]!;
      assert.equal(refused.code, '3106');
      assert.equal(refused.json.upstream, undefined, 'not forwarded');
      assert.ok(h.telemetry.ilpEvents.some((e) => e.errorType === 'GW_ILP_CONDITION_USED'));
      assert.equal((await h.call('POST', '/transfers', { ...t.prepare, transferId: ids[won] })).status, 200, 'a resend of the first transfer passes');
      assert.equal((await h.call('POST', '/transfers', t.prepare)).code, '3106', 'a third transfer id is refused too');
      await h.close();
    });

    test('the payee’s packet and condition prepared in another payer’s name → 3100 (the binding alone would pass it)', async () => {
      const h = setup({ ...env, IDENTITY_CHECK: 'log' });
      const t = issuedTransfer(v, T0);
      assert.equal((await putQuote(h, t)).status, 200);
      const r = await h.call('POST', '/transfers', { ...t.prepare, payerFsp: 'victimfsp' }, { 'fspiop-source': 'payerfsp' });
      assert.equal(r.code, '3100');
      assert.deepEqual(h.telemetry.ilpEvents.at(-1), { check: 'prepare', outcome: 'failed', errorType: 'GW_ILP_PACKET_MISMATCH' });
      assert.equal((await h.call('POST', '/transfers', t.prepare)).status, 200, 'the payer’s own transfer still passes');
      await h.close();
    });

    test('a transfer whose quote never passed this hub → 3205, nothing stored', async () => {
      const h = setup(env);
      const t = issuedTransfer(v, T0);
      const r = await h.call('POST', '/transfers', t.prepare);
      assert.equal(r.code, '3205');
      assert.deepEqual(h.telemetry.ilpEvents, [{ check: 'prepare', outcome: 'failed', errorType: 'GW_ILP_QUOTE_UNKNOWN' }]);
      // Once the payee's answer passes, the same transfer is accepted: nothing was stored by the refusal.
      assert.equal((await putQuote(h, t)).status, 200);
      assert.equal((await h.call('POST', '/transfers', t.prepare)).status, 200);
      await h.close();
    });

    test('a packet for the same quote id that the payee did not issue → 3100 (the payer cannot substitute its own terms)', async () => {
      const h = setup(env);
      const t = issuedTransfer(v, T0);
      assert.equal((await putQuote(h, t)).status, 200);
      // The payer builds its own packet for the quote (e.g. a lower amount, or a condition it knows the preimage of).
      const forged = issuedTransfer(v, T0, 'payer-made-secret-0123456789abcdefghij', {
        quote: { quoteId: t.quoteRequest.quoteId, transactionId: t.quoteRequest.transactionId },
        response: { transferAmount: { amount: '1', currency: 'USD' } },
      });
      const r = await h.call('POST', '/transfers', { ...forged.prepare, transferId: t.transferId });
      assert.equal(r.code, '3100');
      assert.deepEqual(h.telemetry.ilpEvents.at(-1), { check: 'prepare', outcome: 'failed', errorType: 'GW_ILP_PACKET_MISMATCH' });
      // The honest transfer still passes.
      assert.equal((await h.call('POST', '/transfers', t.prepare)).status, 200);
      await h.close();
    });

    test('another FSP answering the payee’s quote id records nothing the payee’s transfers accept', async () => {
      const h = setup(env);
      const t = issuedTransfer(v, T0);
      // payerfsp (or anyone) sends a PUT /quotes for the quote with a packet of its own making.
      const own = issuedTransfer(v, T0, 'attacker-secret-0123456789abcdefghijkl', { quote: { quoteId: t.quoteRequest.quoteId } });
      assert.equal((await putQuote(h, own, 'payerfsp', quoteAnswer(own))).status, 200);
      const r = await h.call('POST', '/transfers', own.prepare);
      assert.equal(r.code, '3205', 'the record is under payerfsp, the transfer’s payee is payeefsp');
      // And the payee's own answer is not displaced.
      assert.equal((await putQuote(h, t)).status, 200);
      assert.equal((await h.call('POST', '/transfers', t.prepare)).status, 200);
      await h.close();
    });

    test('a quote answer whose packet names another quote → 3100, not forwarded', async () => {
      const h = setup(env);
      const t = issuedTransfer(v, T0);
      const r = await h.call('PUT', `/quotes/${issuedTransfer(v, T0).quoteRequest.quoteId}`, quoteAnswer(t), { 'fspiop-source': 'payeefsp' });
      assert.equal(r.code, '3100');
      assert.equal(r.json.upstream, undefined);
      await h.close();
    });

    test('the quote record ends with the quote: a transfer after the quote’s expiration + grace → 3205', async () => {
      const h = setup({ ...env, ILP_EXPIRY_GRACE_SECONDS: '0' });
      const t = issuedTransfer(v, T0);
      assert.equal((await putQuote(h, t)).status, 200);
      h.advance(61_000);
      const late = { ...t.prepare, expiration: new Date(T0 + 120_000).toISOString() };
      assert.equal((await h.call('POST', '/transfers', late)).code, '3205');
      await h.close();
    });
  });
}

describe('quote binding: bounds and policy', () => {
  test('an answer may expire at most ILP_QUOTE_MAX_TTL_SECONDS ahead (3100 beyond), and its record lives until it expires', async () => {
    // Fifth review of 2026-12-01: an answer valid beyond the record's cap was forgotten while still valid, so the quote
    // could be answered and executed again, and the first answer resent and executed after that.
    const h = setup({ ILP_QUOTE_MAX_TTL_SECONDS: '30', ILP_EXPIRY_GRACE_SECONDS: '0' });
    const long = issuedTransfer('1', T0, undefined, { response: { expiration: new Date(T0 + 7_200_000).toISOString() } });
    const refused = await putQuote(h, long);
    assert.equal(refused.code, '3100');
    // The error names the setting that bounds an answer (it named ILP_TRANSFER_MAX_TTL_SECONDS whatever bound it).
    assert.match(refused.json.errorInformation!.errorDescription, /more than 30 s ahead \(ILP_QUOTE_MAX_TTL_SECONDS\)$/);
    assert.deepEqual(h.telemetry.ilpEvents.at(-1), { check: 'quote_issued', outcome: 'failed', errorType: 'GW_ILP_EXPIRATION_INVALID' });
    const t = issuedTransfer('1', T0, undefined, { response: { expiration: new Date(T0 + 25_000).toISOString() } });
    assert.equal((await putQuote(h, t)).status, 200);
    h.advance(24_000);
    assert.equal(
      (await h.call('POST', '/transfers', { ...t.prepare, expiration: new Date(T0 + 60_000).toISOString() })).status,
      200,
      'the record lives while the answer does',
    );
    h.advance(7_000);
    assert.equal((await putQuote(h, t)).code, '3100', 'once it has expired, the answer cannot be resent');
    await h.close();
  });

  test('an answer beyond the lower of the two bounds: the error names that one', async () => {
    for (const [env, named] of [
      [{ ILP_QUOTE_MAX_TTL_SECONDS: '600', ILP_TRANSFER_MAX_TTL_SECONDS: '900' }, 'more than 600 s ahead (ILP_QUOTE_MAX_TTL_SECONDS)'],
      [{ ILP_QUOTE_MAX_TTL_SECONDS: '900', ILP_TRANSFER_MAX_TTL_SECONDS: '600' }, 'more than 600 s ahead (ILP_TRANSFER_MAX_TTL_SECONDS)'],
    ] as const) {
      const h = setup(env);
      const t = issuedTransfer('1', T0, undefined, { response: { expiration: new Date(T0 + 700_000).toISOString() } });
      const r = await putQuote(h, t);
      assert.equal(r.code, '3100');
      assert.ok(r.json.errorInformation!.errorDescription.endsWith(named), r.json.errorInformation!.errorDescription);
      await h.close();
    }
  });

  test('an answer whose expiration has passed, does not parse, or lies beyond ILP_TRANSFER_MAX_TTL_SECONDS → 3100, nothing kept', async () => {
    // Review finding (2026-12-01, session 16): the use mark was capped at ILP_QUOTE_MAX_TTL_SECONDS, so a quote valid
    // for longer could be answered again once mark and record had ended, and executed a second time.
    const h = setup({ ILP_TRANSFER_MAX_TTL_SECONDS: '3600' });
    for (const expiration of [new Date(T0 - 1).toISOString(), 'tomorrow', '2099-01-01T00:00:00.000Z', new Date(T0 + 3_601_000).toISOString()]) {
      const t = issuedTransfer('1', T0, undefined, { response: { expiration } });
      const r = await putQuote(h, t);
      assert.equal(r.code, '3100', expiration);
      assert.deepEqual(h.telemetry.ilpEvents.at(-1), { check: 'quote_issued', outcome: 'failed', errorType: 'GW_ILP_EXPIRATION_INVALID' }, expiration);
      assert.equal((await h.call('POST', '/transfers', t.prepare)).code, '3205', expiration);
    }
    await h.close();
  });

  test('an executed quote: an answer resent after its record has ended is refused while the quote runs (3106), and after it (3100)', async () => {
    const h = setup({ ILP_QUOTE_MAX_TTL_SECONDS: '600', ILP_EXPIRY_GRACE_SECONDS: '0' });
    const t = issuedTransfer('1', T0, undefined, { response: { expiration: new Date(T0 + 300_000).toISOString() } });
    assert.equal((await putQuote(h, t)).status, 200);
    assert.equal((await h.call('POST', '/transfers', { ...t.prepare, expiration: new Date(T0 + 400_000).toISOString() })).status, 200);
    h.advance(301_000); // the record has ended with the quote; the mark lives with the transfer
    assert.equal((await putQuote(h, t)).code, '3100', 'the answer has expired');
    await h.close();
  });

  test('FX: a POST /fxTransfers needs the condition the FXP issued in its PUT /fxQuotes (3205 before, 3100 for another)', async () => {
    const h = setup();
    const fulfilment = randomBytes(32);
    const condition = createHash('sha256').update(fulfilment).digest('base64url');
    const conversionId = '0f3b8a8e-3b1a-4c7e-9f55-8d1f6f0f0a01';
    const expiration = new Date(T0 + 30_000).toISOString();
    const fxTransfer = {
      commitRequestId: conversionId,
      determiningTransferId: 'b51ec534-ee48-4575-b6a9-ead2955b8069',
      initiatingFsp: 'payerfsp',
      counterPartyFsp: 'fxpfsp',
      sourceAmount: { currency: 'USD', amount: '100' },
      targetAmount: { currency: 'XOF', amount: '60000' },
      condition,
      expiration,
    };
    const dest = { 'fspiop-destination': 'fxpfsp' };
    assert.equal((await h.call('POST', '/fxTransfers', fxTransfer, dest)).code, '3205');
    const { commitRequestId: _, condition: __, expiration: ___, ...terms } = fxTransfer;
    const answer = { condition, conversionTerms: { conversionId, amountType: 'SEND', ...terms, expiration, charges: [] } };
    assert.equal((await h.call('PUT', `/fxQuotes/${conversionId}`, answer, { 'fspiop-source': 'fxpfsp' })).status, 200);
    const other = createHash('sha256').update(randomBytes(32)).digest('base64url');
    assert.equal((await h.call('POST', '/fxTransfers', { ...fxTransfer, condition: other }, dest)).code, '3100');
    assert.equal((await h.call('POST', '/fxTransfers', fxTransfer, dest)).status, 200);
    await h.close();
  });

  test('FX: the fxTransfer must repeat the terms the FXP issued its condition for (amounts, FSPs, determining transfer) → 3100, nothing stored', async () => {
    const h = setup();
    const condition = createHash('sha256').update(randomBytes(32)).digest('base64url');
    const conversionId = '0f3b8a8e-3b1a-4c7e-9f55-8d1f6f0f0a02';
    const expiration = new Date(T0 + 30_000).toISOString();
    const terms = {
      determiningTransferId: 'b51ec534-ee48-4575-b6a9-ead2955b8069',
      initiatingFsp: 'payerfsp',
      counterPartyFsp: 'fxpfsp',
      sourceAmount: { currency: 'USD', amount: '100' },
      targetAmount: { currency: 'XOF', amount: '60000' },
    };
    const answer = { condition, conversionTerms: { conversionId, amountType: 'SEND', ...terms, expiration, charges: [] } };
    assert.equal((await h.call('PUT', `/fxQuotes/${conversionId}`, answer, { 'fspiop-source': 'fxpfsp' })).status, 200);
    const fxTransfer = { commitRequestId: conversionId, ...terms, condition, expiration };
    const dest = { 'fspiop-destination': 'fxpfsp' };
    const changed: [string, object][] = [
      ['sourceAmount', { sourceAmount: { currency: 'USD', amount: '1' } }],
      ['targetAmount', { targetAmount: { currency: 'XOF', amount: '9999999' } }],
      ['target currency', { targetAmount: { currency: 'EUR', amount: '60000' } }],
      ['determiningTransferId', { determiningTransferId: '7c23e80c-d078-4077-8263-2c047876fcf6' }],
    ];
    for (const [member, over] of changed) {
      const r = await h.call('POST', '/fxTransfers', { ...fxTransfer, ...over }, dest);
      assert.equal(r.code, '3100', member);
      assert.match(
        String((r.json.errorInformation as { errorDescription?: string } | undefined)?.errorDescription),
        new RegExp(`${member.split(' ')[0]}`),
        member,
      );
    }
    // Amounts compare numerically, as the FXP role's check does: 100.00 is the 100 the FXP quoted.
    assert.equal((await h.call('POST', '/fxTransfers', { ...fxTransfer, sourceAmount: { currency: 'USD', amount: '100.00' } }, dest)).status, 200);
    await h.close();
  });

  test('FX: the fxTransfer record lives as long as the terms it executes: no second execution once it expires, fulfilled or not', async () => {
    // Review finding (2026-12-01, session 16): the record ended with the fxTransfer's own expiration (+ grace), so while
    // the FXP's terms still ran, the conversion's id was free for a second prepare, and its fulfilment passed again.
    const h = setup({ ILP_EXPIRY_GRACE_SECONDS: '0' });
    const dest = { 'fspiop-destination': 'fxpfsp' };
    const conversion = async () => {
      const fulfilment = randomBytes(32);
      const condition = createHash('sha256').update(fulfilment).digest('base64url');
      const conversionId = randomUUID();
      const terms = {
        initiatingFsp: 'payerfsp',
        counterPartyFsp: 'fxpfsp',
        sourceAmount: { currency: 'USD', amount: '100' },
        targetAmount: { currency: 'XOF', amount: '60000' },
      };
      const answer = {
        condition,
        conversionTerms: { conversionId, amountType: 'SEND', ...terms, expiration: new Date(T0 + 60_000).toISOString(), charges: [] },
      };
      assert.equal((await h.call('PUT', `/fxQuotes/${conversionId}`, answer, { 'fspiop-source': 'fxpfsp' })).status, 200);
      const fxTransfer = (expiresIn: number) => ({ commitRequestId: conversionId, ...terms, condition, expiration: new Date(T0 + expiresIn).toISOString() });
      const fulfil = { fulfilment: fulfilment.toString('base64url'), completedTimestamp: new Date(T0).toISOString(), conversionState: 'RESERVED' };
      return { conversionId, fxTransfer, fulfil };
    };
    const done = await conversion();
    const open = await conversion();
    assert.equal((await h.call('POST', '/fxTransfers', done.fxTransfer(5_000), dest)).status, 200);
    assert.equal((await h.call('PUT', `/fxTransfers/${done.conversionId}`, done.fulfil, { 'fspiop-source': 'fxpfsp' })).status, 200);
    assert.equal((await h.call('POST', '/fxTransfers', open.fxTransfer(5_000), dest)).status, 200);
    h.advance(10_000); // both fxTransfers have expired; the terms run until T0 + 60 s
    assert.equal((await h.call('POST', '/fxTransfers', open.fxTransfer(40_000), dest)).code, '3106', 'the unfulfilled one is not prepared again');
    // The fulfilled one's resend passes as a duplicate (the switch answers it), but its fulfilment is spent.
    assert.equal((await h.call('POST', '/fxTransfers', done.fxTransfer(40_000), dest)).status, 200);
    assert.equal((await h.call('PUT', `/fxTransfers/${done.conversionId}`, done.fulfil, { 'fspiop-source': 'fxpfsp' })).code, '3106');
    await h.close();
  });

  test('FX: a record written before the terms were kept (the condition alone) is still checked by its condition', async () => {
    const h = setup();
    const condition = createHash('sha256').update(randomBytes(32)).digest('base64url');
    const conversionId = '0f3b8a8e-3b1a-4c7e-9f55-8d1f6f0f0a03';
    await h.store.save(hubFxQuoteKey(conversionId, 'fxpfsp'), condition, 60_000);
    const fxTransfer = {
      commitRequestId: conversionId,
      initiatingFsp: 'payerfsp',
      counterPartyFsp: 'fxpfsp',
      sourceAmount: { currency: 'USD', amount: '100' },
      targetAmount: { currency: 'XOF', amount: '60000' },
      condition,
      expiration: new Date(T0 + 30_000).toISOString(),
    };
    const dest = { 'fspiop-destination': 'fxpfsp' };
    const other = createHash('sha256').update(randomBytes(32)).digest('base64url');
    assert.equal((await h.call('POST', '/fxTransfers', { ...fxTransfer, condition: other }, dest)).code, '3100');
    assert.equal((await h.call('POST', '/fxTransfers', fxTransfer, dest)).status, 200);
    await h.close();
  });
});

/** n individual quotes the payee issued for one bulk quote, its PUT /bulkQuotes answer and the bulk transfer that executes them. */
function issuedBulk(v: IlpVersion, n: number, over: { bulkQuoteId?: string } = {}) {
  const items = Array.from({ length: n }, () => issuedTransfer(v, T0));
  const bulkQuoteId = over.bulkQuoteId ?? randomUUID();
  const expiration = new Date(T0 + 60_000).toISOString();
  const answer = {
    individualQuoteResults: items.map((t) => ({ quoteId: t.quoteRequest.quoteId, ...quoteAnswer(t), expiration: undefined })),
    expiration,
  };
  const transfer = (xs = items, bulkTransferId: string = randomUUID()) =>
    bulkTransferOf(xs, new Date(T0 + 30_000).toISOString(), { bulkTransferId, bulkQuoteId });
  return { items, bulkQuoteId, answer, transfer };
}
type Bulk = ReturnType<typeof issuedBulk>;
/**
 * A payee's PUT /bulkQuotes answer, after payerfsp asked payeefsp for that bulk quote through the hub (POST /bulkQuotes:
 * only answers to a request that passed the hub are kept, and counted against the payer who asked).
 */
async function answerBulk(h: { call: ReturnType<typeof setup>['call'] }, path: string, body: object, headers: Record<string, string> = {}) {
  const bulkQuoteId = path.split('/')[2]!;
  const asked = ((body as { individualQuoteResults?: unknown[] }).individualQuoteResults ?? []).length || 1;
  const ask = await h.call(
    'POST',
    '/bulkQuotes',
    { bulkQuoteId, individualQuotes: Array.from({ length: asked }, () => ({ quoteId: randomUUID() })) },
    { 'fspiop-source': 'payerfsp', 'fspiop-destination': 'payeefsp' },
  );
  assert.ok(ask.status === 200 || ask.code === '3106', `the payer's request: ${ask.status} ${ask.code}`);
  return h.call('PUT', path, body, { 'fspiop-destination': 'payerfsp', ...headers });
}
const putBulkQuote = (h: ReturnType<typeof setup>, b: Bulk, source = 'payeefsp', body: object = b.answer) =>
  answerBulk(h, `/bulkQuotes/${b.bulkQuoteId}`, body, { 'fspiop-source': source });
const bulkFulfil = (items: Bulk['items']) => ({
  bulkTransferState: 'COMPLETED',
  completedTimestamp: new Date(T0).toISOString(),
  individualTransferResults: items.map((x) => ({ transferId: x.transferId, fulfilment: x.ilp.fulfilment })),
});

// Review finding (2026-12-01, session 16): with ILP_QUOTE_BINDING=enforce a payer could walk around the binding by
// sending its own conditions and packets (or one quote's, many times) as the items of a POST /bulkTransfers.
for (const v of ['1', '4'] as IlpVersion[]) {
  describe(`quote binding, bulk, ILP v${v}`, () => {
    const env = { ILP_VERSION: v };
    test('the payee’s bulk quote answer, the bulk transfer with its packets, then the bulk fulfilment: all pass', async () => {
      const h = setup(env);
      const b = issuedBulk(v, 3);
      assert.equal((await putBulkQuote(h, b)).status, 200);
      const bulkTransferId = randomUUID();
      const r = await h.call('POST', '/bulkTransfers', b.transfer(b.items, bulkTransferId));
      assert.equal(r.status, 200, JSON.stringify(r.json));
      assert.equal((await h.call('PUT', `/bulkTransfers/${bulkTransferId}`, bulkFulfil(b.items))).status, 200);
      assert.deepEqual(
        h.telemetry.ilpEvents.map((e) => `${e.check}:${e.outcome}`),
        ['bulk_quote_request:ok', 'bulk_quote_issued:ok', 'bulk_prepare:ok', 'bulk_fulfil:ok'],
      );
      await h.close();
    });

    test('a bulk transfer may execute some of the individual quotes', async () => {
      const h = setup(env);
      const b = issuedBulk(v, 3);
      assert.equal((await putBulkQuote(h, b)).status, 200);
      assert.equal((await h.call('POST', '/bulkTransfers', b.transfer(b.items.slice(1)))).status, 200);
      await h.close();
    });

    test('a bulk transfer whose bulk quote never passed this hub, or was answered by another FSP → 3205, nothing stored', async () => {
      const h = setup(env);
      const b = issuedBulk(v, 2);
      const bulkTransferId = randomUUID();
      const r = await h.call('POST', '/bulkTransfers', b.transfer(b.items, bulkTransferId));
      assert.equal(r.code, '3205');
      assert.equal(r.json.upstream, undefined, 'not forwarded');
      assert.deepEqual(h.telemetry.ilpEvents.at(-1), { check: 'bulk_prepare', outcome: 'failed', errorType: 'GW_ILP_QUOTE_UNKNOWN' });
      // The payer answers the bulk quote it asked of payeefsp itself: refused (re-review of 2026-12-02), nothing kept.
      assert.equal((await putBulkQuote(h, b, 'payerfsp')).code, '3100', 'the payer answers the bulk quote itself');
      assert.equal((await h.call('POST', '/bulkTransfers', b.transfer(b.items, bulkTransferId))).code, '3205', 'nothing kept');
      assert.equal((await putBulkQuote(h, b)).status, 200);
      assert.equal((await h.call('POST', '/bulkTransfers', b.transfer(b.items, bulkTransferId))).status, 200, 'nothing was stored by the refusals');
      await h.close();
    });

    test('an item with a packet and condition of the payer’s own making, or of a single quote → 3100, nothing stored', async () => {
      const h = setup(env);
      const b = issuedBulk(v, 2);
      assert.equal((await putBulkQuote(h, b)).status, 200);
      const own = issuedTransfer(v, T0, 'payer-made-secret-0123456789abcdefghij', {
        quote: { quoteId: b.items[1]!.quoteRequest.quoteId, transactionId: b.items[1]!.transferId },
        response: { transferAmount: { amount: '1', currency: 'USD' } },
      });
      const single = issuedTransfer(v, T0);
      assert.equal((await putQuote(h, single)).status, 200, 'the payee answered a single quote too');
      const bulkTransferId = randomUUID();
      for (const item of [own, single]) {
        const r = await h.call('POST', '/bulkTransfers', b.transfer([b.items[0]!, item], bulkTransferId));
        assert.equal(r.code, '3100');
        assert.match(String(r.json.errorInformation?.errorDescription), /individualTransfers\[1\]/);
        assert.deepEqual(h.telemetry.ilpEvents.at(-1), { check: 'bulk_prepare', outcome: 'failed', errorType: 'GW_ILP_PACKET_MISMATCH' });
      }
      // The item's packet with another item's condition (v1 packets carry none; v4's must match) is refused as well.
      const swapped = { ...b.transfer(b.items, bulkTransferId) } as { individualTransfers: Record<string, unknown>[] };
      swapped.individualTransfers = [{ ...swapped.individualTransfers[0], condition: b.items[1]!.ilp.condition }, swapped.individualTransfers[1]!];
      assert.equal((await h.call('POST', '/bulkTransfers', swapped)).code, '3100');
      assert.equal((await h.call('POST', '/bulkTransfers', b.transfer(b.items, bulkTransferId))).status, 200, 'nothing was stored by the refusals');
      assert.equal((await h.call('POST', '/transfers', single.prepare)).status, 200, 'the single quote was not claimed');
      await h.close();
    });

    test('one individual quote in two items (other transfer ids) → 3106', async () => {
      const h = setup(env);
      const b = issuedBulk(v, 1);
      assert.equal((await putBulkQuote(h, b)).status, 200);
      const x = b.items[0]!;
      const r = await h.call('POST', '/bulkTransfers', b.transfer([x, { ...x, transferId: randomUUID() }]));
      assert.equal(r.code, '3106');
      assert.deepEqual(h.telemetry.ilpEvents.at(-1), { check: 'bulk_prepare', outcome: 'failed', errorType: 'GW_ILP_CONDITION_USED' });
      await h.close();
    });

    test('one bulk quote serves one bulk transfer: another bulk id → 3106, even concurrently; a resend of the first passes', async () => {
      const h = setup(env);
      const b = issuedBulk(v, 2);
      assert.equal((await putBulkQuote(h, b)).status, 200);
      const ids = [randomUUID(), randomUUID()];
      // The second bulk repeats the items under transfer ids of its own: each id is new, only the bulk quote is shared.
      const bodies = [
        b.transfer(b.items, ids[0]),
        b.transfer(
          b.items.map((x) => ({ ...x, transferId: randomUUID() })),
          ids[1],
        ),
      ];
      const answers = await Promise.all(bodies.map((body) => h.call('POST', '/bulkTransfers', body)));
      assert.deepEqual(answers.map((r) => r.status).sort(), [200, 400]);
      const won = answers.findIndex((r) => r.status === 200);
      assert.equal(answers[1 - won]!.code, '3106');
      assert.equal(answers[1 - won]!.json.upstream, undefined, 'not forwarded');
      assert.equal((await h.call('POST', '/bulkTransfers', bodies[won])).status, 200, 'a resend of the first bulk passes');
      assert.equal((await h.call('POST', '/bulkTransfers', b.transfer(b.items.slice(1)))).code, '3106', 'a later bulk with the rest is refused too');
      await h.close();
    });

    test('a bulk whose item’s transfer id holds other terms is refused before it claims anything: its bulk quote stays free', async () => {
      // Third review of 2026-12-01: claims are never given back (that raced with an identical resend relying on one),
      // so the ids are read, and refused, before the claims.
      const h = setup(env);
      const first = issuedBulk(v, 1);
      assert.equal((await putBulkQuote(h, first)).status, 200);
      assert.equal((await h.call('POST', '/bulkTransfers', first.transfer())).status, 200);
      const b = issuedBulk(v, 1);
      assert.equal((await putBulkQuote(h, b)).status, 200);
      const clash = b.transfer([{ ...b.items[0]!, transferId: first.items[0]!.transferId }]);
      assert.equal((await h.call('POST', '/bulkTransfers', clash)).code, '3106');
      assert.deepEqual(h.telemetry.ilpEvents.at(-1), { check: 'bulk_prepare', outcome: 'failed', errorType: 'GW_ILP_TRANSFER_DUPLICATE' });
      assert.equal((await h.call('POST', '/bulkTransfers', b.transfer())).status, 200, 'the bulk quote is free for a bulk of its own');
      await h.close();
    });
  });
}

describe('quote binding, bulk: the payee’s answer and the bulk’s form', () => {
  test('a bulk quote answer with a packet naming another quote, or a v4 condition not the packet’s → 3100, not forwarded', async () => {
    const h = setup({ ILP_VERSION: '4' });
    const b = issuedBulk('4', 2);
    const results = b.answer.individualQuoteResults;
    const bad: [string, object][] = [
      ['another quote', { ...b.answer, individualQuoteResults: [{ ...results[0]!, quoteId: results[1]!.quoteId }, results[1]] }],
      ['another condition', { ...b.answer, individualQuoteResults: [{ ...results[0]!, condition: results[1]!.condition }, results[1]] }],
    ];
    for (const [what, body] of bad) {
      const r = await putBulkQuote(h, b, 'payeefsp', body);
      assert.equal(r.code, '3100', what);
      assert.equal(r.json.upstream, undefined, what);
    }
    assert.equal((await putBulkQuote(h, b)).status, 200);
    await h.close();
  });

  test('results with an error or fees only issue nothing; a result with a packet and no condition → 3102', async () => {
    const h = setup();
    const b = issuedBulk('1', 2);
    const [ok, failed] = b.answer.individualQuoteResults;
    const declined = { quoteId: failed!.quoteId, errorInformation: { errorCode: '5100', errorDescription: 'declined' } };
    assert.equal((await putBulkQuote(h, b, 'payeefsp', { ...b.answer, individualQuoteResults: [ok, declined] })).status, 200);
    assert.equal((await h.call('POST', '/bulkTransfers', b.transfer(b.items))).code, '3100', 'the declined quote was issued no packet');
    assert.equal((await h.call('POST', '/bulkTransfers', b.transfer(b.items.slice(0, 1)))).status, 200);
    const c = issuedBulk('1', 1);
    const noCondition = { ...c.answer, individualQuoteResults: [{ ...c.answer.individualQuoteResults[0]!, condition: undefined }] };
    assert.equal((await putBulkQuote(h, c, 'payeefsp', noCondition)).code, '3102');
    const before = h.store.calls;
    const noResults = await h.call('PUT', `/bulkQuotes/${c.bulkQuoteId}`, { expiration: c.answer.expiration }, { 'fspiop-destination': 'payerfsp' });
    assert.equal(noResults.status, 200, 'no results: nothing issued');
    assert.equal(h.store.calls, before, 'nothing kept');
    assert.equal((await h.call('POST', '/bulkTransfers', c.transfer())).code, '3205');
    // The SDK answers GET /bulkQuotes/{ID} from its backend, without packets: passes, and the first answer stands.
    assert.equal((await putBulkQuote(h, b, 'payeefsp', { expiration: new Date(T0 + 90_000).toISOString(), individualQuoteResults: [declined] })).status, 200);
    await h.close();
  });

  test('a bulk transfer without bulkQuoteId → 3102; an individual quote of a bulk cannot be executed as a single transfer (3205)', async () => {
    const h = setup();
    const b = issuedBulk('1', 1);
    assert.equal((await putBulkQuote(h, b)).status, 200);
    const { bulkQuoteId: _, ...noQuote } = b.transfer();
    assert.equal((await h.call('POST', '/bulkTransfers', noQuote)).code, '3102');
    assert.equal((await h.call('POST', '/bulkTransfers', { ...noQuote, bulkQuoteId: 5 })).code, '3101');
    assert.equal((await h.call('POST', '/transfers', b.items[0]!.prepare)).code, '3205');
    await h.close();
  });

  test('the bulk quote record ends with the bulk quote (+ grace); ILP_QUOTE_BINDING=off leaves bulks unbound and costs answers nothing', async () => {
    const h = setup({ ILP_EXPIRY_GRACE_SECONDS: '0' });
    const b = issuedBulk('1', 1);
    assert.equal((await putBulkQuote(h, b)).status, 200);
    h.advance(61_000);
    const late = { ...b.transfer(), expiration: new Date(T0 + 120_000).toISOString() };
    assert.equal((await h.call('POST', '/bulkTransfers', late)).code, '3205');
    await h.close();
    const off = setup({ ILP_QUOTE_BINDING: 'off' });
    const u = issuedBulk('1', 1);
    assert.equal((await putBulkQuote(off, u)).status, 200);
    assert.equal(off.store.calls, 0);
    assert.equal((await off.call('POST', '/bulkTransfers', u.transfer())).status, 200);
    await off.close();
  });
});

// Review findings of 2026-12-01 (session 16) on the quote-use marks: a new answer outliving the mark, an id re-prepared
// with other terms, an id checked only after the claim.
describe('quote binding: what a mark holds and what a new answer may do', () => {
  test('a quote answered again: another packet → 3106; the same packet with a later expiration passes and prolongs nothing; an executed one is not renewed', async () => {
    // Sixth review of 2026-12-01: the quoting service forwards a resent POST /quotes and the SDK answers it anew, with
    // a fresh expiration on the same packet (SDK 17.x packets carry none): refusing it lost honest quotes.
    const h = setup({ ILP_EXPIRY_GRACE_SECONDS: '0' });
    const t = issuedTransfer('1', T0);
    assert.equal((await putQuote(h, t)).status, 200);
    assert.equal((await putQuote(h, t)).status, 200, 'an identical resend of the answer passes');
    const later = { ...quoteAnswer(t), expiration: new Date(T0 + 600_000).toISOString() };
    assert.equal((await putQuote(h, t, 'payeefsp', later)).status, 200, 'the same packet and condition, a later expiration');
    const other = issuedTransfer('1', T0, undefined, {
      quote: { quoteId: t.quoteRequest.quoteId },
      response: { transferAmount: { amount: '1', currency: 'USD' } },
    });
    const r = await putQuote(h, t, 'payeefsp', quoteAnswer(other));
    assert.equal(r.code, '3106');
    assert.deepEqual(h.telemetry.ilpEvents.at(-1), { check: 'quote_issued', outcome: 'failed', errorType: 'GW_ILP_QUOTE_DUPLICATE' });
    // Executed by a transfer that outlives the quote: the mark lives 90 s, the record 60 s (the first answer's).
    assert.equal((await h.call('POST', '/transfers', { ...t.prepare, expiration: new Date(T0 + 90_000).toISOString() })).status, 200);
    h.advance(70_000);
    assert.equal((await putQuote(h, t, 'payeefsp', later)).code, '3106', 'the record has ended, the mark has not');
    const second = { ...t.prepare, transferId: randomUUID(), expiration: new Date(T0 + 120_000).toISOString() };
    assert.equal((await h.call('POST', '/transfers', second)).code, '3205', 'the refused answer left no record behind');
    await h.close();
  });

  test('bulk: the same answer with a later expiration passes but prolongs nothing, so no second bulk executes the same conditions', async () => {
    const h = setup({ ILP_EXPIRY_GRACE_SECONDS: '0' });
    const b = issuedBulk('1', 2);
    assert.equal((await putBulkQuote(h, b)).status, 200);
    const first = b.transfer();
    assert.equal((await h.call('POST', '/bulkTransfers', first)).status, 200);
    h.advance(50_000);
    assert.equal((await putBulkQuote(h, b, 'payeefsp', { ...b.answer, expiration: new Date(T0 + 300_000).toISOString() })).status, 200);
    h.advance(20_000); // the first answer's records have ended at T0 + 60 s
    const again = { ...b.transfer(b.items.map((x) => ({ ...x, transferId: randomUUID() }))), expiration: new Date(T0 + 100_000).toISOString() };
    assert.equal((await h.call('POST', '/bulkTransfers', again)).code, '3205');
    await h.close();
  });

  test('an id prepared again with other terms → 3106 at the claim: after its record has ended, or with another expiration', async () => {
    const h = setup({ ILP_EXPIRY_GRACE_SECONDS: '0' });
    const t = issuedTransfer('1', T0, undefined, { response: { expiration: new Date(T0 + 600_000).toISOString() } });
    assert.equal((await putQuote(h, t)).status, 200);
    assert.equal((await h.call('POST', '/transfers', t.prepare)).status, 200); // expires at T0 + 30 s
    h.advance(40_000); // the transfer record has ended; the quote (and its mark) run to T0 + 600 s
    const r = await h.call('POST', '/transfers', { ...t.prepare, expiration: new Date(T0 + 100_000).toISOString() });
    assert.equal(r.code, '3106');
    assert.deepEqual(h.telemetry.ilpEvents.at(-1), { check: 'prepare', outcome: 'failed', errorType: 'GW_ILP_CONDITION_USED' });
    // Bulk: the same bulk id with another expiration, and later with the items the first left out.
    const b = issuedBulk('1', 3);
    assert.equal((await putBulkQuote(h, b, 'payeefsp', { ...b.answer, expiration: new Date(T0 + 600_000).toISOString() })).status, 200);
    const id = randomUUID();
    const first = b.transfer(b.items.slice(0, 1), id);
    first.expiration = new Date(T0 + 70_000).toISOString();
    assert.equal((await h.call('POST', '/bulkTransfers', first)).status, 200);
    assert.equal((await h.call('POST', '/bulkTransfers', { ...first, expiration: new Date(T0 + 71_000).toISOString() })).code, '3106');
    h.advance(40_000); // the bulk's records have ended
    const rest = b.transfer(b.items.slice(1), id);
    rest.expiration = new Date(T0 + 150_000).toISOString();
    assert.equal((await h.call('POST', '/bulkTransfers', rest)).code, '3106');
    await h.close();
  });

  test('an id that cannot name a record → 3101 before the quote is claimed: the corrected prepare passes', async () => {
    const h = setup();
    const t = issuedTransfer('1', T0);
    assert.equal((await putQuote(h, t)).status, 200);
    assert.equal((await h.call('POST', '/transfers', { ...t.prepare, transferId: 'bad id' })).code, '3101');
    assert.equal((await h.call('POST', '/transfers', t.prepare)).status, 200);
    const b = issuedBulk('1', 2);
    assert.equal((await putBulkQuote(h, b)).status, 200);
    const id = randomUUID();
    assert.equal((await h.call('POST', '/bulkTransfers', b.transfer([b.items[0]!, { ...b.items[1]!, transferId: 'x'.repeat(129) }], id))).code, '3101');
    assert.equal((await h.call('POST', '/bulkTransfers', { ...b.transfer(b.items), bulkTransferId: 'bad id' })).code, '3101');
    assert.equal((await h.call('POST', '/bulkTransfers', b.transfer(b.items, id))).status, 200);
    await h.close();
  });

  test('a mark an earlier version wrote (the bare transfer id) still holds the quote for that transfer', async () => {
    const h = setup();
    const t = issuedTransfer('1', T0);
    assert.equal((await putQuote(h, t)).status, 200);
    await h.store.save(hubQuoteUseKey(String(t.quoteRequest.quoteId), 'payeefsp'), t.transferId, 60_000);
    assert.equal((await h.call('POST', '/transfers', { ...t.prepare, transferId: randomUUID() })).code, '3106');
    assert.equal((await h.call('POST', '/transfers', t.prepare)).status, 200);
    await h.close();
  });
});

describe('quote binding: re-review of 2026-12-01 (session 16)', () => {
  test('one quote is answered in one place: in a second bulk quote, as a single quote after a bulk, or in a bulk after a single → 3106', async () => {
    // Fourth review of 2026-12-01: answered in two places with different expirations, a quote's use mark ended with the
    // shorter-lived answer while the other still ran, and the quote was executed a second time through it.
    const h = setup();
    const t = issuedTransfer('1', T0);
    const q = t.quoteRequest.quoteId as string;
    const inBulk = (bulkQuoteId: string, expiresIn: number) =>
      answerBulk(
        h,
        `/bulkQuotes/${bulkQuoteId}`,
        { individualQuoteResults: [{ quoteId: q, ...quoteAnswer(t), expiration: undefined }], expiration: new Date(T0 + expiresIn).toISOString() },
        { 'fspiop-source': 'payeefsp' },
      );
    const [bq1, bq2] = [randomUUID(), randomUUID()];
    assert.equal((await inBulk(bq1, 20_000)).status, 200);
    assert.equal((await inBulk(bq1, 20_000)).status, 200, 'an identical resend of the bulk answer passes');
    const r = await inBulk(bq2, 600_000);
    assert.equal(r.code, '3106');
    assert.deepEqual(h.telemetry.ilpEvents.at(-1), { check: 'bulk_quote_issued', outcome: 'failed', errorType: 'GW_ILP_QUOTE_DUPLICATE' });
    assert.equal((await putQuote(h, t)).code, '3106', 'nor as a single quote');
    assert.equal((await h.call('POST', '/transfers', t.prepare)).code, '3205', 'an individual quote of a bulk executes no single transfer');
    const exp = new Date(T0 + 10_000).toISOString();
    assert.equal(
      (await h.call('POST', '/bulkTransfers', bulkTransferOf([{ transferId: randomUUID(), prepare: t.prepare }], exp, { bulkQuoteId: bq1 }))).status,
      200,
    );
    h.advance(81_000); // bq1's records and the quote's mark have ended
    const later = bulkTransferOf([{ transferId: randomUUID(), prepare: t.prepare }], new Date(T0 + 181_000).toISOString(), { bulkQuoteId: bq2 });
    assert.equal((await h.call('POST', '/bulkTransfers', later)).code, '3205', 'bq2 was never recorded');
    // A single quote first: a bulk quote naming it → 3106, and the refused answer takes back what it wrote.
    const u = issuedTransfer('1', T0 + 81_000);
    assert.equal((await putQuote(h, u)).status, 200);
    const other = issuedTransfer('1', T0 + 81_000);
    const both = {
      individualQuoteResults: [other, u].map((x) => ({ quoteId: x.quoteRequest.quoteId, ...quoteAnswer(x), expiration: undefined })),
      expiration: new Date(T0 + 141_000).toISOString(),
    };
    assert.equal((await answerBulk(h, `/bulkQuotes/${randomUUID()}`, both, { 'fspiop-source': 'payeefsp' })).code, '3106');
    assert.equal((await putQuote(h, other)).status, 200, 'the refused bulk answer took back what it wrote');
    await h.close();
  });

  test('after the quote record has ended every prepare of the quote → 3205, a resend with a packet of the payer’s own making too', async () => {
    // Third review of 2026-12-01: a resend passed on its mark alone once the record had ended, and the mark holds no
    // packet digest, so a resend with the payee's condition and the payer's own packet (its amount) went through.
    const h = setup({ ILP_EXPIRY_GRACE_SECONDS: '0' });
    const t = issuedTransfer('1', T0); // the quote expires at T0 + 60 s
    assert.equal((await putQuote(h, t)).status, 200);
    const prepare = { ...t.prepare, expiration: new Date(T0 + 3_600_000).toISOString() };
    assert.equal((await h.call('POST', '/transfers', prepare)).status, 200);
    const forged = issuedTransfer('1', T0, 'payer-made-secret-0123456789abcdefghij', {
      quote: { quoteId: t.quoteRequest.quoteId, transactionId: t.quoteRequest.transactionId },
      response: { transferAmount: { amount: '1', currency: 'USD' } },
    });
    const p2 = { ...forged.prepare, transferId: t.transferId, condition: t.ilp.condition, expiration: prepare.expiration };
    assert.equal((await h.call('POST', '/transfers', p2)).code, '3100', 'while the record lives');
    h.advance(121_000);
    assert.equal((await h.call('POST', '/transfers', p2)).code, '3205', 'after it');
    assert.equal((await h.call('POST', '/transfers', prepare)).code, '3205', 'an identical resend as well (the switch holds the transfer)');
    await h.close();
  });

  test('an answer naming an individual quote already executed → 3106: single then bulk, bulk then bulk, bulk then single', async () => {
    const h = setup();
    const t = issuedTransfer('1', T0);
    assert.equal((await putQuote(h, t)).status, 200);
    assert.equal((await h.call('POST', '/transfers', t.prepare)).status, 200);
    const inBulk = (bulkQuoteId: string) =>
      answerBulk(
        h,
        `/bulkQuotes/${bulkQuoteId}`,
        {
          individualQuoteResults: [{ quoteId: t.quoteRequest.quoteId, ...quoteAnswer(t), expiration: undefined }],
          expiration: new Date(T0 + 90_000).toISOString(),
        },
        { 'fspiop-source': 'payeefsp' },
      );
    assert.equal((await inBulk(randomUUID())).code, '3106');
    const b = issuedBulk('1', 1);
    assert.equal((await putBulkQuote(h, b)).status, 200);
    assert.equal((await h.call('POST', '/bulkTransfers', b.transfer())).status, 200);
    const again = { individualQuoteResults: b.answer.individualQuoteResults, expiration: new Date(T0 + 90_000).toISOString() };
    assert.equal((await answerBulk(h, `/bulkQuotes/${randomUUID()}`, again, { 'fspiop-source': 'payeefsp' })).code, '3106');
    assert.equal((await putQuote(h, b.items[0]!)).code, '3106');
    await h.close();
  });

  test('FX: another FSP’s fxTransfer under the conversion id does not make the FXP’s own answer fail', async () => {
    const h = setup();
    const conversionId = randomUUID();
    const terms = (fxp: string) => ({
      initiatingFsp: 'payerfsp',
      counterPartyFsp: fxp,
      sourceAmount: { currency: 'USD', amount: '100' },
      targetAmount: { currency: 'XOF', amount: '60000' },
    });
    const answer = (fxp: string, condition: string) => ({
      condition,
      conversionTerms: { conversionId, amountType: 'SEND', ...terms(fxp), expiration: new Date(T0 + 60_000).toISOString(), charges: [] },
    });
    const cond = () => createHash('sha256').update(randomBytes(32)).digest('base64url');
    // payerfsp answers as an FXP of its own and executes the conversion id first.
    const own = cond();
    assert.equal((await h.call('PUT', `/fxQuotes/${conversionId}`, answer('payerfsp', own), { 'fspiop-source': 'payerfsp' })).status, 200);
    const fx = { commitRequestId: conversionId, ...terms('payerfsp'), condition: own, expiration: new Date(T0 + 30_000).toISOString() };
    assert.equal((await h.call('POST', '/fxTransfers', fx, { 'fspiop-destination': 'payerfsp' })).status, 200);
    assert.equal((await h.call('PUT', `/fxQuotes/${conversionId}`, answer('fxpfsp', cond()), { 'fspiop-source': 'fxpfsp' })).status, 200);
    await h.close();
  });
});

describe('quote binding: fourth review of 2026-12-01 (session 16)', () => {
  test('another DFSP holding a payer’s packet cannot prepare it in its own name and use up the quote (3100, nothing claimed)', async () => {
    const h = setup();
    const t = issuedTransfer('1', T0);
    assert.equal((await putQuote(h, t)).status, 200);
    const r = await h.call('POST', '/transfers', { ...t.prepare, payerFsp: 'thirdfsp', transferId: randomUUID() }, { 'fspiop-source': 'thirdfsp' });
    assert.equal(r.code, '3100');
    assert.match(String(r.json.errorInformation?.errorDescription), /payerFsp differs from the packet/);
    assert.equal((await h.call('POST', '/transfers', t.prepare)).status, 200, 'the payer’s own transfer passes');
    await h.close();
  });
});

describe('quote binding: fifth review of 2026-12-01 (session 16)', () => {
  test('an intermediary answering quotes in its own name (the SDK’s USE_QUOTE_SOURCE_FSP_AS_TRANSFER_PAYEE_FSP) is the payee of its transfers', async () => {
    const h = setup();
    const t = issuedTransfer('1', T0, undefined, {
      quote: { payee: { partyIdInfo: { partyIdType: 'MSISDN', partyIdentifier: '27713803912', fspId: 'remotefsp' } } },
    });
    assert.equal((await putQuote(h, t, 'cnpfsp')).status, 200);
    const r = await h.call('POST', '/transfers', { ...t.prepare, payeeFsp: 'cnpfsp' }, { 'fspiop-destination': 'cnpfsp' });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    await h.close();
  });

  test('an answer the switch never got is given back only when it wrote all its records itself', async () => {
    // A concurrent identical answer that wrote part of them may have reached the payer: a partial give-back left a
    // bulk record without its reservations, and the quote could then be answered, and executed, a second time.
    const config = testConfig({ GATEWAY_ROLE: 'hub', ILP_QUOTE_BINDING: 'enforce' });
    const store = createMemoryStore({ maxEntries: 1000, now: () => T0 });
    const app = await makeApp({
      config: { ...config, jwsVerify: undefined, jwsSigning: undefined, replayProtection: false, inboundMtls: false },
      store,
      listener: 'inbound',
      now: () => T0,
    });
    app.upstream.answer = () => {
      throw new GatewayError('GW_UPSTREAM_UNREACHABLE', { detail: 'injected', context: { notSent: true } });
    };
    const send = async (path: string, body: unknown, source = 'payeefsp') => {
      const res = await app.request('PUT', path, {
        body: Buffer.from(JSON.stringify(body)),
        headers: { 'fspiop-source': source, 'fspiop-destination': 'payerfsp' },
      });
      return res.status;
    };
    // payerfsp asked payeefsp for both bulk quotes (POST /bulkQuotes passed the hub).
    for (const id of ['bq-1', 'bq-2'])
      await store.save(hubBulkQuoteRequestKey(id, 'payerfsp'), JSON.stringify({ e: 'payeefsp', n: 2, x: T0 + 60_000 }), 60_000);
    const [x, y] = [issuedTransfer('1', T0), issuedTransfer('1', T0)];
    const expiration = new Date(T0 + 60_000).toISOString();
    const answer = { individualQuoteResults: [x, y].map((t) => ({ quoteId: t.quoteRequest.quoteId, ...quoteAnswer(t), expiration: undefined })), expiration };
    // As a concurrent identical answer would have: x's reservation already written.
    const reservation = JSON.stringify({
      c: x.ilp.condition,
      h: createHash('sha256').update(String(x.ilp.ilpPacket), 'utf8').digest('base64url'),
      x: T0 + 60_000,
      b: 'bq-1',
    });
    await store.save(hubQuoteKey(String(x.quoteRequest.quoteId), 'payeefsp'), reservation, 60_000);
    assert.equal(await send('/bulkQuotes/bq-1', answer), 503);
    assert.equal(await store.get(hubQuoteKey(String(x.quoteRequest.quoteId), 'payeefsp')), reservation, 'kept');
    assert.notEqual(await store.get(hubQuoteKey(String(y.quoteRequest.quoteId), 'payeefsp')), undefined, 'kept: not all of it was this request’s');
    // Written all by itself, it is given back.
    const z = issuedTransfer('1', T0);
    const alone = { individualQuoteResults: [{ quoteId: z.quoteRequest.quoteId, ...quoteAnswer(z), expiration: undefined }], expiration };
    assert.equal(await send('/bulkQuotes/bq-2', alone), 503);
    assert.equal(await store.get(hubQuoteKey(String(z.quoteRequest.quoteId), 'payeefsp')), undefined, 'given back');
    await app.close();
  });
});
