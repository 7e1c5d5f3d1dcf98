// Reads the environment once, validates every field, derives the values that depend on others, and
// returns a deep-frozen Config. Errors name the variable, one line each.
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { RESOURCES } from '../fspiop/resources.js';
import { resolveTlsGroups, type TlsGroups } from '../tls/groups.js';
import { maskCredentials } from '../util/redact.js';
import { DEV_ILP_SECRET } from './development.js';
import {
  type Config,
  type ConfigGroups,
  type DerivedConfig,
  FIELDS,
  type FieldName,
  isProductionField,
  type RawConfig,
  type UpstreamTarget,
} from './schema.js';
import { DEFAULT_UPSTREAM_NAME, parseUpstreamRoutes } from './upstream-routes.js';

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
  }
}

export { DEV_ILP_SECRET };

const MIN_ILP_SECRET_LENGTH = 32;

/** File layout of the development PKI under KEYS_DIR (keys/README.md documents it). */
export function devPaths(keysDir: string, fspId: string) {
  return {
    caCert: join(keysDir, 'tls', 'ca.pem'),
    caKey: join(keysDir, 'tls', 'ca.key'),
    serverCert: join(keysDir, 'tls', 'server.pem'),
    serverKey: join(keysDir, 'tls', 'server.key'),
    clientCert: join(keysDir, 'clients', `${fspId}.pem`),
    clientKey: join(keysDir, 'clients', `${fspId}.key`),
    jwsPublicDir: join(keysDir, 'jws'),
    jwsPrivateKey: join(keysDir, 'jws-private', `${fspId}.key`),
  };
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Parses and validates the configuration from an environment.
 * @example const config = loadConfig(process.env); // throws ConfigError naming each bad variable
 */
export function loadConfig(env: Env, options: { cwd?: string } = {}): Config {
  const cwd = options.cwd ?? process.cwd();
  const problems: string[] = [];
  const raw: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(FIELDS) as [FieldName, (typeof FIELDS)[FieldName]][]) {
    const value = env[f.env];
    const input = value === undefined || value.trim() === '' ? undefined : value.trim();
    const r = f.schema.safeParse(input);
    if (r.success) raw[name] = r.data;
    else {
      // Credentials of a URL (REDIS_URL's password, say) are never echoed, whatever the setting (src/util/redact.ts).
      const masked = input === undefined ? undefined : maskCredentials(input);
      const shown = masked === undefined ? 'unset' : f.secret ? '(secret)' : `'${masked.length > 60 ? `${masked.slice(0, 60)}…` : masked}'`;
      problems.push(`${f.env}: ${r.error.issues.map((i) => i.message).join('; ')} (got ${shown})`);
    }
  }
  if (problems.length) throw new ConfigError(problems);
  const c = raw as { -readonly [K in FieldName]: RawConfig[K] };

  // The development profile is never a silent fallback for a real deployment: unset SWITCHGUARD_PROFILE
  // means development only when nothing of production is configured.
  const implicitProfile = isUnset(env[FIELDS.profile.env]);
  if (implicitProfile) {
    const given = (Object.values(FIELDS) as (typeof FIELDS)[FieldName][]).filter((f) => isProductionField(f) && !isUnset(env[f.env])).map((f) => f.env);
    if (given.length > 0) {
      throw new ConfigError([
        `${FIELDS.profile.env}: unset, but production settings are given (${given.join(', ')}); set ${FIELDS.profile.env}=production, or ${FIELDS.profile.env}=development to use the public development defaults on purpose`,
      ]);
    }
  }
  const dev = c.profile === 'development';
  const selfId = c.dfspId ?? (c.role === 'hub' ? c.hubId : undefined);
  if (!selfId) problems.push("DFSP_ID: required in the dfsp role (this side's own FSP id)");
  const id = selfId ?? 'unknown';

  // Development profile: unset paths point into the dev PKI (generated on first start).
  const kd = isAbsolute(c.keysDir) ? c.keysDir : resolve(cwd, c.keysDir);
  const dp = devPaths(kd, id);
  let devPki = false;
  const devDefault = <K extends FieldName>(k: K, v: string) => {
    if (c[k] === undefined && dev) {
      (c as Record<string, unknown>)[k] = v;
      devPki = true;
    }
  };
  devDefault('serverCertPath', dp.serverCert);
  devDefault('serverKeyPath', dp.serverKey);
  if (c.inboundMtls) devDefault('caCertPath', dp.caCert);
  devDefault('jwsKeysDir', dp.jwsPublicDir);
  if (c.jwsSign) devDefault('jwsSigningKeyPath', dp.jwsPrivateKey);
  devDefault('outClientCertPath', dp.clientCert);
  devDefault('outClientKeyPath', dp.clientKey);
  devDefault('outCaCertPath', dp.caCert);

  // Paths relative to the working directory.
  for (const [name, f] of Object.entries(FIELDS) as [FieldName, (typeof FIELDS)[FieldName]][]) {
    const v = c[name];
    if ('file' in f && f.file && typeof v === 'string' && !isAbsolute(v)) (c as Record<string, unknown>)[name] = resolve(cwd, v);
  }
  if (c.jwsKeysDir && !isAbsolute(c.jwsKeysDir)) c.jwsKeysDir = resolve(cwd, c.jwsKeysDir);
  // Quarantine durability: a file the gateway itself writes, so it need not exist at start-up.
  if (c.quarantinePath === undefined && dev) c.quarantinePath = join(kd, 'quarantine.json');
  if (c.quarantinePath !== undefined && !isAbsolute(c.quarantinePath)) c.quarantinePath = resolve(cwd, c.quarantinePath);
  if (c.limitOverridesPath === undefined && dev) c.limitOverridesPath = join(kd, 'limit-overrides.json');
  if (c.limitOverridesPath !== undefined && !isAbsolute(c.limitOverridesPath)) c.limitOverridesPath = resolve(cwd, c.limitOverridesPath);
  if (c.keyRevocationsPath === undefined && dev) c.keyRevocationsPath = join(kd, 'key-revocations.json');
  if (c.keyRevocationsPath !== undefined && !isAbsolute(c.keyRevocationsPath)) c.keyRevocationsPath = resolve(cwd, c.keyRevocationsPath);

  // Required in production.
  const need = (k: FieldName, why: string) => {
    if (c[k] === undefined) problems.push(`${FIELDS[k].env}: required ${why}`);
  };
  need('serverCertPath', 'for the inbound TLS listener');
  need('serverKeyPath', 'for the inbound TLS listener');
  if (c.inboundMtls) need('caCertPath', 'when INBOUND_MUTUAL_TLS_ENABLED=true');
  if (c.validateInboundJws) need('jwsKeysDir', 'when VALIDATE_INBOUND_JWS=true');
  if (c.jwsSign) need('jwsSigningKeyPath', 'when JWS_SIGN=true');
  if ((c.outClientCertPath === undefined) !== (c.outClientKeyPath === undefined))
    problems.push('OUT_CLIENT_KEY_PATH: OUT_CLIENT_CERT_PATH and OUT_CLIENT_KEY_PATH go together');
  // DFSP role: a quote it dates itself must expire within ILP_QUOTE_MAX_TTL_SECONDS, the bound every other answer is
  // held to: a quote's one-use mark outlives the answers issued before its execution only under that bound
  // (src/ilp/middleware.ts; fourth re-review of 2026-12-02: a default-dated answer outlived the mark).
  if (c.role === 'dfsp' && c.quoteExpirySeconds > c.ilpQuoteMaxTtlSeconds)
    problems.push(
      `QUOTE_EXPIRY_SECONDS: ${c.quoteExpirySeconds} exceeds ILP_QUOTE_MAX_TTL_SECONDS (${c.ilpQuoteMaxTtlSeconds}); a quote is never valid longer than its record`,
    );
  // Upstreams per resource: the routes' items, then INBOUND_UPSTREAM_URL (or, in development, the built-in
  // simulator) for every resource they leave. A resource without any upstream stops start-up.
  const routes = c.upstreamRoutes === undefined ? { routes: [], problems: [] } : parseUpstreamRoutes(c.upstreamRoutes);
  for (const p of routes.problems) problems.push(`${FIELDS.upstreamRoutes.env}: ${p}`);
  const routed = new Set(routes.routes.flatMap((r) => r.resources));
  const rest = RESOURCES.filter((r) => !routed.has(r));
  const useSimulator = rest.length > 0 && c.upstreamUrl === undefined && dev;
  if (rest.length > 0 && c.upstreamUrl === undefined && !dev && routes.problems.length === 0) {
    problems.push(
      routed.size === 0
        ? `${FIELDS.upstreamUrl.env}: required in the production profile`
        : `${FIELDS.upstreamUrl.env}: required in the production profile, no upstream for ${rest.join(', ')} (set ${FIELDS.upstreamUrl.env} or list them in ${FIELDS.upstreamRoutes.env})`,
    );
  }
  const defaultTarget: UpstreamTarget | undefined =
    rest.length === 0
      ? undefined
      : c.upstreamUrl !== undefined
        ? { name: DEFAULT_UPSTREAM_NAME, resources: rest, kind: 'url', url: c.upstreamUrl }
        : { name: DEFAULT_UPSTREAM_NAME, resources: rest, kind: 'simulator' };
  const targets: UpstreamTarget[] = [
    ...(defaultTarget ? [defaultTarget] : []),
    ...routes.routes.map((r): UpstreamTarget => ({ name: r.name, resources: r.resources, kind: 'url', url: r.url })),
  ];

  // TLS groups: the default keeps what this runtime's OpenSSL has; a configured list must be usable in full.
  const tls = resolveTlsGroups(c.tlsGroupsList);
  if ('problem' in tls) problems.push(`${FIELDS.tlsGroupsList.env}: ${tls.problem}`);

  if (c.ocspPolicy !== 'off' && !c.inboundMtls)
    problems.push('OCSP_POLICY: soft and hard check client certificates, so they need INBOUND_MUTUAL_TLS_ENABLED=true');
  if (c.httpHeadersTimeoutMs > c.httpRequestTimeoutMs) problems.push('HTTP_HEADERS_TIMEOUT_MS: must not exceed HTTP_REQUEST_TIMEOUT_MS');

  // Remote key sources (issue 12).
  if (c.peerKeysRefreshMinSeconds > c.peerKeysRefreshMaxSeconds) problems.push('PEER_KEYS_REFRESH_MIN_SECONDS: must not exceed PEER_KEYS_REFRESH_MAX_SECONDS');
  if (c.mcmUrl !== undefined && !dev && !c.mcmUrl.startsWith('https://')) problems.push('MCM_URL: must be https outside the development profile');
  // The token request carries the client secret (HTTP Basic): never in clear text (review of 2026-12-01).
  if (c.mcmTokenUrl !== undefined && !dev && !c.mcmTokenUrl.startsWith('https://'))
    problems.push('MCM_TOKEN_URL: must be https outside the development profile (the client secret travels in it)');
  if (c.mcmUrl === undefined && (c.mcmTokenUrl ?? c.mcmClientId ?? c.mcmClientSecret ?? c.mcmClientSecretPath ?? c.mcmCaCertPath) !== undefined)
    problems.push('MCM_URL: required when MCM_TOKEN_URL, MCM_CLIENT_ID, MCM_CLIENT_SECRET(_PATH) or MCM_CA_CERT_PATH is set');
  if (c.mcmTokenUrl !== undefined) {
    if (c.mcmClientId === undefined) problems.push('MCM_CLIENT_ID: required with MCM_TOKEN_URL');
    if ((c.mcmClientSecret === undefined) === (c.mcmClientSecretPath === undefined))
      problems.push('MCM_CLIENT_SECRET: give exactly one of MCM_CLIENT_SECRET and MCM_CLIENT_SECRET_PATH with MCM_TOKEN_URL');
  } else if (c.mcmClientId !== undefined || c.mcmClientSecret !== undefined || c.mcmClientSecretPath !== undefined)
    problems.push('MCM_TOKEN_URL: required when MCM_CLIENT_ID or a client secret is set');

  // ILP keyring.
  let ilpSecrets: string[] = [];
  if (c.ilpSecret !== undefined)
    ilpSecrets = c.ilpSecret
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
  else if (dev) ilpSecrets = [DEV_ILP_SECRET];
  // The secret generates and recognises the conditions a payee DFSP issues; the hub role only stores and compares them.
  if (c.ilpCheck && c.role === 'dfsp' && ilpSecrets.length === 0)
    problems.push('ILP_SECRET: required in the dfsp role when ILP_CHECK=true outside the development profile');
  if (!dev && ilpSecrets.includes(DEV_ILP_SECRET)) problems.push('ILP_SECRET: the public development secret is refused outside the development profile');
  if (ilpSecrets.some((s) => s.length < MIN_ILP_SECRET_LENGTH)) problems.push(`ILP_SECRET: every secret must be at least ${MIN_ILP_SECRET_LENGTH} characters`);
  const byPeer: Record<string, '1' | '4'> = {};
  for (const item of c.ilpVersionByPeerList) {
    const m = /^([^=\s]+)=([14])$/.exec(item);
    if (!m) problems.push(`ILP_VERSION_BY_PEER: expected fspId=1 or fspId=4 items (got '${item}')`);
    else byPeer[m[1]!] = m[2] as '1' | '4';
  }

  // Store.
  const storeKind = c.store ?? (c.redisUrl !== undefined || c.redisClusterNodes.length > 0 ? 'redis' : 'memory');
  if (storeKind === 'redis' && c.redisUrl === undefined && c.redisClusterNodes.length === 0)
    problems.push('REDIS_URL: required when STORE=redis (or set REDIS_CLUSTER_NODES)');
  for (const n of c.redisClusterNodes) if (!/^[^\s:]+:\d{1,5}$/.test(n)) problems.push(`REDIS_CLUSTER_NODES: expected host:port items (got '${n}')`);
  if (c.workers > 1 && storeKind === 'memory')
    problems.push('WORKERS: more than one worker needs the Redis store (set REDIS_URL); the in-memory store is per process');

  if (problems.length || 'problem' in tls) throw new ConfigError(problems);
  const derived: DerivedConfig = { selfId: id, storeKind, ilpSecrets, ilpVersionByPeer: byPeer, devPki, useSimulator, implicitProfile };
  return deepFreeze({ ...(c as RawConfig), ...derived, ...groupsOf(c as RawConfig, derived, targets, tls.groups) });
}

