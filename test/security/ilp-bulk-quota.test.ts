// The hub's bound on what one FSP's bulks keep (src/ilp/bulk-quota.ts, ILP_BULK_ITEMS_MAX_PER_FSP). Hostile review of
// 2026-12-02: one DFSP answered bulk quotes nobody asked for, each answer keeping 1001 records for an hour, and a few
// of them filled the store: every other DFSP's quote answers and transfers then got 2003. A bulk answer refused
// part-way (the store full) also left its records behind. In-process, the real pipeline (ilpApp), memory store.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { BulkItemQuota } from '../../src/ilp/bulk-quota.js';
import { createMemoryStore } from '../../src/store/memory.js';
import { bulkTransferOf, ilpApp, issuedTransfer, testConfig } from '../helpers/ilp.js';

const T0 = Date.parse('2030-01-01T00:00:00.000Z');
const OWN_SECRET = 'attacker-own-secret-0123456789abcdefghij';

/** A PUT /bulkQuotes/{ID} body from attackerfsp: n individual quotes it made itself, expiring `aheadMs` after `now`. */
function selfMadeAnswer(n: number, now: number, aheadMs = 3_590_000) {
  const items = Array.from({ length: n }, () => {
    const x = issuedTransfer('1', now, OWN_SECRET, {
      quote: { payee: { partyIdInfo: { partyIdType: 'MSISDN', partyIdentifier: '1', fspId: 'attackerfsp' } } },
    });
    return { quoteId: x.quoteRequest.quoteId, ilpPacket: x.ilp.ilpPacket, condition: x.ilp.condition };
  });
  return { individualQuoteResults: items, expiration: new Date(now + aheadMs).toISOString() };
}
const fromAttacker = { 'fspiop-source': 'attackerfsp', 'fspiop-destination': 'payerfsp' };

function hub(env: Record<string, string>, maxEntries = 1_000_000) {
  let now = T0;
  const store = createMemoryStore({ maxEntries, now: () => now, sweepIntervalMs: 0 });
  const app = ilpApp({ config: testConfig({ GATEWAY_ROLE: 'hub', ILP_QUOTE_BINDING: 'enforce', ...env }), store, now: () => now });
  return { store, call: app.call, close: app.close, advance: (ms: number) => (now += ms) };
}

/** The honest journey's first writes: payeefsp answers a quote, payerfsp prepares its transfer. */
async function honestJourney(h: ReturnType<typeof hub>, now: number) {
  const t = issuedTransfer('1', now);
  const answer = await h.call('PUT', `/quotes/${t.quoteRequest.quoteId}`, { ...t.quoteResponse, ilpPacket: t.ilp.ilpPacket, condition: t.ilp.condition });
  const prepare = await h.call('POST', '/transfers', t.prepare);
  return [answer.status, prepare.status];
}

describe('hub: one FSP cannot fill the store with bulks', () => {
  test('bulk answers beyond ILP_BULK_ITEMS_MAX_PER_FSP are refused whole (2005/503) and write nothing; others are not limited; the quota frees as records end', async () => {
    const h = hub({ ILP_BULK_ITEMS_MAX_PER_FSP: '2500' });
    try {
      for (let i = 0; i < 2; i++) {
        const r = await h.call('PUT', `/bulkQuotes/${randomUUID()}`, selfMadeAnswer(1000, T0), fromAttacker);
        assert.equal(r.status, 200, JSON.stringify(r.json));
      }
      assert.equal(h.store.stats().entries, 2002);
      const third = await h.call('PUT', `/bulkQuotes/${randomUUID()}`, selfMadeAnswer(1000, T0), fromAttacker);
      assert.equal(third.status, 503);
      assert.equal(third.code, '2005');
      assert.match(JSON.stringify(third.json), /ILP_BULK_ITEMS_MAX_PER_FSP/);
      assert.equal(third.json.upstream, undefined, 'not forwarded');
      assert.equal(h.store.stats().entries, 2002, 'a refused bulk writes nothing');
      // A small bulk that still fits passes.
      assert.equal((await h.call('PUT', `/bulkQuotes/${randomUUID()}`, selfMadeAnswer(10, T0), fromAttacker)).status, 200);
      // Other FSPs are not limited by attackerfsp's bulks.
      assert.deepEqual(await honestJourney(h, T0), [200, 200]);
      // An hour later the attacker's records have ended, and so has their count.
      h.advance(3_600_000);
      const later = await h.call('PUT', `/bulkQuotes/${randomUUID()}`, selfMadeAnswer(1000, T0 + 3_600_000), fromAttacker);
      assert.equal(later.status, 200, JSON.stringify(later.json));
    } finally {
      await h.close();
    }
  });

  test('an identical resend is not counted again; a bulk refused for its terms (3106) is not counted', async () => {
    const h = hub({ ILP_BULK_ITEMS_MAX_PER_FSP: '2100' });
    try {
      const id = randomUUID();
      const answer = selfMadeAnswer(1000, T0);
      for (let i = 0; i < 3; i++) assert.equal((await h.call('PUT', `/bulkQuotes/${id}`, answer, fromAttacker)).status, 200, `resend ${i}`);
      const other = await h.call('PUT', `/bulkQuotes/${id}`, selfMadeAnswer(1000, T0), fromAttacker);
      assert.equal(other.status, 400);
      assert.equal(other.code, '3106');
      // 1001 held: another bulk of 1000 (1001 records) still fits under 2100.
      assert.equal((await h.call('PUT', `/bulkQuotes/${randomUUID()}`, selfMadeAnswer(1000, T0), fromAttacker)).status, 200);
    } finally {
      await h.close();
    }
  });

  test('a bulk answer refused part-way because the store is full leaves nothing behind', async () => {
    const h = hub({}, 1500);
    try {
      assert.equal((await h.call('PUT', `/bulkQuotes/${randomUUID()}`, selfMadeAnswer(1000, T0), fromAttacker)).status, 200);
      const full = await h.call('PUT', `/bulkQuotes/${randomUUID()}`, selfMadeAnswer(1000, T0), fromAttacker);
      assert.equal(full.status, 503);
      assert.equal(full.code, '2003');
      assert.equal(h.store.stats().entries, 1001, 'what the refused answer wrote was taken back');
      // The room it would have pinned is there for others.
      assert.deepEqual(await honestJourney(h, T0), [200, 200]);
    } finally {
      await h.close();
    }
  });

  test('bulk prepares count too (ILP_QUOTE_BINDING=off): beyond the quota, refused whole before anything is written', async () => {
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
