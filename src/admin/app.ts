// The admin listener's Hono app (SPEC §2, §9, §10): /health, /ready, /metrics and, only when
// ADMIN_TOKEN is set, the bearer-protected /admin/* API. Everything it acts on is injected, so the
// lead wires what exists; every /admin call is audited.
import { Hono } from 'hono';
import type { HttpBindings } from '@hono/node-server';
import { GatewayError, toGatewayError, toResponse } from '../errors.js';
import type { AuditLog } from '../logging/audit.js';
import { bearerChecker } from './auth.js';
import type { Quarantine } from './quarantine.js';
import { runChecks, type ReadinessCheck } from './readiness.js';

export interface KeyInfo {
  readonly fspId: string;
  readonly fingerprint: string;
  /** ISO-8601 notAfter when the key file is a certificate, else null. */
  readonly expiry: string | null;
  readonly file?: string;
}

export interface AdminDeps {
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
  readonly listPeers?: () => Promise<unknown> | unknown;
  /** FSP ids that may be quarantined (key directory ∪ peer directory). */
  readonly knownPeers?: () => Iterable<string>;
  readonly quarantine?: Quarantine;
}

type AdminEnv = { Bindings: Partial<HttpBindings> };

// FSPIOP FspId: 1..32 characters (API Definition §7.3); no path separators or control characters.
const FSP_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/;

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

  app.get('/health', (c) => c.json({ status: 'ok' }));

  app.get('/ready', async (c) => {
    const result = await runChecks(deps.readiness ?? [], onError);
    return c.json(result, result.ready ? 200 : 503);
  });

  app.get('/metrics', async (c) => {
    if (!deps.metrics) throw notFound('metrics are not enabled');
    return c.body(await deps.metrics.metricsText(), 200, { 'content-type': deps.metrics.contentType });
  });

  if (deps.adminToken === undefined) return app; // admin API off: everything under /admin is 404

  const authorized = bearerChecker(deps.adminToken);
  app.use('/admin/*', async (c, next) => {
    const ok = authorized(c.req.header('authorization'));
    try {
      if (!ok) throw new GatewayError('GW_ADMIN_UNAUTHORIZED', { headers: { 'www-authenticate': 'Bearer' } });
      await next();
    } finally {
      const status = ok ? c.res.status : 401;
      deps.audit?.record({ event: 'admin_call', actor: 'admin', peer: c.env?.incoming?.socket.remoteAddress, method: c.req.method, path: c.req.path, status });
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
    if (!deps.listKeys) throw notFound('key listing is not available');
    return c.json({ keys: await deps.listKeys() });
  });

  app.get('/admin/peers', async (c) => {
    if (!deps.listPeers) throw notFound('peer directory is not available');
    return c.json({ peers: await deps.listPeers(), quarantined: deps.quarantine?.list() ?? [] });
  });

  const quarantine = () => {
    if (!deps.quarantine) throw notFound('quarantine is not available');
    return deps.quarantine;
  };
  const knownPeer = (fspId: string) => {
    if (!FSP_ID.test(fspId)) throw new GatewayError('GW_ADMIN_BAD_REQUEST', { detail: 'fspId is not a valid FSP id' });
    const known = deps.knownPeers?.() ?? [];
    for (const id of known) if (id === fspId) return fspId;
    throw notFound('unknown fspId');
  };

  app.get('/admin/quarantine', (c) => c.json({ quarantined: quarantine().list() }));

  app.post('/admin/quarantine/:fspId', async (c) => {
    const q = quarantine();
    const fspId = knownPeer(c.req.param('fspId'));
    const changed = await q.add(fspId);
    deps.audit?.record({ event: 'quarantine_on', actor: 'admin', fspId, peer: c.env?.incoming?.socket.remoteAddress });
    return c.json({ fspId, quarantined: true, changed, all: q.list() });
  });

  app.delete('/admin/quarantine/:fspId', async (c) => {
    const q = quarantine();
    const fspId = knownPeer(c.req.param('fspId'));
    const changed = await q.remove(fspId);
    deps.audit?.record({ event: 'quarantine_off', actor: 'admin', fspId, peer: c.env?.incoming?.socket.remoteAddress });
    return c.json({ fspId, quarantined: false, changed, all: q.list() });
  });

  return app;
}
