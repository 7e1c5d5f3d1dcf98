// The Store contract, run against every adapter (memory, Redis node, Redis Cluster).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Store } from '../../src/store/types.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Registers the contract tests; `store()` returns the adapter under test (created in a before hook). */
export function storeContract(store: () => Store): void {
  const id = () => `c:{${Math.random().toString(36).slice(2)}}`;

  test('save then get returns the value; get of an absent key is undefined', async () => {
    const k = id();
    assert.equal(await store().save(k, 'v1', 5000), true);
    assert.equal(await store().get(k), 'v1');
    assert.equal(await store().get(id()), undefined);
  });

  test('save nx refuses an existing key and keeps the first value', async () => {
    const k = id();
    assert.equal(await store().save(k, 'first', 5000, 'nx'), true);
    assert.equal(await store().save(k, 'second', 5000, 'nx'), false);
    assert.equal(await store().get(k), 'first');
    assert.equal(await store().save(k, 'third', 5000), true);
    assert.equal(await store().get(k), 'third');
  });

  test('take returns the value once and deletes it', async () => {
    const k = id();
    await store().save(k, 'once', 5000);
    assert.equal(await store().take(k), 'once');
    assert.equal(await store().take(k), undefined);
    assert.equal(await store().get(k), undefined);
  });

  test('take with a tombstone leaves the tombstone; an absent key stays absent', async () => {
    const k = id();
    await store().save(k, 'record', 5000);
    assert.equal(await store().take(k, 'used'), 'record');
    assert.equal(await store().take(k, 'used'), 'used');
    assert.equal(await store().get(k), 'used');
    const absent = id();
    assert.equal(await store().take(absent, 'used'), undefined);
    assert.equal(await store().get(absent), undefined);
  });

  test('entries expire after their TTL, tombstones keep the remaining TTL', async () => {
    const a = id();
    const b = id();
    await store().save(a, 'short', 150);
    await store().save(b, 'short', 150);
    assert.equal(await store().take(b, 'used'), 'short');
    await sleep(300); // time passing is what this test is about: twice the TTL, then both entries are gone
    assert.equal(await store().get(a), undefined);
    assert.equal(await store().get(b), undefined);
    assert.equal(await store().save(a, 'again', 5000, 'nx'), true);
  });

  test('delete removes a key; ping answers true', async () => {
    const k = id();
    await store().save(k, 'x', 5000);
    await store().delete(k);
    assert.equal(await store().get(k), undefined);
    assert.equal(await store().ping(), true);
  });

  test('take with requirePrefix consumes only a matching value and returns the value either way', async () => {
    const s = store();
    const t = id();
    await s.save(t, '{"p":"payee","c":1}', 60_000);
    assert.equal(await s.take(t, 'used', '{"p":"other",'), '{"p":"payee","c":1}');
    assert.equal(await s.get(t), '{"p":"payee","c":1}', 'not consumed by a non-matching prefix');
    assert.equal(await s.take(t, 'used', '{"p":"payee",'), '{"p":"payee","c":1}');
    assert.equal(await s.take(t, 'used', '{"p":"payee",'), 'used', 'a tombstone is returned, never consumed again');
    assert.equal(await s.get(t), 'used');
    assert.equal(await s.take(id(), 'used', 'x'), undefined);
  });

  test('untake gives back a taken value only over its own tombstone, with the remaining TTL', async () => {
    const s = store();
    const k = id();
    await s.save(k, '{"p":"payee","c":1}', 1500);
    assert.equal(await s.take(k, 'used:a', '{"p":"payee",'), '{"p":"payee","c":1}');
    assert.equal(await s.untake(k, 'used:b', '{"p":"payee","c":1}'), false, 'another tombstone: left alone');
    assert.equal(await s.get(k), 'used:a');
    assert.equal(await s.untake(k, 'used:a', '{"p":"payee","c":1}'), true);
    assert.equal(await s.get(k), '{"p":"payee","c":1}');
    assert.equal(await s.untake(k, 'used:a', 'anything'), false, 'given back once');
    assert.equal(await s.take(k, 'used:c', '{"p":"payee",'), '{"p":"payee","c":1}', 'the payee can take it again');
    const absent = id();
    assert.equal(await s.untake(absent, 'used', 'v'), false);
    assert.equal(await s.get(absent), undefined, 'an absent key is never created');
    await sleep(1600);
    assert.equal(await s.get(k), undefined, 'the record expires on its first TTL, give-back or not');
  });

  test('marked: the operation runs only when its mark was new, and the mark stays for its TTL', async () => {
    const s = store();
    const mark = { key: id(), ttlMs: 5000 };
    const k = id();
    assert.deepEqual(await s.marked(mark, { op: 'save', key: k, value: 'first', ttlMs: 5000 }), { fresh: true, result: true });
    assert.equal(await s.get(mark.key), '1', 'the mark is written');
    assert.equal(await s.get(k), 'first');
    assert.deepEqual(await s.marked(mark, { op: 'save', key: k, value: 'second', ttlMs: 5000 }), { fresh: false });
    assert.equal(await s.get(k), 'first', 'nothing ran under an existing mark');
    const short = { key: id(), ttlMs: 150 };
    assert.deepEqual(await s.marked(short, { op: 'get', key: k }), { fresh: true, result: 'first' });
    await sleep(300); // the mark's own TTL is what this checks
    assert.equal(await s.get(short.key), undefined);
    assert.deepEqual(await s.marked(short, { op: 'get', key: id() }), { fresh: true, result: undefined }, 'new again once expired');
  });

  test('marked: each operation answers as its plain form does (save nx, get, take, take with prefix and tombstone)', async () => {
    const s = store();
    const m = () => ({ key: id(), ttlMs: 5000 });
    const k = id();
    await s.save(k, '{"p":"payee","c":1}', 5000);
    assert.deepEqual(await s.marked(m(), { op: 'save', key: k, value: 'x', ttlMs: 5000, mode: 'nx' }), { fresh: true, result: false });
    assert.deepEqual(await s.marked(m(), { op: 'get', key: k }), { fresh: true, result: '{"p":"payee","c":1}' });
    assert.deepEqual(await s.marked(m(), { op: 'take', key: k, tombstone: 'used:1', requirePrefix: '{"p":"other",' }), {
      fresh: true,
      result: '{"p":"payee","c":1}',
    });
    assert.equal(await s.get(k), '{"p":"payee","c":1}', 'another prefix leaves it');
    const replayed = m();
    await s.save(replayed.key, '1', 5000);
    assert.deepEqual(await s.marked(replayed, { op: 'take', key: k, tombstone: 'used:1', requirePrefix: '{"p":"payee",' }), { fresh: false });
    assert.equal(await s.get(k), '{"p":"payee","c":1}', 'a replayed take consumes nothing');
    assert.deepEqual(await s.marked(m(), { op: 'take', key: k, tombstone: 'used:1', requirePrefix: '{"p":"payee",' }), {
      fresh: true,
      result: '{"p":"payee","c":1}',
    });
    assert.equal(await s.get(k), 'used:1');
    assert.equal(await s.untake(k, 'used:1', '{"p":"payee","c":1}'), true, 'a marked take gives back like a plain one');
    const plain = id();
    await s.save(plain, 'v', 5000);
    assert.deepEqual(await s.marked(m(), { op: 'take', key: plain, requirePrefix: 'w' }), { fresh: true, result: 'v' });
    assert.equal(await s.get(plain), 'v');
    assert.deepEqual(await s.marked(m(), { op: 'take', key: plain, requirePrefix: 'v' }), { fresh: true, result: 'v' });
    assert.equal(await s.get(plain), undefined);
    await s.save(plain, 'w', 5000);
    assert.deepEqual(await s.marked(m(), { op: 'take', key: plain }), { fresh: true, result: 'w' });
    assert.equal(await s.get(plain), undefined);
  });

  test('marked: of 20 concurrent calls with one mark, one runs', async () => {
    const s = store();
    const mark = { key: id(), ttlMs: 5000 };
    const k = id();
    await s.save(k, 'prize', 5000);
    const results = await Promise.all(Array.from({ length: 20 }, () => s.marked(mark, { op: 'take', key: k, tombstone: 'used' })));
    assert.deepEqual(
      results.filter((r) => r.fresh),
      [{ fresh: true, result: 'prize' }],
    );
    assert.equal(await s.get(k), 'used');
  });

  test('20 concurrent tombstone takes: exactly one gets the value', async () => {
    const k = id();
    await store().save(k, 'prize', 5000);
    const results = await Promise.all(Array.from({ length: 20 }, () => store().take(k, 'used')));
    assert.equal(results.filter((r) => r === 'prize').length, 1);
    assert.equal(results.filter((r) => r === 'used').length, 19);
  });
}

