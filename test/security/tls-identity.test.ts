// docs/security.md class 4: a client certificate binds one identity or none. Over real mTLS on port 0: several
// CNs, disagreeing SANs, a CN that differs from the chosen SAN, a CA certificate, and key usages not
// made for client authentication are all refused (3100, nothing reaches the upstream, or the handshake
// itself is refused); a TCP probe is counted as a probe and never audited as a rejected peer.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { connect as tcpConnect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { GatewayError } from '../../src/errors.js';
import type { AuditEvent, AuditLog } from '../../src/logging/audit.js';
import { createTelemetry, type MetricsTelemetry } from '../../src/metrics/registry.js';
import type { Issued } from '../../src/pki/forge-pki.js';
import { clientCertificateProblem } from '../../src/tls/client-cert-policy.js';
import { identitySans, peerFromCertificate } from '../../src/tls/peer.js';
import { fspiopHeaders, send, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { makeTestPki, type TestPki } from '../helpers/pki.js';
import { waitFor } from '../helpers/wait.js';

const recordingAudit = (): AuditLog & { events: AuditEvent[] } => {
  const events: AuditEvent[] = [];
  return {
    events,
    record: (e) => {
      events.push(e);
    },
    flush: async () => {},
    close: async () => {},
  };
};
const metric = async (t: MetricsTelemetry, series: string): Promise<number> => {
  const line = (await t.metricsText()).split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
};
const until = async (what: string, cond: () => boolean | Promise<boolean>, ms = 3000): Promise<void> => {
  await waitFor(cond, { what, timeoutMs: ms, intervalMs: 10 });
};

interface Fixture {
  t: TestGateway;
  telemetry: MetricsTelemetry;
  audit: ReturnType<typeof recordingAudit>;
}
async function start(pki: TestPki, env: Record<string, string>): Promise<Fixture> {
  const telemetry = createTelemetry({ processMetrics: false });
  const audit = recordingAudit();
  const t = await startTestGateway({ pki, env, overrides: { telemetry, audit } });
  return { t, telemetry, audit };
}

/** GET /parties as `source` with this certificate: the gateway's answer and whether the upstream saw it. */
async function tryCert(f: Fixture, cert: Issued, source: string) {
  const before = f.t.stub.requests.length;
  f.t.stub.behave({ status: 202 });
  const r = await send(f.t.gw.inbound.port, { path: '/parties/MSISDN/123', headers: fspiopHeaders('parties', source), cert, ca: f.t.pki.ca.certPem })
    .then((x) => ({ status: x.status, code: x.status === 202 ? '' : String(x.json().errorInformation?.errorCode) }))
    .catch((e: Error & { code?: string }) => ({ status: 0, code: `handshake:${e.code ?? e.message}` }));
  return { ...r, forwarded: f.t.stub.requests.length - before };
}

const pki = makeTestPki();
after(() => pki.cleanup());

describe('identity source cn (default)', () => {
  let f: Fixture;
  before(async () => {
    f = await start(pki, {});
  });
  after(async () => {
    await f.t.close();
  });

  test('control: one CN that is an FSP id is bound and forwarded', async () => {
    assert.deepEqual(await tryCert(f, pki.issue({ cn: 'dfsp1' }), 'dfsp1'), { status: 202, code: '', forwarded: 1 });
  });

  for (const [name, cns] of [
    ['two different CNs, either claimed', ['dfsp1', 'dfsp2']],
    ['two different CNs, the second claimed', ['dfsp2', 'dfsp1']],
    ['the same CN twice', ['dfsp1', 'dfsp1']],
  ] as const) {
    test(`${name}: 3100, nothing forwarded, audited as peer_rejected`, async () => {
      const cert = pki.issue({ cn: [...cns] });
      for (const source of new Set(cns)) {
        assert.deepEqual(await tryCert(f, cert, source), { status: 400, code: '3100', forwarded: 0 });
      }
      const last = f.audit.events.at(-1) as { event: string; reason: string };
      assert.equal(last.event, 'peer_rejected');
      assert.equal(last.reason, 'GW_PEER_IDENTITY_AMBIGUOUS');
    });
  }

  test('a leaf that says basicConstraints CA:TRUE (no keyCertSign, so OpenSSL accepts it as a leaf): 3100, nothing forwarded', async () => {
    assert.deepEqual(await tryCert(f, pki.issue({ cn: 'dfsp1', ca: true }), 'dfsp1'), { status: 400, code: '3100', forwarded: 0 });
    assert.equal((f.audit.events.at(-1) as { reason: string }).reason, 'GW_PEER_CERT_NOT_CLIENT');
  });

  test('a CA certificate with keyCertSign and clientAuth: refused (handshake or 3100), nothing forwarded', async () => {
    const r = await tryCert(f, pki.issue({ cn: 'dfsp1', ca: true, keyUsage: ['digitalSignature', 'keyCertSign'] }), 'dfsp1');
    assert.equal(r.forwarded, 0);
    assert.notEqual(r.status, 202);
  });

  test('keyUsage without digitalSignature (keyAgreement only; OpenSSL accepts it for ssl_client): 3100, nothing forwarded', async () => {
    assert.deepEqual(await tryCert(f, pki.issue({ cn: 'dfsp1', keyUsage: ['keyAgreement'] }), 'dfsp1'), { status: 400, code: '3100', forwarded: 0 });
  });

  test('extendedKeyUsage without clientAuth (serverAuth, codeSigning): the handshake is refused and counted as bad_purpose', async () => {
    for (const eku of [['serverAuth'], ['codeSigning', 'emailProtection']] as const) {
      const r = await tryCert(f, pki.issue({ cn: 'dfsp1', eku: [...eku] }), 'dfsp1');
      assert.equal(r.forwarded, 0);
      assert.match(r.code, /^handshake:/);
    }
    await until('bad_purpose counted', async () => (await metric(f.telemetry, 'switchguard_tls_handshake_failures_total{reason="bad_purpose"}')) === 2);
  });

  test('keyUsage keyEncipherment only: the handshake is refused', async () => {
    const r = await tryCert(f, pki.issue({ cn: 'dfsp1', keyUsage: ['keyEncipherment'] }), 'dfsp1');
    assert.equal(r.forwarded, 0);
    assert.match(r.code, /^handshake:/);
  });

  test('a plain TCP probe (connect, close, no ClientHello) is counted as a probe, not audited, not a handshake failure', async () => {
    const probes = await metric(f.telemetry, 'switchguard_tls_probes_total');
    const audited = f.audit.events.length;
    const failuresBefore = (await f.telemetry.metricsText()).match(/^switchguard_tls_handshake_failures_total\{[^}]*\} \d+/gm)?.join() ?? '';
    for (let i = 0; i < 3; i++) {
      await new Promise<void>((resolve, reject) => {
        const s = tcpConnect(f.t.gw.inbound.port, '127.0.0.1', () => s.end());
        s.on('error', reject);
        s.on('close', () => resolve());
      });
    }
    await until('3 probes counted', async () => (await metric(f.telemetry, 'switchguard_tls_probes_total')) === probes + 3);
    assert.equal(f.audit.events.length, audited, 'a probe writes no audit event');
    const failuresAfter = (await f.telemetry.metricsText()).match(/^switchguard_tls_handshake_failures_total\{[^}]*\} \d+/gm)?.join() ?? '';
    assert.equal(failuresAfter, failuresBefore, 'a probe is not a handshake failure');
  });

  test('bytes that are not a ClientHello are a handshake failure, not a probe, and are audited', async () => {
    const probes = await metric(f.telemetry, 'switchguard_tls_probes_total');
    const audited = f.audit.events.length;
    await new Promise<void>((resolve) => {
      const s = tcpConnect(f.t.gw.inbound.port, '127.0.0.1', () => s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
      s.on('data', () => {});
      s.on('error', () => {});
      s.on('close', () => resolve());
    });
    await until('audited', () => f.audit.events.length > audited);
    assert.equal((f.audit.events.at(-1) as { event: string }).event, 'peer_rejected');
    assert.equal(await metric(f.telemetry, 'switchguard_tls_probes_total'), probes);
  });
});

