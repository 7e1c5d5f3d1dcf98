// FSPIOP header validation (API Definition v1.1 §3.2.1, §3.3.4), pure: takes a header getter and the matched route,
// throws GatewayError 3102 (missing), 3101 (malformed) or 3001/406 (unsupported version). The order
// follows the switch's header plugin: Accept, Date, Content-Type; FSPIOP-Source last.
import { GatewayError } from '../errors.js';
import { hasIso20022Form, type Resource, type RouteMatch } from './resources.js';

/** How a body is written: FSPIOP JSON, or ISO 20022 JSON (`…interoperability.iso20022.<resource>+json`). */
export type ApiType = 'fspiop' | 'iso20022';

export type HeaderGetter = (name: string) => string | undefined;

/** Versions the gateway serves (API Definition v1.1 §3.3.4): majors 1 and 2; minors 1.0, 1.1, 2.0. */
const SUPPORTED_VERSIONS = ['1.0', '1.1', '2.0'] as const;
const SUPPORTED_FULL = new Set<string>(SUPPORTED_VERSIONS);
const SUPPORTED_MAJOR = new Set(['1', '2']);

const VERSION_EXTENSIONS = SUPPORTED_VERSIONS.map((v) => {
  const [key, value] = v.split('.');
  return { key: key!, value: value! };
});

const unsupported = (detail: string) => new GatewayError('GW_VERSION_UNSUPPORTED', { detail, extensions: VERSION_EXTENSIONS });

// RFC 1123 as the switch enforces it: "Tue, 15 Nov 1994 08:12:31 GMT".
const DATE_RE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** Parses an RFC 1123 Date header; undefined when malformed (including a weekday that does not fit the date). */
export function parseHttpDate(value: string): number | undefined {
  const m = DATE_RE.exec(value);
  if (!m) return undefined;
  const t = Date.parse(value);
  if (Number.isNaN(t)) return undefined;
  const d = new Date(t);
  if (DAYS[d.getUTCDay()] !== m[1] || d.getUTCDate() !== Number(m[2])) return undefined;
  return t;
}

// FspId: String(1..32) (API Definition §7.3.13); printable ASCII without spaces or separators.
const FSP_ID_RE = /^[A-Za-z0-9._~:@!$&'()*+;=-]{1,32}$/;
export const isValidFspId = (v: string): boolean => FSP_ID_RE.test(v);

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const contentTypeRes = new Map<string, RegExp>();
const acceptItemRes = new Map<string, RegExp>();
function contentTypeRe(resource: string): RegExp {
  let re = contentTypeRes.get(resource);
  if (!re) {
    re = new RegExp(`^application/vnd\\.interoperability(\\.iso20022)?\\.${escapeRe(resource)}\\+json\\s?;\\s?version=(\\d+\\.\\d+)$`);
    contentTypeRes.set(resource, re);
  }
  return re;
}
function acceptItemRe(resource: string): RegExp {
  let re = acceptItemRes.get(resource);
  if (!re) {
    re = new RegExp(`^application/vnd\\.interoperability(\\.iso20022)?\\.${escapeRe(resource)}\\+json(\\s?;\\s?version=(\\d+(\\.\\d+)?))?$`);
    acceptItemRes.set(resource, re);
  }
  return re;
}

/** Accept: required on GET/POST/DELETE; malformed → 3101; no supported version → 3001/406. */
export function checkAccept(method: string, value: string | undefined, resource: Resource): void {
  if (value === undefined) {
    if (method === 'GET' || method === 'POST' || method === 'DELETE') throw new GatewayError('GW_HEADER_MISSING', { detail: 'Accept is required' });
    return;
  }
  let anySupported = false;
  for (const item of value.split(',')) {
    const m = acceptItemRe(resource).exec(item);
    if (!m) throw new GatewayError('GW_HEADER_MALFORMED', { detail: 'Invalid accept header' });
    const v = m[3];
    if (v === undefined || (v.includes('.') ? SUPPORTED_FULL.has(v) : SUPPORTED_MAJOR.has(v))) anySupported = true;
  }
  if (!anySupported) throw unsupported('The Client requested an unsupported version, see extension list for supported version(s).');
}

/**
 * Content-Type: required when the request has a body (checked when present otherwise). Returns the API type
 * of the body. An ISO 20022 body exists only for the resources Mojaloop maps (resources.ts hasIso20022Form):
 * anything else is refused, so no check can be skipped by naming a body type the gateway does not read. The
 * version is not tied to the API type: the SDK (sdk-standard-components 19.19, baseRequests.js _buildHeaders)
 * sends ISO bodies under whatever contentVersion its resourceVersions give (1.0 unless configured).
 */
export function checkContentType(value: string | undefined, resource: Resource, hasBody: boolean): ApiType {
  if (value === undefined) {
    if (hasBody) throw new GatewayError('GW_HEADER_MISSING', { detail: 'Content-type is required' });
    return 'fspiop';
  }
  const m = contentTypeRe(resource).exec(value);
  if (!m) throw new GatewayError('GW_HEADER_MALFORMED', { detail: 'Invalid content-type header' });
  if (!SUPPORTED_FULL.has(m[2]!)) throw unsupported('Client supplied a protocol version which is not supported by the server');
  if (m[1] === undefined) return 'fspiop';
  if (!hasIso20022Form(resource)) throw new GatewayError('GW_HEADER_MALFORMED', { detail: `${resource} has no ISO 20022 form` });
  return 'iso20022';
}

export interface CheckedHeaders {
  readonly source: string;
  readonly destination: string | undefined;
  /** Date header as epoch milliseconds. */
  readonly date: number;
  /** The body's API type, from Content-Type ('fspiop' when there is none). */
  readonly apiType: ApiType;
}

/**
 * Validates the FSPIOP headers of a request in the switch's order.
 * @param hasBody whether the request carries a body (POST/PUT/PATCH)
 */
export function checkFspiopHeaders(method: string, get: HeaderGetter, route: RouteMatch, hasBody: boolean): CheckedHeaders {
  checkAccept(method, get('accept'), route.resource);
  const dateText = get('date');
  if (dateText === undefined) throw new GatewayError('GW_HEADER_MISSING', { detail: 'Missing required date header' });
  const date = parseHttpDate(dateText);
  if (date === undefined) throw new GatewayError('GW_HEADER_MALFORMED', { detail: 'Invalid date header' });
  const apiType = checkContentType(get('content-type'), route.resource, hasBody);
  const source = get('fspiop-source');
  if (source === undefined) throw new GatewayError('GW_HEADER_MISSING', { detail: 'FSPIOP-Source is required' });
  if (!isValidFspId(source)) throw new GatewayError('GW_HEADER_MALFORMED', { detail: 'Invalid FSPIOP-Source header' });
  const destination = get('fspiop-destination');
  if (destination !== undefined && !isValidFspId(destination)) throw new GatewayError('GW_HEADER_MALFORMED', { detail: 'Invalid FSPIOP-Destination header' });
  return { source, destination, date, apiType };
}
