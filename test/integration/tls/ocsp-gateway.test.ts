// OCSP through a running gateway (docs/security.md, "Client certificate revocation"): real mTLS on port 0,
// real `openssl ocsp` responders, the policy applied per connection before any request is served, and
// the server certificate's status stapled for TLS clients that ask.
//   soft: good, unknown, unreachable → served (counted); revoked → connection closed, nothing forwarded;
//         a slow responder holds the first request for at most OCSP_TIMEOUT_MS.
//   hard: only good is served; revoked, unknown, a reset, a slow responder, an answer signed by the wrong
//         responder or about another serial → connection closed, nothing forwarded, audited.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { type ConnectionOptions, connect } from 'node:tls';
import type { AuditEvent, AuditLog } from '../../../src/logging/audit.js';
import { createTelemetry, type MetricsTelemetry } from '../../../src/metrics/registry.js';
import { verifyResponse } from '../../../src/tls/ocsp/protocol.js';
import { fspiopHeaders, send, startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import { closedPort, type FakeAnswer, makeOcspPki, type OcspCert, type OcspPki, type Responder, relay, startFakeResponder } from '../../helpers/ocsp.js';
import { waitFor } from '../../helpers/wait.js';

const recordingAudit = (): AuditLog & { events: AuditEvent[] } => {
  const events: AuditEvent[] = [];
  return { events, record: (e) => void events.push(e), flush: async () => {}, close: async () => {} };
};
const metric = async (t: MetricsTelemetry, series: string): Promise<number> => {
  const line = (await t.metricsText()).split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
};

interface Fixture {
  t: TestGateway;
  telemetry: MetricsTelemetry;
  audit: ReturnType<typeof recordingAudit>;
}
async function start(p: OcspPki, env: Record<string, string>): Promise<Fixture> {
  const telemetry = createTelemetry({ processMetrics: false });
  const audit = recordingAudit();
  const t = await startTestGateway({ pki: p.pki, env: { OCSP_TIMEOUT_MS: '400', ...env }, overrides: { telemetry, audit } });
  return { t, telemetry, audit };
}

/** Requests on one fresh connection with this certificate: status of each (0: the connection was closed), forwarded count, time. */
async function tryCert(f: Fixture, cert: OcspCert, n = 1) {
  const before = f.t.stub.requests.length;
  const started = Date.now();
  const statuses: number[] = [];
  const { Agent } = await import('node:https');
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    for (let i = 0; i < n; i++) {
      statuses.push(
        await send(f.t.gw.inbound.port, { path: '/parties/MSISDN/123', headers: fspiopHeaders('parties', cert.cn), cert, ca: f.t.pki.ca.certPem, agent }).then(
          (r) => r.status,
          () => 0,
        ),
      );
    }
  } finally {
    agent.destroy();
  }
  return { statuses, forwarded: f.t.stub.requests.length - before, ms: Date.now() - started };
}

const lastAudit = (f: Fixture) => f.audit.events.at(-1) as { event: string; reason?: string; peer?: string } | undefined;

