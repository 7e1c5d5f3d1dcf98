// docs/security.md class 8: slow and idle clients. Real sockets on port 0 against every listener (inbound mTLS,
// outbound, admin), with short limits set through the environment: a TLS handshake that never comes, an
// idle connection, headers or a body trickled byte by byte, and connections over the total and
// per-address caps are all cut, and each enforcement is counted in metrics.
import assert from 'node:assert/strict';
import { type Socket, connect as tcpConnect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { addressKey } from '../../src/http/listener-limits.js';
import type { AuditEvent, AuditLog } from '../../src/logging/audit.js';
import { createTelemetry, type MetricsTelemetry } from '../../src/metrics/registry.js';
import { fspiopHeaders, startTestGateway, type TestGateway, testEnv } from '../helpers/gateway.js';
import { makeTestPki } from '../helpers/pki.js';
import { waitFor } from '../helpers/wait.js';

const LIMIT = { timeout: 15_000 };
type Listener = 'inbound' | 'outbound' | 'admin';

const metric = async (t: MetricsTelemetry, series: string): Promise<number> => {
  const line = (await t.metricsText()).split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
};
const until = async (what: string, cond: () => boolean | Promise<boolean>, ms = 4000): Promise<void> => {
  await waitFor(cond, { what, timeoutMs: ms, intervalMs: 10 });
};

/** A raw socket and what happened to it: bytes received, when it closed (ms after open). */
interface Watched {
  socket: Socket;
  opened: number;
  received: Buffer[];
  closedAfter: number | undefined;
}
function watch(socket: Socket): Watched {
  const w: Watched = { socket, opened: Date.now(), received: [], closedAfter: undefined };
  socket.on('data', (d: Buffer) => w.received.push(d));
  socket.on('error', () => {});
  socket.on('close', () => {
    w.closedAfter = Date.now() - w.opened;
  });
  return w;
}
const tcp = (port: number, localAddress = '127.0.0.1') =>
  new Promise<Watched>((resolve, reject) => {
    const s = tcpConnect({ port, host: '127.0.0.1', localAddress });
    const w = watch(s);
    s.once('connect', () => resolve(w));
    s.once('error', reject);
  });
const closed = (w: Watched, ms = 4000) => until('the server to close the socket', () => w.closedAfter !== undefined, ms);

interface Fixture {
  t: TestGateway;
  telemetry: MetricsTelemetry;
  audit: AuditEvent[];
}
async function start(env: Record<string, string>): Promise<Fixture> {
  const telemetry = createTelemetry({ processMetrics: false });
  const events: AuditEvent[] = [];
  const audit: AuditLog = {
    record: (e) => {
      events.push(e);
    },
    flush: async () => {},
    close: async () => {},
  };
  const t = await startTestGateway({ env, overrides: { telemetry, audit } });
  return { t, telemetry, audit: events };
}
const portOf = (f: Fixture, l: Listener) => f.t.gw[l].port;
const timeouts = (f: Fixture, l: Listener, kind: string) => metric(f.telemetry, `switchguard_connection_timeouts_total{listener="${l}",kind="${kind}"}`);

describe('timeouts', () => {
  let f: Fixture;
  before(async () => {
    f = await start({
      TLS_HANDSHAKE_TIMEOUT_MS: '300',
      HTTP_HEADERS_TIMEOUT_MS: '400',
      HTTP_REQUEST_TIMEOUT_MS: '800',
      HTTP_KEEPALIVE_TIMEOUT_MS: '300',
    });
  });
  after(async () => {
    await f.t.close();
  });

  const tlsTo = (servername = 'localhost') =>
    new Promise<Watched & { tls: TLSSocket }>((resolve, reject) => {
      const c = f.t.cert('dfsp1');
      const s = tlsConnect({ host: '127.0.0.1', port: portOf(f, 'inbound'), ca: f.t.pki.ca.certPem, servername, cert: c.certPem, key: c.keyPem });
      const w = watch(s);
      s.once('secureConnect', () => resolve(Object.assign(w, { tls: s })));
      s.once('error', reject);
    });

  test('inbound: a socket that never sends a ClientHello is closed at the handshake timeout, counted, neither a probe nor audited', LIMIT, async () => {
    const audited = f.audit.length;
    const w = await tcp(portOf(f, 'inbound'));
    await closed(w);
    assert.ok(w.closedAfter! >= 250, `closed after ${w.closedAfter} ms, before the timeout`);
    await until('handshake timeout counted', async () => (await timeouts(f, 'inbound', 'handshake')) === 1);
    assert.equal(await metric(f.telemetry, 'switchguard_tls_probes_total'), 0);
    assert.equal(f.audit.length, audited);
  });

  test('inbound: half a ClientHello record, then silence, is closed at the handshake timeout', LIMIT, async () => {
    const w = await tcp(portOf(f, 'inbound'));
    w.socket.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01])); // handshake record header of 512 bytes, one byte of it
    await closed(w);
    await until('handshake timeout counted', async () => (await timeouts(f, 'inbound', 'handshake')) === 2);
  });

  test('inbound: an idle connection after the handshake, before any request, is closed at the header timeout', LIMIT, async () => {
    const before = await timeouts(f, 'inbound', 'headers');
    const w = await tlsTo();
    await closed(w);
    assert.ok(w.closedAfter! >= 300, `closed after ${w.closedAfter} ms`);
    await until('headers timeout counted', async () => (await timeouts(f, 'inbound', 'headers')) === before + 1);
  });

  test('inbound: an idle keep-alive connection after a response is closed at the keep-alive timeout', LIMIT, async () => {
    const before = await timeouts(f, 'inbound', 'idle');
    const w = await tlsTo();
    const h = fspiopHeaders('parties', 'dfsp1');
    w.tls.write(
      `GET /parties/MSISDN/1 HTTP/1.1\r\nHost: localhost\r\n${Object.entries(h)
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('')}\r\n`,
    );
    await until('a response', () => Buffer.concat(w.received).includes('\r\n\r\n'));
    assert.match(Buffer.concat(w.received).toString(), /^HTTP\/1\.1 202/);
    await closed(w);
    await until('idle timeout counted', async () => (await timeouts(f, 'inbound', 'idle')) === before + 1);
  });

  test('inbound: headers trickled one byte at a time are cut at the header timeout with 408', LIMIT, async () => {
    const before = await timeouts(f, 'inbound', 'headers');
    const w = await tlsTo();
    const timer = trickle(w.socket, `GET /parties/MSISDN/1 HTTP/1.1\r\nHost: localhost\r\nX-Slow: ${'a'.repeat(200)}\r\n\r\n`, 40);
    await closed(w);
    clearInterval(timer);
    assert.ok(w.closedAfter! < 2000);
    assert.match(Buffer.concat(w.received).toString(), /^HTTP\/1\.1 408/);
    await until('headers timeout counted', async () => (await timeouts(f, 'inbound', 'headers')) === before + 1);
    assert.equal(f.t.stub.requests.filter((r) => r.headers['x-slow']).length, 0);
  });

  test('inbound: a body trickled one byte at a time is cut at the request timeout and never forwarded', LIMIT, async () => {
    const before = await timeouts(f, 'inbound', 'request');
    const forwarded = f.t.stub.requests.length;
    const w = await tlsTo();
    const h = fspiopHeaders('quotes', 'dfsp1');
    const body = JSON.stringify({ quoteId: 'x', note: 'y'.repeat(200) });
    w.tls.write(
      `POST /quotes HTTP/1.1\r\nHost: localhost\r\ncontent-length: ${body.length}\r\n${Object.entries(h)
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('')}\r\n`,
    );
    const timer = trickle(w.socket, body, 40);
    await closed(w);
    clearInterval(timer);
    assert.ok(w.closedAfter! >= 600 && w.closedAfter! < 2500, `closed after ${w.closedAfter} ms`);
    await until('request timeout counted', async () => (await timeouts(f, 'inbound', 'request')) === before + 1);
    assert.equal(f.t.stub.requests.length, forwarded);
  });

  for (const l of ['outbound', 'admin'] as const) {
    test(`${l}: a silent connection is closed at the header timeout with 408`, LIMIT, async () => {
      const before = await timeouts(f, l, 'headers');
      const w = await tcp(portOf(f, l));
      await closed(w);
      assert.ok(w.closedAfter! >= 300, `closed after ${w.closedAfter} ms`);
      assert.match(Buffer.concat(w.received).toString(), /^HTTP\/1\.1 408/);
      await until('headers timeout counted', async () => (await timeouts(f, l, 'headers')) === before + 1);
    });

    test(`${l}: headers trickled are cut at the header timeout`, LIMIT, async () => {
      const before = await timeouts(f, l, 'headers');
      const w = await tcp(portOf(f, l));
      const timer = trickle(w.socket, `GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ${'a'.repeat(200)}\r\n\r\n`, 40);
      await closed(w);
      clearInterval(timer);
      await until('headers timeout counted', async () => (await timeouts(f, l, 'headers')) === before + 1);
    });

    test(`${l}: a body trickled is cut (request timeout)`, LIMIT, async () => {
      const before = await timeouts(f, l, 'request');
      const w = await tcp(portOf(f, l));
      const h = fspiopHeaders('quotes', 'dfsp1', { 'fspiop-destination': 'dfsp2' });
      w.socket.write(
        `POST ${l === 'admin' ? '/admin/quarantine' : '/quotes'} HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-length: 300\r\n${Object.entries(h)
          .map(([k, v]) => `${k}: ${v}\r\n`)
          .join('')}\r\n`,
      );
      const timer = trickle(w.socket, 'x'.repeat(300), 40);
      await closed(w);
      clearInterval(timer);
      assert.ok(w.closedAfter! < 2500, `closed after ${w.closedAfter} ms`);
      // The admin app reads no body: it answers first, and the adapter closes a connection whose body
      // does not follow within 500 ms. The outbound app reads the body, so the request timeout cuts it.
      if (l === 'outbound') await until('request timeout counted', async () => (await timeouts(f, l, 'request')) === before + 1);
      else assert.match(Buffer.concat(w.received).toString(), /^HTTP\/1\.1 404/);
    });

    test(`${l}: an idle keep-alive connection after a response is closed at the keep-alive timeout`, LIMIT, async () => {
      const before = await timeouts(f, l, 'idle');
      const w = await tcp(portOf(f, l));
      w.socket.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      await until('a response', () => Buffer.concat(w.received).includes('\r\n\r\n'));
      await closed(w);
      await until('idle timeout counted', async () => (await timeouts(f, l, 'idle')) === before + 1);
    });
  }
});

