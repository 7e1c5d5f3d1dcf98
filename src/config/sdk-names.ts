// The Mojaloop sdk-scheme-adapter's environment names and the gateway's (docs/sdk-scheme-adapter.md, whose table
// `npm run docs` generates from this list). Source: @mojaloop/sdk-scheme-adapter 18.0.2, src/config.js (every
// `env.get(NAME)` there is listed here, test/unit/config/sdk-names.test.ts checks it). Operators who front
// the SDK with the gateway copy its settings across; a name the gateway does not read would be ignored in
// silence, so start-up warns for each SDK-only name that has a gateway equivalent (sdkNameWarnings).
import { FIELDS } from './schema.js';

export interface SdkSetting {
  /** The SDK's environment variable. */
  readonly sdk: string;
  /**
   * The gateway variables that do this SDK setting's job. The same name when the gateway reads the SDK's
   * own name; empty when the gateway has no counterpart (the setting stays with the SDK).
   */
  readonly gateway: readonly string[];
  /** What differs, or what the gateway does instead. */
  readonly note: string;
}

const F = FIELDS;
const same = (sdk: string, note: string): SdkSetting => ({ sdk, gateway: [sdk], note });
const to = (sdk: string, gateway: readonly string[], note: string): SdkSetting => ({ sdk, gateway, note });
const sdkOnly = (sdk: string, note: string): SdkSetting => ({ sdk, gateway: [], note });
const ROUTES = F.upstreamRoutes.env;
/** The SDK's per-service endpoints: the split by service belongs to the hub gateway. */
const perService = (sdk: string, item: string) =>
  to(sdk, [ROUTES], `Hub role: ${item}. A DFSP gateway sends all its outbound requests to ${F.peerEndpoint.env} or the ${F.peersPath.env} entry.`);

