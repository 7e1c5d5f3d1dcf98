// What a running gateway must release on shutdown, in the order it was opened. One list instead of a
// hand-kept sequence in the composition root: every opener pushes its own closer.

export class Closers {
  readonly #fns: (() => unknown)[] = [];

  /** Adds what to run on close(); returns the value it closes, for one-line wiring. */
  add<T>(value: T, close: (value: T) => unknown): T {
    this.#fns.push(() => close(value));
    return value;
  }

  push(...fns: (() => unknown)[]): void {
    this.#fns.push(...fns);
  }

  /** Runs every closer once, in order; a failing closer does not stop the others (its error is reported). */
  async closeAll(onError: (err: unknown) => void): Promise<void> {
    for (const fn of this.#fns.splice(0)) {
      try {
        await fn();
      } catch (err) {
        onError(err);
      }
    }
  }
}
