// The typed per-request context shared by every stage of the inbound and outbound pipelines.
// Stages read and write these variables through c.get/c.set; nobody uses untyped keys.
import type { HttpBindings } from '@hono/node-server';
import type { Context, MiddlewareHandler } from 'hono';
import type { Message } from '../fspiop/message.js';
import type { PendingMark } from '../store/first-use.js';
import type { Peer } from '../tls/peer.js';

export type { RouteMatch } from '../fspiop/resources.js';
export type { Peer } from '../tls/peer.js';

import type { RouteMatch } from '../fspiop/resources.js';

export interface GatewayVariables {
  readonly requestId: string;
  /** performance.now() when the request entered the gateway. */
  readonly startedAt: number;
  /** Set on the inbound listener with mTLS, once the client certificate is bound; absent otherwise. */
  readonly peer?: Peer;
  readonly route: RouteMatch;
  /** Why the request target was refused (matchFspiopRoute), answered by requireRoute; `route` is then unset. */
  readonly routeRefusal?: unknown;
  /** The Date header in epoch ms, parsed strictly once by checkRequest (RFC 1123, fspiop/headers.ts). */
  readonly date: number;
  /** The message the stages check and change (fspiop/message.ts), set by checkRequest once the body is read. */
  readonly message: Message;
  /**
   * The verified signature's replay record, owed to the store (src/jws/middleware.ts): written with the
   * request's first store operation (src/store/first-use.ts), else just before forwarding.
   */
  readonly storeMark?: PendingMark;
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