/** Writes `text` one byte every `ms` until done or the socket closes. */
function trickle(socket: Socket, text: string, ms: number): NodeJS.Timeout {
  let i = 0;
  const timer = setInterval(() => {
    if (i >= text.length || socket.destroyed) {
      clearInterval(timer);
      return;
    }
    socket.write(text[i++]!);
  }, ms);
  return timer;
}

describe('connection caps', () => {
  let f: Fixture;
  before(async () => {
    f = await start({ MAX_CONNECTIONS: '3', MAX_CONNECTIONS_PER_ADDRESS: '2' });
  });
  after(async () => {
    await f.t.close();
  });

  const rejected = (l: Listener, reason: string) => metric(f.telemetry, `switchguard_connections_rejected_total{listener="${l}",reason="${reason}"}`);

  for (const l of ['inbound', 'outbound', 'admin'] as const) {
    test(`${l}: a third connection from one address is closed at once; other addresses still get in until the total cap`, LIMIT, async () => {
      const probes = await metric(f.telemetry, 'switchguard_tls_probes_total');
      const held = [await tcp(portOf(f, l), '127.0.0.1'), await tcp(portOf(f, l), '127.0.0.1')];
      const third = await tcp(portOf(f, l), '127.0.0.1');
      await closed(third, 2000);
      await until('per-address rejection counted', async () => (await rejected(l, 'max_per_address')) === 1);
      assert.equal(
        held.some((w) => w.closedAfter !== undefined),
        false,
        'the connections within the cap stay open',
      );

      const other = await tcp(portOf(f, l), '127.0.0.2'); // the third connection in total: allowed
      const fourth = await tcp(portOf(f, l), '127.0.0.3'); // over the total cap
      await closed(fourth, 2000);
      await until('total-cap rejection counted', async () => (await rejected(l, 'max_connections')) === 1);
      assert.equal(other.closedAfter, undefined);
      if (l === 'inbound') assert.equal(await metric(f.telemetry, 'switchguard_tls_probes_total'), probes, 'a refused connection is not a probe');

      for (const w of [...held, other]) w.socket.destroy();
      // Once they are gone, the same address gets in again.
      await until('a fresh connection is served', async () => {
        const w = await tcp(portOf(f, l), '127.0.0.1');
        await new Promise((r) => setTimeout(r, 50)); // a refused connection is closed at once: give it the chance
        const open = w.closedAfter === undefined;
        w.socket.destroy();
        return open;
      });
    });
  }
});

