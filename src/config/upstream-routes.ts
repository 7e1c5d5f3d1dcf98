// INBOUND_UPSTREAM_ROUTES: which upstream serves which FSPIOP resource (docs/operations.md, "Upstreams per
// resource"). Mojaloop splits the switch into services: account lookup (/parties, /participants), quoting
// (/quotes, /fxQuotes, /bulkQuotes), ml-api-adapter (/transfers, /fxTransfers, /bulkTransfers) and the
// transaction-requests service; the hub gateway forwards each resource to its own. Resource names are those
// of the FSPIOP resource table (src/fspiop/resources.ts), the one source of resources.
import { isResource, RESOURCES, type Resource } from '../fspiop/resources.js';
import { maskCredentials } from '../util/redact.js';

/** One item of the mapping: its resources and their upstream. */
export interface UpstreamRoute {
  /** Bounded metric and readiness label: `upstream:<first resource of the item>`. */
  readonly name: string;
  readonly url: string;
  readonly resources: readonly Resource[];
}

/** The name of INBOUND_UPSTREAM_URL's upstream (or the simulator's) in metrics and /ready. */
export const DEFAULT_UPSTREAM_NAME = 'upstream';

/** `host:port` without a scheme, how the sdk-scheme-adapter writes PEER_ENDPOINT and its other endpoints. */
export const isBareHostPort = (value: string): boolean => /^[^\s/:]+:\d{1,5}(\/.*)?$/.test(value);
/** The one wording for a bare host:port wherever a URL is expected (schema.ts url(), the routes here). */
export const BARE_HOST_PORT = 'has no scheme (a bare host:port, as the sdk-scheme-adapter writes its endpoints); write http:// or https:// before it';

/**
 * Why a value is not an upstream URL, or undefined when it is one: http or https, a host, no credentials
 * (they would reach logs and the banner, and the pools never send them), no query or fragment (a request's
 * own path and query are appended to the URL's path). A bare `host:port`, the sdk-scheme-adapter's form of
 * its endpoints, is named as such.
 */
function upstreamUrlProblem(value: string): string | undefined {
  if (isBareHostPort(value)) return BARE_HOST_PORT;
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return 'is not a URL';
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'is not an http:// or https:// URL';
  if (u.hostname === '') return 'has no host';
  if (u.username !== '' || u.password !== '') return 'carries credentials; they are never sent, remove them';
  if (u.search !== '' || u.hash !== '' || value.includes('?') || value.includes('#')) return 'has a query or fragment; give a base URL';
  return undefined;
}

/**
 * Parses `resource[|resource…]=url` items, comma-separated.
 * @returns the items in order, or the problems (one line each, without the variable name)
 * @example parseUpstreamRoutes('parties|participants=http://als:4002,quotes=http://quoting:3002')
 */
export function parseUpstreamRoutes(text: string): { routes: readonly UpstreamRoute[]; problems: readonly string[] } {
  const problems: string[] = [];
  const routes: UpstreamRoute[] = [];
  const routed = new Set<Resource>();
  const byUrl = new Map<string, string>();
  const items = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (items.length === 0) problems.push('expected resource[|resource…]=URL items, comma-separated');
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0 || eq === item.length - 1) {
      problems.push(`expected resource[|resource…]=URL, got '${maskCredentials(item)}'`);
      continue;
    }
    const names = item
      .slice(0, eq)
      .split('|')
      .map((s) => s.trim());
    const label = names.join('|');
    const url = item.slice(eq + 1).trim();
    const resources: Resource[] = [];
    for (const n of names) {
      if (!isResource(n)) problems.push(`unknown resource '${n}' in '${maskCredentials(item)}' (resources: ${RESOURCES.join(', ')})`);
      else if (routed.has(n)) problems.push(`resource '${n}' is listed twice; each resource has one upstream`);
      else {
        routed.add(n);
        resources.push(n);
      }
    }
    const bad = upstreamUrlProblem(url);
    if (bad) {
      problems.push(`the URL of ${label} '${maskCredentials(url)}' ${bad}`);
      continue;
    }
    const key = new URL(url).href.replace(/\/+$/, '');
    const same = byUrl.get(key);
    if (same !== undefined) problems.push(`${label} and ${same} have the same URL; list their resources in one item`);
    byUrl.set(key, label);
    const first = resources[0];
    if (first !== undefined) routes.push({ name: `${DEFAULT_UPSTREAM_NAME}:${first}`, url, resources });
  }
  return problems.length ? { routes: [], problems } : { routes, problems };
}
