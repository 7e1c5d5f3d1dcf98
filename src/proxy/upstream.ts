// Keep-alive connection pools to upstream origins (the inbound upstream, and each peer on the outbound
// side), with connect/headers/body timeouts, optional TLS client certificates, and undici's failures
// mapped onto the gateway's errors: refused/reset/unreachable → 1001/503, slow → 2004.

import { TLSSocket } from 'node:tls';
import type { Dispatcher } from 'undici';
import { buildConnector, Pool } from 'undici';
import { GatewayError } from '../errors.js';
import type { Telemetry } from '../telemetry/types.js';
import { clientNegotiatedGroup } from '../tls/negotiated-group.js';

export interface UpstreamOptions {
  readonly connections: number;
  readonly connectTimeoutMs: number;
  readonly headersTimeoutMs: number;
  readonly bodyTimeoutMs: number;
  readonly maxResponseBytes: number;
  /** TLS settings for https origins: trust anchors, the client certificate presented, the groups offered (TLS_GROUPS). */
  readonly tls?: () => { ca?: Buffer; cert?: Buffer; key?: Buffer; ecdhCurve?: string };
  /** The endpoint label of this client's TLS handshakes in metrics (Telemetry.tlsHandshake). */
  readonly endpoint: 'outbound' | 'upstream';
}

export interface UpstreamRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string | string[]>;
  readonly body: Buffer;
}

export interface UpstreamResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_DESTROYED',
]);
const TIMEOUT = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);
/**
 * Errors of a connection attempt (refused, unknown host, connect timeout, a TLS handshake that failed), as the
 * pools' connector reported them (Upstreams.#connector). undici hands that same error to the requests queued
 * for the connection, none of which was written (undici/lib/dispatcher/client.js handleConnectError: only
 * with no request running). A reset, a timeout or any error of an open connection leave it unknown whether
 * the upstream got the request, and are never in this set.
 */
const CONNECT_FAILED = new WeakSet<object>();

/**
 * Maps a transport failure to the gateway error family. An error whose request certainly never reached the
 * upstream (CONNECT_FAILED) carries `context.notSent: true`, so that what a stage consumed for it can be given
 * back (src/ilp/middleware.ts, a fulfilment's hub record).
 */
function upstreamError(e: unknown): GatewayError {
  if (e instanceof GatewayError) return e;
  const code = (e as { code?: string }).code ?? '';
  if (TIMEOUT.has(code)) return new GatewayError('GW_UPSTREAM_TIMEOUT', { cause: e });
  const notSent = typeof e === 'object' && e !== null && CONNECT_FAILED.has(e) ? { notSent: true } : undefined;
  if (UNREACHABLE.has(code) || code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || code.startsWith('CERT_') || code.includes('CERT')) {
    return new GatewayError('GW_UPSTREAM_UNREACHABLE', { cause: e, ...(notSent ? { context: notSent } : {}) });
  }
  return new GatewayError('GW_UPSTREAM_UNREACHABLE', { cause: e, context: { upstreamErrorCode: code || undefined, ...notSent } });
}

/** One origin's load as sampled for metrics (Upstreams.sample). */
export interface PoolLoad {
  /** The metric label of the origin: the target its first request named ('upstream', 'upstream:<resource>', a peer id). */
  readonly target: string;
  /** Requests sent and not yet answered, now. */
  readonly inFlight: number;
  /** The most in flight at once since the previous sample. */
  readonly peak: number;
  /** Open connections of the pool. */
  readonly connections: number;
  /** The pool's bound (UPSTREAM_CONNECTIONS): beyond it requests wait in the gateway for a free connection. */
  readonly limit: number;
}

export class Upstreams {
  readonly #pools = new Map<string, Pool>();
  /** Requests in flight per origin, and their peak since the last sample: two integer updates per request. */
  readonly #load = new Map<string, { target: string; n: number; peak: number }>();

  constructor(
    private readonly options: UpstreamOptions,
    private readonly telemetry: Telemetry,
  ) {}

