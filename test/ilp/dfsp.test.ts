// DFSP (payee) role: store the quote request, attach ILP to the quote response, check the transfer's
// condition and quote expiry, attach the fulfilment on commit. Cross-checked with the SDK.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { createMemoryStore } from '../../src/store/memory.js';
import type { IlpVersion } from '../../src/ilp/keyring.js';
import type { JsonObject } from '../../src/ilp/transaction.js';
import { counting, ilpApp, issuedTransfer, quoteRequest, quoteResponse, recorder, SECRET, testConfig } from './helpers.js';

const require = createRequire(import.meta.url);
const { Ilp } = require('@mojaloop/sdk-standard-components');
const logger = { child: () => logger, debug() {}, info() {}, warn() {}, error() {}, isDebugEnabled: false };
const T0 = Date.now();
const OLD_SECRET = 'the-previous-ilp-secret-still-in-flight';

function setup(env: Record<string, string> = {}) {
  let now = T0;
  const store = counting(createMemoryStore({ maxEntries: 1000, now: () => now }));
  const telemetry = recorder();
  const config = testConfig({ GATEWAY_ROLE: 'dfsp', ...env });
  const opts = { config, store, telemetry, now: () => now };
  const inbound = ilpApp(opts).call;
  const outbound = ilpApp({ ...opts, direction: 'outbound' }).call;
  const dest = { 'fspiop-destination': 'payerfsp' };
  return { store, telemetry, inbound, outbound, dest, advance: (ms: number) => { now += ms; } };
}

for (const v of ['1', '4'] as IlpVersion[]) {
  describe(`DFSP role, ILP v${v}`, () => {
    test('quote → ILP attached (= SDK getQuoteResponseIlp) → transfer accepted → fulfilment attached (= SDK calculateFulfil); one round trip each', async () => {
      const h = setup({ ILP_VERSION: v });
      const sdk = Ilp.ilpFactory(`v${v}`, { secret: SECRET, logger });
      const qr = quoteRequest();
      assert.equal((await h.inbound('POST', '/quotes', qr)).status, 200);
      assert.equal(h.store.calls, 1);

      const resp = quoteResponse(T0);
      const q = await h.outbound('PUT', `/quotes/${qr.quoteId}`, resp, h.dest);
      assert.equal(q.status, 200);
      assert.equal(h.store.calls, 2);
      const rewritten = q.json.rewritten as JsonObject;
      const expected = sdk.getQuoteResponseIlp(qr, resp);
      assert.equal(rewritten.ilpPacket, expected.ilpPacket);
      assert.equal(rewritten.condition, expected.condition);
      assert.equal(rewritten.fulfilment, undefined);
      assert.deepEqual(rewritten.transferAmount, resp.transferAmount);

      const prepare = { transferId: qr.transactionId, payerFsp: 'payerfsp', payeeFsp: 'payeefsp', amount: resp.transferAmount,
        ilpPacket: rewritten.ilpPacket, condition: rewritten.condition, expiration: new Date(T0 + 30_000).toISOString() };
      assert.equal((await h.inbound('POST', '/transfers', prepare)).status, 200);
      assert.equal(h.store.calls, 3);

      const commit = await h.outbound('PUT', `/transfers/${qr.transactionId}`, { transferState: 'COMMITTED', completedTimestamp: new Date(T0).toISOString() }, h.dest);
      assert.equal(commit.status, 200);
      assert.equal(h.store.calls, 4);
      assert.equal((commit.json.rewritten as JsonObject).fulfilment, expected.fulfilment);
      assert.equal(sdk.validateFulfil((commit.json.rewritten as JsonObject).fulfilment, rewritten.condition), true);
      assert.deepEqual(h.telemetry.ilpEvents.map((e) => `${e.check}:${e.outcome}`),
        ['quote_request:ok', 'quote_response:ok', 'transfer_condition:ok', 'fulfil_attach:ok']);
    });

    test('a condition issued under another secret → 3100 GW_ILP_PACKET_MISMATCH', async () => {
      const h = setup({ ILP_VERSION: v });
      const t = issuedTransfer(v, T0, 'somebody-elses-secret-of-enough-length');
      const r = await h.inbound('POST', '/transfers', t.prepare);
      assert.equal(r.code, '3100');
      assert.equal(h.telemetry.ilpEvents[0]?.errorType, 'GW_ILP_PACKET_MISMATCH');
    });

    test('keyring rotation: a quote issued under the old (second) secret is still accepted and fulfilled', async () => {
      const h = setup({ ILP_VERSION: v, ILP_SECRET: `${SECRET},${OLD_SECRET}` });
      const t = issuedTransfer(v, T0, OLD_SECRET);
      assert.equal((await h.inbound('POST', '/transfers', t.prepare)).status, 200);
      const commit = await h.outbound('PUT', `/transfers/${t.transferId}`, { transferState: 'COMMITTED' }, h.dest);
      assert.equal((commit.json.rewritten as JsonObject).fulfilment, t.ilp.fulfilment);
    });

    test('quote expired before the transfer arrives → 3302 GW_ILP_QUOTE_EXPIRED', async () => {
      const h = setup({ ILP_VERSION: v });
      const t = issuedTransfer(v, T0, SECRET, { response: { expiration: new Date(T0 + 10_000).toISOString() } });
      h.advance(20_000);
      const r = await h.inbound('POST', '/transfers', t.prepare);
      assert.equal(r.code, '3302');
    });

    for (const [name, change] of [
      ['payeeFsp', { payeeFsp: 'otherfsp' }],
      ['payerFsp', { payerFsp: 'otherfsp' }],
      ['amount', { amount: { amount: '100.49', currency: 'USD' } }],
      ['currency', { amount: { amount: '100.50', currency: 'EUR' } }],
    ] as const) {
      test(`transfer body whose ${name} differs from the packet → 3100 GW_ILP_PACKET_MISMATCH`, async () => {
        const h = setup({ ILP_VERSION: v });
        const t = issuedTransfer(v, T0);
        const r = await h.inbound('POST', '/transfers', { ...t.prepare, ...change });
        assert.equal(r.code, '3100');
        assert.equal(h.telemetry.ilpEvents[0]?.errorType, 'GW_ILP_PACKET_MISMATCH');
      });
    }
  });
}

