import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createMemoryStore } from '../../src/store/memory.js';
import type { Store } from '../../src/store/types.js';
import { storeContract } from './contract.js';

describe('memory store: contract', () => {
  let store: Store;
  before(() => { store = createMemoryStore({ maxEntries: 1000 }); });
  after(() => store.close());
  storeContract(() => store);
});

describe('memory store: bounds', () => {
  test('holds at most MEMORY_STORE_MAX_ENTRIES, evicting the oldest written', async () => {
    const store = createMemoryStore({ maxEntries: 100 });
    for (let i = 0; i < 150; i++) await store.save(`k${i}`, String(i), 60_000);
    assert.equal(await store.get('k0'), undefined);
    assert.equal(await store.get('k49'), undefined);
    assert.equal(await store.get('k50'), '50');
    assert.equal(await store.get('k149'), '149');
  });

  test('expiry follows the injected clock', async () => {
    let now = 1000;
    const store = createMemoryStore({ maxEntries: 100, now: () => now });
    await store.save('a', 'x', 500);
    now = 1499;
    assert.equal(await store.get('a'), 'x');
    now = 1500;
    assert.equal(await store.get('a'), undefined);
    assert.equal(store.kind, 'memory');
  });
});