/** The sdk-scheme-adapter 18.0.2 settings, in the order of its src/config.js. */
export const SDK_SETTINGS: readonly SdkSetting[] = Object.freeze([
  sdkOnly('MGMT_API_WS_URL', 'Management API (MCM) connection of the SDK.'),
  sdkOnly('MGMT_API_WS_PORT', 'Management API (MCM) connection of the SDK.'),
  same(F.inboundPort.env, 'Defaults differ: SDK 4000 (plain HTTP unless mTLS), gateway 8443 (always TLS).'),
  same(F.inboundMtls.env, 'Defaults differ: SDK false, gateway true.'),
  same(F.caCertPath.env, 'SDK: comma-separated list of files; gateway: one PEM bundle (concatenate the files).'),
  same(F.serverCertPath.env, 'Same meaning; the gateway reloads the file when it changes.'),
  same(F.serverKeyPath.env, 'Same meaning; the gateway reloads the file when it changes.'),
  same(F.outboundPort.env, `Defaults differ: SDK 4001, gateway 8444; the gateway's outbound listener is plain HTTP on ${F.outboundHost.env} (127.0.0.1).`),
  to(
    'OUTBOUND_MUTUAL_TLS_ENABLED',
    [F.outClientCertPath.env, F.outClientKeyPath.env],
    `The gateway speaks TLS to a peer whose URL (${F.peerEndpoint.env}, ${F.peersPath.env}) is https://, presenting its client certificate when these are set.`,
  ),
  same(F.outCaCertPath.env, 'SDK: comma-separated list of files; gateway: one PEM bundle (concatenate the files).'),
  same(F.outClientCertPath.env, 'Same meaning.'),
  same(F.outClientKeyPath.env, 'Same meaning.'),
  sdkOnly('TEST_LISTEN_PORT', "The SDK's test API."),
  same(
    F.peerEndpoint.env,
    'SDK: host:port without scheme (http or https from OUTBOUND_MUTUAL_TLS_ENABLED); gateway: a URL with http:// or https:// (a bare host:port stops start-up). Per-destination endpoints: PEERS_PATH.',
  ),
  perService('ALS_ENDPOINT', 'parties|participants=URL (the SDK sends /parties and /participants there)'),
  perService('QUOTES_ENDPOINT', 'quotes=URL (fxQuotes and bulkQuotes may join the item)'),
  perService('BULK_QUOTES_ENDPOINT', 'bulkQuotes=URL'),
  perService('TRANSACTION_REQUESTS_ENDPOINT', 'transactionRequests|authorizations=URL (the SDK sends both there)'),
  perService('TRANSFERS_ENDPOINT', 'transfers=URL (fxTransfers and bulkTransfers may join the item)'),
  perService('BULK_TRANSFERS_ENDPOINT', 'bulkTransfers=URL'),
  sdkOnly('BACKEND_ENDPOINT', `The DFSP's core connector stays the SDK's; the gateway forwards FSPIOP to the SDK's inbound (${F.upstreamUrl.env}).`),
  same(F.dfspId.env, `Defaults differ: SDK 'mojaloop'; gateway: required in the dfsp role (${F.hubId.env} in the hub role).`),
  same(
    F.ilpSecret.env,
    'SDK: one secret (default mojaloop-sdk); gateway: a keyring, comma-separated, 32 characters or more each; only the dfsp role with ILP_CHECK needs it.',
  ),
  to('CHECK_ILP', [F.ilpCheck.env], "The gateway's ILP checks of its role (GATEWAY_ROLE)."),
  to('EXPIRY_SECONDS', [F.quoteExpirySeconds.env], 'The expiration the dfsp role gives a quote response that carries none.'),
  sdkOnly('MULTIPLE_PARTIES_RESPONSE', 'Party lookup behaviour of the SDK.'),
  sdkOnly('MULTIPLE_PARTIES_RESPONSE_SECONDS', 'Party lookup behaviour of the SDK.'),
  sdkOnly('AUTO_ACCEPT_QUOTES', 'Payment flow of the SDK.'),
  sdkOnly('AUTO_ACCEPT_PARTY', 'Payment flow of the SDK.'),
  sdkOnly('AUTO_ACCEPT_R2P_BUSINESS_QUOTES', 'Payment flow of the SDK.'),
  sdkOnly('AUTO_ACCEPT_R2P_DEVICE_QUOTES', 'Payment flow of the SDK.'),
  sdkOnly('AUTO_ACCEPT_R2P_DEVICE_OTP', 'Payment flow of the SDK.'),
  sdkOnly('AUTO_ACCEPT_PARTICIPANTS_PUT', 'Payment flow of the SDK.'),
  sdkOnly('USE_QUOTE_SOURCE_FSP_AS_TRANSFER_PAYEE_FSP', 'Payment flow of the SDK.'),
  same(F.validateInboundJws.env, 'Same meaning and default (true).'),
  same(F.validatePutPartiesJws.env, 'Same meaning and default (false).'),
  same(F.jwsSign.env, 'Same meaning and default (true); the gateway signs only messages whose FSPIOP-Source is its own id and that arrive unsigned.'),
  same(F.jwsSignPutParties.env, 'Same meaning and default (false).'),
  same(F.jwsSigningKeyPath.env, 'Same meaning; the gateway reloads the key when the file changes.'),
  same(F.jwsKeysDir.env, 'Same layout (<fspId>.pem); the gateway watches the directory.'),
  to('CACHE_URL', [F.redisUrl.env, F.redisClusterNodes.env], "The gateway's own store; sharing the SDK's Redis is fine with a distinct REDIS_KEY_PREFIX."),
  sdkOnly('ENABLE_TEST_FEATURES', "The SDK's test API."),
  sdkOnly('ENABLE_OAUTH_TOKEN_ENDPOINT', 'OAuth test server of the SDK.'),
  sdkOnly('OAUTH_TOKEN_ENDPOINT_CLIENT_KEY', 'OAuth test server of the SDK.'),
  sdkOnly('OAUTH_TOKEN_ENDPOINT_CLIENT_SECRET', 'OAuth test server of the SDK.'),
  sdkOnly('OAUTH_TOKEN_ENDPOINT_LISTEN_PORT', 'OAuth test server of the SDK.'),
  sdkOnly('WSO2_BEARER_TOKEN', 'Bearer token the SDK sends to an API gateway; the gateway authenticates peers by mTLS and JWS.'),
  sdkOnly('OAUTH_TOKEN_ENDPOINT', 'OAuth client of the SDK towards an API gateway.'),
  sdkOnly('OAUTH_CLIENT_KEY', 'OAuth client of the SDK towards an API gateway.'),
  sdkOnly('OAUTH_CLIENT_SECRET', 'OAuth client of the SDK towards an API gateway.'),
  sdkOnly('OAUTH_REFRESH_SECONDS', 'OAuth client of the SDK towards an API gateway.'),
  sdkOnly('WSO2_AUTH_FAILURE_REQUEST_RETRIES', 'OAuth client of the SDK towards an API gateway.'),
  sdkOnly('REJECT_EXPIRED_QUOTE_RESPONSES', 'Payment flow of the SDK.'),
  sdkOnly('REJECT_TRANSFERS_ON_EXPIRED_QUOTES', 'The dfsp role with ILP_CHECK refuses a transfer whose quote has expired in any case (3302).'),
  sdkOnly('REJECT_EXPIRED_TRANSFER_FULFILS', 'The hub role with ILP_CHECK refuses a fulfilment after the transfer expired in any case (3303).'),
  sdkOnly('REQUEST_PROCESSING_TIMEOUT_SECONDS', 'How long the SDK waits for callbacks; the gateway holds no request open beyond UPSTREAM_*_TIMEOUT_MS.'),
  sdkOnly('LOG_INDENT', 'Log format of the SDK.'),
  sdkOnly('ALLOW_TRANSFER_WITHOUT_QUOTE', 'Payment flow of the SDK.'),
  sdkOnly('OUTBOUND_ERROR_STATUSCODE_EXTENSION_KEY', 'Payment flow of the SDK.'),
  sdkOnly('PROXY_CONFIG_PATH', "The SDK's own request proxy."),
  sdkOnly('RESERVE_NOTIFICATION', 'Payment flow of the SDK.'),
  sdkOnly('SEND_FINAL_NOTIFICATION_IF_REQUESTED', 'Payment flow of the SDK.'),
  sdkOnly('RESOURCE_VERSIONS', 'The gateway accepts versions 1.0, 1.1 and 2.0 as sent and forwards them unchanged.'),
  to('METRICS_SERVER_LISTEN_PORT', [F.adminPort.env], 'Prometheus metrics are /metrics on the admin listener.'),
  sdkOnly('ALLOW_DIFFERENT_TRANSFER_TRANSACTION_ID', 'Payment flow of the SDK.'),
  sdkOnly('PM4ML_ENABLED', 'Payments Manager integration of the SDK.'),
]);

