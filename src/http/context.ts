// The typed per-request context shared by every stage of the inbound and outbound pipelines.
// Stages read and write these variables through c.get/c.set; nobody uses untyped keys.
import type { HttpBindings } from '@hono/node-server';
import type { Context, MiddlewareHandler } from 'hono';

/** The FSP on the other end of the inbound TLS connection, bound from its client certificate. */
export interface Peer {
  readonly fspId: string;
  readonly subjectCn: string | undefined;
  /** SHA-256 fingerprint, upper-case hex with colons, as node reports it. */
  readonly fingerprint256: string;
  readonly validTo: Date;
}

export type { MessageKind, RouteMatch } from '../fspiop/resources.js';
import type { RouteMatch } from '../fspiop/resources.js';

export interface GatewayVariables {
  readonly requestId: string;
  /** performance.now() when the request entered the gateway. */
  readonly startedAt: number;
  /** Set on the inbound listener once the client certificate is bound. */
  readonly peer: Peer;
  readonly route: RouteMatch;
  /**
   * Request body bytes. Inbound: exactly as received (never re-serialised). Outbound: what will be
   * sent; stages that rewrite the message (ILP attach, JWS sign) replace it.
   */
  readonly body: Buffer;
  /** Outbound only: a stage changed the message object; the bytes must be re-emitted before signing/sending. */
  readonly rewrittenJson: unknown;
  /** Which payload form verified the signature ('raw' | 'sorted' | 'insertion'), or 'unsigned'/'skipped'. */
  readonly jwsForm: string;
  /** Headers a stage adds to or replaces on the forwarded request (e.g. FSPIOP-Signature on outbound). */
  readonly extraHeaders: Record<string, string>;
}

export type GatewayEnv = { Bindings: HttpBindings; Variables: GatewayVariables };
export type GatewayContext = Context<GatewayEnv>;
export type GatewayMiddleware = MiddlewareHandler<GatewayEnv>;

/**
 * A request header, case-insensitive name given in lower case. Reads node's already-parsed headers
 * (c.req.header would build a web Headers object per request); falls back to c.req.header where the
 * app runs without node bindings (app.request() in tests, the cluster admin relay).
 */
export function header(c: Context<GatewayEnv>, name: string): string | undefined {
  const incoming = (c.env as Partial<HttpBindings> | undefined)?.incoming;
  if (!incoming) return c.req.header(name);
  const v = incoming.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}
