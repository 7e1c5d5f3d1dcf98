// Hub role through the middleware: every bad input of the ILP checks, single use, expiry, round-trip count.

import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { GatewayError } from '../../../src/errors.js';
import { hubQuoteUseKey } from '../../../src/ilp/records.js';
import { createMemoryStore } from '../../../src/store/memory.js';
import { bulkTransferOf, counting, fulfilBody, ilpApp, issuedTransfer, recorder, testConfig } from '../../helpers/ilp.js';

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const T0 = Date.parse('2030-01-01T00:00:00.000Z');

function setup(env: Record<string, string> = {}) {
  let now = T0;
  const store = counting(createMemoryStore({ maxEntries: 1000, now: () => now }));
  const telemetry = recorder();
  const { call: raw } = ilpApp({ config: testConfig({ GATEWAY_ROLE: 'hub', ...env }), store, telemetry, now: () => now });
  // Only the payee may fulfil (docs/security.md class 6), so a PUT carries the payee's FSPIOP-Source unless a
  // test says otherwise.
  const call: typeof raw = (method, path, body, headers = {}) =>
    raw(method, path, body, method === 'PUT' ? { 'fspiop-source': path.startsWith('/fxTransfers') ? 'fxpfsp' : 'payeefsp', ...headers } : headers);
  return {
    store,
    telemetry,
    call,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('hub: POST /transfers', () => {
  test('a valid v1 prepare passes and costs exactly one store round trip', async () => {
    const h = setup();
    const t = issuedTransfer('1', T0);
    const r = await h.call('POST', '/transfers', t.prepare);
    assert.equal(r.status, 200);
    assert.equal(r.json.upstream, true);
    assert.equal(h.store.calls, 1);
    assert.deepEqual(h.telemetry.ilpEvents, [{ check: 'prepare', outcome: 'ok' }]);
  });

  const badConditions: [string, (c: string) => string][] = [
    ['42 characters', (c) => c.slice(0, 42)],
    ['44 characters', (c) => `${c}A`],
    ['padded', (c) => `${c}=`],
    ['standard alphabet', (c) => c.replace(/-/g, '+').replace(/_/g, '/').replace(/^./, '+')],
    ['non-canonical trailing bits', (c) => c.slice(0, 42) + B64URL[B64URL.indexOf(c[42]!) + 1]],
    ['not a string', () => 42 as unknown as string],
  ];
  for (const [name, mutate] of badConditions) {
    test(`condition ${name} → 3100 GW_ILP_CONDITION_MALFORMED, store untouched`, async () => {
      const h = setup();
      const t = issuedTransfer('1', T0);
      const r = await h.call('POST', '/transfers', { ...t.prepare, condition: mutate(t.ilp.condition) });
      assert.equal(r.status, 400);
      assert.equal(r.code, '3100');
      assert.equal(h.store.calls, 0);
      assert.deepEqual(h.telemetry.ilpEvents, [{ check: 'prepare', outcome: 'failed', errorType: 'GW_ILP_CONDITION_MALFORMED' }]);
    });
  }

  for (const [name, expiration, code, errorType] of [
    ['in the past', new Date(T0 - 1000).toISOString(), '3100', 'GW_ILP_EXPIRATION_INVALID'],
    ['unparsable', 'tomorrow', '3100', 'GW_ILP_EXPIRATION_INVALID'],
    ['missing', undefined, '3102', 'GW_BODY_MEMBER_MISSING'],
  ] as const) {
    test(`expiration ${name} → ${code} ${errorType}`, async () => {
      const h = setup();
      const t = issuedTransfer('1', T0);
      const r = await h.call('POST', '/transfers', { ...t.prepare, expiration });
      assert.equal(r.code, code);
      assert.equal(h.telemetry.ilpEvents[0]?.errorType, errorType);
      assert.equal(h.store.calls, 0);
    });
  }

  for (const [name, packet] of [
    ['not base64url', 'not a packet!'],
    ['random bytes', randomBytes(40).toString('base64url').replace(/^./, 'A')],
    ['truncated', undefined],
  ] as const) {
    test(`packet ${name} → 3100 GW_ILP_PACKET_MALFORMED`, async () => {
      const h = setup();
      const t = issuedTransfer('1', T0);
      const r = await h.call('POST', '/transfers', { ...t.prepare, ilpPacket: packet ?? t.ilp.ilpPacket.slice(0, 60) });
      assert.equal(r.code, '3100');
      assert.equal(h.telemetry.ilpEvents[0]?.errorType, 'GW_ILP_PACKET_MALFORMED');
    });
  }

  test('packet of the wrong type (v4 Prepare where the peer uses v1) → GW_ILP_PACKET_MALFORMED', async () => {
    const h = setup({ ILP_VERSION: '1' });
    const t = issuedTransfer('4', T0);
    const r = await h.call('POST', '/transfers', t.prepare);
    assert.equal(r.code, '3100');
    assert.equal(h.telemetry.ilpEvents[0]?.errorType, 'GW_ILP_PACKET_MALFORMED');
  });

  test('per-peer version: payerfsp=4 accepts the v4 packet although ILP_VERSION=1', async () => {
    const h = setup({ ILP_VERSION: '1', ILP_VERSION_BY_PEER: 'payerfsp=4' });
    const r = await h.call('POST', '/transfers', issuedTransfer('4', T0).prepare);
    assert.equal(r.status, 200);
  });

  test('v4 packet whose condition differs from the body → GW_ILP_PACKET_MISMATCH', async () => {
    const h = setup({ ILP_VERSION: '4' });
    const t = issuedTransfer('4', T0);
    const other = issuedTransfer('4', T0);
    const r = await h.call('POST', '/transfers', { ...t.prepare, condition: other.ilp.condition });
    assert.equal(r.code, '3100');
    assert.equal(h.telemetry.ilpEvents[0]?.errorType, 'GW_ILP_PACKET_MISMATCH');
  });

  for (const v of ['1', '4'] as const) {
    test(`v${v} packet whose amount differs from the body → GW_ILP_PACKET_MISMATCH`, async () => {
      const h = setup({ ILP_VERSION: v });
      const t = issuedTransfer(v, T0);
      const r = await h.call('POST', '/transfers', { ...t.prepare, amount: { amount: '100.51', currency: 'USD' } });
      assert.equal(r.code, '3100');
      assert.equal(h.telemetry.ilpEvents[0]?.errorType, 'GW_ILP_PACKET_MISMATCH');
    });
  }

  test('a body that is not JSON → 3101', async () => {
    const h = setup();
    const r = await h.call('POST', '/transfers', '{"transferId":');
    assert.equal(r.code, '3101');
  });
});

describe('hub: PUT /transfers/{ID}', () => {
  async function prepared(env: Record<string, string> = {}, version: '1' | '4' = '1') {
    const h = setup({ ILP_VERSION: version, ...env });
    const t = issuedTransfer(version, T0);
    assert.equal((await h.call('POST', '/transfers', t.prepare)).status, 200);
    h.store.calls = 0;
    h.telemetry.ilpEvents.length = 0;
    return { ...h, t };
  }

  for (const v of ['1', '4'] as const) {
    test(`v${v}: the right fulfilment passes once (one round trip); the same again → 3106 GW_ILP_FULFILMENT_REUSED`, async () => {
      const h = await prepared({}, v);
      const put = () => h.call('PUT', `/transfers/${h.t.transferId}`, fulfilBody(h.t.ilp.fulfilment));
      const first = await put();
      assert.equal(first.status, 200);
      assert.equal(h.store.calls, 1);
      const second = await put();
      assert.equal(second.code, '3106');
      assert.equal(h.store.calls, 2);
      assert.deepEqual(
        h.telemetry.ilpEvents.map((e) => e.errorType ?? e.outcome),
        ['ok', 'GW_ILP_FULFILMENT_REUSED'],
      );
    });
  }

  test('a resent prepare does not reset a used transfer', async () => {
    const h = await prepared();
    assert.equal((await h.call('PUT', `/transfers/${h.t.transferId}`, fulfilBody(h.t.ilp.fulfilment))).status, 200);
    assert.equal((await h.call('POST', '/transfers', h.t.prepare)).status, 200);
    assert.equal((await h.call('PUT', `/transfers/${h.t.transferId}`, fulfilBody(h.t.ilp.fulfilment))).code, '3106');
  });

  test('a wrong fulfilment → 3100 GW_ILP_FULFILMENT_INVALID', async () => {
    const h = await prepared();
    const r = await h.call('PUT', `/transfers/${h.t.transferId}`, fulfilBody(randomBytes(32).toString('base64url')));
    assert.equal(r.code, '3100');
    assert.equal(h.telemetry.ilpEvents[0]?.errorType, 'GW_ILP_FULFILMENT_INVALID');
  });

  test('fulfilment for an unknown transfer → 3208 GW_ILP_TRANSFER_UNKNOWN', async () => {
    const h = await prepared();
    const r = await h.call('PUT', '/transfers/00000000-0000-4000-8000-000000000000', fulfilBody(h.t.ilp.fulfilment));
    assert.equal(r.code, '3208');
    assert.equal(h.store.calls, 1);
  });

  test('fulfilment after the expiration → 3303 GW_ILP_TRANSFER_EXPIRED', async () => {
    const h = await prepared();
    h.advance(31_000); // prepare expires at T0 + 30 s; the record lives on for the grace
    const r = await h.call('PUT', `/transfers/${h.t.transferId}`, fulfilBody(h.t.ilp.fulfilment));
    assert.equal(r.code, '3303');
  });

  const badFulfilments: [string, (f: string) => string][] = [
    ['decoding to 31 bytes', () => randomBytes(31).toString('base64url')],
    ['decoding to 33 bytes', () => randomBytes(33).toString('base64url')],
    ['padded', (f) => `${f}=`],
    ['standard alphabet', (f) => Buffer.from(f, 'base64url').toString('base64').replace(/=+$/, '').replace(/^./, '+')],
  ];
  for (const [name, mutate] of badFulfilments) {
    test(`fulfilment ${name} → 3100 GW_ILP_FULFILMENT_MALFORMED, nothing consumed`, async () => {
      const h = await prepared();
      const r = await h.call('PUT', `/transfers/${h.t.transferId}`, fulfilBody(mutate(h.t.ilp.fulfilment)));
      assert.equal(r.code, '3100');
      assert.equal(h.telemetry.ilpEvents[0]?.errorType, 'GW_ILP_FULFILMENT_MALFORMED');
      assert.equal(h.store.calls, 0);
      assert.equal((await h.call('PUT', `/transfers/${h.t.transferId}`, fulfilBody(h.t.ilp.fulfilment))).status, 200);
    });
  }

  test('PUT /transfers/{ID}/error consumes nothing (one read: only the payee may end it); the fulfilment still works after it', async () => {
    const h = await prepared();
    const err = { errorInformation: { errorCode: '5100', errorDescription: 'Payee rejected' } };
    assert.equal((await h.call('PUT', `/transfers/${h.t.transferId}/error`, err)).status, 200);
    assert.equal(h.store.calls, 1);
    assert.equal((await h.call('PUT', `/transfers/${h.t.transferId}/error`, err, { 'fspiop-source': 'otherfsp' })).code, '3100');
    assert.equal((await h.call('PUT', `/transfers/${h.t.transferId}`, fulfilBody(h.t.ilp.fulfilment))).status, 200);
  });

  test('an abort by the payee is one read and consumes nothing; routes without ILP work never touch the store', async () => {
    const h = await prepared();
    assert.equal((await h.call('PUT', `/transfers/${h.t.transferId}`, { transferState: 'ABORTED', completedTimestamp: new Date().toISOString() })).status, 200);
    assert.equal(h.store.calls, 1);
    h.store.calls = 0;
    h.telemetry.ilpEvents.length = 0;
    assert.equal((await h.call('PUT', '/parties/MSISDN/123', { party: {} })).status, 200);
    assert.equal((await h.call('POST', '/quotes', { quoteId: 'x' })).status, 200);
    assert.equal(h.store.calls, 0);
    assert.equal(h.telemetry.ilpEvents.length, 0);
  });

  test('ILP_CHECK=false turns the stage off', async () => {
    const h = setup({ ILP_CHECK: 'false' });
    const r = await h.call('POST', '/transfers', { transferId: 'x', condition: 'bad' });
    assert.equal(r.status, 200);
    assert.equal(h.store.calls, 0);
  });
});

/** A POST /fxTransfers body (FSPIOP 2.0) carrying `condition`. */
const fxPrepare = (condition: string, expiration = new Date(T0 + 30_000).toISOString()) => ({
  commitRequestId: 'b51ec534-ee48-4575-b6a9-ead2955b8069',
  determiningTransferId: '7c23e80c-d078-4077-8263-2c047876fcf6',
  initiatingFsp: 'payerfsp',
  counterPartyFsp: 'fxpfsp',
  sourceAmount: { currency: 'USD', amount: '100' },
  targetAmount: { currency: 'ZMW', amount: '2650' },
  condition,
  expiration,
});

describe('hub: the payer a prepare debits is its sender (docs/security.md class 11)', () => {
  // A DFSP holding a payee's packet and condition must not prepare the transfer in another payer's name,
  // whatever IDENTITY_CHECK says: central-ledger's own Source = payer check does not run on every route.
  test('POST /transfers with payerFsp other than FSPIOP-Source → 3100, not forwarded, nothing stored (IDENTITY_CHECK=log)', async () => {
    const h = setup({ IDENTITY_CHECK: 'log' });
    const t = issuedTransfer('1', T0);
    const r = await h.call('POST', '/transfers', { ...t.prepare, payerFsp: 'victimfsp' }, { 'fspiop-source': 'payerfsp' });
    assert.equal(r.status, 400);
    assert.equal(r.code, '3100');
    assert.match(String((r.json.errorInformation as { errorDescription?: string } | undefined)?.errorDescription), /payerFsp differs from FSPIOP-Source/);
    assert.equal(r.json.upstream, undefined, 'not forwarded');
    assert.equal(h.store.calls, 0);
    assert.deepEqual(h.telemetry.ilpEvents, [{ check: 'prepare', outcome: 'failed', errorType: 'GW_ILP_PACKET_MISMATCH' }]);
    assert.equal((await h.call('POST', '/transfers', t.prepare)).status, 200, 'the honest prepare under the same id still passes');
  });

  test('payerFsp missing → 3102 GW_BODY_MEMBER_MISSING; not a string → 3100 GW_ILP_PACKET_MISMATCH', async () => {
    const h = setup();
    const { payerFsp: _, ...body } = issuedTransfer('1', T0).prepare;
    const r = await h.call('POST', '/transfers', body);
    assert.equal(r.code, '3102');
    assert.equal(h.telemetry.ilpEvents[0]?.errorType, 'GW_BODY_MEMBER_MISSING');
    assert.equal((await h.call('POST', '/transfers', { ...body, payerFsp: 7 })).code, '3100');
    assert.equal(h.telemetry.ilpEvents[1]?.errorType, 'GW_ILP_PACKET_MISMATCH');
  });

  test('POST /bulkTransfers with payerFsp other than FSPIOP-Source → 3100, nothing stored', async () => {
    const h = setup();
    const x = issuedTransfer('1', T0);
    const bulk = (payerFsp: string) =>
      bulkTransferOf([x], new Date(T0 + 30_000).toISOString(), { bulkTransferId: 'c2f1a7a4-8a57-4c2b-9e0a-3e0c9a1d2b11', payerFsp });
    const r = await h.call('POST', '/bulkTransfers', bulk('victimfsp'));
    assert.equal(r.code, '3100');
    assert.equal(h.telemetry.ilpEvents[0]?.errorType, 'GW_ILP_PACKET_MISMATCH');
    assert.equal((await h.call('POST', '/bulkTransfers', bulk('payerfsp'))).status, 200);
  });

  test('POST /fxTransfers with initiatingFsp other than FSPIOP-Source → 3100, nothing stored', async () => {
    const h = setup();
    const t = issuedTransfer('4', T0);
    const r = await h.call('POST', '/fxTransfers', { ...fxPrepare(t.ilp.condition), initiatingFsp: 'victimfsp' });
    assert.equal(r.code, '3100');
    assert.match(String((r.json.errorInformation as { errorDescription?: string } | undefined)?.errorDescription), /initiatingFsp differs from FSPIOP-Source/);
    assert.equal((await h.call('POST', '/fxTransfers', fxPrepare(t.ilp.condition))).status, 200);
  });
});

describe('hub: an expiration further ahead than ILP_TRANSFER_MAX_TTL_SECONDS', () => {
  // Until 2026-11-30 any future expiration was accepted and kept the record that long: a year-9999 prepare
  // pinned one record per message for ever (docs/ilp.md, "How long records live").
  const day = 86_400_000;
  for (const [name, ahead] of [
    ['year 9999', Date.parse('9999-12-31T23:59:59.999Z') - T0],
    ['one day and a millisecond (the default bound)', day + 1],
  ] as const) {
    test(`POST /transfers expiring ${name} ahead → 3100 GW_ILP_EXPIRATION_INVALID, store untouched`, async () => {
      const h = setup();
      const t = issuedTransfer('1', T0);
      const r = await h.call('POST', '/transfers', { ...t.prepare, expiration: new Date(T0 + ahead).toISOString() });
      assert.deepEqual([r.status, r.code], [400, '3100']);
      assert.equal(h.telemetry.ilpEvents[0]?.errorType, 'GW_ILP_EXPIRATION_INVALID');
      assert.equal(h.store.calls, 0);
    });
  }

  test('the bound itself passes; the record lives until the expiration plus the grace, then is gone', async () => {
    const h = setup({ ILP_TRANSFER_MAX_TTL_SECONDS: '3600', ILP_EXPIRY_GRACE_SECONDS: '60' });
    const t = issuedTransfer('1', T0);
    const beyond = await h.call('POST', '/transfers', { ...t.prepare, expiration: new Date(T0 + 3_600_001).toISOString() });
    assert.equal(beyond.code, '3100');
    assert.match(beyond.json.errorInformation!.errorDescription, /more than 3600 s ahead \(ILP_TRANSFER_MAX_TTL_SECONDS\)$/);
    assert.equal((await h.call('POST', '/transfers', { ...t.prepare, expiration: new Date(T0 + 3_600_000).toISOString() })).status, 200);
    h.advance(3_600_000 + 59_000);
    assert.notEqual(await h.store.get(`ilp:hub:{${t.transferId}}`), undefined, 'kept through the grace');
    h.advance(2000);
    assert.equal(await h.store.get(`ilp:hub:{${t.transferId}}`), undefined);
  });

  test('POST /fxTransfers and POST /bulkTransfers are bounded the same way', async () => {
    const h = setup();
    const t = issuedTransfer('4', T0);
    const far = new Date(T0 + 2 * day).toISOString();
    const fx = await h.call('POST', '/fxTransfers', fxPrepare(t.ilp.condition, far));
    assert.equal(fx.code, '3100');
    const x = issuedTransfer('1', T0);
    const bulk = await h.call('POST', '/bulkTransfers', bulkTransferOf([x], far));
    assert.equal(bulk.code, '3100');
    assert.deepEqual(
      h.telemetry.ilpEvents.map((e) => e.errorType),
      ['GW_ILP_EXPIRATION_INVALID', 'GW_ILP_EXPIRATION_INVALID'],
    );
    assert.equal(h.store.calls, 0);
  });
});

describe('hub: FX transfers (FSPIOP 2.0)', () => {
  test('POST /fxTransfers stores the condition; PUT /fxTransfers/{ID} fulfils once, then 3106', async () => {
    const h = setup();
    const t = issuedTransfer('4', T0);
    assert.equal((await h.call('POST', '/fxTransfers', fxPrepare(t.ilp.condition))).status, 200);
    const put = () => h.call('PUT', '/fxTransfers/b51ec534-ee48-4575-b6a9-ead2955b8069', { fulfilment: t.ilp.fulfilment, conversionState: 'RESERVED' });
    assert.equal((await put()).status, 200);
    assert.equal((await put()).code, '3106');
    assert.equal(h.store.calls, 3);
    assert.deepEqual(
      h.telemetry.ilpEvents.map((e) => `${e.check}:${e.errorType ?? e.outcome}`),
      ['fx_prepare:ok', 'fx_fulfil:ok', 'fx_fulfil:GW_ILP_FULFILMENT_REUSED'],
    );
  });

  test('FX: malformed condition and past expiration are refused; a wrong fulfilment → 3100', async () => {
    const h = setup();
    const t = issuedTransfer('4', T0);
    assert.equal((await h.call('POST', '/fxTransfers', fxPrepare(`${t.ilp.condition}=`))).code, '3100');
    assert.equal((await h.call('POST', '/fxTransfers', fxPrepare(t.ilp.condition, new Date(T0 - 1).toISOString()))).code, '3100');
    assert.equal((await h.call('POST', '/fxTransfers', fxPrepare(t.ilp.condition))).status, 200);
    const r = await h.call('PUT', '/fxTransfers/b51ec534-ee48-4575-b6a9-ead2955b8069', { fulfilment: randomBytes(32).toString('base64url') });
    assert.equal(r.code, '3100');
    assert.equal(h.telemetry.ilpEvents.at(-1)?.errorType, 'GW_ILP_FULFILMENT_INVALID');
  });

  test('a transfer id and an FX commitRequestId do not share records', async () => {
    const h = setup();
    const t = issuedTransfer('1', T0);
    assert.equal((await h.call('POST', '/transfers', t.prepare)).status, 200);
    assert.equal((await h.call('PUT', `/fxTransfers/${t.transferId}`, { fulfilment: t.ilp.fulfilment })).code, '3208');
  });
});

describe('hub: a bulk answer refused part-way through its takes', () => {
  test('the store failing on the second take: 2003, and the first transfer is given back (its resend passes)', async () => {
    const inner = createMemoryStore({ maxEntries: 1000, now: () => T0 });
    let takes = 0;
    let failTake = 0;
    const store: typeof inner = {
      ...inner,
      take: async (...a) => {
        if (++takes === failTake) throw new GatewayError('GW_STORE_UNAVAILABLE', { detail: 'injected' });
        return inner.take(...a);
      },
    };
    const { call } = ilpApp({ config: testConfig({ GATEWAY_ROLE: 'hub' }), store, now: () => T0 });
    const xs = [issuedTransfer('1', T0), issuedTransfer('1', T0)];
    const bulkTransferId = randomUUID();
    const prepare = bulkTransferOf(xs, new Date(T0 + 30_000).toISOString(), { bulkTransferId });
    assert.equal((await call('POST', '/bulkTransfers', prepare)).status, 200);
    const answer = {
      bulkTransferState: 'COMPLETED',
      completedTimestamp: new Date(T0).toISOString(),
      individualTransferResults: xs.map((x) => ({ transferId: x.transferId, fulfilment: x.ilp.fulfilment })),
    };
    failTake = takes + 2;
    const refused = await call('PUT', `/bulkTransfers/${bulkTransferId}`, answer, { 'fspiop-source': 'payeefsp' });
    assert.deepEqual([refused.status, refused.code], [503, '2003']);
    assert.equal(takes, failTake, 'the first transfer was taken before the second failed');
    const passed = await call('PUT', `/bulkTransfers/${bulkTransferId}`, answer, { 'fspiop-source': 'payeefsp' });
    assert.equal(passed.status, 200, 'every transfer is there to take again');
    const again = await call('PUT', `/bulkTransfers/${bulkTransferId}`, answer, { 'fspiop-source': 'payeefsp' });
    assert.equal(again.code, '3106');
  });
});

describe('hub: review findings of 2026-12-01', () => {
  test('a bulk answer whose result carries neither a fulfilment nor errorInformation → 3102, nothing taken; with errorInformation it passes', async () => {
    const h = setup();
    const [x, y] = [issuedTransfer('1', T0), issuedTransfer('1', T0)];
    const bulkTransferId = randomUUID();
    assert.equal((await h.call('POST', '/bulkTransfers', bulkTransferOf([x, y], new Date(T0 + 30_000).toISOString(), { bulkTransferId }))).status, 200);
    const answer = (second: object) => ({
      bulkTransferState: 'COMPLETED',
      completedTimestamp: new Date(T0).toISOString(),
      individualTransferResults: [
        { transferId: x.transferId, fulfilment: x.ilp.fulfilment },
        { transferId: y.transferId, ...second },
      ],
    });
    for (const bare of [
      {},
      { fulfilment: null },
      { errorInformation: null },
      { errorInformation: false },
      { errorInformation: {} },
      { errorInformation: [] },
      { errorInformation: '' },
    ]) {
      const r = await h.call('PUT', `/bulkTransfers/${bulkTransferId}`, answer(bare));
      assert.deepEqual([r.status, r.code, r.json.upstream], [400, '3102', undefined], JSON.stringify(bare));
    }
    const declined = { errorInformation: { errorCode: '5100', errorDescription: 'declined' } };
    assert.equal((await h.call('PUT', `/bulkTransfers/${bulkTransferId}`, answer(declined))).status, 200, 'the first fulfilment was not taken before');
  });

  test('a prepare whose expiration has no zone (Date.parse would read it in the local zone) → 3100 GW_ILP_EXPIRATION_INVALID, nothing stored', async () => {
    const h = setup();
    const t = issuedTransfer('1', T0);
    for (const expiration of ['2030-01-01T00:00:30', '2030-01-01T00:00:30.000']) {
      const r = await h.call('POST', '/transfers', { ...t.prepare, expiration });
      assert.deepEqual([r.status, r.code], [400, '3100'], expiration);
      assert.equal(h.telemetry.ilpEvents.at(-1)?.errorType, 'GW_ILP_EXPIRATION_INVALID');
    }
    assert.equal(h.store.calls, 0);
  });
});

describe('hub quote binding: what a refused prepare leaves, and how long the mark lives (re-review of 2026-12-01)', () => {
  const payee = { 'fspiop-source': 'payeefsp', 'fspiop-destination': 'payerfsp' };
  const issue = async (h: ReturnType<typeof setup>, t: ReturnType<typeof issuedTransfer>) =>
    h.call('PUT', `/quotes/${t.quoteRequest.quoteId}`, { ...t.quoteResponse, ilpPacket: t.ilp.ilpPacket, condition: t.ilp.condition }, payee);

  test('a prepare refused because its transfer id holds other terms does not keep the quote: its own transfer still passes', async () => {
    const h = setup({ ILP_QUOTE_BINDING: 'enforce' });
    const [first, second] = [issuedTransfer('1', T0), issuedTransfer('1', T0)];
    assert.equal((await issue(h, first)).status, 200);
    assert.equal((await issue(h, second)).status, 200);
    assert.equal((await h.call('POST', '/transfers', first.prepare)).status, 200);
    const reused = await h.call('POST', '/transfers', { ...second.prepare, transferId: first.transferId });
    assert.equal(reused.code, '3106');
    assert.equal(h.telemetry.ilpEvents.at(-1)?.errorType, 'GW_ILP_TRANSFER_DUPLICATE');
    assert.equal((await h.call('POST', '/transfers', second.prepare)).status, 200, "the second quote's own transfer");
  });

  test("the quote's one-use mark lives as long as the quote can serve a transfer (its expiration) or the transfer lives, plus the grace", async () => {
    const h = setup({ ILP_QUOTE_BINDING: 'enforce', ILP_EXPIRY_GRACE_SECONDS: '10' });
    const t = issuedTransfer('1', T0); // quote expires T0 + 60 s, transfer T0 + 30 s
    assert.equal((await issue(h, t)).status, 200);
    assert.equal((await h.call('POST', '/transfers', t.prepare)).status, 200);
    const mark = hubQuoteUseKey(String(t.quoteRequest.quoteId), 'payeefsp');
    h.advance(69_000);
    assert.match(String(await h.store.get(mark)), new RegExp(`^${t.transferId} `), 'held by the transfer (its id and terms)');
    h.advance(2_000);
    assert.equal(await h.store.get(mark), undefined, 'not ILP_QUOTE_MAX_TTL_SECONDS (an hour) when the quote said a minute');
  });
});
