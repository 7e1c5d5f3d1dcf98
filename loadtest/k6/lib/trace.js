// W3C trace context ids from a per-VU random prefix and a per-VU counter (plain JavaScript without k6
// imports, so that Node's tests load it as k6 runs it). Drawing 24 random bytes for every request cost k6 about
// 23 µs of its JavaScript per request; this costs about 2 µs (k6 v0.48, docs/performance/k6.md §2).

const PAD = '0000000000000000';

/** @param {number} n  a counter, 1 ≤ n < 2^53 @returns {string} 16 lowercase hex digits */
function hex16(n) {
  const s = n.toString(16);
  return PAD.slice(s.length) + s;
}

/**
 * `traceparent` (version 00, sampled) of request `n` of a VU whose random prefix is `prefix` (16 hex digits):
 * trace-id = prefix ‖ n, parent-id = n. Distinct for every n of one prefix; neither id is all zeros for n ≥ 1
 * (W3C Trace Context §3.2.2.3–3.2.2.4 make all-zero ids invalid).
 * @param {string} prefix
 * @param {number} n
 * @returns {string}
 */
export function traceparentOf(prefix, n) {
  const c = hex16(n);
  return `00-${prefix}${c}-${c}-01`;
}
