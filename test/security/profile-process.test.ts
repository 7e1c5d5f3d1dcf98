// Class 7 at the process level: a real deployment without SWITCHGUARD_PROFILE stops with one line and
// exit code 1 (nothing listens); the development profile starts with a warning banner on stderr.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { testEnv } from '../helpers/gateway.js';
import { makeTestPki } from '../helpers/pki.js';

const pki = makeTestPki();
const keysDir = mkdtempSync(join(tmpdir(), 'sg-devprofile-'));
after(() => {
  pki.cleanup();
  rmSync(keysDir, { recursive: true, force: true });
});
const MAIN = ['--import', 'tsx', 'src/main.ts'];
const QUIET = {
  LOG_LEVEL: 'silent',
  AUDIT_LOG: 'off',
  INBOUND_LISTEN_HOST: '127.0.0.1',
  INBOUND_LISTEN_PORT: '0',
  OUTBOUND_LISTEN_PORT: '0',
  ADMIN_LISTEN_PORT: '0',
};

test('certificates, upstream and keys but no SWITCHGUARD_PROFILE: one line, exit 1, the variables named', () => {
  const { SWITCHGUARD_PROFILE: _p, ...env } = testEnv(pki, 'http://127.0.0.1:9', {
    GATEWAY_ROLE: 'dfsp',
    DFSP_ID: 'payeefsp',
    ILP_CHECK: 'true',
    ILP_SECRET: 's'.repeat(40),
  });
  const r = spawnSync(process.execPath, MAIN, { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.equal(r.stdout, '', 'nothing started');
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(
    lines[0]!,
    /^switchguard: configuration error: SWITCHGUARD_PROFILE: unset, but production settings are given \(IN_SERVER_CERT_PATH, IN_SERVER_KEY_PATH, IN_CA_CERT_PATH, INBOUND_UPSTREAM_URL, ILP_SECRET\); set SWITCHGUARD_PROFILE=production, or SWITCHGUARD_PROFILE=development to use the public development defaults on purpose$/,
  );
  assert.doesNotMatch(r.stderr, /WARNING/);
});

test('the public development secret given in production: refused at start-up', () => {
  const env = testEnv(pki, 'http://127.0.0.1:9', {
    GATEWAY_ROLE: 'dfsp',
    DFSP_ID: 'payeefsp',
    ILP_CHECK: 'true',
    ILP_SECRET: 'switchguard-development-ilp-secret-NOT-FOR-PRODUCTION',
  });
  const r = spawnSync(process.execPath, MAIN, { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.equal(r.stderr.trim(), 'switchguard: configuration error: ILP_SECRET: the public development secret is refused outside the development profile');
});

/** Starts main, waits (with a deadline) until the banner on stdout names the inbound listener, then SIGTERMs it. */
async function startAndStop(env: Record<string, string>): Promise<{ stdout: string; stderr: string; code: number | string | null }> {
  const child = spawn(process.execPath, MAIN, { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d;
  });
  const exited = new Promise<number | string | null>((r) => child.on('exit', (code, signal) => r(code ?? signal)));
  try {
    await new Promise<void>((resolve, reject) => {
      const deadline = setTimeout(() => reject(new Error(`no start within 60 s\n${stdout}\n${stderr}`)), 60_000);
      child.stdout.on('data', (d: Buffer) => {
        stdout += d;
        if (stdout.includes('inbound  (mTLS)')) {
          clearTimeout(deadline);
          resolve();
        }
      });
      void exited.then((c) => {
        clearTimeout(deadline);
        reject(new Error(`exited early ${c}\n${stdout}\n${stderr}`));
      });
    });
    child.kill('SIGTERM');
    return { stdout, stderr, code: await exited };
  } finally {
    child.kill('SIGKILL');
  }
}

test('implicit development profile (nothing of production set): starts, with the warning banner on stderr', { timeout: 90_000 }, async () => {
  const r = await startAndStop({ ...QUIET, KEYS_DIR: keysDir });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^switchguard development profile, hub role/m);
  assert.match(r.stderr, /WARNING: DEVELOPMENT PROFILE \(SWITCHGUARD_PROFILE is unset and nothing of production is configured\)/);
  assert.match(r.stderr, /uses the PUBLIC development ILP secret, a generated development PKI \(.*\), the built-in FSPIOP simulator as upstream/);
  assert.match(r.stderr, /set SWITCHGUARD_PROFILE=production for a deployment/);
});

test('explicit development profile with real settings: starts with the banner naming only the defaults in use', { timeout: 90_000 }, async () => {
  const r = await startAndStop({
    ...QUIET,
    SWITCHGUARD_PROFILE: 'development',
    KEYS_DIR: keysDir,
    ILP_SECRET: 's'.repeat(40),
    INBOUND_UPSTREAM_URL: 'http://127.0.0.1:9',
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /WARNING: DEVELOPMENT PROFILE \(SWITCHGUARD_PROFILE=development\)/);
  assert.match(r.stderr, /uses a generated development PKI/);
  assert.doesNotMatch(r.stderr, /ILP secret|simulator/);
});

test('production profile: no development banner', { timeout: 90_000 }, async () => {
  const r = await startAndStop(testEnv(pki, 'http://127.0.0.1:9'));
  assert.equal(r.code, 0, JSON.stringify(r));
  assert.doesNotMatch(r.stderr, /WARNING/);
});
