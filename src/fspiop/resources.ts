// The FSPIOP resource table: the one source of every route the gateway serves (FSPIOP API 1.1 and 2.0,
// Mojaloop api-snippets paths), of the resource names the JWS `FSPIOP-URI` logic knows, of which messages carry a
// signed body and of the templates the ILP stages select on. Everything else derives from it:
// routes.ts matches against it, jws/uri.ts takes its resource names, metric labels use its templates.
// A new resource is one line here.

/** One line per resource: its route templates, `{Name}` for a path parameter. */
const TABLE = {
  participants: [
    'POST /participants',
    'PUT /participants/{ID}',
    'PUT /participants/{ID}/error',
    'GET /participants/{Type}/{ID}',
    'POST /participants/{Type}/{ID}',
    'DELETE /participants/{Type}/{ID}',
    'PUT /participants/{Type}/{ID}',
    'PUT /participants/{Type}/{ID}/error',
    'GET /participants/{Type}/{ID}/{SubId}',
    'POST /participants/{Type}/{ID}/{SubId}',
    'DELETE /participants/{Type}/{ID}/{SubId}',
    'PUT /participants/{Type}/{ID}/{SubId}',
    'PUT /participants/{Type}/{ID}/{SubId}/error',
  ],
  parties: [
    'GET /parties/{Type}/{ID}',
    'PUT /parties/{Type}/{ID}',
    'PUT /parties/{Type}/{ID}/error',
    'GET /parties/{Type}/{ID}/{SubId}',
    'PUT /parties/{Type}/{ID}/{SubId}',
    'PUT /parties/{Type}/{ID}/{SubId}/error',
  ],
  transactionRequests: ['POST /transactionRequests', 'GET /transactionRequests/{ID}', 'PUT /transactionRequests/{ID}', 'PUT /transactionRequests/{ID}/error'],
  quotes: ['POST /quotes', 'GET /quotes/{ID}', 'PUT /quotes/{ID}', 'PUT /quotes/{ID}/error'],
  bulkQuotes: ['POST /bulkQuotes', 'GET /bulkQuotes/{ID}', 'PUT /bulkQuotes/{ID}', 'PUT /bulkQuotes/{ID}/error'],
  fxQuotes: ['POST /fxQuotes', 'GET /fxQuotes/{ID}', 'PUT /fxQuotes/{ID}', 'PUT /fxQuotes/{ID}/error'],
  transfers: ['POST /transfers', 'GET /transfers/{ID}', 'PUT /transfers/{ID}', 'PUT /transfers/{ID}/error', 'PATCH /transfers/{ID}'],
  bulkTransfers: ['POST /bulkTransfers', 'GET /bulkTransfers/{ID}', 'PUT /bulkTransfers/{ID}', 'PUT /bulkTransfers/{ID}/error'],
  fxTransfers: ['POST /fxTransfers', 'GET /fxTransfers/{ID}', 'PUT /fxTransfers/{ID}', 'PUT /fxTransfers/{ID}/error', 'PATCH /fxTransfers/{ID}'],
  authorizations: ['GET /authorizations/{ID}', 'PUT /authorizations/{ID}', 'PUT /authorizations/{ID}/error'],
  transactions: ['GET /transactions/{ID}', 'PUT /transactions/{ID}', 'PUT /transactions/{ID}/error'],
  services: [
    'GET /services/FXP',
    'PUT /services/FXP',
    'PUT /services/FXP/error',
    'GET /services/FXP/{SourceCurrency}/{TargetCurrency}',
    'PUT /services/FXP/{SourceCurrency}/{TargetCurrency}',
    'PUT /services/FXP/{SourceCurrency}/{TargetCurrency}/error',
  ],
} as const;

/** An FSPIOP resource name, the first path segment (e.g. 'transfers'). */
export type Resource = keyof typeof TABLE;
/** A route template, e.g. 'PUT /transfers/{ID}'. Comparing against a string not in the table is a type error. */
export type RouteTemplate = (typeof TABLE)[Resource][number];
/** Requests (POST/GET/DELETE/PATCH), callbacks (PUT …) and error callbacks (PUT …/error). */
export type MessageKind = 'request' | 'callback' | 'error';
export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RouteDef {
  readonly template: RouteTemplate;
  readonly resource: Resource;
  readonly method: Method;
  /** Path segments: a literal, or '{Name}' for a parameter. */
  readonly segments: readonly string[];
  readonly kind: MessageKind;
  /** The message carries a JSON body, which is what FSPIOP JWS signs (Signature v1.1 §3.2). */
  readonly hasBody: boolean;
}

