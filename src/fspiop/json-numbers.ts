import { closingQuote } from './duplicate-keys.js';

// Number literals that a canonical re-serialisation would spell differently. JSON.parse reads
// `100`, `1E2` and `1.00e2` as the same double, `12345678901234567890` as 12345678901234567000 and
// `1e400` as Infinity (RFC 8259 §6 leaves precision to the implementation), so canonical JSON of the
// parsed value (JSON.stringify, the SDK's and the gateway's signing form, docs/jws.md) can carry a
// different number than the bytes on the wire. Where a signature is checked or made over a re-serialised
// form, every number must already be in that form, or the signed text and the forwarded text disagree.

/**
 * True when some number literal outside strings in `text` (valid JSON) differs from
 * JSON.stringify(Number(literal)): a non-shortest spelling, an exponent form, lost precision, -0 or an
 * overflow to Infinity.
 */
export function hasNonCanonicalNumber(text: string): boolean {
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      i = closingQuote(text, i + 1);
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      let j = i + 1;
      while (j < n) {
        const d = text.charCodeAt(j);
        if ((d >= 0x30 && d <= 0x39) || d === 0x2e || d === 0x65 || d === 0x45 || d === 0x2b || d === 0x2d) j++;
        else break;
      }
      const literal = text.slice(i, j);
      if (JSON.stringify(Number(literal)) !== literal) return true;
      i = j - 1;
    }
  }
  return false;
}
