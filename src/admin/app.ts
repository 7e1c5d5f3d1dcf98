// The admin listener's Hono app (docs/operations.md): /health, /ready, /metrics and, only when
// ADMIN_TOKEN is set, the bearer-protected /admin/* API. Everything it acts on is injected, so the
// lead wires what exists; every /admin call is audited.

import type { HttpBindings } from '@hono/node-server';
import { Hono } from 'hono';
import { GatewayError, isGatewayError, toGatewayError, toResponse } from '../errors.js';
import { isValidFspId } from '../fspiop/headers.js';
import type { PeerKeyListing } from '../jws/peer-keys.js';
import { JWKS_PATH, type PublishedKeySource, servePublishedKeys } from '../jws/published.js';
import { isValidReason, type KeyRevocations, MAX_REASON_LENGTH, parseFingerprint } from '../jws/revocations.js';
import type { SigningKeyStatus } from '../jws/signing-key.js';
import type { AuditLog } from '../logging/audit.js';
import { adminHostAllowed } from './host.js';
import type { Quarantine } from './quarantine.js';
import { type ReadinessCheck, runChecks } from './readiness.js';
import { AdminTokens, allows, type Principal, requiredRole } from './tokens.js';

export interface KeyInfo {
  readonly fspId: string;
  /** SHA-256 of the SPKI DER, lower-case hex (what revocations name). */
  readonly fingerprint: string;
  /** ISO-8601 notAfter when the key came with a certificate, else null. */
  readonly expiry: string | null;
  readonly file?: string;
  /** file, jwks or mcm. */
  readonly source?: string;
  /** RFC 7638 JWK thumbprint (also accepted by revocations). */
  readonly thumbprint?: string | null;
  readonly kid?: string;
  readonly url?: string;
  readonly rejected?: string;
  readonly revoked?: { readonly reason: string; readonly revokedAt: string };
}

export interface AdminDeps {
  /** ADMIN_ALLOWED_HOSTS: names besides IP addresses and localhost a request may address the listener by (host.ts). */
  readonly allowedHosts?: readonly string[];
  /** ADMIN_TOKEN; undefined turns /admin/* off (404). */
  readonly adminToken?: string | undefined;
  /** Source of /metrics (createTelemetry()'s result). */
  readonly metrics?: { readonly contentType: string; metricsText(): Promise<string> };
  readonly readiness?: readonly ReadinessCheck[];
  readonly audit?: AuditLog;
  /** Reports unexpected failures of injected functions (they reach the client only as GW_INTERNAL). */
  readonly onError?: (err: unknown) => void;
  readonly reloadKeys?: () => Promise<unknown> | unknown;
  readonly reloadCertificates?: () => Promise<unknown> | unknown;
  readonly listKeys?: () => Promise<readonly KeyInfo[]> | readonly KeyInfo[];
  /** This side's signing keyring (JWS_SIGN=true): GET /admin/keys lists it under `signing`, and /.well-known/jwks.json publishes it. */
  readonly signingKeys?: PublishedKeySource & { status(): readonly SigningKeyStatus[] };
  readonly listPeers?: () => Promise<unknown> | unknown;
  /** FSP ids that may be quarantined (key directory ∪ peer directory). */
  readonly knownPeers?: () => Iterable<string>;
  readonly quarantine?: Quarantine;
  /** Scoped tokens (ADMIN_TOKENS, ADMIN_TOKENS_PATH, ADMIN_TOKEN); when absent, built from adminToken. */
  readonly tokens?: AdminTokens;
  /** Peer verification keys of every source: lookup by fingerprint and the remote sources' state. */
  readonly peerKeys?: { find(ref: { kind: 'spki' | 'jwk'; value: string }): Promise<readonly PeerKeyListing[]>; sources(): unknown[] };
  /** Operator revocations of peer keys (src/jws/revocations.ts). */
  readonly revocations?: Pick<KeyRevocations, 'list' | 'get' | 'add' | 'lift'>;
  /** Per-FSP limits (src/limits/): the file and overrides in force, and run-time changes (entry undefined = release). */
  readonly limits?: { list(): unknown; change(fspId: string, entry: unknown | undefined): Promise<unknown> };
}

