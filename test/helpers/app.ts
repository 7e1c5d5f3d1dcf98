// The real pipelines in-process: buildInboundApp / buildOutboundApp with the stages src/stages.ts chooses
// for a configuration, driven by app.request() with a node IncomingMessage as the environment (the way
// @hono/node-server hands a request to the app), so every stage reads the same request source it reads
// behind a socket. The upstream is an in-memory recorder. No sockets, no Redis, no files beyond keys.
import { X509Certificate } from 'node:crypto';
import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { Quarantine } from '../../src/admin/quarantine.js';
import { buildInboundApp, buildOutboundApp, type Stages } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import type { GatewayMiddleware } from '../../src/http/context.js';
import type { RequestLogger } from '../../src/http/stages.js';
import type { AuditLog } from '../../src/logging/audit.js';
import type { UpstreamRequest, UpstreamResponse } from '../../src/proxy/upstream.js';
import { openStages } from '../../src/stages.js';
import { createMemoryStore } from '../../src/store/memory.js';
import type { Store } from '../../src/store/types.js';
import { NOOP_TELEMETRY, type Telemetry } from '../../src/telemetry/types.js';
import { Closers } from '../../src/util/closers.js';

export interface RecordedUpstream {
  readonly requests: (UpstreamRequest & { origin: string })[];
  /** How the upstream answers (default 202, empty body). */
  answer: (r: UpstreamRequest) => UpstreamResponse;
}

export interface InProcessApp {
  readonly config: Config;
  readonly store: Store;
  readonly upstream: RecordedUpstream;
  /** Log records the pipeline wrote (the one line per request decision). */
  readonly logs: Record<string, unknown>[];
  /**
   * One request through the pipeline. `peer`: the client certificate's PEM (inbound with mTLS; undefined
   * means no verified certificate). The path is used byte for byte as the request target.
   */
  request(
    method: string,
    path: string,
    o?: { headers?: Record<string, string>; body?: string | Buffer; peerCertPem?: string; fspiopDefaults?: boolean },
  ): Promise<Response>;
  close(): Promise<void>;
}

const silentLogger = (logs: Record<string, unknown>[]): RequestLogger => {
  const push = (o: object) => {
    logs.push(o as Record<string, unknown>);
  };
  return { info: push, warn: push, error: push, debug: () => {} } as unknown as RequestLogger;
};

/**
 * The FSPIOP headers a request needs to pass the header checks, where the test does not set them: Accept and
 * Content-Type of the route's resource (version 1.1), a current Date, and FSPIOP-Destination outbound.
 */
function withFspiopDefaults(method: string, path: string, given: Record<string, string>, listener: 'inbound' | 'outbound'): Record<string, string> {
  const h: Record<string, string> = {};
  for (const [k, v] of Object.entries(given)) h[k.toLowerCase()] = v;
  const resource = /^\/([^/?]+)/.exec(path)?.[1] ?? 'transfers';
  const media = `application/vnd.interoperability.${resource}+json;version=1.1`;
  h.accept ??= media;
  if (method === 'POST' || method === 'PUT' || method === 'PATCH') h['content-type'] ??= media;
  h.date ??= new Date().toUTCString();
  if (listener === 'outbound') h['fspiop-destination'] ??= 'peerfsp';
  return h;
}

/** node's view of a client certificate (tls.TLSSocket#getPeerCertificate) built from a real certificate. */
function peerCertificateOf(pem: string) {
  const x = new X509Certificate(pem);
  const fields = (dn: string) => Object.fromEntries(dn.split('\n').map((l) => l.split('=') as [string, string]));
  return {
    subject: fields(x.subject),
    issuer: fields(x.issuer),
    subjectaltname: x.subjectAltName,
    fingerprint256: x.fingerprint256,
    valid_to: x.validTo,
    valid_from: x.validFrom,
    raw: x.raw,
  };
}

/** A node IncomingMessage carrying the request, on a socket that looks like an authorised mTLS one when a certificate is given. */
function incomingOf(method: string, path: string, headers: Record<string, string>, body: Buffer, peerCertPem: string | undefined): IncomingMessage {
  const socket = new Socket();
  Object.defineProperty(socket, 'remoteAddress', { value: '127.0.0.1' });
  Object.defineProperty(socket, 'localPort', { value: 8443 });
  if (peerCertPem !== undefined) {
    const cert = peerCertificateOf(peerCertPem);
    Object.assign(socket, { authorized: true, encrypted: true, getPeerCertificate: () => cert });
  }
  const req = new IncomingMessage(socket);
  req.method = method;
  req.url = path;
  req.headers = Object.fromEntries(
    Object.entries({ host: 'localhost', ...headers, ...(body.length ? { 'content-length': String(body.length) } : {}) }).map(([k, v]) => [k.toLowerCase(), v]),
  );
  if (body.length) req.push(body);
  req.push(null);
  return req;
}

