// DFSP (payee) role, hostile review of 2026-12-02 and its two re-reviews.
// 1. One quote, one transfer. The one-use mark was kept per condition, and every answer to one quote issues another
//    condition (the answer's expiration is in the packet): a payer that asked for a quote again executed it once per
//    answer. The quote id inside the issued packet is now claimed beside the condition, holding the transfer id and its
//    condition (src/ilp/middleware.ts claimCondition, quoteUseKey), for single transfers and bulk items alike; it lives
//    until every answer issued before it has expired (answers are at most ILP_QUOTE_MAX_TTL_SECONDS ahead), and an
//    answer to an executed quote is refused.
// 2. No fulfilment after the transfer's (the fxTransfer's) expiration: 3303, as the hub role refuses such a fulfilment.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import type { IlpVersion } from '../../src/ilp/keyring.js';
import { dfspTransferKey } from '../../src/ilp/records.js';
import type { JsonObject } from '../../src/ilp/transaction.js';
import { createMemoryStore } from '../../src/store/memory.js';
import { bulkTransferOf, ilpApp, issuedTransfer, quoteRequest, quoteResponse, testConfig } from '../helpers/ilp.js';

const T0 = Date.now();

function dfsp(version: IlpVersion) {
  const clock = { now: T0 };
  const store = createMemoryStore({ maxEntries: 1000, now: () => clock.now });
  const opts = { config: testConfig({ GATEWAY_ROLE: 'dfsp', ILP_VERSION: version }), store, now: () => clock.now };
  const inbound = ilpApp(opts);
  const outbound = ilpApp({ ...opts, direction: 'outbound' });
  const dest = { 'fspiop-destination': 'payerfsp' };
  /** The payer's POST /quotes, then the backend's answer (no ILP of its own) completed by the gateway. */
  const answer = async (qr: JsonObject) => {
    assert.equal((await inbound.call('POST', '/quotes', qr)).status, 200);
    const a = await outbound.call('PUT', `/quotes/${qr.quoteId}`, quoteResponse(clock.now), dest);
    assert.equal(a.status, 200);
    return a.json.rewritten as JsonObject;
  };
  const prepare = (issued: JsonObject, transferId = randomUUID()): JsonObject => ({
    transferId,
    payerFsp: 'payerfsp',
    payeeFsp: 'payeefsp',
    amount: issued.transferAmount,
    ilpPacket: issued.ilpPacket,
    condition: issued.condition,
    expiration: new Date(clock.now + 30_000).toISOString(),
  });
  const close = async () => {
    await inbound.close();
    await outbound.close();
  };
  return { clock, store, inbound, outbound, dest, answer, prepare, close };
}

for (const version of ['1', '4'] as const) {
  test(`ILP v${version}: a quote answered twice serves one transfer; the second answer's transfer → 3106, not forwarded`, async () => {
    const h = dfsp(version);
    try {
      const qr = quoteRequest();
      const a1 = await h.answer(qr);
      h.clock.now += 1000;
      const a2 = await h.answer(qr); // the payer asked again before executing; the backend answered anew
      assert.notEqual(a2.condition, a1.condition, 'another condition for the same quote');
      const first = h.prepare(a1);
      assert.equal((await h.inbound.call('POST', '/transfers', first)).status, 200);
      const r = await h.inbound.call('POST', '/transfers', h.prepare(a2));
      assert.equal(r.code, '3106');
      assert.equal(r.json.upstream, undefined, 'not forwarded');
      assert.equal((await h.inbound.call('POST', '/transfers', first)).status, 200, 'a resend of the first transfer passes');
    } finally {
      await h.close();
    }
  });

  test(`ILP v${version}: an executed quote is not answered again (3106), and its mark outlives every answer issued before it`, async () => {
    const h = dfsp(version);
    try {
      const qr = quoteRequest();
      const T0 = h.clock.now;
      const a1 = await h.answer(qr); // expires T0 + 60 s
      h.clock.now = T0 + 50_000;
      // A second answer with a longer life (within ILP_QUOTE_MAX_TTL_SECONDS): expires T0 + 1050 s.
      assert.equal((await h.inbound.call('POST', '/quotes', qr)).status, 200);
      const long = await h.outbound.call(
        'PUT',
        `/quotes/${qr.quoteId}`,
        quoteResponse(h.clock.now, { expiration: new Date(T0 + 1_050_000).toISOString() }),
        h.dest,
      );
      assert.equal(long.status, 200);
      const a2 = long.json.rewritten as JsonObject;
      h.clock.now = T0 + 51_000;
      assert.equal((await h.inbound.call('POST', '/transfers', h.prepare(a1))).status, 200, 'executed');
      const again = await h.outbound.call('PUT', `/quotes/${qr.quoteId}`, quoteResponse(h.clock.now), h.dest);
      assert.equal(again.code, '3106', 'an executed quote is not answered again');
      // Past the executing answer's expiration and the transfer's, + grace: the second answer is still valid.
      h.clock.now = T0 + 300_000;
      const r = await h.inbound.call('POST', '/transfers', h.prepare(a2));
      assert.equal(r.code, '3106', `executed a second time (status ${r.status})`);
    } finally {
      await h.close();
    }
  });
}

