import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { QUARANTINE_KEY, Quarantine } from '../../../src/admin/quarantine.js';
import { GatewayError } from '../../../src/errors.js';
import type { AuditEvent } from '../../../src/logging/audit.js';
import { createMemoryStore } from '../../../src/store/memory.js';
import { makeApp } from '../../helpers/app.js';
import { makeTestPki } from '../../helpers/pki.js';
import { waitFor } from '../../helpers/wait.js';

// Two replicas over the real Redis store: test/integration/admin/quarantine-redis.test.ts.
const memoryStore = () => createMemoryStore({ maxEntries: 1000 });

describe('Quarantine', () => {
  test('works over the in-memory store adapter (one process, several readers)', async (t) => {
    const store = createMemoryStore({ maxEntries: 1000 });
    const a = new Quarantine({ store, refreshMs: 50 });
    const b = new Quarantine({ store, refreshMs: 50 });
    t.after(() => {
      a.close();
      b.close();
    });
    await Promise.all([a.start(), b.start()]);
    await Promise.all([a.add('dfsp1'), b.add('dfsp2')]);
    await waitFor(() => a.list().length === 2 && b.list().length === 2, { timeoutMs: 3000 });
    assert.deepEqual(a.list(), ['dfsp1', 'dfsp2']);
    assert.equal(await store.get('quarantine:lock'), undefined, 'lock released');
  });

  test('a replica whose clock is slow (unsealed list stamped ahead of it) never writes over the newer list: it keeps its own, is not ready, refuses edits; the others enforce (review of 2026-12-01)', async () => {
    const store = memoryStore();
    const good = new Quarantine({ store });
    const other = new Quarantine({ store });
    const errors: unknown[] = [];
    const slow = new Quarantine({ store, now: () => Date.now() - 11 * 60_000, onError: (e) => errors.push(e) });
    await Promise.all([good.refresh(), other.refresh(), slow.refresh()]);
    await good.add('dfspX');
    const stored = await store.get(QUARANTINE_KEY);
    for (let i = 0; i < 5; i++) for (const q of [slow, other, good]) await q.refresh();
    assert.equal(await store.get(QUARANTINE_KEY), stored, 'the slow replica wrote nothing over it');
    assert.deepEqual([good.list(), other.list()], [['dfspX'], ['dfspX']]);
    assert.deepEqual(slow.list(), [], 'it applies nothing it cannot judge');
    assert.equal(slow.readiness().ok, false, 'and is not ready, so it is sent no traffic');
    assert.equal(slow.readiness().info.aheadOfClock, true);
    assert.equal(errors.length, 1, 'reported once');
    await assert.rejects(slow.add('dfspY'), (e: unknown) => e instanceof GatewayError && e.code === 'GW_STORE_UNAVAILABLE');
    assert.equal(await store.get(QUARANTINE_KEY), stored);
    assert.deepEqual([good.readiness().ok, other.readiness().ok], [true, true]);
  });

  test('a failing or corrupt store keeps the last known list (fail static) and reports the error', async () => {
    const store = memoryStore();
    const errors: unknown[] = [];
    const q = new Quarantine({ store, onError: (e) => errors.push(e) });
    await q.add('dfsp1');
    await store.save(QUARANTINE_KEY, '{"not":"a list"}', 3_600_000);
    await q.refresh();
    assert.equal(q.isQuarantined('dfsp1'), true);
    store.get = async () => {
      throw new GatewayError('GW_STORE_UNAVAILABLE');
    };
    await q.refresh();
    assert.equal(q.isQuarantined('dfsp1'), true);
    assert.equal(errors.length, 2);
  });

  test('not ready until the shared list has been read once: a replica started while the store fails does not serve an empty list as ready', async () => {
    const store = memoryStore();
    const other = new Quarantine({ store });
    await other.add('dfsp1');
    const get = store.get;
    store.get = async () => {
      throw new GatewayError('GW_STORE_UNAVAILABLE');
    };
    const errors: unknown[] = [];
    const q = new Quarantine({ store, onError: (e) => errors.push(e) });
    await q.start().finally(() => q.close());
    assert.equal(errors.length, 1);
    assert.equal(q.isQuarantined('dfsp1'), false, 'the list could not be read');
    assert.equal(q.readiness().ok, false);
    assert.equal(q.readiness().info.synced, false);
    store.get = get;
    await q.refresh();
    assert.equal(q.isQuarantined('dfsp1'), true);
    assert.equal(q.readiness().ok, true);
    // Nothing ever quarantined anywhere: one successful read of the absent key is enough.
    const empty = new Quarantine({ store: memoryStore() });
    assert.equal(empty.readiness().ok, false);
    await empty.refresh();
    assert.equal(empty.readiness().ok, true);
  });

  test('a held lock makes writes fail with GW_STORE_UNAVAILABLE instead of hanging', async () => {
    const store = memoryStore();
    await store.save('quarantine:lock', 'someone-else', 3_600_000);
    const q = new Quarantine({ store });
    await assert.rejects(q.add('dfsp1'), (e: unknown) => e instanceof GatewayError && e.code === 'GW_STORE_UNAVAILABLE');
    assert.equal(await store.get(QUARANTINE_KEY), undefined);
  });
});

describe('quarantineGuard', () => {
  // The real inbound pipeline in-process (test/helpers/app.ts), with client certificates of a per-run PKI.
  const pki = makeTestPki();
  after(() => pki.cleanup());
  const certs = new Map<string, string>();
  const cert = (fspId: string) => {
    let c = certs.get(fspId);
    if (!c) {
      c = pki.client(fspId).certPem;
      certs.set(fspId, c);
    }
    return c;
  };
  const fingerprint = (fspId: string) => new X509Certificate(cert(fspId)).fingerprint256;

  test('a quarantined peer gets 2003/503 before any other stage; others pass', async () => {
    const q = new Quarantine({ store: memoryStore() });
    await q.add('dfsp1');
    const events: AuditEvent[] = [];
    const app = await makeApp({
      env: { GATEWAY_ROLE: 'dfsp', DFSP_ID: 'payeefsp' },
      quarantine: q,
      audit: {
        record: (e) => {
          events.push(e);
        },
        flush: async () => {},
        close: async () => {},
      },
    });
    const post = (peer: string, source: string) =>
      app.request('POST', '/transfers', { headers: { 'fspiop-source': source, 'x-request-id': 'r1' }, body: '{}', peerCertPem: cert(peer) });
    let res = await post('dfsp1', 'dfsp1');
    assert.equal(res.status, 503);
    assert.deepEqual(await res.json(), { errorInformation: { errorCode: '2003', errorDescription: 'Service currently unavailable' } });
    assert.deepEqual(events, [
      { event: 'peer_rejected', actor: 'peer', fspId: 'dfsp1', peer: fingerprint('dfsp1'), reason: 'GW_PEER_QUARANTINED', count: 1, requestId: 'r1' },
    ]);

    res = await post('dfsp2', 'dfsp2');
    assert.equal(res.status, 202);
    // a relay (hub) carrying the quarantined DFSP's message is stopped too
    res = await post('hub', 'dfsp1');
    assert.equal(res.status, 503);
    await q.remove('dfsp1');
    res = await post('dfsp1', 'dfsp1');
    assert.equal(res.status, 202);
    assert.equal(app.upstream.requests.length, 2, 'only the two admitted requests reached the upstream');
    await app.close();
  });
});
