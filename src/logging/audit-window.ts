// Refusals a flood repeats by the thousand are audited once per window, not once each (docs/operations.md, "Audit
// events"): the first refusal of a key opens a window and is recorded at once (count 1); when the window ends, one
// more record gives the number refused after it, if any, so the last window of a flood is recorded too. Used by the
// rate and in-flight limits (src/limits/middleware.ts) and the quarantine guards (src/admin/middleware.ts): a
// quarantined DFSP is refused before its limits apply, and one record per request would have let it write the audit
// trail at its own rate (hostile review of 2026-12-02).

/** How long one window lasts. */
const AUDIT_WINDOW_MS = 60_000;
/** Most windows open at once; refusals beyond are counted in metrics only. */
const AUDIT_WINDOWS_MAX = 10_000;

/** `record(count, first)`: write a window's record: the first refusal (count 1, first), then the number refused after it. */
export type WindowedAudit = (key: string, record: (count: number, first: boolean) => void) => void;

export function windowedAudit(windowMs = AUDIT_WINDOW_MS, maxWindows = AUDIT_WINDOWS_MAX): WindowedAudit {
  const open = new Map<string, { count: number }>();
  return (key, record) => {
    const w = open.get(key);
    if (w !== undefined) {
      w.count++;
      return;
    }
    if (open.size >= maxWindows) return;
    record(1, true);
    const opened = { count: 0 };
    open.set(key, opened);
    setTimeout(() => {
      open.delete(key);
      if (opened.count > 0) record(opened.count, false);
    }, windowMs).unref();
  };
}
