// Bounded work per request (docs/security.md class 10): every body is scanned once, right after it is read and
// before any stage parses or walks it, for its JSON nesting depth and its number of values. The scan is
// one pass over the bytes with no recursion and no allocation per value; it stops at the first byte past
// a limit, so a body of 100 000 '[' costs 33 bytes of work. Everything after it (JSON.parse, canonical
// JSON, duplicate-key detection, ILP transaction building) then only sees shallow, bounded JSON.

/**
 * Deepest nesting accepted (containers inside containers). FSPIOP 1.1/2.0 bodies nest at most about 8
 * deep (e.g. bulkQuotes → individualQuotes[] → payee → partyIdInfo → extensionList → extension[] → {}),
 * ISO 20022 FSPIOP bodies about 10; 32 leaves room without letting a body drive a recursive walk.
 */
export const MAX_JSON_DEPTH = 32;

export interface JsonLimits {
  /** Deepest container nesting (default MAX_JSON_DEPTH). */
  readonly maxDepth?: number;
  /** Most values: containers plus members/elements after the first (commas), an upper bound of the value count. */
  readonly maxValues?: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Why `text` exceeds the limits ('depth' or 'values'), or undefined when it does not. Strings are skipped
 * with indexOf (native speed), so long strings cost almost nothing. Does not validate JSON syntax: the
 * parser that follows does; brackets inside strings are not counted.
 */
export function jsonLimitExceeded(text: Buffer | string, limits: JsonLimits = {}): 'depth' | 'values' | undefined {
  const maxDepth = limits.maxDepth ?? MAX_JSON_DEPTH;
  const maxValues = limits.maxValues ?? Number.POSITIVE_INFINITY;
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  const n = bytes.length;
  let depth = 0;
  let values = 0;
  for (let i = 0; i < n; i++) {
    const b = bytes[i]!;
    if (b === QUOTE) {
      i = closingQuote(bytes, i + 1);
    } else if (b === 0x5b || b === 0x7b) {
      // [ {
      if (++depth > maxDepth) return 'depth';
      if (++values > maxValues) return 'values';
    } else if (b === 0x5d || b === 0x7d) {
      // ] }
      if (depth > 0) depth--;
    } else if (b === 0x2c) {
      // ,
      if (++values > maxValues) return 'values';
    }
  }
  return undefined;
}

/** Index of the quote closing a string whose content starts at `from` (or the end when unterminated). */
function closingQuote(bytes: Buffer, from: number): number {
  let j = from;
  for (;;) {
    const q = bytes.indexOf(QUOTE, j);
    if (q === -1) return bytes.length;
    let k = q - 1;
    while (k >= from && bytes[k] === BACKSLASH) k--;
    if ((q - 1 - k) % 2 === 0) return q; // an even run of backslashes: the quote is not escaped
    j = q + 1;
  }
}
