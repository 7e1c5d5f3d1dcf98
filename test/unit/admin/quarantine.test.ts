import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Hono } from 'hono';
import { quarantineGuard } from '../../../src/admin/middleware.js';
import { QUARANTINE_KEY, Quarantine } from '../../../src/admin/quarantine.js';
import { GatewayError, toResponse } from '../../../src/errors.js';
import type { GatewayEnv, Peer } from '../../../src/http/context.js';
import type { AuditEvent } from '../../../src/logging/audit.js';
import { createMemoryStore } from '../../../src/store/memory.js';
import { waitFor } from '../../helpers/wait.js';

// Two replicas over the real Redis store: test/integration/admin/quarantine-redis.test.ts.
const memoryStore = () => createMemoryStore({ maxEntries: 1000 });

describe('Quarantine', () => {
  test('works over the in-memory store adapter (one process, several readers)', async (t) => {
    const store = createMemoryStore({ maxEntries: 1000 });
    const a = new Quarantine({ store, refreshMs: 50 });
    const b = new Quarantine({ store, refreshMs: 50 });
    t.after(() => { a.close(); b.close(); });
    await Promise.all([a.start(), b.start()]);
    await Promise.all([a.add('dfsp1'), b.add('dfsp2')]);
    await waitFor(() => a.list().length === 2 && b.list().length === 2, { timeoutMs: 3000 });
    assert.deepEqual(a.list(), ['dfsp1', 'dfsp2']);
    assert.equal(await store.get('quarantine:lock'), undefined, 'lock released');
  });

  test('a failing or corrupt store keeps the last known list (fail static) and reports the error', async () => {
    const store = memoryStore();
    const errors: unknown[] = [];
    const q = new Quarantine({ store, onError: (e) => errors.push(e) });
    await q.add('dfsp1');
    await store.save(QUARANTINE_KEY, '{"not":"a list"}', 3_600_000);
    await q.refresh();
    assert.equal(q.isQuarantined('dfsp1'), true);
    store.get = async () => { throw new GatewayError('GW_STORE_UNAVAILABLE'); };
    await q.refresh();
    assert.equal(q.isQuarantined('dfsp1'), true);
    assert.equal(errors.length, 2);
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
  const peer = (fspId: string): Peer => ({ fspId, subjectCn: fspId, fingerprint256: 'AA:BB', validTo: new Date(0) });

  const appFor = (q: Quarantine, events: AuditEvent[]) => {
    const app = new Hono<GatewayEnv>();
    app.onError((err) => toResponse(err as GatewayError));
    app.use('*', async (c, next) => { c.set('peer', peer(c.req.header('x-test-peer') ?? 'dfsp1')); c.set('requestId', 'r1'); await next(); });
    app.use('*', quarantineGuard(q, { audit: { record: (e) => { events.push(e); }, flush: async () => {}, close: async () => {} } }));
    app.post('/transfers', (c) => c.text('forwarded', 202));
    return app;
  };

  test('a quarantined peer gets 2003/503 before any other stage; others pass', async () => {
    const q = new Quarantine({ store: memoryStore() });
    await q.add('dfsp1');
    const events: AuditEvent[] = [];
    const app = appFor(q, events);
    let res = await app.request('/transfers', { method: 'POST', headers: { 'x-test-peer': 'dfsp1', 'fspiop-source': 'dfsp1' } });
    assert.equal(res.status, 503);
    assert.deepEqual(await res.json(), { errorInformation: { errorCode: '2003', errorDescription: 'Service currently unavailable' } });
    assert.deepEqual(events, [{ event: 'peer_rejected', actor: 'peer', fspId: 'dfsp1', peer: 'AA:BB', reason: 'GW_PEER_QUARANTINED', requestId: 'r1' }]);

    res = await app.request('/transfers', { method: 'POST', headers: { 'x-test-peer': 'dfsp2', 'fspiop-source': 'dfsp2' } });
    assert.equal(res.status, 202);
    // a relay (hub) carrying the quarantined DFSP's message is stopped too
    res = await app.request('/transfers', { method: 'POST', headers: { 'x-test-peer': 'hub', 'fspiop-source': 'dfsp1' } });
    assert.equal(res.status, 503);
    await q.remove('dfsp1');
    res = await app.request('/transfers', { method: 'POST', headers: { 'x-test-peer': 'dfsp1', 'fspiop-source': 'dfsp1' } });
    assert.equal(res.status, 202);
  });
});
