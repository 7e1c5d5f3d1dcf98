// Remote key sources against real HTTPS servers that require the gateway's client certificate (the outbound
// mTLS client's material, src/proxy/pools.ts outboundTlsMaterial): a peer's JWKS and the Connection Manager
// contract stub (test/helpers/key-servers.ts). Issue 12's faults: a source that is down, slow, answers
// garbage, a key below the table's minimum, an alg not allowed, a duplicate kid, a key for another FSP: the
// last good set stays in force, the bad key never verifies, the reason is logged, counted and (for a refused
// key) audited.
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ALGORITHMS } from '../../../src/jws/algorithms.js';
import { createKeyFetch } from '../../../src/jws/sources/fetch.js';
import { RemoteKeySources } from '../../../src/jws/sources/remote-keys.js';
import { verifyRequest } from '../../../src/jws/verify.js';
import type { AuditEvent } from '../../../src/logging/audit.js';
import { createTelemetry } from '../../../src/metrics/registry.js';
import { outboundTlsMaterial } from '../../../src/proxy/pools.js';
import { signedTransfer } from '../../helpers/jws.js';
import { type Answer, type McmStub, startJwksServer, startMcmStub } from '../../helpers/key-servers.js';
import { makeTestPki } from '../../helpers/pki.js';
import { waitFor } from '../../helpers/wait.js';

const pki = makeTestPki();
after(() => pki.cleanup());
const gatewayClient = pki.client('gateway-1');
const tls = outboundTlsMaterial({
  outCaCertPath: pki.caPath,
  outClientCertPath: pki.write('out.pem', gatewayClient.certPem),
  outClientKeyPath: pki.write('out.key', gatewayClient.keyPem),
});
const fetch = createKeyFetch(tls);
const allowed = new Set(['RS256', 'ES256']);
const policy = { algorithms: allowed, forms: ['raw'] as const };

const rsa = (bits = 2048) => generateKeyPairSync('rsa', { modulusLength: bits });
const jwk = (k: KeyObject, extra: Record<string, unknown> = {}) => ({ ...(k.export({ format: 'jwk' }) as object), ...extra });
const jwks = (keys: unknown[], maxAge = 300): Answer => ({ body: JSON.stringify({ keys }), headers: { 'cache-control': `max-age=${maxAge}` } });
const spki = (k: KeyObject) =>
  createHash('sha256')
    .update(k.export({ type: 'spki', format: 'der' }))
    .digest('hex');
const signing = (k: KeyObject) => ({ key: k, alg: ALGORITHMS.RS256 });

function harness(extra: Partial<ConstructorParameters<typeof RemoteKeySources>[0]> = {}) {
  const telemetry = createTelemetry({ processMetrics: false });
  const warnings: Record<string, unknown>[] = [];
  const audit: AuditEvent[] = [];
  const sources = new RemoteKeySources({
    fetch,
    allowed,
    bounds: { minMs: 200, maxMs: 60_000 },
    timeoutMs: 600,
    telemetry,
    logger: { warn: (o) => warnings.push(o as Record<string, unknown>) },
    audit: { record: (e) => audit.push(e), flush: async () => {}, close: async () => {} },
    ...extra,
  });
  const metric = async (name: string, labels: string) => {
    const line = (await telemetry.metricsText()).split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
    return line === undefined ? undefined : Number(line.split(' ').at(-1));
  };
  return { sources, telemetry, warnings, audit, metric };
}

