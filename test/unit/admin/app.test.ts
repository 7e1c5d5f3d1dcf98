import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { type AdminDeps, buildAdminApp } from '../../../src/admin/app.js';
import { QUARANTINE_KEY, Quarantine } from '../../../src/admin/quarantine.js';
import type { AuditEvent, AuditLog } from '../../../src/logging/audit.js';
import { createTelemetry } from '../../../src/metrics/registry.js';
import { createMemoryStore } from '../../../src/store/memory.js';

const TOKEN = 'admin-token-0123456789abcdef';
const auth = (token: string) => ({ authorization: `Bearer ${token}` });

const setup = async (extra: Partial<AdminDeps> = {}) => {
  const events: AuditEvent[] = [];
  const audit: AuditLog = {
    record: (e) => {
      events.push(e);
    },
    flush: async () => {},
    close: async () => {},
  };
  const telemetry = createTelemetry({ processMetrics: false });
  const quarantine = new Quarantine({ store: createMemoryStore({ maxEntries: 1000 }), telemetry });
  await quarantine.start();
  const app = buildAdminApp({
    adminToken: TOKEN,
    metrics: telemetry,
    audit,
    quarantine,
    knownPeers: () => ['dfsp1', 'dfsp2'],
    listKeys: () => [{ fspId: 'dfsp1', fingerprint: 'AB:CD', expiry: null }],
    listPeers: () => ({ dfsp1: 'https://dfsp1.example:443' }),
    reloadKeys: async () => ({ loaded: 2 }),
    reloadCertificates: async () => ({ reloaded: ['server'] }),
    ...extra,
  });
  return { app, events, telemetry, quarantine, [Symbol.dispose]: () => quarantine.close() };
};

const errorCode = async (res: Response) => ((await res.json()) as { errorInformation: { errorCode: string } }).errorInformation.errorCode;

describe('admin API authentication', () => {
  test('no token, a wrong token and a token of a different length are all 401 and audited as denied', async () => {
    using s = await setup();
    const cases: Record<string, Record<string, string>> = {
      none: {},
      wrong: auth(`${TOKEN.slice(0, -1)}X`),
      shorter: auth('short'),
      longer: auth(`${TOKEN}${'x'.repeat(500)}`),
      basic: { authorization: `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}` },
      empty: { authorization: 'Bearer ' },
    };
    for (const [name, headers] of Object.entries(cases)) {
      const res = await s.app.request('/admin/keys', { headers });
      assert.equal(res.status, 401, name);
      assert.equal(res.headers.get('www-authenticate'), 'Bearer', name);
      assert.equal(await errorCode(res), '3000', name);
    }
    assert.equal(s.events.length, Object.keys(cases).length);
    assert.ok(s.events.every((e) => e.event === 'admin_call' && 'status' in e && e.status === 401));
  });

  test('the right token is accepted, case-insensitive scheme', async () => {
    using s = await setup();
    const res = await s.app.request('/admin/keys', { headers: { authorization: `bearer ${TOKEN}` } });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { keys: [{ fspId: 'dfsp1', fingerprint: 'AB:CD', expiry: null }] });
  });

  test('no ADMIN_TOKEN: every /admin path is 404 even with a token; health, ready and metrics still serve', async () => {
    using s = await setup({ adminToken: undefined });
    for (const [method, path] of [
      ['GET', '/admin/keys'],
      ['POST', '/admin/reload'],
      ['POST', '/admin/quarantine/dfsp1'],
      ['GET', '/admin/'],
    ] as const) {
      const res = await s.app.request(path, { method, headers: auth(TOKEN) });
      assert.equal(res.status, 404, `${method} ${path}`);
    }
    assert.equal(s.quarantine.isQuarantined('dfsp1'), false);
    assert.equal((await s.app.request('/health')).status, 200);
    assert.equal((await s.app.request('/ready')).status, 200);
    assert.equal((await s.app.request('/metrics')).status, 200);
  });
});

