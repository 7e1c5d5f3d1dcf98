// Canonical JSON for FSPIOP signing (fspiop.md §2.4, §2.11): compact, object members sorted by
// UTF-16 code unit order at every depth, arrays in order, values serialised as JSON.stringify does.
// This is the form Mojaloop's SDK ≥ 19.18.9 signs and sends; 'insertion' is plain JSON.stringify.
// Written as one string-building walk (no intermediate arrays): it sits on the outbound signing path.

/** Sorted-key compact JSON text. Members whose value is undefined/function/symbol are omitted, as JSON.stringify does. */
export function canonicalJson(value: unknown): string {
  const out = write(value);
  return out === undefined ? 'null' : out;
}

// Strings needing no escape (the vast majority of FSPIOP values) skip JSON.stringify's native call.
// Lone surrogates are escaped by JSON.stringify (well-formed JSON.stringify), so they take the slow path too.
const NEEDS_ESCAPE = /[\u0000-\u001f"\\\ud800-\udfff]/;
const quote = (s: string): string => (s.length < 5000 && !NEEDS_ESCAPE.test(s) ? `"${s}"` : JSON.stringify(s));

function write(v: unknown): string | undefined {
  switch (typeof v) {
    case 'string': return quote(v);
    case 'number': return Number.isFinite(v) ? String(v) : 'null';
    case 'boolean': return v ? 'true' : 'false';
    case 'bigint': throw new TypeError('BigInt is not JSON');
    case 'object': {
      if (v === null) return 'null';
      if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return write((v as { toJSON: () => unknown }).toJSON());
      if (Array.isArray(v)) {
        let s = '[';
        for (let i = 0; i < v.length; i++) s += (i ? ',' : '') + (write(v[i]) ?? 'null');
        return `${s}]`;
      }
      const keys = Object.keys(v as object).sort();
      let s = '{';
      let first = true;
      for (const k of keys) {
        const w = write((v as Record<string, unknown>)[k]);
        if (w === undefined) continue;
        s += `${first ? '' : ','}${quote(k)}:${w}`;
        first = false;
      }
      return `${s}}`;
    }
    default: return undefined;
  }
}