/** The typed groups (schema.ts ConfigGroups); called once the rules above hold, so every `required` is met. */
function groupsOf(c: RawConfig, d: DerivedConfig, targets: readonly UpstreamTarget[], tlsGroups: TlsGroups): ConfigGroups {
  const required = <T>(v: T | undefined, name: string): T => {
    if (v === undefined) throw new ConfigError([`${name}: required`]); // unreachable after the checks above
    return v;
  };
  const [first, ...rest] = d.ilpSecrets;
  return {
    inboundTls: {
      certPath: required(c.serverCertPath, 'IN_SERVER_CERT_PATH'),
      keyPath: required(c.serverKeyPath, 'IN_SERVER_KEY_PATH'),
      clientCa: c.inboundMtls ? { caPath: required(c.caCertPath, 'IN_CA_CERT_PATH'), crlPath: c.crlPath } : undefined,
      minVersion: c.tlsMinVersion,
      ecdhCurve: tlsGroups.ecdhCurve,
      reloadIntervalMs: c.tlsReloadIntervalMs,
    },
    tlsGroups,
    upstream: { targets, caCertPath: c.upstreamCaCertPath },
    ocsp:
      c.ocspPolicy === 'off' && !c.ocspStapling
        ? undefined
        : {
            client: c.ocspPolicy === 'off' ? undefined : { policy: c.ocspPolicy, responderUrl: c.ocspResponderUrl },
            stapling: c.ocspStapling,
            timeoutMs: c.ocspTimeoutMs,
            cacheMaxSeconds: c.ocspCacheMaxSeconds,
            errorCacheSeconds: c.ocspErrorCacheSeconds,
            nonce: c.ocspNonce,
          },

    jwsVerify: c.validateInboundJws
      ? {
          keysDir: required(c.jwsKeysDir, 'JWS_VERIFICATION_KEYS_DIRECTORY'),
          cacheSize: c.jwsCacheSize,
          cacheTtlSeconds: c.jwsCacheTtlSeconds,
          unknownSourceCooldownSeconds: c.jwsUnknownSourceCooldownSeconds,
          rescanIntervalSeconds: c.jwsRescanIntervalSeconds,
          revocationsPath: c.keyRevocationsPath,
          remote: { refreshMinSeconds: c.peerKeysRefreshMinSeconds, refreshMaxSeconds: c.peerKeysRefreshMaxSeconds, fetchTimeoutMs: c.peerKeysFetchTimeoutMs },
          mcm:
            c.mcmUrl === undefined
              ? undefined
              : {
                  url: c.mcmUrl,
                  caCertPath: c.mcmCaCertPath,
                  oidc:
                    c.mcmTokenUrl === undefined
                      ? undefined
                      : {
                          tokenUrl: c.mcmTokenUrl,
                          clientId: required(c.mcmClientId, 'MCM_CLIENT_ID'),
                          secret:
                            c.mcmClientSecretPath !== undefined ? { path: c.mcmClientSecretPath } : { value: required(c.mcmClientSecret, 'MCM_CLIENT_SECRET') },
                        },
                },
        }
      : undefined,
    jwsSigning: c.jwsSign ? { keyPath: required(c.jwsSigningKeyPath, 'JWS_SIGNING_KEY_PATH'), rescanIntervalSeconds: c.jwsRescanIntervalSeconds } : undefined,
    identity: c.identityCheck === 'off' ? undefined : { enforce: c.identityCheck === 'enforce', relays: [c.hubId, ...c.trustedProxyPeers] },
    ilp: !c.ilpCheck
      ? undefined
      : c.role === 'hub'
        ? { role: 'hub', quoteBinding: c.ilpQuoteBinding === 'enforce' }
        : { role: 'dfsp', secrets: [required(first, 'ILP_SECRET'), ...rest], development: c.profile === 'development' },
  };
}

/** Checks that every configured file exists (after the dev PKI has been generated). */
export function assertFilesExist(config: Config): void {
  const problems: string[] = [];
  for (const [name, f] of Object.entries(FIELDS) as [FieldName, (typeof FIELDS)[FieldName]][]) {
    const v = config[name];
    if ('file' in f && f.file && typeof v === 'string' && !isFile(v))
      problems.push(
        `${f.env}: file not found: ${v}${v.includes(',') ? ' (one file is expected: the sdk-scheme-adapter takes a comma-separated list of CA files, the gateway one PEM bundle of them concatenated)' : ''}`,
      );
  }
  if (config.jwsKeysDir && config.validateInboundJws && !isDir(config.jwsKeysDir))
    problems.push(`JWS_VERIFICATION_KEYS_DIRECTORY: directory not found: ${config.jwsKeysDir}`);
  if (problems.length) throw new ConfigError(problems);
}

const isUnset = (v: string | undefined) => v === undefined || v.trim() === '';
const isFile = (p: string) => existsSync(p) && statSync(p).isFile();
const isDir = (p: string) => existsSync(p) && statSync(p).isDirectory();

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}
