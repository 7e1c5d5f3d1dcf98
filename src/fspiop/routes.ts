// The FSPIOP 1.1 and 2.0 route table (fspiop.md §4.4): every request and callback path, including the
// `/error` callbacks, FX (fxQuotes, fxTransfers) and the v2 services resource. matchRoute() resolves a
// method + path to a RouteMatch, or throws 3002 (unknown path) / 3000-405 (known path, wrong method).
import { GatewayError } from '../errors.js';
import type { MessageKind, RouteMatch } from '../http/context.js';

interface RouteDef {
  readonly method: string;
  readonly segments: readonly string[]; // literal, or '{Name}' for a parameter
  readonly kind: MessageKind;
  readonly template: string;
}

const defs: RouteDef[] = [];
const add = (method: string, path: string, kind: MessageKind) =>
  defs.push({ method, segments: path.split('/').filter(Boolean), kind, template: `${method} ${path}` });
/** A callback path and its `/error` sibling, both PUT. */
const callback = (path: string) => { add('PUT', path, 'callback'); add('PUT', `${path}/error`, 'error'); };

// participants (account-lookup-service)
add('POST', '/participants', 'request');
callback('/participants/{ID}');
for (const p of ['/participants/{Type}/{ID}', '/participants/{Type}/{ID}/{SubId}']) {
  add('GET', p, 'request'); add('POST', p, 'request'); add('DELETE', p, 'request'); callback(p);
}
// parties
for (const p of ['/parties/{Type}/{ID}', '/parties/{Type}/{ID}/{SubId}']) { add('GET', p, 'request'); callback(p); }
// resources with POST /r, GET /r/{ID}, PUT /r/{ID}, PUT /r/{ID}/error
for (const r of ['transactionRequests', 'quotes', 'bulkQuotes', 'bulkTransfers', 'fxQuotes', 'transfers', 'fxTransfers']) {
  add('POST', `/${r}`, 'request'); add('GET', `/${r}/{ID}`, 'request'); callback(`/${r}/{ID}`);
}
add('PATCH', '/transfers/{ID}', 'request');
add('PATCH', '/fxTransfers/{ID}', 'request');
// GET-and-callback only resources
for (const r of ['authorizations', 'transactions']) { add('GET', `/${r}/{ID}`, 'request'); callback(`/${r}/{ID}`); }
// services (v2.0): FXP discovery
for (const p of ['/services/FXP', '/services/FXP/{SourceCurrency}/{TargetCurrency}']) { add('GET', p, 'request'); callback(p); }

/** Every route template, for documentation and bounded metric labels. */
export const ROUTE_TEMPLATES: readonly string[] = defs.map((d) => d.template);
export const RESOURCES: readonly string[] = [...new Set(defs.map((d) => d.segments[0]!))];

const byResource = new Map<string, RouteDef[]>();
for (const d of defs) {
  const list = byResource.get(d.segments[0]!) ?? [];
  list.push(d);
  byResource.set(d.segments[0]!, list);
}
// Literal-heavy routes first so '/participants/{ID}/error' wins over '/participants/{Type}/{ID}'.
for (const list of byResource.values()) list.sort((a, b) => literals(b) - literals(a));
function literals(d: RouteDef): number { return d.segments.filter((s) => !s.startsWith('{')).length; }

function fits(d: RouteDef, segs: readonly string[]): string[] | undefined {
  if (d.segments.length !== segs.length) return undefined;
  const params: string[] = [];
  for (let i = 0; i < segs.length; i++) {
    const want = d.segments[i]!;
    const got = segs[i]!;
    if (want.startsWith('{')) { if (got.length === 0) return undefined; params.push(got); }
    else if (want !== got) return undefined;
  }
  return params;
}

/**
 * Resolves an FSPIOP request line to its route.
 * @example matchRoute('PUT', '/transfers/abc/error?x=1') // { resource: 'transfers', kind: 'error', template: 'PUT /transfers/{ID}/error', … }
 */
export function matchRoute(method: string, pathWithQuery: string): RouteMatch {
  const q = pathWithQuery.indexOf('?');
  const path = q === -1 ? pathWithQuery : pathWithQuery.slice(0, q);
  const query = q === -1 ? '' : pathWithQuery.slice(q);
  const segs = path.split('/');
  if (segs[0] !== '' || segs.length < 2) throw new GatewayError('GW_ROUTE_UNKNOWN');
  segs.shift();
  if (segs.length > 1 && segs[segs.length - 1] === '') throw new GatewayError('GW_ROUTE_UNKNOWN');
  const list = byResource.get(segs[0]!);
  if (!list) throw new GatewayError('GW_ROUTE_UNKNOWN');
  const allowed = new Set<string>();
  for (const d of list) {
    const params = fits(d, segs);
    if (!params) continue;
    if (d.method === method) return { resource: segs[0]!, template: d.template, kind: d.kind, params, path, query };
    allowed.add(d.method);
  }
  if (allowed.size === 0) throw new GatewayError('GW_ROUTE_UNKNOWN');
  throw new GatewayError('GW_METHOD_NOT_ALLOWED', { detail: 'Method Not Allowed', headers: { allow: [...allowed].sort().join(', ') } });
}