describe('a peer JWKS as key source', () => {
  const A = rsa();
  const B = rsa();
  const small = rsa(1024);
  const fileBound = rsa();
  let server: Awaited<ReturnType<typeof startJwksServer>>;
  before(async () => {
    server = await startJwksServer(pki);
  });
  after(() => server.close());

  test('every fault keeps the last good set in force, never uses the bad key, and logs, counts and audits why', async (t) => {
    const h = harness({ fileBindings: async () => new Map([[spki(fileBound.publicKey), new Set(['dfsp2'])]]) });
    t.after(() => h.sources.close());
    server.answer(jwks([jwk(A.publicKey, { kid: 'a-2026', alg: 'RS256', use: 'sig' })]));
    await h.sources.setJwksUrls(new Map([['dfsp1', new URL(server.jwksUrl)]]));
    const good = h.sources.keysOf('dfsp1');
    assert.equal(good.length, 1);
    assert.equal(good[0]!.fingerprint, spki(A.publicKey));
    assert.ok(server.clients.includes('gateway-1'), 'fetched over the outbound mTLS client, its certificate presented');
    const keysFor = (s: string) => h.sources.keysOf(s);
    assert.equal((await verifyRequest(signedTransfer(signing(A.privateKey), 'dfsp1'), keysFor, policy)).keyId, 'dfsp1.jwks:a-2026');
    assert.ok((await h.metric('switchguard_peer_key_source_last_success_timestamp_seconds', 'kind="jwks",source="dfsp1"'))! > Date.now() / 1000 - 60);

    const ca = (await import('../../../src/pki/forge-pki.js')).createCa({ cn: 'peer CA' });
    const otherFsp = (await import('../../../src/pki/forge-pki.js')).issueCert(ca, { cn: 'dfsp9', usage: 'client' });
    const { X509Certificate } = await import('node:crypto');
    const otherKey = new X509Certificate(otherFsp.certPem).publicKey;
    const faults: [string, Answer, string, KeyObject | undefined][] = [
      ['down (connection dropped)', 'drop', 'unreachable', undefined],
      ['an error status', { status: 503, body: 'maintenance' }, 'http_status', undefined],
      ['slow (no answer within the timeout)', 'hang', 'timeout', undefined],
      ['garbage', { body: '<html>not json' }, 'not_json', undefined],
      ['not a JWK Set', { body: '{"kids": []}' }, 'bad_document', undefined],
      ['a key below the minimum', jwks([jwk(A.publicKey, { kid: 'a-2026' }), jwk(small.publicKey, { kid: 'small' })]), 'key_rejected', small.privateKey],
      ['an alg not allowed', jwks([jwk(A.publicKey, { kid: 'a-2026' }), jwk(B.publicKey, { kid: 'b', alg: 'RS512' })]), 'alg_not_allowed', B.privateKey],
      ['a duplicate kid', jwks([jwk(A.publicKey, { kid: 'a-2026' }), jwk(B.publicKey, { kid: 'a-2026' })]), 'duplicate_kid', B.privateKey],
      [
        'a key whose certificate names another FSP',
        jwks([jwk(A.publicKey, { kid: 'a-2026' }), jwk(otherKey, { kid: 'o', x5c: [otherFsp.certPem.replace(/-----[A-Z ]+-----|\s/g, '')] })]),
        'other_fsp',
        undefined,
      ],
      [
        'a key bound to another FSP by a key file',
        jwks([jwk(A.publicKey, { kid: 'a-2026' }), jwk(fileBound.publicKey, { kid: 'f' })]),
        'other_fsp',
        fileBound.privateKey,
      ],
    ];
    for (const [name, answer, reason, badKey] of faults) {
      server.answer(answer);
      const t0 = Date.now();
      await h.sources.refreshAll();
      if (reason === 'timeout') assert.ok(Date.now() - t0 < 3000, `${name}: bounded by PEER_KEYS_FETCH_TIMEOUT_MS`);
      assert.equal(h.sources.keysOf('dfsp1'), good, `${name}: the last good set stays, unchanged`);
      const st = h.sources.status()[0]!;
      assert.equal(st.lastFailure?.reason, reason, name);
      assert.equal(h.warnings.at(-1)?.reason, reason, `${name}: logged`);
      assert.ok((await h.metric('switchguard_peer_key_source_failures_total', `kind="jwks",source="dfsp1",reason="${reason}"`))! >= 1, `${name}: counted`);
      if (badKey)
        await assert.rejects(
          verifyRequest(signedTransfer(signing(badKey), 'dfsp1'), keysFor, policy),
          /GW_JWS_BAD_SIGNATURE/,
          `${name}: the bad key never verifies`,
        );
      assert.equal((await verifyRequest(signedTransfer(signing(A.privateKey), 'dfsp1'), keysFor, policy)).form, 'raw', `${name}: the good key still does`);
    }
    const refused = h.audit.filter((e) => e.event === 'key_source_refused').map((e) => e.reason);
    assert.deepEqual(
      refused,
      ['not_json', 'bad_document', 'key_rejected', 'alg_not_allowed', 'duplicate_kid', 'other_fsp', 'other_fsp'],
      'refused documents are audited',
    );
    assert.equal(h.sources.status()[0]!.failures, faults.length);

    // A good answer again: the set follows the publisher (a rotation: A retired, B published).
    server.answer(jwks([jwk(B.publicKey, { kid: 'b-2027' })]));
    await h.sources.refreshAll();
    assert.deepEqual(
      h.sources.keysOf('dfsp1').map((k) => k.fingerprint),
      [spki(B.publicKey)],
    );
    assert.equal(h.sources.status()[0]!.failures, 0);
    await assert.rejects(verifyRequest(signedTransfer(signing(A.privateKey), 'dfsp1'), keysFor, policy), /GW_JWS_BAD_SIGNATURE/);
  });

  test("a peer that lists another peer's public key locks nobody out: at start-up, at the owner's rotation, and whichever answers first", async (t) => {
    // Hostile review of 2026-12-02: public keys are public (GET /.well-known/jwks.json), and the first source to list
    // a key used to own it, so a copier that answered first had its victim's whole set refused (3105 for all of it).
    const copier = await startJwksServer(pki);
    t.after(() => copier.close());
    const Owner = rsa();
    const Next = rsa();
    const Own = rsa();
    server.answer({ ...(jwks([jwk(Owner.publicKey, { kid: 'owner-2026' })]) as Exclude<Answer, string>), delayMs: 300 }); // the owner answers last
    copier.answer(jwks([jwk(Own.publicKey, { kid: 'mine' }), jwk(Owner.publicKey, { kid: 'copied' })]));
    const h = harness();
    t.after(() => h.sources.close());
    await h.sources.setJwksUrls(
      new Map([
        ['dfsp1', new URL(server.jwksUrl)],
        ['dfsp7', new URL(copier.jwksUrl)],
      ]),
    );
    const keysFor = (s: string) => h.sources.keysOf(s);
    const signs = async (k: KeyObject, as: string) => (await verifyRequest(signedTransfer(signing(k), as), keysFor, policy)).form;
    assert.equal(await signs(Owner.privateKey, 'dfsp1'), 'raw', "the owner's messages verify");
    assert.equal(await signs(Own.privateKey, 'dfsp7'), 'raw', "the copier's own key is in force too");
    // The copy verifies only messages signed in the copier's name, which only the key's holder can make; a message
    // signed by the copier in the owner's name never verifies.
    await assert.rejects(verifyRequest(signedTransfer(signing(Own.privateKey), 'dfsp1'), keysFor, policy), /GW_JWS_BAD_SIGNATURE/);

    // The owner publishes its next key; the copier lists it first, then the owner: the owner's rotated set is in force.
    copier.answer(jwks([jwk(Own.publicKey, { kid: 'mine' }), jwk(Next.publicKey, { kid: 'copied-next' })]));
    await h.sources.refreshAll();
    server.answer(jwks([jwk(Owner.publicKey, { kid: 'owner-2026' }), jwk(Next.publicKey, { kid: 'owner-2027' })]));
    await h.sources.refreshAll();
    assert.equal(await signs(Next.privateKey, 'dfsp1'), 'raw', "the owner's next key verifies its messages");
    assert.equal(h.audit.filter((e) => e.event === 'key_source_refused').length, 0, 'nothing refused, nobody blamed');
  });

  test('refreshed ahead of expiry (max-age), one fetch at a time, and a removed jwksUrl drops its keys and series', async (t) => {
    const h = harness();
    t.after(() => h.sources.close());
    const path = '/jwks.json';
    server.answer(jwks([jwk(A.publicKey)], 1)); // max-age=1: refresh at 800 ms
    const before = server.hits.get(path) ?? 0;
    await h.sources.setJwksUrls(new Map([['dfsp1', new URL(server.jwksUrl)]]));
    await waitFor(() => (server.hits.get(path) ?? 0) - before >= 3, { timeoutMs: 5000 });
    const staleAfter = (await h.metric('switchguard_peer_key_source_stale_after_timestamp_seconds', 'kind="jwks",source="dfsp1"'))!;
    assert.ok(Math.abs(staleAfter - (Date.now() / 1000 + 1)) < 2, 'stale after last success + max-age');

    server.answer({ ...(jwks([jwk(A.publicKey)], 300) as object), delayMs: 150 });
    await h.sources.refreshAll(); // settle on the long max-age
    const n = server.hits.get(path) ?? 0;
    await Promise.all([h.sources.refreshAll(), h.sources.refreshAll(), h.sources.refreshAll(), h.sources.refreshAll()]);
    assert.equal((server.hits.get(path) ?? 0) - n, 1, 'concurrent refreshes share one fetch');

    await h.sources.setJwksUrls(new Map());
    assert.equal(h.sources.keysOf('dfsp1').length, 0);
    assert.equal(await h.metric('switchguard_peer_key_source_keys', 'kind="jwks",source="dfsp1"'), undefined);
  });

  test('a source that never answered is stale from the start (stale-after 0, so PeerKeySourceStale fires)', async (t) => {
    const h = harness();
    t.after(() => h.sources.close());
    server.answer({ status: 500 });
    await h.sources.setJwksUrls(new Map([['dfsp3', new URL(server.jwksUrl)]]));
    assert.equal(await h.metric('switchguard_peer_key_source_stale_after_timestamp_seconds', 'kind="jwks",source="dfsp3"'), 0);
    assert.equal(h.sources.status()[0]!.stale, true);
    assert.equal(h.sources.healthy(), false);
  });
});

