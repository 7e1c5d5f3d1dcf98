// The three listeners (docs/architecture.md): inbound HTTPS with client certificates, outbound and admin HTTP, each
// hardened by the same limits (listener-limits.ts), and a drain-then-close shutdown.
//
// Draining with keep-alive clients. node's server.close() stops accepting and at once destroys every
// connection without a request in progress, including one whose request is still on its way or unread (a
// load balancer sent it just before the SIGTERM): that request is lost. A connection busy at that moment
// stays open, and keeps taking requests, until SHUTDOWN_TIMEOUT_MS, when closeAllConnections() cuts
// whatever is in flight on it. Instead the drain stops accepting only (net.Server close), every response
// whose head is written after it began says `Connection: close` (RFC 9112 §9.6: the server closes after it,
// the client opens its next connection elsewhere), and a connection is closed once it has had no request
// in progress for IDLE_GRACE_MS: the drain ends soon after the last in-flight request, and no request that
// reached the gateway before the drain is cut.
import {
  createServer as createHttpServer,
  type Server as HttpServer,
  type IncomingMessage,
  type OutgoingHttpHeader,
  type OutgoingHttpHeaders,
  ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { type AddressInfo, Server as NetServer, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { getRequestListener } from '@hono/node-server';
import type { Config } from '../config/schema.js';
import type { AuditLog } from '../logging/audit.js';
import type { Telemetry } from '../telemetry/types.js';
import { handshakeReason } from '../tls/handshake-reason.js';
import type { TlsReloader } from '../tls/material.js';
import { serverNegotiatedGroup } from '../tls/negotiated-group.js';
import type { OcspWiring } from '../tls/ocsp/open.js';
import { admitForRouting, CONNECT_RESPONSE, drainingResponse, requestErrorResponse } from './client-error.js';
import { applyListenerLimits, type ListenerName, type ListenerState, limitServerOptions, listenerLimitsOf } from './listener-limits.js';

type Fetch = (req: Request, env: never) => Response | Promise<Response>;

export interface ListenerOptions {
  readonly config: Pick<Config, 'inboundMtls' | 'inboundHost' | 'inboundPort' | 'outboundHost' | 'outboundPort' | 'adminHost' | 'adminPort'> &
    Parameters<typeof listenerLimitsOf>[0];
  readonly tls: TlsReloader;
  readonly apps: { readonly inbound: { fetch: Fetch }; readonly outbound: { fetch: Fetch }; readonly admin: { fetch: Fetch } };
  readonly telemetry: Telemetry;
  readonly logger: { debug(o: object, msg: string): void; warn(o: object, msg: string): void };
  readonly audit: AuditLog;
  /** False in a cluster worker: the primary serves the admin API. */
  readonly adminListen: boolean;
  /** OCSP: the client certificate check starts when a connection is established; stapling answers 'OCSPRequest'. */
  readonly ocsp?: OcspWiring;
}

export interface Listeners {
  readonly inbound: AddressInfo;
  readonly outbound: AddressInfo;
  readonly admin: AddressInfo;
  /** Stops accepting, lets in-flight requests finish within `timeoutMs`, then closes every connection. */
  close(timeoutMs: number): Promise<void>;
}

const MAX_HEADER_BYTES = 64 * 1024;
/** While draining, a peer connection without a request in progress for this long is closed (admin ones at once: probes). */
const IDLE_GRACE_MS = 1000;

export async function startListeners(o: ListenerOptions): Promise<Listeners> {
  const { config, telemetry, logger, audit } = o;
  const limits = listenerLimitsOf(config);
  const limit = (server: HttpServer | HttpsServer, listener: ListenerName) =>
    applyListenerLimits(server, limits, {
      rejected: (reason) => telemetry.connectionRejected({ listener, reason }),
      timeout: (kind) => telemetry.connectionTimeout({ listener, kind }),
    });
  let draining = false;
  const listener = (app: { fetch: Fetch }) => {
    const serve = getRequestListener(app.fetch as Parameters<typeof getRequestListener>[0], { errorHandler: requestErrorResponse });
    return (req: IncomingMessage, res: ServerResponse) => {
      // While draining, a request pipelined behind one still in progress is not processed: it is answered 2003 with
      // `Connection: close` (after the answers before it, in order), so a client that keeps pipelining cannot hold its
      // connection, and the drain, open until the shutdown timeout (second re-review of 2026-12-02). This listener runs
      // before the listener limits count the request, so `unanswered` counts only the requests before it.
      if (draining && (conns.get(req.socket)?.state.unanswered(req.socket) ?? 0) > 0) return drainingResponse(res);
      // A request node-server could not read is routed to its refusal after peer binding, quarantine and limits.
      admitForRouting(req);
      return serve(req, res);
    };
  };
  // Every open connection (TLS ones once their handshake is done), with when it opened and its grace period.
  // Its requests in progress are counted once, by the listener limits (unanswered, answeredAt).
  const conns = new Map<Socket, { state: ListenerState; openedAt: number; graceMs: number }>();
  const tracker = (state: ListenerState, graceMs: number) => (socket: Socket) => {
    conns.set(socket, { state, openedAt: performance.now(), graceMs });
    socket.once('close', () => conns.delete(socket));
  };
  // Only the answer to a connection's latest request says `Connection: close`: node closes the socket after it, and a
  // request pipelined behind it (perhaps already forwarded) would lose its answer, and be sent again by the client
  // (RFC 9112 §9.3.2; re-reviews of 2026-12-02). The request's own socket: a pipelined response has none of its own
  // (`res.socket`) until its turn comes.
  const isLatest = (res: ServerResponse) => {
    const socket = res.req?.socket;
    const c = socket ? conns.get(socket) : undefined;
    return c === undefined || c.state.isLatest(socket!, res.req);
  };
  // Every response head goes through writeHead (node calls it for implicit heads too), so one check there
  // covers the requests in flight when the drain begins as well as those arriving on busy connections.
  class Response extends ServerResponse {
    override writeHead(
      statusCode: number,
      message?: string | OutgoingHttpHeaders | OutgoingHttpHeader[],
      headers?: OutgoingHttpHeaders | OutgoingHttpHeader[],
    ): this {
      if (draining && !this.headersSent && isLatest(this)) this.setHeader('connection', 'close');
      return typeof message === 'object' ? super.writeHead(statusCode, message) : super.writeHead(statusCode, message, headers);
    }
  }

  const inbound: HttpsServer = createHttpsServer(
    {
      ...o.tls.current.options,
      requestCert: config.inboundMtls,
      rejectUnauthorized: config.inboundMtls,
      maxHeaderSize: MAX_HEADER_BYTES,
      requireHostHeader: false, // an HTTP/1.1 request without Host is refused by the router after stages 2-4 (client-error.ts)
      ServerResponse: Response,
      ...limitServerOptions(limits),
    },
    listener(o.apps.inbound),
  );
  // First of the 'secureConnection' listeners, before node's HTTP parser reads the request: it may close the
  // socket at once (a client chain the current trust refuses, src/tls/material.ts).
  o.tls.attach(inbound);
  // The peer is bound once per connection (src/tls/peer.ts caches it per socket): a TLS 1.2
  // renegotiation could present another certificate on the same socket, so it is refused.
  inbound.on('secureConnection', (socket: TLSSocket) => {
    if (socket.destroyed) return; // closed by the trust check above, and reported there
    telemetry.tlsHandshake({ endpoint: 'inbound', group: serverNegotiatedGroup(socket) });
    socket.disableRenegotiation();
    o.ocsp?.gate?.begin(socket); // the peer-binding stage awaits its verdict (src/tls/ocsp/client-gate.ts)
    trackInbound(socket);
  });
  if (o.ocsp?.stapler) inbound.on('OCSPRequest', o.ocsp.stapler);
  const inboundLimits = limit(inbound, 'inbound');
  const trackInbound = tracker(inboundLimits, IDLE_GRACE_MS);
  inbound.on('tlsClientError', (err: Error & { code?: string }, socket: TLSSocket) => {
    if (inboundLimits.refused(socket)) return; // counted by the listener limits
    const reason = handshakeReason(err, socket);
    if (reason === 'handshake_timeout') return; // counted by the listener limits
    if (reason === 'probe') {
      telemetry.tlsProbe();
      logger.debug({ event: 'tls_probe', remote: socket?.remoteAddress }, 'TCP connection closed before a ClientHello');
      return;
    }
    telemetry.tlsHandshakeFailed(reason);
    logger.warn({ event: 'peer_rejected', reason, remote: socket?.remoteAddress }, 'TLS handshake refused');
    audit.record({ event: 'peer_rejected', actor: 'peer', peer: socket?.remoteAddress ?? 'unknown', reason: `tls_${reason}` });
  });
  const outbound: HttpServer = createHttpServer(
    { maxHeaderSize: MAX_HEADER_BYTES, requireHostHeader: false, ServerResponse: Response, ...limitServerOptions(limits) },
    listener(o.apps.outbound),
  );
  const outboundLimits = limit(outbound, 'outbound');
  for (const server of [inbound, outbound] as (HttpServer | HttpsServer)[]) {
    // node answers an Expect other than 100-continue (417) and a CONNECT (nothing, socket closed) itself, before any
    // stage (third re-review of 2026-12-02): an Expect goes through the pipeline like any request (it is hop-by-hop,
    // never forwarded), a CONNECT gets 3002/404.
    server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => server.emit('request', req, res));
    server.on('connect', (_req: IncomingMessage, socket: Socket) => {
      socket.on('error', () => {});
      socket.end(CONNECT_RESPONSE);
    });
  }
  const admin: HttpServer = createHttpServer(
    { ServerResponse: Response, ...limitServerOptions(limits) },
    getRequestListener(o.apps.admin.fetch as Parameters<typeof getRequestListener>[0]),
  );
  const adminLimits = limit(admin, 'admin');
  const servers = [inbound, outbound, admin];
  outbound.on('connection', tracker(outboundLimits, IDLE_GRACE_MS));
  admin.on('connection', tracker(adminLimits, 0));

  const listen = (s: HttpServer | HttpsServer, port: number, host: string) =>
    new Promise<AddressInfo>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, host, () => {
        s.off('error', reject);
        resolve(s.address() as AddressInfo);
      });
    });
  try {
    return {
      inbound: await listen(inbound, config.inboundPort, config.inboundHost),
      outbound: await listen(outbound, config.outboundPort, config.outboundHost),
      admin: o.adminListen ? await listen(admin, config.adminPort, config.adminHost) : { address: '', family: '', port: 0 },
      async close(timeoutMs) {
        draining = true;
        // Stop accepting, keep the connections (not http.Server close: see the head of this file).
        const drained = Promise.all(servers.map((s) => new Promise<void>((r) => NetServer.prototype.close.call(s, () => r()))));
        const sweep = () => {
          const now = performance.now();
          for (const [socket, c] of conns) {
            if (c.state.unanswered(socket) > 0) continue;
            if (now - Math.max(c.openedAt, c.state.answeredAt(socket) ?? 0) >= c.graceMs) socket.destroy();
          }
        };
        sweep();
        const sweeper = setInterval(sweep, 100);
        void drained.then(() => {
          clearInterval(sweeper);
          for (const s of servers) s.close(); // already closed: stops node's connection-checking timer
        });
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<'timeout'>((r) => {
          timer = setTimeout(() => r('timeout'), timeoutMs);
        });
        if ((await Promise.race([drained, timedOut])) === 'timeout') for (const s of servers) s.closeAllConnections();
        clearTimeout(timer);
        await drained;
      },
    };
  } catch (e) {
    for (const s of servers) s.close();
    throw e;
  }
}