describe('DFSP role, edge cases', () => {
  test('"100.5" in the body matches "100.50" in the packet (numeric, not string, comparison)', async () => {
    const h = setup();
    const t = issuedTransfer('1', T0);
    assert.equal((await h.inbound('POST', '/transfers', { ...t.prepare, amount: { amount: '100.5', currency: 'USD' } })).status, 200);
  });

  test('PUT /quotes for a quote never received → 3205 GW_ILP_QUOTE_UNKNOWN', async () => {
    const h = setup();
    const r = await h.outbound('PUT', '/quotes/00000000-0000-4000-8000-000000000000', quoteResponse(T0), h.dest);
    assert.equal(r.code, '3205');
  });

  test('quote response without expiration gets now + QUOTE_EXPIRY_SECONDS (v4 needs it)', async () => {
    const h = setup({ ILP_VERSION: '4', QUOTE_EXPIRY_SECONDS: '45' });
    const qr = quoteRequest();
    await h.inbound('POST', '/quotes', qr);
    const { expiration: _e, ...resp } = quoteResponse(T0);
    const r = await h.outbound('PUT', `/quotes/${qr.quoteId}`, resp, h.dest);
    assert.equal((r.json.rewritten as JsonObject).expiration, new Date(T0 + 45_000).toISOString());
  });

  test('messages that already carry ILP fields, and the hub role outbound, are left alone without store access', async () => {
    const h = setup();
    const t = issuedTransfer('1', T0);
    const q = await h.outbound('PUT', `/quotes/${t.quoteRequest.quoteId}`, { ...t.quoteResponse, ilpPacket: t.ilp.ilpPacket, condition: t.ilp.condition }, h.dest);
    assert.equal(q.json.rewritten, null);
    const c = await h.outbound('PUT', `/transfers/${t.transferId}`, { transferState: 'COMMITTED', fulfilment: t.ilp.fulfilment }, h.dest);
    assert.equal(c.json.rewritten, null);
    const hub = ilpApp({ config: testConfig({ GATEWAY_ROLE: 'hub' }), store: h.store, direction: 'outbound' }).call;
    assert.equal((await hub('PUT', `/quotes/${t.quoteRequest.quoteId}`, t.quoteResponse)).json.rewritten, null);
    assert.equal(h.store.calls, 0);
  });

  test('commit for a transfer never received → 3208 GW_ILP_TRANSFER_UNKNOWN', async () => {
    const h = setup();
    const r = await h.outbound('PUT', '/transfers/00000000-0000-4000-8000-000000000000', { transferState: 'COMMITTED' }, h.dest);
    assert.equal(r.code, '3208');
  });
});