describe('a Mojaloop Connection Manager as key source (contract stub from the published API description)', () => {
  let mcm: McmStub;
  const D1 = rsa();
  const D2 = rsa();
  const HUB = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = (k: KeyObject) => k.export({ type: 'spki', format: 'pem' }) as string;
  before(async () => {
    mcm = await startMcmStub(pki);
  });
  after(() => mcm.close());

  const sourcesFor = (secret: string) =>
    harness({
      mcm: {
        fetch,
        url: new URL(mcm.apiUrl),
        hubId: 'hub',
        credentials: { tokenUrl: new URL(mcm.tokenUrl), clientId: mcm.clientId, clientSecret: () => secret },
      },
    });

  test('DFSP keys and the hub key with a client-credentials token; a rejected token is fetched again; per-FSP faults keep that FSP only', async (t) => {
    mcm.dfsps = [
      { dfspId: 'dfsp1', publicKey: pem(D1.publicKey) },
      { dfspId: 'dfsp2', publicKey: pem(D2.publicKey) },
    ];
    mcm.hub = pem(HUB.publicKey);
    const h = sourcesFor(mcm.clientSecret);
    t.after(() => h.sources.close());
    await h.sources.refreshAll();
    assert.equal(h.sources.keysOf('dfsp1')[0]?.fingerprint, spki(D1.publicKey));
    assert.equal(h.sources.keysOf('hub')[0]?.fingerprint, spki(HUB.publicKey));
    assert.equal(h.sources.keysOf('dfsp1')[0]?.label, 'mcm');
    assert.equal(mcm.tokens.length, 1, 'one token for both resources');
    assert.ok(mcm.auth.includes('Bearer tok-1'));
    assert.ok(mcm.clients.every((cn) => cn === 'gateway-1'));

    mcm.expireToken();
    await h.sources.refreshAll();
    assert.equal(mcm.tokens.length, 2, '401: a new token, and the call again');
    assert.equal(
      h.sources.status().every((s) => s.failures === 0),
      true,
    );

    // dfsp2's entry turns bad (INVALID in the Connection Manager, then a 1024-bit key): dfsp2 keeps its last good key, dfsp1 follows the MCM.
    const D1b = rsa();
    const fps = (id: string) => h.sources.keysOf(id).map((k) => k.fingerprint);
    const d2 = [spki(D2.publicKey)];
    assert.deepEqual(fps('dfsp2'), d2);
    mcm.dfsps = [
      { dfspId: 'dfsp1', publicKey: pem(D1b.publicKey) },
      { dfspId: 'dfsp2', publicKey: pem(rsa().publicKey), validationState: 'INVALID' },
    ];
    await h.sources.refreshAll();
    assert.equal(h.sources.keysOf('dfsp1')[0]?.fingerprint, spki(D1b.publicKey));
    assert.deepEqual(fps('dfsp2'), d2);
    mcm.dfsps = [
      { dfspId: 'dfsp1', publicKey: pem(D1b.publicKey) },
      { dfspId: 'dfsp2', publicKey: pem(rsa(1024).publicKey) },
    ];
    await h.sources.refreshAll();
    assert.deepEqual(fps('dfsp2'), d2);
    assert.ok((await h.metric('switchguard_peer_key_source_failures_total', 'kind="mcm",source="dfsps",reason="invalid_in_mcm"'))! >= 1);
    assert.ok((await h.metric('switchguard_peer_key_source_failures_total', 'kind="mcm",source="dfsps",reason="key_rejected"'))! >= 1);
    assert.deepEqual(
      h.audit.filter((e) => e.event === 'key_source_refused').map((e) => [e.fspId, e.reason]),
      [
        ['dfsp2', 'invalid_in_mcm'],
        ['dfsp2', 'key_rejected'],
      ],
    );

    // The whole answer broken: everything stays.
    mcm.override = { body: 'Internal error' };
    await h.sources.refreshAll();
    assert.deepEqual(fps('dfsp2'), d2);
    assert.deepEqual(fps('dfsp1'), [spki(D1b.publicKey)]);
    assert.equal(h.sources.status().find((s) => s.source === 'dfsps')?.lastFailure?.reason, 'not_json');
    mcm.override = undefined;
  });

  test('a key in the Connection Manager under one DFSP and copied by another (its JWKS or its own MCM entry) locks nobody out', async (t) => {
    // Re-review of 2026-12-02: DFSPs upload their own keys to the MCM, so its binding is no more the operator's word
    // than a JWKS; a copy there (or a copy elsewhere of a key there) refused the owner's keys at start-up.
    const copier = await startJwksServer(pki);
    t.after(() => copier.close());
    const Own = rsa();
    mcm.dfsps = [
      { dfspId: 'dfsp1', publicKey: pem(D1.publicKey) },
      { dfspId: 'dfsp8', publicKey: pem(D1.publicKey) }, // dfsp8 uploaded dfsp1's public key as its own
    ];
    mcm.hub = pem(HUB.publicKey);
    copier.answer(jwks([jwk(Own.publicKey, { kid: 'mine' }), jwk(D1.publicKey, { kid: 'copied' })]));
    const h = sourcesFor(mcm.clientSecret);
    t.after(() => h.sources.close());
    await h.sources.setJwksUrls(new Map([['dfsp7', new URL(copier.jwksUrl)]]));
    await h.sources.refreshAll();
    await h.sources.refreshAll();
    const keysFor = (s: string) => h.sources.keysOf(s);
    assert.equal((await verifyRequest(signedTransfer(signing(D1.privateKey), 'dfsp1'), keysFor, policy)).form, 'raw', "the owner's messages verify");
    assert.equal((await verifyRequest(signedTransfer(signing(Own.privateKey), 'dfsp7'), keysFor, policy)).form, 'raw', "the copier's own key too");
    await assert.rejects(verifyRequest(signedTransfer(signing(Own.privateKey), 'dfsp1'), keysFor, policy), /GW_JWS_BAD_SIGNATURE/);
    assert.deepEqual(
      h.audit.filter((e) => e.event === 'key_source_refused'),
      [],
      'nothing refused, nobody blamed',
    );
  });

  test('a wrong client secret: reason token, nothing in force, and a secret file read at each token request', async (t) => {
    mcm.dfsps = [{ dfspId: 'dfsp1', publicKey: pem(D1.publicKey) }];
    const h = sourcesFor('not-the-secret');
    t.after(() => h.sources.close());
    await h.sources.refreshAll();
    assert.equal(h.sources.keysOf('dfsp1').length, 0);
    assert.equal(h.sources.status()[0]?.lastFailure?.reason, 'token');

    const file = join(pki.dir, 'mcm-secret');
    writeFileSync(file, 'wrong\n');
    const { readFileSync } = await import('node:fs');
    const h2 = harness({
      mcm: {
        fetch,
        url: new URL(mcm.apiUrl),
        credentials: { tokenUrl: new URL(mcm.tokenUrl), clientId: mcm.clientId, clientSecret: () => readFileSync(file, 'utf8').trim() },
      },
    });
    t.after(() => h2.sources.close());
    await h2.sources.refreshAll();
    assert.equal(h2.sources.keysOf('dfsp1').length, 0);
    writeFileSync(file, `${mcm.clientSecret}\n`);
    await h2.sources.refreshAll();
    assert.equal(h2.sources.keysOf('dfsp1').length, 1, 'the rotated secret file is used without a restart');
  });
});
