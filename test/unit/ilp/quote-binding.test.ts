// Hub quote binding (ILP_QUOTE_BINDING=enforce, docs/ilp.md "Quote binding"): a POST /transfers must carry the
// packet and condition that its payee issued, through this hub, for the quote the packet names.

import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import type { IlpVersion } from '../../../src/ilp/keyring.js';
import { hubFxQuoteKey } from '../../../src/ilp/records.js';
import { createMemoryStore } from '../../../src/store/memory.js';
import { counting, fulfilBody, ilpApp, issuedTransfer, recorder, testConfig } from '../../helpers/ilp.js';

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
      assert.equal(h.store.calls, 3, 'one read of the quote record, the quote claimed for this transfer, one write of the transfer record');
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
  test('a quote record lives at most ILP_QUOTE_MAX_TTL_SECONDS, whatever expiration the payee gives', async () => {
    const h = setup({ ILP_QUOTE_MAX_TTL_SECONDS: '30' });
    const t = issuedTransfer('1', T0, undefined, { response: { expiration: '2099-01-01T00:00:00.000Z' } });
    assert.equal((await putQuote(h, t)).status, 200);
    h.advance(31_000);
    assert.equal((await h.call('POST', '/transfers', { ...t.prepare, expiration: new Date(T0 + 60_000).toISOString() })).code, '3205');
    await h.close();
  });

  test('ILP_QUOTE_BINDING=off: a transfer without a quote passes, and quote answers cost no store work', async () => {
    const h = setup({ ILP_QUOTE_BINDING: 'off' });
    const t = issuedTransfer('1', T0);
    assert.equal((await putQuote(h, t)).status, 200);
    assert.equal(h.store.calls, 0);
    assert.equal((await h.call('POST', '/transfers', t.prepare)).status, 200);
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
