// The configuration contract: every setting the gateway reads, with its environment variable, a doc
// string and a schema (which carries the default). The Config type is derived from this table, the
// README's configuration table and config/example.env are checked against it by tests.
import { z } from 'zod';
import { ALLOWED_HOST_RE } from '../admin/host.js';
import { ALGORITHM_NAMES as JWS_ALGORITHM_NAMES } from '../jws/algorithms.js'; // issue 10: one source per fact
import { PAYLOAD_FORMS } from '../jws/payload-forms.js';
import type { TlsGroups } from '../tls/groups.js';
import { BARE_HOST_PORT, isBareHostPort, type UpstreamRoute } from './upstream-routes.js';

export interface Field<S extends z.ZodType = z.ZodType> {
  readonly env: string;
  readonly doc: string;
  readonly schema: S;
  /** The value is a path to a file that must exist at start-up. */
  readonly file?: boolean;
  /** The value is a secret: never logged, never defaulted outside the development profile. */
  readonly secret?: boolean;
  /**
   * Setting the variable says "this is a real deployment" (it points at real infrastructure). Every file and
   * every secret field counts as such too (isProductionField): with any of them set and SWITCHGUARD_PROFILE
   * unset, start-up stops instead of falling back to the development profile.
   */
  readonly production?: boolean;
}

const field = <S extends z.ZodType>(env: string, doc: string, schema: S, extra: { file?: boolean; secret?: boolean; production?: boolean } = {}): Field<S> => ({
  env,
  doc,
  schema,
  ...extra,
});

// --- value parsers (environment values are strings) ---
const TRUE = new Set(['true', 'on', '1', 'yes']);
const FALSE = new Set(['false', 'off', '0', 'no']);
const bool = (def: boolean) =>
  z
    .string()
    .optional()
    .refine((v) => v === undefined || TRUE.has(v.toLowerCase()) || FALSE.has(v.toLowerCase()), { message: 'expected true or false' })
    .transform((v) => (v === undefined ? def : TRUE.has(v.toLowerCase())));
const int = (def: number, min: number, max: number) =>
  z
    .string()
    .optional()
    .refine((v) => v === undefined || (/^-?\d+$/.test(v.trim()) && Number(v) >= min && Number(v) <= max), {
      message: `expected an integer from ${min} to ${max}`,
    })
    .transform((v) => (v === undefined ? def : Number(v)));
const port = (def: number) => int(def, 0, 65535);
const str = () => z.string().min(1).optional();
const strDef = (def: string) => z.string().min(1).default(def);
const oneOf = <const T extends readonly [string, ...string[]]>(values: T, def: T[number]) => z.enum(values).default(def);
const list = (def: readonly string[], allowed?: readonly string[]) =>
  z
    .string()
    .optional()
    .transform((v) =>
      v === undefined
        ? [...def]
        : v
            .split(',')
            .map((s) => s.trim())
            .filter((s) => s.length > 0),
    )
    .refine((l) => !allowed || l.every((x) => allowed.includes(x)), { message: `expected a comma-separated list of ${allowed?.join(', ')}` })
    // A list of choices ("allowed") set to nothing ("" or ",") would turn its check into a refusal of everything.
    .refine((l) => !allowed || l.length > 0, { message: `expected at least one of ${allowed?.join(', ')}` });
const url = () =>
  z
    .string()
    .optional()
    .refine((v) => v === undefined || !isBareHostPort(v), { message: `expected an http:// or https:// URL; this one ${BARE_HOST_PORT}` })
    .refine((v) => v === undefined || isBareHostPort(v) || /^https?:\/\/[^\s/]+/.test(v), { message: 'expected an http:// or https:// URL' })
    // A backslash is read as '/' by the WHATWG URL parser (http://\/u:p@h is user u at host h): refused, so what
    // is printed and checked is what is used (hostile review of 2026-12-01).
    .refine((v) => v === undefined || !v.includes('\\'), { message: "a backslash is read as '/' in a URL; write '/'" })
    // Credentials in a URL are never sent (no setting uses them) but would be printed in the banner, logs and
    // /admin/peers: refused, as the URL parser reads them (review of 2026-12-01).
    .refine((v) => v === undefined || !carriesCredentials(v), { message: 'credentials (user:password@) are not taken from a URL' });

