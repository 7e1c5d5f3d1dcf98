// The edit lock of the shared security values (src/store/shared-edit.ts): released only by its holder, and an edit
// that outlived it is not reported as done (review of 2026-12-01: a late quarantine edit released another's lock).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GatewayError } from '../../../src/errors.js';
import { createMemoryStore } from '../../../src/store/memory.js';
import { SecurityState, type StateCodec } from '../../../src/store/security-state.js';
import { isAhead, MAX_AHEAD_MS, withStoreLock } from '../../../src/store/shared-edit.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const unavailable = (e: unknown) => e instanceof GatewayError && e.code === 'GW_STORE_UNAVAILABLE';

describe('withStoreLock', () => {
  test('one holder at a time; released after the edit, also when it throws', async () => {
    const store = createMemoryStore({ maxEntries: 100 });
    const order: string[] = [];
    const edit = (name: string, ms: number) =>
      withStoreLock(store, 'lock', 1000, 'test value', async () => {
        order.push(`${name}+`);
        await sleep(ms);
        order.push(`${name}-`);
        return name;
      });
    assert.deepEqual(await Promise.all([edit('a', 30), edit('b', 10)]), ['a', 'b']);
    assert.deepEqual(order, ['a+', 'a-', 'b+', 'b-']);
    assert.equal(await store.get('lock'), undefined);
    await assert.rejects(
      withStoreLock(store, 'lock', 1000, 'test value', async () => {
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.equal(await store.get('lock'), undefined);
  });

  test('a call that outlived its lock does not release the next holder’s lock, and is answered 503, not done', async () => {
    const store = createMemoryStore({ maxEntries: 100 });
    let releaseSecond: () => void = () => {};
    const first = withStoreLock(store, 'lock', 100, 'test value', () => sleep(250).then(() => 'first'));
    await sleep(150); // the first lock has expired
    const second = withStoreLock(store, 'lock', 1000, 'test value', () => new Promise<string>((r) => (releaseSecond = () => r('second'))));
    await sleep(20);
    const held = await store.get('lock');
    assert.notEqual(held, undefined, 'the second call holds the lock');
    await assert.rejects(first, unavailable);
    assert.equal(await store.get('lock'), held, 'the first call left the second one’s lock alone');
    // A third editor still waits for the second.
    let thirdRan = false;
    const third = withStoreLock(store, 'lock', 1000, 'test value', async () => {
      thirdRan = true;
    });
    await sleep(30);
    assert.equal(thirdRan, false);
    releaseSecond();
    assert.equal(await second, 'second');
    await third;
    assert.equal(thirdRan, true);
  });

  test('timed from when the lock was asked for: a late reply to the SET shortens the lock, and an edit past it is 503 (review of 2026-12-01)', async () => {
    const store = createMemoryStore({ maxEntries: 100 });
    const save = store.save.bind(store);
    store.save = async (...args) => {
      const r = await save(...args);
      await sleep(80); // the SET ran at once; its reply (or the event loop) is late
      return r;
    };
    await assert.rejects(
      withStoreLock(store, 'lock', 100, 'test value', () => sleep(40)),
      (e: unknown) => unavailable(e) && (e as GatewayError).context?.outlivedLock === true,
    );
    assert.equal(await withStoreLock(createMemoryStore({ maxEntries: 100 }), 'lock', 100, 'test value', async () => 'in time'), 'in time');
  });

  test('a lock held by another for longer than the wait → 503', async () => {
    const store = createMemoryStore({ maxEntries: 100 });
    await store.save('lock', 'someone-else', 10_000);
    await assert.rejects(
      withStoreLock(store, 'lock', 100, 'test value', async () => 'never'),
      unavailable,
    );
    assert.equal(await store.get('lock'), 'someone-else');
  });
});

test('isAhead: only an unsealed generation beyond MAX_AHEAD_MS of the clock', () => {
  const now = 1_800_000_000_000;
  assert.equal(isAhead(now + MAX_AHEAD_MS, now, false), false);
  assert.equal(isAhead(now + MAX_AHEAD_MS + 1, now, false), true);
  assert.equal(isAhead(now + MAX_AHEAD_MS + 1, now, true), false, 'a sealed value was written by a replica');
});

test('SecurityState: a replica whose clock is slow never writes its older value over a newer unsealed one; it is not ready and refuses edits', async () => {
  const store = createMemoryStore({ maxEntries: 100 });
  const codec: StateCodec<string[]> = {
    parse: (j) => {
      if (!Array.isArray(j)) throw new Error('not a list');
      return j as string[];
    },
    toJson: (v) => v,
    equal: (a, b) => JSON.stringify(a) === JSON.stringify(b),
    isEmpty: (v) => v.length === 0,
    empty: [],
  };
  const replica = (now?: () => number) =>
    new SecurityState<string[]>({ store, key: 'sec:v', lockKey: 'sec:v:lock', what: 'test list', codec, purpose: 'test', ...(now ? { now } : {}) });
  const good = replica();
  const slow = replica(() => Date.now() - 11 * 60_000);
  await good.update((v) => ({ next: [...v, 'X'], result: true }));
  const stored = await store.get('sec:v');
  for (let i = 0; i < 3; i++) await Promise.all([slow.refresh(), good.refresh()]);
  assert.equal(await store.get('sec:v'), stored);
  assert.deepEqual([good.value, slow.value], [['X'], []]);
  assert.deepEqual([good.readiness().ok, slow.readiness().ok, slow.readiness().info.aheadOfClock], [true, false, true]);
  await assert.rejects(
    slow.update((v) => ({ next: [...v, 'Y'], result: true })),
    unavailable,
  );
  assert.equal(await store.get('sec:v'), stored);
});