/**
 * Builds the pipeline of one listener for a configuration (environment variables as for the gateway; the
 * development profile unless SWITCHGUARD_PROFILE says otherwise; JWS, ILP and replay protection off unless turned on), with the stages of src/stages.ts, an
 * in-memory store (or the one given) and stage overrides.
 */
export interface MakeAppOptions {
  /** Environment variables as for the gateway, or an already loaded configuration. */
  readonly env?: Record<string, string>;
  readonly config?: Config;
  readonly listener?: 'inbound' | 'outbound';
  readonly store?: Store;
  readonly telemetry?: Telemetry;
  readonly audit?: AuditLog;
  readonly quarantine?: Quarantine;
  /** Clock of the ILP stages (epoch ms). */
  readonly now?: () => number;
  readonly stages?: Partial<Stages>;
}

export async function makeApp(o: MakeAppOptions = {}): Promise<InProcessApp> {
  const config =
    o.config ??
    loadConfig(
      {
        SWITCHGUARD_PROFILE: 'development',
        LOG_LEVEL: 'silent',
        AUDIT_LOG: 'off',
        REPLAY_PROTECTION: 'off',
        VALIDATE_INBOUND_JWS: 'false',
        JWS_SIGN: 'false',
        ILP_CHECK: 'false',
        ...o.env,
      },
      { cwd: process.cwd() },
    );
  const store = o.store ?? createMemoryStore({ maxEntries: 100_000 });
  const telemetry = o.telemetry ?? NOOP_TELEMETRY;
  const audit: AuditLog = o.audit ?? { record() {}, flush: async () => {}, close: async () => {} };
  const closers = new Closers();
  const quarantine = o.quarantine ?? new Quarantine({ store });
  const pass: GatewayMiddleware = async (_c, next) => {
    await next();
  };
  const logs: Record<string, unknown>[] = [];
  const logger = silentLogger(logs);
  const { stages } = await openStages(config, {
    logger,
    store,
    telemetry,
    keyTelemetry: telemetry,
    audit,
    quarantine,
    traffic: { inbound: pass, outbound: pass },
    closers,
    ...(o.now ? { now: o.now } : {}),
  });
  const upstream: RecordedUpstream = { requests: [], answer: () => ({ status: 202, headers: {}, body: Buffer.alloc(0) }) };
  const upstreams = {
    async send(origin: string, r: UpstreamRequest) {
      upstream.requests.push({ ...r, origin });
      return upstream.answer(r);
    },
  };
  const deps = { config, telemetry, logger, audit, stages: { ...stages, ...o.stages }, upstreams };
  const app =
    o.listener === 'outbound'
      ? buildOutboundApp({ ...deps, peers: { resolve: () => ({ endpoint: new URL('http://peer.test') }), has: () => false } as never })
      : buildInboundApp({
          ...deps,
          // The configured upstreams (INBOUND_UPSTREAM_ROUTES and INBOUND_UPSTREAM_URL); the simulator's place is taken by http://upstream.test.
          inboundUpstreams: config.upstream.targets.map((t) => ({
            name: t.name,
            resources: t.resources,
            url: new URL(t.kind === 'url' ? t.url : 'http://upstream.test'),
          })),
          peerIdentity: { from: config.peerIdentityFrom, map: () => undefined },
        });
  return {
    config,
    store,
    upstream,
    logs,
    async request(method, path, r = {}) {
      const body = r.body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(r.body) ? r.body : Buffer.from(r.body);
      const headers = r.fspiopDefaults === false ? { ...r.headers } : withFspiopDefaults(method, path, r.headers ?? {}, o.listener ?? 'inbound');
      const incoming = incomingOf(method, path, headers, body, r.peerCertPem);
      const init: RequestInit = { method, headers, ...(body.length && method !== 'GET' && method !== 'HEAD' ? { body } : {}) };
      return app.request(`http://localhost${path.startsWith('/') ? '' : '/'}${path}`, init, { incoming, outgoing: undefined } as never);
    },
    async close() {
      quarantine.close();
      await closers.closeAll(() => {});
      await store.close();
    },
  };
}
