// src/store/first-use.ts: a request's replay record rides on its first store operation, and nothing the
// request does to the store runs unless that record was new.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GatewayError } from '../../../src/errors.js';
import { firstUse, type MarkOutcome, PendingMark, writeMark } from '../../../src/store/first-use.js';
import { createMemoryStore } from '../../../src/store/memory.js';
import type { Store } from '../../../src/store/types.js';
import { counting } from '../../helpers/ilp.js';

/** A pending mark that records its outcomes and refuses like the JWS stage does (GW_JWS_REPLAY / the error). */
function pendingOf(key = 'jws-replay:abc') {
  const outcomes: MarkOutcome[] = [];
  const pending = new PendingMark({ key, ttlMs: 60_000 }, (o) => {
    outcomes.push(o);
    if (o === false) throw new GatewayError('GW_JWS_REPLAY');
    if (o instanceof Error) throw new GatewayError('GW_STORE_UNAVAILABLE', { cause: o });
  });
  return { pending, outcomes };
}

const code = (c: string) => (e: unknown) => e instanceof GatewayError && e.code === c;

describe('firstUse', () => {
  test('the first operation carries the mark: one call to the store, and the mark is written', async () => {
    const inner = createMemoryStore({ maxEntries: 100 });
    const store = counting(inner);
    const { pending, outcomes } = pendingOf();
    const s = firstUse(store, pending);
    assert.equal(await s.save('ilp:hub:{t1}', 'record', 60_000, 'nx'), true);
    assert.equal(store.calls, 1, 'mark and record in one call');
    assert.deepEqual(outcomes, [true]);
    assert.equal(pending.claimed, true);
    assert.equal(await inner.get('jws-replay:abc'), '1');
    assert.equal(await s.get('ilp:hub:{t1}'), 'record', 'later operations run plainly');
    assert.equal(store.calls, 2);
    await writeMark(store, pending);
    assert.equal(store.calls, 2, 'a mark already written is not written again before forwarding');
  });

  test('a mark that exists: the operation does not run, every operation rejects with the refusal, and it is reported once', async () => {
    const inner = createMemoryStore({ maxEntries: 100 });
    await inner.save('jws-replay:abc', '1', 60_000);
    await inner.save('ilp:hub:{t1}', '{"p":"payee"}', 60_000);
    const { pending, outcomes } = pendingOf();
    const s = firstUse(inner, pending);
    const [a, b, c] = await Promise.allSettled([s.take('ilp:hub:{t1}', 'used', '{"p":"payee"'), s.save('ilp:hub:{t2}', 'x', 60_000), s.get('ilp:hub:{t1}')]);
    for (const r of [a, b, c]) assert.ok(r?.status === 'rejected' && code('GW_JWS_REPLAY')(r.reason));
    assert.equal(a?.status === 'rejected' && pending.refusedWith(a.reason), true);
    assert.deepEqual(outcomes, [false]);
    assert.equal(await inner.get('ilp:hub:{t1}'), '{"p":"payee"}', 'the replay consumed nothing');
    assert.equal(await inner.get('ilp:hub:{t2}'), undefined, 'and wrote nothing');
  });

  test('concurrent operations wait for the first: none runs before the mark is known to be new', async () => {
    const inner = createMemoryStore({ maxEntries: 100 });
    const order: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const slow: Store = {
      ...inner,
      marked: async (m, op) => {
        order.push('marked');
        await gate;
        return inner.marked(m, op);
      },
      get: async (k) => {
        order.push(`get ${k}`);
        return inner.get(k);
      },
    };
    const { pending } = pendingOf();
    const s = firstUse(slow, pending);
    const first = s.get('a');
    const second = s.get('b');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(order, ['marked'], 'the second operation waits while the mark is in flight');
    release();
    await Promise.all([first, second]);
    assert.deepEqual(order, ['marked', 'get b']);
  });

  test('a store failure on the first operation: GW_STORE_UNAVAILABLE for it and every later one', async () => {
    const inner = createMemoryStore({ maxEntries: 100 });
    const broken: Store = { ...inner, marked: () => Promise.reject(new Error('ECONNRESET')) };
    const { pending, outcomes } = pendingOf();
    const s = firstUse(broken, pending);
    await assert.rejects(s.save('k', 'v', 1000), code('GW_STORE_UNAVAILABLE'));
    await assert.rejects(s.get('k'), code('GW_STORE_UNAVAILABLE'));
    assert.equal(outcomes.length, 1);
    assert.ok(outcomes[0] instanceof Error);
    assert.equal(await inner.get('k'), undefined);
  });
});

describe('firstUse: the mark written, the operation failed', () => {
  test("a full memory store: the record counts as new (the JWS verdict is 'ok'), the operation's own GW_STORE_FULL is thrown", async () => {
    const inner = createMemoryStore({ maxEntries: 1 });
    const { pending, outcomes } = pendingOf();
    const s = firstUse(inner, pending);
    await assert.rejects(s.save('ilp:hub:{t1}', 'record', 60_000), (e: unknown) => code('GW_STORE_FULL')(e) && !pending.refusedWith(e));
    assert.deepEqual(outcomes, [true]);
    assert.equal(await inner.get('jws-replay:abc'), '1');
    assert.equal(await s.get('jws-replay:abc'), '1', 'later operations run');
  });
});

describe('writeMark', () => {
  test('writes an unclaimed mark once; a second request with the same mark is refused', async () => {
    const store = counting(createMemoryStore({ maxEntries: 100 }));
    const one = pendingOf();
    await writeMark(store, one.pending);
    await writeMark(store, one.pending);
    assert.equal(store.calls, 1);
    assert.deepEqual(one.outcomes, [true]);
    const two = pendingOf();
    await assert.rejects(writeMark(store, two.pending), code('GW_JWS_REPLAY'));
    assert.deepEqual(two.outcomes, [false]);
  });

  test('a mark claimed by a store operation is not written again', async () => {
    const store = counting(createMemoryStore({ maxEntries: 100 }));
    const { pending } = pendingOf();
    await firstUse(store, pending).get('x');
    await writeMark(store, pending);
    assert.equal(store.calls, 1);
  });
});
