// Canonical JSON for FSPIOP signing (as SDK ≥ 19.18.9 signs: safe-stable-stringify): compact, object members sorted by
// UTF-16 code unit order at every depth, arrays in order, values serialised as JSON.stringify does.
// This is the form Mojaloop's SDK ≥ 19.18.9 signs and sends; 'insertion' is plain JSON.stringify.
// Written as one string-building walk (no intermediate arrays): it sits on the outbound signing path.
// The walk is recursive but depth-limited (MAX_JSON_DEPTH, as checkRequest enforces on every body), so
// no value can drive it into a stack overflow, whoever calls it.
import { GatewayError } from '../errors.js';
import { MAX_JSON_DEPTH } from './json-limits.js';

/**
 * Sorted-key compact JSON text. Members whose value is undefined/function/symbol are omitted, as JSON.stringify does.
 * @throws GatewayError GW_BODY_TOO_COMPLEX when containers nest deeper than MAX_JSON_DEPTH.
 */
export function canonicalJson(value: unknown): string {
  const out = write(value, 0);
  return out === undefined ? 'null' : out;
}

// Strings needing no escape (the vast majority of FSPIOP values) skip JSON.stringify's native call.
// Lone surrogates are escaped by JSON.stringify (well-formed JSON.stringify), so they take the slow path too.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching the control characters JSON must escape is the point
const NEEDS_ESCAPE = /[\u0000-\u001f"\\\ud800-\udfff]/;
const quote = (s: string): string => (s.length < 5000 && !NEEDS_ESCAPE.test(s) ? `"${s}"` : JSON.stringify(s));

function write(v: unknown, depth: number): string | undefined {
  switch (typeof v) {
    case 'string':
      return quote(v);
    case 'number':
      return Number.isFinite(v) ? String(v) : 'null';
    case 'boolean':
      return v ? 'true' : 'false';
    case 'bigint':
      throw new TypeError('BigInt is not JSON');
    case 'object': {
      if (v === null) return 'null';
      if (depth >= MAX_JSON_DEPTH) throw new GatewayError('GW_BODY_TOO_COMPLEX', { detail: `JSON nested deeper than ${MAX_JSON_DEPTH} levels` });
      if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return write((v as { toJSON: () => unknown }).toJSON(), depth + 1);
      if (Array.isArray(v)) {
        let s = '[';
        for (let i = 0; i < v.length; i++) s += (i ? ',' : '') + (write(v[i], depth + 1) ?? 'null');
        return `${s}]`;
      }
      const keys = Object.keys(v as object).sort();
      let s = '{';
      let first = true;
      for (const k of keys) {
        const w = write((v as Record<string, unknown>)[k], depth + 1);
        if (w === undefined) continue;
        s += `${first ? '' : ','}${quote(k)}:${w}`;
        first = false;
      }
      return `${s}}`;
    }
    default:
      return undefined;
  }
}
