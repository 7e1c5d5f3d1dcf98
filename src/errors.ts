// One error family for the whole gateway. Every rejection the gateway makes is a GatewayError whose
// stable `code` maps, through CATALOGUE, to an FSPIOP error code and HTTP status (API Definition v1.1 §7.6).
// toWireBody() renders what the peer sees; toLogRecord() renders what the operator sees. Nothing
// internal (stack, header values, key material) ever reaches the wire.

/** Fixed FSPIOP descriptions by error code (API Definition v1.1 §7.6). */
export const FSPIOP_DESCRIPTIONS = {
  '1000': 'Communication error',
  '1001': 'Destination communication error',
  '2001': 'Internal server error',
  '2003': 'Service currently unavailable',
  '2004': 'Server timed out',
  '2005': 'Server busy',
  '3000': 'Generic client error',
  '3001': 'Unacceptable version requested',
  '3002': 'Unknown URI',
  '3100': 'Generic validation error',
  '3101': 'Malformed syntax',
  '3102': 'Missing mandatory element',
  '3104': 'Too large payload',
  '3105': 'Invalid signature',
  '3106': 'Modified request',
  '3201': 'Destination FSP Error',
  '3205': 'Quote ID not found',
  '3208': 'Transfer ID not found',
  '3302': 'Quote expired',
  '3303': 'Transfer expired',
} as const;

export type FspiopCode = keyof typeof FSPIOP_DESCRIPTIONS;

interface CatalogueEntry {
  readonly fspiopCode: FspiopCode;
  readonly httpStatus: number;
  /** What an operator should check when this error shows up (docs/errors.md). */
  readonly operatorHint: string;
}

const entry = (fspiopCode: FspiopCode, httpStatus: number, operatorHint: string): CatalogueEntry => ({ fspiopCode, httpStatus, operatorHint });

/**
 * Every gateway error code. The README's "Error codes" table is checked against this object by a test
 * (test/unit/config/docs.test.ts), so adding a code means documenting it.
 */