test('an answer expiring more than ILP_QUOTE_MAX_TTL_SECONDS ahead issues nothing (3100)', async () => {
  const h = dfsp('1');
  try {
    const qr = quoteRequest();
    assert.equal((await h.inbound.call('POST', '/quotes', qr)).status, 200);
    const far = new Date(h.clock.now + 3601_000).toISOString();
    const r = await h.outbound.call('PUT', `/quotes/${qr.quoteId}`, quoteResponse(h.clock.now, { expiration: far }), h.dest);
    assert.equal(r.code, '3100');
    assert.equal(r.json.rewritten, undefined);
  } finally {
    await h.close();
  }
});

test('bulk items: a second answer of an executed quote, two answers of one quote, the executing transfer id with another answer → 3106', async () => {
  const h = dfsp('1');
  try {
    const expiration = () => new Date(h.clock.now + 30_000).toISOString();
    const qr = quoteRequest();
    const a1 = await h.answer(qr);
    h.clock.now += 1000;
    const a2 = await h.answer(qr);
    const executing = h.prepare(a1);
    assert.equal((await h.inbound.call('POST', '/transfers', executing)).status, 200);
    const other = await h.inbound.call('POST', '/bulkTransfers', bulkTransferOf([{ transferId: randomUUID(), prepare: h.prepare(a2) }], expiration()));
    assert.equal(other.code, '3106');
    // The executing transfer's own id, carrying the second answer's packet: another execution, not a resend.
    const sameId = await h.inbound.call(
      'POST',
      '/bulkTransfers',
      bulkTransferOf([{ transferId: String(executing.transferId), prepare: h.prepare(a2) }], expiration()),
    );
    assert.equal(sameId.code, '3106');

    // Two answers of one fresh quote in one bulk.
    const fresh = quoteRequest();
    const b1 = await h.answer(fresh);
    h.clock.now += 1000;
    const b2 = await h.answer(fresh);
    const both = bulkTransferOf(
      [
        { transferId: randomUUID(), prepare: h.prepare(b1) },
        { transferId: randomUUID(), prepare: h.prepare(b2) },
      ],
      expiration(),
    );
    assert.equal((await h.inbound.call('POST', '/bulkTransfers', both)).code, '3106');
    assert.equal((await h.inbound.call('POST', '/transfers', h.prepare(b2))).status, 200, 'nothing was claimed: the quote is still unused');
  } finally {
    await h.close();
  }
});

