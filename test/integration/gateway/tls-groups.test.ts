// TLS_GROUPS on every TLS endpoint of a running gateway, and the negotiated group in
// switchguard_tls_handshakes_total{endpoint,group}. Branches on feature detection (runtimeSupportsGroups): where the
// runtime's OpenSSL has X25519MLKEM768 (Node 24) a hybrid-capable client negotiates it; where it does not (Node 20)
// the same tests assert the classic fallback. Classic-only clients and servers connect on both.
import assert from 'node:assert/strict';
import { renameSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer, type Server as HttpsServer, request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { connect, type TLSSocket } from 'node:tls';
import { createTelemetry, type MetricsTelemetry } from '../../../src/metrics/registry.js';
import { issueCert } from '../../../src/pki/forge-pki.js';
import { HYBRID, runtimeSupportsGroups } from '../../../src/tls/groups.js';
import { serverNegotiatedGroup } from '../../../src/tls/negotiated-group.js';
import { fspiopHeaders, send, startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import { makeTestPki, type TestPki } from '../../helpers/pki.js';

const hybrid = runtimeSupportsGroups(HYBRID);
/** The group a hybrid-capable client gets from the default list: the hybrid where the runtime has it. */
const bestGroup = hybrid ? HYBRID : 'X25519';

const handshakes = async (t: MetricsTelemetry) =>
  Object.fromEntries(
    (await t.metricsText())
      .split('\n')
      .filter((l) => l.startsWith('switchguard_tls_handshakes_total{'))
      .map((l) => {
        const m = /\{endpoint="(\w+)",group="([^"]+)"\} (\d+)$/.exec(l)!;
        return [`${m[1]} ${m[2]}`, Number(m[3])];
      }),
  );

/** One request to the inbound listener on a fresh connection offering `ecdhCurve`: status and the client's view of the key exchange. */
function inboundRequest(t: TestGateway, ecdhCurve: string | undefined): Promise<{ status: number; info: { type?: string; name?: string } }> {
  const c = t.cert('dfsp-a');
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port: t.gw.inbound.port,
        path: '/parties/MSISDN/123',
        headers: fspiopHeaders('parties', 'dfsp-a'),
        ca: t.pki.ca.certPem,
        cert: c.certPem,
        key: c.keyPem,
        servername: 'localhost',
        agent: false,
        ...(ecdhCurve ? { ecdhCurve } : {}),
      },
      (res) => {
        const info = (res.socket as TLSSocket).getEphemeralKeyInfo() as { type?: string; name?: string };
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode!, info: { type: info.type, name: info.name } }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/**
 * Whether a bare handshake offering only `ecdhCurve` to the inbound listener succeeds. The client ends its side and
 * waits for the server to close: in TLS 1.3 the server's handshake (and its count) ends after the client's.
 */
const handshakeOk = (t: TestGateway, ecdhCurve: string) =>
  new Promise<boolean>((resolve) => {
    const c = t.cert('dfsp-a');
    let ok = false;
    const s = connect(
      { host: '127.0.0.1', port: t.gw.inbound.port, ca: t.pki.ca.certPem, servername: 'localhost', cert: c.certPem, key: c.keyPem, ecdhCurve },
      () => {
        ok = true;
        s.end();
      },
    );
    s.on('error', () => {});
    s.on('close', () => resolve(ok));
    s.resume();
  });

describe('default TLS_GROUPS on every endpoint', () => {
  let pki: TestPki;
  let t: TestGateway;
  let telemetry: MetricsTelemetry;
  let peer: HttpsServer;
  let upstream: HttpsServer;
  const peerGroups: string[] = [];
  const upstreamGroups: string[] = [];

  /** An https server from the test CA answering 202, recording each connection's negotiated group. */
  const tlsServer = async (o: { ecdhCurve?: string; requestCert?: boolean }, seen: string[]) => {
    const cert = issueCert(pki.ca, { cn: 'localhost', usage: 'server', dns: ['localhost'], ips: ['127.0.0.1'] });
    const s = createHttpsServer(
      { cert: cert.certPem, key: cert.keyPem, ca: pki.ca.certPem, requestCert: o.requestCert ?? false, rejectUnauthorized: o.requestCert ?? false, ...o },
      (req, res) => {
        req.resume();
        req.on('end', () => {
          res.writeHead(202);
          res.end();
        });
      },
    );
    s.on('secureConnection', (sock: TLSSocket) => seen.push(serverNegotiatedGroup(sock)));
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    return s;
  };

  before(async () => {
    pki = makeTestPki();
    // The peer takes classic P-384 only: the gateway's list still reaches it. The upstream keeps Node's own default
    // groups (OpenSSL 3.5's include the hybrid): the gateway's hybrid-first list gets the hybrid where both have it.
    peer = await tlsServer({ ecdhCurve: 'P-384', requestCert: true }, peerGroups);
    upstream = await tlsServer({}, upstreamGroups);
    const client = pki.client('hub');
    telemetry = createTelemetry({ processMetrics: false });
    t = await startTestGateway({
      pki,
      overrides: { telemetry },
      env: {
        INBOUND_UPSTREAM_URL: `https://localhost:${(upstream.address() as AddressInfo).port}`,
        INBOUND_UPSTREAM_CA_CERT_PATH: pki.caPath,
        OUT_CLIENT_CERT_PATH: pki.write('out-client.pem', client.certPem),
        OUT_CLIENT_KEY_PATH: pki.write('out-client.key', client.keyPem),
        OUT_CA_CERT_PATH: pki.caPath,
        PEERS_PATH: pki.write('peers.yaml', `peer-b: https://localhost:${(peer.address() as AddressInfo).port}\n`),
      },
    });
  });
  after(async () => {
    await t.close();
    for (const s of [peer, upstream]) {
      s.closeAllConnections();
      s.close();
    }
    pki.cleanup();
  });

  test('inbound: a hybrid-capable client negotiates X25519MLKEM768 where the runtime has it (X25519 where not); classic-only clients connect', async () => {
    assert.equal(t.config.tlsGroups.ecdhCurve, hybrid ? '*X25519MLKEM768:*X25519:P-256:P-384' : 'X25519:P-256:P-384');
    const before = await handshakes(telemetry);
    const best = await inboundRequest(t, hybrid ? `${HYBRID}:X25519` : undefined);
    assert.equal(best.status, 202);
    assert.deepEqual(best.info, hybrid ? { type: 'TLSGroup', name: HYBRID } : { type: 'ECDH', name: 'X25519' });
    const x25519 = await inboundRequest(t, 'X25519');
    assert.deepEqual([x25519.status, x25519.info], [202, { type: 'ECDH', name: 'X25519' }]);
    const p256 = await inboundRequest(t, 'P-256');
    assert.deepEqual([p256.status, p256.info], [202, { type: 'ECDH', name: 'prime256v1' }]);
    assert.equal(await handshakeOk(t, 'X448'), false, 'a group outside the list is not accepted');
    const after = await handshakes(telemetry);
    const added = (k: string) => (after[k] ?? 0) - (before[k] ?? 0);
    assert.equal(added(`inbound ${bestGroup}`), hybrid ? 1 : 2);
    assert.equal(added('inbound P-256'), 1);
    if (hybrid) assert.equal(added('inbound X25519'), 1);
  });

  test('outbound (mTLS to a peer taking P-384 only) and upstream (https, the runtime default groups): connected, groups counted', async () => {
    const out = await send(t.gw.outbound.port, {
      tls: false,
      method: 'PUT',
      path: '/quotes/q1',
      headers: { ...fspiopHeaders('quotes', 'hub'), 'fspiop-destination': 'peer-b' },
      body: '{}',
      ca: '',
    });
    assert.equal(out.status, 202);
    assert.deepEqual(peerGroups, ['P-384']);
    const inb = await inboundRequest(t, undefined);
    assert.equal(inb.status, 202);
    assert.deepEqual(upstreamGroups, [bestGroup]);
    const m = await handshakes(telemetry);
    assert.equal(m['outbound P-384'], 1);
    assert.equal(m[`upstream ${bestGroup}`], 1);
  });
});

describe('configured TLS_GROUPS', () => {
  let t: TestGateway;
  let telemetry: MetricsTelemetry;
  before(async () => {
    telemetry = createTelemetry({ processMetrics: false });
    t = await startTestGateway({ env: { TLS_GROUPS: 'P-384' }, overrides: { telemetry } });
  });
  after(() => t.close());

  test('the inbound listener takes only the configured groups, and keeps them across a certificate reload', async () => {
    assert.equal(await handshakeOk(t, 'X25519'), false);
    assert.equal(await handshakeOk(t, 'P-384'), true);
    // a new server certificate: setSecureContext() builds the context anew, the groups must come with it
    const next = issueCert(t.pki.ca, { cn: 'localhost', usage: 'server', dns: ['localhost'], ips: ['127.0.0.1'] });
    for (const [path, pem] of [
      [t.pki.serverKeyPath, next.keyPem],
      [t.pki.serverCertPath, next.certPem],
    ] as const) {
      writeFileSync(`${path}.tmp`, pem);
      renameSync(`${path}.tmp`, path);
    }
    assert.equal(t.gw.tls.reload(), 'ok');
    assert.equal(t.gw.tls.current.serverCert.fingerprint256, new (await import('node:crypto')).X509Certificate(next.certPem).fingerprint256);
    assert.equal(await handshakeOk(t, 'X25519'), false, 'X25519 is still refused after the reload');
    assert.equal(await handshakeOk(t, 'P-384'), true);
    const m = await handshakes(telemetry);
    assert.equal(m['inbound P-384'], 2);
    assert.equal(m['inbound X25519'], undefined);
  });
});
