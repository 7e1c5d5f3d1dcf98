// The payload forms a verifier may try (Signature v1.1 §3.3; docs/jws.md): the raw body bytes as the
// spec says, then the SDK's re-serialisations: sorted compact (SDK ≥ 19.18.9) and insertion-order
// compact (SDK ≤ 19.18.8). Fallback forms are computed lazily, only after the raw form failed.
import { canonicalJson } from '../fspiop/canonical-json.js';

/** Every payload form, in the default order of JWS_PAYLOAD_FORMS. */
export const PAYLOAD_FORMS = ['raw', 'sorted', 'insertion'] as const;
export type PayloadForm = (typeof PAYLOAD_FORMS)[number];

/** Body text of a fallback form, or undefined when the body is not JSON (no fallback possible). */
export function payloadText(form: Exclude<PayloadForm, 'raw'>, json: unknown): string {
  return form === 'sorted' ? canonicalJson(json) : JSON.stringify(json);
}

/** Parses a body for the fallback forms; undefined when it is not UTF-8 JSON. */
export function parseBody(raw: Buffer): { text: string; json: unknown } | undefined {
  const text = raw.toString('utf8');
  try {
    return { text, json: JSON.parse(text) };
  } catch {
    return undefined; // not JSON: only the raw form can verify, the caller decides
  }
}

export { hasDuplicateKeys } from '../fspiop/duplicate-keys.js';
