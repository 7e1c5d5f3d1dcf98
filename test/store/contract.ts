// The Store contract, run against every adapter (memory, Redis node, Redis Cluster).
import { test } from 'node:test';
import assert from 'node:assert/strict';
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
    await sleep(300);
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

  test('20 concurrent tombstone takes: exactly one gets the value', async () => {
    const k = id();
    await store().save(k, 'prize', 5000);
    const results = await Promise.all(Array.from({ length: 20 }, () => store().take(k, 'used')));
    assert.equal(results.filter((r) => r === 'prize').length, 1);
    assert.equal(results.filter((r) => r === 'used').length, 19);
  });
}
