// The request target, parsed strictly once (RFC 9112 §3.2 origin-form, RFC 3986 §3.3 path, §3.4 query).
// The gateway forwards the path byte for byte, so it accepts only paths that no upstream can read as a
// different path: no dot segments (RFC 3986 §5.2.4 would remove them), no encoded '/', '\', '?', '#' or
// '%' (a server that decodes before routing, or decodes twice, would split or rejoin segments there), no
// percent-encoded unreserved characters (RFC 3986 §6.2.2.2 normalises them back, so '%74ransfers' is
// 'transfers' to a normalising upstream), no raw character outside pchar, and well-formed UTF-8 after
// decoding. Empty segments ('//', a trailing '/') name no FSPIOP route.
import { GatewayError } from '../errors.js';

export interface RequestTarget {
  /** The path, exactly as received ('/transfers/1'). */
  readonly path: string;
  /** The segments of `path` (without the leading empty one), still percent-encoded. */
  readonly segments: readonly string[];
  /** '' or the query with its '?', exactly as received. */
  readonly query: string;
}

// RFC 3986 pchar without pct-encoded: unreserved / sub-delims / ':' / '@'.
const PCHAR = new Uint8Array(128);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@") PCHAR[c.charCodeAt(0)] = 1;
const UNRESERVED = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~') UNRESERVED[c.charCodeAt(0)] = 1;
// Bytes that must never appear percent-encoded in a path segment.
const FORBIDDEN_ENCODED = new Set([0x2f /* / */, 0x5c /* \ */, 0x3f /* ? */, 0x23 /* # */, 0x25 /* % */]);

const utf8 = new TextDecoder('utf-8', { fatal: true });

const malformed = (detail: string) => new GatewayError('GW_PATH_MALFORMED', { detail });
const unknown = () => new GatewayError('GW_ROUTE_UNKNOWN');

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** Reads the byte of a '%HH' at `i`, or throws. */
function pctByte(s: string, i: number): number {
  const hi = i + 2 < s.length ? hexValue(s.charCodeAt(i + 1)) : -1;
  const lo = hi >= 0 ? hexValue(s.charCodeAt(i + 2)) : -1;
  if (lo < 0) throw malformed('malformed percent-encoding in the path');
  return hi * 16 + lo;
}

const isDots = (s: string) => s.length > 0 && /^\.+$/.test(s);

/** Checks one path segment (between two '/'); throws GW_PATH_MALFORMED. */
function checkSegment(seg: string): void {
  if (seg.length === 0) return; // refused after every segment was checked for worse
  let dotsOnly = true;
  let encoded: number[] | undefined;
  for (let i = 0; i < seg.length; i++) {
    const c = seg.charCodeAt(i);
    if (c === 0x25) {
      const b = pctByte(seg, i);
      if (b < 0x80 && UNRESERVED[b]) throw malformed('percent-encoded unreserved character in the path');
      if (FORBIDDEN_ENCODED.has(b) || b < 0x20 || b === 0x7f) throw malformed('percent-encoded separator or control character in the path');
      encoded ??= [];
      encoded.push(b);
      dotsOnly = false;
      i += 2;
      continue;
    }
    if (c >= 128 || !PCHAR[c]) throw malformed('character not allowed in the path');
    if (c !== 0x2e) dotsOnly = false;
  }
  // '..;x' is '..' to servers that strip path parameters (RFC 2396 §3.3) before normalising.
  if (dotsOnly || isDots(seg.slice(0, seg.indexOf(';') >>> 0))) throw malformed('dot segment in the path');
  if (encoded !== undefined) {
    // Every encoded byte must be part of well-formed UTF-8; decode the whole segment to be sure the
    // encoded runs combine with the raw ASCII around them only in valid ways.
    const bytes: number[] = [];
    for (let i = 0; i < seg.length; i++) {
      if (seg.charCodeAt(i) === 0x25) {
        bytes.push(pctByte(seg, i));
        i += 2;
      } else bytes.push(seg.charCodeAt(i));
    }
    try {
      utf8.decode(Uint8Array.from(bytes));
    } catch {
      throw malformed('percent-encoding is not UTF-8');
    }
  }
}

/** Checks the query (RFC 3986 §3.4: pchar, '/', '?', well-formed percent-encoding). */
function checkQuery(q: string): void {
  for (let i = 1; i < q.length; i++) {
    const c = q.charCodeAt(i);
    if (c === 0x25) {
      pctByte(q, i);
      i += 2;
      continue;
    }
    if (c >= 128 || !(PCHAR[c] || c === 0x2f || c === 0x3f)) throw malformed('character not allowed in the query');
  }
}

/**
 * Parses an origin-form request target.
 * @throws GatewayError GW_PATH_MALFORMED (3101/400) for a path an upstream could read differently,
 *   GW_ROUTE_UNKNOWN (3002/404) for a target that is not an absolute path or has an empty segment.
 * @example parseTarget('/transfers/1?a=b') // { path: '/transfers/1', segments: ['transfers', '1'], query: '?a=b' }
 */
export function parseTarget(raw: string): RequestTarget {
  if (raw.charCodeAt(0) !== 0x2f) throw unknown(); // absolute-form, authority-form, '*'
  const q = raw.indexOf('?');
  const path = q === -1 ? raw : raw.slice(0, q);
  const query = q === -1 ? '' : raw.slice(q);
  const segments = path.slice(1).split('/');
  for (const s of segments) checkSegment(s);
  checkQuery(query);
  if (segments.includes('')) throw unknown();
  return { path, segments, query };
}
