// FSPIOP-URI: the request path starting at the FSPIOP resource, plus the query (Signature v1.1 §3.1,
// API Definition v1.1 §3.2.1.1). The resource names and the routes come from the one FSPIOP resource
// table (fspiop/resources.ts). Unlike the SDK regex (last match wins, empty branch), the URI starts at
// the first path segment from which the rest of the path is an FSPIOP route for the method, and the
// path must pass the same strict target checks as the gateway's router (fspiop/target.ts), so a
// signature made for one route can never name another.
import { isGatewayError } from '../errors.js';
import { routeStart } from '../fspiop/routes.js';
import { parseTarget } from '../fspiop/target.js';

/**
 * FSPIOP-URI of a URL or of a path with query (`/base/transfers/1?x=y` → `/transfers/1?x=y`).
 * Returns undefined when the path is not an FSPIOP route for `method` under some base path, or is not a
 * path the gateway would accept.
 */
export function fspiopUri(method: string, urlOrPath: string): string | undefined {
  let pathAndQuery = urlOrPath;
  const scheme = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(urlOrPath);
  if (scheme) pathAndQuery = urlOrPath.slice(scheme[0].length);
  const hash = pathAndQuery.indexOf('#');
  if (hash >= 0) pathAndQuery = pathAndQuery.slice(0, hash);
  let segments: readonly string[];
  let query: string;
  try {
    ({ segments, query } = parseTarget(pathAndQuery));
  } catch (e) {
    if (isGatewayError(e)) return undefined;
    throw e;
  }
  const start = routeStart(method.toUpperCase(), segments);
  if (start < 0) return undefined;
  return `/${segments.slice(start).join('/')}${query}`;
}
