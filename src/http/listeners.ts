// The three listeners (docs/architecture.md): inbound HTTPS with client certificates, outbound and admin HTTP, each
// hardened by the same limits (listener-limits.ts), and a drain-then-close shutdown.
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { getRequestListener } from '@hono/node-server';
import type { Config } from '../config/schema.js';
import type { AuditLog } from '../logging/audit.js';
import type { Telemetry } from '../telemetry/types.js';
import { handshakeReason } from '../tls/handshake-reason.js';
import type { TlsReloader } from '../tls/material.js';
import { serverNegotiatedGroup } from '../tls/negotiated-group.js';
import type { OcspWiring } from '../tls/ocsp/open.js';
import { requestErrorResponse } from './client-error.js';
import { applyListenerLimits, type ListenerName, limitServerOptions, listenerLimitsOf } from './listener-limits.js';

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

export async function startListeners(o: ListenerOptions): Promise<Listeners> {
  const { config, telemetry, logger, audit } = o;
  const limits = listenerLimitsOf(config);
  const limit = (server: HttpServer | HttpsServer, listener: ListenerName) =>
    applyListenerLimits(server, limits, {
      rejected: (reason) => telemetry.connectionRejected({ listener, reason }),
      timeout: (kind) => telemetry.connectionTimeout({ listener, kind }),
    });
  const listener = (app: { fetch: Fetch }) => getRequestListener(app.fetch as Parameters<typeof getRequestListener>[0], { errorHandler: requestErrorResponse });

  const inbound: HttpsServer = createHttpsServer(
    {
      ...o.tls.current.options,
      requestCert: config.inboundMtls,
      rejectUnauthorized: config.inboundMtls,
      maxHeaderSize: MAX_HEADER_BYTES,
      ...limitServerOptions(limits),
    },
    listener(o.apps.inbound),
  );
  o.tls.attach(inbound);
  // The peer is bound once per connection (src/tls/peer.ts caches it per socket): a TLS 1.2
  // renegotiation could present another certificate on the same socket, so it is refused.
  inbound.on('secureConnection', (socket: TLSSocket) => {
    socket.disableRenegotiation();
    telemetry.tlsHandshake({ endpoint: 'inbound', group: serverNegotiatedGroup(socket) });
    o.ocsp?.gate?.begin(socket); // the peer-binding stage awaits its verdict (src/tls/ocsp/client-gate.ts)
  });
  if (o.ocsp?.stapler) inbound.on('OCSPRequest', o.ocsp.stapler);
  const inboundLimits = limit(inbound, 'inbound');
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
  const outbound: HttpServer = createHttpServer({ maxHeaderSize: MAX_HEADER_BYTES, ...limitServerOptions(limits) }, listener(o.apps.outbound));
  limit(outbound, 'outbound');
  const admin: HttpServer = createHttpServer(limitServerOptions(limits), getRequestListener(o.apps.admin.fetch as Parameters<typeof getRequestListener>[0]));
  limit(admin, 'admin');
  const servers = [inbound, outbound, admin];

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
        const drained = Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
        for (const s of servers) s.closeIdleConnections();
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
