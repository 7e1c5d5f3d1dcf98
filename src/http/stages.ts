// The core pipeline stages shared by the inbound and outbound listeners. Each is a small factory that
// checks its options once and returns a named middleware (hono's factory pattern). Capability stages (JWS, ILP,
// quarantine) live in their own folders and are slotted in by app.ts.

import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { GatewayError, toGatewayError, toLogRecord, toWireBody } from '../errors.js';
import { hasDuplicateKeys } from '../fspiop/duplicate-keys.js';
import { checkFspiopHeaders } from '../fspiop/headers.js';
import { checkBodyForm } from '../fspiop/iso20022.js';
import { jsonLimitExceeded, MAX_JSON_DEPTH } from '../fspiop/json-limits.js';
import { Message } from '../fspiop/message.js';
import { isSwitchOnly } from '../fspiop/resources.js';
import { matchRoute } from '../fspiop/routes.js';
import type { AuditLog } from '../logging/audit.js';
import { checkDeclaredLength, hasBody, readBody } from '../proxy/body.js';
import { checkForwardable } from '../proxy/headers.js';
import type { Telemetry } from '../telemetry/types.js';
import type { ClientRevocationGate } from '../tls/ocsp/client-gate.js';
import { type PeerResolverOptions, peerOf } from '../tls/peer.js';
import { nextTurn, YIELD_ABOVE_BYTES } from '../util/turns.js';
import { hostRefusal, targetAsSent } from './client-error.js';
import type { GatewayContext, GatewayMiddleware } from './context.js';
import { header } from './context.js';

type LogFn = (obj: object, msg?: string) => void;
/** The slice of a pino logger the pipeline uses. */
export interface RequestLogger {
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  debug: LogFn;
  /** pino's: lets a stage skip building a record no one will write. Absent: every level is written. */
  isLevelEnabled?: (level: string) => boolean;
}

const REQUEST_ID_RE = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * Refusals a flood produces by the thousand, logged at debug under these messages: they are counted (the limits in
 * switchguard_rate_limited_total per DFSP and reason, every refusal in the request metrics by code) and audited once
 * per window (src/logging/audit-window.ts), so a flood does not also flood the log (an error line each cost about as
 * much as the refusal itself). A quarantined DFSP is refused before its limits apply (hostile review of 2026-12-02).
 */
const FLOOD_REFUSALS: ReadonlyMap<string, string> = new Map([
  ['GW_RATE_LIMITED', 'request limited'],
  ['GW_CONCURRENCY_LIMITED', 'request limited'],
  ['GW_PEER_QUARANTINED', 'request quarantined'],
]);

/** FSP ids are 1–32 characters (FSPIOP API 1.1 §7.3.12 FspId); a header longer than this is logged cut. */
const MAX_LOGGED_HEADER_CHARS = 64;
/** A header value as the request log keeps it: the client chooses it, so its length is bounded here. */
const logged = (v: string | undefined): string | undefined =>
  v === undefined || v.length <= MAX_LOGGED_HEADER_CHARS ? v : `${v.slice(0, MAX_LOGGED_HEADER_CHARS)}…(${v.length} characters)`;

/**
 * Outermost stage: request id, timing, the one log line per request decision, request metrics.
 * Errors thrown by later stages are rendered by renderError (app.onError) before this sees them.
 * `served`: the route label of a non-FSPIOP resource the gateway answers itself (GET /.well-known/jwks.json).
 */
export function requestScope(deps: {
  listener: 'inbound' | 'outbound';
  telemetry: Telemetry;
  logger: RequestLogger;
  audit?: AuditLog;
  served?: string;
}): GatewayMiddleware {
  const { listener, telemetry, logger, audit, served } = deps;
  return async function requestScope(c, next) {
    const startedAt = performance.now();
    const given = header(c, 'x-request-id');
    c.set('requestId', given && REQUEST_ID_RE.test(given) ? given : randomUUID());
    c.set('startedAt', startedAt);
    await next();
    const seconds = (performance.now() - startedAt) / 1000;
    const err = c.error ? toGatewayError(c.error) : undefined;
    const route = c.get('route')?.template ?? served ?? 'unmatched';
    const status = c.res.status;
    telemetry.request({ listener, route, method: c.req.method, status, fspiopCode: err?.fspiopCode ?? '', seconds });
    if (err && audit) auditRejection(audit, err.code, c);
    const flood = err && FLOOD_REFUSALS.get(err.code);
    const level = !err ? 'info' : flood ? 'debug' : err.httpStatus >= 500 ? 'error' : 'warn';
    if (logger.isLevelEnabled?.(level) === false) return;
    const record = {
      requestId: c.get('requestId'),
      listener,
      route,
      method: c.req.method,
      status,
      peer: c.get('peer')?.fspId,
      source: logged(header(c, 'fspiop-source')),
      destination: logged(header(c, 'fspiop-destination')),
      outcome: err ? 'rejected' : served ? 'served' : 'forwarded',
      ms: Math.round(seconds * 1e4) / 10,
      ...(c.get('message') && c.get('message').signature !== 'unchecked' ? { jwsForm: c.get('message').signature } : {}),
      ...(err ? toLogRecord(err) : {}),
    };
    if (level === 'info') logger.info(record, 'request');
    else if (level === 'debug') logger.debug(record, flood as string);
    else if (level === 'error') logger.error(record, 'request failed');
    else logger.warn(record, 'request rejected');
  };
}

