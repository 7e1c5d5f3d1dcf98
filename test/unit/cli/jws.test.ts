import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { keysGenerate, signCommand, verifyCommand } from '../../../src/cli/jws.js';
import { cliIo } from '../../helpers/cli-io.js';
import { TRANSFER } from '../../helpers/jws.js';

const dir = mkdtempSync(join(tmpdir(), 'sg-jwscli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const io = (stdin = '') => cliIo(stdin);

test('keys generate → sign → verify round trip, and a tampered body is invalid', async () => {
  const pub = join(dir, 'jws');
  const priv = join(dir, 'jws-private');
  const g = io();
  assert.equal(await keysGenerate(['--dfsp', 'dfspa', 'dfspb', '--dir', pub, '--private-dir', priv], g), 0, g.err());
  assert.equal(statSync(join(priv, 'dfspa.key')).mode & 0o777, 0o600);
  assert.match(readFileSync(join(pub, 'dfspb.pem'), 'utf8'), /BEGIN PUBLIC KEY/);
  assert.equal(await keysGenerate(['--dfsp', 'dfspa', '--dir', pub, '--private-dir', priv], io()), 1, 'no silent overwrite');
  // --force over a private key left readable by others: the new key is 0600 all the same (review of 2026-12-01).
  chmodSync(join(priv, 'dfspb.key'), 0o644);
  const oldPublic = statSync(join(pub, 'dfspb.pem')).ino;
  assert.equal(await keysGenerate(['--dfsp', 'dfspb', '--dir', pub, '--private-dir', priv, '--force'], io()), 0);
  assert.equal(statSync(join(priv, 'dfspb.key')).mode & 0o777, 0o600);
  // The public key is replaced by rename too (a reloading gateway never reads it torn), readable by others, and no
  // temporary file is left in the key directory.
  assert.notEqual(statSync(join(pub, 'dfspb.pem')).ino, oldPublic, 'a new file renamed over the old one');
  assert.equal(statSync(join(pub, 'dfspb.pem')).mode & 0o077, 0o044 & ~process.umask());
  assert.deepEqual(readdirSync(pub).sort(), ['dfspa.pem', 'dfspb.pem']);
  assert.equal(await keysGenerate(['--dfsp', 'dfspc', '--alg', 'ES256', '--dir', pub, '--private-dir', priv], io()), 0);

  for (const [id, alg] of [
    ['dfspa', 'RS256'],
    ['dfspc', 'ES256'],
  ] as const) {
    const s = io(JSON.stringify({ method: 'post', url: 'https://peer.example/transfers', headers: { date: 'Mon, 01 Jan 2029 10:00:00 GMT' }, body: TRANSFER }));
    assert.equal(await signCommand(['--key', join(priv, `${id}.key`), '--source', id, '--destination', 'dfspb'], s), 0, s.err());
    const signed = JSON.parse(s.out()) as { headers: Record<string, string>; body: string };
    assert.equal(signed.headers['fspiop-uri'], '/transfers');
    assert.ok(signed.body.startsWith('{"amount":{"amount":"100.50","currency":"USD"},"condition":"f5sqb7tBTWPd5Y8BDFdMm9BJR_MNI4isf8p8n4D5pHA","expiration":'));
    assert.ok(signed.body.endsWith('"payeeFsp":"payeefsp","payerFsp":"payerfsp","transferId":"7c23e80c-d078-4077-8263-2c047876fcf6"}'));
    const v = io(s.out());
    assert.equal(await verifyCommand(['--keys', pub], v), 0);
    assert.equal(v.out(), `valid (form=raw, alg=${alg}, key=${id})\n`);
    const file = join(dir, `${id}.json`);
    writeFileSync(file, JSON.stringify({ ...signed, body: signed.body.replace('100.50', '100.51') }));
    const bad = io();
    assert.equal(await verifyCommand(['--keys', pub, '--file', file], bad), 1);
    assert.equal(bad.out(), 'invalid: GW_JWS_BAD_SIGNATURE signature does not verify\n');
  }
});

test('usage errors exit 2', async () => {
  assert.equal(await keysGenerate([], io()), 2);
  assert.equal(await signCommand(['--source', 'x'], io()), 2);
  assert.equal(await verifyCommand([], io()), 2);
  assert.equal(await keysGenerate(['--dfsp', 'a.b'], io()), 2);
});
