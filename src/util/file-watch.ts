// The one file watcher of the gateway (TLS material, identity map, peer directory, limits file, admin tokens,
// the JWS signing key and the verification-key directory). One change rule: a file has changed when the
// identity stat() reports for it through symlinks (device, inode, size, mtime, ctime) differs, or it appears
// or vanishes. stat() follows symlinks, so a Kubernetes secret volume's `..data` swap changes the identity
// of every `<name> -> ..data/<name>` link although the link itself never changes, and an editor's
// write-and-rename changes the inode. fs.watch on the containing directory is the fast path; a periodic
// rescan covers filesystems where fs.watch misses events or is unavailable.
import { type FSWatcher, type Stats, statSync, watch } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** The change rule: the identity of a file's content as stat() sees it (symlinks followed). */
export function fileSignature(st: Stats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
}

const MISSING = 'missing';

function pathSignature(p: string, onError: (err: unknown) => void): string {
  try {
    return fileSignature(statSync(p));
  } catch (err) {
    // A missing file is a state (it may be being replaced), not an error; anything else is reported.
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') onError(err);
    return MISSING;
  }
}

/** The directory's entries with each one's signature, or 'unreadable'. */
async function directorySignature(dir: string): Promise<string> {
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch (err) {
    return `unreadable:${(err as NodeJS.ErrnoException).code ?? 'error'}`;
  }
  const sigs = await Promise.all(names.map((n) => stat(join(dir, n)).then(fileSignature, () => MISSING)));
  return names.map((n, i) => `${n}@${sigs[i]}`).join('\n');
}

export interface FileWatch {
  /** Resolves once the baseline the watch compares against has been taken. */
  readonly ready: Promise<void>;
  close(): void;
}

export interface FileWatchOptions {
  /** Period of the rescan that backs up fs.watch. */
  readonly intervalMs: number;
  /** onChange runs once changes have settled for this long (default 50 ms). */
  readonly debounceMs?: number;
  /** Use fs.watch as well as the rescan (default true). */
  readonly fsWatch?: boolean;
  /**
   * Why the watch is degraded or a reaction failed: fs.watch unavailable or failing (the rescan goes on), a
   * file that cannot be stat()ed for a reason other than absence, onChange throwing or rejecting.
   * Default: a process warning, so nothing is lost silently.
   */
  readonly onError?: (err: unknown) => void;
}

const warn = (err: unknown) => process.emitWarning(err instanceof Error ? err : String(err), { type: 'FileWatchWarning' });

/**
 * Calls `onChange` (debounced) whenever the signature computed by `signature` changes. `signature` runs on
 * every fs.watch event in `dirs` and every `intervalMs`; runs never overlap.
 */
function watchSignature(dirs: readonly string[], signature: () => string | Promise<string>, onChange: () => unknown, options: FileWatchOptions): FileWatch {
  const onError = options.onError ?? warn;
  let last: string | undefined;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  const fire = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      if (closed) return;
      try {
        const r = onChange();
        if (r instanceof Promise) r.catch(onError);
      } catch (err) {
        onError(err);
      }
    }, options.debounceMs ?? 50);
    timer.unref();
  };
  const compare = (s: string) => {
    if (closed) return;
    if (last !== undefined && s !== last) fire();
    last = s;
  };
  const rescan = (): void => {
    if (running) {
      again = true;
      return;
    }
    running = (async () => {
      do {
        again = false;
        compare(await signature());
      } while (again && !closed);
    })()
      .catch(onError)
      .finally(() => {
        running = undefined;
      });
  };
  // The baseline: synchronous when the signature is, so a change right after watching is never missed.
  const first = signature();
  const ready = typeof first === 'string' ? Promise.resolve(compare(first)) : first.then(compare);
  const watchers: FSWatcher[] = [];
  if (options.fsWatch !== false) {
    for (const dir of new Set(dirs)) {
      try {
        const w = watch(dir, { persistent: false }, () => rescan());
        w.on('error', (err) => {
          onError(err);
          w.close();
        });
        watchers.push(w);
      } catch (err) {
        onError(err); // the periodic rescan still covers it
      }
    }
  }
  const interval = setInterval(rescan, options.intervalMs);
  interval.unref();
  return {
    ready: ready.catch(onError),
    close() {
      closed = true;
      clearInterval(interval);
      if (timer) clearTimeout(timer);
      for (const w of watchers) w.close();
    },
  };
}

/** Watches files for replacement (their directories with fs.watch, plus the rescan). */
export function watchFiles(paths: readonly string[], onChange: () => unknown, options: FileWatchOptions): FileWatch {
  const onError = options.onError ?? warn;
  return watchSignature(
    paths.map((p) => dirname(p)),
    () => paths.map((p) => pathSignature(p, onError)).join('\n'),
    onChange,
    options,
  );
}

/** Watches a directory for entries added, removed or replaced (every entry by the same rule as a file). */
export function watchDirectory(dir: string, onChange: () => unknown, options: FileWatchOptions): FileWatch {
  return watchSignature([dir], () => directorySignature(dir), onChange, options);
}