const GATEWAY_NAMES: ReadonlySet<string> = new Set(Object.values(FIELDS).map((f) => f.env));

/** Whether the gateway itself reads this SDK name (then no warning: it is a setting of the gateway too). */
export const gatewayReads = (s: SdkSetting): boolean => GATEWAY_NAMES.has(s.sdk);

type Env = Readonly<Record<string, string | undefined>>;
const isSet = (env: Env, name: string) => (env[name] ?? '').trim() !== '';

/**
 * One line per SDK name that is set, that the gateway does not read and that has a gateway equivalent none of
 * which is set (once the equivalent is configured, the SDK name is there for the SDK: a shared env file).
 * @example sdkNameWarnings({ CHECK_ILP: 'false' }) // ['CHECK_ILP is a sdk-scheme-adapter setting; the gateway does not read it: set ILP_CHECK (…)']
 */
export function sdkNameWarnings(env: Env): string[] {
  return SDK_SETTINGS.filter((s) => !gatewayReads(s) && s.gateway.length > 0 && isSet(env, s.sdk) && !s.gateway.some((g) => isSet(env, g))).map(
    (s) => `${s.sdk} is a sdk-scheme-adapter setting; the gateway does not read it: set ${s.gateway.join(' or ')} instead (${s.note})`,
  );
}
