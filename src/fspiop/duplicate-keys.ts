// Duplicate JSON member names (RFC 8259 §4: names SHOULD be unique; parsers differ on which one wins).
// JSON.parse keeps the last, other parsers the first or refuse, so a body with duplicates can mean two
// things: the JWS fallback forms and the ILP stage refuse such bodies (fspiop.md §2.11).

/**
 * True when some JSON object in `text` repeats a member name (after unescaping). Assumes `text` is
 * valid JSON (parse it first). `{"a":2,"a":1}` canonicalises like `{"a":1}` while a first-wins parser
 * downstream sees 2, so such bodies must never be accepted through a fallback form (fspiop.md §2.11).
 */
export function hasDuplicateKeys(text: string): boolean {
  const stack: (Set<string> | null)[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x22) {
      let j = i + 1;
      let escaped = false;
      for (; j < text.length; j++) {
        const c = text.charCodeAt(j);
        if (c === 0x5c) { escaped = true; j++; continue; }
        if (c === 0x22) break;
      }
      if (expectKey) {
        const key = escaped ? (JSON.parse(text.slice(i, j + 1)) as string) : text.slice(i + 1, j);
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
