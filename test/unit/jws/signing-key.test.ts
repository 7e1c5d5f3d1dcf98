import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { GatewayError } from '../../../src/errors.js';
import { parseSigningKey, SigningKeyHolder } from '../../../src/jws/signing-key.js';
import { NOOP_TELEMETRY } from '../../../src/telemetry/types.js';
import { KEYS } from '../../helpers/jws.js';
import { waitFor } from '../../helpers/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'sg-jwssign-'));
const holders: SigningKeyHolder[] = [];
after(() => {
  for (const h of holders) h.close();
  rmSync(dir, { recursive: true, force: true });
});
const input = { method: 'PUT', url: '/transfers/1', headers: { 'fspiop-source': 'payeefsp' }, json: { b: 1, a: 2 } };

test('the algorithm comes from the parsed key, not the PEM text', () => {
  assert.equal(parseSigningKey(KEYS.payerfspPrivateKeyPem!).alg.name, 'RS256'); // PKCS#1
  assert.equal(parseSigningKey(KEYS.ecfspPrivateKeyPem!).alg.name, 'ES256'); // SEC1 "BEGIN EC PRIVATE KEY"
  const ecPkcs8 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  assert.doesNotMatch(ecPkcs8, /BEGIN EC /);
  assert.equal(parseSigningKey(ecPkcs8).alg.name, 'ES256', 'the SDK would mislabel this key RS256 (fspiop.md §2.5)');
  const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  assert.throws(
    () => parseSigningKey(small),
    (e: unknown) => e instanceof GatewayError && e.code === 'GW_JWS_SIGN_FAILED',
  );
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  assert.throws(
    () => parseSigningKey(p384),
    (e: unknown) => e instanceof GatewayError && e.code === 'GW_JWS_SIGN_FAILED',
  );
});

test('signs in pool and sync mode with identical RS256 output; reloads on change; a broken file keeps the old key', async () => {
  const path = join(dir, 'signing.key');
  writeFileSync(path, KEYS.payerfspPrivateKeyPem!);
  const reloads: string[] = [];
  const signs: string[] = [];
  const telemetry = {
    ...NOOP_TELEMETRY,
    reload: (e: { outcome: string }) => reloads.push(e.outcome),
    jwsSign: (e: { outcome: string }) => signs.push(e.outcome),
  };
  const pool = await SigningKeyHolder.open({ path, telemetry, rescanIntervalSeconds: 1 });
  const sync = await SigningKeyHolder.open({ path, mode: 'sync', watch: false, rescanIntervalSeconds: 3600 });
  holders.push(pool, sync);
  const a = await pool.sign(input);
  assert.deepEqual(await sync.sign(input), a);
  assert.equal(a.body.toString(), '{"a":2,"b":1}');
  assert.deepEqual(signs, ['ok']);

  writeFileSync(join(dir, 'tmp.key'), KEYS.ecfspPrivateKeyPem!);
  renameSync(join(dir, 'tmp.key'), path);
  await waitFor(() => pool.current().alg.name === 'ES256', { timeoutMs: 4000 }).catch(() => {});
  assert.equal(pool.current().alg.name, 'ES256', 'new key picked up');
  assert.deepEqual(reloads, ['ok']);

  assert.equal(await pool.reload(), true, 'unchanged file: key in use is current');
  writeFileSync(path, 'garbage');
  assert.equal(await pool.reload(), false);
  assert.equal(await pool.reload(), false, 'still broken');
  assert.equal(pool.current().alg.name, 'ES256', 'broken file keeps the old key');
  assert.deepEqual(reloads, ['ok', 'failed']);
  const es = await pool.sign(input);
  assert.match(es.headers['fspiop-signature'], /^\{"protectedHeader":"[\w-]+","signature":"[\w-]{86}"\}$/);
});

test('open() fails when the key file is missing or unusable', async () => {
  await assert.rejects(SigningKeyHolder.open({ path: join(dir, 'missing.key') }));
  writeFileSync(join(dir, 'bad.key'), 'nope');
  await assert.rejects(SigningKeyHolder.open({ path: join(dir, 'bad.key') }));
});
