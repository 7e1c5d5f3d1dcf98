// The real process: config errors stop start-up with one line naming the variable; SIGTERM drains
// in-flight requests and exits 0.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, test } from 'node:test';
import { fspiopHeaders, send, startStub, testEnv } from '../../helpers/gateway.js';
import { startMain } from '../../helpers/main-process.js';
import { makeTestPki } from '../../helpers/pki.js';
import { waitFor } from '../../helpers/wait.js';

const pki = makeTestPki();
after(() => pki.cleanup());
const MAIN = ['--import', 'tsx', 'src/main.ts'];

function startWith(env: Record<string, string>) {
  return spawnSync(process.execPath, MAIN, { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8', timeout: 20_000 });
}

for (const [name, env, variable] of [
  ['a bad port', { INBOUND_LISTEN_PORT: '70000' }, 'INBOUND_LISTEN_PORT'],
  ['an unknown enum value', { GATEWAY_ROLE: 'switch' }, 'GATEWAY_ROLE'],
  ['a missing file', { IN_SERVER_CERT_PATH: '/nonexistent/server.pem' }, 'IN_SERVER_CERT_PATH'],
  ['WORKERS>1 with the in-memory store', { WORKERS: '2' }, 'WORKERS'],
] as const) {
  test(`config error: ${name} stops start-up naming ${variable}`, () => {
    const r = startWith({ ...testEnv(pki, 'http://127.0.0.1:9'), ...env });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, new RegExp(`^switchguard: configuration error: ${variable}: `));
  });
}

test('SIGTERM: stops accepting, finishes the in-flight request, exits 0', async () => {
  const stub = await startStub();
  // A slow upstream is the point here: the request is still in flight when SIGTERM arrives.
  stub.behave({ status: 202, body: 'late', delayMs: 800 });
  const main = await startMain({ ...testEnv(pki, stub.url), INBOUND_LISTEN_PORT: '0', ADMIN_LISTEN_PORT: '0', OUTBOUND_LISTEN_PORT: '0' }).catch(
    async (e: unknown) => {
      await stub.close();
      throw e;
    },
  );
  const { child } = main;
  try {
    const c = pki.client('dfsp-a');
    const inflight = send(main.ports.inbound, {
      method: 'POST',
      path: '/quotes',
      headers: fspiopHeaders('quotes', 'dfsp-a'),
      body: '{}',
      cert: c,
      ca: pki.ca.certPem,
    });
    await waitFor(() => stub.requests.length === 1, { what: 'the request to reach the upstream' });
    child.kill('SIGTERM');
    const r = await inflight;
    assert.equal(r.status, 202);
    assert.equal(r.body.toString(), 'late');
    assert.equal(await main.exited, 0);
    await assert.rejects(
      send(main.ports.inbound, { method: 'POST', path: '/quotes', headers: fspiopHeaders('quotes', 'dfsp-a'), body: '{}', cert: c, ca: pki.ca.certPem }),
    );
  } finally {
    child.kill('SIGKILL');
    await stub.close();
  }
});

test('inbound mTLS off in production: the banner says so and a warning names the setting; a config with no weakened check warns of nothing', async () => {
  const base = {
    ...testEnv(pki, 'http://127.0.0.1:9'),
    VALIDATE_INBOUND_JWS: 'true',
    ILP_CHECK: 'true',
    ILP_SECRET: 's'.repeat(40),
    JWS_VERIFICATION_KEYS_DIRECTORY: pki.dir,
  };
  for (const [mtls, banner, warned] of [
    ['false', '(TLS, no client certificate)', true],
    ['true', '(mTLS)', false],
  ] as const) {
    const main = await startMain({ ...base, INBOUND_MUTUAL_TLS_ENABLED: mtls });
    try {
      const out = main.output();
      assert.match(out, new RegExp(`^ {2}inbound {2}${banner.replace(/[()]/g, '\\$&')} https://`, 'm'));
      const warnings = out.split('\n').filter((l) => l.startsWith('switchguard: configuration warning: '));
      assert.deepEqual(
        warnings,
        warned
          ? [
              'switchguard: configuration warning: INBOUND_MUTUAL_TLS_ENABLED=false: inbound peers present no client certificate; FSPIOP-Source is then bound by nothing but JWS',
            ]
          : [],
      );
      main.child.kill('SIGTERM');
      assert.equal(await main.exited, 0);
    } finally {
      main.child.kill('SIGKILL');
    }
  }
});
