// Requests node's HTTP parser refuses before the app sees them (a raw backslash or control character
// in the target, a malformed header line, a header block over maxHeaderSize, a request smuggling
// attempt with both Content-Length and Transfer-Encoding) still get an FSPIOP error body, not node's
// bare "400 Bad Request" (every rejection is an FSPIOP error from src/errors.ts). The connection is closed after
// the answer, as node does by default (https://nodejs.org/api/http.html#event-clienterror).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GatewayError, type GatewayErrorCode, toResponse, toWireBody } from '../errors.js';

/**
 * The raw HTTP response for a request node's parser refused (an `HPE_*` code): 431 for a header block
 * over maxHeaderSize, 400 otherwise, each with the FSPIOP error body (3101 Malformed syntax). Written by
 * the listener's 'clientError' handler (src/http/listener-limits.ts) before it closes the socket.
 */
export function parserErrorResponse(code: string): string {
  const tooLarge = code === 'HPE_HEADER_OVERFLOW';
  const e = new GatewayError(code === 'HPE_INVALID_URL' ? 'GW_PATH_MALFORMED' : 'GW_HEADER_MALFORMED', {
    detail: tooLarge ? 'header block too large' : 'request rejected by the HTTP parser',
  });
  return rawErrorResponse(e, tooLarge ? '431 Request Header Fields Too Large' : `${e.httpStatus} Bad Request`);
}

/**
 * A CONNECT request (authority-form target) on an FSPIOP listener: node hands it to 'connect' listeners, not to the
 * app, and without one closes the socket with no answer. It gets 3002/404 and the connection is closed (third
 * re-review of 2026-12-02): no FSPIOP resource is a tunnel.
 */
export const CONNECT_RESPONSE = rawErrorResponse(new GatewayError('GW_ROUTE_UNKNOWN', { detail: 'CONNECT is not an FSPIOP request' }), '404 Not Found');

/**
 * While draining, a request pipelined behind one still in progress on its connection: not processed (never forwarded),
 * answered 2003/503 with `Connection: close` after the answers before it (src/http/listeners.ts).
 */
export function drainingResponse(res: ServerResponse): void {
  const body = JSON.stringify(toWireBody(new GatewayError('GW_SHUTTING_DOWN', { detail: 'draining for a shutdown; send the request again' })));
  res.writeHead(503, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), connection: 'close' });
  res.end(body);
}

/** An FSPIOP error as raw HTTP/1.1 bytes, closing the connection (for answers written before any app runs). */
function rawErrorResponse(e: GatewayError, statusLine: string): string {
  const body = JSON.stringify(toWireBody(e));
  return `HTTP/1.1 ${statusLine}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
}

/**
 * node-server's errorHandler: a request node accepted but @hono/node-server cannot turn into a web
 * Request (a backslash in the path, a Host header that is not a host) gets an FSPIOP error body.
 */
export function requestErrorResponse(e: unknown): Response {
  const message = e instanceof Error ? e.message : '';
  const isRequestError = e instanceof Error && e.name === 'RequestError';
  const code: GatewayErrorCode = !isRequestError ? 'GW_INTERNAL' : /host/i.test(message) ? 'GW_HEADER_MALFORMED' : 'GW_PATH_MALFORMED';
  return toResponse(new GatewayError(code, { detail: isRequestError ? 'request target or Host header not acceptable' : undefined, cause: e }));
}

/**
 * Whether @hono/node-server reads this Host (its dist/index.mjs buildUrl, 2.1.x): its fast path, else the WHATWG URL
 * parser must take it and keep its host name (compared without the port, lower-cased). A second review of 2026-12-02
 * found Hosts a looser pattern let through and node-server then refused before any stage (a port over 65535, a
 * malformed IPv6 literal, `1.2.3.999`).
 */
function nodeServerReadsHost(host: string): boolean {
  if (/^[a-z0-9._-]+(?::(?:[1-5]\d{3,4}|[6-9]\d{3}))?$/.test(host)) return true;
  try {
    const name = new URL(`http://${host}/`).hostname;
    return name.length === host.length || name === (host.includes(':') ? host.replace(/:\d+$/, '') : host).toLowerCase();
  } catch {
    return false;
  }
}
const refusedHosts = new WeakMap<IncomingMessage, GatewayError>();
const sentTargets = new WeakMap<IncomingMessage, string>();

/**
 * Called by the FSPIOP listeners before @hono/node-server sees a request. One it could not turn into a web Request (no
 * Host, a Host that is not a host, a target that is not a path or has a backslash in its path) would be answered by
 * requestErrorResponse without any stage having run: not bound to its peer, not refused for a quarantine, not charged
 * to its limits, not logged (re-review of 2026-12-02: a DFSP sent such requests by the hundred on one connection). It
 * gets placeholders node-server accepts instead (Host `localhost`, target `/`); the router judges the target as sent
 * (targetAsSent) and answers a refused Host (hostRefusal), both after those stages like any refused target.
 */
export function admitForRouting(incoming: IncomingMessage): void {
  const host = incoming.headers.host;
  const url = incoming.url ?? '';
  const query = url.indexOf('?');
  const backslash = url.indexOf('\\');
  if (url.charCodeAt(0) !== 0x2f || (backslash !== -1 && (query === -1 || backslash < query))) {
    sentTargets.set(incoming, url);
    incoming.url = '/';
  }
  if (host === undefined || !nodeServerReadsHost(host)) {
    refusedHosts.set(incoming, new GatewayError('GW_HEADER_MALFORMED', { detail: 'Host header missing or not a host' }));
    incoming.headers.host = 'localhost';
  }
}

/** The request target as the client sent it (admitForRouting may have given node-server a placeholder). */
export const targetAsSent = (incoming: IncomingMessage): string => sentTargets.get(incoming) ?? incoming.url ?? '/';

/** The refusal of a Host admitForRouting replaced, if any. */
export const hostRefusal = (incoming: IncomingMessage): GatewayError | undefined => refusedHosts.get(incoming);