export const CATALOGUE = {
  // --- peer identity and access (tls/, admin/) ---
  GW_PEER_SOURCE_MISMATCH: entry(
    '3100',
    400,
    'FSPIOP-Source differs from the FSP id bound to the client certificate; check the DFSP sends its own id, or list relaying peers in TRUSTED_PROXY_PEERS.',
  ),
  GW_PEER_NOT_SWITCH: entry(
    '3100',
    400,
    'A message only the switch sends (PATCH /transfers/{ID} and /fxTransfers/{ID}, PUT /participants/..., PUT /services/FXP...) came from a peer (without mTLS: an FSPIOP-Source) that is neither the hub (DFSP role) nor in TRUSTED_PROXY_PEERS.',
  ),
  GW_PEER_IDENTITY_UNKNOWN: entry('3100', 400, 'The client certificate carries no usable FSP id (no CN/SAN, or no entry in PEER_IDENTITY_MAP).'),
  GW_PEER_IDENTITY_AMBIGUOUS: entry(
    '3100',
    400,
    'The client certificate names more than one identity (several CNs, DNS/URI SANs that disagree, or a CN that differs from the SAN with PEER_IDENTITY_FROM=san); issue a certificate that names the FSP once.',
  ),
  GW_PEER_CERT_NOT_CLIENT: entry(
    '3100',
    400,
    'The client certificate is not an end-entity client certificate (basicConstraints CA:TRUE, keyUsage without digitalSignature, or extendedKeyUsage without clientAuth).',
  ),
  GW_PEER_CERT_EXPIRED: entry(
    '3100',
    400,
    'The client certificate expired while its connection, or a TLS session resumed from a ticket, was still in use; the connection is closed. The DFSP reconnects with its renewed certificate.',
  ),
  GW_PEER_CERT_REVOKED: entry(
    '3100',
    400,
    "The client certificate's OCSP responder says it is revoked (OCSP_POLICY soft or hard); the connection is closed. The DFSP needs a new certificate.",
  ),
  GW_PEER_CERT_STATUS_UNKNOWN: entry(
    '2003',
    503,
    "OCSP_POLICY=hard and the client certificate's status could not be established (responder unreachable, slow, or its answer unknown or not trusted); the connection is closed. See the OCSPResponderFailing runbook.",
  ),
  GW_PEER_QUARANTINED: entry(
    '2003',
    503,
    'The peer was quarantined through the admin API; release it with DELETE /admin/quarantine/{fspId} once the incident is closed.',
  ),
  // --- FSPIOP request checks (fspiop/) ---
  GW_BODY_TOO_LARGE: entry('3104', 400, 'Body exceeds MAX_BODY_BYTES; check the sender or raise the limit.'),
  GW_BODY_MALFORMED: entry('3101', 400, 'Body is not valid JSON (or has duplicate member names).'),
  GW_BODY_MEMBER_MISSING: entry(
    '3102',
    400,
    'A body member the API makes mandatory and the gateway checks (transferId, payeeFsp/payerFsp, condition, ilpPacket, quoteId, bulkTransferId, commitRequestId, conversionTerms.conversionId, …) is absent; present in a wrong form it is refused with the code of its check.',
  ),
  GW_BODY_TOO_COMPLEX: entry(
    '3101',
    400,
    'Body JSON nests deeper than 32 levels or holds more than MAX_JSON_VALUES values; FSPIOP bodies are far below both, so look for a hostile or broken sender.',
  ),
  GW_HEADER_MISSING: entry('3102', 400, 'A mandatory FSPIOP header (Date, FSPIOP-Source, Content-Type, Accept, FSPIOP-Destination) is missing.'),
  GW_HEADER_MALFORMED: entry(
    '3101',
    400,
    'An FSPIOP header does not follow the FSPIOP API Definition v1.1 §3.2 (RFC 1123 Date, versioned media type matching the resource).',
  ),
  GW_VERSION_UNSUPPORTED: entry('3001', 406, 'Accept/Content-Type asks for an API version the gateway does not serve (supported: 1.0, 1.1, 2.0).'),
  GW_PATH_MALFORMED: entry(
    '3101',
    400,
    'The request path has a dot segment, an encoded separator (/, \\, ?, #, %), an encoded unreserved character, a character outside RFC 3986 pchar or broken percent-encoding; an upstream could route it differently, so it is refused.',
  ),
  GW_HEADER_FORBIDDEN: entry(
    '3101',
    400,
    'Connection names an end-to-end header (FSPIOP-*, Date, Content-*, Accept, X-Forwarded-*), or the request carries a method or URL override header (X-HTTP-Method-Override, X-Original-URL, …), or FSPIOP-Proxy comes from a peer that is no trusted relay; the gateway forwards exactly what it checked, so it refuses these.',
  ),
  GW_ROUTE_UNKNOWN: entry('3002', 404, "The path is not an FSPIOP 1.1/2.0 resource; check the caller's base URL."),
  GW_METHOD_NOT_ALLOWED: entry('3000', 405, 'The path exists but not with this method (see the Allow header).'),
  GW_CLOCK_SKEW: entry('3105', 400, "Date header outside JWS_MAX_CLOCK_SKEW_SECONDS; check the sender's clock (NTP)."),
  GW_IDENTITY_MISMATCH: entry(
    '3100',
    400,
    'IDENTITY_CHECK=enforce: an FSP id in the body (the member the message names, e.g. payerFsp, payee.partyIdInfo.fspId, DbtrAgt) differs from FSPIOP-Source or FSPIOP-Destination where the API ties them; the sender builds inconsistent messages or speaks for another FSP. switchguard_identity_mismatch_total shows which member.',
  ),
  // --- JWS (jws/) ---
  GW_JWS_MISSING: entry('3105', 400, 'The request needs an FSPIOP-Signature and has none (or lacks FSPIOP-URI/FSPIOP-HTTP-Method).'),
  GW_JWS_MALFORMED: entry('3105', 400, 'FSPIOP-Signature is not the JSON {protectedHeader, signature} form with base64url members.'),
  GW_JWS_ALG_NOT_ALLOWED: entry('3105', 400, 'The protected header names an algorithm outside JWS_ALGORITHMS, or one that does not fit the key.'),
  GW_JWS_KEY_UNKNOWN: entry('3105', 400, "No verification key for this FSPIOP-Source in JWS_VERIFICATION_KEYS_DIRECTORY; distribute the DFSP's key."),
  GW_JWS_KEY_REJECTED: entry('3105', 400, "The DFSP's key fails the key rules (e.g. RSA under 2048 or over 4096 bits); ask for a new key."),
  GW_JWS_KEY_REVOKED: entry(
    '3105',
    400,
    'The signature was made with a key an operator revoked (POST /admin/keys/revocations); the DFSP must sign with a new key, whatever source still lists the old one.',
  ),
  GW_JWS_HEADER_MISMATCH: entry(
    '3105',
    400,
    'A protected header member disagrees with the HTTP headers or the real method/path; look for a proxy that rewrites headers or paths.',
  ),
  GW_JWS_BAD_SIGNATURE: entry(
    '3105',
    400,
    'The signature does not verify over the body; tampering, a re-serialising hop, or a rotated key not yet distributed.',
  ),
  GW_JWS_DUPLICATE_KEYS: entry('3105', 400, 'The body has duplicate JSON member names and only a canonical form would verify; rejected as ambiguous.'),
  GW_JWS_DATE_UNSIGNED: entry(
    '3105',
    400,
    'The JWS protected header lacks Date, so the freshness window would rest on an unsigned header (JWS_REQUIRE_SIGNED_DATE=true); upgrade the signer or relax for legacy signers.',
  ),
  GW_JWS_NUMBER_AMBIGUOUS: entry(
    '3105',
    400,
    'Only a re-serialised (sorted or insertion-order) form verified, and the wire body spells a number otherwise (1E2 for 100, excess digits, -0): the bytes forwarded would not mean what was signed. The sender must send the bytes it signed.',
  ),
  GW_JWS_REPLAY: entry('3105', 400, 'The same signature was seen within the skew window (REPLAY_PROTECTION=on).'),
  GW_JWS_SIGN_FAILED: entry('2001', 500, 'The gateway could not sign an outbound message; check JWS_SIGNING_KEY_PATH.'),
  // --- ILP (ilp/) ---
  GW_ILP_ID_MALFORMED: entry(
    '3101',
    400,
    'A transfer, quote, commit-request or conversion id (body or path) is not 1 to 128 characters of A-Z a-z 0-9 . _ ~ - (UUIDs and ULIDs are); percent-encoded ids are refused because the upstream would decode them to another id.',
  ),
  GW_ILP_CONDITION_MALFORMED: entry('3100', 400, 'condition is not 43 unpadded base64url characters of a 32-byte hash.'),
  GW_ILP_FULFILMENT_MALFORMED: entry('3100', 400, 'fulfilment is not 43 unpadded base64url characters of a 32-byte preimage.'),
  GW_ILP_FULFILMENT_INVALID: entry('3100', 400, 'SHA-256(fulfilment) differs from the stored condition (switch message: invalid fulfilment).'),
  GW_ILP_FULFILMENT_REUSED: entry('3106', 400, 'The transfer was already fulfilled once; a second fulfilment is refused.'),
  GW_ILP_FULFILMENT_MISSING: entry(
    '3102',
    400,
    'PUT /transfers/{ID} (or /fxTransfers/{ID}) in a state other than ABORTED carries no fulfilment; the hub accepts RESERVED/COMMITTED only with one.',
  ),
  GW_ILP_NOT_PAYEE: entry(
    '3100',
    400,
    "The fulfilment comes from an FSP other than the payee recorded at prepare time; nothing was consumed. Look for a DFSP probing other DFSPs' transfer ids.",
  ),
  GW_ILP_TRANSFER_DUPLICATE: entry(
    '3106',
    400,
    "POST /transfers (or /fxTransfers) reuses a prepared id with a different condition, payee or expiration (DFSP role: with another quote's packet and condition); an identical resend passes.",
  ),
  GW_ILP_QUOTE_DUPLICATE: entry(
    '3106',
    400,
    'DFSP role: POST /quotes reuses a quote id already requested with other parties or transaction. Hub role with ILP_QUOTE_BINDING: PUT /quotes, /bulkQuotes or /fxQuotes answers a quote already answered with other terms, or one already executed. The first stands; an identical resend passes.',
  ),
  GW_ILP_CONDITION_USED: entry(
    '3106',
    400,
    'The quote (its condition) this transfer carries already served another transfer id: one quote serves one transfer (DFSP role; hub role with ILP_QUOTE_BINDING).',
  ),
  GW_ILP_PACKET_MALFORMED: entry('3100', 400, 'ilpPacket does not decode as the expected ILP packet type/version.'),
  GW_ILP_PACKET_MISMATCH: entry(
    '3100',
    400,
    'The decoded ILP packet disagrees with the message body (condition, amount, payee or quote), or a prepare names a payer (payee) other than its FSPIOP-Source (FSPIOP-Destination).',
  ),
  GW_ILP_EXPIRATION_INVALID: entry(
    '3100',
    400,
    'expiration is missing, unparsable, already in the past, or further ahead than allowed (a prepare: ILP_TRANSFER_MAX_TTL_SECONDS; with quote binding, a quote answer: ILP_QUOTE_MAX_TTL_SECONDS).',
  ),
  GW_ILP_TRANSFER_EXPIRED: entry('3303', 400, "The fulfilment arrived after the transfer's expiration."),
  GW_ILP_TRANSFER_UNKNOWN: entry('3208', 400, 'No condition is stored for this transfer id (never prepared through this gateway, or long expired).'),
  GW_ILP_QUOTE_UNKNOWN: entry(
    '3205',
    400,
    "No quote is stored for this transfer's condition / transaction; or (hub role, quote binding) a bulk quote answer to a POST /bulkQuotes that did not pass this gateway, or with more individual quotes than asked.",
  ),
  GW_ILP_QUOTE_EXPIRED: entry('3302', 400, 'The quote behind this transfer has expired.'),
  GW_ILP_BULK_QUOTA: entry(
    '2005',
    503,
    "The FSP's bulk messages already hold ILP_BULK_ITEMS_MAX_PER_FSP items' records; a bulk is refused whole until enough of them expire (the detail says when the oldest do).",
  ),
  GW_ILP_NO_SECRET: entry('2001', 500, 'ILP generation needs ILP_SECRET.'),
  // --- store (store/) ---
  GW_STORE_UNAVAILABLE: entry(
    '2003',
    503,
    'Redis (or the configured store) does not answer; ILP and replay checks fail closed until it is back. Check REDIS_URL and /ready.',
  ),
  GW_STORE_FULL: entry(
    '2003',
    503,
    'The in-memory store reached MEMORY_STORE_MAX_ENTRIES or MEMORY_STORE_MAX_BYTES of live records; it refuses new ones rather than evict any (switchguard_store_full_total). Raise the bounds or use Redis.',
  ),
  // --- routing and upstream (proxy/, peers/) ---
  GW_DESTINATION_UNKNOWN: entry('3201', 400, 'FSPIOP-Destination has no entry in the peer directory (PEERS_PATH) and no PEER_ENDPOINT is set.'),
  GW_UPSTREAM_UNREACHABLE: entry('1001', 503, 'The upstream (INBOUND_UPSTREAM_URL or the peer) refused or dropped the connection.'),
  GW_UPSTREAM_TIMEOUT: entry('2004', 500, 'The upstream did not answer within UPSTREAM_*_TIMEOUT_MS.'),
  GW_UPSTREAM_RESPONSE_TOO_LARGE: entry('1000', 503, 'The upstream response exceeded MAX_BODY_BYTES.'),
  // --- traffic control (limits/) ---
  // 2005 "Server busy: Server is rejecting requests due to overloading. Try again later." (API Definition
  // v1.1 §7.6.2 Table 111). HTTP 503: the API's status table (§3.2.4 Table 3)
  // has no 429, and 503 is its "temporary state, the client should retry" status. Retry-After says when.
  GW_RATE_LIMITED: entry(
    '2005',
    503,
    'The FSP exceeded its requests-per-second limit (RATE_LIMITS_PATH or a run-time override); see the DFSPRateLimited runbook in docs/operations.md.',
  ),
  GW_CONCURRENCY_LIMITED: entry(
    '2005',
    503,
    'The FSP has as many requests in flight as its concurrency limit allows (RATE_LIMITS_PATH); usually a slow upstream or a DFSP not waiting for answers.',
  ),
  // --- admin API (admin/) ---
  GW_ADMIN_UNAUTHORIZED: entry(
    '3000',
    401,
    'Admin call without a valid bearer token (ADMIN_TOKEN, ADMIN_TOKENS or ADMIN_TOKENS_PATH), or with a query string.',
  ),
  GW_ADMIN_FORBIDDEN: entry('3000', 403, 'Admin call with a viewer token on an operator action (reload, quarantine, limits); use an operator token.'),
  GW_ADMIN_NOT_FOUND: entry('3000', 404, 'Admin call names an unknown peer or resource.'),
  GW_ADMIN_BAD_REQUEST: entry('3000', 400, 'Admin call with a malformed body or parameter.'),
  GW_ADMIN_HOST_REFUSED: entry(
    '3000',
    421,
    'Admin listener request whose Host is neither an IP address, localhost nor a name in ADMIN_ALLOWED_HOSTS (a browser page rebinding its name to the listener).',
  ),
  // --- everything else ---
  GW_SHUTTING_DOWN: entry(
    '2003',
    503,
    'The gateway is draining for a shutdown: a request pipelined behind one still in progress on the same connection is not processed; the connection is closed after the answers, and the client sends it again (to another replica).',
  ),
  GW_INTERNAL: entry('2001', 500, 'An unexpected failure inside the gateway; see the log record with the same request id.'),
} as const satisfies Record<string, CatalogueEntry>;

