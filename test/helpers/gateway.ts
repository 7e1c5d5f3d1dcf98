// Starts a real gateway on port 0 with a per-run PKI and a recording stub upstream, plus a small mTLS
// client. Used by the core integration tests and by other capabilities' end-to-end tests.
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { Agent, request as httpsRequest } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { type GatewayOverrides, type RunningGateway, startGateway } from '../../src/gateway.js';
import type { Issued } from '../../src/pki/forge-pki.js';
import { makeTestPki, type TestPki } from './pki.js';

export interface Recorded {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
  /** performance.now() when the request had been read whole. */
  at: number;
}

export interface Stub {
  readonly url: string;
  readonly requests: Recorded[];
  /** Replace the handler's behaviour: status/body, 'hang' (never answer) or 'reset' (read the request, then drop the connection). */
  behave(b: { status?: number; body?: string; headers?: Record<string, string>; delayMs?: number } | 'hang' | 'reset'): void;
  /** Stops listening and drops every connection: new connections are refused until `listen()`. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  listen(): Promise<void>;
  close(): Promise<void>;
}

export async function startStub(): Promise<Stub> {
  const requests: Recorded[] = [];
  let behaviour: Parameters<Stub['behave']>[0] = { status: 202 };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks), at: performance.now() });
      const b = behaviour;
      if (b === 'hang') return;
      if (b === 'reset') {
        req.socket.destroy();
        return;
      }
      const send = () => {
        res.writeHead(b.status ?? 202, b.headers ?? {});
        res.end(b.body ?? '');
      };
      if (b.delayMs) setTimeout(send, b.delayMs);
      else send();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const stop = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    behave(b) {
      behaviour = b;
    },
    stop,
    listen: () => new Promise<void>((r) => server.listen(port, '127.0.0.1', r)),
    close: () => (server.listening ? stop() : Promise.resolve()),
  };
}

export interface TestGateway {
  readonly gw: RunningGateway;
  readonly pki: TestPki;
  readonly stub: Stub;
  readonly config: Config;
  /** Client certificates by FSP id (created on first use). */
  cert(fspId: string): Issued;
  close(): Promise<void>;
}

/** Environment for a production-profile gateway on port 0 with the test PKI (JWS/ILP off unless overridden). */
export function testEnv(pki: TestPki, upstream: string, env: Record<string, string> = {}): Record<string, string> {
  return {
    SWITCHGUARD_PROFILE: 'production',
    INBOUND_LISTEN_HOST: '127.0.0.1',
    INBOUND_LISTEN_PORT: '0',
    OUTBOUND_LISTEN_PORT: '0',
    ADMIN_LISTEN_PORT: '0',
    IN_SERVER_CERT_PATH: pki.serverCertPath,
    IN_SERVER_KEY_PATH: pki.serverKeyPath,
    IN_CA_CERT_PATH: pki.caPath,
    INBOUND_UPSTREAM_URL: upstream,
    VALIDATE_INBOUND_JWS: 'false',
    JWS_SIGN: 'false',
    ILP_CHECK: 'false',
    LOG_LEVEL: 'silent',
    AUDIT_LOG: 'off',
    TLS_RELOAD_INTERVAL_MS: '200',
    SHUTDOWN_TIMEOUT_MS: '2000',
    ...env,
  };
}

export async function startTestGateway(options: { env?: Record<string, string>; overrides?: GatewayOverrides; pki?: TestPki } = {}): Promise<TestGateway> {
  const pki = options.pki ?? makeTestPki();
  const stub = await startStub();
  const config = loadConfig(testEnv(pki, stub.url, options.env));
  const gw = await startGateway(config, options.overrides);
  const certs = new Map<string, Issued>();
  return {
    gw,
    pki,
    stub,
    config,
    cert(id) {
      let c = certs.get(id);
      if (!c) {
        c = pki.client(id);
        certs.set(id, c);
      }
      return c;
    },
    async close() {
      await gw.close(500);
      await stub.close();
      if (!options.pki) pki.cleanup();
    },
  };
}

export interface Reply {
  status: number;
  headers: IncomingMessage['headers'];
  body: Buffer;
  json(): any;
}

