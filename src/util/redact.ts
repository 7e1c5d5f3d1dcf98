// Configuration errors quote the value they refuse, and a URL may carry a password (REDIS_URL's, an upstream's): the
// credentials are never echoed, whatever the spelling (review of 2026-12-01; hostile review of 2026-12-02: a quoted
// value, or a '?' in the password, slipped past a mask anchored at the scheme).

/**
 * `text` with everything between its first `://` (or its start) and its last `@` replaced by `***`: whatever precedes
 * the last '@' of a URL's authority could be credentials, however it is spelt, quoted or escaped.
 * @example maskCredentials('"redis://:pw@redis:6379/0"') === '"redis://***@redis:6379/0"'
 */
export function maskCredentials(text: string): string {
  const at = text.lastIndexOf('@');
  if (at < 0) return text;
  const scheme = text.indexOf('://');
  const start = scheme >= 0 && scheme < at ? scheme + 3 : 0;
  return `${text.slice(0, start)}***${text.slice(at)}`;
}