/** Security rejections go to the audit stream once, here, at the edge that decides the response. */
function auditRejection(audit: AuditLog, code: string, c: GatewayContext): void {
  const peer = c.get('peer');
  const common = { actor: 'peer', reason: code, requestId: c.get('requestId'), ...(peer ? { peer: peer.fingerprint256, fspId: peer.fspId } : {}) };
  if (code === 'GW_PEER_SOURCE_MISMATCH' || code === 'GW_PEER_IDENTITY_UNKNOWN' || code === 'GW_PEER_IDENTITY_AMBIGUOUS' || code === 'GW_PEER_CERT_NOT_CLIENT')
    audit.record({ event: 'peer_rejected', ...common });
  else if (code.startsWith('GW_JWS_') || code === 'GW_CLOCK_SKEW') audit.record({ event: 'signature_failed', ...common });
}

/** app.onError: every failure becomes an FSPIOP error body from the catalogue. */
export function renderError(e: Error, c: GatewayContext): Response {
  const err = toGatewayError(e);
  const res = c.json(toWireBody(err), err.httpStatus as 400);
  for (const [k, v] of Object.entries(err.headers ?? {})) res.headers.set(k, v);
  return res;
}

/**
 * Inbound: binds the TLS client certificate to a Peer (docs/security.md class 4). With OCSP (OCSP_POLICY soft or
 * hard) the certificate's status must first be settled and admitted: nothing of the request is looked at before.
 */
export function bindPeer(
  options: PeerResolverOptions,
  revocation?: Pick<ClientRevocationGate, 'admit'>,
  /** When the connection's client chain expires (src/tls/material.ts chainNotAfter): intermediates expire too. */
  chainNotAfter?: (socket: TLSSocket) => number | undefined,
): GatewayMiddleware {
  return async function bindPeer(c, next) {
    const socket = c.env.incoming.socket as TLSSocket;
    if (typeof socket.getPeerCertificate !== 'function' || !socket.authorized) {
      throw new GatewayError('GW_PEER_IDENTITY_UNKNOWN', { detail: 'No verified client certificate' });
    }
    if (revocation) await revocation.admit(socket);
    const peer = peerOf(socket, options);
    // The handshake checked the chain's validity; a keep-alive connection, or a TLS session resumed from a ticket
    // (OpenSSL does not check validity again), outlives it. Checked on every request, the leaf and the chain it came
    // with (hostile reviews of 2026-12-02: an expired leaf, then an expired intermediate, was served for as long as its
    // client kept a connection or a ticket).
    if (Math.min(peer.validTo.getTime(), chainNotAfter?.(socket) ?? Number.POSITIVE_INFINITY) <= Date.now())
      throw new GatewayError('GW_PEER_CERT_EXPIRED', {
        detail: 'Client certificate (or a CA certificate of its chain) has expired',
        headers: { connection: 'close' },
        context: { peer: peer.fspId },
      });
    c.set('peer', peer);
    await next();
  };
}

/**
 * Inbound: a message only the switch sends (fspiop/resources.ts isSwitchOnly) comes from a relay (the hub in the DFSP
 * role, TRUSTED_PROXY_PEERS): the peer's certificate says so, or without mTLS its FSPIOP-Source (which JWS proves)
 * → 3100 GW_PEER_NOT_SWITCH. Another DFSP's PATCH COMMITTED would have a payee credit a transfer the switch may yet
 * abort, and its PUT /participants point a payer's money at the FSP it names (hostile reviews of 2026-12-02).
 */