describe('identity source san', () => {
  let f: Fixture;
  before(async () => {
    f = await start(pki, { PEER_IDENTITY_FROM: 'san' });
  });
  after(async () => {
    await f.t.close();
  });

  test('control: one SAN value (DNS and URI may repeat it), CN equal or absent: bound and forwarded', async () => {
    assert.deepEqual(await tryCert(f, pki.issue({ cn: 'dfsp1', dns: ['dfsp1'] }), 'dfsp1'), { status: 202, code: '', forwarded: 1 });
    assert.deepEqual(await tryCert(f, pki.issue({ cn: [], dns: ['dfsp1'], uris: ['dfsp1'], ips: ['127.0.0.1'] }), 'dfsp1'), {
      status: 202,
      code: '',
      forwarded: 1,
    });
  });

  const refused: [string, Parameters<TestPki['issue']>[0], string[]][] = [
    ['two DNS SANs that disagree', { cn: [], dns: ['dfsp1', 'dfsp2'] }, ['dfsp1', 'dfsp2']],
    ['a DNS and a URI SAN that disagree', { cn: [], dns: ['dfsp1'], uris: ['dfsp2'] }, ['dfsp1', 'dfsp2']],
    ['a SAN that is an FSP id beside one that is not', { cn: [], dns: ['dfsp1', 'gw.dfsp1.example/x'] }, ['dfsp1']],
    ['a CN that differs from the SAN', { cn: 'dfsp2', dns: ['dfsp1'] }, ['dfsp1', 'dfsp2']],
    ['two CNs equal to the SAN', { cn: ['dfsp1', 'dfsp1'], dns: ['dfsp1'] }, ['dfsp1']],
    ['a SAN that smuggles a list separator', { cn: [], dns: ['dfsp1, DNS:dfsp2'] }, ['dfsp1', 'dfsp2']],
    ['no DNS/URI SAN, only a CN', { cn: 'dfsp1', ips: ['127.0.0.1'] }, ['dfsp1']],
  ];
  for (const [name, o, sources] of refused) {
    test(`${name}: 3100, nothing forwarded`, async () => {
      const cert = pki.issue(o);
      for (const source of sources) assert.deepEqual(await tryCert(f, cert, source), { status: 400, code: '3100', forwarded: 0 }, source);
    });
  }
});

