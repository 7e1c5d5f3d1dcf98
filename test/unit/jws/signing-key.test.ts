import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { GatewayError } from '../../../src/errors.js';
import { directoryKeyStore, rotateSigningKey } from '../../../src/jws/rotate.js';
import { JWKS_MAX_AGE_SECONDS, parseSigningKey, SigningKeyHolder } from '../../../src/jws/signing-key.js';
import { NOOP_TELEMETRY } from '../../../src/telemetry/types.js';
import { KEYS } from '../../helpers/jws.js';
import { waitFor } from '../../helpers/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'sg-jwssign-'));
const holders: SigningKeyHolder[] = [];
after(() => {
  for (const h of holders) h.close();
  rmSync(dir, { recursive: true, force: true });
});
// A fixed Date: two signatures of the same input compare equal even when a second boundary passes between them
// (the quick start of 2026-11-30 saw 06:00:34 against 06:00:35).
const input = { method: 'PUT', url: '/transfers/1', headers: { 'fspiop-source': 'payeefsp', date: 'Mon, 30 Nov 2026 06:00:34 GMT' }, json: { b: 1, a: 2 } };

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

test('with a keyring: signs with the key current at each moment, publishes current/next/previous, never a revoked kid', async () => {
  const kdir = join(dir, 'ring');
  mkdirSync(kdir);
  const path = join(kdir, 'signing.key');
  writeFileSync(path, KEYS.payerfspPrivateKeyPem!);
  const store = directoryKeyStore(kdir, 'signing.key');
  let t = Date.parse('2027-03-01T00:00:00Z');
  const reports: { kid: string; state: string }[][] = [];
  const events: string[] = [];
  const telemetry = {
    ...NOOP_TELEMETRY,
    signingKeys: (ks: readonly { kid: string; state: string }[]) => reports.push(ks.map((k) => ({ kid: k.kid, state: k.state }))),
  };
  const h = await SigningKeyHolder.open({
    path,
    telemetry,
    watch: false,
    rescanIntervalSeconds: 3600,
    now: () => t,
    onEvent: (e) => events.push(`${e.type}:${e.kid.slice(0, 4)}`),
  });
  holders.push(h);
  const oldKid = h.currentKid();
  assert.deepEqual(
    JSON.parse(h.jwks().body).keys.map((k: { kid: string }) => k.kid),
    [oldKid],
  );
  assert.equal(h.jwks().maxAgeSeconds, JWKS_MAX_AGE_SECONDS, 'nothing scheduled: the longest cache lifetime');

  const staged = await rotateSigningKey(store, { keyFile: 'signing.key', now: t, publishAheadMs: 60_000, retainMs: 30_000, alg: 'ES256' });
  const stagedPem = readFileSync(join(kdir, staged.written[0]!));
  assert.equal(await h.reload(), true);
  assert.equal(h.currentKid(), oldKid, 'staged, not active yet');
  const jwks = JSON.parse(h.jwks().body) as { keys: { kid: string; alg: string; use: string }[] };
  assert.deepEqual(
    jwks.keys.map((k) => [k.kid, k.alg, k.use]),
    [
      [oldKid, 'RS256', 'sig'],
      [staged.kid, 'ES256', 'sig'],
    ],
    'current first, then next',
  );
  assert.equal(h.jwks().maxAgeSeconds, 60, 'cached no longer than until the activation');
  assert.deepEqual(
    h.status().map((k) => [k.kid, k.state]),
    [
      [staged.kid, 'next'],
      [oldKid, 'current'],
    ],
  );
  assert.deepEqual(reports.at(-1), [
    { kid: oldKid, state: 'current' },
    { kid: staged.kid, state: 'next' },
  ]);

  t += 60_000; // the activation: the next signature uses the new key, no reload needed
  assert.equal(h.current().alg.name, 'ES256');
  assert.equal(h.currentKid(), staged.kid);
  const signed = await h.sign(input);
  assert.match(signed.headers['fspiop-signature'], /"signature":"[\w-]{86}"/, 'an ES256 signature (64 bytes)');
  assert.deepEqual(
    JSON.parse(h.jwks().body).keys.map((k: { kid: string }) => k.kid),
    [staged.kid, oldKid],
    'the previous key stays published during the retention',
  );
  assert.equal(h.jwks().maxAgeSeconds, 30);
  t += 30_000;
  assert.deepEqual(
    JSON.parse(h.jwks().body).keys.map((k: { kid: string }) => k.kid),
    [staged.kid],
    'retired',
  );
  assert.deepEqual(
    h.status().map((k) => [k.kid, k.state]),
    [
      [staged.kid, 'current'],
      [oldKid, 'expired'],
    ],
  );

  // Emergency: the new key signs at once; the revoked kid is never published or used again, even when a
  // hand-edited manifest lists it once more.
  const e = await rotateSigningKey(store, { keyFile: 'signing.key', now: t, emergency: true, reason: 'test' });
  assert.equal(await h.reload(), true);
  assert.equal(h.currentKid(), e.kid);
  assert.deepEqual(
    JSON.parse(h.jwks().body).keys.map((k: { kid: string }) => k.kid),
    [e.kid],
  );
  assert.ok(h.status().some((k) => k.kid === staged.kid && k.state === 'revoked' && k.reason === 'test'));
  const manifest = join(kdir, 'signing.keyring.json');
  const ring = JSON.parse(readFileSync(manifest, 'utf8'));
  writeFileSync(join(kdir, 'back.key'), stagedPem);
  ring.keys.push({ file: 'back.key', kid: staged.kid, alg: 'ES256', activateAt: new Date(t + 1).toISOString(), publishedAt: new Date(t).toISOString() });
  writeFileSync(manifest, JSON.stringify(ring));
  assert.equal(await h.reload(), true);
  t += 10;
  assert.equal(h.currentKid(), e.kid);
  assert.deepEqual(
    JSON.parse(h.jwks().body).keys.map((k: { kid: string }) => k.kid),
    [e.kid],
  );
  const k4 = (kid: string) => kid.slice(0, 4);
  assert.deepEqual(events, [
    `published:${k4(oldKid)}`,
    `activated:${k4(oldKid)}`,
    `published:${k4(staged.kid)}`,
    `activated:${k4(staged.kid)}`,
    `revoked:${k4(oldKid)}`,
    `revoked:${k4(staged.kid)}`,
    `published:${k4(e.kid)}`,
    `activated:${k4(e.kid)}`,
  ]);
});

test('a keyring whose file does not match its kid is refused as a whole; the keys in force stay', async () => {
  const kdir = join(dir, 'ring-bad');
  mkdirSync(kdir);
  const path = join(kdir, 'signing.key');
  writeFileSync(path, KEYS.payerfspPrivateKeyPem!);
  const errors: Error[] = [];
  const h = await SigningKeyHolder.open({ path, watch: false, rescanIntervalSeconds: 3600, onError: (e) => errors.push(e as Error) });
  holders.push(h);
  const kid = h.currentKid();
  const store = directoryKeyStore(kdir, 'signing.key');
  const r = await rotateSigningKey(store, { keyFile: 'signing.key', now: Date.now(), publishAheadMs: 60_000 });
  writeFileSync(join(kdir, r.written[0]!), KEYS.payeefspPrivateKeyPem!); // another key under the staged key's name
  assert.equal(await h.reload(), false);
  assert.match(errors[0]!.message, /^JWS signing keyring .*signing\.keyring\.json refused: .* holds key .*, the keyring says /);
  assert.deepEqual(
    JSON.parse(h.jwks().body).keys.map((k: { kid: string }) => k.kid),
    [kid],
    'the staged key is not published',
  );
  assert.equal(h.currentKid(), kid);
});
