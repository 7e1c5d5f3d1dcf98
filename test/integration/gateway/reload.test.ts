// Live certificate reload: replaced under traffic with zero failures; garbage refused, old context kept.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { after, before, test } from 'node:test';
import { connect } from 'node:tls';
import { issueCert } from '../../../src/pki/forge-pki.js';
import { fspiopHeaders, send, startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import { waitFor } from '../../helpers/wait.js';

const logged: { level: string; obj: Record<string, unknown> }[] = [];
const logger = {
  info: (obj: object) => {
    logged.push({ level: 'info', obj: obj as Record<string, unknown> });
  },
  warn: (obj: object) => {
    logged.push({ level: 'warn', obj: obj as Record<string, unknown> });
  },
  error: (obj: object) => {
    logged.push({ level: 'error', obj: obj as Record<string, unknown> });
  },
  debug: () => {},
};

let t: TestGateway;
before(async () => {
  t = await startTestGateway({ overrides: { logger } });
});
after(async () => {
  await t.close();
});

const servedFingerprint = () =>
  new Promise<string>((resolve, reject) => {
    const c = t.cert('dfsp-a');
    const s = connect({ host: '127.0.0.1', port: t.gw.inbound.port, ca: t.pki.ca.certPem, servername: 'localhost', cert: c.certPem, key: c.keyPem }, () => {
      resolve(s.getPeerX509Certificate()!.fingerprint256);
      s.destroy();
    });
    s.on('error', reject);
  });

const replaceAtomically = (path: string, content: string) => {
  writeFileSync(`${path}.tmp`, content);
  renameSync(`${path}.tmp`, path);
};

test('server certificate replaced while 200 requests/s flow: zero failed requests, new certificate served', async () => {
  const before = await servedFingerprint();
  const keepAlive = new Agent({ keepAlive: true, maxSockets: 8 });
  const c = t.cert('dfsp-a');
  const results: number[] = [];
  const errors: unknown[] = [];
  const started = Date.now();
  const total = 500; // 2.5 s at 200/s on the clock (a stalled tick catches up; the count never shrinks)
  let i = 0;
  await new Promise<void>((resolve) => {
    const inflight = new Set<Promise<void>>();
    const timer = setInterval(() => {
      if (i >= total) {
        clearInterval(timer);
        void Promise.all(inflight).then(() => resolve());
        return;
      }
      const due = Math.min(total, Math.floor(((Date.now() - started) / 1000) * 200)); // open model: 200/s on the clock, catching up after stalls
      for (; i < due; ) {
        // every 10th request on a fresh connection (a new handshake against the current context)
        const p = send(t.gw.inbound.port, {
          method: 'POST',
          path: '/quotes',
          headers: fspiopHeaders('quotes', 'dfsp-a'),
          body: '{"n":1}',
          cert: c,
          ca: t.pki.ca.certPem,
          ...(i++ % 10 ? { agent: keepAlive } : {}),
        })
          .then(
            (r) => {
              results.push(r.status);
            },
            (e: unknown) => {
              errors.push(e);
            },
          )
          .finally(() => inflight.delete(p));
        inflight.add(p);
      }
    }, 10);
    // The swap is scheduled into the middle of the traffic on purpose (time is the thing tested here).
    setTimeout(() => {
      const next = issueCert(t.pki.ca, { cn: 'localhost', usage: 'server', dns: ['localhost'], ips: ['127.0.0.1'] });
      // Two files, replaced one after the other: the half-way state (new cert, old key) must be refused.
      replaceAtomically(t.pki.serverCertPath, next.certPem);
      setTimeout(() => replaceAtomically(t.pki.serverKeyPath, next.keyPem), 30); // the half-way state lasts a while
    }, 800);
  });
  keepAlive.destroy();
  assert.deepEqual(
    errors.map((e) => String((e as Error).message ?? e)),
    [],
    'no request may fail',
  );
  assert.equal(results.length, total);
  assert.ok(
    results.every((s) => s === 202),
    `statuses: ${[...new Set(results)].join(',')}`,
  );
  // The watcher picks the second file up on its own schedule: poll what a new handshake is served.
  let afterFp = before;
  await waitFor(
    async () => {
      afterFp = await servedFingerprint();
      return afterFp !== before;
    },
    { timeoutMs: 5000, what: 'the new certificate to be served' },
  ).catch(() => {}); // the assertion below says what failed
  assert.notEqual(afterFp, before, 'the new certificate must be served without a restart');
  assert.equal(afterFp, new X509Certificate(t.gw.tls.current.serverCert.raw).fingerprint256);
});

test('garbage written into the certificate file: old context kept, error logged', async () => {
  const before = await servedFingerprint();
  logged.length = 0;
  writeFileSync(t.pki.serverCertPath, '-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n');
  assert.equal(t.gw.tls.reload(), 'failed');
  assert.ok(logged.some((l) => l.level === 'error' && l.obj.event === 'certificate_reload_failed'));
  assert.equal(await servedFingerprint(), before);
  const r = await send(t.gw.inbound.port, {
    method: 'POST',
    path: '/quotes',
    headers: fspiopHeaders('quotes', 'dfsp-a'),
    body: '{}',
    cert: t.cert('dfsp-a'),
    ca: t.pki.ca.certPem,
  });
  assert.equal(r.status, 202);
});