describe('admin API endpoints', () => {
  test('an edit answered 503 because it outlived its edit lock is written, and audited all the same (review of 2026-12-01)', async () => {
    const store = createMemoryStore({ maxEntries: 1000 });
    const save = store.save.bind(store);
    // The list write lands, but its reply comes after the 2 s edit lock.
    store.save = async (key, value, ttl, mode) => {
      const r = await save(key, value, ttl, mode);
      if (key === QUARANTINE_KEY) await new Promise((done) => setTimeout(done, 2100));
      return r;
    };
    using s = await setup({ quarantine: new Quarantine({ store }) });
    const res = await s.app.request('/admin/quarantine/dfspA', { method: 'POST', headers: auth(TOKEN) });
    assert.equal(res.status, 503);
    assert.match(JSON.stringify(await res.json()), /outlived its lock/);
    const on = s.events.filter((e) => e.event === 'quarantine_on');
    assert.deepEqual(
      on.map((e) => [e.fspId, e.reason]),
      [['dfspA', 'outlived_lock']],
    );
  });

  test('quarantine on, list, off; an id outside the directories can be quarantined (known: false); malformed id 400; every call audited', async () => {
    using s = await setup();
    let res = await s.app.request('/admin/quarantine/dfsp1', { method: 'POST', headers: auth(TOKEN) });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { fspId: 'dfsp1', quarantined: true, changed: true, known: true, all: ['dfsp1'] });
    assert.equal(s.quarantine.isQuarantined('dfsp1'), true);
    assert.match(await s.telemetry.metricsText(), /^switchguard_quarantined_peers 1$/m);

    res = await s.app.request('/admin/quarantine', { headers: auth(TOKEN) });
    assert.deepEqual(await res.json(), { quarantined: ['dfsp1'] });

    // Review finding: a peer bound from a certificate but absent from the key and peer directories must be
    // quarantinable, and so must any id the FSPIOP header rule accepts (dfsp~1).
    res = await s.app.request('/admin/quarantine/nosuchfsp', { method: 'POST', headers: auth(TOKEN) });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { fspId: 'nosuchfsp', quarantined: true, changed: true, known: false, all: ['dfsp1', 'nosuchfsp'] });
    res = await s.app.request('/admin/quarantine/dfsp~1', { method: 'POST', headers: auth(TOKEN) });
    assert.equal(res.status, 200);
    assert.equal(s.quarantine.isQuarantined('dfsp~1'), true);
    for (const id of ['nosuchfsp', 'dfsp~1'])
      assert.equal((await s.app.request(`/admin/quarantine/${id}`, { method: 'DELETE', headers: auth(TOKEN) })).status, 200);
    res = await s.app.request(`/admin/quarantine/${'x'.repeat(40)}`, { method: 'DELETE', headers: auth(TOKEN) });
    assert.equal(res.status, 400);

    res = await s.app.request('/admin/quarantine/dfsp1', { method: 'DELETE', headers: auth(TOKEN) });
    assert.deepEqual(await res.json(), { fspId: 'dfsp1', quarantined: false, changed: true, known: true, all: [] });
    assert.equal(s.quarantine.isQuarantined('dfsp1'), false);

    const calls = s.events.filter((e) => e.event === 'admin_call').map((e) => ('status' in e ? `${e.method} ${e.path} ${e.status}` : ''));
    assert.deepEqual(calls, [
      'POST /admin/quarantine/dfsp1 200',
      'GET /admin/quarantine 200',
      'POST /admin/quarantine/nosuchfsp 200',
      'POST /admin/quarantine/dfsp~1 200',
      'DELETE /admin/quarantine/nosuchfsp 200',
      'DELETE /admin/quarantine/dfsp~1 200',
      `DELETE /admin/quarantine/${'x'.repeat(40)} 400`,
      'DELETE /admin/quarantine/dfsp1 200',
    ]);
    assert.deepEqual(
      s.events.filter((e) => e.event.startsWith('quarantine_')).map((e) => `${e.event} ${e.fspId}`),
      ['quarantine_on dfsp1', 'quarantine_on nosuchfsp', 'quarantine_on dfsp~1', 'quarantine_off nosuchfsp', 'quarantine_off dfsp~1', 'quarantine_off dfsp1'],
    );
  });

  test('reload reports each part; a failing part makes it 500 without leaking the error text', async () => {
    {
      using s = await setup();
      const res = await s.app.request('/admin/reload', { method: 'POST', headers: auth(TOKEN) });
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { keys: { outcome: 'ok', result: { loaded: 2 } }, certificates: { outcome: 'ok', result: { reloaded: ['server'] } } });
    }
    const seen: unknown[] = [];
    using s = await setup({
      reloadCertificates: () => {
        throw new Error('/secret/path/key.pem: bad decrypt');
      },
      reloadKeys: undefined,
      onError: (e) => seen.push(e),
    });
    const res = await s.app.request('/admin/reload', { method: 'POST', headers: auth(TOKEN) });
    assert.equal(res.status, 500);
    const text = await res.text();
    assert.ok(!text.includes('secret'));
    assert.deepEqual(JSON.parse(text), {
      keys: { outcome: 'not_configured' },
      certificates: { outcome: 'failed', error: 'reload failed, see the gateway log' },
    });
    assert.equal(seen.length, 1);
  });

  test('peers lists the directory and the quarantine; missing capabilities are 404', async () => {
    using s = await setup({ listKeys: undefined });
    await s.quarantine.add('dfsp2');
    const res = await s.app.request('/admin/peers', { headers: auth(TOKEN) });
    assert.deepEqual(await res.json(), { peers: { dfsp1: 'https://dfsp1.example:443' }, quarantined: ['dfsp2'] });
    assert.equal((await s.app.request('/admin/keys', { headers: auth(TOKEN) })).status, 404);
    assert.equal((await s.app.request('/admin/nothing-here', { headers: auth(TOKEN) })).status, 404);
  });
});

