// OCSP requests, response verification and the answer cache (src/tls/ocsp/) against real `openssl ocsp`
// responders over a PKI generated here. Faults: revoked, unknown, unreachable, slow, an answer signed by
// a responder the issuer did not authorise, stale or not yet valid, about another serial, replayed for
// another request (nonce), garbage and non-successful answers: each gives no "good".
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { OcspChecker, type OcspEvents } from '../../../src/tls/ocsp/checker.js';
import { buildRequest, ocspUrlsOf, verifyResponse } from '../../../src/tls/ocsp/protocol.js';
import { closedPort, makeOcspPki, type OcspCert, type OcspPki, type Responder, startFakeResponder } from '../../helpers/ocsp.js';

const x509 = (c: OcspCert | string) => new X509Certificate(typeof c === 'string' ? c : c.certPem);

interface Harness {
  checker: OcspChecker;
  queries: Parameters<OcspEvents['responder']>[0][];
  clock: { now: number };
}
function harness(o: { timeoutMs?: number; cacheMaxSeconds?: number; errorCacheSeconds?: number; nonce?: boolean } = {}): Harness {
  const queries: Harness['queries'] = [];
  const clock = { now: Date.now() };
  const checker = new OcspChecker(
    {
      timeoutMs: o.timeoutMs ?? 3000,
      cacheMaxSeconds: o.cacheMaxSeconds ?? 3600,
      errorCacheSeconds: o.errorCacheSeconds ?? 30,
      nonce: o.nonce ?? true,
      now: () => clock.now,
    },
    { responder: (e) => queries.push(e) },
  );
  return { checker, queries, clock };
}

/** The DER answer of `responder` about `cert` (the raw exchange, for replays). */
async function fetchAnswer(url: string, subject: { leaf: X509Certificate; issuer: X509Certificate }, nonce: boolean) {
  const q = buildRequest(subject, { nonce });
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/ocsp-request' }, body: q.der });
  return { der: Buffer.from(await res.arrayBuffer()), nonce: q.nonce };
}