/** The FSPIOP route a request matched (fspiop/routes.ts). */
export interface RouteMatch {
  readonly resource: Resource;
  /** Route template, also the metric label, e.g. 'PUT /transfers/{ID}'. */
  readonly template: RouteTemplate;
  readonly kind: MessageKind;
  /** The message carries a JSON body (and so a signature): from the route's method. */
  readonly hasBody: boolean;
  /** Path parameters in order, percent-encoding kept as received, e.g. ['7c23…'] for /transfers/{ID}. */
  readonly params: readonly string[];
  /**
   * The path (without query) exactly as received and checked. It is also the FSPIOP-URI path (the URI
   * starts at the resource) and what is forwarded, after the target's base path.
   */
  readonly path: string;
  /** The query string, '' or '?a=b', as received. */
  readonly query: string;
}

const BODY_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH']);

function defOf(resource: Resource, template: RouteTemplate): RouteDef {
  const space = template.indexOf(' ');
  const method = template.slice(0, space) as Method;
  const segments = template
    .slice(space + 1)
    .split('/')
    .slice(1);
  const kind: MessageKind = method !== 'PUT' ? 'request' : segments[segments.length - 1] === 'error' ? 'error' : 'callback';
  return Object.freeze({ template, resource, method, segments: Object.freeze(segments), kind, hasBody: BODY_METHODS.has(method) });
}

/**
 * Routes only the switch sends (docs/fspiop.md's resource table):
 *   - its notification of a transfer's (a conversion's) final state to the payee (the FXP): API Definition v1.1
 *     §6.7.3.3 ("used by the Switch"), FSPIOP API 2.0 `PATCH /fxTransfers/{ID}`; a payee credits its customer on a
 *     PATCH COMMITTED (the RESERVED flow);
 *   - the Account Lookup System's callbacks (§6.2: `PUT /participants/…` and their `/error`): which FSP holds a party,
 *     where the payer then sends its money;
 *   - the switch's list of FXPs (FSPIOP API 2.0 `PUT /services/FXP…` and their `/error`), in answer to its GET.
 */
const SWITCH_ONLY: ReadonlySet<RouteTemplate> = new Set<RouteTemplate>([
  'PATCH /transfers/{ID}',
  'PATCH /fxTransfers/{ID}',
  ...TABLE.participants.filter((t) => t.startsWith('PUT ')),
  ...TABLE.services.filter((t) => t.startsWith('PUT ')),
]);
export const isSwitchOnly = (template: RouteTemplate): boolean => SWITCH_ONLY.has(template);

/** Every route, derived from the table. */
export const ROUTES: readonly RouteDef[] = Object.freeze((Object.keys(TABLE) as Resource[]).flatMap((r) => TABLE[r].map((t) => defOf(r, t))));
/** Every resource name. */
export const RESOURCES: readonly Resource[] = Object.freeze(Object.keys(TABLE) as Resource[]);
/** Every route template, for documentation and bounded metric labels. */
export const ROUTE_TEMPLATES: readonly RouteTemplate[] = Object.freeze(ROUTES.map((d) => d.template));
const RESOURCE_OF: ReadonlyMap<RouteTemplate, Resource> = new Map(ROUTES.map((d) => [d.template, d.resource]));
/** The resource a route template belongs to. */
export const resourceOf = (template: RouteTemplate): Resource => RESOURCE_OF.get(template)!;

const RESOURCE_SET: ReadonlySet<string> = new Set(RESOURCES);

/**
 * The resources whose bodies Mojaloop defines in ISO 20022 mode (FSPIOP API 2.0, content type
 * `application/vnd.interoperability.iso20022.<resource>+json;version=2.0`): parties (acmt.024), quotes (pacs.081/082),
 * fxQuotes (pacs.091/092), transfers (pacs.008/002) and fxTransfers (pacs.009/002), as mapped by
 * `@mojaloop/ml-schema-transformer-lib` 2.10 (src/mappings/fspiopiso20022). Every other resource stays FSPIOP-only.
 */
const ISO20022_RESOURCES: ReadonlySet<Resource> = new Set<Resource>(['parties', 'quotes', 'fxQuotes', 'transfers', 'fxTransfers']);
export const hasIso20022Form = (resource: Resource): boolean => ISO20022_RESOURCES.has(resource);
export const isResource = (name: string): name is Resource => RESOURCE_SET.has(name);