describe('OCSP_POLICY=soft, responders from the AIA, stapling on', () => {
  let p: OcspPki;
  let responder: Responder;
  let hang: Responder;
  let dead: string;
  let server: OcspCert;
  let f: Fixture;
  before(async () => {
    p = makeOcspPki();
    responder = await p.responder({ signer: 'delegate' });
    hang = await startFakeResponder(() => 'hang');
    dead = `http://127.0.0.1:${await closedPort()}`;
    server = await p.server({ aia: responder.url });
    f = await start(p, { OCSP_POLICY: 'soft', OCSP_STAPLING: 'true', IN_SERVER_CERT_PATH: server.certPath, IN_SERVER_KEY_PATH: server.keyPath });
  });
  after(async () => {
    await f.t.close();
    await hang.stop();
    await responder.stop();
    p.cleanup();
  });

  test('good: served, one check per connection (keep-alive requests reuse it)', async () => {
    const r = await tryCert(f, await p.client('dfspgood', { aia: responder.url }), 3);
    assert.deepEqual(r.statuses, [202, 202, 202]);
    assert.equal(r.forwarded, 3);
    assert.equal(await metric(f.telemetry, 'switchguard_ocsp_checks_total{outcome="good",decision="allow"}'), 1);
    assert.equal(await metric(f.telemetry, 'switchguard_ocsp_responder_duration_seconds_count{purpose="client",outcome="good"}'), 1);
  });

  test('revoked: the connection is closed before anything is served, audited as peer_rejected ocsp_revoked', async () => {
    const cert = await p.client('dfsprevoked', { aia: responder.url });
    await p.revoke(cert);
    const r = await tryCert(f, cert);
    assert.deepEqual(r.statuses, [0]);
    assert.equal(r.forwarded, 0);
    assert.equal(lastAudit(f)?.event, 'peer_rejected');
    assert.equal(lastAudit(f)?.reason, 'ocsp_revoked');
    assert.equal(lastAudit(f)?.peer, new X509Certificate(cert.certPem).fingerprint256);
    assert.equal(await metric(f.telemetry, 'switchguard_ocsp_checks_total{outcome="revoked",decision="refuse"}'), 1);
  });

  test('unknown to the responder, or the responder unreachable: served under soft, and counted', async () => {
    assert.deepEqual((await tryCert(f, await p.client('dfspunlisted', { aia: responder.url, unlisted: true }))).statuses, [202]);
    assert.deepEqual((await tryCert(f, await p.client('dfspdown', { aia: dead }))).statuses, [202]);
    assert.equal(await metric(f.telemetry, 'switchguard_ocsp_checks_total{outcome="unknown",decision="allow"}'), 1);
    assert.equal(await metric(f.telemetry, 'switchguard_ocsp_checks_total{outcome="error",decision="allow"}'), 1);
    assert.equal(await metric(f.telemetry, 'switchguard_ocsp_responder_failures_total{purpose="client",reason="unreachable"}'), 1);
  });

  test('a responder that never answers holds the first request for OCSP_TIMEOUT_MS, then soft admits it', async () => {
    const r = await tryCert(f, await p.client('dfspslow', { aia: hang.url }));
    assert.deepEqual(r.statuses, [202]);
    assert.ok(r.ms >= 380, `the request waited for the verdict (${r.ms} ms)`);
    assert.ok(r.ms < 3000, `but not much longer than the bound (${r.ms} ms)`);
    assert.equal(await metric(f.telemetry, 'switchguard_ocsp_responder_failures_total{purpose="client",reason="timeout"}'), 1);
  });

  test("stapling: a client that asks gets the server certificate's verified good answer; one that does not, none", async () => {
    const cert = await p.client('dfspstaple');
    const handshake = (requestOCSP: boolean) =>
      new Promise<Buffer | undefined>((resolve, reject) => {
        let stapled: Buffer | undefined;
        // requestOCSP is a TLSSocket option that tls.connect passes on (https://nodejs.org/api/tls.html#new-tlstlssocketsocket-options).
        const options: ConnectionOptions & { requestOCSP: boolean } = {
          host: '127.0.0.1',
          port: f.t.gw.inbound.port,
          servername: 'localhost',
          ca: p.pki.ca.certPem,
          cert: cert.certPem,
          key: cert.keyPem,
          requestOCSP,
        };
        const s = connect(options);
        s.on('OCSPResponse', (der: Buffer) => {
          stapled = der;
        });
        s.on('secureConnect', () => {
          s.end();
          resolve(stapled);
        });
        s.on('error', reject);
      });
    const der = await handshake(true);
    assert.ok(der && der.length > 0, 'an OCSP response was stapled');
    const answer = verifyResponse(der, {
      leaf: new X509Certificate(server.certPem),
      issuer: new X509Certificate(p.pki.ca.certPem),
      nonce: undefined,
      now: Date.now(),
      maxAgeSeconds: 3600,
    });
    assert.equal(answer.status, 'good');
    const again = await handshake(true);
    assert.ok(again?.equals(der), 'the cached answer is stapled again');
    assert.equal(await metric(f.telemetry, 'switchguard_ocsp_responder_duration_seconds_count{purpose="staple",outcome="good"}'), 1);
    assert.equal(await handshake(false), undefined);
    assert.equal(await metric(f.telemetry, 'switchguard_ocsp_staples_total{outcome="stapled"}'), 2);
  });
});

