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
import { createKeyring, type IlpVersion } from '../../src/ilp/keyring.js';
import { buildIlp } from '../../src/ilp/packet.js';
import { dfspTransferKey } from '../../src/ilp/records.js';
import { type JsonObject, transactionObjectOf } from '../../src/ilp/transaction.js';
import { createMemoryStore } from '../../src/store/memory.js';
import { bulkTransferOf, ilpApp, issuedTransfer, quoteRequest, quoteResponse, SECRET, testConfig } from '../helpers/ilp.js';

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
  /** The backend (an SDK sharing ILP_SECRET) answers with a packet of its own making; the answer goes out through the gateway. */
  const sdkAnswer = async (qr: JsonObject, expiration: number | undefined) => {
    const resp = quoteResponse(clock.now, expiration === undefined ? {} : { expiration: new Date(expiration).toISOString() });
    if (expiration === undefined) delete resp.expiration;
    const ilp = buildIlp(version, transactionObjectOf(qr, resp), createKeyring([SECRET]));
    const r = await outbound.call('PUT', `/quotes/${qr.quoteId}`, { ...resp, ilpPacket: ilp.ilpPacket, condition: ilp.condition }, dest);
    return { status: r.status, code: r.code, issued: { transferAmount: resp.transferAmount, ilpPacket: ilp.ilpPacket, condition: ilp.condition } };
  };
  const close = async () => {
    await inbound.close();
    await outbound.close();
  };
  return { T0: clock.now, clock, store, inbound, outbound, dest, answer, sdkAnswer, prepare, close };
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

// DFSP role, the backend's own answers (PUT /quotes/{ID} carrying ilpPacket + condition made under the secret it shares
// with this gateway, the SDK's getQuoteResponseIlp; third re-review of 2026-12-02). They took the quote_answer path,
// which neither refused an executed quote (ilp:quse) nor bounded the packet's expiration to ILP_QUOTE_MAX_TTL_SECONDS,
// while the quote's one-use mark lives until execution + ILP_QUOTE_MAX_TTL_SECONDS (+ grace): a packet issued by such
// an answer, and expiring later, executed the quote a second time once the mark had ended. Such answers are now refused
// at the gateway (3106 for an executed quote, 3100 beyond the bound): their packet never reaches the payer.
for (const version of ['1', '4'] as const) {
  test(`ILP v${version}: an executed quote answered again by the backend is refused (3106): its packet never leaves`, async () => {
    const h = dfsp(version);
    try {
      const qr = quoteRequest();
      assert.equal((await h.inbound.call('POST', '/quotes', qr)).status, 200);
      const a1 = await h.sdkAnswer(qr, h.T0 + 60_000);
      assert.equal(a1.status, 200);
      h.clock.now = h.T0 + 1_000;
      assert.equal((await h.inbound.call('POST', '/transfers', h.prepare(a1.issued))).status, 200, 'first execution');
      // Half an hour later, while the quote's mark still lives: the payer asks for the quote again (a resend), the
      // backend answers anew, 3600 s ahead (= ILP_QUOTE_MAX_TTL_SECONDS, the bound quoteResponse enforces).
      h.clock.now = h.T0 + 1_800_000;
      assert.equal((await h.inbound.call('POST', '/quotes', qr)).status, 200);
      const a2 = await h.sdkAnswer(qr, h.clock.now + 3_600_000);
      assert.equal(a2.code, '3106', `the re-answer to the executed quote went out with status ${a2.status}`);
    } finally {
      await h.close();
    }
  });

  test(`ILP v${version}: a backend answer expiring beyond ILP_QUOTE_MAX_TTL_SECONDS is refused (3100): no packet outlives the quote's mark`, async () => {
    const h = dfsp(version);
    try {
      const qr = quoteRequest();
      assert.equal((await h.inbound.call('POST', '/quotes', qr)).status, 200);
      const a1 = await h.sdkAnswer(qr, h.T0 + 60_000);
      h.clock.now = h.T0 + 1_000;
      assert.equal((await h.inbound.call('POST', '/quotes', qr)).status, 200, 'the payer asks again');
      const a2 = await h.sdkAnswer(qr, h.T0 + 10 * 3_600_000); // 10 h ahead
      assert.equal(a2.code, '3100', `the 10 h answer went out with status ${a2.status}`);
      h.clock.now = h.T0 + 2_000;
      assert.equal((await h.inbound.call('POST', '/transfers', h.prepare(a1.issued))).status, 200, 'the first answer executes');
    } finally {
      await h.close();
    }
  });
}

test('ILP v1, undated packet (SDK 17.x): the same packet answered again after its condition mark ended is refused while the quote mark lives (3106)', async () => {
  const h = dfsp('1');
  try {
    const qr = quoteRequest();
    assert.equal((await h.inbound.call('POST', '/quotes', qr)).status, 200);
    const a1 = await h.sdkAnswer(qr, undefined); // undated: dated by the answer, now + 60 s
    assert.equal(a1.status, 200);
    h.clock.now = h.T0 + 1_000;
    assert.equal((await h.inbound.call('POST', '/transfers', h.prepare(a1.issued))).status, 200, 'first execution');
    // The condition mark ends at max(answer, transfer) + grace (~2.5 min); the quote mark lives on for an hour.
    h.clock.now = h.T0 + 1_800_000;
    assert.equal((await h.inbound.call('POST', '/quotes', qr)).status, 200);
    const resp = quoteResponse(h.clock.now, { expiration: new Date(h.clock.now + 3_600_000).toISOString() });
    const again = await h.outbound.call(
      'PUT',
      `/quotes/${qr.quoteId}`,
      { ...resp, ilpPacket: a1.issued.ilpPacket, condition: a1.issued.condition },
      { 'fspiop-destination': 'payerfsp' },
    );
    assert.equal(again.code, '3106', `the re-answer dating the executed packet anew went out with status ${again.status}`);
  } finally {
    await h.close();
  }
});
