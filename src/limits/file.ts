// RATE_LIMITS_PATH, hot-reloaded like the peer directory (peers/directory.ts): a file that does not parse
// or validate keeps the previous limits in force, and the listener hears about it (logged and counted by
// the caller). A broken file at start-up stops the gateway.
import { readFileSync } from 'node:fs';
import { type FileWatch, watchFiles } from '../util/file-watch.js';
import { EMPTY_LIMITS, type LimitsTable, parseLimits } from './rules.js';

export type LimitsListener = (e: { outcome: 'ok' | 'failed'; error?: unknown }) => void;

export class LimitsFile {
  #table: LimitsTable = EMPTY_LIMITS;
  #watch: FileWatch | undefined;

  constructor(
    private readonly path: string | undefined,
    private readonly isKnown: ((fspId: string) => boolean) | undefined,
    private readonly listener: LimitsListener = () => {},
  ) {
    if (path) this.#table = parseLimits(readFileSync(path, 'utf8'), isKnown);
  }

  get current(): LimitsTable {
    return this.#table;
  }

  reload(): void {
    if (!this.path) return;
    try {
      this.#table = parseLimits(readFileSync(this.path, 'utf8'), this.isKnown);
      this.listener({ outcome: 'ok' });
    } catch (error) {
      this.listener({ outcome: 'failed', error });
    }
  }

  /** Reloads when the file changes (src/util/file-watch.ts); `onError`: the watch is degraded. */
  watch(intervalMs: number, onError?: (err: unknown) => void): void {
    if (this.path) this.#watch = watchFiles([this.path], () => this.reload(), { intervalMs, ...(onError ? { onError } : {}) });
  }

  close(): void {
    this.#watch?.close();
  }
}