describe('configuration', () => {
  test('defaults are production-sized, and a header timeout above the request timeout is refused', () => {
    const pki = makeTestPki();
    try {
      const c = loadConfig(testEnv(pki, 'http://127.0.0.1:1'));
      assert.deepEqual(
        [c.tlsHandshakeTimeoutMs, c.httpHeadersTimeoutMs, c.httpRequestTimeoutMs, c.httpKeepAliveTimeoutMs, c.maxConnections, c.maxConnectionsPerAddress],
        [10000, 10000, 30000, 30000, 10000, 500],
      );
      assert.throws(
        () => loadConfig(testEnv(pki, 'http://127.0.0.1:1', { HTTP_HEADERS_TIMEOUT_MS: '5000', HTTP_REQUEST_TIMEOUT_MS: '1000' })),
        (e: unknown) => e instanceof ConfigError && /HTTP_HEADERS_TIMEOUT_MS/.test(e.message),
      );
      assert.throws(() => loadConfig(testEnv(pki, 'http://127.0.0.1:1', { MAX_CONNECTIONS_PER_ADDRESS: '0' })), ConfigError);
    } finally {
      pki.cleanup();
    }
  });

  test('per-address keys: IPv4 and IPv4-mapped IPv6 alike, IPv6 by /64', () => {
    assert.equal(addressKey('10.1.2.3'), '10.1.2.3');
    assert.equal(addressKey('::ffff:10.1.2.3'), '10.1.2.3');
    assert.equal(addressKey('2001:db8:1:2:aaaa::1'), addressKey('2001:db8:1:2:bbbb:cccc:dddd:eeee'));
    assert.notEqual(addressKey('2001:db8:1:2::1'), addressKey('2001:db8:1:3::1'));
    assert.equal(addressKey('2001:DB8:0001:0002::1%eth0'), '2001:db8:1:2::/64');
    assert.equal(addressKey('::1'), '0:0:0:0::/64');
    assert.equal(addressKey(undefined), 'unknown');
  });
});