// No /admin route takes a query string, and a token in a URL ends up in proxy logs, browser history and Referer
// headers: an /admin call with a query string is refused whatever it holds, before anything in it is read. (Until
// 2026-12-01 each value was compared with the tokens, which answered unauthenticated callers whether one of up to
// hundreds of guesses per request was a token, and cost a hash per value: review of 2026-12-01.)
const hasQuery = (url: string): boolean => url.includes('?');

type AdminEnv = { Bindings: Partial<HttpBindings> };

// FSPIOP FspId: 1..32 characters (API Definition §7.3); no path separators or control characters.

const notFound = (detail: string) => new GatewayError('GW_ADMIN_NOT_FOUND', { detail });

/**
 * Builds the admin listener's app.
 * @example
 * serve({ fetch: buildAdminApp({ adminToken: config.adminToken, metrics: telemetry, readiness, quarantine }).fetch,
 *         hostname: config.adminHost, port: config.adminPort });
 */
export function buildAdminApp(deps: AdminDeps): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>();
  const onError = deps.onError ?? (() => {});

  app.onError((err) => {
    const e = toGatewayError(err);
    if (e.code === 'GW_INTERNAL') onError(err);
    return toResponse(e);
  });
  app.notFound(() => toResponse(notFound('no such admin resource')));

  // Before every route, the open ones above all (host.ts: DNS rebinding).
  const allowedHosts = deps.allowedHosts ?? [];
  app.use('*', async (c, next) => {
    if (!adminHostAllowed(c.req.header('host'), allowedHosts))
      throw new GatewayError('GW_ADMIN_HOST_REFUSED', { detail: 'the Host header names neither an IP address, localhost nor a name in ADMIN_ALLOWED_HOSTS' });
    await next();
  });

  app.get('/health', (c) => c.json({ status: 'ok' }));

  app.get('/ready', async (c) => {
    const result = await runChecks(deps.readiness ?? [], onError);
    return c.json(result, result.ready ? 200 : 503);
  });

  app.get('/metrics', async (c) => {
    if (!deps.metrics) throw notFound('metrics are not enabled');
    return c.body(await deps.metrics.metricsText(), 200, { 'content-type': deps.metrics.contentType });
  });

  // Published keys are public by definition (RFC 7517 JWK Set): served without a token, like /metrics, and
  // whether or not the admin API is on.
  const published = deps.signingKeys;
  if (published) app.get(JWKS_PATH, servePublishedKeys(published));

  const tokens = deps.tokens ?? (deps.adminToken !== undefined ? new AdminTokens({ adminToken: deps.adminToken }) : undefined);
  if (tokens === undefined || !tokens.enabled) return app; // admin API off: everything under /admin is 404

  const principals = new WeakMap<object, Principal>();
  const principal = (c: { req: { raw: Request } }): Principal | undefined => principals.get(c.req.raw);
  /** Who made an admin change, for its audit record: the caller's address and, once authenticated, its token. */
  const byCaller = (c: { req: { raw: Request }; env?: { incoming?: { socket: { remoteAddress?: string } } } }) => {
    const who = principal(c);
    return { actor: 'admin' as const, peer: c.env?.incoming?.socket.remoteAddress, ...(who ? { role: who.role, tokenFingerprint: who.fingerprint } : {}) };
  };
  /** The audit record of one change to an FSP's state; called with a reason ('outlived_lock') from `edit`, without one once done. */
  const changeRecord =
    (c: Parameters<typeof byCaller>[0], event: 'quarantine_on' | 'quarantine_off' | 'limits_changed' | 'limits_released', fspId: string) => (reason?: string) =>
      deps.audit?.record({ event, fspId, ...byCaller(c), ...(reason ? { reason } : {}) });
  /**
   * Runs an edit of shared security state. One that outlived its edit lock is answered 503 (store/shared-edit.ts) but
   * is written and may be in force: `audit` records it all the same (reason 'outlived_lock') before the error goes
   * out, so no applied change goes unrecorded (review of 2026-12-01).
   */
  const edit = async <T>(audit: (reason: string) => void, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (e) {
      if (isGatewayError(e) && e.context?.outlivedLock === true) audit('outlived_lock');
      throw e;
    }
  };
  app.use('/admin/*', async (c, next) => {
    const inQuery = hasQuery(c.req.url);
    const who = inQuery ? undefined : tokens.authenticate(c.req.header('authorization'));
    let status: number | undefined;
    let reason: string | undefined;
    try {
      if (inQuery) {
        reason = 'query_string';
        throw new GatewayError('GW_ADMIN_UNAUTHORIZED', {
          detail: 'admin calls take no query string (a credential there would be logged); send Authorization: Bearer',
          headers: { 'www-authenticate': 'Bearer' },
        });
      }
      if (who === undefined) {
        reason = 'GW_ADMIN_UNAUTHORIZED';
        throw new GatewayError('GW_ADMIN_UNAUTHORIZED', { headers: { 'www-authenticate': 'Bearer' } });
      }
      if (!allows(who.role, requiredRole(c.req.method))) {
        reason = 'GW_ADMIN_FORBIDDEN';
        throw new GatewayError('GW_ADMIN_FORBIDDEN', { detail: 'this action needs an operator token' });
      }
      principals.set(c.req.raw, who);
      await next();
    } catch (e) {
      status = toGatewayError(e).httpStatus;
      throw e;
    } finally {
      deps.audit?.record({
        event: 'admin_call',
        actor: 'admin',
        peer: c.env?.incoming?.socket.remoteAddress,
        method: c.req.method,
        path: c.req.path,
        status: status ?? c.res.status,
        ...(who ? { role: who.role, tokenFingerprint: who.fingerprint } : {}),
        ...(reason ? { reason } : {}),
      });
    }
  });

  app.post('/admin/reload', async (c) => {
    const run = async (fn: (() => unknown) | undefined) => {
      if (!fn) return { outcome: 'not_configured' as const };
      try {
        return { outcome: 'ok' as const, result: (await fn()) ?? null };
      } catch (err) {
        onError(err);
        return { outcome: 'failed' as const, error: err instanceof GatewayError ? err.code : 'reload failed, see the gateway log' };
      }
    };
    const keys = await run(deps.reloadKeys);
    const certificates = await run(deps.reloadCertificates);
    const failed = keys.outcome === 'failed' || certificates.outcome === 'failed';
    return c.json({ keys, certificates }, failed ? 500 : 200);
  });

  app.get('/admin/keys', async (c) => {
    if (!deps.listKeys && !deps.signingKeys) throw notFound('key listing is not available');
    const keys = (await deps.listKeys?.()) ?? [];
    return c.json({
      keys,
      ...(deps.peerKeys ? { sources: deps.peerKeys.sources() } : {}),
      ...(deps.signingKeys ? { signing: deps.signingKeys.status() } : {}),
    });
  });

  // --- revocation of peer keys (src/jws/revocations.ts) ---
  const revocations = () => {
    if (!deps.revocations || !deps.peerKeys) throw notFound('key revocation is not available (VALIDATE_INBOUND_JWS=false)');
    return { list: deps.revocations, keys: deps.peerKeys };
  };
  const body = async (c: { req: { json(): Promise<unknown> } }, shape: string): Promise<Record<string, unknown>> => {
    let b: unknown;
    try {
      b = await c.req.json();
    } catch {
      throw new GatewayError('GW_ADMIN_BAD_REQUEST', { detail: `body must be JSON ${shape}` });
    }
    if (b === null || typeof b !== 'object' || Array.isArray(b)) throw new GatewayError('GW_ADMIN_BAD_REQUEST', { detail: `body must be JSON ${shape}` });
    return b as Record<string, unknown>;
  };
  const fingerprintOf = (v: unknown) => {
    const ref = parseFingerprint(v);
    if (!ref) throw new GatewayError('GW_ADMIN_BAD_REQUEST', { detail: 'fingerprint must be a SPKI SHA-256 (64 hex digits) or an RFC 7638 thumbprint' });
    return ref;
  };
  const reasonOf = (v: unknown) => {
    if (!isValidReason(v)) throw new GatewayError('GW_ADMIN_BAD_REQUEST', { detail: `reason required: 1 to ${MAX_REASON_LENGTH} printable characters` });
    return v.trim();
  };

  app.get('/admin/keys/revocations', (c) => c.json({ revocations: revocations().list.list() }));

  app.post('/admin/keys/revocations', async (c) => {
    const r = revocations();
    const b = await body(c, '{fingerprint, reason, allFsps?}');
    const ref = fingerprintOf(b.fingerprint);
    const reason = reasonOf(b.reason);
    const keys = await r.keys.find(ref);
    // A key already revoked stays nameable after its file or source is gone.
    const already = ref.kind === 'spki' ? r.list.get(ref.value) : r.list.list().find((x) => x.thumbprint === ref.value);
    const first = keys[0];
    if (first === undefined && already === undefined) throw notFound('no key of any source (file, JWKS, Connection Manager) has this fingerprint');
    const who = principal(c);
    const fspIds = [...new Set(keys.map((k) => k.fspId))];
    // A key is revoked for every FSP that lists it. Since a peer may list another's public key (docs/jws.md, "Key
    // sources"), revoking "dfsp7's keys" could cut off dfsp1: a key listed by several FSPs needs allFsps: true
    // (re-review of 2026-12-02). To off-board one FSP, remove its key source or quarantine it.
    if (fspIds.length > 1 && b.allFsps !== true)
      throw new GatewayError('GW_ADMIN_BAD_REQUEST', {
        detail: `the key is listed by ${fspIds.join(', ')} and would be revoked for all of them; send allFsps: true to go on (to cut off one FSP, remove its key source or quarantine it)`,
      });
    const fingerprint = first?.fingerprint ?? already!.fingerprint;
    const { revocation, changed } = await edit(
      (note) =>
        deps.audit?.record({
          event: 'key_revocation_on',
          fspId: fspIds.join(','),
          fingerprint,
          reason: `${reason} (${note})`,
          ...byCaller(c),
        }),
      () => r.list.add({ fingerprint, thumbprint: first?.thumbprint ?? already?.thumbprint ?? undefined, fspIds, reason, by: who?.fingerprint }),
    );
    deps.audit?.record({
      event: 'key_revocation_on',
      fspId: revocation.fspIds.join(','),
      fingerprint: revocation.fingerprint,
      reason,
      ...byCaller(c),
    });
    return c.json({ revocation, changed, keys }, changed ? 201 : 200);
  });

  app.delete('/admin/keys/revocations/:fingerprint', async (c) => {
    const r = revocations();
    const ref = fingerprintOf(c.req.param('fingerprint'));
    const reason = reasonOf((await body(c, '{reason}')).reason);
    const fingerprint = ref.kind === 'spki' ? ref.value : r.list.list().find((x) => x.thumbprint === ref.value)?.fingerprint;
    const lifted =
      fingerprint === undefined
        ? undefined
        : await edit(
            (note) =>
              deps.audit?.record({
                event: 'key_revocation_off',
                fingerprint,
                reason: `${reason} (${note})`,
                ...byCaller(c),
              }),
            () => r.list.lift(fingerprint),
          );
    if (lifted === undefined) throw notFound('no revocation names this fingerprint');
    deps.audit?.record({
      event: 'key_revocation_off',
      fspId: lifted.fspIds.join(','),
      fingerprint: lifted.fingerprint,
      reason,
      ...byCaller(c),
    });
    return c.json({ lifted, reason });
  });

  app.get('/admin/peers', async (c) => {
    if (!deps.listPeers) throw notFound('peer directory is not available');
    return c.json({ peers: await deps.listPeers(), quarantined: deps.quarantine?.list() ?? [] });
  });

  const quarantine = () => {
    if (!deps.quarantine) throw notFound('quarantine is not available');
    return deps.quarantine;
  };
  // The one FSP-id rule (fspiop/headers.ts isValidFspId): whatever a peer can send as FSPIOP-Source or bind
  // from its certificate can be named here.
  const validFspId = (fspId: string) => {
    if (!isValidFspId(fspId)) throw new GatewayError('GW_ADMIN_BAD_REQUEST', { detail: 'fspId is not a valid FSP id' });
    return fspId;
  };
  const isKnown = (fspId: string) => {
    for (const id of deps.knownPeers?.() ?? []) if (id === fspId) return true;
    return false;
  };
  const knownPeer = (fspId: string) => {
    if (!isKnown(validFspId(fspId))) throw notFound('unknown fspId');
    return fspId;
  };

  app.get('/admin/quarantine', (c) => c.json({ quarantined: quarantine().list() }));

  app.post('/admin/quarantine/:fspId', async (c) => {
    const q = quarantine();
    // Any valid FSP id, known or not: a peer outside the key and peer directories (or not yet connected)
    // must be quarantinable too; `known` tells the operator whether the id is in a directory.
    const fspId = validFspId(c.req.param('fspId'));
    const record = changeRecord(c, 'quarantine_on', fspId);
    const changed = await edit(record, () => q.add(fspId));
    record();
    return c.json({ fspId, quarantined: true, changed, known: isKnown(fspId), all: q.list() });
  });

  app.delete('/admin/quarantine/:fspId', async (c) => {
    const q = quarantine();
    const fspId = validFspId(c.req.param('fspId'));
    const record = changeRecord(c, 'quarantine_off', fspId);
    const changed = await edit(record, () => q.remove(fspId));
    record();
    return c.json({ fspId, quarantined: false, changed, known: isKnown(fspId), all: q.list() });
  });

  // --- per-FSP limits (src/limits/) ---
  const limits = () => {
    if (!deps.limits) throw notFound('limits are not available');
    return deps.limits;
  };
  app.get('/admin/limits', (c) => c.json(limits().list() as Record<string, unknown>));

  app.put('/admin/limits/:fspId', async (c) => {
    const l = limits();
    const fspId = knownPeer(c.req.param('fspId'));
    let entry: unknown;
    try {
      entry = await c.req.json();
    } catch {
      throw new GatewayError('GW_ADMIN_BAD_REQUEST', { detail: 'body must be JSON {rps, burst, concurrency, classes}' });
    }
    const record = changeRecord(c, 'limits_changed', fspId);
    let overrides: unknown;
    try {
      overrides = await edit(record, () => l.change(fspId, entry));
    } catch (e) {
      if (e instanceof GatewayError) throw e;
      throw new GatewayError('GW_ADMIN_BAD_REQUEST', { detail: String((e as Error).message).slice(0, 100) });
    }
    record();
    return c.json({ fspId, override: entry, overrides });
  });

  app.delete('/admin/limits/:fspId', async (c) => {
    const fspId = knownPeer(c.req.param('fspId'));
    const record = changeRecord(c, 'limits_released', fspId);
    const overrides = await edit(record, () => limits().change(fspId, undefined));
    record();
    return c.json({ fspId, override: null, overrides });
  });

  return app;
}
