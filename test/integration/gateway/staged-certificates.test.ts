// A server certificate staged beside IN_SERVER_CERT_PATH (src/tls/staged.ts) on a running gateway: published in
// metrics while it waits, presented to new connections from its activation time without any file event, audited;
// a staged pair that does not fit is refused and the configured certificate stays.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { connect } from 'node:tls';
import type { AuditEvent, AuditLog } from '../../../src/logging/audit.js';
import { stagedPaths } from '../../../src/tls/staged.js';
import { startTestGateway } from '../../helpers/gateway.js';
import { makeTestPki } from '../../helpers/pki.js';
import { waitFor } from '../../helpers/wait.js';

test('a staged server certificate takes over at its activation time; a mismatched one is refused', { timeout: 30_000 }, async (t) => {
  const pki = makeTestPki();
  t.after(() => pki.cleanup());
  const first = pki.issue({ cn: 'localhost', usage: 'server', dns: ['localhost'], ips: ['127.0.0.1'] });
  const next = pki.issue({ cn: 'localhost', usage: 'server', dns: ['localhost'], ips: ['127.0.0.1'] });
  const other = pki.issue({ cn: 'localhost', usage: 'server', dns: ['localhost'] });
  const certPath = pki.write('in-tls.crt', first.certPem);
  const keyPath = pki.write('in-tls.key', first.keyPem);
  const events: AuditEvent[] = [];
  const audit: AuditLog = { record: (e) => void events.push(e), flush: async () => {}, close: async () => {} };
  const tg = await startTestGateway({ pki, env: { IN_SERVER_CERT_PATH: certPath, IN_SERVER_KEY_PATH: keyPath }, overrides: { audit } });
  t.after(() => tg.close());
  const fp = (pem: string) => new X509Certificate(pem).fingerprint256;
  const presented = () =>
    new Promise<string>((resolve, reject) => {
      const cert = tg.cert('dfsp1');
      const s = connect(
        { host: '127.0.0.1', port: tg.gw.inbound.port, servername: 'localhost', ca: pki.ca.certPem, cert: cert.certPem, key: cert.keyPem },
        () => {
          resolve(s.getPeerX509Certificate()!.fingerprint256);
          s.destroy();
        },
      );
      s.on('error', reject);
    });
  const metrics = async () => (await fetch(`http://127.0.0.1:${tg.gw.admin.port}/metrics`)).text();
  const p = stagedPaths(certPath, keyPath);
  assert.equal(p.cert.endsWith('in-tls.next.crt'), true);

  // Refused: the staged key is not the staged certificate's.
  writeFileSync(p.cert, next.certPem);
  writeFileSync(p.key, other.keyPem);
  writeFileSync(p.activateAt, new Date(Date.now() + 1000).toISOString());
  await waitFor(() => events.some((e) => e.event === 'certificate_reload_failed' && e.reason === 'staged_certificate_refused'), { what: 'the refusal' });
  assert.equal(await presented(), fp(first.certPem));

  // Staged properly, 2 s ahead: waiting (metrics), then presented from its time on.
  const activateAt = Date.now() + 2000;
  writeFileSync(p.key, next.keyPem);
  writeFileSync(p.activateAt, new Date(activateAt).toISOString());
  const waiting = await waitFor(
    async () => {
      const m = await metrics();
      return m.includes(`switchguard_certificate_activation_timestamp_seconds{kind="tls_server",file="${p.cert}"}`) ? m : undefined;
    },
    { what: 'the staged certificate in metrics' },
  );
  assert.match(waiting, new RegExp(`switchguard_certificate_activation_timestamp_seconds\\{kind="tls_server",file="${p.cert}"\\} ${activateAt / 1000}`));
  assert.match(
    waiting,
    new RegExp(
      `switchguard_certificate_expiry_timestamp_seconds\\{kind="tls_server",file="${p.cert}"\\} ${Date.parse(new X509Certificate(next.certPem).validTo) / 1000}`,
    ),
  );
  assert.equal(await presented(), fp(first.certPem), 'not before its time');
  await waitFor(async () => (await presented()) === fp(next.certPem), { timeoutMs: 8000, intervalMs: 100, what: 'the staged certificate to be presented' });
  assert.ok(Date.now() >= activateAt);
  assert.equal(tg.gw.tls.current.serverCert.fingerprint256, fp(next.certPem));
  const reloaded = events.filter((e) => e.event === 'certificate_reloaded').at(-1)!;
  assert.equal('file' in reloaded && reloaded.file, p.cert);
  assert.equal('fingerprint' in reloaded && reloaded.fingerprint, fp(next.certPem));
  assert.doesNotMatch(await metrics(), /switchguard_certificate_activation_timestamp_seconds\{/, 'nothing waits any more');
});
