import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import { conditionUseKey, issuedAnswerKey } from '../../src/ilp/records.js';
import type { JsonObject } from '../../src/ilp/transaction.js';
import { createMemoryStore } from '../../src/store/memory.js';
import { bulkTransferOf, counting, ilpApp, quoteRequest, quoteResponse, recorder, SECRET, testConfig } from '../helpers/ilp.js';
import { SDK_ILP_WRITERS } from '../helpers/sdk.js';

const require = createRequire(import.meta.url);
const { Ilp } = require('@mojaloop/sdk-standard-components');
const logger = { child: () => logger, debug() {}, info() {}, warn() {}, error() {}, isDebugEnabled: false };
const T0 = Date.now();
function setup(env: Record<string, string> = {}) {
  let now = T0;
  const store = counting(createMemoryStore({ maxEntries: 1000, now: () => now }));
  const telemetry = recorder();
  const config = testConfig({ GATEWAY_ROLE: 'dfsp', ...env });
  const opts = { config, store, telemetry, now: () => now };
  return {
    store,
    telemetry,
    inbound: ilpApp(opts).call,
    outbound: ilpApp({ ...opts, direction: 'outbound' }).call,
    dest: { 'fspiop-destination': 'payerfsp' },
    advance: (ms: number) => {
      now += ms;
    },
    now: () => now,
  };
}
const sdk174 = SDK_ILP_WRITERS.find((w) => w.release === '17.4.0')!;
const iso = (t: number) => new Date(t).toISOString();