describe('OCSP against openssl ocsp', () => {
  let p: OcspPki;
  let issuer: X509Certificate;
  let byCa: Responder;
  let byDelegate: Responder;
  before(async () => {
    p = makeOcspPki();
    issuer = x509(p.pki.ca.certPem);
    byCa = await p.responder({ signer: 'ca' });
    byDelegate = await p.responder({ signer: 'delegate' });
  });
  after(async () => {
    await byCa.stop();
    await byDelegate.stop();
    p.cleanup();
  });
  const subjectOf = (c: OcspCert) => ({ leaf: x509(c), issuer });

  test("the responder URL comes from the certificate's AIA (http/https only)", async () => {
    const c = await p.client('aia1', { aia: 'http://ocsp.example:8080/path' });
    assert.deepEqual(ocspUrlsOf(x509(c)), ['http://ocsp.example:8080/path']);
    assert.deepEqual(ocspUrlsOf(issuer), []);
    assert.deepEqual(ocspUrlsOf(x509(await p.client('aia2', { aia: 'ldap://dir.example/cn=x' }))), []);
  });

  test('good: the answer is verified (CA-signed), fresh, and then served from the cache until nextUpdate', async () => {
    const h = harness();
    const c = await p.client('good1', { aia: byCa.url });
    const r = await h.checker.status(subjectOf(c), ocspUrlsOf(x509(c)), 'client');
    assert.equal(r.outcome, 'good', r.detail);
    assert.equal(r.cached, false);
    assert.ok(r.der && r.der.length > 100);
    const next = r.answer?.nextUpdate?.getTime() ?? 0;
    assert.ok(next > Date.now() + 4 * 60_000 && next <= Date.now() + 5 * 60_000 + 5000, 'nextUpdate is -nmin 5 ahead');
    assert.equal(h.queries.length, 1);
    assert.deepEqual({ ...h.queries[0], seconds: 0 }, { purpose: 'client', outcome: 'good', reason: undefined, seconds: 0 });

    const again = await h.checker.status(subjectOf(c), [byCa.url], 'client');
    assert.equal(again.outcome, 'good');
    assert.equal(again.cached, true);
    assert.equal(h.queries.length, 1, 'the cached answer was used');

    h.clock.now = next + 1000; // past nextUpdate: asked again
    const later = await h.checker.status(subjectOf(c), [byCa.url], 'client');
    assert.equal(later.cached, false);
    assert.equal(h.queries.length, 2);
  });

  test('OCSP_CACHE_MAX_SECONDS caps the cache life below nextUpdate; past half of it one background refresh runs', async () => {
    const h = harness({ cacheMaxSeconds: 10 });
    const c = await p.client('cap1');
    assert.equal((await h.checker.status(subjectOf(c), [byCa.url], 'client')).outcome, 'good');
    h.clock.now += 6000; // past half life: served from the cache, refreshed behind it
    const r = await h.checker.status(subjectOf(c), [byCa.url], 'client');
    assert.equal(r.cached, true);
    await new Promise((res) => setTimeout(res, 0));
    for (let i = 0; i < 200 && h.queries.length < 2; i++) await new Promise((res) => setTimeout(res, 10));
    assert.equal(h.queries.length, 2, 'one background refresh');
    h.clock.now += 9000; // within the refreshed entry's 10 s
    assert.equal((await h.checker.status(subjectOf(c), [byCa.url], 'client')).cached, true);
    h.clock.now += 11_000; // beyond the cap
    assert.equal((await h.checker.status(subjectOf(c), [byCa.url], 'client')).cached, false);
  });

  test('concurrent lookups of one certificate share one query', async () => {
    const h = harness();
    const c = await p.client('flight1');
    const rs = await Promise.all(Array.from({ length: 8 }, () => h.checker.status(subjectOf(c), [byCa.url], 'client')));
    assert.ok(rs.every((r) => r.outcome === 'good'));
    assert.equal(h.queries.length, 1);
  });

  test('revoked: the revocation time is read', async () => {
    const h = harness();
    const c = await p.client('revoked1');
    await p.revoke(c);
    const r = await h.checker.status(subjectOf(c), [byCa.url], 'client');
    assert.equal(r.outcome, 'revoked', r.detail);
    const at = r.answer?.revokedAt?.getTime() ?? 0;
    assert.ok(Math.abs(at - (Date.now() - 3600_000)) < 120_000, `revokedAt ${r.answer?.revokedAt?.toISOString()}`);
  });

  test('unknown: a serial the responder has no record of', async () => {
    const r = await harness().checker.status(subjectOf(await p.client('unlisted1', { unlisted: true })), [byCa.url], 'client');
    assert.equal(r.outcome, 'unknown', r.detail);
  });

  test('a delegated responder (id-kp-OCSPSigning, issued by the CA) is trusted', async () => {
    const r = await harness().checker.status(subjectOf(await p.client('delegated1')), [byDelegate.url], 'client');
    assert.equal(r.outcome, 'good', r.detail);
  });

  test('signed by the wrong responder: one from another CA of the same name, or one without id-kp-OCSPSigning', async () => {
    const c = await p.client('wrong1');
    for (const signer of ['foreign', 'no_eku'] as const) {
      const responder = await p.responder({ signer });
      try {
        const r = await harness().checker.status(subjectOf(c), [responder.url], 'client');
        assert.equal(r.outcome, 'error', signer);
        assert.equal(r.reason, 'responder_untrusted', `${signer}: ${r.detail}`);
      } finally {
        await responder.stop();
      }
    }
  });

  test('stale: nextUpdate in the past, or no nextUpdate and older than OCSP_CACHE_MAX_SECONDS; not yet valid: thisUpdate ahead', async () => {
    const c = await p.client('stale1');
    const h = harness({ errorCacheSeconds: 0 });
    h.clock.now = Date.now() + 6 * 60_000; // the answer's nextUpdate (5 min) has passed by this clock
    const r = await h.checker.status(subjectOf(c), [byCa.url], 'client');
    assert.deepEqual([r.outcome, r.reason], ['error', 'stale'], r.detail);

    const noNext = await p.responder({ nmin: 0 });
    try {
      const h2 = harness({ cacheMaxSeconds: 60 });
      h2.clock.now = Date.now() + 120_000;
      const r2 = await h2.checker.status(subjectOf(c), [noNext.url], 'client');
      assert.deepEqual([r2.outcome, r2.reason], ['error', 'stale'], r2.detail);
      const h3 = harness({ cacheMaxSeconds: 60 });
      assert.equal((await h3.checker.status(subjectOf(c), [noNext.url], 'client')).outcome, 'good', 'fresh without nextUpdate');
    } finally {
      await noNext.stop();
    }

    const h4 = harness();
    h4.clock.now = Date.now() - 10 * 60_000; // our clock is behind: thisUpdate is 10 minutes ahead
    const r4 = await h4.checker.status(subjectOf(c), [byCa.url], 'client');
    assert.deepEqual([r4.outcome, r4.reason], ['error', 'not_yet_valid'], r4.detail);
  });

  test('an answer about another serial is not an answer (cert_id)', async () => {
    const a = await p.client('serialA');
    const b = await p.client('serialB');
    const answerForB = await fetchAnswer(byCa.url, subjectOf(b), false);
    assert.equal(verifyResponse(answerForB.der, { ...subjectOf(b), nonce: undefined, now: Date.now(), maxAgeSeconds: 3600 }).status, 'good');
    const fake = await startFakeResponder(() => answerForB.der);
    try {
      const r = await harness().checker.status(subjectOf(a), [fake.url], 'client');
      assert.deepEqual([r.outcome, r.reason], ['error', 'cert_id'], r.detail);
      assert.equal(fake.requests.length, 1);
    } finally {
      await fake.stop();
    }
  });

  test('a replayed answer (its nonce is of another request) is refused; without a nonce sent it is accepted', async () => {
    const c = await p.client('nonce1');
    const captured = await fetchAnswer(byCa.url, subjectOf(c), true);
    assert.ok(captured.nonce);
    const fake = await startFakeResponder(() => captured.der);
    try {
      const r = await harness().checker.status(subjectOf(c), [fake.url], 'client');
      assert.deepEqual([r.outcome, r.reason], ['error', 'nonce'], r.detail);
      const withoutNonce = await harness({ nonce: false }).checker.status(subjectOf(c), [fake.url], 'client');
      assert.equal(withoutNonce.outcome, 'good', withoutNonce.detail);
    } finally {
      await fake.stop();
    }
  });

  test('unreachable responder: error, remembered for OCSP_ERROR_CACHE_SECONDS; the next URL of the list is tried', async () => {
    const c = await p.client('down1');
    const dead = `http://127.0.0.1:${await closedPort()}`;
    const h = harness({ errorCacheSeconds: 30 });
    const r = await h.checker.status(subjectOf(c), [dead], 'client');
    assert.deepEqual([r.outcome, r.reason], ['error', 'unreachable'], r.detail);
    assert.equal((await h.checker.status(subjectOf(c), [dead], 'client')).cached, true);
    assert.equal(h.queries.length, 1);
    h.clock.now += 31_000;
    assert.equal((await h.checker.status(subjectOf(c), [dead], 'client')).cached, false);
    assert.equal(h.queries.length, 2);

    const h2 = harness();
    const both = await h2.checker.status(subjectOf(c), [dead, byCa.url], 'client');
    assert.equal(both.outcome, 'good');
    assert.deepEqual(
      h2.queries.map((q) => [q.outcome, q.reason]),
      [
        ['error', 'unreachable'],
        ['good', undefined],
      ],
    );
  });

  test('a responder that does not answer costs at most OCSP_TIMEOUT_MS', async () => {
    const hang = await startFakeResponder(() => 'hang');
    try {
      const h = harness({ timeoutMs: 300 });
      const started = Date.now();
      const r = await h.checker.status(subjectOf(await p.client('slow1')), [hang.url, byCa.url], 'client');
      const took = Date.now() - started;
      assert.deepEqual([r.outcome, r.reason], ['error', 'timeout'], r.detail);
      assert.ok(took >= 280 && took < 1500, `took ${took} ms`);
      assert.equal(h.queries.length, 1, 'the budget is shared: the second URL is not tried after it ran out');
    } finally {
      await hang.stop();
    }
  });

  test('HTTP errors, garbage and non-successful OCSP answers are errors', async () => {
    const c = await p.client('garbage1');
    const cases: [Parameters<typeof startFakeResponder>[0], string][] = [
      [() => ({ status: 500 }), 'http_status'],
      [() => Buffer.from('not DER at all'), 'malformed'],
      [() => Buffer.from([0x30, 0x03, 0x0a, 0x01, 0x03]), 'response_status'], // OCSPResponse { tryLater }
      [() => Buffer.alloc(70 * 1024, 0x30), 'too_large'],
    ];
    for (const [answer, reason] of cases) {
      const fake = await startFakeResponder(answer);
      try {
        const r = await harness().checker.status(subjectOf(c), [fake.url], 'client');
        assert.deepEqual([r.outcome, r.reason], ['error', reason], r.detail);
      } finally {
        await fake.stop();
      }
    }
  });

  test('no responder: error no_responder, without any query', async () => {
    const h = harness();
    const r = await h.checker.status(subjectOf(await p.client('noaia1')), [], 'client');
    assert.deepEqual([r.outcome, r.reason], ['error', 'no_responder']);
    assert.equal(h.queries.length, 0);
  });
});
