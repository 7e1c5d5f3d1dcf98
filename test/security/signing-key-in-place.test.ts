// This side's signing key replaced in place while a keyring manifest exists (hostile review of 2026-12-02). After an
// emergency rotation (or a second ordinary one) the manifest no longer lists JWS_SIGNING_KEY_PATH's file, which is a
// copy `switchguard keys rotate` keeps of a keyring key. An operator who replaced that file (the key leaked) saw the
// reload reported ok while the gateway went on signing with the leaked key. Now the load is refused: the reload is
// reported failed, with the reason, the keys in force stay, and a start-up with such a file stops.
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DAY_MS, directoryKeyStore, type KeyStore, rotateSigningKey } from '../../src/jws/rotate.js';
import { SigningKeyHolder } from '../../src/jws/signing-key.js';
import { NOOP_TELEMETRY } from '../../src/telemetry/types.js';

const pem = (k: KeyObject) => k.export({ type: 'pkcs8', format: 'pem' }) as string;

/** A signing key holder of `path` that records its reload outcomes and errors; closed after the test. */
async function watchedHolder(t: import('node:test').TestContext, path: string, now?: () => number) {
  const outcomes: string[] = [];
  const errors: string[] = [];
  const holder = await SigningKeyHolder.open({
    path,
    watch: false,
    rescanIntervalSeconds: 3600,
    ...(now === undefined ? {} : { now }),
    telemetry: { ...NOOP_TELEMETRY, reload: (x: { outcome: string }) => outcomes.push(x.outcome) },
    onError: (e) => errors.push(String((e as Error).message)),
  });
  t.after(() => holder.close());
  return { holder, outcomes, errors };
}

async function afterEmergency(t: import('node:test').TestContext) {
  const dir = mkdtempSync(join(tmpdir(), 'sg-signing-in-place-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'signing.key');
  writeFileSync(path, pem(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey), { mode: 0o600 });
  // An emergency rotation: the keyring lists only the staged file; signing.key is a copy of it.
  const e = await rotateSigningKey(directoryKeyStore(dir, 'signing.key'), { keyFile: 'signing.key', now: Date.now(), emergency: true, reason: 'INC-1' });
  const replace = () => {
    writeFileSync(join(dir, 'tmp'), pem(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey), { mode: 0o600 });
    renameSync(join(dir, 'tmp'), path);
  };
  return { dir, path, kid: e.kid, replace };
}

test('a signing key file replaced in place beside a keyring: the reload fails visibly and the keys in force stay', async (t) => {
  const k = await afterEmergency(t);
  const { holder, outcomes, errors } = await watchedHolder(t, k.path);
  assert.equal(holder.currentKid(), k.kid);
  assert.equal(await holder.reload(), true, 'the copy rotate keeps is accepted');

  k.replace();
  assert.equal(await holder.reload(), false);
  assert.equal(outcomes.at(-1), 'failed');
  assert.match(errors.join('\n'), /signing\.key holds key .*which the keyring does not list/);
  assert.equal(holder.currentKid(), k.kid, 'the keys in force stay');
});

test('a start-up with a signing key file replaced in place beside a keyring stops', async (t) => {
  const k = await afterEmergency(t);
  k.replace();
  await assert.rejects(SigningKeyHolder.open({ path: k.path, watch: false, rescanIntervalSeconds: 3600 }), /which the keyring does not list/);
});

// The manifest lists JWS_SIGNING_KEY_PATH's own file as the old key after a first rotation; once the key's retention
// ends it is expired, still listed and never loaded, and a replacement was ignored (re-review of 2026-12-02).
test('a signing key file replaced in place while the manifest lists it as an expired key: the reload fails', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sg-rereview-expired-base-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'signing.key');
  writeFileSync(path, pem(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey), { mode: 0o600 });
  // The documented monthly rotation: `switchguard keys rotate` with the defaults (publish 2 days ahead, retain 2 days).
  const t0 = Date.now();
  const r = await rotateSigningKey(directoryKeyStore(dir, 'signing.key'), { keyFile: 'signing.key', now: t0 });
  assert.equal(r.outcome, 'staged');
  assert.ok(
    r.ring.keys.some((k) => k.file === 'signing.key'),
    'the manifest lists signing.key (the old key)',
  );

  // Five days later: the new key signs, the old one (signing.key) is expired but still listed.
  let now = t0 + 5 * DAY_MS;
  const { holder, outcomes, errors } = await watchedHolder(t, path, () => now);
  assert.equal(holder.currentKid(), r.kid);
  assert.equal(await holder.reload(), true);

  // The operator (key leaked, or simply following the single-file habit) replaces JWS_SIGNING_KEY_PATH in place.
  writeFileSync(join(dir, 'tmp'), pem(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey), { mode: 0o600 });
  renameSync(join(dir, 'tmp'), path);
  now += 1000;
  const ok = await holder.reload();
  assert.equal(holder.currentKid(), r.kid, 'the keyring key still signs');
  assert.equal(
    ok,
    false,
    `the replacement is ignored while the reload reports ${ok ? 'success' : 'failure'} (outcomes ${outcomes.join(',')}; errors: ${errors.join(' | ') || 'none'})`,
  );
});