export function requireSwitchSender(deps: { trusted: readonly string[] }): GatewayMiddleware {
  const trusted = new Set(deps.trusted);
  return async function requireSwitchSender(c, next) {
    const template = c.get('route').template;
    if (isSwitchOnly(template)) {
      const sender = c.get('peer')?.fspId ?? header(c, 'fspiop-source');
      if (sender === undefined || !trusted.has(sender))
        throw new GatewayError('GW_PEER_NOT_SWITCH', { detail: `${template} is sent by the switch only`, context: { sender: sender ?? 'none' } });
    }
    await next();
  };
}

/**
 * The request target, read one way only from the FSPIOP resource table (class 1). A target the table refuses is
 * kept, not thrown: requireRoute answers it. Inbound, the stages between them (peer binding, quarantine, limits) never
 * read the target, so a DFSP's unroutable requests are refused as its own and charged to its limits like any other
 * (hostile review of 2026-12-02: a flood of refused targets bypassed the DFSP's rate limit and was logged without its
 * peer).
 */
export function matchFspiopRoute(): GatewayMiddleware {
  return async function matchFspiopRoute(c, next) {
    // The target and Host as sent: node-server may have been given placeholders (client-error.ts admitForRouting).
    try {
      c.set('route', matchRoute(c.req.method, targetAsSent(c.env.incoming)));
      const host = hostRefusal(c.env.incoming);
      if (host !== undefined) c.set('routeRefusal', host);
    } catch (e) {
      c.set('routeRefusal', e);
    }
    await next();
  };
}

/**
 * A resource the gateway answers itself (GET /.well-known/jwks.json), after stages 2-4: served only for exactly its
 * path as sent (Hono matches node-server's URL, in which dot segments are resolved and escapes decoded, so
 * `/x/../.well-known/jwks.json` matched: third re-review of 2026-12-02) and a Host node-server could read
 * (client-error.ts admitForRouting); refused as the FSPIOP routes refuse them.
 */
export function requireExactTarget(path: string): GatewayMiddleware {
  return async function requireExactTarget(c, next) {
    const refusal = hostRefusal(c.env.incoming);
    if (refusal !== undefined) throw refusal;
    const sent = targetAsSent(c.env.incoming);
    const q = sent.indexOf('?');
    if ((q === -1 ? sent : sent.slice(0, q)) !== path) throw new GatewayError('GW_ROUTE_UNKNOWN', { detail: "not the published keys' path as written" });
    await next();
  };
}

/** Answers a request target matchFspiopRoute refused (3000, 3001, 3002, …); nothing after this runs without a route. */
export function requireRoute(): GatewayMiddleware {
  return async function requireRoute(c, next) {
    const refusal = c.get('routeRefusal');
    if (refusal !== undefined) throw refusal;
    await next();
  };
}

/**
 * Body limit (declared length first), FSPIOP headers (src/fspiop/headers.ts), then the body read within the
 * limit and its JSON shape (depth ≤ MAX_JSON_DEPTH, at most maxJsonValues values: 3101 GW_BODY_TOO_COMPLEX),
 * so no later stage parses or walks an unbounded structure. All before any crypto.
 *
 * `addMissingDate` (the outbound listener only): a request from the local side without a Date gets one, an
 * IMF-fixdate of now (RFC 9110 §5.6.7, formerly RFC 7231 §7.1.1.1), which every later stage reads (freshness, the signer's protected
 * header) and which is forwarded (Message.headers). A Date that is present is checked as it is, and the
 * inbound listener keeps requiring one (3102): a peer's Date is what its signature and the replay window rest on.
 */
