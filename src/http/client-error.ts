// Requests node's HTTP parser refuses before the app sees them (a raw backslash or control character
// in the target, a malformed header line, a header block over maxHeaderSize, a request smuggling
// attempt with both Content-Length and Transfer-Encoding) still get an FSPIOP error body, not node's
// bare "400 Bad Request" (SPEC §5: every rejection is an FSPIOP error). The connection is closed after
// the answer, as node does by default (https://nodejs.org/api/http.html#event-clienterror).
import type { Duplex } from 'node:stream';
import { GatewayError, toResponse, toWireBody, type GatewayErrorCode } from '../errors.js';

/** Which gateway error a parser failure is. */
function codeOf(err: NodeJS.ErrnoException): GatewayErrorCode {
  if (err.code === 'HPE_HEADER_OVERFLOW') return 'GW_HEADER_MALFORMED';
  if (err.code === 'HPE_INVALID_URL') return 'GW_PATH_MALFORMED';
  return 'GW_HEADER_MALFORMED';
}

/**
 * A 'clientError' listener: answers with the FSPIOP error when the socket can still be written,
 * then destroys it. `onError` sees every failure (for metrics).
 */
export function answerClientError(onError?: (code: string) => void): (err: NodeJS.ErrnoException, socket: Duplex) => void {
  return function answerClientError(err, socket) {
    onError?.(err.code ?? 'unknown');
    if (err.code === 'ECONNRESET' || !socket.writable) { socket.destroy(); return; }
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      socket.end('HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    const e = new GatewayError(codeOf(err), { detail: 'request rejected by the HTTP parser' });
    const body = JSON.stringify(toWireBody(e));
    socket.end(`HTTP/1.1 ${e.httpStatus} ${e.httpStatus === 431 ? 'Request Header Fields Too Large' : 'Bad Request'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  };
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
