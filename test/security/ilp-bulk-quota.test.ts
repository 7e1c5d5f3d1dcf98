// The hub's bound on what one FSP's bulks keep (src/ilp/bulk-quota.ts, ILP_BULK_ITEMS_MAX_PER_FSP), and who pays for
// a bulk quote's records: the payer who asked (POST /bulkQuotes passed the hub). Hostile review of 2026-12-02: one DFSP
// answered bulk quotes nobody asked for, each answer keeping 1001 records for an hour, and a few hundred filled the
// store: every other DFSP's quote answers and transfers then got 2003; a bulk answer refused part-way (the store full)
// also left its records behind. Its re-review: counted against the answering payee, a payer's requests spent the
// payee's share. In-process, the real pipeline (ilpApp), memory store.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { BulkItemQuota } from '../../src/ilp/bulk-quota.js';
import { createMemoryStore } from '../../src/store/memory.js';
import { bulkTransferOf, ilpApp, issuedTransfer, testConfig } from '../helpers/ilp.js';

const T0 = Date.parse('2030-01-01T00:00:00.000Z');
const OWN_SECRET = 'attacker-own-secret-0123456789abcdefghij';

/** A PUT /bulkQuotes/{ID} body from `payee`: n individual quotes it issued, expiring `aheadMs` after `now`. */
function bulkAnswer(payee: string, n: number, now: number, aheadMs = 3_590_000) {
  const items = Array.from({ length: n }, () => {
    const x = issuedTransfer('1', now, OWN_SECRET, { quote: { payee: { partyIdInfo: { partyIdType: 'MSISDN', partyIdentifier: '1', fspId: payee } } } });
    return { quoteId: x.quoteRequest.quoteId, ilpPacket: x.ilp.ilpPacket, condition: x.ilp.condition };
  });
  return { individualQuoteResults: items, expiration: new Date(now + aheadMs).toISOString() };
}

function hub(env: Record<string, string>, maxEntries = 1_000_000) {
  let now = T0;
  const store = createMemoryStore({ maxEntries, now: () => now, sweepIntervalMs: 0 });
  const app = ilpApp({ config: testConfig({ GATEWAY_ROLE: 'hub', ILP_QUOTE_BINDING: 'enforce', ...env }), store, now: () => now });
  const call = app.call;
  /** `payer` asks `payee` for a bulk quote of n individual quotes (POST /bulkQuotes); its id. */
  const ask = async (payer: string, payee: string, n: number, bulkQuoteId: string = randomUUID()) => {
    const r = await call(
      'POST',
      '/bulkQuotes',
      { bulkQuoteId, individualQuotes: Array.from({ length: n }, () => ({ quoteId: randomUUID() })) },
      {
        'fspiop-source': payer,
        'fspiop-destination': payee,
      },
    );
    return { r, bulkQuoteId };
  };
  /** `payee` answers `payer`'s bulk quote `bulkQuoteId` with n individual quotes. */
  const answer = (payee: string, payer: string, bulkQuoteId: string, n: number, now = T0) =>
    call('PUT', `/bulkQuotes/${bulkQuoteId}`, bulkAnswer(payee, n, now), { 'fspiop-source': payee, 'fspiop-destination': payer });
  return { store, call, ask, answer, close: app.close, advance: (ms: number) => (now += ms) };
}

/** The honest journey's first writes: payeefsp answers a quote, payerfsp prepares its transfer. */
async function honestJourney(h: ReturnType<typeof hub>, now: number) {
  const t = issuedTransfer('1', now);
  const answer = await h.call('PUT', `/quotes/${t.quoteRequest.quoteId}`, { ...t.quoteResponse, ilpPacket: t.ilp.ilpPacket, condition: t.ilp.condition });
  const prepare = await h.call('POST', '/transfers', t.prepare);
  return [answer.status, prepare.status];
}

