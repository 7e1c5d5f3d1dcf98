// Durable replacement of a small file (the quarantine list, the security state's durable copies): a crash
// leaves either the old file or the new one, never a torn one (POSIX rename(2) is atomic within a file system).
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Atomic replace of a small file: write a new temp file beside it (mode 0600 unless told otherwise, never an existing
 * one), fsync, rename over the target. On any failure the temp file is removed: it may hold a private key (hostile
 * review of 2026-12-01).
 */
export function writeFileAtomic(path: string, text: string, mode = 0o600): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${randomBytes(8).toString('hex')}.tmp`;
  const fd = openSync(tmp, 'wx', mode);
  try {
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}
