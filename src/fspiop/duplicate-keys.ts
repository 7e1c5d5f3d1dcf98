// Duplicate JSON member names (RFC 8259 §4: names SHOULD be unique; parsers differ on which one wins).
// JSON.parse keeps the last, other parsers the first or refuse, so a body with duplicates can mean two
// things: every body is refused when it has them (src/http/stages.ts checkRequest), and so is a JWS
// fallback form (docs/jws.md, "Payload-form policy") and a protected header.

/** Index of the quote that closes the string whose content starts at `from` (text.length when unterminated). */
export function closingQuote(text: string, from: number): number {
  let j = from;
  for (;;) {
    const q = text.indexOf('"', j);
    if (q === -1) return text.length;
    let k = q - 1;
    while (k >= from && text.charCodeAt(k) === 0x5c) k--;
    if ((q - 1 - k) % 2 === 0) return q; // an even run of backslashes: this quote is not escaped
    j = q + 1;
  }
}

/**
 * True when some JSON object in `text` repeats a member name (after unescaping, so "\u0061" repeats
 * "a"). Meant for valid JSON; on other text it answers without throwing. Strings are skipped with indexOf,
 * so long string values cost almost nothing.
 */
export function hasDuplicateKeys(text: string): boolean {
  const stack: (Set<string> | null)[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x22) {
      const j = closingQuote(text, i + 1);
      if (expectKey) {
        const raw = text.slice(i + 1, j);
        let key = raw;
        if (raw.includes('\\')) {
          try {
            key = JSON.parse(`"${raw}"`) as string;
          } catch {
            /* not JSON: compare the raw spelling */
          }
        }
        const keys = stack[stack.length - 1];
        if (keys) {
          if (keys.has(key)) return true;
          keys.add(key);
        }
        expectKey = false;
      }
      i = j;
    } else if (ch === 0x7b) {
      stack.push(new Set());
      expectKey = true;
    } else if (ch === 0x5b) {
      stack.push(null);
      expectKey = false;
    } else if (ch === 0x7d || ch === 0x5d) {
      stack.pop();
      expectKey = false;
    } else if (ch === 0x2c) {
      expectKey = stack[stack.length - 1] instanceof Set;
    }
  }
  return false;
}