/** One HTTPS request with an optional client certificate (fresh connection unless an agent is given). */
export function send(
  port: number,
  o: { method?: string; path: string; headers?: Record<string, string>; body?: string | Buffer; cert?: Issued; ca: string; agent?: Agent; tls?: boolean },
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const body = o.body === undefined ? undefined : Buffer.isBuffer(o.body) ? o.body : Buffer.from(o.body);
    const headers: Record<string, string> = { ...(body ? { 'content-length': String(body.length) } : {}) };
    for (const [k, v] of Object.entries(o.headers ?? {})) if (v !== undefined) headers[k] = v;
    const common = { host: '127.0.0.1', port, method: o.method ?? 'GET', path: o.path, headers };
    const req =
      o.tls === false
        ? httpRequest(common)
        : httpsRequest({
            ...common,
            ca: o.ca,
            servername: 'localhost',
            ...(o.agent ? { agent: o.agent } : { agent: false }),
            ...(o.cert ? { cert: o.cert.certPem, key: o.cert.keyPem } : {}),
          });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const b = Buffer.concat(chunks);
        resolve({ status: res.statusCode!, headers: res.headers, body: b, json: () => JSON.parse(b.toString('utf8')) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export const httpDate = (t = Date.now()) => new Date(t).toUTCString();

/** FSPIOP headers for a resource (version 1.1). */
export function fspiopHeaders(resource: string, source: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    accept: `application/vnd.interoperability.${resource}+json;version=1.1`,
    'content-type': `application/vnd.interoperability.${resource}+json;version=1.1`,
    date: httpDate(),
    'fspiop-source': source,
    ...extra,
  };
}

/**
 * The status of one `GET /parties/MSISDN/1` sent as `source` with `cert` to an inbound listener (on `agent`'s
 * connection when given), or 0 when the handshake or the connection failed: for tests that watch a certificate
 * being admitted or refused.
 */
export function partiesStatus(port: number, ca: string, cert: Issued, source: string, agent?: Agent): Promise<number> {
  return send(port, { path: '/parties/MSISDN/1', headers: fspiopHeaders('parties', source), cert, ca, ...(agent ? { agent } : {}) }).then(
    (r) => r.status,
    () => 0,
  );
}

/**
 * Runs a TLS handshake with `cert` over `raw`, a TCP connection opened earlier, then sends one
 * `GET /parties/MSISDN/1` as `source`: resolves with the status line the gateway answered, or 'closed' when it
 * closed the connection without an answer (within 2 s of the handshake). For tests of connections accepted
 * before a reload and shaken hands after it.
 */
export function lateHandshake(raw: Socket, ca: string, cert: Issued, source: string): Promise<string> {
  return new Promise<string>((resolve) => {
    const s = tlsConnect({ socket: raw, servername: 'localhost', ca, cert: cert.certPem, key: cert.keyPem });
    let answer = '';
    s.on('data', (d: Buffer) => {
      answer += d.toString();
    });
    s.once('error', () => {});
    s.once('close', () => resolve(answer.split('\r\n')[0] || 'closed'));
    s.once('secureConnect', () => {
      const h = fspiopHeaders('parties', source);
      s.write(
        `GET /parties/MSISDN/1 HTTP/1.1\r\nhost: localhost\r\n${Object.entries(h)
          .map(([k, v]) => `${k}: ${v}`)
          .join('\r\n')}\r\n\r\n`,
      );
      setTimeout(() => s.destroy(), 2000);
    });
  });
}

/** A keep-alive agent holding one connection with `cert`, for tests that watch an open connection being closed. */
export function keepAliveAgent(cert: Issued, ca: string): Agent {
  return new Agent({ keepAlive: true, maxSockets: 1, cert: cert.certPem, key: cert.keyPem, ca, servername: 'localhost' });
}

/**
 * One `GET /parties/MSISDN/1` as `source` on a fresh TLS connection to `port` presenting `certPem` (leaf first, then any
 * chain) and `keyPem`, resuming `session` when given: the status line ('closed' when the gateway answered nothing),
 * the head and body, the session ticket the server handed over, and whether the session was resumed.
 */
export function tlsGet(o: {
  port: number;
  ca: string;
  certPem: string;
  keyPem: string;
  source: string;
  session?: Buffer | undefined;
}): Promise<{ line: string; head: string; body: string; ticket?: Buffer; reused: boolean }> {
  return new Promise((resolve) => {
    let ticket: Buffer | undefined;
    let answer = '';
    let reused = false;
    const parts = () => {
      const end = answer.indexOf('\r\n\r\n');
      return end < 0 ? { head: answer, body: '' } : { head: answer.slice(0, end), body: answer.slice(end + 4) };
    };
    const s = tlsConnect({
      host: '127.0.0.1',
      port: o.port,
      servername: 'localhost',
      ca: o.ca,
      cert: o.certPem,
      key: o.keyPem,
      ...(o.session ? { session: o.session } : {}),
    });
    s.on('session', (b: Buffer) => {
      ticket = b;
    });
    s.on('data', (d: Buffer) => {
      answer += d.toString();
      const { head, body } = parts();
      const length = /content-length: (\d+)/i.exec(head);
      if (length && body.length >= Number(length[1])) s.end();
    });
    s.once('error', () => {});
    s.once('close', () => resolve({ line: answer.split('\r\n')[0] || 'closed', ...parts(), ...(ticket ? { ticket } : {}), reused }));
    s.once('secureConnect', () => {
      reused = s.isSessionReused();
      const h = Object.entries(fspiopHeaders('parties', o.source)).map(([k, v]) => `${k}: ${v}`);
      s.write(`GET /parties/MSISDN/1 HTTP/1.1\r\nhost: localhost\r\n${h.join('\r\n')}\r\n\r\n`);
      setTimeout(() => s.destroy(), 3000);
    });
  });
}