test('a start-up with JWS_SIGNING_KEY_PATH replaced in place while the manifest lists it as expired stops', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sg-rereview-expired-base-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'signing.key');
  writeFileSync(path, pem(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey), { mode: 0o600 });
  const t0 = Date.now();
  await rotateSigningKey(directoryKeyStore(dir, 'signing.key'), { keyFile: 'signing.key', now: t0 });
  writeFileSync(join(dir, 'tmp'), pem(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey), { mode: 0o600 });
  renameSync(join(dir, 'tmp'), path);
  await assert.rejects(
    SigningKeyHolder.open({ path, watch: false, rescanIntervalSeconds: 3600, now: () => t0 + 5 * DAY_MS }).then((h) => h.close()),
    /does not list|holds key/,
  );
});

// The second monthly rotation writes the copy of the key in force over the expired entry's file before the manifest that
// drops the entry: a reload or a start-up in between must not be refused (second re-review of 2026-12-02).
test('the second monthly `keys rotate`: a reload or a start-up while it commits is never refused', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sg-rereview2-rotate-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'signing.key');
  writeFileSync(path, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, { mode: 0o600 });
  const t0 = Date.now();
  const store = directoryKeyStore(dir, 'signing.key');
  await rotateSigningKey(store, { keyFile: 'signing.key', now: t0 }); // month 1: defaults (2 days ahead, 2 days kept)

  let now = t0 + 30 * DAY_MS;
  const { holder, outcomes, errors } = await watchedHolder(t, path, () => now);

  // Month 2: the same command. The store is the directory store; the gateway looks at the files after each one.
  const seen: { file: string; reload: boolean; startup: string }[] = [];
  const watched: KeyStore = {
    get: (n) => store.get(n),
    async commit(put, remove) {
      for (const entry of put) {
        await store.commit([entry], []);
        now += 1;
        const reload = await holder.reload();
        const startup = await SigningKeyHolder.open({ path, watch: false, rescanIntervalSeconds: 3600, now: () => now }).then(
          (h) => {
            h.close();
            return 'ok';
          },
          (e: Error) => e.message,
        );
        seen.push({ file: entry[0], reload, startup });
      }
      await store.commit([], remove);
    },
  };
  await rotateSigningKey(watched, { keyFile: 'signing.key', now });
  const refused = seen.filter((s) => !s.reload || s.startup !== 'ok');
  assert.deepEqual(refused, [], `a legitimate rotation was refused midway (reload outcomes ${outcomes.join(',')}; errors: ${errors.join(' | ')})`);
});