export type GatewayErrorCode = keyof typeof CATALOGUE;

export interface Extension {
  readonly key: string;
  readonly value: string;
}

export interface GatewayErrorOptions {
  /** Safe, fixed text appended to the FSPIOP description ("<fixed> - <detail>"). Never put header values, keys or signatures here. */
  readonly detail?: string;
  readonly cause?: unknown;
  /** Extra fields for the log record only. */
  readonly context?: Readonly<Record<string, unknown>>;
  /** FSPIOP extensionList entries (e.g. supported versions for 3001). */
  readonly extensions?: readonly Extension[];
  /** Extra HTTP response headers (e.g. Allow on 405). */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * No stack trace: for refusals a flood produces by the thousand (src/limits/middleware.ts), whose place of
   * origin the code says already; capturing V8's stack (and its async part) was a measurable share of a refusal.
   */
  readonly noStack?: boolean;
}

export class GatewayError extends Error {
  readonly code: GatewayErrorCode;
  readonly fspiopCode: FspiopCode;
  readonly httpStatus: number;
  readonly detail: string | undefined;
  readonly context: Readonly<Record<string, unknown>> | undefined;
  readonly extensions: readonly Extension[] | undefined;
  readonly headers: Readonly<Record<string, string>> | undefined;

  constructor(code: GatewayErrorCode, options: GatewayErrorOptions = {}) {
    const e = CATALOGUE[code];
    const limit = Error.stackTraceLimit;
    if (options.noStack) Error.stackTraceLimit = 0;
    try {
      super(options.detail ? `${code}: ${options.detail}` : code, options.cause === undefined ? undefined : { cause: options.cause });
    } finally {
      Error.stackTraceLimit = limit;
    }
    this.name = 'GatewayError';
    this.code = code;
    this.fspiopCode = e.fspiopCode;
    this.httpStatus = e.httpStatus;
    this.detail = options.detail;
    this.context = options.context;
    this.extensions = options.extensions;
    this.headers = options.headers;
  }
}

