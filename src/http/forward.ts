// The last stage of both pipelines: sends the (possibly rewritten) body bytes with the caller's
// end-to-end headers to the upstream and relays its answer (status, headers, body) unchanged.
import type { TLSSocket } from 'node:tls';
import { forwardRequestHeaders, relayResponseHeaders } from '../proxy/headers.js';
import type { Upstreams } from '../proxy/upstream.js';
import type { GatewayContext, GatewayMiddleware } from './context.js';

/** Where a request goes: origin ('https://host:port'), path prefix of the target, metric label. */
export interface Target {
  readonly origin: string;
  readonly basePath: string;
  readonly label: string;
}

const NULL_BODY = new Set([101, 204, 205, 304]);

export function forward(deps: { upstreams: Pick<Upstreams, 'send'>; target: (c: GatewayContext) => Target; proto: 'http' | 'https' }): GatewayMiddleware {
  return async function forward(c) {
    const t = deps.target(c);
    const incoming = c.env.incoming;
    const socket = incoming.socket as TLSSocket;
    const message = c.get('message');
    const body = message.wire();
    const headers = forwardRequestHeaders(
      incoming.headers,
      message.headers,
      {
        clientIp: socket.remoteAddress,
        proto: deps.proto,
        host: incoming.headers.host,
        port: socket.localPort,
        peerId: c.get('peer')?.fspId,
      },
      body.length,
    );
    const route = c.get('route');
    const res = await deps.upstreams.send(t.origin, { method: c.req.method, path: t.basePath + route.path + route.query, headers, body }, t.label);
    const nullBody = NULL_BODY.has(res.status) || c.req.method === 'HEAD';
    // node-server accepts a plain header object (string[] values for repeated headers) and skips Headers.
    return new Response(nullBody ? null : res.body, { status: res.status, headers: relayResponseHeaders(res.headers) as unknown as Record<string, string> });
  };
}

/** Splits a base URL into the pool origin and the path prefix requests are appended to. */
export function targetOf(url: URL, label: string): Target {
  return { origin: url.origin, basePath: url.pathname.replace(/\/+$/, ''), label };
}