  #pool(origin: string): Pool {
    let p = this.#pools.get(origin);
    if (!p) {
      const tls = origin.startsWith('https:') ? (this.options.tls?.() ?? {}) : undefined;
      const connect = buildConnector({ timeout: this.options.connectTimeoutMs, ...(tls ?? {}) });
      p = new Pool(origin, {
        connections: this.options.connections,
        pipelining: 1,
        keepAliveTimeout: 30_000,
        headersTimeout: this.options.headersTimeoutMs,
        bodyTimeout: this.options.bodyTimeoutMs,
        connect: this.#connector(connect, tls !== undefined),
      });
      this.#pools.set(origin, p);
    }
    return p;
  }

  /**
   * undici's connector, marking each failed connection attempt's error (CONNECT_FAILED) and reporting each new
   * TLS connection's key-exchange group (it calls back after 'secureConnect').
   */
  #connector(connect: buildConnector.connector, tls: boolean): buildConnector.connector {
    const endpoint = this.options.endpoint;
    return (opts, callback) =>
      connect(opts, (...result) => {
        const [err, socket] = result;
        if (err) CONNECT_FAILED.add(err);
        else if (tls && socket instanceof TLSSocket) this.telemetry.tlsHandshake({ endpoint, group: clientNegotiatedGroup(socket) });
        callback(...result);
      });
  }

  /** Drops pools (e.g. after a client-certificate reload) so new connections use new settings. */
  async reset(): Promise<void> {
    const old = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.allSettled(old.map((p) => p.close()));
  }

  /**
   * Sends one request and buffers the response (bounded by maxResponseBytes).
   * @param target bounded label for metrics ('upstream' or a peer id)
   */
  async send(origin: string, req: UpstreamRequest, target: string): Promise<UpstreamResponse> {
    const t0 = performance.now();
    let load = this.#load.get(origin);
    if (!load) {
      load = { target, n: 0, peak: 0 };
      this.#load.set(origin, load);
    }
    load.n++;
    if (load.n > load.peak) load.peak = load.n;
    try {
      const res = await this.#dispatch(origin, req);
      this.telemetry.upstream({ target, outcome: 'ok', seconds: (performance.now() - t0) / 1000 });
      return res;
    } catch (e) {
      const err = upstreamError(e);
      this.telemetry.upstream({ target, outcome: err.code === 'GW_UPSTREAM_TIMEOUT' ? 'timeout' : 'error', seconds: (performance.now() - t0) / 1000 });
      throw err;
    } finally {
      load.n--;
    }
  }

  /**
   * One request through undici's dispatch API, its answer buffered by a BufferedAnswer: undici's request()
   * wraps each answer in a Readable stream and an async resource, which cost more than reading an FSPIOP
   * answer of a few hundred bytes (docs/performance/2026-11-30-dispatch-and-per-request-work.md).
   */
  #dispatch(origin: string, req: UpstreamRequest): Promise<UpstreamResponse> {
    const pool = this.#pool(origin);
    const limit = this.options.maxResponseBytes;
    // One deadline for the whole exchange, from now: undici's headers and body timeouts measure idle time and restart
    // at every chunk (and the headers timeout whenever a slow reader holds back the request's write), so a peer that
    // trickles its answer, or reads the request a byte at a time, held the request and a pool connection for ever,
    // and requests queued for a saturated pool waited with no bound (hostile review of 2026-12-02).
    const deadlineMs = this.options.headersTimeoutMs + this.options.bodyTimeoutMs;
    return new Promise((resolve, reject) => {
      const answer = new BufferedAnswer(limit, resolve, reject, deadlineMs);
      pool.dispatch({ method: req.method as Dispatcher.HttpMethod, path: req.path, headers: req.headers, body: req.body.length > 0 ? req.body : null }, answer);
    });
  }

  /** Every origin's load now (and its peak since the previous call, which this call resets). */
  sample(): PoolLoad[] {
    const out: PoolLoad[] = [];
    for (const [origin, l] of this.#load) {
      out.push({ target: l.target, inFlight: l.n, peak: l.peak, connections: this.#pools.get(origin)?.stats.connected ?? 0, limit: this.options.connections });
      l.peak = l.n;
    }
    return out;
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.#pools.values()].map((p) => p.close()));
    this.#pools.clear();
  }
}

/** Informational (1xx) answers accepted before the final one: 100 Continue and 103 Early Hints need two at most. */
const MAX_INFORMATIONAL = 4;

/**
 * undici dispatch handler (undici/types/dispatcher.d.ts DispatchHandler) that keeps the final answer's status
 * and headers and its body up to `limit` bytes. Past the limit it aborts the request (the connection is
 * closed, nothing more is buffered) with GW_UPSTREAM_RESPONSE_TOO_LARGE. Settles exactly once.
 */
class BufferedAnswer implements Dispatcher.DispatchHandler {
  #status = 0;
  #informational = 0;
  #headers: UpstreamResponse['headers'] = {};
  #chunks: Buffer[] = [];
  #bytes = 0;
  #settled = false;
  #controller: Dispatcher.DispatchController | undefined;
  #expired: GatewayError | undefined;
  readonly #timer: NodeJS.Timeout;

  constructor(
    private readonly limit: number,
    private readonly resolve: (r: UpstreamResponse) => void,
    private readonly reject: (e: unknown) => void,
    deadlineMs: number,
  ) {
    this.#timer = setTimeout(() => this.#expire(deadlineMs), deadlineMs);
  }

  /**
   * The deadline passed: answered 2004 at once. A request still queued for a connection is aborted when undici starts
   * it (onRequestStart comes before anything is written: undici/lib/dispatcher/client-h1.js writeH1), one under way
   * at once, which closes its connection.
   */
  #expire(deadlineMs: number): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#chunks = [];
    // Still queued (undici has not started it): it is aborted before a byte is written, so what a stage consumed for it
    // may be given back (upstreamError's notSent; re-review of 2026-12-02).
    const queued = this.#controller === undefined ? { context: { notSent: true } } : {};
    this.#expired = new GatewayError('GW_UPSTREAM_TIMEOUT', { detail: `no complete answer within ${deadlineMs} ms`, ...queued });
    this.reject(this.#expired);
    this.#controller?.abort(this.#expired);
  }

  #settle(): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    clearTimeout(this.#timer);
    return true;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#expired !== undefined) controller.abort(this.#expired);
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: UpstreamResponse['headers']): void {
    if (statusCode < 200) {
      // 1xx (RFC 9110 §15.2): informational, the final answer follows. undici restarts the headers timeout at
      // each one, so an upstream sending them for ever would hold the request and its connection for ever.
      if (++this.#informational > MAX_INFORMATIONAL) {
        controller.abort(new GatewayError('GW_UPSTREAM_UNREACHABLE', { detail: 'the upstream sent informational answers and no final one' }));
      }
      return;
    }
    // HTTP status codes are 100–599 (RFC 9110 §15); node's parser accepts up to 999: not relayed, connection closed.
    if (statusCode > 599) {
      controller.abort(new GatewayError('GW_UPSTREAM_UNREACHABLE', { detail: 'the upstream answered with an invalid status code' }));
      return;
    }
    this.#status = statusCode;
    this.#headers = headers;
  }

  /** A 101 or a CONNECT tunnel: never asked for (FSPIOP routes are plain requests); the socket is closed. */
  onRequestUpgrade(controller: Dispatcher.DispatchController, _status: number, _headers: unknown, socket: { destroy(): void }): void {
    socket.destroy();
    this.onResponseError(controller, new GatewayError('GW_UPSTREAM_UNREACHABLE', { detail: 'the upstream switched protocols' }));
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#settled) return;
    this.#bytes += chunk.length;
    if (this.#bytes > this.limit) {
      this.#chunks = [];
      controller.abort(new GatewayError('GW_UPSTREAM_RESPONSE_TOO_LARGE'));
      return;
    }
    this.#chunks.push(chunk);
  }

  onResponseEnd(): void {
    if (!this.#settle()) return;
    const chunks = this.#chunks;
    const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, this.#bytes);
    this.resolve({ status: this.#status, headers: this.#headers, body });
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    if (!this.#settle()) return;
    this.reject(err);
  }
}