describe('OCSP_POLICY=hard, OCSP_RESPONDER_URL instead of the AIA', () => {
  let p: OcspPki;
  let good: Responder;
  let foreign: Responder;
  type Mode = 'relay' | 'foreign' | 'hang' | 'reset' | 'other_serial';
  let front: Responder & { requests: Buffer[] };
  let mode = 'relay' as Mode;
  let otherAnswer: Buffer = Buffer.alloc(0);
  let f: Fixture;
  before(async () => {
    p = makeOcspPki();
    good = await p.responder({ signer: 'ca' });
    foreign = await p.responder({ signer: 'foreign' });
    front = await startFakeResponder(async (req): Promise<FakeAnswer> => {
      if (mode === 'relay') return relay(good.url, req);
      if (mode === 'foreign') return relay(foreign.url, req);
      if (mode === 'other_serial') return otherAnswer;
      return mode;
    });
    f = await start(p, { OCSP_POLICY: 'hard', OCSP_RESPONDER_URL: front.url });
  });
  after(async () => {
    await f.t.close();
    await front.stop();
    await good.stop();
    await foreign.stop();
    p.cleanup();
  });

  test('good (the certificate names another responder: the configured one is asked): served', async () => {
    mode = 'relay';
    const asked = front.requests.length;
    const r = await tryCert(f, await p.client('dfsphgood', { aia: 'http://127.0.0.1:9/never-asked' }), 2);
    assert.deepEqual(r.statuses, [202, 202]);
    assert.equal(front.requests.length, asked + 1);
  });

  const refusals: [string, Mode, { unlisted?: boolean; revoke?: boolean }, string, string | undefined][] = [
    ['revoked', 'relay', { revoke: true }, 'ocsp_revoked', undefined],
    ['unknown to the responder', 'relay', { unlisted: true }, 'ocsp_unknown', undefined],
    ['signed by a responder of another CA', 'foreign', {}, 'ocsp_error', 'responder_untrusted'],
    ['an answer about another serial', 'other_serial', {}, 'ocsp_error', 'cert_id'],
    ['the responder resets the connection', 'reset', {}, 'ocsp_error', 'unreachable'],
  ];
  for (const [name, m, o, reason, failure] of refusals) {
    test(`${name}: the connection is closed, nothing is forwarded, audited as ${reason}`, async () => {
      const cert = await p.client(`dfsph${m.replace('_', '')}${o.revoke ? 'r' : ''}${o.unlisted ? 'u' : ''}`, { unlisted: o.unlisted ?? false });
      if (o.revoke) await p.revoke(cert);
      if (m === 'other_serial') otherAnswer = await relay(good.url, front.requests.at(-1) ?? Buffer.alloc(0)); // the last good certificate's answer
      mode = m;
      const r = await tryCert(f, cert);
      assert.deepEqual(r.statuses, [0]);
      assert.equal(r.forwarded, 0);
      assert.equal(lastAudit(f)?.reason, reason);
      if (failure) assert.equal(await metric(f.telemetry, `switchguard_ocsp_responder_failures_total{purpose="client",reason="${failure}"}`), 1);
    });
  }

  test('a responder that never answers: refused once OCSP_TIMEOUT_MS has passed, never served before', async () => {
    mode = 'hang';
    const r = await tryCert(f, await p.client('dfsphhang'));
    assert.deepEqual(r.statuses, [0]);
    assert.equal(r.forwarded, 0);
    assert.ok(r.ms >= 380 && r.ms < 3000, `${r.ms} ms`);
    await waitFor(async () => (await metric(f.telemetry, 'switchguard_ocsp_responder_failures_total{purpose="client",reason="timeout"}')) === 1, {
      what: 'timeout counted',
    });
    assert.equal(await metric(f.telemetry, 'switchguard_ocsp_checks_total{outcome="error",decision="refuse"}'), 4);
  });
});
