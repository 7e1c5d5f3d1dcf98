// Polls a condition until it holds or a deadline passes: the one way tests wait for something to happen
// (never a fixed sleep standing in for synchronisation).
import { setTimeout as delay } from 'node:timers/promises';

export interface WaitOptions {
  /** Give up after this many milliseconds (default 5000). */
  readonly timeoutMs?: number;
  /** Pause between two checks (default 20 ms). */
  readonly intervalMs?: number;
  /** Said in the error when the deadline passes. */
  readonly what?: string;
}

/** Resolves with the first truthy value of `cond()`; rejects when `timeoutMs` passes first. */
export async function waitFor<T>(cond: () => T | Promise<T>, o: WaitOptions = {}): Promise<NonNullable<T>> {
  const deadline = Date.now() + (o.timeoutMs ?? 5000);
  for (;;) {
    const v = await cond();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${o.timeoutMs ?? 5000} ms waiting for ${o.what ?? 'a condition'}`);
    await delay(o.intervalMs ?? 20);
  }
}