test('no fulfilment is derived for a transfer past its expiration (3303); before it, the commit gets its fulfilment', async () => {
  const h = dfsp('1');
  try {
    const late = issuedTransfer('1', T0); // expires at T0 + 30 s
    const onTime = issuedTransfer('1', T0);
    assert.equal((await h.inbound.call('POST', '/transfers', late.prepare)).status, 200);
    assert.equal((await h.inbound.call('POST', '/transfers', onTime.prepare)).status, 200);
    h.clock.now = T0 + 29_000;
    const ok = await h.outbound.call('PUT', `/transfers/${onTime.transferId}`, { transferState: 'COMMITTED' }, h.dest);
    assert.equal((ok.json.rewritten as JsonObject).fulfilment, onTime.ilp.fulfilment);
    h.clock.now = T0 + 45_000; // past the expiration, within the record's grace
    const r = await h.outbound.call('PUT', `/transfers/${late.transferId}`, { transferState: 'COMMITTED' }, h.dest);
    assert.equal(r.code, '3303');
    assert.equal(r.json.rewritten, undefined, 'no fulfilment sent');
  } finally {
    await h.close();
  }
});

test('a commit record of an earlier gateway (no expiration) still gets its fulfilment; a resend of its prepare is the same prepare', async () => {
  const h = dfsp('1');
  try {
    const t = issuedTransfer('1', T0);
    await h.store.save(dfspTransferKey(t.transferId), JSON.stringify({ p: t.prepare.ilpPacket, c: t.prepare.condition }), 60_000);
    assert.equal((await h.inbound.call('POST', '/transfers', t.prepare)).status, 200, 'the resend matches the earlier record');
    const r = await h.outbound.call('PUT', `/transfers/${t.transferId}`, { transferState: 'COMMITTED' }, h.dest);
    assert.equal((r.json.rewritten as JsonObject).fulfilment, t.ilp.fulfilment);
  } finally {
    await h.close();
  }
});

test('FXP: no fulfilment is derived for an fxTransfer past its expiration (3303), as for a transfer', async () => {
  const T0 = Date.now();
  let now = T0;
  const opts = {
    config: testConfig({ GATEWAY_ROLE: 'dfsp', ILP_VERSION: '4' }),
    store: createMemoryStore({ maxEntries: 1000, now: () => now }),
    now: () => now,
  };
  const inbound = ilpApp(opts);
  const outbound = ilpApp({ ...opts, direction: 'outbound' });
  const dest = { 'fspiop-destination': 'payerfsp' };
  try {
    const terms = {
      conversionId: randomUUID(),
      determiningTransferId: randomUUID(),
      initiatingFsp: 'payerfsp',
      counterPartyFsp: 'payeefsp',
      amountType: 'SEND',
      sourceAmount: { currency: 'USD', amount: '300' },
      targetAmount: { currency: 'ZMW', amount: '7950.5' },
      expiration: new Date(T0 + 60_000).toISOString(), // the conversion terms: 60 s
      charges: [],
    };
    const answer = await outbound.call('PUT', `/fxQuotes/${randomUUID()}`, { conversionTerms: terms }, dest);
    assert.equal(answer.status, 200);
    const condition = (answer.json.rewritten as JsonObject).condition;
    const fxTransfer = {
      commitRequestId: terms.conversionId,
      determiningTransferId: terms.determiningTransferId,
      initiatingFsp: 'payerfsp',
      counterPartyFsp: 'payeefsp',
      sourceAmount: terms.sourceAmount,
      targetAmount: terms.targetAmount,
      condition,
      expiration: new Date(T0 + 10_000).toISOString(), // the fxTransfer: 10 s
    };
    assert.equal((await inbound.call('POST', '/fxTransfers', fxTransfer)).status, 200);
    now = T0 + 30_000; // the fxTransfer expired 20 s ago; the terms still run
    const r = await outbound.call('PUT', `/fxTransfers/${terms.conversionId}`, { conversionState: 'RESERVED' }, dest);
    assert.equal(r.code, '3303', `the FXP's fulfilment left for an expired fxTransfer: ${JSON.stringify(r.json.rewritten)}`);
  } finally {
    await inbound.close();
    await outbound.close();
  }
});
