// Run-time limit overrides are security state (src/limits/overrides.ts on src/store/security-state.ts,
// LIMIT_OVERRIDES_PATH): every applied generation is written to the durable copy, start-up reads it before the
// store, a replica that enforces a generation the store has lost (absent, older, tampered) writes it back under
// the edit lock, never over a newer one, and overrides stored by the earlier version are taken over.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { LimitOverrides, OVERRIDES_KEY } from '../../../src/limits/overrides.js';
import { createMemoryStore } from '../../../src/store/memory.js';
import { createSealer } from '../../../src/store/sealed.js';

const KEY = OVERRIDES_KEY;
const HMAC = 'k'.repeat(40);

function fixture() {
  const dir = mkdtempSync(join(tmpdir(), 'sg-overrides-'));
  const path = join(dir, 'limit-overrides.json');
  const cleanups: Array<() => void> = [() => rmSync(dir, { recursive: true, force: true })];
  const open = (store = createMemoryStore({ maxEntries: 1000 }), withPath = true) => {
    const restored: Array<{ reason: string; fsps: readonly string[] }> = [];
    const o = new LimitOverrides(store, {
      hmacKey: HMAC,
      refreshMs: 60_000,
      ...(withPath ? { path } : {}),
      onLoss: (e) => restored.push({ reason: e.reason, fsps: e.fsps }),
    });
    cleanups.push(() => o.close());
    return { o, store, restored };
  };
  return {
    path,
    open,
    done: () => {
      for (const f of cleanups.reverse()) f();
    },
  };
}

test('a change is written to the durable copy; a restart on an empty store enforces it and puts it back', async () => {
  const f = fixture();
  try {
    const a = f.open();
    await a.o.start();
    await a.o.change('dfsp1', { rps: 5 });
    await a.o.change('dfsp2', { rps: 7, burst: 1 });
    const onDisk = JSON.parse(readFileSync(f.path, 'utf8')) as { g: number; v: Record<string, unknown> };
    assert.deepEqual(onDisk.v, { dfsp1: { rps: 5 }, dfsp2: { rps: 7, burst: 1 } });
    assert.ok(onDisk.g > 0);

    // A restart on the memory store: the store is new and empty.
    const b = f.open();
    b.o.loadDurable();
    assert.equal(b.o.current.get('dfsp1')?.rps, 5, 'enforced before the store is read');
    await b.o.start();
    assert.equal(b.o.current.get('dfsp2')?.rps, 7, 'an empty store does not lift them');
    assert.deepEqual(b.restored, [{ reason: 'absent', fsps: ['dfsp1', 'dfsp2'] }]);
    assert.ok((await b.store.get(KEY)) !== undefined, 'written back into the store');
    // Another replica without a durable copy now reads them from the store.
    const c = f.open(b.store, false);
    await c.o.start();
    assert.equal(c.o.current.get('dfsp1')?.rps, 5);
  } finally {
    f.done();
  }
});

test('a store flush while running: the replica that knows the generation restores it; a change after builds on it', async () => {
  const f = fixture();
  try {
    const a = f.open();
    await a.o.start();
    await a.o.change('dfsp1', { rps: 5 });
    await a.store.delete(KEY); // FLUSHALL, eviction, a failover to an empty replica
    await a.o.refresh();
    assert.equal(a.restored.length, 1);
    assert.equal(a.o.current.get('dfsp1')?.rps, 5);
    await a.store.delete(KEY);
    // A change on a replica whose store lost the value keeps the other DFSPs' overrides.
    await a.o.change('dfsp3', { rps: 9 });
    assert.deepEqual(Object.keys(a.o.list()).sort(), ['dfsp1', 'dfsp3']);
  } finally {
    f.done();
  }
});

test('a restore never overwrites a value another replica wrote meanwhile, and a fresh deployment restores nothing', async () => {
  const f = fixture();
  try {
    const fresh = f.open();
    await fresh.o.start();
    assert.equal(fresh.restored.length, 0);
    assert.equal(await fresh.store.get(KEY), undefined, 'nothing was ever set: nothing written');

    const a = f.open();
    await a.o.start();
    await a.o.change('dfsp1', { rps: 5 });
    const b = f.open(a.store, false);
    await b.o.start();
    await a.store.delete(KEY);
    await b.o.change('dfsp2', { rps: 1 }); // b writes first after the loss
    await a.o.refresh();
    assert.equal(a.restored.length, 0, 'a newer stored generation is a change, not a loss: no write-back');
    assert.deepEqual(Object.keys(a.o.list()).sort(), ['dfsp1', 'dfsp2'], 'a applies what b wrote');
  } finally {
    f.done();
  }
});