export const isGatewayError = (e: unknown): e is GatewayError => e instanceof GatewayError;

/** Any thrown value as a GatewayError (unknown failures become GW_INTERNAL, cause kept for the log). */
export function toGatewayError(e: unknown): GatewayError {
  return isGatewayError(e) ? e : new GatewayError('GW_INTERNAL', { cause: e });
}

export interface FspiopErrorBody {
  errorInformation: {
    errorCode: string;
    errorDescription: string;
    extensionList?: { extension: Extension[] };
  };
}

const MAX_DESCRIPTION = 128; // API Definition §7.4.2: ErrorDescription 1..128 characters

/** The FSPIOP wire body: "<fixed description> - <detail>", truncated to 128 characters. */
export function toWireBody(err: GatewayError): FspiopErrorBody {
  const fixed = FSPIOP_DESCRIPTIONS[err.fspiopCode];
  const full = err.detail ? `${fixed} - ${err.detail}` : fixed;
  const body: FspiopErrorBody = {
    errorInformation: { errorCode: err.fspiopCode, errorDescription: full.length > MAX_DESCRIPTION ? full.slice(0, MAX_DESCRIPTION) : full },
  };
  if (err.extensions && err.extensions.length > 0) {
    body.errorInformation.extensionList = { extension: err.extensions.slice(0, 16).map((x) => ({ key: x.key, value: x.value })) };
  }
  return body;
}

/** The structured log view: code, FSPIOP code, status, detail, context and the cause chain (messages only). */
export function toLogRecord(err: GatewayError): Record<string, unknown> {
  const causes: string[] = [];
  let c: unknown = err.cause;
  for (let i = 0; c !== undefined && i < 5; i++) {
    causes.push(c instanceof Error ? `${c.name}: ${c.message}` : String(c));
    c = c instanceof Error ? c.cause : undefined;
  }
  return {
    errorCode: err.code,
    fspiopCode: err.fspiopCode,
    httpStatus: err.httpStatus,
    ...(err.detail ? { detail: err.detail } : {}),
    ...(err.context ?? {}),
    ...(causes.length ? { cause: causes } : {}),
  };
}

/** A complete HTTP Response carrying the FSPIOP error body. */
export function toResponse(err: GatewayError): Response {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(err.headers ?? {}) };
  return new Response(JSON.stringify(toWireBody(err)), { status: err.httpStatus, headers });
}
