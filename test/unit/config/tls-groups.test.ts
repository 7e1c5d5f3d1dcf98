// TLS_GROUPS at the configuration level (src/config/load.ts over src/tls/groups.ts). Branches on what the runtime's
// OpenSSL has (feature detection), so it asserts the hybrid on Node 24 and the fallback on Node 20.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../../src/config/load.js';
import { HYBRID, runtimeSupportsGroups } from '../../../src/tls/groups.js';
import { configProblems } from '../../helpers/config.js';

const hybrid = runtimeSupportsGroups(HYBRID);
const problems = (env: Record<string, string>) => configProblems(env);

test('unset: the default, the hybrid first where the runtime has it; the inbound listener gets the same list', () => {
  const c = loadConfig({}, { cwd: '/srv' });
  assert.equal(c.tlsGroups.configured, false);
  assert.deepEqual(c.tlsGroups.names, hybrid ? ['X25519MLKEM768', 'X25519', 'P-256', 'P-384'] : ['X25519', 'P-256', 'P-384']);
  assert.equal(c.tlsGroups.ecdhCurve, hybrid ? '*X25519MLKEM768:*X25519:P-256:P-384' : 'X25519:P-256:P-384');
  assert.deepEqual(c.tlsGroups.unavailable, hybrid ? [] : [HYBRID]);
  assert.equal(c.inboundTls.ecdhCurve, c.tlsGroups.ecdhCurve);
  assert.ok(Object.isFrozen(c.tlsGroups.names));
});

test('set: used as written, ":" or "," between names', () => {
  const c = loadConfig({ TLS_GROUPS: 'P-384, X25519' }, { cwd: '/srv' });
  assert.deepEqual(c.tlsGroups.names, ['P-384', 'X25519']);
  assert.equal(c.inboundTls.ecdhCurve, 'P-384:X25519');
  assert.equal(c.tlsGroups.configured, true);
});

test('a misspelt group stops start-up with one line naming it, beside the other problems', () => {
  const p = problems({ TLS_GROUPS: 'X25519MLKEM768:X25519:P-265', HTTP_HEADERS_TIMEOUT_MS: '60000', HTTP_REQUEST_TIMEOUT_MS: '1000' });
  const tls = p.filter((l) => l.startsWith('TLS_GROUPS:'));
  assert.equal(tls.length, 1, p.join('\n'));
  assert.match(
    tls[0]!,
    /^TLS_GROUPS: this runtime \(Node v\S+, OpenSSL \S+\) cannot use (X25519MLKEM768 \(.*\), )?P-265 \(not a group name this OpenSSL knows: misspelt\?\); remove/,
  );
  assert.ok(!tls[0]!.includes('\n'));
  assert.ok(
    p.some((l) => l.startsWith('HTTP_HEADERS_TIMEOUT_MS:')),
    'the other problems are still reported',
  );
});

test('the hybrid named explicitly: used where the runtime has it, one clear line where it has not', () => {
  const p = problems({ TLS_GROUPS: `${HYBRID}:X25519` });
  if (hybrid) {
    assert.deepEqual(p, []);
    const c = loadConfig({ TLS_GROUPS: `${HYBRID}:X25519` }, { cwd: '/srv' });
    assert.deepEqual(c.tlsGroups.names, [HYBRID, 'X25519']);
    assert.equal(c.inboundTls.ecdhCurve, '*X25519MLKEM768:*X25519');
  } else {
    assert.deepEqual(p, [
      `TLS_GROUPS: this runtime (Node ${process.version}, OpenSSL ${process.versions.openssl}) cannot use X25519MLKEM768 (ML-KEM needs OpenSSL 3.5 or later, as in Node 24); remove it, or unset TLS_GROUPS for the default, which leaves out what the runtime lacks`,
    ]);
  }
});

test('OpenSSL list syntax is refused: a configured list means the same on every runtime', () => {
  const p = problems({ TLS_GROUPS: '?X25519MLKEM768:X25519' });
  assert.deepEqual(p, [
    `TLS_GROUPS: '?X25519MLKEM768' is not a group name (plain names separated by ":", e.g. X25519MLKEM768:X25519:P-256:P-384; unset TLS_GROUPS for the default)`,
  ]);
});