/** Whether the URL parser finds a user or password in `v` (for a text it cannot parse: whether one is spelt before the host). */
function carriesCredentials(v: string): boolean {
  try {
    const u = new URL(v);
    return u.username !== '' || u.password !== '';
  } catch {
    return /^https?:\/\/[^/?#]*@/.test(v);
  }
}

export const FIELDS = {
  // --- general ---
  profile: field(
    'SWITCHGUARD_PROFILE',
    'development: generate a dev PKI under KEYS_DIR, public development ILP secret and built-in simulator; production: every path and secret must be given. Unset means development only when no file, secret, upstream, peer, key directory or Redis setting is given; otherwise start-up stops.',
    oneOf(['development', 'production'], 'development'),
  ),
  role: field('GATEWAY_ROLE', 'hub or dfsp: which ILP checks run and whose key signs.', oneOf(['hub', 'dfsp'], 'hub')),
  hubId: field('HUB_ID', 'FSP id of the hub (FSPIOP-Source of switch-originated messages).', strDef('hub')),
  dfspId: field('DFSP_ID', "This side's own FSP id; defaults to HUB_ID in the hub role.", str()),
  keysDir: field('KEYS_DIR', 'Where the development PKI lives (generated by `switchguard pki init`).', strDef('keys')),
  logLevel: field('LOG_LEVEL', 'pino log level.', oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info')),
  auditLog: field('AUDIT_LOG', 'Where security audit events go: stdout, stderr, off, or a file path.', strDef('stdout')),
  workers: field('WORKERS', 'Number of gateway processes sharing the listeners (>1 needs the Redis store).', int(1, 1, 64)),
  shutdownTimeoutMs: field('SHUTDOWN_TIMEOUT_MS', 'On SIGTERM, how long in-flight requests may take before the process exits.', int(10000, 0, 600000)),

  // --- inbound listener (mTLS) ---
  inboundHost: field('INBOUND_LISTEN_HOST', 'Inbound (peer-facing) listener address.', strDef('0.0.0.0')),
  inboundPort: field('INBOUND_LISTEN_PORT', 'Inbound (peer-facing) listener port.', port(8443)),
  inboundMtls: field('INBOUND_MUTUAL_TLS_ENABLED', 'Require and verify client certificates on the inbound listener.', bool(true)),
  serverCertPath: field('IN_SERVER_CERT_PATH', 'Inbound server certificate (PEM, chain allowed); watched and reloaded.', str(), { file: true }),
  serverKeyPath: field('IN_SERVER_KEY_PATH', 'Inbound server private key (PEM); watched and reloaded.', str(), { file: true, secret: true }),
  caCertPath: field(
    'IN_CA_CERT_PATH',
    'CA bundle that client certificates must chain to; watched and reloaded (a file with an incomplete PEM block or no certificate is refused, the previous bundle kept).',
    str(),
    { file: true },
  ),
  crlPath: field(
    'IN_CRL_PATH',
    'Optional CRLs (PEM) of revoked client certificates: exactly one per CA of IN_CA_CERT_PATH, signed by it, within its thisUpdate and nextUpdate (otherwise the file is refused, the previous CRLs kept); watched and reloaded, and a reload closes at once the open connections of the certificates it revokes.',
    str(),
    { file: true },
  ),
  tlsMinVersion: field('TLS_MIN_VERSION', 'Lowest TLS version accepted on the inbound listener.', oneOf(['TLSv1.3', 'TLSv1.2'], 'TLSv1.3')),
  tlsGroupsList: field(
    'TLS_GROUPS',
    "Key-exchange groups every TLS endpoint offers (inbound listener, mTLS client to peers, https upstreams), in preference order, separated by ':'. Unset: X25519MLKEM768:X25519:P-256:P-384 less what the runtime's OpenSSL lacks (the post-quantum hybrid X25519MLKEM768 needs OpenSSL 3.5, as in Node 24); a group given here that the runtime lacks stops start-up.",
    z.string().optional(),
  ),
  tlsReloadIntervalMs: field('TLS_RELOAD_INTERVAL_MS', 'Period of the certificate-file rescan that backs up fs.watch.', int(5000, 100, 3600000)),
  peerIdentityFrom: field(
    'PEER_IDENTITY_FROM',
    'Where the peer FSP id comes from: cn (the one subject CN), san (the one DNS/URI SAN value; a CN must equal it), map (PEER_IDENTITY_MAP only). Several CNs or disagreeing SANs are refused (3100).',
    oneOf(['cn', 'san', 'map'], 'cn'),
  ),
  peerIdentityMap: field(
    'PEER_IDENTITY_MAP',
    'JSON file mapping certificate SHA-256 fingerprint or subject CN to an FSP id; consulted first when set. A key of 32 hex bytes (colons optional) is a fingerprint and matches only the certificate with that fingerprint, never a CN; other keys match the subject CN (with PEER_IDENTITY_FROM=san only when the SANs, if any, name the same FSP).',
    str(),
    { file: true },
  ),
  trustedProxyPeers: field(
    'TRUSTED_PROXY_PEERS',
    'Comma-separated peer ids that may send with another FSPIOP-Source (relays). The hub is trusted in the dfsp role.',
    list([]),
  ),

  // --- OCSP (src/tls/ocsp/): inbound client certificate status, stapling of the server certificate's status ---
  ocspPolicy: field(
    'OCSP_POLICY',
    "OCSP for inbound client certificates, checked after the handshake and before the connection's first request is served: off; soft (revoked is refused, no usable answer is admitted and counted); hard (only a verified good answer is admitted). A refused connection is closed. Needs INBOUND_MUTUAL_TLS_ENABLED.",
    oneOf(['off', 'soft', 'hard'], 'off'),
  ),
  ocspResponderUrl: field(
    'OCSP_RESPONDER_URL',
    "OCSP responder asked about every client certificate, instead of the one named in the certificate's Authority Information Access.",
    url(),
    { production: true },
  ),
  ocspTimeoutMs: field(
    'OCSP_TIMEOUT_MS',
    'Longest wait for an OCSP responder (client check, staple fetch); past it the status is unknown and OCSP_POLICY decides.',
    int(2000, 50, 30000),
  ),
  ocspCacheMaxSeconds: field(
    'OCSP_CACHE_MAX_SECONDS',
    'An OCSP answer is used until its nextUpdate, and never longer than this; an answer without nextUpdate is also refused once older than this.',
    int(3600, 1, 7 * 86400),
  ),
  ocspErrorCacheSeconds: field(
    'OCSP_ERROR_CACHE_SECONDS',
    'After a lookup that gave no usable answer, the same certificate is not asked about again for this long (its status stays unknown); 0 asks every time.',
    int(30, 0, 3600),
  ),
  ocspNonce: field(
    'OCSP_NONCE',
    'Send a nonce with each OCSP request; an answer carrying another nonce is refused (one without a nonce is accepted).',
    bool(true),
  ),
  ocspStapling: field(
    'OCSP_STAPLING',
    "Staple the inbound server certificate's OCSP answer (from the responder in its AIA; the issuer must be in IN_SERVER_CERT_PATH or IN_CA_CERT_PATH) for TLS clients that ask.",
    bool(false),
  ),

  // --- FSPIOP request checks ---
  maxBodyBytes: field('MAX_BODY_BYTES', 'Largest request body accepted (3104 above it).', int(5 * 1024 * 1024, 1, 64 * 1024 * 1024)),
  maxJsonValues: field(
    'MAX_JSON_VALUES',
    'Most JSON values (members and elements) a body may hold (3101 above it, as is nesting deeper than 32); bounds the parse and canonicalisation work per request.',
    int(50000, 100, 10000000),
  ),
  identityCheck: field(
    'IDENTITY_CHECK',
    'Whether the FSP ids a body names agree with FSPIOP-Source and FSPIOP-Destination where the API ties them (payerFsp/payeeFsp, payer/payee partyIdInfo.fspId, initiatingFsp/counterPartyFsp, a registered fspId; ISO 20022 DbtrAgt/CdtrAgt), inbound after the signature and outbound before signing: off; log = one warning and switchguard_identity_mismatch_total per mismatch, then forwarded; enforce = refused with 3100. A header naming HUB_ID or a TRUSTED_PROXY_PEERS id is not compared.',
    oneOf(['off', 'log', 'enforce'], 'log'),
  ),

  // --- upstream (inbound forwarding) ---
  upstreamUrl: field(
    'INBOUND_UPSTREAM_URL',
    'Where inbound requests are forwarded (switch service or DFSP backend); with INBOUND_UPSTREAM_ROUTES, the resources it does not list. Unset in development: the built-in simulator.',
    url(),
    { production: true },
  ),
  upstreamRoutes: field(
    'INBOUND_UPSTREAM_ROUTES',
    'Upstreams per FSPIOP resource (the services of a split switch): comma-separated resource[|resource…]=URL items, e.g. parties|participants=http://account-lookup:4002,quotes|fxQuotes|bulkQuotes=http://quoting:3002; resources not listed go to INBOUND_UPSTREAM_URL. Each upstream gets its own pool, /ready check and metric label (upstream:<first resource>).',
    z.string().optional(),
    { production: true },
  ),
  upstreamCaCertPath: field(
    'INBOUND_UPSTREAM_CA_CERT_PATH',
    'CA bundle to trust for every https upstream (INBOUND_UPSTREAM_URL and INBOUND_UPSTREAM_ROUTES).',
    str(),
    {
      file: true,
    },
  ),
  upstreamConnections: field('UPSTREAM_CONNECTIONS', 'Keep-alive connections per upstream origin.', int(64, 1, 4096)),
  upstreamConnectTimeoutMs: field('UPSTREAM_CONNECT_TIMEOUT_MS', 'Connect timeout to an upstream (1001 when exceeded).', int(2000, 1, 120000)),
  upstreamHeadersTimeoutMs: field('UPSTREAM_HEADERS_TIMEOUT_MS', 'Time for the upstream to send response headers (2004 when exceeded).', int(10000, 1, 600000)),
  upstreamBodyTimeoutMs: field(
    'UPSTREAM_BODY_TIMEOUT_MS',
    'Idle time allowed between upstream response body chunks (2004 when exceeded).',
    int(10000, 1, 600000),
  ),

  // --- outbound listener and peers ---
  outboundHost: field(
    'OUTBOUND_LISTEN_HOST',
    'Outbound (local-side) listener address; plain HTTP, keep it on loopback or a private network.',
    strDef('127.0.0.1'),
  ),
  outboundPort: field('OUTBOUND_LISTEN_PORT', 'Outbound (local-side) listener port.', port(8444)),
  peersPath: field('PEERS_PATH', 'Peer directory (JSON or YAML: fspId → endpoint URL, or {endpoint, ilpVersion}); hot-reloaded.', str(), { file: true }),
  peerEndpoint: field('PEER_ENDPOINT', 'Default endpoint for destinations absent from the peer directory.', url(), { production: true }),
  outClientCertPath: field('OUT_CLIENT_CERT_PATH', 'Client certificate presented to peers over mTLS.', str(), { file: true }),
  outClientKeyPath: field('OUT_CLIENT_KEY_PATH', 'Private key of OUT_CLIENT_CERT_PATH.', str(), { file: true, secret: true }),
  outCaCertPath: field('OUT_CA_CERT_PATH', "CA bundle that peers' server certificates must chain to.", str(), { file: true }),

  // --- admin listener ---
  adminHost: field('ADMIN_LISTEN_HOST', 'Admin listener address (/health, /ready, /metrics, /admin/*).', strDef('127.0.0.1')),
  adminPort: field('ADMIN_LISTEN_PORT', 'Admin listener port.', port(9464)),
  adminAllowedHosts: field(
    'ADMIN_ALLOWED_HOSTS',
    "Comma-separated host names the admin listener may be addressed by besides IP addresses and localhost (a Service name, say); one starting with '.' allows every name below it. Any other Host gets 421 (DNS rebinding).",
    list([])
      .transform((l) => l.map((x) => x.toLowerCase()))
      .refine((l) => l.every((x) => ALLOWED_HOST_RE.test(x)), { message: "expected host names, or suffixes starting with '.'" }),
  ),
  adminToken: field(
    'ADMIN_TOKEN',
    'Bearer token for /admin/*; unset disables the admin API.',
    z.string().min(16, 'must be at least 16 characters').optional(),
    { secret: true },
  ),
  // traffic control: scoped admin tokens and per-DFSP limits (src/admin/tokens.ts, src/limits/)
  adminTokens: field(
    'ADMIN_TOKENS',
    'Comma-separated role:token pairs (roles viewer, operator; tokens at least 16 characters) for /admin/*; with ADMIN_TOKEN, that token is one more operator token.',
    z.string().optional(),
    { secret: true },
  ),
  adminTokensPath: field('ADMIN_TOKENS_PATH', 'File of role:token pairs, one a line (# comments); hot-reloaded, a bad file keeps the previous tokens.', str(), {
    file: true,
    secret: true,
  }),
  rateLimitsPath: field(
    'RATE_LIMITS_PATH',
    'Per-DFSP limits (JSON or YAML: default and fsps.<fspId> entries with rps, burst, concurrency and optional classes); hot-reloaded, a bad file keeps the previous limits. Unset: no limits.',
    str(),
    { file: true },
  ),
  rateLimitsReplicas: field(
    'RATE_LIMITS_REPLICAS',
    'Gateway replicas sharing the limits; while the store is down each process enforces 1/(RATE_LIMITS_REPLICAS x WORKERS) of every limit.',
    int(1, 1, 1000),
  ),
  rateLimitHoldMs: field(
    'RATE_LIMIT_HOLD_MS',
    "Inbound: a request refused by the DFSP's overall rate is answered when its bucket admits the next request, at most this many ms later (one interval apart per DFSP, at most 64 held per DFSP and process, and at most half of HTTP_REQUEST_TIMEOUT_MS), so a flooding peer's connection carries no more refused work meanwhile; 0 answers at once.",
    int(1000, 0, 1000),
  ),

  // --- connection limits (every listener: inbound, outbound, admin; per listener and process) ---
  tlsHandshakeTimeoutMs: field(
    'TLS_HANDSHAKE_TIMEOUT_MS',
    'A TLS handshake on the inbound listener must finish within this, or the socket is closed.',
    int(10000, 10, 120000),
  ),
  httpHeadersTimeoutMs: field(
    'HTTP_HEADERS_TIMEOUT_MS',
    "Every listener: a request's headers (the first request of a new connection too) must arrive within this; 408 and close otherwise.",
    int(10000, 10, 600000),
  ),
  httpRequestTimeoutMs: field(
    'HTTP_REQUEST_TIMEOUT_MS',
    'Every listener: the whole request, body included, must arrive within this; 408 (or close) otherwise. Not less than HTTP_HEADERS_TIMEOUT_MS.',
    int(30000, 10, 3600000),
  ),
  httpKeepAliveTimeoutMs: field(
    'HTTP_KEEPALIVE_TIMEOUT_MS',
    'Every listener: an idle keep-alive connection between requests is closed after this.',
    int(30000, 10, 600000),
  ),
  maxConnections: field('MAX_CONNECTIONS', 'Every listener: open connections at most; further connections are closed at once.', int(10000, 1, 1000000)),
  maxConnectionsPerAddress: field(
    'MAX_CONNECTIONS_PER_ADDRESS',
    'Every listener: open connections per client address at most (IPv6: per /64); further ones are closed at once.',
    int(500, 1, 1000000),
  ),

  // --- JWS ---
  validateInboundJws: field('VALIDATE_INBOUND_JWS', 'Verify FSPIOP-Signature on inbound requests with a body.', bool(true)),
  validatePutPartiesJws: field('VALIDATE_INBOUND_PUT_PARTIES_JWS', 'Also verify inbound PUT /parties (the SDK default is not to).', bool(false)),
  jwsAllowUnsignedHub: field(
    'JWS_ALLOW_UNSIGNED_HUB_CALLBACKS',
    'Accept unsigned messages whose FSPIOP-Source is HUB_ID (hubs that do not sign their own callbacks).',
    bool(false),
  ),
  jwsAlgorithms: field('JWS_ALGORITHMS', 'Allowed JWS algorithms.', list(['RS256', 'ES256'], JWS_ALGORITHM_NAMES)),
  jwsPayloadForms: field(
    'JWS_PAYLOAD_FORMS',
    'Payload forms tried in order when verifying: raw body bytes, sorted compact JSON, insertion-order compact JSON.',
    list(['raw', 'sorted', 'insertion'], PAYLOAD_FORMS),
  ),
  jwsMaxClockSkewSeconds: field('JWS_MAX_CLOCK_SKEW_SECONDS', 'Allowed distance of the Date header from now (3105 outside).', int(300, 1, 86400)),
  replayProtection: field(
    'REPLAY_PROTECTION',
    'Reject a signature seen before while its Date is inside the skew window (through the store: memory in one process, Redis across replicas).',
    bool(true),
  ),
  jwsRequireSignedDate: field(
    'JWS_REQUIRE_SIGNED_DATE',
    'A verified signature must protect the Date header (protected member Date equal to the header), so the freshness window and replay key rest on signed facts; false only for legacy signers.',
    bool(true),
  ),
  jwsSign: field('JWS_SIGN', 'Sign outbound messages this side originates.', bool(true)),
  jwsSignPutParties: field('JWS_SIGN_PUT_PARTIES', 'Also sign outbound PUT /parties.', bool(false)),
  jwsSigningKeyPath: field('JWS_SIGNING_KEY_PATH', 'Private key (PEM) this side signs with; reloaded on change.', str(), { file: true, secret: true }),
  jwsKeysDir: field('JWS_VERIFICATION_KEYS_DIRECTORY', 'Directory of <fspId>.pem (and <fspId>.<label>.pem) verification keys; watched.', str(), {
    production: true,
  }),
  jwsCacheSize: field('JWS_VERIFICATION_CACHE_SIZE', 'Parsed verification keys kept in the LRU cache.', int(1000, 1, 1000000)),
  jwsCacheTtlSeconds: field('JWS_VERIFICATION_CACHE_TTL', 'Seconds a parsed key stays cached before it is re-read.', int(3600, 1, 86400 * 30)),
  jwsUnknownSourceCooldownSeconds: field(
    'JWS_UNKNOWN_SOURCE_COOLDOWN_SECONDS',
    'Unknown sources are negatively cached this long; at most one directory scan per cooldown.',
    int(5, 1, 3600),
  ),
  jwsRescanIntervalSeconds: field('JWS_KEYS_RESCAN_INTERVAL_SECONDS', 'Period of the key-directory rescan that backs up fs.watch.', int(2, 1, 3600)),
  // issue 12: peer keys from remote sources (a jwksUrl in PEERS_PATH, a Mojaloop Connection Manager) and revocations
  peerKeysRefreshMinSeconds: field(
    'PEER_KEYS_REFRESH_MIN_SECONDS',
    "Remote key sources (a peer's jwksUrl, the Connection Manager) are fetched again at 80 % of their Cache-Control max-age, never sooner than this; also the first retry after a failure (then doubling).",
    int(30, 1, 86400),
  ),
  peerKeysRefreshMaxSeconds: field(
    'PEER_KEYS_REFRESH_MAX_SECONDS',
    'Longest time between two fetches of a remote key source (and its refresh period when it sends no max-age); its keys count as stale past their max-age, or this without one.',
    int(900, 1, 7 * 86400),
  ),
  peerKeysFetchTimeoutMs: field(
    'PEER_KEYS_FETCH_TIMEOUT_MS',
    'A fetch of a remote key source (connect, headers and body) must finish within this; otherwise it fails (reason timeout) and the last good keys stay.',
    int(5000, 100, 120000),
  ),
  mcmUrl: field(
    'MCM_URL',
    "Mojaloop Connection Manager API base (e.g. https://mcm.example/api): DFSPs' JWS keys from GET /dfsps/jwscerts and, in the dfsp role, the hub's from GET /hub/jwscerts. https outside the development profile.",
    url(),
    { production: true },
  ),
  mcmTokenUrl: field(
    'MCM_TOKEN_URL',
    'OIDC token endpoint for the Connection Manager (client-credentials grant with MCM_CLIENT_ID and the secret); unset: the Connection Manager is called without a token.',
    url(),
  ),
  mcmClientId: field('MCM_CLIENT_ID', 'OIDC client id for MCM_TOKEN_URL.', str()),
  mcmClientSecret: field('MCM_CLIENT_SECRET', 'OIDC client secret for MCM_TOKEN_URL (or MCM_CLIENT_SECRET_PATH).', str(), { secret: true }),
  mcmClientSecretPath: field('MCM_CLIENT_SECRET_PATH', 'File holding the OIDC client secret; read at each token request, so it can be rotated.', str(), {
    file: true,
    secret: true,
  }),
  mcmCaCertPath: field(
    'MCM_CA_CERT_PATH',
    "CA bundle the Connection Manager's and token endpoint's server certificates must chain to; unset: OUT_CA_CERT_PATH (the outbound client's trust, whose client certificate is presented either way).",
    str(),
    { file: true },
  ),
  keyRevocationsPath: field(
    'KEY_REVOCATIONS_PATH',
    "Durable copy of the peer key revocations (POST /admin/keys/revocations): written on every change, read at start-up, used to restore the shared list after a store loss. Development default: KEYS_DIR/key-revocations.json; unset in production keeps it only in the replicas' memory and the store.",
    str(),
  ),

  // --- ILP ---
  ilpVersion: field('ILP_VERSION', 'ILP packet version: 1 (ILP Payment) or 4 (Prepare).', oneOf(['1', '4'], '1')),
  ilpVersionByPeerList: field('ILP_VERSION_BY_PEER', 'Per-peer overrides, e.g. "fxp1=4,dfsp9=1".', list([])),
  ilpSecret: field(
    'ILP_SECRET',
    'ILP secret keyring, comma-separated: the first generates, all validate. At least 32 characters each.',
    z.string().optional(),
    { secret: true },
  ),
  ilpCheck: field('ILP_CHECK', 'Run the ILP checks of the role (condition/fulfilment/packet).', bool(true)),
  ilpGraceSeconds: field('ILP_EXPIRY_GRACE_SECONDS', 'Stored conditions outlive the transfer expiration by this grace.', int(60, 0, 86400)),
  quoteExpirySeconds: field(
    'QUOTE_EXPIRY_SECONDS',
    'Quote validity the DFSP role sets when the backend gives none; in the dfsp role at most ILP_QUOTE_MAX_TTL_SECONDS (start-up stops otherwise).',
    int(60, 1, 86400),
  ),
  ilpTransferMaxTtlSeconds: field(
    'ILP_TRANSFER_MAX_TTL_SECONDS',
    "The furthest ahead a transfer's expiration may lie (POST /transfers, /fxTransfers, /bulkTransfers: 3100 beyond it), and so the longest an ILP transfer record is kept (plus ILP_EXPIRY_GRACE_SECONDS), whatever expiration a sender asks for.",
    int(86400, 60, 30 * 86400),
  ),
  ilpQuoteMaxTtlSeconds: field(
    'ILP_QUOTE_MAX_TTL_SECONDS',
    'The longest a quote record is kept (DFSP role: the received quote request; hub role: the payee-issued packet and condition), whatever expiration the quote asks for. Hub role with ILP_QUOTE_BINDING: a quote answer expiring further ahead is refused (3100).',
    int(3600, 1, 7 * 86400),
  ),
  ilpBulkItemsMaxPerFsp: field(
    'ILP_BULK_ITEMS_MAX_PER_FSP',
    'Hub role: the most bulk items (individual quotes of PUT /bulkQuotes answers, individual transfers of POST /bulkTransfers, and each bulk and bulk quote request itself) whose records one FSP, the payer who asked, may hold at once; a bulk beyond it is refused whole (2005/503) until enough of them have expired. Counted per process: with a shared Redis store, replicas x WORKERS times this.',
    int(50_000, 1001, 10_000_000),
  ),
  ilpQuoteBinding: field(
    'ILP_QUOTE_BINDING',
    "Hub role: enforce = a POST /transfers (/fxTransfers) must carry the packet and condition its payee (FXP) issued in the PUT /quotes (/fxQuotes) that passed this gateway for the packet's quoteId (3205 when none did, 3100 when they differ); off for schemes whose quotes do not pass this gateway.",
    oneOf(['enforce', 'off'], 'enforce'),
  ),

  // --- store ---
  store: field(
    'STORE',
    'memory (single process) or redis; defaults to redis when REDIS_URL or REDIS_CLUSTER_NODES is set.',
    z.enum(['memory', 'redis']).optional(),
  ),
  redisUrl: field(
    'REDIS_URL',
    'Redis URL, e.g. redis://127.0.0.1:6379/0 (rediss:// for TLS; user and password in it). With REDIS_CLUSTER_NODES, its user, password and TLS apply to every node and its host is not used.',
    z
      .string()
      .optional()
      .refine((v) => v === undefined || /^rediss?:\/\//.test(v), { message: 'expected redis:// or rediss://' }),
    // It may carry the Redis password: load.ts masks the credentials of any URL it quotes in an error. Give it from a
    // Secret when it does (deploy/kubernetes/README.md).
    { production: true },
  ),
  redisClusterNodes: field('REDIS_CLUSTER_NODES', 'Comma-separated host:port seeds of a Redis Cluster.', list([]), { production: true }),
  redisKeyPrefix: field('REDIS_KEY_PREFIX', 'Prefix of every key the gateway writes.', strDef('switchguard:')),
  storeTimeoutMs: field('STORE_TIMEOUT_MS', 'A store call slower than this fails closed (2003).', int(500, 10, 60000)),
  redisWaitReplicas: field(
    'REDIS_WAIT_REPLICAS',
    "Replicas that must hold a fulfilment's take (Redis WAIT) before the fulfilment is forwarded; 0 = do not wait. With 1 on a replicated Redis, a master that crashes cannot lose a take the gateway acted on; a take not confirmed within STORE_TIMEOUT_MS/2 is given back and the fulfilment refused 2003 (so set it only where the replicas exist).",
    int(0, 0, 5),
  ),
  memoryStoreMaxEntries: field(
    'MEMORY_STORE_MAX_ENTRIES',
    'Most live records the in-memory store holds; when full it refuses writes (2003), never evicts. Sized for 1000 TPS: ~300000 replay records beside the ILP records.',
    int(1000000, 100, 50000000),
  ),
  memoryStoreMaxBytes: field(
    'MEMORY_STORE_MAX_BYTES',
    'Most key+value characters the in-memory store holds (per-entry overhead comes on top); when full it refuses writes (2003).',
    int(512 * 1024 * 1024, 1024, 64 * 1024 * 1024 * 1024),
  ),
  stateHmacKey: field(
    'STATE_HMAC_KEY',
    'Secret (at least 32 characters) every replica shares: seals the security state kept in the shared store (quarantine list, limit overrides) so that a store client without it cannot lift a quarantine or raise a limit; a value that does not open is handled as lost (kept in force, restored). Recommended whenever the store is Redis.',
    z.string().min(32, 'must be at least 32 characters').optional(),
    { secret: true },
  ),
  limitOverridesPath: field(
    'LIMIT_OVERRIDES_PATH',
    "Durable copy of the run-time limit overrides (PUT/DELETE /admin/limits/{fspId}): written (temp file + rename) on every change, read at start-up and used to restore the shared overrides after a store flush or a restart on the memory store. Development default: KEYS_DIR/limit-overrides.json; unset in production keeps them only in the store and the replicas' memory.",
    str(),
  ),
  quarantinePath: field(
    'QUARANTINE_PATH',
    "Durable copy of the quarantine list: written (temp file + rename) on every change, read at start-up and used to restore the shared list after a store flush. Development default: KEYS_DIR/quarantine.json; unset in production keeps it only in the replicas' memory.",
    str(),
  ),
} as const;

export type Fields = typeof FIELDS;

/** A field whose being set rules out the implicit development profile: a file, a secret, or flagged production. */
export const isProductionField = (f: Field): boolean => Boolean(f.file || f.secret || f.production);
export type FieldName = keyof Fields;

/** The validated, frozen configuration. Derived from FIELDS so it cannot drift from the schema. */
export type RawConfig = { readonly [K in FieldName]: z.output<Fields[K]['schema']> };

export interface DerivedConfig {
  /** DFSP_ID, or HUB_ID in the hub role. */
  readonly selfId: string;
  /** The store actually used (STORE, or redis when REDIS_URL/REDIS_CLUSTER_NODES is set, else memory). */
  readonly storeKind: 'memory' | 'redis';
  /** ILP keyring: first generates, all validate. Empty only when ILP_CHECK is off. */
  readonly ilpSecrets: readonly string[];
  /** ILP version per peer id. */
  readonly ilpVersionByPeer: Readonly<Record<string, '1' | '4'>>;
  /** True when TLS/JWS paths were left unset in the development profile and point into KEYS_DIR. */
  readonly devPki: boolean;
  /** True when the built-in simulator serves the resources no upstream is configured for (development only). */
  readonly useSimulator: boolean;
  /** True when the development profile applies because SWITCHGUARD_PROFILE was unset (and nothing of production is configured). */
  readonly implicitProfile: boolean;
}

/**
 * Typed groups for the settings whose presence depends on others: validation (load.ts) guarantees every
 * field here, so nothing downstream needs a non-null assertion, and a group being present is the one
 * place that decides whether its stage exists (src/stages.ts).
 */
export interface ConfigGroups {
  /** The inbound listener's TLS material (given, or the development PKI). */
  readonly inboundTls: {
    readonly certPath: string;
    readonly keyPath: string;
    /** Client CA (and CRL) when INBOUND_MUTUAL_TLS_ENABLED. */
    readonly clientCa: { readonly caPath: string; readonly crlPath: string | undefined } | undefined;
    readonly minVersion: RawConfig['tlsMinVersion'];
    /** TLS_GROUPS as resolved (tlsGroups.ecdhCurve). */
    readonly ecdhCurve: string;
    readonly reloadIntervalMs: number;
  };
  /** TLS_GROUPS resolved against the runtime's OpenSSL (src/tls/groups.ts): the groups of every TLS endpoint. */
  readonly tlsGroups: TlsGroups;
  /** OCSP (OCSP_*): present when OCSP_POLICY is soft or hard, or OCSP_STAPLING is on. */
  readonly ocsp:
    | {
        /** The client certificate check; present when OCSP_POLICY is soft or hard. */
        readonly client: { readonly policy: 'soft' | 'hard'; readonly responderUrl: string | undefined } | undefined;
        readonly stapling: boolean;
        readonly timeoutMs: number;
        readonly cacheMaxSeconds: number;
        readonly errorCacheSeconds: number;
        readonly nonce: boolean;
      }
    | undefined;
  /**
   * Where inbound requests go, per FSPIOP resource: the INBOUND_UPSTREAM_ROUTES items, then the default
   * (INBOUND_UPSTREAM_URL, or the built-in simulator in development) for the resources they leave; every
   * resource of the table has exactly one upstream, and an upstream that serves no resource is left out.
   */
  readonly upstream: {
    readonly targets: readonly UpstreamTarget[];
    /** INBOUND_UPSTREAM_CA_CERT_PATH: trusted for every https upstream. */
    readonly caCertPath: string | undefined;
  };
  /** Present when VALIDATE_INBOUND_JWS=true. */
  readonly jwsVerify:
    | {
        readonly keysDir: string;
        readonly cacheSize: number;
        readonly cacheTtlSeconds: number;
        readonly unknownSourceCooldownSeconds: number;
        readonly rescanIntervalSeconds: number;
        /** KEY_REVOCATIONS_PATH. */
        readonly revocationsPath: string | undefined;
        /** The remote key sources' schedule (PEER_KEYS_*). */
        readonly remote: { readonly refreshMinSeconds: number; readonly refreshMaxSeconds: number; readonly fetchTimeoutMs: number };
        /** Present when MCM_URL is set. */
        readonly mcm:
          | {
              readonly url: string;
              readonly caCertPath: string | undefined;
              /** Present when MCM_TOKEN_URL is set. */
              readonly oidc:
                | { readonly tokenUrl: string; readonly clientId: string; readonly secret: { readonly value: string } | { readonly path: string } }
                | undefined;
            }
          | undefined;
      }
    | undefined;
  /** Present when JWS_SIGN=true. */
  readonly jwsSigning: { readonly keyPath: string; readonly rescanIntervalSeconds: number } | undefined;
  /**
   * Present when IDENTITY_CHECK is log or enforce: the policy, and the ids whose appearance in a header means
   * the message is addressed to, or sent by, an intermediary (HUB_ID and TRUSTED_PROXY_PEERS).
   */
  readonly identity: { readonly enforce: boolean; readonly relays: readonly string[] } | undefined;
  /** Present when ILP_CHECK=true: the role's checks, with the keyring only where the role generates conditions. */
  readonly ilp:
    | { readonly role: 'hub'; readonly quoteBinding: boolean }
    | { readonly role: 'dfsp'; readonly secrets: readonly [string, ...string[]]; readonly development: boolean }
    | undefined;
}

/** One inbound upstream: its name in metrics and /ready, the resources it serves and where it is. */
export type UpstreamTarget = Pick<UpstreamRoute, 'name' | 'resources'> & ({ readonly kind: 'url'; readonly url: string } | { readonly kind: 'simulator' });

export type Config = RawConfig & DerivedConfig & ConfigGroups;
