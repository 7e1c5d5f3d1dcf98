// Watches files for replacement: fs.watch on their directories (fast path) plus a periodic stat rescan
// (fs.watch misses events on some filesystems, and Kubernetes secret volumes swap a `..data` symlink).
// Calls onChange (debounced) when any file's identity (inode, size, mtime) changes or it appears/vanishes.
import { statSync, watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';

export interface FileWatch { close(): void }

function signature(p: string): string {
  try { const s = statSync(p); return `${s.ino}:${s.size}:${s.mtimeMs}`; } catch { return 'missing'; }
}

/**
 * @param paths files to watch (symlinks are followed by stat)
 * @param onChange called after a change settles (debounceMs)
 */
export function watchFiles(paths: readonly string[], onChange: () => void, options: { intervalMs: number; debounceMs?: number }): FileWatch {
  const sigs = new Map(paths.map((p) => [p, signature(p)]));
  let timer: NodeJS.Timeout | undefined;
  const fire = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => { timer = undefined; onChange(); }, options.debounceMs ?? 50);
    timer.unref();
  };
  const rescan = () => {
    let changed = false;
    for (const p of paths) {
      const s = signature(p);
      if (sigs.get(p) !== s) { sigs.set(p, s); changed = true; }
    }
    if (changed) fire();
  };
  const watchers: FSWatcher[] = [];
  for (const dir of new Set(paths.map((p) => dirname(p)))) {
    try {
      const w = watch(dir, { persistent: false }, () => rescan());
      w.on('error', () => {});
      watchers.push(w);
    } catch { /* the periodic rescan still covers it */ }
  }
  const interval = setInterval(rescan, options.intervalMs);
  interval.unref();
  return {
    close() {
      clearInterval(interval);
      if (timer) clearTimeout(timer);
      for (const w of watchers) w.close();
    },
  };
}
