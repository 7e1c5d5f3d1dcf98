// A take whose reply is lost is undone (src/store/redis-take.ts), against a redis-server of the test's own:
// CLIENT PAUSE WRITE holds the take past the store's command timeout, so the gateway sees a failure while
// Redis runs the take afterwards (the reply lost to a crash, a reset or a timeout, made repeatable).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { createRedisStore } from '../../../src/store/redis.js';
import { cancelKeyOf, TAKE_SCRIPT, UNDO_SCRIPT, UNDO_WINDOW_MS, undoKeyOf } from '../../../src/store/redis-take.js';
import type { Store } from '../../../src/store/types.js';
import { NOOP_TELEMETRY, type Telemetry } from '../../../src/telemetry/types.js';
import { type RedisProc, startRedis } from '../../helpers/redis-procs.js';
import { waitFor } from '../../helpers/wait.js';

const RECORD = '{"p":"payeefsp","c":"cond","e":1}';
const TOMBSTONE = 'used:abc';

test('undoKeyOf: the note shares the record slot, or there is no note', () => {
  assert.equal(undoKeyOf('sg:ilp:hub:{t1}'), 'sg:ilp:hub:{t1}~undo');
  assert.equal(undoKeyOf('{pre}:ilp:hub:{t1}'), '{pre}:ilp:hub:{t1}~undo');
  assert.equal(undoKeyOf('plain:key'), '{plain:key}~undo');
  assert.equal(undoKeyOf('half{open'), '{half{open}~undo'); // no '}' in the key: the tag is the whole key
  assert.equal(undoKeyOf('a{}b'), undefined); // empty tag: Redis hashes the whole key, no tag reproduces it
  assert.equal(undoKeyOf('a}b'), undefined);
});

