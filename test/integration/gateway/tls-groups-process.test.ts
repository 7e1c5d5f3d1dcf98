// TLS_GROUPS at the process level (src/main.ts): the start-up banner says which groups are in use and whether the
// post-quantum hybrid is among them; a group the runtime cannot use stops start-up with one line naming it.
// Branches on feature detection: the hybrid on a runtime that has it (Node 24), the fallback on one that has not.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, test } from 'node:test';
import { HYBRID, runtimeSupportsGroups } from '../../../src/tls/groups.js';
import { testEnv } from '../../helpers/gateway.js';
import { startMain } from '../../helpers/main-process.js';
import { makeTestPki } from '../../helpers/pki.js';

const hybrid = runtimeSupportsGroups(HYBRID);
const pki = makeTestPki();
after(() => pki.cleanup());
const runtime = `Node ${process.version}, OpenSSL ${process.versions.openssl}`.replace(/\./g, '\\.');

const startWith = (env: Record<string, string>) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { PATH: process.env.PATH, ...testEnv(pki, 'http://127.0.0.1:9'), ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });

test('a misspelt group: exit 1, one line on stderr naming it, nothing on stdout', () => {
  const r = startWith({ TLS_GROUPS: 'X25519MLKEM768:X25519:P-265' });
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(
    lines[0]!,
    new RegExp(`^switchguard: configuration error: TLS_GROUPS: this runtime \\(${runtime}\\) cannot use (X25519MLKEM768 \\(.*\\), )?P-265 \\(not a group name`),
  );
});

test('the hybrid named explicitly: starts where the runtime has it, else exit 1 with one line naming it', async () => {
  if (!hybrid) {
    const r = startWith({ TLS_GROUPS: `${HYBRID}:X25519` });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.equal(
      r.stderr.trim(),
      `switchguard: configuration error: TLS_GROUPS: this runtime (Node ${process.version}, OpenSSL ${process.versions.openssl}) cannot use X25519MLKEM768 (ML-KEM needs OpenSSL 3.5 or later, as in Node 24); remove it, or unset TLS_GROUPS for the default, which leaves out what the runtime lacks`,
    );
    return;
  }
  const main = await startMain({ ...testEnv(pki, 'http://127.0.0.1:9'), TLS_GROUPS: `${HYBRID}:X25519` });
  try {
    assert.match(main.output(), new RegExp(`^ {2}TLS groups X25519MLKEM768:X25519 \\(TLS_GROUPS; post-quantum X25519MLKEM768 in use; ${runtime}\\)$`, 'm'));
  } finally {
    main.child.kill('SIGTERM');
    assert.equal(await main.exited, 0);
  }
});

test('the default: the banner names the groups in use, the hybrid in use or left out (never a start-up failure)', async () => {
  const main = await startMain(testEnv(pki, 'http://127.0.0.1:9'));
  try {
    const line = hybrid
      ? `TLS groups X25519MLKEM768:X25519:P-256:P-384 \\(default; post-quantum X25519MLKEM768 in use; ${runtime}\\)`
      : `TLS groups X25519:P-256:P-384 \\(default; post-quantum X25519MLKEM768 unavailable in this runtime, left out; ${runtime}\\)`;
    assert.match(main.output(), new RegExp(`^ {2}${line}$`, 'm'));
    assert.equal(main.output().match(/TLS groups/g)?.length, 1, 'one line');
  } finally {
    main.child.kill('SIGTERM');
    assert.equal(await main.exited, 0);
  }
});
