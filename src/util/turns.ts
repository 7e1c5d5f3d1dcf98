// Large bodies are processed one expensive step per event-loop turn, so that no single request can
// stall the loop for long (bounded work per request, docs/security.md class 10). Each step over a body
// of MAX_BODY_BYTES (5 MiB) costs at most about 35 ms on the reference machine (parse, canonicalise,
// base64url, hash: measured in docs/security.md); small bodies, the hot path, never yield.

/** Bodies larger than this are worked on in several turns. */
export const YIELD_ABOVE_BYTES = 256 * 1024;

/** Resolves on a later turn of the event loop, after pending I/O callbacks. */
export const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