test('generations only grow: a store rolled back to an older one gets the newer one back; a newer stored one beats a stale durable copy', async () => {
  const f = fixture();
  try {
    const a = f.open();
    await a.o.start();
    await a.o.change('dfsp1', { rps: 5 });
    const old = await a.store.get(KEY);
    await a.o.change('dfsp1', { rps: 1 }); // tightened during the incident
    await a.store.save(KEY, old!, 60_000); // the store comes back from a snapshot taken before
    await a.o.refresh();
    assert.equal(a.o.current.get('dfsp1')?.rps, 1, 'the older generation does not loosen the limit');
    assert.equal(a.restored.length, 1);
    const b = f.open(a.store, false);
    await b.o.start();
    assert.equal(b.o.current.get('dfsp1')?.rps, 1, 'the store holds the newer generation again');

    // A release made elsewhere while a's durable copy still holds the override: a restart of a reads the
    // copy, then the store's newer generation, and the release stands.
    await b.o.change('dfsp1', undefined);
    const restarted = f.open(a.store);
    restarted.o.loadDurable();
    assert.equal(restarted.o.current.get('dfsp1')?.rps, 1, 'the durable copy first');
    await restarted.o.start();
    assert.equal(restarted.o.current.get('dfsp1'), undefined, 'then the newer release');
    assert.equal(restarted.restored.length, 0, 'a newer stored generation is a change, not a loss');
  } finally {
    f.done();
  }
});

test('a restore waits for the edit lock: while another call holds it the loss is reported and nothing is written', async () => {
  const f = fixture();
  try {
    const errors: unknown[] = [];
    const store = createMemoryStore({ maxEntries: 1000 });
    const a = new LimitOverrides(store, { hmacKey: HMAC, refreshMs: 60_000, onError: (e) => errors.push(e) });
    try {
      await a.start();
      await a.change('dfsp1', { rps: 5 });
      await store.delete(KEY);
      await store.save('limits:lock', 'someone-else', 60_000);
      await a.refresh(); // waits for the lock, gives up
      assert.equal(await store.get(KEY), undefined, 'not written while another call holds the lock');
      assert.equal(errors.length, 1);
      assert.equal(a.current.get('dfsp1')?.rps, 5, 'still enforced');
      await store.delete('limits:lock');
      await a.refresh();
      assert.ok((await store.get(KEY)) !== undefined, 'written back once the lock is free');
    } finally {
      a.close();
    }
  } finally {
    f.done();
  }
});

test('overrides of the previous release ({"g","fsps"}) are taken over once, never over a stored value, and reported when unreadable', async () => {
  const f = fixture();
  const legacy = (key: string, fsps: unknown) => createSealer(key, 'limit-overrides').seal(JSON.stringify({ g: 5, fsps }));
  try {
    const store = createMemoryStore({ maxEntries: 1000 });
    await store.save('limits:overrides', legacy(HMAC, { dfsp1: { rps: 2 } }), 60_000);
    const a = f.open(store, false);
    await a.o.start();
    assert.equal(a.o.current.get('dfsp1')?.rps, 2);
    assert.ok((await store.get(KEY)) !== undefined, 'now kept as security state');
    assert.equal(await store.get('limits:overrides'), undefined, 'the legacy key is gone: taken over once');

    // A release of everything since (generation > 0, empty value): a legacy value that reappears is not taken over.
    await a.o.change('dfsp1', undefined);
    await store.save('limits:overrides', legacy(HMAC, { dfsp1: { rps: 2 } }), 60_000);
    const b = f.open(store, false);
    await b.o.start();
    assert.equal(b.o.current.size, 0, 'the release stands');

    // Sealed with another key, or not an overrides value: reported, not taken over.
    for (const bad of [legacy('x'.repeat(40), { dfsp1: { rps: 2 } }), legacy(HMAC, { dfsp1: { rps: -2 } })]) {
      const other = createMemoryStore({ maxEntries: 1000 });
      await other.save('limits:overrides', bad, 60_000);
      const errors: unknown[] = [];
      const c = new LimitOverrides(other, { hmacKey: HMAC, refreshMs: 60_000, onError: (e) => errors.push(e) });
      try {
        await c.start();
        assert.equal(c.current.size, 0);
        assert.equal(errors.length, 1);
        assert.match(String(errors[0]), /previous release .*not taken over.*re-apply them/);
      } finally {
        c.close();
      }
    }
  } finally {
    f.done();
  }
});

test('a shared value no replica sealed is never applied: the overrides in force stay and are written back', async () => {
  const f = fixture();
  try {
    const a = f.open();
    await a.o.start();
    await a.o.change('dfsp1', { rps: 1 });
    // A store client without STATE_HMAC_KEY tries to lift the limit.
    await a.store.save(KEY, JSON.stringify({ g: Date.now() + 1000, v: {} }), 60_000);
    await a.o.refresh();
    assert.equal(a.o.current.get('dfsp1')?.rps, 1);
    assert.deepEqual(a.restored, [{ reason: 'tampered', fsps: ['dfsp1'] }]);
    const b = f.open(a.store, false);
    await b.o.start();
    assert.equal(b.o.current.get('dfsp1')?.rps, 1, 'the sealed value is back in the store');
  } finally {
    f.done();
  }
});

test('a durable copy that is not an overrides file stops start-up with its path in the message', () => {
  const f = fixture();
  try {
    for (const bad of ['{not json', '[]', '{"g":1,"v":{"dfsp1":{"rps":-1}}}', '{"g":-1,"v":{}}']) {
      writeFileSync(f.path, bad);
      const a = f.open();
      assert.throws(() => a.o.loadDurable(), /limit-overrides\.json is not a limit overrides/);
    }
  } finally {
    f.done();
  }
});