export function checkRequest(deps: { maxBodyBytes: number; maxJsonValues: number; addMissingDate?: { now: () => number } }): GatewayMiddleware {
  const limits = { maxDepth: MAX_JSON_DEPTH, maxValues: deps.maxJsonValues };
  const addDate = deps.addMissingDate;
  return async function checkRequest(c, next) {
    const incoming = c.env.incoming;
    checkDeclaredLength(incoming, deps.maxBodyBytes);
    checkForwardable(incoming.headers);
    const withBody = hasBody(incoming);
    const route = c.get('route');
    // A message the table says has no body (GET, DELETE) is never signed, so a body on it would be
    // forwarded unchecked: refused.
    if (withBody && !route.hasBody)
      throw new GatewayError('GW_BODY_MALFORMED', { detail: `${route.kind === 'request' ? c.req.method : 'this'} message carries no body` });
    // toUTCString() is the IMF-fixdate form ("Sun, 06 Nov 1994 08:49:37 GMT"; ECMA-262 Date.prototype.toUTCString).
    const addedDate = addDate && header(c, 'date') === undefined ? new Date(addDate.now()).toUTCString() : undefined;
    const get = addedDate === undefined ? (n: string) => header(c, n) : (n: string) => (n === 'date' ? addedDate : header(c, n));
    const checked = checkFspiopHeaders(c.req.method, get, route, route.hasBody);
    c.set('date', checked.date);
    const body = await readBody(incoming, deps.maxBodyBytes);
    // Every message of a route with a body has one (a JSON object, below): an empty one is refused, not forwarded.
    if (route.hasBody && body.length === 0) throw new GatewayError('GW_BODY_MALFORMED', { detail: 'this message needs a JSON body' });
    // Every stage and the upstream must read the same text: bytes that are not UTF-8 would be replaced
    // by U+FFFD here and handled otherwise elsewhere, and a byte-order mark is dropped by some parsers and
    // refused by JSON.parse (RFC 8259 §8.1: no BOM, UTF-8).
    if (body.length > 0 && (!isUtf8(body) || (body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf))) {
      throw new GatewayError('GW_BODY_MALFORMED', { detail: 'body is not UTF-8 JSON without a byte-order mark' });
    }
    const exceeded = body.length > 0 ? jsonLimitExceeded(body, limits) : undefined;
    if (exceeded) {
      throw new GatewayError('GW_BODY_TOO_COMPLEX', {
        detail: exceeded === 'depth' ? `JSON nested deeper than ${MAX_JSON_DEPTH} levels` : `more than ${deps.maxJsonValues} JSON values`,
      });
    }
    const message = new Message(body, { arrivedSigned: header(c, 'fspiop-signature') !== undefined, apiType: checked.apiType, template: route.template });
    if (addedDate !== undefined) message.headers.date = addedDate;
    if (body.length > 0) {
      // Parsers disagree on which of two equal member names wins (RFC 8259 §4): no stage may read one
      // value while the upstream reads the other, so such a body is refused on both listeners.
      if (body.length > YIELD_ABOVE_BYTES) await nextTurn();
      if (hasDuplicateKeys(message.text())) throw new GatewayError('GW_BODY_MALFORMED', { detail: 'duplicate JSON member names' });
      // Every FSPIOP and ISO 20022 body is a JSON object. Checked here whatever the later stages read: text that is
      // valid UTF-8 but not JSON (UTF-16 JSON with no BOM is: its zero bytes are UTF-8) would otherwise pass the
      // stages that never parse it, to an upstream that guesses the encoding (RFC 4627 §3) and reads other members.
      if (body.length > YIELD_ABOVE_BYTES) await nextTurn();
      // One form per body, the one its Content-Type names: a switch service may read the other (iso20022.ts).
      checkBodyForm(checked.apiType, route.template, message.json());
    }
    c.set('message', message);
    await next();
  };
}

/**
 * Inbound: FSPIOP-Source must be the certificate's FSP id, unless the peer relays for others (the hub
 * in the DFSP role, TRUSTED_PROXY_PEERS) → 3100 Invalid FSPIOP-Source; only such a relay may send FSPIOP-Proxy
 * → 3101.
 */
export function requireSourceMatchesPeer(deps: { trusted: readonly string[] }): GatewayMiddleware {
  const trusted = new Set(deps.trusted);
  return async function requireSourceMatchesPeer(c, next) {
    const peer = c.get('peer')?.fspId;
    if (peer === undefined) throw new GatewayError('GW_PEER_IDENTITY_UNKNOWN', { detail: 'No verified client certificate' });
    const source = header(c, 'fspiop-source');
    if (source !== peer && !trusted.has(peer)) throw new GatewayError('GW_PEER_SOURCE_MISMATCH', { detail: 'Invalid FSPIOP-Source', context: { peer } });
    // FSPIOP-Proxy names the inter-scheme proxy a message came through; the switch's lookup service and proxy
    // flows act on it (account-lookup-service docs/Proxy). Only a relay the operator lists may send it.
    if (header(c, 'fspiop-proxy') !== undefined && !trusted.has(peer))
      throw new GatewayError('GW_HEADER_FORBIDDEN', { detail: 'FSPIOP-Proxy from a peer that is no trusted relay (TRUSTED_PROXY_PEERS)' });
    await next();
  };
}
