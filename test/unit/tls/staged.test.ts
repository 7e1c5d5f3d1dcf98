// Staged certificates (src/tls/staged.ts): the pair in force before and after the activation time written beside
// it, and every staged pair that must be ignored (the configured pair stays): a key that is not the certificate's,
// a certificate not yet valid or already expired at its activation, an activation that is not a time.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { issueCert } from '../../../src/pki/forge-pki.js';
import { pairInForce, stagedPaths } from '../../../src/tls/staged.js';
import { makeTestPki } from '../../helpers/pki.js';

const pki = makeTestPki();
after(() => pki.cleanup());
const fp = (pem: Buffer | string) => new X509Certificate(pem).fingerprint256;

test('staged file names sit beside the configured ones and are valid Secret keys', () => {
  assert.deepEqual(stagedPaths('/etc/sg/tls/tls.crt', '/etc/sg/tls/tls.key'), {
    cert: '/etc/sg/tls/tls.next.crt',
    key: '/etc/sg/tls/tls.next.key',
    activateAt: '/etc/sg/tls/tls.next.activate-at',
  });
  assert.deepEqual(stagedPaths('/a/client.pem', '/b/client-key.pem'), {
    cert: '/a/client.next.pem',
    key: '/b/client-key.next.pem',
    activateAt: '/a/client.next.activate-at',
  });
});

test('the configured pair until the activation, the staged pair from it; refused staged pairs are reported and ignored', () => {
  const now = Date.now();
  const current = pki.issue({ cn: 'localhost', usage: 'server', dns: ['localhost'] });
  const next = pki.issue({ cn: 'localhost', usage: 'server', dns: ['localhost'] });
  const certPath = pki.write('srv.crt', current.certPem);
  const keyPath = pki.write('srv.key', current.keyPem);
  const p = stagedPaths(certPath, keyPath);

  assert.equal(fp(pairInForce(certPath, keyPath, now).cert), fp(current.certPem), 'nothing staged');
  writeFileSync(p.cert, next.certPem);
  writeFileSync(p.key, next.keyPem);
  assert.equal(pairInForce(certPath, keyPath, now).staged, false, 'no activation file: not staged');
  const at = now + 60_000;
  writeFileSync(p.activateAt, `${new Date(at).toISOString()}\n`);
  const before = pairInForce(certPath, keyPath, now);
  assert.equal(fp(before.cert), fp(current.certPem));
  assert.equal(before.pending?.activateAt, at);
  assert.equal(before.pending?.certificate.fingerprint256, fp(next.certPem));
  assert.equal(before.stagedError, undefined);
  const afterAt = pairInForce(certPath, keyPath, at);
  assert.equal(afterAt.staged, true);
  assert.equal(afterAt.certPath, p.cert);
  assert.equal(fp(afterAt.cert), fp(next.certPem));
  assert.equal(afterAt.key.toString(), next.keyPem);

  const refused = (why: RegExp) => {
    const r = pairInForce(certPath, keyPath, at + 1);
    assert.equal(r.staged, false);
    assert.equal(fp(r.cert), fp(current.certPem), 'the configured pair stays');
    assert.match(r.stagedError?.message ?? '', why);
  };
  writeFileSync(p.key, current.keyPem);
  refused(/staged certificate ignored: .*(key values mismatch|KEY_VALUES_MISMATCH)/i);
  writeFileSync(p.key, next.keyPem);
  const early = issueCert(pki.ca, { cn: 'localhost', usage: 'server', notBefore: new Date(at + 3_600_000), notAfter: new Date(at + 7_200_000) });
  writeFileSync(p.cert, early.certPem);
  writeFileSync(p.key, early.keyPem);
  refused(/not valid yet at its activation/);
  const stale = issueCert(pki.ca, { cn: 'localhost', usage: 'server', notBefore: new Date(now - 7_200_000), notAfter: new Date(now + 1000) });
  writeFileSync(p.cert, stale.certPem);
  writeFileSync(p.key, stale.keyPem);
  refused(/expires before its activation/);
  writeFileSync(p.cert, next.certPem);
  writeFileSync(p.key, next.keyPem);
  writeFileSync(p.activateAt, 'tomorrow');
  refused(/not an ISO 8601 time/);
  writeFileSync(join(pki.dir, 'srv.next.crt'), 'garbage');
  writeFileSync(p.activateAt, new Date(at).toISOString());
  refused(/staged certificate ignored/);
});
