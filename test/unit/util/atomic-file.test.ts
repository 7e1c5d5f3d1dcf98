// Durable file replacement (src/util/atomic-file.ts): the new file is 0600 whatever the old one's mode, and a failed
// replacement leaves no temp file behind (it may hold a private key: hostile review of 2026-12-01).
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { writeFileAtomic } from '../../../src/util/atomic-file.js';

const dir = mkdtempSync(join(tmpdir(), 'sg-atomic-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('replaces the file with a 0600 one, whatever the mode of the file it replaces', () => {
  const p = join(dir, 'a.key');
  writeFileSync(p, 'old');
  chmodSync(p, 0o644);
  writeFileAtomic(p, 'new');
  assert.equal(readFileSync(p, 'utf8'), 'new');
  assert.equal(statSync(p).mode & 0o777, 0o600);
  assert.deepEqual(readdirSync(dir), ['a.key']);
});

test('a rename that fails leaves the target as it was and no temp file', () => {
  const sub = join(dir, 'fail');
  const target = join(sub, 'b.key');
  mkdirSync(target, { recursive: true }); // a directory where the file should go: rename(2) fails with EISDIR
  assert.throws(() => writeFileAtomic(target, '-----BEGIN PRIVATE KEY-----'), /EISDIR|ENOTEMPTY|EEXIST/);
  assert.deepEqual(readdirSync(sub), ['b.key']);
  assert.ok(statSync(target).isDirectory());
});
