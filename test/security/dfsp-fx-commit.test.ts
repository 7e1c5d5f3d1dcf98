// An FXP commit after the fxTransfer's expiration (third re-review of 2026-12-02). It was refused (3303) only while the
// kept expiration (ilp:fxpx, TTL: the fxTransfer's expiration + ILP_EXPIRY_GRACE_SECONDS) lived; the conversion's
// packet record (ilp:fxp, TTL: the terms' expiration + grace) outlives it, and a commit in between got the fulfilment.
// A conversion now commits only an fxTransfer accepted here and in force: without its record, 3208, no fulfilment; and
// a commit for a conversion no fxTransfer was accepted for is refused the same way.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import type { JsonObject } from '../../src/ilp/transaction.js';
import { createMemoryStore } from '../../src/store/memory.js';
import { fxConversion, ilpApp, testConfig } from '../helpers/ilp.js';

test('FXP: a commit past the fxTransfer expiration, within its grace (3303) or after it (3208), gets no fulfilment; nor one with no fxTransfer accepted', async () => {
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
    const fx = fxConversion(T0, { termsMs: 600_000, transferMs: 10_000 }); // terms 10 min, fxTransfer 10 s
    const { terms } = fx;
    const answer = await outbound.call('PUT', `/fxQuotes/${fx.conversionRequestId}`, fx.response, dest);
    assert.equal(answer.status, 200);
    const fxTransfer = fx.fxTransfer((answer.json.rewritten as JsonObject).condition);
    assert.equal((await inbound.call('POST', '/fxTransfers', fxTransfer)).status, 200);
    now = T0 + 30_000;
    const early = await outbound.call('PUT', `/fxTransfers/${terms.conversionId}`, { conversionState: 'RESERVED' }, dest);
    assert.equal(early.code, '3303', 'refused within the grace (the fix)');
    now = T0 + 120_000; // 110 s after the fxTransfer's expiration: past its grace (60 s), the terms run until T0 + 600 s
    const r = await outbound.call('PUT', `/fxTransfers/${terms.conversionId}`, { conversionState: 'RESERVED' }, dest);
    assert.equal(r.code, '3208', `the FXP's fulfilment left for an fxTransfer expired 110 s ago: ${JSON.stringify(r.json.rewritten)}`);
    assert.equal(r.json.rewritten, undefined);
    // Another conversion answered, but no fxTransfer accepted for it: no fulfilment either.
    const other = await outbound.call('PUT', `/fxQuotes/${randomUUID()}`, { conversionTerms: { ...terms, conversionId: randomUUID() } }, dest);
    assert.equal(other.status, 200);
    const id = ((other.json.rewritten as JsonObject).conversionTerms as JsonObject).conversionId;
    const none = await outbound.call('PUT', `/fxTransfers/${String(id)}`, { conversionState: 'RESERVED' }, dest);
    assert.equal(none.code, '3208');
  } finally {
    await inbound.close();
    await outbound.close();
  }
});
