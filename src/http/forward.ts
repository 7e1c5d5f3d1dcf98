// The last stage of both pipelines: sends the (possibly rewritten) body bytes with the caller's
// end-to-end headers to the upstream and relays its answer (status, headers, body) unchanged.
import type { TLSSocket } from 'node:tls';
import { GatewayError } from '../errors.js';
import { RESOURCES, type Resource } from '../fspiop/resources.js';
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
    // Fail closed: a replay record still owed here means no stage wrote it (a pipeline without replayRecord).
    if (c.get('storeMark')?.claimed === false) throw new GatewayError('GW_INTERNAL', { detail: 'replay record not written' });
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

/** An inbound upstream: its bounded name (metric label, /ready check), its base URL and the FSPIOP resources it serves. */
export interface InboundUpstream {
  readonly name: string;
  readonly url: URL;
  readonly resources: readonly Resource[];
}

/**
 * The inbound target of each FSPIOP resource (INBOUND_UPSTREAM_ROUTES, the rest to INBOUND_UPSTREAM_URL),
 * looked up by the matched route's resource.
 * @throws Error when a resource of the table has no upstream or two (the configuration rules out both)
 */
export function targetsByResource(upstreams: readonly InboundUpstream[]): (resource: Resource) => Target {
  const byResource = new Map<Resource, Target>();
  for (const u of upstreams) {
    const target = targetOf(u.url, u.name);
    for (const r of u.resources) {
      if (byResource.has(r)) throw new Error(`resource ${r} has two upstreams`);
      byResource.set(r, target);
    }
  }
  const missing = RESOURCES.filter((r) => !byResource.has(r));
  if (missing.length > 0) throw new Error(`no upstream for ${missing.join(', ')}`);
  return (r) => byResource.get(r) as Target;
}
