// DFSP role, the backend's own answers (PUT /quotes/{ID} carrying ilpPacket + condition made under the secret it shares
// with this gateway, the SDK's getQuoteResponseIlp; third re-review of 2026-12-02). They took the quote_answer path,
// which neither refused an executed quote (ilp:quse) nor bounded the packet's expiration to ILP_QUOTE_MAX_TTL_SECONDS,
// while the quote's one-use mark lives until execution + ILP_QUOTE_MAX_TTL_SECONDS (+ grace): a packet issued by such
// an answer, and expiring later, executed the quote a second time once the mark had ended. Such answers are now refused
// at the gateway (3106 for an executed quote, 3100 beyond the bound): their packet never reaches the payer.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { createKeyring, type IlpVersion } from '../../src/ilp/keyring.js';
import { buildIlp } from '../../src/ilp/packet.js';
import { type JsonObject, transactionObjectOf } from '../../src/ilp/transaction.js';
import { createMemoryStore } from '../../src/store/memory.js';
import { ilpApp, quoteRequest, quoteResponse, SECRET, testConfig } from '../helpers/ilp.js';

function dfsp(version: IlpVersion) {
  const T0 = Date.now();
  const clock = { now: T0 };
  const store = createMemoryStore({ maxEntries: 1000, now: () => clock.now });
  const opts = { config: testConfig({ GATEWAY_ROLE: 'dfsp', ILP_VERSION: version }), store, now: () => clock.now };
  const inbound = ilpApp(opts);
  const outbound = ilpApp({ ...opts, direction: 'outbound' });
  const dest = { 'fspiop-destination': 'payerfsp' };
  /** The backend (SDK sharing ILP_SECRET) answers with a packet of its own making; the answer goes out through the gateway. */
  const sdkAnswer = async (qr: JsonObject, expiration: number | undefined) => {
    const resp = quoteResponse(clock.now, expiration === undefined ? {} : { expiration: new Date(expiration).toISOString() });
    if (expiration === undefined) delete resp.expiration;
    const ilp = buildIlp(version, transactionObjectOf(qr, resp), createKeyring([SECRET]));
    const r = await outbound.call('PUT', `/quotes/${qr.quoteId}`, { ...resp, ilpPacket: ilp.ilpPacket, condition: ilp.condition }, dest);
    return { status: r.status, code: r.code, issued: { transferAmount: resp.transferAmount, ilpPacket: ilp.ilpPacket, condition: ilp.condition } };
  };
  const prepare = (issued: JsonObject): JsonObject => ({
    transferId: randomUUID(),
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
  return { T0, clock, inbound, outbound, sdkAnswer, prepare, close };
}

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