describe('redis store: a take whose reply is lost', () => {
  let server: RedisProc & { cleanup(): Promise<void> };
  let raw: Redis;
  before(async () => {
    server = await startRedis();
    raw = new Redis(server.url);
  });
  after(async () => {
    raw.disconnect();
    await server.cleanup();
  });

  const pause = (ms: number) => raw.call('CLIENT', 'PAUSE', String(ms), 'WRITE');

  test('control: without an undo, a tombstone set after its timeout stays (the hazard is real)', async () => {
    await raw.set('ctl:{t0}', RECORD, 'PX', 60_000);
    const late = new Redis(server.url, { commandTimeout: 100, maxRetriesPerRequest: 1 });
    try {
      await pause(400);
      await assert.rejects(late.call('SET', 'ctl:{t0}', TOMBSTONE, 'XX', 'KEEPTTL', 'GET'), /timed out/i);
      await waitFor(async () => (await raw.get('ctl:{t0}')) === TOMBSTONE, { timeoutMs: 3000, what: 'the late take to run' });
    } finally {
      late.disconnect();
    }
  });

  test('the store answers GW_STORE_UNAVAILABLE, Redis runs the take later, the undo restores the record', async (t) => {
    const events: string[] = [];
    const telemetry: Telemetry = { ...NOOP_TELEMETRY, store: (e) => events.push(`${e.op}:${e.outcome}`) };
    const store: Store = createRedisStore({ url: server.url, keyPrefix: 'a:', timeoutMs: 150, telemetry });
    t.after(() => store.close());
    assert.equal(await store.save('ilp:hub:{t1}', RECORD, 60_000), true);
    const ttlBefore = await raw.pttl('a:ilp:hub:{t1}');

    await pause(500);
    await assert.rejects(store.take('ilp:hub:{t1}', TOMBSTONE, '{"p":"payeefsp",'), { code: 'GW_STORE_UNAVAILABLE' });
    // Redis ran the take (the undo note is its trace) and then the undo, which restored the record and its TTL.
    await waitFor(async () => events.includes('take_undo:ok'), { timeoutMs: 5000, what: 'an undo answered' });
    assert.equal(await raw.get('a:ilp:hub:{t1}'), RECORD);
    assert.equal(await raw.exists('a:ilp:hub:{t1}~undo'), 0, 'the note is gone with the undo');
    const ttl = await raw.pttl('a:ilp:hub:{t1}');
    assert.ok(ttl > 0 && ttl <= ttlBefore, `TTL kept (${ttl} of ${ttlBefore})`);

    // The payee's resend now consumes it, once.
    assert.equal(await store.take('ilp:hub:{t1}', TOMBSTONE, '{"p":"payeefsp",'), RECORD);
    assert.equal(await store.take('ilp:hub:{t1}', TOMBSTONE, '{"p":"payeefsp",'), TOMBSTONE);
    assert.equal(await raw.get('a:ilp:hub:{t1}'), TOMBSTONE);
    const note = await raw.get('a:ilp:hub:{t1}~undo');
    assert.ok(note?.endsWith(`\n${RECORD}`), 'a consuming take leaves its note');
    const noteTtl = await raw.pttl('a:ilp:hub:{t1}~undo');
    assert.ok(noteTtl > 0 && noteTtl <= UNDO_WINDOW_MS, `note TTL ${noteTtl}`);
  });

  test('Redis down for the whole undo attempt: retried until it answers', async (t) => {
    const own = await startRedis();
    t.after(() => own.cleanup());
    const ownRaw = new Redis(own.url);
    t.after(() => ownRaw.disconnect());
    const events: string[] = [];
    const telemetry: Telemetry = { ...NOOP_TELEMETRY, store: (e) => events.push(`${e.op}:${e.outcome}`) };
    const store = createRedisStore({ url: own.url, keyPrefix: 'b:', timeoutMs: 150, telemetry });
    t.after(() => store.close());
    await store.save('ilp:hub:{t2}', RECORD, 60_000);
    // A long pause: the first undo attempts time out too; the take and every queued undo run at its end.
    await ownRaw.call('CLIENT', 'PAUSE', '1200', 'WRITE');
    await assert.rejects(store.take('ilp:hub:{t2}', TOMBSTONE, '{"p":"payeefsp",'), { code: 'GW_STORE_UNAVAILABLE' });
    await waitFor(async () => (await ownRaw.get('b:ilp:hub:{t2}')) === RECORD && events.includes('take_undo:ok'), {
      timeoutMs: 6000,
      what: 'the record restored',
    });
    assert.ok(events.filter((e) => e === 'take_undo:error').length >= 1, `undo attempts failed first: ${events.join(' ')}`);
  });

  test('an undo never revives a record another call consumed: the note carries the consuming call token', async () => {
    const key = 'c:ilp:hub:{t3}';
    const note = undoKeyOf(key) as string;
    const take = (token: string) => raw.eval(TAKE_SCRIPT, 3, key, note, cancelKeyOf(note, token), TOMBSTONE, '{"p":"payeefsp",', token, String(UNDO_WINDOW_MS));
    const undo = (token: string) => raw.eval(UNDO_SCRIPT, 3, key, note, cancelKeyOf(note, token), TOMBSTONE, token, String(UNDO_WINDOW_MS));
    await raw.set(key, RECORD, 'PX', 60_000);

    // Replica A's take never ran (its connection died first); replica B took and forwarded. A's undo: nothing.
    assert.equal(await take('tokB'), RECORD);
    assert.equal(await undo('tokA'), 0);
    assert.equal(await raw.get(key), TOMBSTONE);

    // A's take ran and was undone; B then took; A's late retry finds B's note: nothing.
    // (Tokens are unique per call: an undo cancels its own token's take for good, so each scenario has its own.)
    await raw.set(key, RECORD, 'PX', 60_000);
    assert.equal(await take('tokG'), RECORD);
    assert.equal(await undo('tokG'), 1);
    assert.equal(await raw.get(key), RECORD);
    assert.equal(await take('tokH'), RECORD);
    assert.equal(await undo('tokG'), 0);
    assert.equal(await raw.get(key), TOMBSTONE);

    // Not the payee's: nothing consumed, no note, nothing to undo.
    await raw.set(key, RECORD, 'PX', 60_000);
    await raw.del(note);
    assert.equal(await raw.eval(TAKE_SCRIPT, 3, key, note, cancelKeyOf(note, 'tokC'), TOMBSTONE, '{"p":"otherfsp",', 'tokC', '60000'), RECORD);
    assert.equal(await raw.exists(note), 0);
    assert.equal(await undo('tokC'), 0);
    assert.equal(await raw.get(key), RECORD);

    // The record expired (or was replaced) since: the undo never writes a value over something else.
    assert.equal(await take('tokD'), RECORD);
    await raw.set(key, 'something else', 'PX', 60_000);
    assert.equal(await undo('tokD'), 0);
    assert.equal(await raw.get(key), 'something else');
    await raw.del(key);
    assert.equal(await undo('tokD'), 0);
    assert.equal(await raw.exists(key), 0, 'an absent record is never created');

    // An undo that runs before its take (the take late on a broken connection, or on a moved slot) leaves a
    // cancel mark: the late take then does nothing, and a later take by another call is not hindered.
    await raw.set(key, RECORD, 'PX', 60_000);
    assert.equal(await undo('tokE'), 0);
    assert.equal(await take('tokE'), null);
    assert.equal(await raw.get(key), RECORD, 'the late take did not spend the record');
    assert.equal(await take('tokF'), RECORD);
    assert.equal(await raw.get(key), TOMBSTONE);
  });

  test('a key prefix with an empty hash tag: no undo note, and a give-back keeps the record', async (t) => {
    const store = createRedisStore({ url: server.url, keyPrefix: 'sg{}:', timeoutMs: 1000, telemetry: NOOP_TELEMETRY });
    t.after(() => store.close());
    await store.save('ilp:hub:{t5}', RECORD, 60_000);
    assert.equal(await store.take('ilp:hub:{t5}', TOMBSTONE, '{"p":"payeefsp",'), RECORD);
    assert.deepEqual(await raw.keys('sg{}:*'), ['sg{}:ilp:hub:{t5}'], 'no note');
    assert.equal(await store.untake('ilp:hub:{t5}', TOMBSTONE, RECORD), true);
    assert.equal(await raw.get('sg{}:ilp:hub:{t5}'), RECORD);
  });

  test('a take ioredis never sent (no connection, no offline queue) schedules no undo', async (t) => {
    const own = await startRedis();
    t.after(() => own.cleanup());
    const events: string[] = [];
    const telemetry: Telemetry = { ...NOOP_TELEMETRY, store: (e) => events.push(`${e.op}:${e.outcome}`) };
    const store = createRedisStore({ url: own.url, keyPrefix: 'd:', timeoutMs: 300, telemetry });
    t.after(() => store.close());
    await store.save('ilp:hub:{t6}', RECORD, 60_000);
    await own.kill();
    await assert.rejects(store.take('ilp:hub:{t6}', TOMBSTONE, '{"p":"payeefsp",'), { code: 'GW_STORE_UNAVAILABLE' });
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(
      events.filter((e) => e.startsWith('take')),
      ['take:error'],
    );
  });
});
