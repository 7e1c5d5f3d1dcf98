// FSPIOP-URI: the request path starting at the FSPIOP resource, plus the query (fspiop.md §2.6,
// API Definition v1.1 §3.2.1.1). Unlike the SDK regex (last match wins, empty branch), the first
// path segment that names a resource starts the URI, and a URL without one is an error, not garbage.

export const FSPIOP_RESOURCES: ReadonlySet<string> = new Set([
  'participants', 'parties', 'quotes', 'bulkQuotes', 'transfers', 'bulkTransfers', 'transactionRequests',
  'thirdpartyRequests', 'authorizations', 'consents', 'consentRequests', 'fxQuotes', 'fxTransfers',
]);

/**
 * FSPIOP-URI of a URL or of a path with query (`/base/transfers/1?x=y` → `/transfers/1?x=y`).
 * Returns undefined when no path segment names an FSPIOP resource.
 */
export function fspiopUri(urlOrPath: string): string | undefined {
  let pathAndQuery = urlOrPath;
  const scheme = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(urlOrPath);
  if (scheme) pathAndQuery = urlOrPath.slice(scheme[0].length);
  const hash = pathAndQuery.indexOf('#');
  if (hash >= 0) pathAndQuery = pathAndQuery.slice(0, hash);
  const q = pathAndQuery.indexOf('?');
  const path = q >= 0 ? pathAndQuery.slice(0, q) : pathAndQuery;
  let start = 0;
  while (start < path.length) {
    if (path.charCodeAt(start) !== 0x2f) return undefined;
    let end = path.indexOf('/', start + 1);
    if (end < 0) end = path.length;
    if (FSPIOP_RESOURCES.has(path.slice(start + 1, end))) return pathAndQuery.slice(start);
    start = end;
  }
  return undefined;
}
