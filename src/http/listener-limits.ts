// Slow and idle clients (docs/security.md class 8): one hardening applied to every listener (inbound mTLS,
// outbound, admin) so that no client can hold a socket, or many sockets, for free.
//   - TLS handshake timeout (TLS listeners): no finished handshake within the limit → closed;
//   - header timeout: a request's headers (the first one of a connection too) within the limit → else 408;
//   - request timeout: the whole request, body included, within the limit → else 408 / closed;
//   - keep-alive idle timeout: an idle connection between requests is closed;
//   - connection caps: in total per listener (server.maxConnections) and per client address (IPv6 per /64).
// Every enforcement is reported through `events` (metrics). Limits are per listener and per process.

import type { Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { parserErrorResponse } from './client-error.js';

export type ListenerName = 'inbound' | 'outbound' | 'admin';
export type TimeoutKind = 'handshake' | 'headers' | 'request' | 'idle';
export type RejectReason = 'max_connections' | 'max_per_address';

export interface ListenerLimits {
  readonly handshakeTimeoutMs: number;
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly maxConnections: number;
  readonly maxConnectionsPerAddress: number;
}

/** The limits as configured (TLS_HANDSHAKE_TIMEOUT_MS, HTTP_*_TIMEOUT_MS, MAX_CONNECTIONS*). */
export function listenerLimitsOf(c: {
  readonly tlsHandshakeTimeoutMs: number;
  readonly httpHeadersTimeoutMs: number;
  readonly httpRequestTimeoutMs: number;
  readonly httpKeepAliveTimeoutMs: number;
  readonly maxConnections: number;
  readonly maxConnectionsPerAddress: number;
}): ListenerLimits {
  return {
    handshakeTimeoutMs: c.tlsHandshakeTimeoutMs,
    headersTimeoutMs: c.httpHeadersTimeoutMs,
    requestTimeoutMs: c.httpRequestTimeoutMs,
    keepAliveTimeoutMs: c.httpKeepAliveTimeoutMs,
    maxConnections: c.maxConnections,
    maxConnectionsPerAddress: c.maxConnectionsPerAddress,
  };
}

export interface LimitEvents {
  rejected(reason: RejectReason): void;
  timeout(kind: TimeoutKind): void;
}

/**
 * Options that node reads only at construction (createServer / https.createServer). The request and
 * header timeouts are checked every connectionsCheckingInterval (node's default 30 s), so the interval
 * follows the shortest timeout to make them fire on time.
 */
export function limitServerOptions(limits: ListenerLimits) {
  return {
    handshakeTimeout: limits.handshakeTimeoutMs,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs) / 10))),
  };
}

const TIMEOUT_RESPONSE = 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n';

/** What the limits know of a listener's sockets; the one count of each socket's requests in progress. */
export interface ListenerState {
  /** Whether the per-address cap refused the socket (or the TCP socket under a TLS one). */
  refused(socket: Socket): boolean;
  /** Requests of the socket received and not yet answered (their response not yet closed). */
  unanswered(socket: Socket): number;
  /** When the socket's latest answer finished (performance.now()); undefined before its first. */
  answeredAt(socket: Socket): number | undefined;
  /** Whether `req` is the latest request received on the socket (none is pipelined behind it). */
  isLatest(socket: Socket, req: object): boolean;
}

/**
 * Applies the limits to a server built with limitServerOptions(limits). Takes over node's 'clientError'
 * and 'timeout' handling (to count them), so it closes those sockets itself, as node would.
 * @example
 * const server = createServer(limitServerOptions(limits), handler);
 * applyListenerLimits(server, limits, { rejected: (r) => …, timeout: (k) => … });
 */