describe('identity map', () => {
  let f: Fixture;
  before(async () => {
    const map = pki.write('identity-map.json', JSON.stringify({ dfsp1: 'dfsp1' }));
    f = await start(pki, { PEER_IDENTITY_FROM: 'map', PEER_IDENTITY_MAP: map });
  });
  after(async () => {
    await f.t.close();
  });

  test('a CN lookup needs exactly one CN', async () => {
    assert.deepEqual(await tryCert(f, pki.issue({ cn: 'dfsp1' }), 'dfsp1'), { status: 202, code: '', forwarded: 1 });
    assert.deepEqual(await tryCert(f, pki.issue({ cn: ['dfsp1', 'dfsp9'] }), 'dfsp1'), { status: 400, code: '3100', forwarded: 0 });
    assert.deepEqual(await tryCert(f, pki.issue({ cn: ['dfsp9', 'dfsp1'] }), 'dfsp1'), { status: 400, code: '3100', forwarded: 0 });
  });
});

describe('pure rules (fast-check)', () => {
  const opts = (from: 'cn' | 'san') => ({ from, map: () => undefined });
  const FP = `${'AB:'.repeat(31)}AB`;
  const id = fc.stringMatching(/^[a-z0-9-]{1,12}$/);

  test('several distinct CNs never bind, whatever their order', () => {
    fc.assert(
      fc.property(fc.uniqueArray(id, { minLength: 2, maxLength: 4 }), fc.constantFrom('cn' as const, 'san' as const), (cns, from) => {
        assert.throws(
          () => peerFromCertificate({ fingerprint256: FP, subject: { CN: cns }, subjectaltname: `DNS:${cns[0]}` }, opts(from)),
          (e: unknown) => e instanceof GatewayError && e.fspiopCode === '3100',
        );
      }),
    );
  });

  test('from=san binds only when every DNS/URI SAN carries the same value (and the CN, if any, equals it)', () => {
    const entry = fc.tuple(fc.constantFrom('DNS', 'URI', 'IP Address', 'email'), id);
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 5 }), fc.option(id, { nil: undefined }), (entries, cn) => {
        const san = entries.map(([k, v]) => `${k}:${v}`).join(', ');
        const ids = new Set(entries.filter(([k]) => k === 'DNS' || k === 'URI').map(([, v]) => v));
        const ok = ids.size === 1 && (cn === undefined || ids.has(cn));
        let bound: string | undefined;
        try {
          bound = peerFromCertificate({ fingerprint256: FP, subject: cn === undefined ? {} : { CN: cn }, subjectaltname: san }, opts('san')).fspId;
        } catch (e) {
          assert.ok(e instanceof GatewayError && e.fspiopCode === '3100');
        }
        assert.equal(bound, ok ? [...ids][0] : undefined);
      }),
    );
  });

  test('the SAN reader throws nothing but GatewayError on any input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (s) => {
        try {
          identitySans(s);
        } catch (e) {
          assert.ok(e instanceof GatewayError);
        }
      }),
    );
  });

  test('the client-certificate policy, by itself (OpenSSL refuses some of these earlier, at the handshake)', () => {
    const der = (o: Parameters<TestPki['issue']>[0]) => new X509Certificate(pki.issue(o).certPem).raw;
    assert.equal(clientCertificateProblem(der({ cn: 'd', eku: ['serverAuth'] })), 'extended_key_usage');
    assert.equal(clientCertificateProblem(der({ cn: 'd', eku: ['codeSigning', 'emailProtection'] })), 'extended_key_usage');
    assert.equal(clientCertificateProblem(der({ cn: 'd', keyUsage: ['keyEncipherment'] })), 'key_usage');
    assert.equal(clientCertificateProblem(der({ cn: 'd', ca: true })), 'ca_certificate');
    assert.equal(clientCertificateProblem(new X509Certificate(pki.ca.certPem).raw), 'ca_certificate');
    assert.equal(clientCertificateProblem(der({ cn: 'd', eku: ['serverAuth', 'clientAuth'] })), undefined);
    assert.equal(clientCertificateProblem(der({ cn: 'd', eku: [], keyUsage: [] })), undefined, 'absent extensions do not restrict');
  });

  test('the client-certificate policy refuses truncated or corrupted DER instead of throwing', () => {
    const der = new X509Certificate(pki.issue({ cn: 'dfsp1' }).certPem).raw;
    assert.equal(clientCertificateProblem(der), undefined);
    assert.equal(clientCertificateProblem(undefined), 'malformed');
    fc.assert(
      fc.property(fc.nat(der.length - 1), fc.integer({ min: 0, max: 255 }), (at, byte) => {
        const copy = Buffer.from(der);
        copy[at] = byte;
        const r = clientCertificateProblem(copy);
        assert.ok(r === undefined || ['ca_certificate', 'key_usage', 'extended_key_usage', 'malformed'].includes(r));
        assert.equal(clientCertificateProblem(der.subarray(0, at)), 'malformed');
      }),
      { numRuns: 200 },
    );
  });
});
