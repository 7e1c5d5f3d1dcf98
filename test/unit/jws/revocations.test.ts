// The key revocation list (src/jws/revocations.ts over src/store/security-state.ts): shared by replicas,
// never lifted by a store loss, sealed, durable across a restart of every replica with an empty store.
// The same over the real Redis: test/integration/jws/revocations-redis.test.ts.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { KeyRevocations, parseFingerprint, REVOCATIONS_KEY } from '../../../src/jws/revocations.js';
import { createMemoryStore } from '../../../src/store/memory.js';
import { isSecurityKey } from '../../../src/store/types.js';
import { waitFor } from '../../helpers/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'sg-revocations-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const store = () => createMemoryStore({ maxEntries: 1000 });
const FP1 = 'a'.repeat(64);
const FP2 = 'b'.repeat(64);
const HMAC = 'k'.repeat(32);

describe('parseFingerprint', () => {
  test('SPKI SHA-256 hex in any case, with or without colons; RFC 7638 thumbprints; nothing else', () => {
    assert.deepEqual(parseFingerprint('AB'.repeat(32)), { kind: 'spki', value: 'ab'.repeat(32) });
    assert.deepEqual(parseFingerprint(Array(32).fill('Ab').join(':')), { kind: 'spki', value: 'ab'.repeat(32) });
    assert.deepEqual(parseFingerprint('V9aXTWkQBrl0MDFtUL348aXvI153dDt41Sf8FQCg5E0'), { kind: 'jwk', value: 'V9aXTWkQBrl0MDFtUL348aXvI153dDt41Sf8FQCg5E0' });
    for (const bad of ['', 'a'.repeat(63), 'g'.repeat(64), 'ab:cd', `${'a'.repeat(64)}:`, 'V9aXTWkQBrl0MDFtUL348aXvI153dDt41Sf8FQCg5E0=', 42, undefined])
      assert.equal(parseFingerprint(bad), undefined, String(bad));
  });
});

describe('KeyRevocations', () => {
  test('two replicas agree; a second revocation of the same key keeps the first reason; only lift() ends one', async (t) => {
    const s = store();
    const counts: number[] = [];
    const a = new KeyRevocations({ store: s, refreshMs: 30 });
    const b = new KeyRevocations({ store: s, refreshMs: 30, onCount: (n) => counts.push(n) });
    t.after(() => {
      a.close();
      b.close();
    });
    await Promise.all([a.start(), b.start()]);
    const first = await a.add({ fingerprint: FP1, fspIds: ['dfsp1'], reason: 'key leaked in a support ticket', by: 'abc' });
    assert.equal(first.changed, true);
    assert.equal((await b.add({ fingerprint: FP1, fspIds: ['dfsp1'], reason: 'other' })).changed, false);
    await waitFor(() => b.get(FP1) !== undefined, { timeoutMs: 2000 });
    assert.equal(b.get(FP1)?.reason, 'key leaked in a support ticket');
    assert.equal(b.get(FP1)?.by, 'abc');
    assert.equal(counts.at(-1), 1);
    assert.equal(await a.lift(FP2), undefined, 'lifting what is not revoked changes nothing');
    assert.equal((await b.lift(FP1))?.fingerprint, FP1);
    await waitFor(() => a.get(FP1) === undefined, { timeoutMs: 2000 });
    assert.equal(counts.at(-1), 0);
    assert.ok(isSecurityKey(REVOCATIONS_KEY), 'never evictable by traffic');
  });

  test('a store flush or an older value never lifts a revocation: the replica keeps it and writes it back', async () => {
    const s = store();
    const losses: string[] = [];
    const r = new KeyRevocations({ store: s, onLoss: (e) => losses.push(`${e.reason}:${e.fingerprints.join()}`) });
    await r.add({ fingerprint: FP1, fspIds: ['dfsp1'], reason: 'compromised' });
    const stored = await s.get(REVOCATIONS_KEY);
    await s.delete(REVOCATIONS_KEY);
    await r.refresh();
    assert.ok(r.get(FP1));
    assert.deepEqual(losses, [`absent:${FP1}`]);
    assert.equal(await s.get(REVOCATIONS_KEY), stored, 'restored');
    await s.save(REVOCATIONS_KEY, JSON.stringify({ g: 1, v: [] }), 60_000);
    await r.refresh();
    assert.ok(r.get(FP1), 'an older generation is a loss, not a lift');
    assert.equal(losses.length, 2);
    assert.equal(r.readiness().info.losses, 2);
  });

  test('sealed with STATE_HMAC_KEY: an empty list forged by a store client is a loss, not a lift', async () => {
    const s = store();
    const r = new KeyRevocations({ store: s, hmacKey: HMAC });
    await r.add({ fingerprint: FP1, fspIds: [], reason: 'compromised' });
    assert.match((await s.get(REVOCATIONS_KEY)) ?? '', /^hmac1\./);
    await s.save(REVOCATIONS_KEY, JSON.stringify({ g: Date.now() + 1000, v: [] }), 60_000);
    const errors: unknown[] = [];
    const r2 = new KeyRevocations({ store: s, hmacKey: HMAC, onError: (e) => errors.push(e) });
    await r2.refresh();
    assert.equal(r2.list().length, 0, 'a fresh replica applies nothing it cannot open');
    await r.refresh();
    assert.ok(r.get(FP1));
    assert.equal(errors.length, 1);
    assert.match((await s.get(REVOCATIONS_KEY)) ?? '', /^hmac1\./, 'the forged value was replaced by the sealed one');
  });

  test('KEY_REVOCATIONS_PATH: a restart of every replica with an empty store restores the list; a corrupt file stops start-up', async () => {
    const path = join(dir, 'revocations.json');
    const r = new KeyRevocations({ store: store(), path });
    await r.add({ fingerprint: FP2, fspIds: ['dfsp2'], reason: 'retired after a leak' });
    assert.match(readFileSync(path, 'utf8'), new RegExp(FP2));
    const fresh = store();
    const after = new KeyRevocations({ store: fresh, path });
    after.loadDurable();
    await after.start();
    after.close();
    assert.equal(after.get(FP2)?.reason, 'retired after a leak');
    assert.ok(await fresh.get(REVOCATIONS_KEY), 'written back into the empty store');
    writeFileSync(path, '{"g": 1, "v": [{"fingerprint": "nope"}]}');
    assert.throws(() => new KeyRevocations({ store: store(), path }).loadDurable(), /is not a key revocation list/);
  });

  test('bad input is refused before the store is touched', async () => {
    const r = new KeyRevocations({ store: store() });
    await assert.rejects(r.add({ fingerprint: 'x', fspIds: [], reason: 'r' }), /GW_ADMIN_BAD_REQUEST|fingerprint/);
    await assert.rejects(r.add({ fingerprint: FP1, fspIds: [], reason: '  ' }));
    await assert.rejects(r.add({ fingerprint: FP1, fspIds: [], reason: 'line\nbreak' }));
    assert.equal(r.list().length, 0);
  });
});