describe('hub: bulk quote answers are kept only when asked, and counted against the payer who asked', () => {
  test('an answer nobody asked for → 3205, nothing kept; from another FSP than the one asked → 3100; more quotes than asked → 3205', async () => {
    const h = hub({});
    try {
      const unsolicited = await h.answer('attackerfsp', 'payerfsp', randomUUID(), 1000);
      assert.equal(unsolicited.code, '3205');
      assert.equal(unsolicited.json.upstream, undefined, 'not forwarded');
      assert.equal(h.store.stats().entries, 0, 'nothing kept');
      const { bulkQuoteId } = await h.ask('payerfsp', 'payeefsp', 2);
      assert.equal((await h.answer('attackerfsp', 'payerfsp', bulkQuoteId, 2)).code, '3100', 'asked of payeefsp, answered by attackerfsp');
      assert.equal((await h.answer('payeefsp', 'payerfsp', bulkQuoteId, 3)).code, '3205', 'three quotes where two were asked');
      assert.equal((await h.answer('payeefsp', 'payerfsp', bulkQuoteId, 2)).status, 200);
    } finally {
      await h.close();
    }
  });

  test("beyond ILP_BULK_ITEMS_MAX_PER_FSP the asker's bulks are refused whole (2005/503) and write nothing; other FSPs are not limited; the count frees as records end", async () => {
    const h = hub({ ILP_BULK_ITEMS_MAX_PER_FSP: '2500' });
    try {
      // attackerfsp asks itself (or a DFSP it controls) and answers: every record is its own.
      for (let i = 0; i < 2; i++) {
        const { r, bulkQuoteId } = await h.ask('attackerfsp', 'attackerfsp', 1000);
        assert.equal(r.status, 200);
        assert.equal((await h.answer('attackerfsp', 'attackerfsp', bulkQuoteId, 1000)).status, 200);
      }
      const entries = h.store.stats().entries;
      assert.equal(entries, 2 * 1002, 'each: the request, the bulk answer and 1000 individual quotes');
      const { bulkQuoteId } = await h.ask('attackerfsp', 'attackerfsp', 1000);
      const third = await h.answer('attackerfsp', 'attackerfsp', bulkQuoteId, 1000);
      assert.equal(third.status, 503);
      assert.equal(third.code, '2005');
      assert.match(JSON.stringify(third.json), /ILP_BULK_ITEMS_MAX_PER_FSP/);
      assert.equal(third.json.upstream, undefined, 'not forwarded');
      assert.equal(h.store.stats().entries, entries + 1, 'a refused answer writes nothing (the third request is kept)');
      // Others are not limited by attackerfsp's bulks, single messages or bulk ones.
      assert.deepEqual(await honestJourney(h, T0), [200, 200]);
      const honest = await h.ask('payerfsp', 'payeefsp', 1000);
      assert.equal((await h.answer('payeefsp', 'payerfsp', honest.bulkQuoteId, 1000)).status, 200);
      // An hour later the attacker's records have ended, and so has their count.
      h.advance(3_600_000);
      const later = await h.ask('attackerfsp', 'attackerfsp', 1000);
      assert.equal((await h.answer('attackerfsp', 'attackerfsp', later.bulkQuoteId, 1000, T0 + 3_600_000)).status, 200);
    } finally {
      await h.close();
    }
  });

  test("a payer asking payeefsp for large bulk quotes spends its own share, not payeefsp's", async () => {
    // Re-review of 2026-12-02: counted against the answering payee, attackerfsp's requests had payeefsp's answers to
    // everyone else refused with 2005.
    const h = hub({ ILP_BULK_ITEMS_MAX_PER_FSP: '2100' });
    try {
      for (let i = 0; i < 2; i++) {
        const { bulkQuoteId } = await h.ask('attackerfsp', 'payeefsp', 1000);
        assert.equal((await h.answer('payeefsp', 'attackerfsp', bulkQuoteId, 1000)).status, 200);
      }
      const third = await h.ask('attackerfsp', 'payeefsp', 1000);
      assert.equal((await h.answer('payeefsp', 'attackerfsp', third.bulkQuoteId, 1000)).code, '2005', "attackerfsp's share is spent");
      const honest = await h.ask('payerfsp', 'payeefsp', 1000);
      assert.equal((await h.answer('payeefsp', 'payerfsp', honest.bulkQuoteId, 1000)).status, 200, "payeefsp's answer to payerfsp passes");
    } finally {
      await h.close();
    }
  });

  test('an identical resend is not counted again; an answer refused for its terms (3106) is not counted', async () => {
    const h = hub({ ILP_BULK_ITEMS_MAX_PER_FSP: '2100' });
    try {
      const { bulkQuoteId } = await h.ask('payerfsp', 'payeefsp', 1000);
      assert.equal((await h.ask('payerfsp', 'payeefsp', 1000, bulkQuoteId)).r.status, 200, 'an identical request resent');
      assert.equal((await h.ask('payerfsp', 'otherfsp', 1000, bulkQuoteId)).r.code, '3106', 'the same id asked of another payee');
      const answer = bulkAnswer('payeefsp', 1000, T0);
      const put = () => h.call('PUT', `/bulkQuotes/${bulkQuoteId}`, answer, { 'fspiop-source': 'payeefsp', 'fspiop-destination': 'payerfsp' });
      for (let i = 0; i < 3; i++) assert.equal((await put()).status, 200, `resend ${i}`);
      assert.equal((await h.answer('payeefsp', 'payerfsp', bulkQuoteId, 1000)).code, '3106');
      // 1002 held (the request, the answer): another bulk of 1000 (1 + 1001) still fits under 2100.
      const next = await h.ask('payerfsp', 'payeefsp', 1000);
      assert.equal((await h.answer('payeefsp', 'payerfsp', next.bulkQuoteId, 1000)).status, 200);
    } finally {
      await h.close();
    }
  });

  test('a bulk answer refused part-way because the store is full leaves nothing behind', async () => {
    const h = hub({}, 1500);
    try {
      const first = await h.ask('payerfsp', 'payeefsp', 1000);
      assert.equal((await h.answer('payeefsp', 'payerfsp', first.bulkQuoteId, 1000)).status, 200);
      const second = await h.ask('payerfsp', 'payeefsp', 1000);
      const full = await h.answer('payeefsp', 'payerfsp', second.bulkQuoteId, 1000);
      assert.equal(full.status, 503);
      assert.equal(full.code, '2003');
      assert.equal(h.store.stats().entries, 1003, 'what the refused answer wrote was taken back');
      assert.deepEqual(await honestJourney(h, T0), [200, 200], 'the room it would have pinned is there for others');
    } finally {
      await h.close();
    }
  });

  test('bulk prepares count too (ILP_QUOTE_BINDING=off): beyond the bound, refused whole before anything is written', async () => {
    const h = hub({ ILP_QUOTE_BINDING: 'off', ILP_BULK_ITEMS_MAX_PER_FSP: '1500' });
    try {
      const bulk = (n: number) =>
        bulkTransferOf(
          Array.from({ length: n }, () => {
            const x = issuedTransfer('1', T0);
            return { transferId: x.prepare.transferId as string, prepare: x.prepare };
          }),
          new Date(T0 + 600_000).toISOString(),
        );
      const first = await h.call('POST', '/bulkTransfers', bulk(1000));
      assert.equal(first.status, 200, JSON.stringify(first.json));
      const entries = h.store.stats().entries;
      const second = await h.call('POST', '/bulkTransfers', bulk(1000));
      assert.equal(second.status, 503);
      assert.equal(second.code, '2005');
      assert.equal(h.store.stats().entries, entries);
    } finally {
      await h.close();
    }
  });
});