describe('review4', () => {
  test('F1: spec-valid PUT /bulkQuotes with individualQuoteResults: [] is refused outbound', async () => {
    const h = setup({ ILP_VERSION: '1' });
    const r = await h.outbound('PUT', `/bulkQuotes/${randomUUID()}`, { individualQuoteResults: [], expiration: iso(T0 + 60_000) }, h.dest);
    console.log('F1 empty results ->', r.status, r.code, JSON.stringify(r.json));
  });

  test('F2: x beyond ILP_TRANSFER_MAX_TTL: re-answer while the use mark is still held → second execution later', async () => {
    const h = setup({ ILP_VERSION: '1', ILP_EXPIRY_GRACE_SECONDS: '0', ILP_TRANSFER_MAX_TTL_SECONDS: '3600' });
    const H = 3_600_000;
    const qr = quoteRequest();
    const resp = quoteResponse(T0, { expiration: iso(T0 + 3 * H) });
    const ilp = sdk174.make(SECRET).getQuoteResponseIlp(qr, resp);
    const put = { ...resp, ilpPacket: ilp.ilpPacket, condition: ilp.condition };
    const prep = (id: string, exp: number) => ({
      transferId: id,
      payerFsp: 'payerfsp',
      payeeFsp: 'payeefsp',
      amount: resp.transferAmount,
      ilpPacket: ilp.ilpPacket,
      condition: ilp.condition,
      expiration: iso(exp),
    });
    assert.equal((await h.inbound('POST', '/quotes', qr)).status, 200);
    assert.equal((await h.outbound('PUT', `/quotes/${qr.quoteId}`, put, h.dest)).status, 200);
    const first = randomUUID();
    console.log('F2 first transfer', (await h.inbound('POST', '/transfers', prep(first, T0 + 30_000))).status);
    h.advance(2.5 * H); // answer record (TTL 1h) long gone; use mark held until T0+3h
    console.log('F2 answer record at T0+2.5h:', await h.store.get(issuedAnswerKey(ilp.condition)), 'mark:', await h.store.get(conditionUseKey(ilp.condition)));
    // payer resends POST /quotes; the SDK answers again: same packet, fresh expiration (backend's 3 h)
    await h.inbound('POST', '/quotes', qr);
    const re = await h.outbound('PUT', `/quotes/${qr.quoteId}`, { ...put, expiration: iso(h.now() + 3 * H) }, h.dest);
    console.log('F2 re-answer while mark held', re.status, 'new record', await h.store.get(issuedAnswerKey(ilp.condition)));
    const during = await h.inbound('POST', '/transfers', prep(randomUUID(), h.now() + 30_000));
    console.log('F2 second transfer while mark held', during.status, during.code);
    h.advance(0.5 * H + 1000); // T0+3h+1s: mark ended, re-answer record still alive
    console.log('F2 mark at T0+3h+1s:', await h.store.get(conditionUseKey(ilp.condition)));
    const second = randomUUID();
    const r = await h.inbound('POST', '/transfers', prep(second, h.now() + 30_000));
    console.log(
      'F2 second transfer, new id, after mark ended',
      r.status,
      r.code,
      'mark now',
      await h.store.get(conditionUseKey(ilp.condition)),
      'first was',
      first,
      'second',
      second,
    );
  });

  test('F3 (documented residual): normal expiry, re-answer after both records ended → second execution', async () => {
    const h = setup({ ILP_VERSION: '1', ILP_EXPIRY_GRACE_SECONDS: '60' });
    const qr = quoteRequest();
    const resp = quoteResponse(T0, { expiration: iso(T0 + 60_000) });
    const ilp = sdk174.make(SECRET).getQuoteResponseIlp(qr, resp);
    const put = { ...resp, ilpPacket: ilp.ilpPacket, condition: ilp.condition };
    const prep = (id: string, exp: number) => ({
      transferId: id,
      payerFsp: 'payerfsp',
      payeeFsp: 'payeefsp',
      amount: resp.transferAmount,
      ilpPacket: ilp.ilpPacket,
      condition: ilp.condition,
      expiration: iso(exp),
    });
    await h.inbound('POST', '/quotes', qr);
    await h.outbound('PUT', `/quotes/${qr.quoteId}`, put, h.dest);
    console.log('F3 first', (await h.inbound('POST', '/transfers', prep(randomUUID(), T0 + 30_000))).status);
    h.advance(121_000);
    await h.inbound('POST', '/quotes', qr);
    await h.outbound('PUT', `/quotes/${qr.quoteId}`, { ...put, expiration: iso(h.now() + 60_000) }, h.dest);
    const r = await h.inbound('POST', '/transfers', prep(randomUUID(), h.now() + 30_000));
    console.log('F3 second execution', r.status, r.code);
  });

  test('F4: same packet answered singly first, then in a bulk quote: b binding lost', async () => {
    const h = setup({ ILP_VERSION: '1' });
    const sdk = Ilp.ilpFactory('v1', { secret: SECRET, logger });
    const q = quoteRequest();
    const amount = { amount: '100.50', currency: 'USD' };
    const txq = { transactionId: q.transactionId, quoteId: q.quoteId, payee: q.payee, payer: q.payer, transactionType: q.transactionType };
    const single = sdk.getQuoteResponseIlp(txq, { transferAmount: amount, note: '' });
    const bulkItem = sdk.getQuoteResponseIlp(txq, { transferAmount: amount, note: '' });
    console.log('F4 same condition', single.condition === bulkItem.condition);
    await h.outbound(
      'PUT',
      `/quotes/${q.quoteId}`,
      { transferAmount: amount, expiration: iso(T0 + 60_000), ilpPacket: single.ilpPacket, condition: single.condition },
      h.dest,
    );
    const B = randomUUID();
    await h.outbound(
      'PUT',
      `/bulkQuotes/${B}`,
      {
        individualQuoteResults: [{ quoteId: q.quoteId, transferAmount: amount, ilpPacket: bulkItem.ilpPacket, condition: bulkItem.condition }],
        expiration: iso(T0 + 60_000),
      },
      h.dest,
    );
    console.log('F4 record', await h.store.get(issuedAnswerKey(bulkItem.condition)));
    const bulk = bulkTransferOf(
      [{ transferId: randomUUID(), prepare: { amount, ilpPacket: bulkItem.ilpPacket, condition: bulkItem.condition } as JsonObject }],
      iso(T0 + 30_000),
      { bulkQuoteId: randomUUID() },
    );
    const r = await h.inbound('POST', '/bulkTransfers', bulk);
    console.log('F4 bulk transfer under another bulkQuoteId', r.status, r.code);
  });
});
