// Requests node's HTTP parser refuses before the app sees them (a raw backslash or control character
// in the target, a malformed header line, a header block over maxHeaderSize, a request smuggling
// attempt with both Content-Length and Transfer-Encoding) still get an FSPIOP error body, not node's
// bare "400 Bad Request" (every rejection is an FSPIOP error from src/errors.ts). The connection is closed after
// the answer, as node does by default (https://nodejs.org/api/http.html#event-clienterror).
import type { IncomingMessage } from 'node:http';
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
  const body = JSON.stringify(toWireBody(e));
  const status = tooLarge ? '431 Request Header Fields Too Large' : `${e.httpStatus} Bad Request`;
  return `HTTP/1.1 ${status}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
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

/** A Host @hono/node-server turns into a URL: a name or IPv4 address, or a bracketed IPv6 one, with a port or not. */
const ACCEPTED_HOST = /^(?:[a-z0-9._-]+|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i;
const refusedBeforeApp = new WeakMap<IncomingMessage, GatewayError>();

/**
 * Called by the FSPIOP listeners before @hono/node-server sees a request. One it could not turn into a web Request (no
 * Host, a Host that is not a host, a target that is not a path or has a backslash in it) would be answered by
 * requestErrorResponse without any stage having run: not bound to its peer, not refused for a quarantine, not charged
 * to its limits, not logged (re-review of 2026-12-02: a DFSP sent such requests by the hundred on one connection). It
 * gets placeholders node-server accepts instead (Host `localhost`, target `/`), and its refusal is kept for the router
 * (src/http/stages.ts matchFspiopRoute), which answers it after those stages like any refused target.
 */
export function admitForRouting(incoming: IncomingMessage): void {
  const host = incoming.headers.host;
  const url = incoming.url ?? '';
  const query = url.indexOf('?');
  const backslash = url.indexOf('\\');
  if (url.charCodeAt(0) !== 0x2f || (backslash !== -1 && (query === -1 || backslash < query))) {
    refusedBeforeApp.set(incoming, new GatewayError('GW_PATH_MALFORMED', { detail: 'request target is not an acceptable path' }));
    incoming.url = '/';
  }
  if (host === undefined || !ACCEPTED_HOST.test(host)) {
    if (!refusedBeforeApp.has(incoming))
      refusedBeforeApp.set(incoming, new GatewayError('GW_HEADER_MALFORMED', { detail: 'Host header missing or not a host' }));
    incoming.headers.host = 'localhost';
  }
}

/** The refusal admitForRouting kept for this request, if any. */
export const refusalBeforeApp = (incoming: IncomingMessage): GatewayError | undefined => refusedBeforeApp.get(incoming);
