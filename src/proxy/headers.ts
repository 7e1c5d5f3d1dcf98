// Header hygiene for forwarding (RFC 9110 §7.6.1): hop-by-hop headers and those named by Connection
// are dropped; FSPIOP headers pass untouched; X-Forwarded-* and the verified peer id are added.
// What was checked is what is forwarded: a Connection header may not name an end-to-end FSPIOP or
// entity header (the hop would drop a header after it was verified), and headers that ask an upstream
// to act on another method or URL than the one routed and signed are refused (checkForwardable).
// `x-client-id` carries the peer id bound from the client certificate, the header Mojaloop's switch
// compares FSPIOP-Source against behind its API gateway (central-services-shared's header validation, FSPIOP-Proxy).
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { GatewayError } from '../errors.js';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
  'expect',
  'http2-settings',
]);

/** Headers the gateway owns: never taken from the caller. */
const PEER_ID_HEADER = 'x-client-id';
// Caller-sent forwarding headers are dropped and replaced (RFC 7239 Forwarded, the de-facto X-Forwarded-*,
// X-Real-IP): only the gateway says who the client was.
const GATEWAY_OWNED = new Set([PEER_ID_HEADER, 'forwarded', 'x-real-ip']);
const isGatewayOwned = (k: string) => GATEWAY_OWNED.has(k) || k.startsWith('x-forwarded-');

/** End-to-end headers a Connection header may never name: FSPIOP-*, Content-*, Date, Accept, Host. */
const isEndToEnd = (k: string) => k.startsWith('fspiop-') || k.startsWith('content-') || k === 'date' || k === 'accept' || k === 'host';
/** Headers by which common frameworks act on another method or URL than the request line's. */
const OVERRIDES = new Set([
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
  'x-original-method',
  'x-original-url',
  'x-original-uri',
  'x-rewrite-url',
]);

/**
 * Refuses a request whose headers would make the forwarded request differ from the checked one.
 * @throws GatewayError GW_HEADER_FORBIDDEN (3101/400)
 */
export function checkForwardable(incoming: IncomingHttpHeaders): void {
  const named = connectionTokens(incoming.connection);
  if (named) for (const t of named) if (isEndToEnd(t)) throw new GatewayError('GW_HEADER_FORBIDDEN', { detail: 'Connection names an end-to-end header' });
  for (const k in incoming) {
    if (OVERRIDES.has(k)) throw new GatewayError('GW_HEADER_FORBIDDEN', { detail: 'method or URL override header' });
    // CGI, WSGI, Rack and PHP read '_' and '-' alike (HTTP_FSPIOP_SOURCE): an underscore spelling of a
    // checked or gateway-owned header would reach such a backend beside the real one.
    if (k.includes('_')) {
      const dashed = k.replace(/_/g, '-');
      if (isEndToEnd(dashed) || isGatewayOwned(dashed) || OVERRIDES.has(dashed))
        throw new GatewayError('GW_HEADER_FORBIDDEN', { detail: 'underscore spelling of a protected header' });
    }
  }
  // The signature and the ILP checks see the bytes as sent; an upstream that decodes a Content-Encoding
  // would act on other bytes (FSPIOP bodies are plain JSON, API Definition §3.1).
  const ce = incoming['content-encoding'];
  if (ce !== undefined && ce.trim().toLowerCase() !== 'identity')
    throw new GatewayError('GW_HEADER_FORBIDDEN', { detail: 'Content-Encoding is not supported' });
}

export interface ForwardContext {
  readonly clientIp: string | undefined;
  readonly proto: 'http' | 'https';
  readonly host: string | undefined;
  readonly port: number | undefined;
  readonly peerId: string | undefined;
}

/** Request headers for the upstream: caller's end-to-end headers + overrides + forwarding headers. */
export function forwardRequestHeaders(
  incoming: IncomingHttpHeaders,
  overrides: Readonly<Record<string, string>>,
  fc: ForwardContext,
  bodyLength: number,
): Record<string, string | string[]> {
  const named = connectionTokens(incoming.connection);
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(incoming)) {
    if (v === undefined || HOP_BY_HOP.has(k) || isGatewayOwned(k) || named?.has(k)) continue;
    out[k] = v;
  }
  for (const [k, v] of Object.entries(overrides)) out[k] = v;
  if (bodyLength > 0 || incoming['content-length'] !== undefined) out['content-length'] = String(bodyLength);
  if (fc.clientIp) out['x-forwarded-for'] = fc.clientIp;
  out['x-forwarded-proto'] = fc.proto;
  if (fc.host) out['x-forwarded-host'] = fc.host;
  if (fc.port) out['x-forwarded-port'] = String(fc.port);
  if (fc.peerId) out[PEER_ID_HEADER] = fc.peerId;
  return out;
}

/**
 * Response headers for the caller: the upstream's, less hop-by-hop ones and content-length (recomputed
 * from the relayed bytes). A plain object: node-server writes it to the socket without a Headers copy.
 */
export function relayResponseHeaders(upstream: Record<string, string | string[] | undefined> | OutgoingHttpHeaders): Record<string, string | string[]> {
  const named = connectionTokens(upstream.connection as string | undefined);
  const h: Record<string, string | string[]> = {};
  for (const k in upstream) {
    const v = upstream[k];
    if (v === undefined || HOP_BY_HOP.has(k) || named?.has(k)) continue;
    h[k] = Array.isArray(v) ? v.map(String) : String(v);
  }
  return h;
}

function connectionTokens(v: string | string[] | undefined): Set<string> | undefined {
  if (!v) return undefined;
  return new Set(
    (Array.isArray(v) ? v.join(',') : v)
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
  );
}
