// Route matching over the FSPIOP resource table (resources.ts). matchRoute() resolves a method and a
// strictly parsed request target (target.ts) to a RouteMatch, or throws 3101 (path an upstream could read
// differently), 3002 (unknown path) or 3000/405 (known path, wrong method).
import { GatewayError } from '../errors.js';
import { isResource, type Resource, ROUTES, type RouteDef, type RouteMatch } from './resources.js';
import { parseTarget, type RequestTarget } from './target.js';

export { RESOURCES, ROUTE_TEMPLATES } from './resources.js';

const byResource = new Map<Resource, RouteDef[]>();
for (const d of ROUTES) {
  const list = byResource.get(d.resource) ?? [];
  list.push(d);
  byResource.set(d.resource, list);
}
// Literal-heavy routes first so '/participants/{ID}/error' wins over '/participants/{Type}/{ID}'.
const literals = (d: RouteDef) => d.segments.filter((s) => !s.startsWith('{')).length;
for (const list of byResource.values()) list.sort((a, b) => literals(b) - literals(a));

function fits(d: RouteDef, segs: readonly string[], from: number): string[] | undefined {
  if (d.segments.length !== segs.length - from) return undefined;
  const params: string[] = [];
  for (let i = 0; i < d.segments.length; i++) {
    const want = d.segments[i]!;
    const got = segs[from + i]!;
    if (want.startsWith('{')) params.push(got);
    else if (want !== got) return undefined;
  }
  return params;
}

/** The routes whose path fits `segs[from..]`, with their parameters. */
function candidates(segs: readonly string[], from: number): { def: RouteDef; params: string[] }[] {
  const first = segs[from];
  if (first === undefined || !isResource(first)) return [];
  const out: { def: RouteDef; params: string[] }[] = [];
  for (const def of byResource.get(first) ?? []) {
    const params = fits(def, segs, from);
    if (params) out.push({ def, params });
  }
  return out;
}

/** Resolves a method and a parsed target (or a raw origin-form target) to its route. */
function matchTarget(method: string, target: RequestTarget): RouteMatch {
  const found = candidates(target.segments, 0);
  if (found.length === 0) throw new GatewayError('GW_ROUTE_UNKNOWN');
  const hit = found.find((f) => f.def.method === method);
  if (!hit) {
    const allow = [...new Set(found.map((f) => f.def.method))].sort().join(', ');
    throw new GatewayError('GW_METHOD_NOT_ALLOWED', { detail: 'Method Not Allowed', headers: { allow } });
  }
  const { def, params } = hit;
  return { resource: def.resource, template: def.template, kind: def.kind, hasBody: def.hasBody, params, path: target.path, query: target.query };
}

/**
 * Resolves an FSPIOP request line to its route.
 * @example matchRoute('PUT', '/transfers/abc/error?x=1') // { resource: 'transfers', kind: 'error', template: 'PUT /transfers/{ID}/error', … }
 */
export function matchRoute(method: string, pathWithQuery: string): RouteMatch {
  return matchTarget(method, parseTarget(pathWithQuery));
}

/**
 * The index of the first segment from which the rest of `segs` is an FSPIOP route for `method`, or -1.
 * Used where a full URL with a base path is given (CLI signing): the FSPIOP-URI starts there.
 */
export function routeStart(method: string, segs: readonly string[]): number {
  for (let i = 0; i < segs.length; i++) {
    if (candidates(segs, i).some((f) => f.def.method === method)) return i;
  }
  return -1;
}
