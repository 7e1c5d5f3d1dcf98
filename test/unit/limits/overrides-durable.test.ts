// Run-time limit overrides survive a lost store (src/limits/overrides.ts, LIMIT_OVERRIDES_PATH): every applied
// generation is written to the durable copy, start-up reads it before the store, and a replica that knows a
// generation writes it back when the store has none, unless another replica wrote one meanwhile.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { LimitOverrides } from '../../../src/limits/overrides.js';
import { createMemoryStore } from '../../../src/store/memory.js';

const KEY = 'limits:overrides';
const HMAC = 'k'.repeat(40);

function fixture() {
  const dir = mkdtempSync(join(tmpdir(), 'sg-overrides-'));
  const path = join(dir, 'limit-overrides.json');
  const cleanups: Array<() => void> = [() => rmSync(dir, { recursive: true, force: true })];
  const open = (store = createMemoryStore({ maxEntries: 1000 }), withPath = true) => {
    const restored: Array<{ generation: number; fsps: number }> = [];
    const o = new LimitOverrides(store, { hmacKey: HMAC, refreshMs: 60_000, ...(withPath ? { path } : {}), onRestore: (e) => restored.push(e) });
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
    const onDisk = JSON.parse(readFileSync(f.path, 'utf8')) as { g: number; fsps: Record<string, unknown> };
    assert.deepEqual(Object.keys(onDisk.fsps).sort(), ['dfsp1', 'dfsp2']);
    assert.ok(onDisk.g > 0);

    // A restart on the memory store: the store is new and empty.
    const b = f.open();
    b.o.loadDurable();
    assert.equal(b.o.current.get('dfsp1')?.rps, 5, 'enforced before the store is read');
    await b.o.start();
    assert.equal(b.o.current.get('dfsp2')?.rps, 7, 'an empty store does not lift them');
    assert.deepEqual(b.restored, [{ generation: onDisk.g, fsps: 2 }]);
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

test('a restore never overwrites a value another replica wrote meanwhile (nx), and a fresh deployment restores nothing', async () => {
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
    assert.equal(a.restored.length, 0, 'the key was present again: no write-back');
    assert.deepEqual(Object.keys(a.o.list()).sort(), ['dfsp1', 'dfsp2'], 'a applies what b wrote');
  } finally {
    f.done();
  }
});

test('a durable copy that is not an overrides file stops start-up with its path in the message', () => {
  const f = fixture();
  try {
    for (const bad of ['{not json', '[]', '{"g":1,"fsps":{"dfsp1":{"rps":-1}}}']) {
      writeFileSync(f.path, bad);
      const a = f.open();
      assert.throws(() => a.o.loadDurable(), /LIMIT_OVERRIDES_PATH: .*limit-overrides\.json is not a limit-overrides file/);
    }
  } finally {
    f.done();
  }
});
