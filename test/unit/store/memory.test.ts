import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createMemoryStore } from '../../../src/store/memory.js';
import type { Store } from '../../../src/store/types.js';
import { NOOP_TELEMETRY } from '../../../src/telemetry/types.js';
import { boundedStoreContract, storeContract } from '../../helpers/store-contract.js';
import { waitFor } from '../../helpers/wait.js';

describe('memory store: contract', () => {
  let store: Store;
  before(() => {
    store = createMemoryStore({ maxEntries: 1000 });
  });
  after(() => store.close());
  storeContract(() => store);
});

describe('memory store: bounded contract', () => {
  boundedStoreContract((o) => createMemoryStore({ ...o, sweepIntervalMs: 0 }));
});

describe('memory store: bounds', () => {
  test('holds at most MEMORY_STORE_MAX_ENTRIES and refuses beyond it, never evicting the oldest written', async () => {
    const store = createMemoryStore({ maxEntries: 100 });
    let refused = 0;
    for (let i = 0; i < 150; i++)
      await store.save(`k${i}`, String(i), 60_000).catch(() => {
        refused++;
      });
    assert.equal(refused, 50);
    assert.equal(await store.get('k0'), '0');
    assert.equal(await store.get('k99'), '99');
    assert.equal(await store.get('k149'), undefined);
    await store.close();
  });

  test('the periodic sweep frees expired entries nobody reads; refusals are counted', async () => {
    let now = 1000;
    let full = 0;
    const store = createMemoryStore({
      maxEntries: 100,
      now: () => now,
      sweepIntervalMs: 10,
      telemetry: {
        ...NOOP_TELEMETRY,
        storeFull: () => {
          full++;
        },
      },
    });
    for (let i = 0; i < 100; i++) await store.save(`k${i}`, 'v', 500);
    await assert.rejects(store.save('x', 'v', 500));
    assert.equal(full, 1);
    now += 1000;
    await waitFor(() => store.stats().entries === 0, { timeoutMs: 3000, intervalMs: 10 }).catch(() => {});
    assert.equal(store.stats().entries, 0);
    assert.equal(store.stats().bytes, 0);
    await store.close();
  });

  test('marked: an operation refused after its record was written is counted as the Redis adapter counts it', async () => {
    const ops: string[] = [];
    const store = createMemoryStore({
      maxEntries: 1,
      sweepIntervalMs: 0,
      telemetry: { ...NOOP_TELEMETRY, store: (e) => ops.push(`${e.op}:${e.outcome}`) },
    });
    const r = await store.marked({ key: 'jws-replay:a', ttlMs: 60_000 }, { op: 'save', key: 'ilp:x', value: 'v', ttlMs: 60_000 });
    assert.equal(r.fresh, true);
    assert.equal('error' in r && (r.error as { code?: string }).code, 'GW_STORE_FULL', 'the operation found the store full');
    assert.deepEqual(ops, ['marked:ok', 'marked_operation:error']);
    assert.deepEqual(await store.marked({ key: 'jws-replay:a', ttlMs: 60_000 }, { op: 'get', key: 'ilp:x' }), { fresh: false }, 'the record stays written');
    assert.deepEqual(ops, ['marked:ok', 'marked_operation:error', 'marked:ok']);
    await store.close();
  });

  test('the default capacity holds the class 9 sizing: 300 000 replay records beside ILP records', async () => {
    const store = createMemoryStore({ maxEntries: 1_000_000, maxBytes: 512 * 1024 * 1024, sweepIntervalMs: 0 });
    const replayValue = '1';
    for (let i = 0; i < 300_000; i++) await store.save(`jws-replay:${i.toString(16).padStart(64, '0')}`, replayValue, 600_000, 'nx');
    const hub = JSON.stringify({ p: 'payeefsp-with-a-long-name', c: 'x'.repeat(43), e: Date.now() });
    for (let i = 0; i < 150_000; i++) await store.save(`ilp:hub:{${i.toString(16).padStart(36, '0')}}`, hub, 600_000, 'nx');
    assert.ok(store.stats().entries === 450_000);
    assert.ok(store.stats().bytes < (512 * 1024 * 1024) / 4, `bytes ${store.stats().bytes}`);
    await store.close();
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
