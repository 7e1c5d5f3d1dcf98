// DFSP (payee) role, hostile review of 2026-12-02.
// 1. One quote, one transfer. The one-use mark was kept per condition, and every answer to one quote issues another
//    condition (the answer's expiration is in the packet): a payer that executed a quote and asked for it again (a resent
//    POST /quotes passes as Mojaloop's duplicate, and the backend answers it anew) got a second packet and executed the
//    quote a second time. The quote id inside the issued packet is now claimed beside the condition, for single
//    transfers and bulk items alike (src/ilp/middleware.ts claimCondition, quoteUseKey).
// 2. No fulfilment after the transfer's expiration. The commit record kept no expiration, so a commit within the
//    record's grace derived and sent the payee's fulfilment for a transfer that could no longer complete; it is now
//    refused with 3303, as the hub role refuses such a fulfilment.
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
      const first = h.prepare(await h.answer(qr));
      assert.equal((await h.inbound.call('POST', '/transfers', first)).status, 200);
      h.clock.now += 1000;
      const second = await h.answer(qr); // the payer asks again; the backend answers anew
      assert.notEqual(second.condition, first.condition, 'another condition for the same quote');
      const r = await h.inbound.call('POST', '/transfers', h.prepare(second));
      assert.equal(r.code, '3106');
      assert.equal(r.json.upstream, undefined, 'not forwarded');
      assert.equal((await h.inbound.call('POST', '/transfers', first)).status, 200, 'a resend of the first transfer passes');
    } finally {
      await h.close();
    }
  });
}

test('a quote executed by a single transfer cannot be executed again as a bulk item under a second answer, nor twice inside one bulk', async () => {
  const h = dfsp('1');
  try {
    const qr = quoteRequest();
    const a1 = await h.answer(qr);
    assert.equal((await h.inbound.call('POST', '/transfers', h.prepare(a1))).status, 200);
    h.clock.now += 1000;
    const a2 = await h.answer(qr);
    const expiration = new Date(h.clock.now + 30_000).toISOString();
    const bulk = await h.inbound.call('POST', '/bulkTransfers', bulkTransferOf([{ transferId: randomUUID(), prepare: h.prepare(a2) }], expiration));
    assert.equal(bulk.code, '3106');

    // Two answers of one fresh quote in one bulk.
    const other = quoteRequest();
    const b1 = await h.answer(other);
    h.clock.now += 1000;
    const b2 = await h.answer(other);
    const both = bulkTransferOf(
      [
        { transferId: randomUUID(), prepare: h.prepare(b1) },
        { transferId: randomUUID(), prepare: h.prepare(b2) },
      ],
      new Date(h.clock.now + 30_000).toISOString(),
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
