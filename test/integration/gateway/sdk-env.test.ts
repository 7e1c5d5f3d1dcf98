// The real process with settings copied from an sdk-scheme-adapter deployment: each SDK-only name with a
// gateway equivalent gives one warning line on stderr naming it, and the gateway still starts; an SDK-style
// bare host:port where the gateway wants a URL stops start-up with one line naming the fix.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, test } from 'node:test';
import { testEnv } from '../../helpers/gateway.js';
import { startMain } from '../../helpers/main-process.js';
import { makeTestPki } from '../../helpers/pki.js';

const pki = makeTestPki();
after(() => pki.cleanup());

test('SDK names the gateway does not read: one warning line each, naming the equivalent; start-up goes on', { timeout: 60_000 }, async () => {
  const main = await startMain({
    ...testEnv(pki, 'http://127.0.0.1:9'),
    INBOUND_LISTEN_PORT: '0',
    OUTBOUND_LISTEN_PORT: '0',
    ADMIN_LISTEN_PORT: '0',
    EXPIRY_SECONDS: '30',
    CACHE_URL: 'redis://redis:6379',
    CHECK_ILP: 'false', // its equivalent ILP_CHECK is set (testEnv): taken to be there for the SDK, no warning
    AUTO_ACCEPT_QUOTES: 'true', // SDK-only, no counterpart: no warning
  });
  try {
    const warnings = main
      .output()
      .split('\n')
      .filter((l) => l.startsWith('switchguard: configuration warning: '));
    assert.deepEqual(
      warnings.map((l) => l.replace(/ instead \(.*$/, '')),
      [
        'switchguard: configuration warning: EXPIRY_SECONDS is a sdk-scheme-adapter setting; the gateway does not read it: set QUOTE_EXPIRY_SECONDS',
        'switchguard: configuration warning: CACHE_URL is a sdk-scheme-adapter setting; the gateway does not read it: set REDIS_URL or REDIS_CLUSTER_NODES',
        // Then the checks testEnv turns off in production (src/config/warnings.ts).
        'switchguard: configuration warning: VALIDATE_INBOUND_JWS=false: inbound signatures are not verified',
        'switchguard: configuration warning: ILP_CHECK=false: no ILP condition or fulfilment is checked',
      ],
    );
    main.child.kill('SIGTERM');
    assert.equal(await main.exited, 0);
  } finally {
    main.child.kill('SIGKILL');
  }
});

test('an SDK-style PEER_ENDPOINT (host:port, no scheme) stops start-up with one line saying what to write', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { PATH: process.env.PATH, ...testEnv(pki, 'http://127.0.0.1:9'), PEER_ENDPOINT: 'switch:4000' },
    encoding: 'utf8',
    timeout: 20_000,
  });
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.deepEqual(r.stderr.trim().split('\n'), [
    "switchguard: configuration error: PEER_ENDPOINT: expected an http:// or https:// URL; this one has no scheme (a bare host:port, as the sdk-scheme-adapter writes its endpoints); write http:// or https:// before it (got 'switch:4000')",
  ]);
});
