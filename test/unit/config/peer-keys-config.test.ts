// Configuration of the remote key sources and revocations (issue 12): MCM_* go together, PEER_KEYS_* bounds
// are consistent, the groups carry what src/stages.ts needs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../../src/config/load.js';
import { configProblems, PROD_ENV } from '../../helpers/config.js';

const prod = PROD_ENV;
const problems = (env: Record<string, string>) => configProblems({ ...prod, ...env });

test('MCM and peer-key settings: validated together, grouped for the stages', () => {
  const c = loadConfig(
    {
      ...prod,
      MCM_URL: 'https://mcm.example/api',
      MCM_TOKEN_URL: 'https://idp.example/realms/hub/protocol/openid-connect/token',
      MCM_CLIENT_ID: 'switchguard',
      MCM_CLIENT_SECRET_PATH: 'mcm.secret',
      KEY_REVOCATIONS_PATH: 'state/revocations.json',
      PEER_KEYS_REFRESH_MAX_SECONDS: '600',
    },
    { cwd: '/srv' },
  );
  assert.deepEqual(c.jwsVerify?.mcm, {
    url: 'https://mcm.example/api',
    caCertPath: undefined,
    oidc: { tokenUrl: 'https://idp.example/realms/hub/protocol/openid-connect/token', clientId: 'switchguard', secret: { path: '/srv/mcm.secret' } },
  });
  assert.deepEqual(c.jwsVerify?.remote, { refreshMinSeconds: 30, refreshMaxSeconds: 600, fetchTimeoutMs: 5000 });
  assert.equal(c.jwsVerify?.revocationsPath, '/srv/state/revocations.json');
  assert.equal(loadConfig({}, { cwd: '/srv' }).keyRevocationsPath, '/srv/keys/key-revocations.json', 'development default');

  assert.deepEqual(problems({ MCM_URL: 'http://mcm.example/api' }), ['MCM_URL: must be https outside the development profile']);
  assert.deepEqual(problems({ MCM_CLIENT_ID: 'x' }), [
    'MCM_URL: required when MCM_TOKEN_URL, MCM_CLIENT_ID, MCM_CLIENT_SECRET(_PATH) or MCM_CA_CERT_PATH is set',
    'MCM_TOKEN_URL: required when MCM_CLIENT_ID or a client secret is set',
  ]);
  assert.deepEqual(problems({ MCM_URL: 'https://m/api', MCM_TOKEN_URL: 'https://t/token' }), [
    'MCM_CLIENT_ID: required with MCM_TOKEN_URL',
    'MCM_CLIENT_SECRET: give exactly one of MCM_CLIENT_SECRET and MCM_CLIENT_SECRET_PATH with MCM_TOKEN_URL',
  ]);
  assert.deepEqual(
    problems({ MCM_URL: 'https://m/api', MCM_TOKEN_URL: 'https://t/token', MCM_CLIENT_ID: 'a', MCM_CLIENT_SECRET: 's', MCM_CLIENT_SECRET_PATH: 'p' }),
    ['MCM_CLIENT_SECRET: give exactly one of MCM_CLIENT_SECRET and MCM_CLIENT_SECRET_PATH with MCM_TOKEN_URL'],
  );
  assert.deepEqual(problems({ PEER_KEYS_REFRESH_MIN_SECONDS: '600', PEER_KEYS_REFRESH_MAX_SECONDS: '60' }), [
    'PEER_KEYS_REFRESH_MIN_SECONDS: must not exceed PEER_KEYS_REFRESH_MAX_SECONDS',
  ]);
  assert.match(problems({ PEER_KEYS_FETCH_TIMEOUT_MS: '10' }).join(), /PEER_KEYS_FETCH_TIMEOUT_MS: expected an integer from 100/);
});
