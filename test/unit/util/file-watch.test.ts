// The one file watcher (src/util/file-watch.ts): its change rule (stat identity through symlinks) seen from
// the outside, with fs.watch off so that only the rule and the rescan are exercised, then with fs.watch on.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type FileWatch, type FileWatchOptions, watchDirectory, watchFiles } from '../../../src/util/file-watch.js';

const root = mkdtempSync(join(tmpdir(), 'sg-watch-'));
const watches: FileWatch[] = [];
after(() => {
  for (const w of watches) w.close();
  rmSync(root, { recursive: true, force: true });
});
let n = 0;
const fresh = () => {
  const d = join(root, String(n++));
  mkdirSync(d);
  return d;
};

/** Polls until `cond` holds or the deadline passes. */
async function until(cond: () => boolean, ms = 3000): Promise<boolean> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) return false;
    await sleep(10);
  }
  return true;
}

function counting(start: (onChange: () => void, o: FileWatchOptions) => FileWatch, options: Partial<FileWatchOptions> = {}) {
  const c = { changes: 0, errors: [] as unknown[], w: undefined as unknown as FileWatch };
  c.w = start(() => c.changes++, { intervalMs: 20, debounceMs: 5, fsWatch: false, onError: (e) => c.errors.push(e), ...options });
  watches.push(c.w);
  return c;
}

test('a file rewritten in place with the same size and mtime is a change (inode/ctime)', async () => {
  const dir = fresh();
  const f = join(dir, 'a.json');
  writeFileSync(f, '{"v":1}');
  utimesSync(f, 1_000_000, 1_000_000);
  const c = counting((cb, o) => watchFiles([f], cb, o));
  await c.w.ready;
  writeFileSync(join(dir, 'tmp'), '{"v":2}');
  utimesSync(join(dir, 'tmp'), 1_000_000, 1_000_000);
  renameSync(join(dir, 'tmp'), f);
  assert.ok(await until(() => c.changes === 1), 'rename over the file');
  writeFileSync(f, '{"v":3}');
  utimesSync(f, 1_000_000, 1_000_000);
  assert.ok(await until(() => c.changes === 2), 'same size and mtime rewritten in place: ctime changed');
  unlinkSync(f);
  assert.ok(await until(() => c.changes === 3), 'vanished');
  writeFileSync(f, '{"v":4}');
  assert.ok(await until(() => c.changes === 4), 'appeared');
  assert.deepEqual(c.errors, []);
});

test('a Kubernetes ..data symlink swap is a change of every linked file', async () => {
  const dir = fresh();
  for (const [v, text] of [
    ['..v1', 'one'],
    ['..v2', 'two'],
  ] as const) {
    mkdirSync(join(dir, v));
    writeFileSync(join(dir, v, 'tls.crt'), text);
  }
  symlinkSync('..v1', join(dir, '..data'));
  symlinkSync('..data/tls.crt', join(dir, 'tls.crt'));
  const files = counting((cb, o) => watchFiles([join(dir, 'tls.crt')], cb, o));
  const listing = counting((cb, o) => watchDirectory(dir, cb, o));
  await Promise.all([files.w.ready, listing.w.ready]);
  symlinkSync('..v2', join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  assert.ok(await until(() => files.changes === 1 && listing.changes === 1), `files ${files.changes}, directory ${listing.changes}`);
});

test('a directory watch sees entries added, replaced and removed', async () => {
  const dir = fresh();
  writeFileSync(join(dir, 'a.pem'), 'a');
  const c = counting((cb, o) => watchDirectory(dir, cb, o));
  await c.w.ready;
  writeFileSync(join(dir, 'b.pem'), 'b');
  assert.ok(await until(() => c.changes === 1), 'added');
  writeFileSync(join(dir, 'b.tmp'), 'B');
  renameSync(join(dir, 'b.tmp'), join(dir, 'b.pem'));
  assert.ok(await until(() => c.changes === 2), 'replaced');
  unlinkSync(join(dir, 'a.pem'));
  assert.ok(await until(() => c.changes === 3), 'removed');
});

test('with fs.watch on, a change is seen long before the rescan period', async () => {
  const dir = fresh();
  const f = join(dir, 'peers.json');
  writeFileSync(f, '{}');
  const c = counting((cb, o) => watchFiles([f], cb, o), { intervalMs: 60_000, fsWatch: true });
  await c.w.ready;
  writeFileSync(f, '{"x":1}');
  assert.ok(await until(() => c.changes === 1));
});

test('errors reach onError: fs.watch unavailable (the rescan goes on), onChange throwing or rejecting', async () => {
  const dir = join(fresh(), 'not-yet');
  const f = join(dir, 'limits.yaml');
  const c = counting((cb, o) => watchFiles([f], cb, o), { fsWatch: true });
  await c.w.ready;
  assert.equal((c.errors[0] as NodeJS.ErrnoException | undefined)?.code, 'ENOENT', 'fs.watch on a missing directory is reported');
  mkdirSync(dir);
  writeFileSync(f, 'x');
  assert.ok(await until(() => c.changes === 1), 'the rescan still sees the file appear');

  const errors: unknown[] = [];
  const g = join(fresh(), 'x');
  writeFileSync(g, '1');
  let calls = 0;
  const w = watchFiles(
    [g],
    () => {
      calls++;
      if (calls === 1) throw new Error('sync failure');
      return Promise.reject(new Error('async failure'));
    },
    { intervalMs: 20, debounceMs: 5, fsWatch: false, onError: (e) => errors.push(e) },
  );
  watches.push(w);
  writeFileSync(g, '22');
  assert.ok(await until(() => errors.length === 1));
  writeFileSync(g, '333');
  assert.ok(await until(() => errors.length === 2));
  assert.deepEqual(
    errors.map((e) => (e as Error).message),
    ['sync failure', 'async failure'],
  );
});

test('close() stops it', async () => {
  const dir = fresh();
  const f = join(dir, 'a');
  writeFileSync(f, '1');
  const c = counting((cb, o) => watchFiles([f], cb, o));
  await c.w.ready;
  c.w.close();
  writeFileSync(f, '22');
  // Nothing to poll for: give the closed watch several of its periods to (not) fire.
  await sleep(150);
  assert.equal(c.changes, 0);
});