export function applyListenerLimits(server: HttpServer | HttpsServer, limits: ListenerLimits, events: LimitEvents): ListenerState {
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.timeout = 0;
  server.maxConnections = limits.maxConnections;

  // Total cap: node closes the socket itself and emits 'drop' (node ≥ 18.6).
  server.on('drop', () => events.rejected('max_connections'));

  // Per-address cap, before anything else sees the socket (the TLS layer included).
  const perAddress = new Map<string, number>();
  const refused = new WeakSet<Socket>();
  // A TLS listener wraps even a socket refused here; its TLS socket keeps the TCP one as _parent.
  const isRefused = (s: Socket | undefined) => !!s && (refused.has(s) || refused.has((s as { _parent?: Socket })._parent ?? s));
  server.prependListener('connection', (socket: Socket) => {
    const key = addressKey(socket.remoteAddress);
    const n = perAddress.get(key) ?? 0;
    if (n >= limits.maxConnectionsPerAddress) {
      refused.add(socket);
      events.rejected('max_per_address');
      socket.destroy();
      return;
    }
    perAddress.set(key, n + 1);
    socket.once('close', () => {
      const left = (perAddress.get(key) ?? 1) - 1;
      if (left <= 0) perAddress.delete(key);
      else perAddress.set(key, left);
    });
  });

  // Which sockets are inside a request (headers received, body not yet complete): a request timeout
  // there is a slow body; anywhere else it is slow (or absent) headers. Node drains an unread body after
  // the response, so 'end' comes once the last body byte has arrived.
  const inRequest = new WeakSet<Socket>();
  // Requests of each socket not yet answered. A request pipelined behind one of them that the parser refuses is not
  // answered: HTTP/1.1 answers in order, so the client would read the refusal as the earlier request's answer, one the
  // gateway may have forwarded (hostile review of 2026-12-02). The earlier requests are answered, nothing more is read,
  // and the connection is closed after their answers.
  const unanswered = new WeakMap<Socket, number>();
  // When each socket's last answer finished (performance.now()): how long it has been idle, for a drain.
  const answeredAt = new WeakMap<Socket, number>();
  const closeWhenAnswered = new WeakSet<Socket>();
  // Each socket's latest request: `complete` once the parser has read all of it (node's IncomingMessage.complete).
  const latest = new WeakMap<Socket, { readonly complete: boolean }>();
  type Req = { socket: Socket; readonly complete: boolean; once(e: 'end', f: () => void): void };
  server.on('request', (req: Req, res: { once(e: 'close', f: () => void): void }) => {
    const s = req.socket;
    inRequest.add(s);
    req.once('end', () => inRequest.delete(s));
    latest.set(s, req);
    unanswered.set(s, (unanswered.get(s) ?? 0) + 1);
    res.once('close', () => {
      const left = (unanswered.get(s) ?? 1) - 1;
      unanswered.set(s, left);
      answeredAt.set(s, performance.now());
      if (left === 0 && closeWhenAnswered.has(s)) s.destroy();
    });
  });

  server.on('clientError', (err: Error & { code?: string }, socket: Socket) => {
    if (isRefused(socket)) {
      socket.destroy();
      return;
    }
    const code = err.code ?? '';
    if (code === 'ERR_TLS_HANDSHAKE_TIMEOUT') events.timeout('handshake');
    else if (code === 'ERR_HTTP_REQUEST_TIMEOUT') events.timeout(inRequest.has(socket) ? 'request' : 'headers');
    // As node's default, an HTTP-level error gets an answer if nothing was written yet; a request the
    // parser refuses gets the FSPIOP error body (client-error.ts).
    const http = code === 'ERR_HTTP_REQUEST_TIMEOUT' || code.startsWith('HPE_');
    // Behind requests still unanswered (a parser error or a timeout of a request pipelined after them), nothing is
    // written in their place: HTTP/1.1 answers in order, and a 400 or 408 would be read as an earlier request's answer
    // (reviews of 2026-12-02). When the latest request is complete, the earlier answers are sent, nothing more is read,
    // and the connection is closed after them (bounded by the upstream deadline); when it is incomplete, its handler
    // waits on a body that will not come, so the connection is closed at once, with no answer. Not when the refused
    // bytes are the body of the one request unanswered (a malformed chunk, a client gone mid-body): that request is the
    // one refused, answered and closed at once as before.
    const pending = unanswered.get(socket) ?? 0;
    const complete = latest.get(socket)?.complete === true;
    if (http && pending > 0 && !(pending === 1 && !complete)) {
      if (!complete) {
        socket.destroy();
        return;
      }
      socket.pause();
      closeWhenAnswered.add(socket);
      return;
    }
    if (http && socket.writable && socket.bytesWritten === 0) {
      socket.write(code === 'ERR_HTTP_REQUEST_TIMEOUT' ? TIMEOUT_RESPONSE : parserErrorResponse(code));
    }
    socket.destroy();
  });

  // With server.timeout = 0 the only socket timeout node arms is the keep-alive idle one.
  server.on('timeout', (socket: Socket) => {
    events.timeout('idle');
    socket.destroy();
  });
  return { refused: isRefused, unanswered: (s) => unanswered.get(s) ?? 0, answeredAt: (s) => answeredAt.get(s), isLatest: (s, req) => latest.get(s) === req };
}

/** The per-address key: IPv4 (also IPv4-mapped IPv6) as is, IPv6 by its /64 prefix (one subscriber). */
export function addressKey(address: string | undefined): string {
  if (!address) return 'unknown';
  const a = address.toLowerCase().replace(/%.*$/, '');
  if (a.startsWith('::ffff:') && a.includes('.')) return a.slice(7);
  if (!a.includes(':')) return a;
  const [head, tail] = a.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t];
  return `${groups
    .slice(0, 4)
    .map((g) => (parseInt(g, 16) || 0).toString(16))
    .join(':')}::/64`;
}
