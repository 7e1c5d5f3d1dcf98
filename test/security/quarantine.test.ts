// docs/security.md class 5: a quarantine never lifts by itself. Over real sockets: two replicas on the real Redis
// keep enforcing when the shared key is deleted (flush of our prefix), restore it, count the loss and show
// it on /ready; a full restart of every replica with the key gone restores it from QUARANTINE_PATH; a
// flood of request records never pushes it out of the memory store; the outbound listener delivers
// nothing to, or on behalf of, a quarantined peer; only the admin DELETE lifts it.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { parseState, QUARANTINE_KEY, Quarantine } from '../../src/admin/quarantine.js';
import { createMemoryStore } from '../../src/store/memory.js';
import { fspiopHeaders, type Stub, send, startStub, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { makeTestPki, type TestPki } from '../helpers/pki.js';
import { waitFor } from '../helpers/wait.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const TOKEN = 'b-state-admin-token-0123456789';

const until = async (what: string, cond: () => Promise<boolean> | boolean, ms = 8000): Promise<void> => {
  await waitFor(cond, { what, timeoutMs: ms, intervalMs: 25 });
};
const admin = (t: TestGateway, method: string, path: string) =>
  fetch(`http://127.0.0.1:${t.gw.admin.port}${path}`, { method, headers: { authorization: `Bearer ${TOKEN}` } });
const party = (t: TestGateway, fsp: string) =>
  send(t.gw.inbound.port, {
    path: '/parties/MSISDN/123456',
    headers: { ...fspiopHeaders('parties', fsp), 'fspiop-destination': 'dfsp2' },
    cert: t.cert(fsp),
    ca: t.pki.ca.certPem,
  });
const metric = async (t: TestGateway, name: string) => {
  const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(await (await fetch(`http://127.0.0.1:${t.gw.admin.port}/metrics`)).text());
  return m ? Number(m[1]) : NaN;
};

describe('quarantine survives a store flush and a full restart (two replicas, real Redis)', () => {
  let pki: TestPki;
  const prefix = `sgtest:b-state:${randomBytes(5).toString('hex')}:`;
  const raw = new Redis(REDIS_URL);
  let env: Record<string, string>;
  const gws: TestGateway[] = [];
  before(() => {
    pki = makeTestPki();
    const peersPath = pki.write('peers.json', JSON.stringify({ dfsp1: 'http://127.0.0.1:9/', dfsp2: 'http://127.0.0.1:9/' }));
    env = { ADMIN_TOKEN: TOKEN, PEERS_PATH: peersPath, REDIS_URL, REDIS_KEY_PREFIX: prefix };
  });
  after(async () => {
    for (const g of gws) await g.close();
    const keys = await raw.keys(`${prefix}*`);
    if (keys.length) await raw.del(...keys);
    await raw.quit();
    pki.cleanup();
  });

  test('DEL of the shared key: both replicas keep refusing, the list is restored, the loss is counted and on /ready', { timeout: 30_000 }, async () => {
    const a = await startTestGateway({ pki, env: { ...env, QUARANTINE_PATH: join(pki.dir, 'q-a.json') } });
    gws.push(a);
    const b = await startTestGateway({ pki, env: { ...env, QUARANTINE_PATH: join(pki.dir, 'q-b.json') } });
    gws.push(b);
    assert.equal((await party(b, 'dfsp1')).status, 202);
    assert.equal((await admin(a, 'POST', '/admin/quarantine/dfsp1')).status, 200);
    await until('replica B to enforce', async () => (await party(b, 'dfsp1')).status === 503);
    assert.equal((await party(a, 'dfsp1')).status, 503);
    assert.deepEqual(parseState(readFileSync(join(pki.dir, 'q-a.json'), 'utf8')).peers, ['dfsp1'], 'durable copy written on the change');
    await until('replica B to persist what it applied', () => {
      try {
        return parseState(readFileSync(join(pki.dir, 'q-b.json'), 'utf8')).peers.length === 1;
      } catch {
        return false;
      }
    });

    // Flush: delete our prefix's quarantine key, as a Redis restart without persistence would.
    assert.equal(await raw.del(`${prefix}${QUARANTINE_KEY}`), 1);
    for (const g of [a, b]) {
      const r = await party(g, 'dfsp1');
      assert.equal(r.status, 503, 'still enforced right after the flush');
      assert.equal(r.json().errorInformation.errorCode, '2003');
    }
    await until('the list to be restored in the store', async () => (await raw.get(`${prefix}${QUARANTINE_KEY}`)) !== null);
    assert.deepEqual(parseState((await raw.get(`${prefix}${QUARANTINE_KEY}`))!).peers, ['dfsp1']);
    await until(
      'a loss to be counted',
      async () => (await metric(a, 'switchguard_quarantine_lost_total')) + (await metric(b, 'switchguard_quarantine_lost_total')) >= 1,
    );
    const readies = await Promise.all(
      [a, b].map(
        async (g) =>
          (await (await fetch(`http://127.0.0.1:${g.gw.admin.port}/ready`)).json()) as {
            checks: Record<string, boolean>;
            info: { quarantine: { losses: number; peers: number } };
          },
      ),
    );
    assert.ok(
      readies.some((r) => r.info.quarantine.losses >= 1),
      JSON.stringify(readies),
    );
    for (const r of readies) {
      assert.equal(r.checks.quarantine, true, 'restored: ready again');
      assert.equal(r.info.quarantine.peers, 1);
    }
    for (const g of [a, b]) assert.equal((await party(g, 'dfsp1')).status, 503);
    assert.equal((await party(a, 'dfsp2')).status, 202, 'others unaffected');

    // An older list written back (e.g. Redis restarted from an old snapshot) does not lift it either.
    await raw.set(`${prefix}${QUARANTINE_KEY}`, JSON.stringify({ g: 1, peers: [] }));
    await until('the newer list to be written back', async () => parseState((await raw.get(`${prefix}${QUARANTINE_KEY}`))!).peers.length === 1);
    for (const g of [a, b]) assert.equal((await party(g, 'dfsp1')).status, 503);
  });

  test('every replica restarted while the key is gone: the list comes back from QUARANTINE_PATH; only DELETE lifts it', { timeout: 30_000 }, async () => {
    while (gws.length) await gws.pop()!.close();
    await raw.del(`${prefix}${QUARANTINE_KEY}`);
    const c = await startTestGateway({ pki, env: { ...env, QUARANTINE_PATH: join(pki.dir, 'q-a.json') } });
    gws.push(c);
    assert.equal((await party(c, 'dfsp1')).status, 503, 'enforced from the first request');
    assert.deepEqual(parseState((await raw.get(`${prefix}${QUARANTINE_KEY}`))!).peers, ['dfsp1'], 'restored into the store at start-up');
    assert.equal((await admin(c, 'DELETE', '/admin/quarantine/dfsp1')).status, 200);
    assert.equal((await party(c, 'dfsp1')).status, 202);
    assert.deepEqual(parseState(readFileSync(join(pki.dir, 'q-a.json'), 'utf8')).peers, []);
  });
});

describe('quarantine in the memory store is not evictable by traffic', () => {
  test('101 000 request-state writes beside it (store bounded at 100 entries): still enforced over mTLS and still in the store', {
    timeout: 60_000,
  }, async (t) => {
    const pki = makeTestPki();
    t.after(() => pki.cleanup());
    const peersPath = pki.write('peers.json', JSON.stringify({ dfsp1: 'http://127.0.0.1:9/', dfsp2: 'http://127.0.0.1:9/' }));
    const g = await startTestGateway({ pki, env: { ADMIN_TOKEN: TOKEN, PEERS_PATH: peersPath, STORE: 'memory', MEMORY_STORE_MAX_ENTRIES: '100' } });
    t.after(() => g.close());
    assert.equal((await admin(g, 'POST', '/admin/quarantine/dfsp1')).status, 200);
    for (let i = 0; i < 101_000; i++) await g.gw.store.save(`jws-replay:${i}`, '1', 600_000).catch(() => false);
    await g.gw.quarantine.refresh();
    assert.deepEqual(parseState((await g.gw.store.get(QUARANTINE_KEY))!).peers, ['dfsp1']);
    assert.equal((await party(g, 'dfsp1')).status, 503);
    assert.equal(await metric(g, 'switchguard_quarantine_lost_total'), 0, 'no loss: it was never evicted');
  });

  test('the same at the default capacity (1 000 000 entries): 100 000 writes change nothing', async () => {
    const store = createMemoryStore({ maxEntries: 1_000_000, sweepIntervalMs: 0 });
    const q = new Quarantine({ store });
    await q.add('dfsp1');
    for (let i = 0; i < 100_001; i++) await store.save(`ilp:hub:{${i}}`, 'x', 600_000);
    const fresh = new Quarantine({ store });
    await fresh.start();
    fresh.close();
    assert.equal(fresh.isQuarantined('dfsp1'), true);
    await store.close();
  });

  test('a corrupt QUARANTINE_PATH stops start-up instead of starting with nothing quarantined', () => {
    const pki = makeTestPki();
    try {
      const path = join(pki.dir, 'q.json');
      writeFileSync(path, '{"g": "x"');
      assert.throws(() => new Quarantine({ store: createMemoryStore({ maxEntries: 100, sweepIntervalMs: 0 }), path }).loadDurable(), /QUARANTINE_PATH/);
    } finally {
      pki.cleanup();
    }
  });
});

describe('the outbound listener delivers nothing to, or on behalf of, a quarantined peer', () => {
  let t: TestGateway;
  let peer: Stub;
  before(async () => {
    peer = await startStub();
    const pki = makeTestPki();
    const peersPath = pki.write('peers.json', JSON.stringify({ dfsp1: peer.url, dfsp2: peer.url }));
    t = await startTestGateway({ pki, env: { ADMIN_TOKEN: TOKEN, PEERS_PATH: peersPath } });
  });
  after(async () => {
    await t.close();
    await peer.close();
  });

  const out = (source: string, destination: string) =>
    send(t.gw.outbound.port, {
      tls: false,
      method: 'PUT',
      path: '/quotes/q1',
      ca: '',
      body: '{"quoteId":"q1"}',
      headers: { ...fspiopHeaders('quotes', source), 'fspiop-destination': destination },
    });

  test('to a quarantined FSPIOP-Destination or from a quarantined FSPIOP-Source → 2003/503 and the peer receives nothing; release restores', async () => {
    assert.equal((await out('hub', 'dfsp2')).status, 202);
    assert.equal((await admin(t, 'POST', '/admin/quarantine/dfsp1')).status, 200);
    const n = peer.requests.length;
    for (const [s, d] of [
      ['hub', 'dfsp1'],
      ['dfsp1', 'dfsp2'],
    ] as const) {
      const r = await out(s, d);
      assert.equal(r.status, 503, `${s} → ${d}`);
      assert.equal(r.json().errorInformation.errorCode, '2003');
    }
    assert.equal(peer.requests.length, n, 'nothing delivered');
    assert.equal((await out('hub', 'dfsp2')).status, 202);
    assert.equal((await admin(t, 'DELETE', '/admin/quarantine/dfsp1')).status, 200);
    assert.equal((await out('hub', 'dfsp1')).status, 202);
  });
});

describe('a store client cannot lift a quarantine (hostile review): sealed state and a bounded generation (two replicas, real Redis)', () => {
  let pki: TestPki;
  const prefix = `sgtest:sealed:${randomBytes(5).toString('hex')}:`;
  const raw = new Redis(REDIS_URL);
  const gws: TestGateway[] = [];
  before(() => {
    pki = makeTestPki();
  });
  after(async () => {
    for (const g of gws) await g.close();
    const keys = await raw.keys(`${prefix}*`);
    if (keys.length) await raw.del(...keys);
    await raw.quit();
    pki.cleanup();
  });
  const start = async (name: string, extra: Record<string, string>) => {
    const g = await startTestGateway({
      pki,
      env: { ADMIN_TOKEN: TOKEN, REDIS_URL, REDIS_KEY_PREFIX: `${prefix}${name}:`, QUARANTINE_PATH: join(pki.dir, `${name}.json`), ...extra },
    });
    gws.push(g);
    return g;
  };
  const key = (name: string) => `${prefix}${name}:${QUARANTINE_KEY}`;

  test('with STATE_HMAC_KEY: an unsealed empty list with a huge generation, and a garbled seal, lift nothing; the list is restored sealed and the durable copy untouched', {
    timeout: 30_000,
  }, async () => {
    const sealed = { STATE_HMAC_KEY: 'sealed-state-key-0123456789abcdef0123' };
    const a = await start('s', sealed);
    const b = await start('s', sealed); // same prefix: replicas of one deployment
    assert.equal((await admin(a, 'POST', '/admin/quarantine/evilfsp')).status, 200);
    await until('both replicas to enforce', async () => (await party(a, 'evilfsp')).status === 503 && (await party(b, 'evilfsp')).status === 503);
    const stored = (await raw.get(key('s')))!;
    assert.match(stored, /^hmac1\./, 'the shared value is sealed');
    for (const forged of [
      '{"g":9007199254740991,"peers":[]}',
      `{"g":${Date.now() + 1000},"peers":[]}`,
      stored.replace(/"peers":\["evilfsp"\]/, '"peers":[]'),
    ]) {
      await raw.set(key('s'), forged);
      for (const g of [a, b]) assert.equal((await party(g, 'evilfsp')).status, 503, `lifted by ${forged.slice(0, 60)}`);
      await until(
        'the sealed list to be restored',
        async () => (await raw.get(key('s'))) === stored || /^hmac1\..*evilfsp/.test((await raw.get(key('s'))) ?? ''),
      );
    }
    for (const g of [a, b]) assert.equal((await party(g, 'evilfsp')).status, 503);
    assert.deepEqual(parseState(readFileSync(join(pki.dir, 's.json'), 'utf8')).peers, ['evilfsp'], 'the durable copy never took a forged list');
    // An explicit release still works, on every replica.
    assert.equal((await admin(b, 'DELETE', '/admin/quarantine/evilfsp')).status, 200);
    await until('both replicas to release', async () => (await party(a, 'evilfsp')).status === 202 && (await party(b, 'evilfsp')).status === 202);
  });

  test('without a key: a generation far ahead of the clocks is never applied, persisted or written over; the replicas keep enforcing, are not ready and refuse edits until the key is fixed', {
    timeout: 30_000,
  }, async () => {
    // Unsealed, a value stamped ahead cannot be told from one a replica with a faster clock wrote. Until 2026-12-01 it
    // was written over as forged, so a replica whose clock was 10 minutes slow wrote its older list over every newer
    // one and lifted quarantines elsewhere (review of 2026-12-01). Now nobody writes over it: fail closed.
    const a = await start('u', {});
    const b = await start('u', {});
    assert.equal((await admin(a, 'POST', '/admin/quarantine/evilfsp')).status, 200);
    await until('both replicas to enforce', async () => (await party(b, 'evilfsp')).status === 503);
    const forged = '{"g":9007199254740991,"peers":[]}';
    await raw.set(key('u'), forged);
    const ready = async (g: TestGateway) =>
      (await (await fetch(`http://127.0.0.1:${g.gw.admin.port}/ready`)).json()) as {
        checks: Record<string, boolean>;
        info: { quarantine: { aheadOfClock?: boolean } };
      };
    await until('both replicas to report it', async () =>
      (await Promise.all([a, b].map(ready))).every((r) => r.checks.quarantine === false && r.info.quarantine.aheadOfClock === true),
    );
    for (const g of [a, b]) assert.equal((await party(g, 'evilfsp')).status, 503, 'still enforced');
    assert.equal(await raw.get(key('u')), forged, 'never written over');
    assert.ok(parseState(readFileSync(join(pki.dir, 'u.json'), 'utf8')).g < Date.now() + 60_000, 'no forged generation persisted');
    assert.equal((await admin(a, 'POST', '/admin/quarantine/dfsp9')).status, 503, 'an edit is refused rather than written over it');
    // The operator removes the value: the replicas restore their list, are ready again, and edits work.
    await raw.del(key('u'));
    await until('the list to be restored', async () => parseState((await raw.get(key('u'))) ?? '[]').peers.includes('evilfsp'));
    await until('both replicas to be ready', async () => (await Promise.all([a, b].map(ready))).every((r) => r.checks.quarantine === true));
    assert.equal((await admin(a, 'POST', '/admin/quarantine/dfsp9')).status, 200);
    await until('replica B to apply the next change', async () => (await party(b, 'dfsp9')).status === 503);
  });
});