describe('hub: a bulk prepare refused part-way stays counted', () => {
  test('ILP_QUOTE_BINDING=off: bulks whose last item reuses a live transfer id with other terms get 3106, and what they wrote stays counted', async () => {
    // Re-review of 2026-12-02: such a bulk wrote its record and 999 item records, then gave its whole count back.
    const h = hub({ ILP_QUOTE_BINDING: 'off', ILP_BULK_ITEMS_MAX_PER_FSP: '1500' });
    try {
      const anchor = issuedTransfer('1', T0);
      anchor.prepare.expiration = new Date(T0 + 600_000).toISOString();
      assert.equal((await h.call('POST', '/transfers', anchor.prepare)).status, 200);
      const base = h.store.stats().entries;
      const poisoned = () => {
        const items = Array.from({ length: 999 }, () => {
          const x = issuedTransfer('1', T0);
          return { transferId: x.prepare.transferId as string, prepare: x.prepare };
        });
        items.push({ transferId: anchor.transferId, prepare: issuedTransfer('1', T0).prepare });
        return bulkTransferOf(items, new Date(T0 + 600_000).toISOString());
      };
      const first = await h.call('POST', '/bulkTransfers', poisoned());
      assert.equal(first.code, '3106');
      const second = await h.call('POST', '/bulkTransfers', poisoned());
      assert.equal(second.code, '2005', 'the first one is still counted: the second is over the bound');
      assert.ok(h.store.stats().entries - base <= 1500, 'what is in the store stays within the bound');
    } finally {
      await h.close();
    }
  });
});

describe('BulkItemQuota', () => {
  test('counts per FSP until the minute the records end, refuses beyond the bound, and an undo gives back once', () => {
    let now = 0;
    const q = new BulkItemQuota(100, () => now);
    const undo = q.charge('a', 60, 90_000); // ends in the minute ending at 120 000
    q.charge('a', 30, 200_000);
    assert.equal(q.held('a'), 90);
    assert.equal(q.held('b'), 0);
    assert.throws(() => q.charge('a', 11, 300_000), /GW_ILP_BULK_QUOTA/);
    q.charge('b', 100, 300_000);
    undo();
    undo();
    assert.equal(q.held('a'), 30);
    q.charge('a', 60, 90_000);
    now = 119_999;
    assert.equal(q.held('a'), 90, 'counted until its minute has passed');
    now = 120_000;
    assert.equal(q.held('a'), 30);
    now = 240_000;
    assert.equal(q.held('a'), 0);
    assert.equal(q.held('b'), 100);
  });
});