/**
 * The bounded-store contract (memory adapter): a full store refuses (GW_STORE_FULL), never evicts a live
 * record; expired records are swept so capacity frees; the byte bound holds like the entry bound.
 * `make` builds a fresh adapter with the given bounds and an injected clock.
 */
export function boundedStoreContract(make: (o: { maxEntries: number; maxBytes?: number; now: () => number }) => Store): void {
  const isFull = (e: unknown) => (e as { code?: string }).code === 'GW_STORE_FULL';

  test('full (entries): the next write is refused with GW_STORE_FULL and every live record stays', async () => {
    const s = make({ maxEntries: 100, now: () => 1000 });
    for (let i = 0; i < 100; i++) assert.equal(await s.save(`k${i}`, String(i), 60_000), true);
    await assert.rejects(s.save('one-too-many', 'x', 60_000), isFull);
    await assert.rejects(s.save('nx-too', 'x', 60_000, 'nx'), isFull);
    for (let i = 0; i < 100; i++) assert.equal(await s.get(`k${i}`), String(i), `k${i} must survive`);
    // overwriting an existing key does not need room; take and delete free it
    assert.equal(await s.save('k0', 'new', 60_000), true);
    assert.equal(await s.take('k1'), '1');
    assert.equal(await s.save('fits-now', 'x', 60_000), true);
    await s.close();
  });

  test('full (bytes): key + value lengths are bounded too', async () => {
    const s = make({ maxEntries: 1_000_000, maxBytes: 10_000, now: () => 1000 });
    assert.equal(await s.save('big', 'x'.repeat(9_000), 60_000), true);
    await assert.rejects(s.save('big2', 'x'.repeat(2_000), 60_000), isFull);
    assert.equal((await s.get('big'))?.length, 9_000);
    assert.equal(await s.save('small', 'x'.repeat(500), 60_000), true);
    // a replacement that grows past the bound is refused and the old value stays
    await assert.rejects(s.save('small', 'x'.repeat(2_000), 60_000), isFull);
    assert.equal((await s.get('small'))?.length, 500);
    await s.delete('big');
    assert.equal(await s.save('big2', 'x'.repeat(2_000), 60_000), true);
    await s.close();
  });

  test('expired records are swept under write pressure, so a full store frees capacity without evicting live ones', async () => {
    let now = 1000;
    const s = make({ maxEntries: 1000, maxBytes: 1_000_000, now: () => now });
    for (let i = 0; i < 500; i++) await s.save(`short${i}`, 'x', 1_000);
    for (let i = 0; i < 500; i++) await s.save(`long${i}`, 'y', 600_000);
    await assert.rejects(s.save('next', 'z', 1_000), isFull);
    now += 2_000; // the short ones expire; nobody reads them
    for (let i = 0; i < 500; i++) assert.equal(await s.save(`new${i}`, 'z', 600_000), true);
    for (let i = 0; i < 500; i++) assert.equal(await s.get(`long${i}`), 'y');
    await assert.rejects(s.save('over', 'z', 1_000), isFull);
    await s.close();
  });

  test('security state (quarantine:*) never competes with request state: a full store still takes it and traffic cannot push it out', async () => {
    const s = make({ maxEntries: 100, now: () => 1000 });
    for (let i = 0; i < 100; i++) await s.save(`k${i}`, 'v', 60_000);
    assert.equal(await s.save('quarantine:peers', '["dfsp1"]', 60_000), true);
    for (let i = 0; i < 1000; i++) await s.save(`k${i}`, 'v', 60_000).catch(() => false);
    assert.equal(await s.get('quarantine:peers'), '["dfsp1"]');
    await s.close();
  });
}
