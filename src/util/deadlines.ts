// Bounded maps of deadlines (performance.now() ms by key) that the limits keep per process: the Limiter's
// refusal blocks and the middleware's release queue (src/limits/). One rule for both: nothing is swept until
// the map holds `max` entries; then every deadline already passed is dropped at once.

/**
 * Drops the passed deadlines of `m` once it holds `max` entries.
 * @returns whether `m` has room for one more entry (false: still full of live deadlines)
 */
export function pruneDeadlines(m: Map<string, number>, max: number, now: number): boolean {
  if (m.size < max) return true;
  for (const [k, t] of m) if (t <= now) m.delete(k);
  return m.size < max;
}
