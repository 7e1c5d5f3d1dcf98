// `switchguard pki init` (src/pki/dev-pki.ts) wrote private keys with writeFileSync + chmodSync, which follow a symlink
// planted at the target name: the key landed in whatever file the link named, outside --dir, perhaps one the planter
// owns and can read (hostile review of 2026-12-02). Every file is now a new file renamed over its name
// (src/util/atomic-file.ts), as `keys generate` writes them: the link is replaced, never followed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { initDevPki } from '../../src/pki/dev-pki.js';

test('pki init: a symlink planted at a private key name does not receive the private key', () => {
  const root = mkdtempSync(join(tmpdir(), 'sg-review-ops-pki-'));
  try {
    const dir = join(root, 'keys');
    const outside = join(root, 'attacker');
    mkdirSync(outside);
    mkdirSync(join(dir, 'jws-private'), { recursive: true });
    mkdirSync(join(dir, 'clients'), { recursive: true });
    // A file the attacker can read (and, as another user, has left writable for the victim).
    const lootJws = join(outside, 'jws-loot');
    const lootTls = join(outside, 'tls-loot');
    writeFileSync(lootJws, '', { mode: 0o666 });
    writeFileSync(lootTls, '', { mode: 0o666 });
    // Planted links at names pki init will write (the public halves are missing, so the pair is "fresh").
    symlinkSync(lootJws, join(dir, 'jws-private', 'hub.key'));
    symlinkSync(lootTls, join(dir, 'clients', 'hub.key'));

    initDevPki(dir, { fspIds: ['hub'] });

    assert.equal(readFileSync(lootJws, 'utf8').includes('PRIVATE KEY'), false, 'the JWS signing key was written through the planted link, outside --dir');
    assert.equal(readFileSync(lootTls, 'utf8').includes('PRIVATE KEY'), false, 'the TLS client key was written through the planted link, outside --dir');
    assert.equal(lstatSync(join(dir, 'jws-private', 'hub.key')).isSymbolicLink(), false, 'the key name is still the planted link');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('pki init --force (CLI): the CA key is not written through a link planted at keys/tls/ca.key', () => {
  const root = mkdtempSync(join(tmpdir(), 'sg-review-ops-pki-'));
  try {
    const dir = join(root, 'keys');
    mkdirSync(join(dir, 'tls'), { recursive: true });
    const loot = join(root, 'ca-loot');
    writeFileSync(loot, '', { mode: 0o666 });
    symlinkSync(loot, join(dir, 'tls', 'ca.key'));
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'pki', 'init', '--dir', dir, '--force', '--fsp', 'payerfsp'], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(readFileSync(loot, 'utf8').includes('PRIVATE KEY'), false, 'the development CA key was written through the planted link');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

// The same as two users: the victim (uid 65534) runs pki init in a key directory where another user (uid 1234) could
// place a link to a file of its own left writable (0666). writeFileSync truncates and fills the attacker's file; the
// chmodSync after it fails with EPERM (not the owner), too late: the key is in a file the attacker owns and reads.
test('pki init as another user: the private key never ends up in a file the link planter owns (needs root to set up)', {
  skip: process.getuid?.() !== 0,
}, (t) => {
  // The victim runs as uid 65534, which must be able to run this node binary: .ci/run's second run uses a Node under
  // /root/.cache that it cannot reach; its first run (the machine's Node) runs this case.
  if (spawnSync(process.execPath, ['--version'], { uid: 65534, gid: 65534 }).status !== 0) {
    t.skip(`${process.execPath} is not executable by uid 65534 here`);
    return;
  }
  const root = mkdtempSync(join(tmpdir(), 'sg-review-ops-pki-'));
  try {
    chmodSync(root, 0o755);
    const dir = join(root, 'keys');
    mkdirSync(join(dir, 'jws-private'), { recursive: true });
    const attacker = join(root, 'attacker');
    mkdirSync(attacker);
    const loot = join(attacker, 'loot');
    writeFileSync(loot, '', { mode: 0o666 });
    chmodSync(loot, 0o666);
    chownSync(attacker, 1234, 1234);
    chownSync(loot, 1234, 1234);
    symlinkSync(loot, join(dir, 'jws-private', 'hub.key'));
    for (const d of [dir, join(dir, 'jws-private')]) chownSync(d, 65534, 65534);
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(process.cwd(), 'src/cli/main.ts'), 'pki', 'init', '--dir', dir], {
      encoding: 'utf8',
      timeout: 120_000,
      uid: 65534,
      gid: 65534,
      env: { ...process.env, HOME: tmpdir() },
    });
    assert.equal(r.status, 0, `pki init as uid 65534: ${r.error?.message ?? r.stderr?.trim()}`);
    assert.equal(readFileSync(loot, 'utf8'), '', "nothing was written into the planter's file");
    const key = lstatSync(join(dir, 'jws-private', 'hub.key'));
    assert.ok(key.isFile() && key.uid === 65534 && (key.mode & 0o077) === 0, 'the key is a file of the victim, 0600, where the link was');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