describe('own signing keys', () => {
  const signingKeys = {
    jwks: () => ({ body: '{"keys":[{"kty":"EC","kid":"k1"}]}', maxAgeSeconds: 42 }),
    status: () => [{ kid: 'k1', alg: 'ES256', state: 'current' as const, file: 'hub.key', activateAt: null, retireAt: null, publishedAt: null }],
  };

  test('/.well-known/jwks.json is public (no token, even with the admin API off); GET /admin/keys lists the keyring under `signing`', async () => {
    for (const adminToken of [TOKEN, undefined]) {
      using s = await setup({ adminToken, signingKeys });
      const res = await s.app.request('/.well-known/jwks.json');
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'application/jwk-set+json');
      assert.equal(res.headers.get('cache-control'), 'public, max-age=42');
      assert.equal(await res.text(), '{"keys":[{"kty":"EC","kid":"k1"}]}');
      assert.equal(s.events.length, 0, 'not an admin call');
    }
    using s = await setup({ signingKeys });
    const keys = (await (await s.app.request('/admin/keys', { headers: auth(TOKEN) })).json()) as { signing: unknown };
    assert.deepEqual(keys.signing, signingKeys.status());
    using none = await setup();
    assert.equal((await none.app.request('/.well-known/jwks.json')).status, 404, 'nothing is published without a signing key');
  });
});

describe('health, readiness and metrics', () => {
  test('/ready is 503 naming the failing checks (false, throwing, hanging), 200 when all pass', async () => {
    let storeUp = false;
    using s = await setup({
      readiness: [
        { name: 'certificates', check: () => true },
        { name: 'keys', check: async () => true },
        { name: 'store', check: async () => storeUp },
        {
          name: 'upstream',
          check: () => {
            throw new Error('boom');
          },
        },
      ],
      onError: () => {},
    });
    let res = await s.app.request('/ready');
    assert.equal(res.status, 503);
    assert.deepEqual(await res.json(), {
      ready: false,
      status: 'not_ready',
      checks: { certificates: true, keys: true, store: false, upstream: false },
      failing: ['store', 'upstream'],
    });
    storeUp = true;
    using ok = await setup({ readiness: [{ name: 'store', check: async () => storeUp }] });
    res = await ok.app.request('/ready');
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { status: string }).status, 'ready');
    assert.equal((await s.app.request('/health')).status, 200);
  });

  test('/metrics serves the registry in Prometheus text format', async () => {
    using s = await setup();
    s.telemetry.knownPeers(['dfsp1']);
    s.telemetry.jwsVerify({ source: 'dfsp1', outcome: 'failed', reason: 'GW_JWS_BAD_SIGNATURE', seconds: 0.002 });
    const res = await s.app.request('/metrics');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    assert.match(await res.text(), /^mojaloop_jws_verification_failed_total\{dfsp="dfsp1",reason="GW_JWS_BAD_SIGNATURE"\} 1$/m);
  });

  test('random suffixes do not crash the router', async () => {
    using s = await setup();
    const res = await s.app.request(`/admin/quarantine/${randomBytes(4).toString('hex')}%2F..`, { method: 'POST', headers: auth(TOKEN) });
    assert.ok(res.status === 400 || res.status === 404);
  });
});
